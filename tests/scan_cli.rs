//! The `scready` binary as users run it: every `--auth` mode against the simulator's identity
//! endpoints, configuration errors before any request, policies, `evaluate`, `policy`.

mod common;

use common::*;
use scready_sim::SimConfig;
use std::process::Output;

struct Setup {
    sim: common::Sim,
    dir: tempfile::TempDir,
    ca: String,
}

async fn setup() -> Setup {
    let sim = common::start(&fleet("small.toml"), SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    Setup {
        ca: ca.display().to_string(),
        sim,
        dir,
    }
}

impl Setup {
    fn scan_args<'a>(&'a self, auth: &'a str, out: &'a str) -> Vec<String> {
        vec![
            "scan".into(),
            "--cloud".into(),
            "custom".into(),
            "--arm-endpoint".into(),
            self.sim.base_url(),
            "--ca-cert".into(),
            self.ca.clone(),
            "--auth".into(),
            auth.into(),
            "--out".into(),
            out.into(),
        ]
    }

    async fn run(&self, auth: &str, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut args = self.scan_args(auth, out);
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_scready(&refs, env, self.dir.path()).await
    }

    fn instances(&self, out: &str) -> usize {
        let text =
            std::fs::read_to_string(self.dir.path().join(out).join("instances.csv")).unwrap();
        text.lines().count() - 1
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_secret_credential_scans_the_fleet() {
    let s = setup().await;
    let out = s
        .run(
            "client-secret",
            "r1",
            &[],
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", "c1c1c1c1-0000-4000-8000-000000000001"),
                ("AZURE_CLIENT_SECRET", "scanner-secret"),
            ],
        )
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "blocked instances: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("11 instances in 2 subscriptions"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(s.instances("r1"), 11);
    for f in ["instances.csv", "findings.csv", "report.json"] {
        assert!(s.dir.path().join("r1").join(f).exists(), "{f}");
    }
    common::report::raw(&s.dir.path().join("r1"));
    let stats = s.sim.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.non_get_requests, 0);
    // The secret appears nowhere in the output or the reports.
    for f in ["instances.csv", "findings.csv", "report.json"] {
        let body = std::fs::read_to_string(s.dir.path().join("r1").join(f)).unwrap();
        assert!(!body.contains("scanner-secret"));
    }
    assert!(
        !text(&out.stdout).contains("scanner-secret")
            && !text(&out.stderr).contains("scanner-secret")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_credential_stops_the_scan_before_any_listing() {
    let s = setup().await;
    let out = s
        .run(
            "client-secret",
            "r1",
            &[],
            &[
                ("AZURE_TENANT_ID", TENANT),
                ("AZURE_CLIENT_ID", "c1c1c1c1-0000-4000-8000-000000000001"),
                ("AZURE_CLIENT_SECRET", "wrong"),
            ],
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("credentials: client secret credential:") && err.contains("7000215"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the secret is not echoed: {err}");
    assert_eq!(s.sim.stats().arm_requests, 0, "nothing was listed");

    let out = s
        .run("client-secret", "r2", &[], &[("AZURE_TENANT_ID", TENANT)])
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("AZURE_CLIENT_ID is not set"),
        "{}",
        text(&out.stderr)
    );

    let out = s.run("token", "r3", &[], &[]).await;
    assert!(
        text(&out.stderr).contains(
            "credentials: static token (SCREADY_ACCESS_TOKEN): SCREADY_ACCESS_TOKEN is not set"
        ),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(s.sim.stats().arm_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_token_managed_identity_workload_identity_and_auto() {
    let s = setup().await;
    let token = s.sim.issue_token(SCANNER).unwrap();
    let out = s
        .run("token", "tok", &[], &[("SCREADY_ACCESS_TOKEN", &token)])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(s.instances("tok"), 11);

    let endpoint = s.sim.identity_endpoint();
    let header = s.sim.identity_header().to_string();
    let mi_env = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", header.as_str()),
    ];
    let out = s.run("managed-identity", "mi", &[], &mi_env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(s.instances("mi"), 11);
    let mi_requests = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/msi/token"))
        .count();
    assert_eq!(mi_requests, 1);
    assert!(s
        .sim
        .requests()
        .iter()
        .any(|r| r.principal.as_deref() == Some("aaaaaaaa-0000-4000-8000-000000000004")));

    // Workload identity: a federated token file, exchanged at the simulator's token endpoint.
    let federated = s.dir.path().join("federated-token");
    std::fs::write(
        &federated,
        s.sim
            .issue_federated_token("c1c1c1c1-0000-4000-8000-000000000005"),
    )
    .unwrap();
    let federated = federated.display().to_string();
    let wi_env = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "c1c1c1c1-0000-4000-8000-000000000005"),
        ("AZURE_FEDERATED_TOKEN_FILE", federated.as_str()),
    ];
    let out = s.run("workload-identity", "wi", &[], &wi_env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(s
        .sim
        .requests()
        .iter()
        .any(|r| r.principal.as_deref() == Some("aaaaaaaa-0000-4000-8000-000000000005")));

    // auto picks workload identity first when its token file is configured…
    let before = s.sim.stats().token_requests;
    let out = s.run("auto", "auto1", &[], &wi_env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(s.sim.stats().token_requests, before + 1);
    // …and managed identity (here the simulator's endpoint) when it is not.
    let out = s.run("auto", "auto2", &[], &mi_env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(s.instances("auto2"), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_are_reported_before_any_request() {
    let s = setup().await;
    let token = s.sim.issue_token(SCANNER).unwrap();
    let env = [("SCREADY_ACCESS_TOKEN", token.as_str())];

    let out =
        common::run_scready(&["scan", "--subscription", "not-a-guid"], &[], s.dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'not-a-guid' is not a subscription id"),
        "{}",
        text(&out.stderr)
    );

    let blocker = s.dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let bad_out = format!("{}/sub", blocker.display());
    let out = s.run("token", &bad_out, &[], &env).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--out"), "{}", text(&out.stderr));

    let policy = s.dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[checks.vm-not-running]\nseverity = \"error\"\nseverty = \"warning\"\n",
    )
    .unwrap();
    let p = policy.display().to_string();
    let out = s.run("token", "r", &["--policy", &p], &env).await;
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{p}:3:1: checks.vm-not-running.severty")),
        "{err}"
    );

    std::fs::write(
        &policy,
        "[checks.vm-not-running]\nseverity = \"critical\"\n",
    )
    .unwrap();
    let out = s.run("token", "r", &["--policy", &p], &env).await;
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{p}:2:")) && err.contains("critical"),
        "{err}"
    );
    assert_eq!(
        s.sim.stats().arm_requests,
        0,
        "no request before the configuration is valid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waivers_apply_until_they_expire_and_expired_ones_are_reported() {
    let s = setup().await;
    let token = s.sim.issue_token(SCANNER).unwrap();
    let env = [("SCREADY_ACCESS_TOKEN", token.as_str())];
    let policy = s.dir.path().join("w.toml");
    std::fs::write(
        &policy,
        format!(
            "[[waivers]]\nchecks = [\"vm-not-running\"]\nresource = \"/subscriptions/*/resourceGroups/rg-app/*\"\nreason = \"app-03 is parked\"\nexpires = 2999-12-31\n\n[[waivers]]\nchecks = [\"boot-diagnostics-disabled\"]\nsubscription = \"{SUB_PROD}\"\nreason = \"old exception\"\nexpires = 2020-01-01\n"
        ),
    )
    .unwrap();
    let p = policy.display().to_string();
    let out = s.run("token", "w", &["--policy", &p], &env).await;
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "expired waiver no longer applies: old exception ({p}:7, expired 2020-01-01)"
        )),
        "{stdout}"
    );
    let findings = std::fs::read_to_string(s.dir.path().join("w/findings.csv")).unwrap();
    let app03 = findings
        .lines()
        .find(|l| l.contains("/app-03,") && l.contains("vm-not-running"))
        .unwrap();
    assert!(app03.contains(",waived,"), "{app03}");
    let db01 = findings
        .lines()
        .find(|l| l.contains("/db-01,") && l.contains("boot-diagnostics-disabled"))
        .unwrap();
    assert!(
        db01.contains(",fail,"),
        "the expired waiver no longer applies: {db01}"
    );
    let report = common::report::raw(&s.dir.path().join("w"));
    assert_eq!(
        report["policy"]["expired_waivers"][0]["reason"],
        "old exception"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_output_is_timestamped_with_a_latest_link_and_evaluate_reruns_offline() {
    let s = setup().await;
    let token = s.sim.issue_token(SCANNER).unwrap();
    let mut args = s.scan_args("token", "x");
    args.truncate(args.len() - 2); // no --out
    args.extend(["--save-inventory".to_string(), "inventory.json".to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run_scready(&refs, &[("SCREADY_ACCESS_TOKEN", &token)], s.dir.path()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let latest = s.dir.path().join("reports/latest");
    let target = std::fs::read_link(&latest).unwrap();
    assert!(target.to_string_lossy().ends_with('Z'), "{target:?}");
    let scanned = std::fs::read_to_string(latest.join("instances.csv")).unwrap();

    let arm_before = s.sim.stats().arm_requests;
    for input in ["inventory.json", "reports/latest/report.json"] {
        let out =
            common::run_scready(&["evaluate", input, "--out", "offline"], &[], s.dir.path()).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let again = std::fs::read_to_string(s.dir.path().join("offline/instances.csv")).unwrap();
        assert_eq!(
            again, scanned,
            "offline evaluation gives the same rows ({input})"
        );
    }
    assert_eq!(
        s.sim.stats().arm_requests,
        arm_before,
        "evaluate sends nothing"
    );

    let truncated = std::fs::read_to_string(s.dir.path().join("inventory.json")).unwrap();
    std::fs::write(
        s.dir.path().join("cut.json"),
        &truncated[..truncated.len() / 2],
    )
    .unwrap();
    let out = common::run_scready(&["evaluate", "cut.json"], &[], s.dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cut.json:"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn policy_list_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_scready(&["policy", "list"], &[], dir.path()).await;
    assert!(out.status.success());
    let list = text(&out.stdout);
    assert_eq!(list.lines().count(), 25, "header + 24 checks");
    assert!(list.contains("boot-diagnostics-disabled") && list.contains("concurrent-connection"));
    let out = common::run_scready(
        &["policy", "explain", "storage-uri-not-https"],
        &[],
        dir.path(),
    )
    .await;
    let e = text(&out.stdout);
    assert!(
        e.contains("portal error:") && e.contains("remediation:  az vm boot-diagnostics enable"),
        "{e}"
    );
    let out = common::run_scready(&["policy", "explain", "nope"], &[], dir.path()).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_goes_to_stderr_formats_are_chosen_and_runs_are_recorded() {
    let s = setup().await;
    let token = s.sim.issue_token(SCANNER).unwrap();
    let env = [("SCREADY_ACCESS_TOKEN", token.as_str())];

    // Not a terminal (as in a nightly job): timestamped log lines on stderr, nothing on stdout.
    let out = s.run("token", "p1", &[], &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(!err.contains('\r'), "no terminal redraw in a log: {err:?}");
    for l in &lines {
        assert!(
            l.len() > 21 && l.as_bytes()[4] == b'-' && l[19..].starts_with("Z scready: "),
            "a timestamped log line: {l}"
        );
    }
    assert!(lines[0].ends_with(" scready: discovery started"), "{err}");
    let done = lines.last().unwrap();
    assert!(
        done.contains(" scready: discovery done: 2/2 subscriptions, 11 instances, ")
            && done.contains(" retries (0 throttled), "),
        "{done}"
    );
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("discovery"), "{stdout}");
    assert!(
        stdout.contains("history: run 1 is the first of this scope in reports/history.sqlite"),
        "{stdout}"
    );
    // The default formats; JUnit only on request.
    let dir = s.dir.path().join("p1");
    for f in [
        "instances.csv",
        "findings.csv",
        "report.json",
        "report.html",
        "summary.md",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    common::report::raw(&dir);
    assert!(!dir.join("junit.xml").exists());
    assert!(s.dir.path().join("reports/history.sqlite").is_file());

    // --quiet: nothing at all; --format junit alone; --no-history records nothing.
    let out = s
        .run(
            "token",
            "p2",
            &["--quiet", "--format", "junit", "--no-history"],
            &env,
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
    let names: Vec<String> = std::fs::read_dir(s.dir.path().join("p2"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["junit.xml".to_string()]);

    // The next recorded run is compared with the first.
    let out = s.run("token", "p3", &["--format", "md"], &env).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(": 0 newly blocked, 0 fixed, 0 appeared, 0 disappeared\n")
            && stdout.contains("since run 1 ("),
        "{stdout}"
    );
    let out = common::run_scready(&["history"], &[], s.dir.path()).await;
    assert_eq!(
        text(&out.stdout).lines().count(),
        3,
        "{}",
        text(&out.stdout)
    );

    // An unknown format is refused before any request.
    let before = s.sim.request_count();
    let out = s.run("token", "p4", &["--format", "pdf"], &env).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(
            "unknown format 'pdf' (known: csv, json, html, md, junit, prom, ocsf, ocsf-jsonl, plan)"
        ),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(s.sim.request_count(), before);
}

#[tokio::test]
async fn completions_and_the_man_page_come_from_the_cli_definition() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = common::run_scready(&["completions", shell], &[], dir.path()).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(
            script.contains("max-duration"),
            "{shell} knows the flags of scan"
        );
        if shell == "bash" {
            let path = dir.path().join("scready.bash");
            std::fs::write(&path, &script).unwrap();
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .status()
                .unwrap();
            assert!(check.success(), "the bash completion parses");
        }
    }
    let out = common::run_scready(&["manpage"], &[], dir.path()).await;
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(page.contains(".TH scready 1"), "{page}");
    assert!(page.contains("Audits an Azure estate for Serial Console readiness"));
    let out = common::run_scready(&["completions", "tcsh"], &[], dir.path()).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}
