//! `scready sim serve` and `scready sim generate` as a user runs them.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn scready() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scready"))
}

#[tokio::test]
async fn serve_prints_address_and_ca_and_serves_until_interrupted() {
    let state = tempfile::tempdir().unwrap();
    let mut child = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(fixture("fleets/small.toml"))
        .arg("--state-dir")
        .arg(state.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("scready simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();
    assert!(addr.starts_with("https://127.0.0.1:"), "{addr}");
    let second = lines.next().unwrap().unwrap();
    let ca_path = second.strip_prefix("CA certificate: ").unwrap().to_string();
    assert_eq!(std::path::Path::new(&ca_path), state.path().join("ca.pem"));

    // The printed CA verifies the listener; a token from the token endpoint is accepted.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca_path).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let resp = http
        .post(format!("{addr}/{TENANT}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "c1c1c1c1-0000-4000-8000-000000000001"),
            ("client_secret", "scanner-secret"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let token: serde_json::Value = resp.json().await.unwrap();
    let (status, _, _) = get(
        &http,
        &format!("{addr}/subscriptions?api-version=2022-12-01"),
        token["access_token"].as_str(),
    )
    .await;
    assert_eq!(status, 200);

    // Interrupt: it stops and reports what it served.
    let pid = child.id() as i32;
    unsafe_kill(pid);
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "exits cleanly on SIGINT");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("stopped after 1 ARM requests")),
        "{rest:?}"
    );

    // A restart with the same state directory reuses the CA.
    let ca_before = std::fs::read(&ca_path).unwrap();
    let mut child = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(fixture("fleets/small.toml"))
        .arg("--state-dir")
        .arg(state.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .replace("scready simulator listening on ", "");
    let ca = reqwest::Certificate::from_pem(&ca_before).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let (status, _, _) = get(&http, &format!("{addr}/_sim/health"), None).await;
    assert_eq!(
        status, 200,
        "the old CA still verifies the new server certificate"
    );
    unsafe_kill(child.id() as i32);
    wait_with_timeout(&mut child, Duration::from_secs(10));
}

fn unsafe_kill(pid: i32) {
    // SIGINT, as Ctrl-C sends.
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the simulator did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_rejects_a_malformed_fleet_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet.toml");
    let text = std::fs::read_to_string(fixture("fleets/small.toml"))
        .unwrap()
        .replace(
            "power_state = \"deallocated\"",
            "power_state = \"deallocated\"\npower = 3",
        );
    std::fs::write(&path, &text).unwrap();
    let out = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().position(|l| l == "power = 3").unwrap() + 1;
    assert!(err.contains(&format!("fleet.toml:{line}:")), "{err}");
    assert!(err.contains("subscriptions[0].vms[2].power"), "{err}");

    // A value that parses but is wrong names the field too.
    let text = std::fs::read_to_string(fixture("fleets/small.toml"))
        .unwrap()
        .replace(
            "power_state = \"deallocated\"",
            "power_state = \"sleeping\"",
        );
    std::fs::write(&path, &text).unwrap();
    let out = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("subscriptions[0].vms[2].power_state") && err.contains("sleeping"),
        "{err}"
    );

    // JSON fleets report line and field as well.
    let path = dir.path().join("fleet.json");
    std::fs::write(
        &path,
        "{\n  \"schema_version\": 1,\n  \"tenants\": [{\"id\": true}]\n}\n",
    )
    .unwrap();
    let out = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fleet.json:3:") && err.contains("tenants[0].id"),
        "{err}"
    );

    let out = scready()
        .args(["sim", "serve", "--fleet", "/nonexistent/fleet.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/fleet.toml"));
}

/// A `scready sim serve` child with the rest of its output.
struct Served {
    child: std::process::Child,
    rest: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Served {
    /// Interrupts it and reads what it prints until it exits.
    fn stop(mut self) {
        unsafe_kill(self.child.id() as i32);
        let rest: Vec<String> = self.rest.by_ref().map(|l| l.unwrap()).collect();
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(10));
        assert!(status.success(), "{rest:?}");
    }
}

/// Starts `scready sim serve` with `args`; returns the child, its base URL, an HTTPS client that
/// trusts its CA, and the line that states the statusOnly shape and the Compute throttle.
fn serve_with(
    fleet: &std::path::Path,
    state: &std::path::Path,
    args: &[&str],
) -> (Served, String, reqwest::Client, String) {
    let mut child = scready()
        .args(["sim", "serve", "--fleet"])
        .arg(fleet)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .replace("scready simulator listening on ", "");
    let mode = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("statusOnly listing: "))
        .expect("the simulator states the statusOnly shape");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(state.join("ca.pem")).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    (Served { child, rest: lines }, addr, http, mode)
}

#[tokio::test]
async fn serve_takes_the_status_shape_and_compute_policies_from_the_fleet_or_flags() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    let text = std::fs::read_to_string(fixture("fleets/small.toml"))
        .unwrap()
        .replacen(
            "schema_version = 1\n",
            "schema_version = 1\n\n[settings]\nstatus_only_shape = \"full\"\n",
            1,
        );
    std::fs::write(&fleet, text).unwrap();
    let list = |addr: &str| {
        format!("{addr}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01&statusOnly=true")
    };
    let token = |http: reqwest::Client, addr: String| async move {
        let (_, _, body) = get(
            &http,
            &format!("{addr}/_sim/token?principal={SCANNER}"),
            None,
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["access_token"].as_str().unwrap().to_string()
    };

    // The fleet's setting.
    let (served, addr, http, mode) = serve_with(&fleet, dir.path(), &[]);
    assert_eq!(
        mode,
        "statusOnly listing: full shape; Compute throttle: off"
    );
    let t = token(http.clone(), addr.clone()).await;
    let (status, headers, body) = get(&http, &list(&addr), Some(&t)).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"storageProfile\""), "full shape: {body}");
    assert!(headers.get("x-ms-ratelimit-remaining-resource").is_none());
    served.stop();

    // Flags win over the fleet.
    let (served, addr, http, mode) = serve_with(
        &fleet,
        dir.path(),
        &[
            "--status-only-shape",
            "status",
            "--compute-policy",
            "Microsoft.Compute/HighCostGet3Sec:300:3",
        ],
    );
    assert_eq!(
        mode,
        "statusOnly listing: status shape; Compute throttle: Microsoft.Compute/HighCostGet3Sec 300 per 3 s"
    );
    let t = token(http.clone(), addr.clone()).await;
    let (status, headers, body) = get(&http, &list(&addr), Some(&t)).await;
    assert_eq!(status, 200);
    assert!(!body.contains("storageProfile"), "status shape: {body}");
    assert_eq!(
        headers["x-ms-ratelimit-remaining-resource"],
        "Microsoft.Compute/HighCostGet3Sec;299"
    );
    served.stop();

    for bad in [
        ["--status-only-shape", "sideways"],
        ["--compute-policy", "HighCostGet3Min"],
    ] {
        let out = scready()
            .args(["sim", "serve", "--fleet"])
            .arg(&fleet)
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(bad[1]), "{err}");
    }
}

#[tokio::test]
async fn serve_serves_the_answer_key_beside_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("estate.json");
    let o = scready()
        .args([
            "sim",
            "generate",
            "--subscriptions",
            "2",
            "--seed",
            "4",
            "--out",
        ])
        .arg(&fleet)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(dir.path().join("estate.answer-key.json")).unwrap();
    let (mut served, addr, http, _) = serve_with(&fleet, dir.path(), &[]);
    let note = served.rest.next().unwrap().unwrap();
    assert!(
        note.starts_with("answer key: ") && note.contains("estate.answer-key.json"),
        "{note}"
    );
    let (status, _, body) = get(&http, &format!("{addr}/_sim/answer-key"), None).await;
    assert_eq!(status, 200);
    let served_key: serde_json::Value = serde_json::from_str(&body).unwrap();
    let written_key: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(served_key, written_key);
    served.stop();

    // A fleet without a key: 404 at the admin path.
    let (served, addr, http, _) = serve_with(&fixture("fleets/small.toml"), dir.path(), &[]);
    let (status, _, body) = get(&http, &format!("{addr}/_sim/answer-key"), None).await;
    assert_eq!(status, 404, "{body}");
    served.stop();
}

#[test]
fn serve_refuses_a_non_loopback_address() {
    let out = scready()
        .args(["sim", "serve", "--addr", "0.0.0.0:0", "--fleet"])
        .arg(fixture("fleets/small.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn generate_writes_a_valid_seeded_fleet_and_rejects_a_bad_mix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fleet.json");
    let run = |path: &std::path::Path, seed: &str| {
        scready()
            .args([
                "sim",
                "generate",
                "--subscriptions",
                "4",
                "--vms-per-subscription",
                "30",
                "--scale-sets",
                "2",
                "--instances-per-scale-set",
                "5",
                "--seed",
                seed,
                "--out",
            ])
            .arg(path)
            .output()
            .unwrap()
    };
    let o = run(&out, "7");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fleet = scready_sim::fleet::Fleet::load(&out).expect("the generated fleet loads");
    assert_eq!(fleet.subscriptions.len(), 4);
    assert_eq!(fleet.instance_count(), 4 * (30 + 2 * 5));
    // The answer key beside it: one entry per instance, the verdicts counted.
    let key_path = dir.path().join("fleet.answer-key.json");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("wrote {} (the answer key: ", key_path.display())),
        "{stdout}"
    );
    let key = scready_sim::answer_key::AnswerKey::parse(
        &std::fs::read_to_string(&key_path).unwrap(),
        "key",
    )
    .expect("the answer key loads");
    assert_eq!(key.instances.len(), fleet.instance_count());
    assert_eq!(key.summary.values().sum::<usize>(), fleet.instance_count());
    assert!(key.source.contains("--seed 7"), "{}", key.source);
    let again = dir.path().join("again.json");
    run(&again, "7");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same fleet"
    );
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        std::fs::read(dir.path().join("again.answer-key.json")).unwrap(),
        "same seed, same key"
    );
    let toml_out = dir.path().join("fleet.toml");
    assert!(run(&toml_out, "7").status.success());
    assert_eq!(
        scready_sim::fleet::Fleet::load(&toml_out)
            .unwrap()
            .instance_count(),
        160
    );

    let mix = dir.path().join("mix.toml");
    std::fs::write(
        &mix,
        "storage_firewall_deny = 0.5\npower_deallocated = 1.5\n",
    )
    .unwrap();
    let o = scready()
        .args(["sim", "generate", "--out"])
        .arg(&out)
        .arg("--mix")
        .arg(&mix)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mix.toml:2:") && err.contains("power_deallocated"),
        "{err}"
    );
}

#[tokio::test]
async fn generate_bounds_its_counts_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.json");
    let out = out.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["--subscriptions", "100000000"],
            "100000000 is out of range: 1 to 100000",
        ),
        (
            vec!["--instances-per-scale-set", "5000"],
            "5000 is out of range: 0 to 1000",
        ),
        (
            vec!["--subscriptions", "100000", "--vms-per-subscription", "100"],
            "a generated fleet holds at most 2000000",
        ),
    ] {
        let mut full = vec!["sim", "generate", "--out", out];
        full.extend(args.iter().copied());
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_scready"))
            .args(&full)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "nothing written");
    }
}
