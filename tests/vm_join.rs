//! The VM model comes from the plain listing, the run-time status from the `statusOnly=true`
//! listing, joined by id. The verdicts must not depend on what the status listing carries
//! (identity and instance view only, or the whole model too), and must equal a scan that reads
//! every VM one by one; VMs created, deleted or changed between the two listings, and a status
//! listing that fails, are each reported for what they are.

mod common;

use common::*;
use scready::discover::VmReads;
use scready::scan::{self, AccessOptions, ScanOptions, ScanOutcome};
use scready_sim::compute::StatusOnlyShape;
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::generate::{generate, scanner_principal, GenerateOptions};
use scready_sim::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn fast_client() -> scready::arm::ArmClientOptions {
    scready::arm::ArmClientOptions {
        retry_initial_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(200),
        max_retries: 3,
        ..Default::default()
    }
}

fn options(sim: &Simulator, out: &Path) -> ScanOptions {
    ScanOptions {
        client: fast_client(),
        access: AccessOptions {
            network_probe: false,
            ..Default::default()
        },
        discover: parallelism(16),
        ..common::scan_options(sim, out)
    }
}

async fn scan_as(sim: &Simulator, principal: &str, options: &ScanOptions) -> ScanOutcome {
    let token = sim.issue_token(principal).expect("the principal exists");
    let env: scready::auth::EnvLookup =
        Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    scan::run(options, env).await.expect("the scan runs")
}

/// Per instance id: verdict, blockers, warnings, unknowns.
fn verdicts(o: &ScanOutcome) -> BTreeMap<String, String> {
    o.result
        .verdicts
        .iter()
        .map(|v| {
            let list = |l: &[scready::findings::Text]| {
                l.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            (
                v.resource_id.to_ascii_lowercase(),
                format!(
                    "{:?} b[{}] w[{}] u[{}]",
                    v.verdict,
                    list(&v.blockers),
                    list(&v.warnings),
                    list(&v.unknowns)
                ),
            )
        })
        .collect()
}

/// The lines of a CSV report, sorted (row order follows listing order, which the two reading
/// modes share, but the comparison should not depend on it).
fn csv_rows(dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn assert_same(name: &str, a: &[String], b: &[String]) {
    if a == b {
        return;
    }
    let only_a: Vec<_> = a.iter().filter(|l| !b.contains(l)).take(5).collect();
    let only_b: Vec<_> = b.iter().filter(|l| !a.contains(l)).take(5).collect();
    panic!("{name} differ:\n  only in the first: {only_a:#?}\n  only in the second: {only_b:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdicts_do_not_depend_on_what_the_status_listing_carries() {
    // An S-sized estate: 20 subscriptions × 500 instances, every scale-set kind, the
    // generator's condition mix.
    let fleet = generate(&GenerateOptions {
        subscriptions: 20,
        vms_per_subscription: 400,
        scale_sets: 1,
        instances_per_scale_set: 100,
        seed: 101,
        ..Default::default()
    });
    assert_eq!(fleet.instance_count(), 10_000);
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let sim = common::start(
        &fleet,
        // One GET per VM in the third scan: ARM's read budget would make it minutes long.
        common::unthrottled(1000),
    )
    .await;
    let mut outcomes = Vec::new();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (n, (shape, reads)) in [
        (StatusOnlyShape::Status, VmReads::Listings),
        (StatusOnlyShape::Full, VmReads::Listings),
        (StatusOnlyShape::Status, VmReads::OneByOne),
    ]
    .into_iter()
    .enumerate()
    {
        sim.set_status_only_shape(shape);
        sim.reset_observations();
        let mut o = options(&sim, dirs[n].path());
        o.discover.vm_reads = reads;
        let outcome = scan_as(&sim, &scanner, &o).await;
        assert_eq!(outcome.result.coverage.gaps, vec![], "{shape:?} {reads:?}");
        assert_eq!(outcome.result.verdicts.len(), 10_000);
        let requests = sim.stats().arm_requests;
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "measured: status listing {shape:?}, VM reads {reads:?}: {requests} ARM requests"
        );
        outcomes.push(outcome);
    }
    let reference = verdicts(&outcomes[0]);
    // The status shape really is poorer: without the join, it would be wrong.
    assert!(reference.values().any(|v| v.starts_with("Ready")));
    for (n, label) in [(1, "full shape"), (2, "one GET per VM")] {
        let other = verdicts(&outcomes[n]);
        let diff: Vec<_> = reference
            .iter()
            .filter(|(k, v)| other.get(*k) != Some(v))
            .take(5)
            .collect();
        assert!(
            diff.is_empty(),
            "verdicts differ from the {label}: {diff:#?}"
        );
        for file in ["instances.csv", "findings.csv"] {
            assert_same(
                &format!("{file} ({label})"),
                &csv_rows(dirs[0].path(), file),
                &csv_rows(dirs[n].path(), file),
            );
        }
    }
}

/// The demo fleet, its scanner, and the production subscription's id.
async fn demo() -> (Sim, String) {
    let fleet = scready_sim::demo::demo_fleet();
    let prod = fleet
        .subscriptions
        .iter()
        .find(|s| s.display_name == "Contoso Production")
        .unwrap()
        .id
        .clone();
    let sim = common::start(&fleet, SimConfig::default()).await;
    (sim, prod)
}

/// name → (verdict line, power_state column, status-not-read reason)
fn by_name(o: &ScanOutcome) -> BTreeMap<String, (String, Option<String>, Option<String>)> {
    let v = verdicts(o);
    o.result
        .inventory
        .instances
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                (
                    v[&i.id.to_ascii_lowercase()].clone(),
                    i.power_state.clone(),
                    i.status_not_read.clone(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_missing_from_the_status_listing_keeps_its_model_and_an_unknown_power_state() {
    let (sim, _) = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = by_name(&scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await);
    // Deleted (or changed) between the two reads: the model listing has it, the status
    // listing does not.
    for name in ["vm-web-prod-01", "vm-web-nobootdiag"] {
        sim.add_fault(
            FaultRule::always(FaultKind::OmitItem { name: name.into() }).on_path("statusOnly=true"),
        )
        .unwrap();
    }
    let outcome = scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await;
    assert_eq!(outcome.result.coverage.gaps, vec![]);
    let got = by_name(&outcome);
    let (verdict, power, why) = &got["vm-web-prod-01"];
    assert_eq!(power, &None);
    assert!(
        why.as_deref()
            .unwrap()
            .contains("not in the run-time status listing"),
        "{why:?}"
    );
    assert!(verdict.starts_with("Unknown"), "{verdict}");
    assert!(verdict.contains("u[vm-not-running"), "{verdict}");
    // The model-based checks are still decided: no boot diagnostics still blocks.
    let (verdict, _, _) = &got["vm-web-nobootdiag"];
    assert!(
        verdict.starts_with("Blocked") && verdict.contains("boot-diagnostics-disabled"),
        "{verdict}"
    );
    // Everyone else is as before.
    for (name, v) in &baseline {
        if name != "vm-web-prod-01" && name != "vm-web-nobootdiag" {
            assert_eq!(&got[name], v, "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_only_in_the_status_listing_is_read_once_more() {
    let (sim, _) = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = by_name(&scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await);
    // Created between the two reads: only the status listing has it.
    sim.add_fault(
        FaultRule::always(FaultKind::OmitItem {
            name: "vm-web-nobootdiag".into(),
        })
        .on_path("virtualMachines?api-version")
        .not_on_path("statusOnly"),
    )
    .unwrap();
    sim.reset_observations();
    let outcome = scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await;
    assert_eq!(outcome.result.coverage.gaps, vec![]);
    assert_eq!(by_name(&outcome), baseline, "the GET gives the same answer");
    let gets: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/virtualMachines/vm-web-nobootdiag?"))
        .collect();
    assert_eq!(gets.len(), 1, "{gets:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_stopped_between_the_reads_is_judged_by_the_status_listing() {
    let (sim, prod) = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = by_name(&scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await);
    // Changed between the two reads: deallocated after the model listing.
    sim.add_fault(
        FaultRule::always(FaultKind::Rewrite {
            from: "PowerState/running".into(),
            to: "PowerState/deallocated".into(),
        })
        .on_path("statusOnly=true")
        .on_subscription(&prod),
    )
    .unwrap();
    let got = by_name(&scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await);
    let (verdict, power, _) = &got["vm-web-prod-01"];
    assert_eq!(power.as_deref(), Some("deallocated"));
    assert!(
        verdict.starts_with("Blocked") && verdict.contains("vm-not-running"),
        "{verdict}"
    );
    // A VM of another subscription is untouched.
    assert_eq!(got["vm-app-dev-01"], baseline["vm-app-dev-01"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_status_listing_leaves_power_unknown_and_the_model_checks_decided() {
    for fault in [
        FaultKind::Forbidden,
        FaultKind::Status {
            status: 500,
            retry_after: None,
        },
    ] {
        let (sim, prod) = demo().await;
        sim.add_fault(
            FaultRule::always(fault.clone())
                .on_path("statusOnly=true")
                .on_subscription(&prod),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let outcome = scan_as(&sim, DEMO_SCANNER, &options(&sim, dir.path())).await;
        assert_eq!(outcome.exit_code, 2, "{fault:?}");
        let gaps: Vec<_> = outcome
            .result
            .coverage
            .gaps
            .iter()
            .map(|g| (g.subscription_id.clone().unwrap(), g.what.clone()))
            .collect();
        assert_eq!(gaps, vec![(prod.clone(), "virtual machine status".into())]);
        let got = by_name(&outcome);
        let (verdict, power, why) = &got["vm-web-prod-01"];
        assert_eq!(power, &None);
        assert!(
            why.as_deref()
                .unwrap()
                .contains("run-time status listing failed"),
            "{why:?}"
        );
        assert!(verdict.contains("u[vm-not-running"), "{verdict}");
        let (verdict, _, _) = &got["vm-web-nobootdiag"];
        assert!(
            verdict.starts_with("Blocked") && verdict.contains("boot-diagnostics-disabled"),
            "{fault:?}: {verdict}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_status_only_vms_than_the_bound_are_kept_with_an_unknown_model_and_a_gap() {
    // One subscription of 14 VMs, none of which the model listing returns.
    let fleet = generate(&GenerateOptions {
        subscriptions: 1,
        vms_per_subscription: 14,
        scale_sets: 0,
        instances_per_scale_set: 0,
        seed: 7,
        ..Default::default()
    });
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let names: Vec<String> = fleet.subscriptions[0]
        .vms
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(names.len(), 14);
    let sim = common::start(&fleet, SimConfig::default()).await;
    for name in &names {
        sim.add_fault(
            FaultRule::always(FaultKind::OmitItem { name: name.clone() })
                .on_path("virtualMachines?api-version")
                .not_on_path("statusOnly"),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let outcome = scan_as(&sim, &scanner, &options(&sim, dir.path())).await;
    assert_eq!(outcome.exit_code, 2);
    let instances = &outcome.result.inventory.instances;
    assert_eq!(instances.len(), 14, "nothing is lost");
    let unread = instances
        .iter()
        .filter(|i| i.model_not_read.is_some())
        .count();
    assert_eq!(unread, 14 - scready::discover::vms::MAX_FOLLOW_UPS);
    let gap = &outcome.result.coverage.gaps;
    assert_eq!(gap.len(), 1, "{gap:?}");
    assert_eq!(gap[0].code, "ModelListingIncomplete");
    // An instance whose model was not read is never blocked on model-based checks.
    for v in &outcome.result.verdicts {
        let i = instances
            .iter()
            .find(|i| i.id.eq_ignore_ascii_case(&v.resource_id))
            .unwrap();
        if i.model_not_read.is_some() {
            assert!(
                !v.blockers
                    .iter()
                    .any(|b| b.as_ref() == "boot-diagnostics-disabled"),
                "{v:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_providers_are_empty_answers_not_gaps() {
    let mix = scready_sim::generate::Mix {
        subscription_compute_unregistered: 0.3,
        subscription_storage_unregistered: 0.3,
        subscription_console_unregistered: 0.3,
        ..Default::default()
    };
    // The first seed whose fleet has each namespace unregistered somewhere.
    let fleet = (1..100)
        .map(|seed| {
            generate(&GenerateOptions {
                subscriptions: 8,
                vms_per_subscription: 6,
                scale_sets: 1,
                instances_per_scale_set: 2,
                seed,
                mix: mix.clone(),
            })
        })
        .find(|f| {
            [
                "Microsoft.Compute",
                "Microsoft.Storage",
                "Microsoft.SerialConsole",
            ]
            .iter()
            .all(|n| f.subscriptions.iter().any(|s| s.is_unregistered(n)))
        })
        .expect("a seed with every namespace unregistered somewhere");
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = scan_as(&sim, &scanner, &options(&sim, dir.path())).await;
    assert_eq!(outcome.result.coverage.gaps, vec![], "not a gap");
    assert!(outcome.exit_code < 2, "exit code {}", outcome.exit_code);
    assert_eq!(
        outcome.result.inventory.instances.len(),
        fleet.instance_count()
    );
    let listed: Vec<(String, String)> = outcome
        .result
        .coverage
        .unregistered
        .iter()
        .map(|u| (u.subscription_id.clone(), u.namespace.clone()))
        .collect();
    let mut expected = Vec::new();
    for s in &fleet.subscriptions {
        for n in [
            "Microsoft.Compute",
            "Microsoft.Storage",
            "Microsoft.SerialConsole",
        ] {
            if s.is_unregistered(n) {
                expected.push((s.id.to_ascii_lowercase(), n.to_string()));
            }
        }
    }
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    expected.sort();
    assert_eq!(listed_sorted, expected);
    // An unregistered console provider means the switch was never turned off.
    for s in &outcome.result.inventory.subscriptions {
        if s.unregistered
            .iter()
            .any(|n| n == "Microsoft.SerialConsole")
        {
            assert_eq!(s.console_disabled, Some(false), "{}", s.id);
        }
    }
    assert!(outcome
        .result
        .findings
        .iter()
        .all(|f| f.check_id.as_ref() != "subscription-console-disabled"
            || f.status != scready::findings::FindingStatus::Unknown));
    // The summary says so.
    let summary = scready::report::summary::text(&outcome.result, &[]);
    assert!(summary.contains("not registered:"), "{summary}");
    assert!(summary.contains("no VMs or scale sets (namespace not registered)"));
}
