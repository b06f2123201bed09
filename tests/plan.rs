//! `scready plan`, proven by applying it. Generated fleets with every condition the plan can fix
//! (and some it cannot) are scanned; `scready plan` writes its plan; then each step of
//! `plan.json` is carried out on the simulator's estate through `POST /_sim/apply` (the
//! simulator models the change by its own rules, never with scready's code), the estate is
//! scanned again, and the ready count measured must equal the plan's projection after that
//! step. `plan.sh` passes `bash -n` and shellcheck; `plan.json` matches docs/plan.schema.json;
//! on the demo fleet, step 1 unblocks the most instances.

mod common;

use scready::auth::{StaticToken, TokenSource};
use scready::policy::Policy;
use scready::scan::{self, AccessOptions, ScanOptions};
use scready_sim::generate::{generate_with_key, scanner_principal, GenerateOptions, Mix};
use scready_sim::{SimConfig, Simulator};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Every condition the plan fixes, common enough that a small fleet has several of each, plus
/// conditions it cannot fix (a failed VM, a missing account, a ReadOnly lock).
fn plan_mix() -> Mix {
    let mut mix = Mix::none();
    mix.boot_diagnostics_absent = 0.08;
    mix.boot_diagnostics_disabled = 0.08;
    mix.custom_storage = 0.6;
    mix.storage_uri_http = 0.1;
    mix.storage_missing = 0.05;
    mix.storage_cross_subscription = 0.3;
    mix.storage_firewall_deny = 0.2;
    mix.storage_hns = 0.15;
    mix.storage_shared_key_disabled = 0.2;
    mix.storage_min_tls_old = 0.2;
    mix.storage_region_mismatch = 0.1;
    mix.rbac_storage_access_missing = 0.2;
    mix.power_deallocated = 0.08;
    mix.power_stopped = 0.04;
    mix.provisioning_failed = 0.03;
    mix.readonly_lock = 0.03;
    mix.instance_outdated = 0.25;
    mix.flexible_scale_set = 0.4;
    mix.subscription_console_disabled = 0.34;
    mix.rbac_vm_access_missing = 0.34;
    mix.validate().expect("the plan mix is valid");
    mix
}

/// The policy of the proof: stopped VMs are started, and the storage checks that warn by
/// default block, so that every storage account change is exercised.
const POLICY: &str = "\
[plan]
start_stopped_vms = true

[checks.storage-firewall]
severity = \"error\"

[checks.storage-min-tls]
severity = \"error\"

[checks.storage-region-mismatch]
severity = \"error\"
";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scready"));
    c.env("IDENTITY_ENDPOINT", common::DEAD_IDENTITY_ENDPOINT);
    c
}

/// Scans the simulator into `out` (report.json only) as the fleet's scanner, auditing
/// `audited`; returns the ready count (ready and ready with warnings).
async fn scan_ready(
    sim: &Simulator,
    scanner: &str,
    audited: &[String],
    policy: Option<&Path>,
    out: &Path,
) -> (usize, Value) {
    let options = ScanOptions {
        formats: vec!["json".into()],
        policy: policy.map(Path::to_path_buf),
        client: common::quick_retries(),
        access: AccessOptions {
            principals: common::audited_ids(audited),
            network_probe: false,
            ..Default::default()
        },
        ..common::scan_options(sim, out)
    };
    let http = scready::arm::client::http_client(
        options.ca_cert.as_deref(),
        options.client.request_timeout,
    )
    .unwrap();
    let source: Arc<dyn TokenSource> =
        Arc::new(StaticToken::new(sim.issue_token(scanner).unwrap()));
    let graph: Result<Arc<dyn TokenSource>, String> = Ok(Arc::new(StaticToken::new(
        sim.issue_graph_token(scanner).unwrap(),
    )));
    let policy = Policy::load(policy).unwrap();
    scan::run_with(&options, policy, http, source, graph)
        .await
        .expect("the scan runs");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let by = &report["summary"]["by_verdict"];
    let ready = by["ready"].as_u64().unwrap() + by["ready_with_warnings"].as_u64().unwrap();
    (ready as usize, report)
}

/// Runs `scready plan REPORT_DIR --policy … --out OUT`; returns plan.json.
fn plan(report_dir: &Path, policy: Option<&Path>, out: &Path) -> Value {
    let mut c = bin();
    c.arg("plan").arg(report_dir).arg("--out").arg(out);
    if let Some(p) = policy {
        c.arg("--policy").arg(p);
    }
    let o = c.output().expect("scready runs");
    assert!(
        o.status.success(),
        "scready plan failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.starts_with("plan: "), "{stdout}");
    for f in ["plan.json", "plan.md", "plan.sh"] {
        assert!(stdout.contains(f), "{stdout}");
    }
    serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap()
}

/// The simulator's changes that carry out one plan step (its documented `change`).
fn sim_changes(change: &Value) -> Vec<Value> {
    let s = |k: &str| change[k].as_str().unwrap().to_string();
    match change["kind"].as_str().unwrap() {
        "enable-console" => {
            vec![json!({"action": "enable-console", "subscription": s("subscription_id")})]
        }
        "storage-account" => {
            let mut c = json!({"action": "set-storage-account", "id": s("account_id")});
            for (k, v) in change["set"].as_object().unwrap() {
                c[k] = v.clone();
            }
            vec![c]
        }
        "managed-boot-diagnostics" => change["vms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|vm| json!({"action": "enable-boot-diagnostics", "id": vm["id"]}))
            .collect(),
        "enable-boot-diagnostics" => {
            vec![json!({"action": "enable-boot-diagnostics", "id": change["vm"]["id"]})]
        }
        "scale-set-boot-diagnostics" => vec![json!({
            "action": "enable-scale-set-boot-diagnostics",
            "id": s("scale_set_id"),
        })],
        "role-assignment" => vec![json!({
            "action": "add-role-assignment",
            "principal": s("principal_id"),
            "role": s("role"),
            "scope": s("scope"),
        })],
        "start-vm" => vec![json!({"action": "start-vm", "id": change["vm"]["id"]})],
        other => panic!("unknown change kind {other}"),
    }
}

/// `plan.sh` is valid bash and clean under shellcheck (skipped, with a message, when
/// shellcheck is not installed, unless SCREADY_REQUIRE_SHELLCHECK=1).
fn check_shell(path: &Path) {
    let o = Command::new("bash").arg("-n").arg(path).output().unwrap();
    assert!(
        o.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    match Command::new("shellcheck").arg(path).output() {
        Ok(o) => assert!(
            o.status.success(),
            "shellcheck {}:\n{}",
            path.display(),
            String::from_utf8_lossy(&o.stdout)
        ),
        Err(_) if std::env::var("SCREADY_REQUIRE_SHELLCHECK").as_deref() == Ok("1") => {
            panic!("shellcheck is required (SCREADY_REQUIRE_SHELLCHECK=1) but not installed: apt-get install shellcheck")
        }
        Err(_) => eprintln!("SKIPPED shellcheck of plan.sh: shellcheck is not installed (apt-get install shellcheck)"),
    }
    // It runs nothing unless the reviewer says so.
    let o = Command::new("bash")
        .arg(path)
        .env_remove("SCREADY_PLAN_REVIEWED")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("for review"));
}

/// plan.json matches docs/plan.schema.json.
fn check_schema(plan: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/plan.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Scans, plans, applies every step to the simulator and rescans after each; returns the
/// change kinds seen.
async fn prove(seed: u64) -> BTreeSet<String> {
    let (fleet, key) = generate_with_key(&GenerateOptions {
        subscriptions: 4,
        vms_per_subscription: 8,
        scale_sets: 2,
        instances_per_scale_set: 3,
        seed,
        mix: plan_mix(),
    });
    let sim = common::start(&fleet, common::unthrottled(200)).await;
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let audited: Vec<String> = key.principals.iter().map(|p| p.id.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let scan_dir = dir.path().join("scan");
    let (ready0, _) = scan_ready(&sim, &scanner, &audited, Some(&policy), &scan_dir).await;
    let plan_dir = dir.path().join("plan");
    let p = plan(&scan_dir, Some(&policy), &plan_dir);
    check_schema(&p);
    check_shell(&plan_dir.join("plan.sh"));
    assert_eq!(
        p["ready_before"].as_u64().unwrap() as usize,
        ready0,
        "seed {seed}"
    );
    assert!(p["source"].get("policy_note").is_none(), "{}", p["source"]);
    let steps = p["steps"].as_array().unwrap();
    assert!(!steps.is_empty(), "seed {seed}: no step");
    let total = p["instances"].as_u64().unwrap() as usize;
    let client = common::client(&sim);
    let mut kinds = BTreeSet::new();
    let mut failures = Vec::new();
    let mut last = ready0;
    for step in steps {
        let n = step["number"].as_u64().unwrap();
        kinds.insert(step["change"]["kind"].as_str().unwrap().to_string());
        for change in sim_changes(&step["change"]) {
            let resp = client
                .post(format!("{}/_sim/apply", sim.base_url()))
                .json(&change)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert!(
                status.is_success(),
                "seed {seed} step {n}: {change} → {status} {body}"
            );
        }
        let out = dir.path().join(format!("after-{n}"));
        let (measured, _) = scan_ready(&sim, &scanner, &audited, Some(&policy), &out).await;
        let projected = step["ready_after"].as_u64().unwrap() as usize;
        if measured != projected {
            failures.push(format!(
                "step {n} ({}): projected {projected}, measured {measured}",
                step["title"]
            ));
        }
        assert_eq!(
            step["unblocks"].as_array().unwrap().len(),
            projected + step["newly_not_ready"].as_array().map_or(0, Vec::len) - last,
            "seed {seed} step {n}"
        );
        last = projected;
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    same_counts_as_a_whole_evaluation(&scan_dir, &policy, &p);
    // What is left is listed, with reasons, and adds up.
    let remaining = p["remaining"].as_array().unwrap();
    assert_eq!(
        remaining.len(),
        total - p["ready_after"].as_u64().unwrap() as usize
    );
    for r in remaining {
        assert!(!r["reasons"].as_array().unwrap().is_empty(), "{r}");
    }
    println!(
        "seed {seed}: {total} instances, {} steps, ready {ready0} → {}, {} left",
        steps.len(),
        p["ready_after"],
        remaining.len()
    );
    kinds
}

/// The projection re-evaluates only the instances a step touches: evaluating the whole
/// inventory after each step (the plan's changes applied with the same what-if model) gives
/// the same counts.
fn same_counts_as_a_whole_evaluation(scan_dir: &Path, policy: &Path, plan: &Value) {
    let text = std::fs::read_to_string(scan_dir.join("report.json")).unwrap();
    let mut inventory = scready::report::read::inventory_v2(&text, "report.json").unwrap();
    inventory.bound_text();
    let policy = Policy::load(Some(policy)).unwrap();
    let index = scready::plan::whatif::Index::new(&inventory);
    let today = scan::today();
    for step in plan["steps"].as_array().unwrap() {
        let change: scready::plan::Change = serde_json::from_value(step["change"].clone()).unwrap();
        scready::plan::whatif::apply(&mut inventory, &index, &change);
        let e = scready::checks::evaluate(&inventory, &policy, &today);
        let ready = e
            .verdicts
            .iter()
            .filter(|v| {
                matches!(
                    v.verdict,
                    scready::findings::Verdict::Ready
                        | scready::findings::Verdict::ReadyWithWarnings
                )
            })
            .count();
        assert_eq!(
            ready,
            step["ready_after"].as_u64().unwrap() as usize,
            "step {}",
            step["number"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_the_plan_step_by_step_gives_the_projected_readiness() {
    let mut kinds = BTreeSet::new();
    for seed in [11, 12, 13] {
        kinds.extend(prove(seed).await);
    }
    for kind in [
        "enable-console",
        "storage-account",
        "managed-boot-diagnostics",
        "enable-boot-diagnostics",
        "scale-set-boot-diagnostics",
        "role-assignment",
        "start-vm",
    ] {
        assert!(
            kinds.contains(kind),
            "no {kind} step in any seed: {kinds:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_demo_fleet_step_one_unblocks_the_most() {
    let fleet = scready_sim::demo::demo_fleet();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scan");
    let oncall = fleet
        .principals
        .iter()
        .find(|p| p.display_name.as_deref() == Some(scready_sim::generate::ONCALL_USER_NAME))
        .unwrap();
    // As `scready demo` scans it: the on-call operator audited, group memberships read.
    scan_ready(
        &sim,
        common::DEMO_SCANNER,
        &[oncall.id.to_ascii_lowercase()],
        None,
        &out,
    )
    .await;
    let plan_dir = dir.path().join("plan");
    let p = plan(&out.join("report.json"), None, &plan_dir);
    check_schema(&p);
    check_shell(&plan_dir.join("plan.sh"));
    let steps = p["steps"].as_array().unwrap();
    assert!(steps.len() >= 2, "{}", p);
    let unblocks: Vec<usize> = steps
        .iter()
        .map(|s| s["unblocks"].as_array().unwrap().len())
        .collect();
    assert!(unblocks[0] > 0);
    assert!(
        unblocks.iter().all(|&u| u <= unblocks[0]),
        "step 1 unblocks {} but another step more: {unblocks:?}",
        unblocks[0]
    );
    let md = std::fs::read_to_string(plan_dir.join("plan.md")).unwrap();
    assert!(md.contains("### Step 1: "), "{md}");
    assert!(md.contains("after step 1: "), "{md}");
    // With `--format …,plan` the reports carry the plan's headline and the dashboard links it;
    // without, nothing is planned.
    for (formats, planned) in [("json,html,plan", true), ("json,html", false)] {
        let dir2 = dir.path().join(format!("eval-{planned}"));
        let o = bin()
            .args([
                "evaluate",
                "--quiet",
                "--fail-on",
                "never",
                "--format",
                formats,
                "--out",
            ])
            .arg(&dir2)
            .arg(out.join("report.json"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let html = std::fs::read_to_string(dir2.join("report.html")).unwrap();
        let report: Value =
            serde_json::from_slice(&std::fs::read(dir2.join("report.json")).unwrap()).unwrap();
        assert_eq!(dir2.join("plan.md").is_file(), planned);
        assert_eq!(html.contains("id=\"plan-headline\""), planned);
        if planned {
            let headline = format!(
                "{} changes make {:.1}% ready",
                steps.len(),
                p["ready_after"].as_f64().unwrap() * 100.0 / p["instances"].as_f64().unwrap()
            );
            assert!(html.contains("<a href=\"plan.md\">"), "{html}");
            assert!(html.contains(&headline), "{headline}");
            assert_eq!(report["plan"]["changes"].as_u64(), Some(steps.len() as u64));
        } else {
            assert!(report.get("plan").is_none());
        }
    }
    // A policy other than the scan's is named.
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[plan]\nstart_stopped_vms = true\n").unwrap();
    let p2 = plan(&out, Some(&policy), &dir.path().join("plan2"));
    assert!(
        p2["source"]["policy_note"]
            .as_str()
            .is_some_and(|n| n.contains("p.toml")),
        "{}",
        p2["source"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_inert_in_the_plan() {
    let fleet = common::hostile_demo_fleet();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("scan");
    scan_ready(&sim, common::DEMO_SCANNER, &[], None, &out).await;
    let plan_dir = dir.path().join("plan");
    let p = plan(&out, None, &plan_dir);
    check_shell(&plan_dir.join("plan.sh"));
    // VM "-2+3" has no boot diagnostics: its step is planned, its command withheld (a name
    // Azure would not allow is never put into a command).
    let step = p["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["change"]["vm"]["name"] == "-2+3")
        .expect("a step for VM -2+3");
    let command = step["commands"][0].as_str().unwrap();
    assert!(
        command.starts_with("# withheld: the VM name \"-2+3\""),
        "{command}"
    );
    let sh = std::fs::read_to_string(plan_dir.join("plan.sh")).unwrap();
    assert!(
        sh.lines()
            .any(|l| l.starts_with("# withheld: the VM name \"-2+3\"")),
        "{sh}"
    );
    let md = std::fs::read_to_string(plan_dir.join("plan.md")).unwrap();
    assert!(
        md.contains("-2+3") && md.contains("=Contoso Development"),
        "{md}"
    );
}
