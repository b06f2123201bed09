//! Hostile and bad input: secrets never leak at any verbosity, interruptions leave no half
//! files, attacker-controlled Azure data stays data, and bad files fail with a clear error.

mod common;

use common::*;
use scready_sim::fleet::Fleet;
use scready_sim::server::Latency;
use scready_sim::SimConfig;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every file below `dir`, read as text.
fn all_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            ));
        }
    }
    out
}

async fn scan_args(sim: &Sim, dir: &Path, auth: &str, out: &str) -> Vec<String> {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    vec![
        "scan".into(),
        "--cloud".into(),
        "custom".into(),
        "--arm-endpoint".into(),
        sim.base_url(),
        "--ca-cert".into(),
        ca.display().to_string(),
        "--auth".into(),
        auth.into(),
        "--out".into(),
        dir.join(out).display().to_string(),
        "--save-inventory".into(),
        dir.join(format!("{out}-inventory.json"))
            .display()
            .to_string(),
        "--history".into(),
        dir.join("history.sqlite").display().to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_secrets_never_appear_in_any_output_at_any_verbosity() {
    let sim = start(&fleet("small.toml"), SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let token = sim.issue_token(SCANNER).unwrap();
    // Static token, most verbose logging, and an expired-token fault so errors mention auth.
    let args = scan_args(&sim, dir.path(), "token", "tok").await;
    let out: Output = bin()
        .args(["-vvv"])
        .args(&args)
        .env("SCREADY_ACCESS_TOKEN", &token)
        .output()
        .await
        .unwrap();
    assert!(out.status.code().is_some());
    assert!(
        text(&out.stderr).contains("ARM request"),
        "the verbose log is on"
    );
    let jwt_header = token.split('.').next().unwrap().to_string();
    let signature = token.rsplit('.').next().unwrap().to_string();
    for (name, body) in [("stdout", text(&out.stdout)), ("stderr", text(&out.stderr))] {
        assert!(
            !body.contains(&token) && !body.contains(&signature),
            "the token leaked into {name}"
        );
    }
    for (path, body) in all_files(dir.path()) {
        assert!(!body.contains(&signature), "the token leaked into {path}");
        assert!(
            !body.contains(&jwt_header) || path.ends_with("ca.pem"),
            "a JWT leaked into {path}"
        );
    }

    // A client secret, most verbose logging, against the token endpoint.
    let args = scan_args(&sim, dir.path(), "client-secret", "sec").await;
    let out = bin()
        .args(["-vvv"])
        .args(&args)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "c1c1c1c1-0000-4000-8000-000000000001")
        .env("AZURE_CLIENT_SECRET", "scanner-secret")
        .output()
        .await
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    for body in [text(&out.stdout), text(&out.stderr)] {
        assert!(!body.contains("scanner-secret"));
        assert!(
            !body.contains(&jwt_header),
            "an access token leaked into the log"
        );
    }
    for (path, body) in all_files(dir.path()) {
        assert!(
            !body.contains("scanner-secret"),
            "the secret leaked into {path}"
        );
    }
    // A wrong secret: the error says which credential failed, not the secret.
    let out = bin()
        .args(["-vvv"])
        .args(&args)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "c1c1c1c1-0000-4000-8000-000000000001")
        .env("AZURE_CLIENT_SECRET", "wrong-secret-value")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("wrong-secret-value"));
    // Debug output of credentials redacts.
    let t = scready::auth::StaticToken::new(token.clone());
    assert!(!format!("{t:?}").contains(&signature));
}

async fn slow_sim() -> Sim {
    let sim = start(
        &fleet("small.toml"),
        SimConfig {
            page_size: Some(1),
            ..Default::default()
        },
    )
    .await;
    sim.set_latency(Latency {
        fixed_ms: 400,
        jitter_ms: 0,
    });
    sim
}

async fn interrupt_after(
    args: &[String],
    token: &str,
    signal: &str,
    after: Duration,
) -> (Output, Duration) {
    let child = bin()
        .args(args)
        .env("SCREADY_ACCESS_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    tokio::time::sleep(after).await;
    let t0 = Instant::now();
    let status = tokio::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the scan stops")
        .unwrap();
    (out, t0.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruption_stops_promptly_and_leaves_no_half_files() {
    let sim = slow_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let token = sim.issue_token(SCANNER).unwrap();
    // A complete earlier run in the same --out.
    sim.set_latency(Latency::default());
    let args = scan_args(&sim, dir.path(), "token", "out").await;
    let first = bin()
        .args(&args)
        .env("SCREADY_ACCESS_TOKEN", &token)
        .output()
        .await
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let before: Vec<(String, String)> = all_files(&dir.path().join("out"));
    assert!(before.len() >= 3, "{before:?}");
    sim.set_latency(Latency {
        fixed_ms: 400,
        jitter_ms: 0,
    });

    for signal in ["-INT", "-TERM"] {
        let (out, took) = interrupt_after(&args, &token, signal, Duration::from_millis(1500)).await;
        assert!(
            took < Duration::from_secs(5),
            "{signal}: stopped after {took:?}"
        );
        assert_eq!(out.status.code(), Some(2), "{signal}");
        assert!(
            text(&out.stderr).contains("interrupted"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(
            all_files(&dir.path().join("out")),
            before,
            "{signal}: the previous reports are intact"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    // The history database holds the one complete run, and reads back consistently.
    let db = dir.path().join("history.sqlite");
    let hist = bin()
        .args(["history", "--history"])
        .arg(&db)
        .output()
        .await
        .unwrap();
    assert_eq!(hist.status.code(), Some(0), "{}", text(&hist.stderr));
    let listing = text(&hist.stdout);
    let runs = listing
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(runs, 1, "{listing}");

    // With the default output directory, an interrupted scan leaves no directory and no link.
    let ca = dir.path().join("ca.pem");
    let args: Vec<String> = [
        "scan",
        "--cloud",
        "custom",
        "--arm-endpoint",
        &sim.base_url(),
        "--ca-cert",
        &ca.display().to_string(),
        "--auth",
        "token",
        "--no-history",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let child_dir = tempfile::tempdir().unwrap();
    let child = bin()
        .args(&args)
        .current_dir(child_dir.path())
        .env("SCREADY_ACCESS_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let reports = child_dir.path().join("reports");
    let entries: Vec<String> = std::fs::read_dir(&reports)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "nothing is left in reports/: {entries:?}; {}",
        text(&out.stderr)
    );
}

fn hostile_fleet() -> Fleet {
    let mut f = fleet("small.toml");
    let vm = &mut f.subscriptions[0].vms[0];
    vm.name = "=HYPERLINK(\"http://x\",\"y\")".into();
    for (k, v) in [
        ("formula", "+SUM(A1:A9)".to_string()),
        ("script", "<img src=x onerror=alert(1)>".to_string()),
        ("control", "bell\u{7}escape\u{1b}[31mred".to_string()),
        ("rtl", "invoice\u{202e}fdp.exe".to_string()),
        ("huge", "x".repeat(64 * 1024)),
    ] {
        vm.tags.insert(k.to_string(), v);
    }
    f.subscriptions[0].vms[1].name = "@cmd".into();
    f.subscriptions[0].vms[2].name = "-2+3".into();
    f.validate("hostile").unwrap();
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_azure_data_stays_data() {
    let f = hostile_fleet();
    let sim = start(&f, SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let token = sim.issue_token(SCANNER).unwrap();
    let args = scan_args(&sim, dir.path(), "token", "out").await;
    let out = bin()
        .args(&args)
        .env("SCREADY_ACCESS_TOKEN", &token)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // No control character reaches the terminal.
    assert!(!text(&out.stdout).contains('\u{1b}') && !text(&out.stderr).contains('\u{1b}'));
    for file in ["instances.csv", "findings.csv"] {
        let mut r = csv::Reader::from_path(dir.path().join("out").join(file)).unwrap();
        for rec in r.records() {
            for cell in rec.unwrap().iter() {
                let first = cell.chars().next();
                assert!(
                    !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                    "{file}: {cell}"
                );
            }
        }
    }
    let csv = std::fs::read_to_string(dir.path().join("out/instances.csv")).unwrap();
    assert!(csv.contains("'=HYPERLINK") && csv.contains("'@cmd") && csv.contains("'-2+3"));
    // report.json keeps every value of a sane length exactly, as JSON; a longer one is cut at
    // 4 KiB with a visible marker.
    let report = common::report::read(&dir.path().join("out"));
    let inst = report["inventory"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"].as_str().unwrap().starts_with("=HYPERLINK"))
        .unwrap();
    let huge = inst["tags"]["huge"].as_str().unwrap();
    assert!(huge.len() <= 4096, "{}", huge.len());
    assert!(
        huge.starts_with("xxxx") && huge.ends_with("…[truncated 61,504 bytes]"),
        "{}",
        &huge[4000..]
    );
    assert_eq!(inst["tags"]["rtl"], "invoice\u{202e}fdp.exe");
    assert_eq!(inst["tags"]["control"], "bell\u{7}escape\u{1b}[31mred");
}

#[tokio::test]
async fn bad_files_are_refused_with_the_place_of_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run =
        |args: Vec<String>| async move { bin().args(&args).current_dir(d).output().await.unwrap() };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // A 10 MB policy file.
    std::fs::write(d.join("big.toml"), "# padding\n".repeat(1_100_000)).unwrap();
    let out = run(s(&["policy", "list", "--policy", "big.toml"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("big.toml") && text(&out.stderr).contains("too large"),
        "{}",
        text(&out.stderr)
    );
    // An invalid resource glob in a waiver, and a waiver without expiry.
    std::fs::write(d.join("w.toml"), "[[waivers]]\nchecks = [\"vm-not-running\"]\nresource = \"\"\nreason = \"r\"\nexpires = 2030-01-01\n").unwrap();
    let out = run(s(&["policy", "list", "--policy", "w.toml"])).await;
    assert!(
        text(&out.stderr).contains("w.toml:1:")
            && text(&out.stderr).contains("waivers[0].resource"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        d.join("w.toml"),
        "\n[[waivers]]\nchecks = [\"vm-not-running\"]\nsubscription = \"s\"\nreason = \"r\"\n",
    )
    .unwrap();
    let out = run(s(&["policy", "list", "--policy", "w.toml"])).await;
    assert!(
        text(&out.stderr).contains("w.toml:2:") && text(&out.stderr).contains("expires"),
        "{}",
        text(&out.stderr)
    );
    // Wrong types.
    std::fs::write(d.join("t.toml"), "storage_in_connection_path = \"yes\"\n").unwrap();
    let out = run(s(&["policy", "list", "--policy", "t.toml"])).await;
    assert!(
        text(&out.stderr).contains("t.toml:1:")
            && text(&out.stderr).contains("storage_in_connection_path"),
        "{}",
        text(&out.stderr)
    );

    // Fleet files: binary garbage and a truncated file.
    std::fs::write(
        d.join("garbage.json"),
        [0xffu8, 0xfe, 0x00, 0x7b].repeat(1000),
    )
    .unwrap();
    let out = run(s(&["sim", "serve", "--fleet", "garbage.json"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("garbage.json"),
        "{}",
        text(&out.stderr)
    );
    let good = std::fs::read_to_string(fixture("fleets/small.toml")).unwrap();
    let cut = good.find("display_name = \"Production").unwrap() + 20;
    std::fs::write(d.join("cut.toml"), &good[..cut]).unwrap();
    let out = run(s(&["sim", "serve", "--fleet", "cut.toml"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cut.toml"),
        "{}",
        text(&out.stderr)
    );

    // Inventories: another schema version.
    std::fs::write(d.join("inv.json"), r#"{"schema_version": 99, "scanned_at": "", "cloud": "public", "subscriptions": [], "instances": [], "storage_accounts": [], "locks": [], "gaps": []}"#).unwrap();
    let out = run(s(&["evaluate", "inv.json", "--out", "o"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("inv.json") && text(&out.stderr).contains("schema_version"),
        "{}",
        text(&out.stderr)
    );
}
