//! What scready writes stays inert whatever Azure and local files hold: remediation commands
//! run exactly the intended `az` argv when pasted into a shell (or are withheld), nothing from
//! outside drives the terminal, long strings are cut in every report, and local input that is
//! not a regular file, is too large, or is another application's database is refused without
//! hanging.

mod common;

use common::*;
use scready_sim::fleet::Fleet;
use scready_sim::SimConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the scready binary with a clean environment, killed after `limit` (a hang fails).
async fn run_bin(args: &[String], envs: &[(&str, &str)], cwd: &Path, limit: Duration) -> Output {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IDENTITY_ENDPOINT", DEAD_IDENTITY_ENDPOINT)
        .env("IDENTITY_HEADER", "x")
        .current_dir(cwd)
        .args(args)
        .kill_on_drop(true);
    for (k, v) in envs {
        c.env(k, v);
    }
    tokio::time::timeout(limit, c.output())
        .await
        .unwrap_or_else(|_| panic!("scready {args:?} did not end within {limit:?}"))
        .unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ----- remediation commands -----

/// Undoes the HTML escaping of `report.html`.
fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every remediation command of `report.html`: the `<code>` of each subscription finding's fix
/// in the page, and each instance finding's fix in the page's data, where the instance's own
/// values stand as markers U+0001..U+0006 (id, scale set, name, resource group, subscription,
/// last id segment) that the page's script puts back, last first.
fn html_commands(html: &str) -> BTreeSet<String> {
    let open = "<div class=\"rem\"><code>";
    let mut out = BTreeSet::new();
    let mut rest = html;
    while let Some(i) = rest.find(open) {
        rest = &rest[i + open.len()..];
        let end = rest.find("</code>").expect("a closed code element");
        out.insert(html_unescape(&rest[..end]));
        rest = &rest[end..];
    }
    let start = html
        .find("<script type=\"application/json\" id=\"scready-data\">")
        .expect("the page's data");
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let d: serde_json::Value = serde_json::from_str(body).unwrap();
    let at = |v: &serde_json::Value| v.as_u64().unwrap() as usize;
    let text = |v: &serde_json::Value| d["strings"][at(v)].as_str().unwrap().to_string();
    let c = &d["columns"];
    for row in 0..at(&d["total"]) {
        let name = c["name"][row].as_str().unwrap().to_string();
        let suffix = c["idSuffix"][row]
            .as_str()
            .map(str::to_string)
            .unwrap_or(name.clone());
        let values = [
            text(&c["idPrefix"][row]) + &suffix,
            text(&c["scaleSet"][row]),
            name,
            text(&c["resourceGroup"][row]),
            d["subscriptions"][at(&c["subscription"][row])][0]
                .as_str()
                .unwrap()
                .to_string(),
            suffix,
        ];
        for f in d["findingSets"][at(&c["findingSet"][row])]
            .as_array()
            .unwrap()
        {
            let mut command = text(&d["findings"][at(f)][4]);
            if command.is_empty() {
                continue;
            }
            for k in (1..=6u32).rev() {
                command = command.replace(char::from_u32(k).unwrap(), &values[k as usize - 1]);
            }
            out.insert(command);
        }
    }
    out
}

/// The values of one CSV column (a neutralised cell loses its `'`).
fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let at = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    r.records()
        .map(|rec| {
            let cell = rec.unwrap()[at].to_string();
            match cell.strip_prefix('\'') {
                Some(v) => v.to_string(),
                None => cell,
            }
        })
        .collect()
}

/// The `az` stand-in: records its argv, NUL-separated, one file per call, and answers the
/// `show` calls a command substitutes with a resource id.
const STUB_AZ: &str = r#"#!/bin/sh
f=$(mktemp "$AZ_CALLS/call.XXXXXXXX")
printf '%s\0' "$@" > "$f"
case "$1 $2 $3" in
  "vmss show "*|"storage account show") printf '%s\n' "$STUB_SCOPE" ;;
esac
"#;

const STUB_SCOPE: &str = "/subscriptions/stub/resourceGroups/stub/providers/Stub/stub/stub";

/// Runs a command with bash: `-n` first (it parses), then for real with the stub `az` first on
/// PATH, in a directory of its own; returns the argv of every `az` call.
fn paste(cmd: &str, stub: &Path, scratch: &Path) -> Vec<Vec<String>> {
    let check = std::process::Command::new("bash")
        .args(["-n", "-c", cmd])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n refuses {cmd:?}: {}",
        text(&check.stderr)
    );
    let calls = tempfile::tempdir_in(scratch).unwrap();
    let work = tempfile::tempdir_in(scratch).unwrap();
    let run = std::process::Command::new("bash")
        .args(["-c", cmd])
        .current_dir(work.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", stub.display()))
        .env("AZ_CALLS", calls.path())
        .env("STUB_SCOPE", STUB_SCOPE)
        .env("SERIAL_CONSOLE_USER", "operator")
        .env("SERIAL_CONSOLE_PASSWORD", "pa ss'word")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{cmd:?} failed: {}",
        text(&run.stderr)
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(calls.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let leftovers: Vec<_> = std::fs::read_dir(work.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "{cmd:?} created files: {leftovers:?}");
    files
        .iter()
        .map(|f| {
            let raw = std::fs::read(f).unwrap();
            raw.split(|&b| b == 0)
                .map(|a| String::from_utf8(a.to_vec()).unwrap())
                .collect::<Vec<_>>()
        })
        .map(|mut argv| {
            // printf '%s\0' ends every argument with a NUL: the last split is empty.
            assert_eq!(argv.pop().as_deref(), Some(""));
            argv
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_remediations_run_the_intended_argv_only_or_are_withheld() {
    let scratch = tempfile::tempdir().unwrap();
    let marks = scratch.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    let m = marks.display().to_string();
    // Names Azure never allows (withheld), and names it allows that a shell would mangle
    // without quotes (quoted).
    let withheld_names = vec![
        format!("vm$(touch {m}/x)"),
        format!("vm;touch {m}/y"),
        "vm'quote".to_string(),
        "vm name".to_string(),
        format!("vm`touch {m}/z`"),
        format!("vm\ntouch {m}/w"),
        "vm\u{202e}exe.pdf".to_string(),
    ];
    let quoted_names = ["vm-ünïcødé", "vm(1)", "ВМ-数据"];
    let odd_rg = "rg(prod).ü";

    let mut f = fleet("small.toml");
    let sub = &mut f.subscriptions[0];
    let template = sub.vms.iter().find(|v| v.name == "app-03").unwrap().clone();
    for name in &withheld_names {
        let mut vm = template.clone();
        vm.name = name.clone();
        sub.vms.push(vm);
    }
    for name in quoted_names {
        let mut vm = template.clone();
        vm.name = name.into();
        vm.resource_group = odd_rg.into();
        sub.vms.push(vm);
    }
    let mut ss = sub
        .scale_sets
        .iter()
        .find(|s| s.name == "api-uniform")
        .unwrap()
        .clone();
    ss.name = "ss(2)".into();
    ss.resource_group = odd_rg.into();
    sub.scale_sets.push(ss);
    f.validate("hostile names").unwrap();

    let sim = start(&f, SimConfig::default()).await;
    let out = scratch.path().join("out");
    let options = scready::scan::ScanOptions {
        formats: strings(&["csv", "json", "html", "md", "junit"]),
        access: scready::scan::AccessOptions {
            principals: vec![scready::inventory::PrincipalRef {
                object_id: SCANNER.into(),
                label: "on-call".into(),
                scanner: false,
            }],
            network_probe: false,
            ..Default::default()
        },
        ..scan_options(&sim, &out)
    };
    let token = sim.issue_token(SCANNER).unwrap();
    let env: scready::auth::EnvLookup =
        std::sync::Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let outcome = scready::scan::run(&options, env)
        .await
        .expect("the scan runs");
    let r = &outcome.result;

    // The commands of every format.
    let report = common::report::read(&out);
    let json_findings: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["remediation"].as_str().unwrap().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let json_first_fix: BTreeSet<String> = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["first_fix"].as_str().unwrap().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let csv_findings: BTreeSet<String> = csv_column(&out.join("findings.csv"), "remediation")
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    let csv_first_fix: BTreeSet<String> = csv_column(&out.join("instances.csv"), "first_fix")
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect();
    let html = html_commands(&std::fs::read_to_string(out.join("report.html")).unwrap());
    let junit_text = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let junit = roxmltree::Document::parse(&junit_text).unwrap();
    let junit_commands: BTreeSet<String> = junit
        .descendants()
        .filter(|n| n.tag_name().name() == "failure")
        .flat_map(|n| {
            n.text()
                .unwrap_or("")
                .lines()
                .filter_map(|l| l.trim_start().strip_prefix("remediation: "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let markdown = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        !markdown.contains("az vm") && !markdown.contains("# withheld"),
        "summary.md carries no remediation command"
    );
    assert_eq!(
        csv_findings, json_findings,
        "findings.csv and report.json agree"
    );
    // The dashboard carries per-instance remediations as templates that the page fills in;
    // `html_commands` fills them in the same way, so every command is there, exactly.
    assert_eq!(html, json_findings, "report.html and report.json agree");
    assert_eq!(csv_first_fix, json_first_fix);
    assert!(json_first_fix.is_subset(&json_findings));
    assert!(!junit_commands.is_empty() && junit_commands.is_subset(&json_findings));
    let all: BTreeSet<String> = json_findings
        .iter()
        .chain(&json_first_fix)
        .chain(&csv_findings)
        .chain(&csv_first_fix)
        .chain(&html)
        .chain(&junit_commands)
        .cloned()
        .collect();

    // What the arguments may be: the inventory's values, exactly.
    let inv = &r.inventory;
    let mut truth: BTreeSet<String> = BTreeSet::new();
    for i in &inv.instances {
        truth.extend([
            i.name.clone(),
            i.resource_group.clone(),
            i.subscription_id.clone(),
            i.id.to_string(),
        ]);
        truth.extend(i.scale_set.clone());
        truth.extend(i.instance_id.clone());
    }
    for a in &inv.storage_accounts {
        truth.extend([
            a.name.clone(),
            a.resource_group.clone(),
            format!("https://{}/", a.blob_host),
        ]);
    }
    for s in &inv.subscriptions {
        truth.insert(format!(
            "/subscriptions/{}/providers/Microsoft.SerialConsole/consoleServices/default",
            s.id
        ));
    }
    truth.extend([
        SCANNER.to_string(),
        STUB_SCOPE.to_string(),
        "operator".into(),
        "pa ss'word".into(),
        "Virtual Machine Contributor".into(),
    ]);
    let valued = [
        "--name",
        "--resource-group",
        "--subscription",
        "--scope",
        "--ids",
        "--assignee",
        "--instance-ids",
        "--storage",
        "--resource",
        "--username",
        "--password",
        "--role",
    ];

    let stub = scratch.path().join("bin");
    std::fs::create_dir(&stub).unwrap();
    let az = stub.join("az");
    std::fs::write(&az, STUB_AZ).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let mut withheld = 0;
    for cmd in &all {
        let calls = paste(cmd, &stub, scratch.path());
        if cmd.starts_with("# withheld: ") {
            assert!(!cmd.contains('\n') && !cmd.contains('\r'), "{cmd:?}");
            assert!(cmd.ends_with("; review by hand"), "{cmd:?}");
            assert!(calls.is_empty(), "{cmd:?} ran {calls:?}");
            withheld += 1;
            continue;
        }
        assert!(cmd.starts_with("az "), "{cmd:?}");
        assert!(!calls.is_empty(), "{cmd:?} called no az");
        for argv in &calls {
            assert!(
                ["vm", "vmss", "role", "storage", "resource", "lock"].contains(&argv[0].as_str()),
                "{cmd:?}: {argv:?}"
            );
            for (i, a) in argv.iter().enumerate() {
                if valued.contains(&a.as_str()) {
                    let v = argv
                        .get(i + 1)
                        .unwrap_or_else(|| panic!("{cmd:?}: {a} without a value"));
                    assert!(
                        truth.contains(v),
                        "{cmd:?}: {a} {v:?} is not a value of the inventory (argv {argv:?})"
                    );
                    if a == "--name" {
                        *named.entry(v.clone()).or_default() += 1;
                    }
                }
            }
        }
    }
    // Nothing a name carried ran.
    let planted: Vec<_> = std::fs::read_dir(&marks).unwrap().collect();
    assert!(planted.is_empty(), "{planted:?}");
    // Names Azure allows arrive whole, as one argument; the others never reach a command.
    for name in quoted_names.iter().chain(["ss(2)"].iter()) {
        assert!(
            named.contains_key(*name),
            "{name} was never passed: {named:?}"
        );
    }
    for name in &withheld_names {
        assert!(!named.contains_key(name), "{name:?} reached a command");
        let id_suffix = format!("/virtualMachines/{name}");
        let fixes: Vec<&scready::findings::Finding> = r
            .findings
            .iter()
            .filter(|f| f.resource_id.ends_with(&id_suffix) && !f.remediation.is_empty())
            .collect();
        assert!(!fixes.is_empty(), "{name:?} has findings with fixes");
        for f in fixes {
            assert!(
                f.remediation.starts_with("# withheld: the "),
                "{name:?}: {}",
                f.remediation
            );
        }
    }
    assert!(withheld >= withheld_names.len(), "{withheld}");
}

// ----- the terminal and the reports -----

/// No byte that a terminal acts on: C0 controls but newline and tab, DEL, C1 controls, and no
/// bidirectional override.
fn assert_inert(what: &str, bytes: &[u8]) {
    let chars: Vec<char> = String::from_utf8_lossy(bytes).chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        let before: String = chars[i.saturating_sub(60)..i].iter().collect();
        assert!(!bad, "{what}: raw {c:?} after {before:?}");
    }
}

const HOSTILE_NAME: &str =
    "vm\u{1b}]8;;https://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\\u{7}\r\n+ fixed: all\u{202e}exe";
const HOSTILE_SUB: &str = "Production\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}";
const HOSTILE_TAG: &str = "\u{1b}[31mred\u{1b}[0m\r\u{9b}2J";

/// small.toml where run 1 and run 2 differ: in run 2 the hostile VMs (a control-character
/// name, a 1 MB name) are deallocated (newly blocked), and the subscription's display name
/// is hostile.
fn terminal_fleet(second: bool) -> Fleet {
    let mut f = fleet("small.toml");
    let sub = &mut f.subscriptions[0];
    sub.unregistered.push("Microsoft.SerialConsole".into());
    let template = sub.vms.iter().find(|v| v.name == "app-01").unwrap().clone();
    for name in [HOSTILE_NAME.to_string(), "h".repeat(1 << 20)] {
        let mut vm = template.clone();
        vm.name = name;
        vm.tags.insert("note".into(), HOSTILE_TAG.into());
        vm.tags.insert(HOSTILE_TAG.into(), "key".into());
        if second {
            vm.power_state = "deallocated".into();
        }
        sub.vms.push(vm);
    }
    if second {
        sub.display_name = HOSTILE_SUB.into();
    }
    f.validate("terminal").unwrap();
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_output_is_inert_and_reports_carry_the_truncation_marker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("history.sqlite");
    std::fs::write(
        d.join("principals.txt"),
        format!("{SCANNER} on-call \u{1b}[2J\u{1b}]0;title\u{7}\u{202e}team\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("policy.toml"),
        "[checks.rbac-vm-access]\nseverity = \"warning\"\n\n[[waivers]]\nchecks = [\"vm-not-running\"]\nsubscription = \"22222222-0000-4000-8000-000000000001\"\nreason = \"legacy \\u001b[2J\\u001b]8;;http://x\\u0007\\r\\nforged line\"\nexpires = 2001-01-01\n",
    )
    .unwrap();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    for (run, second) in [("one", false), ("two", true)] {
        let sim = start(&terminal_fleet(second), SimConfig::default()).await;
        let ca = d.join(format!("ca-{run}.pem"));
        std::fs::write(&ca, sim.ca_pem()).unwrap();
        let args: Vec<String> = vec![
            "-vv".into(),
            "scan".into(),
            "--cloud".into(),
            "custom".into(),
            "--arm-endpoint".into(),
            sim.base_url(),
            "--ca-cert".into(),
            ca.display().to_string(),
            "--auth".into(),
            "token".into(),
            "--no-network-probe".into(),
            "--principals".into(),
            d.join("principals.txt").display().to_string(),
            "--policy".into(),
            d.join("policy.toml").display().to_string(),
            "--format".into(),
            "csv,json,html,md,junit".into(),
            "--out".into(),
            d.join(run).display().to_string(),
            "--history".into(),
            db.display().to_string(),
        ];
        let token = sim.issue_token(SCANNER).unwrap();
        let out = run_bin(
            &args,
            &[("SCREADY_ACCESS_TOKEN", token.as_str())],
            d,
            Duration::from_secs(180),
        )
        .await;
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("expired waiver no longer applies"),
            "{}",
            text(&out.stdout)
        );
        assert!(text(&out.stderr).contains("ARM request"), "the log is on");
        outputs.push((format!("scan {run}"), out));
    }
    // The summary shows the hostile texts, escaped.
    let summary = text(&outputs[1].1.stdout);
    assert!(summary.contains("\\x1b[2J"), "{summary}");
    assert!(
        summary.contains("Production\\x1b]0;pwned\\x07"),
        "{summary}"
    );
    assert!(summary.contains("on-call \\x1b[2J"), "{summary}");
    let history = run_bin(
        &strings(&["history", "--history", &db.display().to_string()]),
        &[],
        d,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(history.status.code(), Some(0), "{}", text(&history.stderr));
    let diff = run_bin(
        &strings(&["diff", "--history", &db.display().to_string()]),
        &[],
        d,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff.stderr));
    let listing = text(&diff.stdout);
    assert!(
        listing.contains("\\x1b]8;;https://evil.example/\\x1b\\link")
            && listing.contains("\\r\\n+ fixed: all\\u{202e}exe"),
        "{listing}"
    );
    assert!(
        listing.contains("…[truncated 1,044,"),
        "the 1 MB name is cut in the history: {}",
        listing.len()
    );
    assert!(listing.len() < 64 * 1024, "{}", listing.len());
    // An error that quotes a file's content is inert too.
    std::fs::write(
        d.join("bad.toml"),
        "[checks.\"x\\u001b[2Jy\"]\nseverity = \"off\"\n",
    )
    .unwrap();
    let bad = run_bin(
        &strings(&["policy", "list", "--policy", "bad.toml"]),
        &[],
        d,
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("x\\x1b[2Jy"),
        "{}",
        text(&bad.stderr)
    );
    outputs.push(("history".into(), history));
    outputs.push(("diff".into(), diff));
    outputs.push(("policy list".into(), bad));
    for (what, out) in &outputs {
        assert_inert(&format!("{what}: stdout"), &out.stdout);
        assert_inert(&format!("{what}: stderr"), &out.stderr);
    }

    // Every report carries the cut name, and none holds the megabyte.
    let two = d.join("two");
    common::report::raw(&two);
    for file in [
        "instances.csv",
        "findings.csv",
        "report.json",
        "report.html",
        "summary.md",
        "junit.xml",
    ] {
        let body = std::fs::read_to_string(two.join(file)).unwrap();
        // Markdown escapes the marker's brackets: `…\[truncated …\]`.
        assert!(
            body.contains("truncated 1,044,544 bytes"),
            "{file} carries the marker"
        );
        if !file.ends_with(".csv") {
            // CSV keeps the data exactly (a tag's escape character included); JSON escapes it.
            assert!(!body.contains('\u{1b}'), "{file} carries a raw escape");
        }
        if file.ends_with(".html") || file.ends_with(".md") {
            // Shown to people: a bidirectional override is shown, not applied. (CSV and JSON
            // keep the data exactly.)
            assert!(!body.contains('\u{202e}'), "{file} carries a raw override");
        }
        assert!(
            !body.contains(&"h".repeat(8192)),
            "{file} holds the whole name"
        );
        assert!(body.len() < 2 << 20, "{file}: {} bytes", body.len());
    }
    let db_size = std::fs::metadata(&db).unwrap().len();
    assert!(db_size < 2 << 20, "history: {db_size} bytes");
}

// ----- local input -----

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A scan that fails on its local input before any request (the endpoint does not exist).
fn offline_scan(extra: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        "scan",
        "--cloud",
        "custom",
        "--arm-endpoint",
        "https://127.0.0.1:9/",
        "--auth",
        "token",
        "--no-network-probe",
    ]);
    args.extend(strings(extra));
    args
}

async fn refused(args: Vec<String>, cwd: &Path, expect: &[&str]) {
    let out = run_bin(
        &args,
        &[("SCREADY_ACCESS_TOKEN", "x.y.z")],
        cwd,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    for e in expect {
        assert!(err.contains(e), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifos_and_devices_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let f = fifo.display().to_string();
    let fifo_msg = "is a FIFO (named pipe), not a regular file";
    refused(
        offline_scan(&["--policy", &f]),
        d,
        &["--policy", &f, fifo_msg],
    )
    .await;
    refused(
        strings(&["policy", "list", "--policy", &f]),
        d,
        &["--policy", fifo_msg],
    )
    .await;
    refused(
        offline_scan(&["--principals", &f]),
        d,
        &["--principals", &f, fifo_msg],
    )
    .await;
    refused(
        offline_scan(&["--ca-cert", &f]),
        d,
        &["--ca-cert", &f, fifo_msg],
    )
    .await;
    refused(
        offline_scan(&["--history", &f, "--out", "o"]),
        d,
        &["--history", &f, fifo_msg],
    )
    .await;
    refused(
        offline_scan(&["--out", &f, "--no-history"]),
        d,
        &["--out", &f, "is a FIFO (named pipe), not a directory"],
    )
    .await;
    refused(
        strings(&["evaluate", &f, "--out", "o"]),
        d,
        &["evaluate FILE", &f, fifo_msg],
    )
    .await;
    refused(
        strings(&["history", "--history", &f]),
        d,
        &["--history", fifo_msg],
    )
    .await;
    refused(
        strings(&["diff", "--history", &f]),
        d,
        &["--history", fifo_msg],
    )
    .await;
    refused(
        strings(&["sim", "serve", "--fleet", &f]),
        d,
        &["--fleet", fifo_msg],
    )
    .await;
    // Devices: endless (/dev/zero) or empty (/dev/null), never read.
    refused(
        offline_scan(&["--ca-cert", "/dev/zero"]),
        d,
        &["--ca-cert /dev/zero: is a character device"],
    )
    .await;
    refused(
        offline_scan(&["--principals", "/dev/zero"]),
        d,
        &["--principals /dev/zero: is a character device"],
    )
    .await;
    refused(
        strings(&["policy", "list", "--policy", "/dev/zero"]),
        d,
        &["/dev/zero: is a character device"],
    )
    .await;
    refused(
        strings(&["evaluate", "/dev/zero", "--out", "o"]),
        d,
        &["is a character device"],
    )
    .await;
    refused(
        offline_scan(&["--history", "/dev/null", "--out", "o"]),
        d,
        &["--history /dev/null: is a character device"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_files_have_size_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sparse files: the size is checked before a byte is read.
    let sparse = |name: &str, len: u64| {
        let p = d.join(name);
        std::fs::File::create(&p).unwrap().set_len(len).unwrap();
        p.display().to_string()
    };
    let ca = sparse("ca.pem", (1 << 20) + 1);
    refused(
        offline_scan(&["--ca-cert", &ca]),
        d,
        &[
            "--ca-cert",
            "ca.pem",
            "1,048,577 bytes is too large",
            "1 MiB",
        ],
    )
    .await;
    let inv = sparse("inventory.json", (1 << 30) + 1);
    refused(
        strings(&["evaluate", &inv, "--out", "o"]),
        d,
        &["inventory.json", "is too large", "1 GiB"],
    )
    .await;
    let fleet = sparse("fleet.json", (1 << 30) + 1);
    refused(
        strings(&["sim", "serve", "--fleet", &fleet]),
        d,
        &["--fleet", "fleet.json", "is too large", "1 GiB"],
    )
    .await;
    let principals = sparse("big-principals.txt", (16 << 20) + 1);
    refused(
        offline_scan(&["--principals", &principals]),
        d,
        &["--principals", "is too large", "16 MiB"],
    )
    .await;
    // More principals than the limit, in a file under the size limit.
    let mut many = String::new();
    for n in 0..100_001u32 {
        many.push_str(&format!("aaaaaaaa-0000-4000-8000-{n:012}\n"));
    }
    std::fs::write(d.join("many.txt"), many).unwrap();
    refused(
        offline_scan(&["--principals", "many.txt"]),
        d,
        &["--principals", "more than 100000 principals"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_is_not_a_scready_history_is_refused_and_left_alone() {
    use scready::history::{History, HISTORY_APPLICATION_ID};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tables = |p: &Path| -> Vec<String> {
        let c = rusqlite::Connection::open(p).unwrap();
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let app_id = |p: &Path| -> i32 {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap()
    };

    // Another application's database, without an application id.
    let notes = d.join("notes.sqlite");
    rusqlite::Connection::open(&notes)
        .unwrap()
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);")
        .unwrap();
    for args in [
        offline_scan(&["--history", &notes.display().to_string(), "--out", "o"]),
        strings(&["history", "--history", &notes.display().to_string()]),
        strings(&["diff", "--history", &notes.display().to_string()]),
    ] {
        refused(
            args,
            d,
            &[
                "notes.sqlite",
                "not a scready history database",
                "it holds other tables: notes",
            ],
        )
        .await;
    }
    assert_eq!(tables(&notes), vec!["notes"], "scready added nothing");
    assert_eq!(app_id(&notes), 0);

    // Another application's database, stamped with its own id, even when empty.
    let other = d.join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("PRAGMA application_id = 1096041799; CREATE TABLE t (x);")
        .unwrap();
    let e = History::open(&other).unwrap_err().to_string();
    assert!(
        e.contains("application_id is 0x41544547 (ATEG), not scready's"),
        "{e}"
    );
    assert_eq!(tables(&other), vec!["t"]);

    // A new database is stamped; one written before the stamp (id 0, scready's tables) is
    // accepted and stamped.
    let ours = d.join("history.sqlite");
    drop(History::open(&ours).unwrap());
    assert_eq!(app_id(&ours), HISTORY_APPLICATION_ID);
    rusqlite::Connection::open(&ours)
        .unwrap()
        .execute_batch("PRAGMA application_id = 0;")
        .unwrap();
    assert_eq!(app_id(&ours), 0);
    drop(History::open(&ours).unwrap());
    assert_eq!(app_id(&ours), HISTORY_APPLICATION_ID);
    let out = run_bin(
        &strings(&["history", "--history", &ours.display().to_string()]),
        &[],
        d,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // An empty file (a database of nothing yet) is taken.
    let empty = d.join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    drop(History::open(&empty).unwrap());
    assert_eq!(app_id(&empty), HISTORY_APPLICATION_ID);
}
