//! The scanner against the simulator's answer key: generated fleets (several seeds and condition
//! mixes, both scale-set kinds, unregistered providers, listings that fail and leave gaps) are
//! scanned over HTTPS, and every instance of `report.json` — its verdict, blockers, warnings and
//! unknowns, and each audited principal's access — is compared with what the key says a correct
//! scanner concludes. The key comes from the conditions the generator injected, never from the
//! scanner's checks; any difference fails with the instance, what was expected and what came.

mod common;

use scready::auth::{StaticToken, TokenSource};
use scready::policy::Policy;
use scready::scan::{self, AccessOptions, ScanOptions};
use scready_sim::answer_key::{AnswerKey, Listing, Outage};
use scready_sim::generate::{generate_with_key, scanner_principal, GenerateOptions, Mix};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

/// One fleet to scan.
struct Case {
    name: &'static str,
    options: GenerateOptions,
    /// Listings that fail, chosen from the key (its subscriptions and scale sets).
    outages: fn(&AnswerKey) -> Vec<Outage>,
    /// Audit the key's principals (the operators group and its member) with `--principal`.
    audit: bool,
}

fn sized(
    subscriptions: usize,
    vms: usize,
    sets: usize,
    per_set: usize,
    seed: u64,
    mix: Mix,
) -> GenerateOptions {
    GenerateOptions {
        subscriptions,
        vms_per_subscription: vms,
        scale_sets: sets,
        instances_per_scale_set: per_set,
        seed,
        mix,
    }
}

fn no_outages(_: &AnswerKey) -> Vec<Outage> {
    Vec::new()
}

/// A mix where every condition is common, so that a small fleet holds many of each (and their
/// combinations): ten times the default rates, unregistered providers, more custom storage.
fn dense_mix() -> Mix {
    let mut mix = Mix::default();
    for (key, rate) in Mix::default().rates() {
        if Mix::EXCLUSIVE_GROUPS.iter().any(|g| g.contains(&key)) || rate >= 0.1 {
            continue;
        }
        mix.set(key, (rate * 10.0).min(0.5));
    }
    mix.power_deallocated = 0.1;
    mix.power_stopped = 0.05;
    mix.power_transitioning = 0.05;
    mix.power_absent = 0.03;
    mix.provisioning_incomplete = 0.05;
    mix.provisioning_failed = 0.03;
    mix.boot_diagnostics_absent = 0.05;
    mix.boot_diagnostics_disabled = 0.05;
    mix.storage_missing = 0.05;
    mix.storage_external = 0.05;
    mix.subscription_warned = 0.1;
    mix.subscription_disabled = 0.1;
    mix.custom_storage = 0.6;
    mix.flexible_scale_set = 0.5;
    mix.subscription_compute_unregistered = 0.1;
    mix.subscription_storage_unregistered = 0.2;
    mix.subscription_console_unregistered = 0.2;
    mix.validate().expect("the dense mix is valid");
    mix
}

/// The subscriptions of a key that hold instances, in key order.
fn populated(key: &AnswerKey) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in &key.instances {
        if !out.contains(&i.subscription_id) {
            out.push(i.subscription_id.clone());
        }
    }
    out
}

/// One outage of every kind, each in another subscription (the console's answered with 503, so
/// that the scanner retries before it gives up), plus one Uniform scale set's instance listing.
fn every_outage(key: &AnswerKey) -> Vec<Outage> {
    let subs = populated(key);
    let at = |n: usize| subs[n % subs.len()].clone();
    let uniform_set = key
        .instances
        .iter()
        .find(|i| i.kind == "vmss_instance" && i.subscription_id == at(6))
        .or_else(|| key.instances.iter().find(|i| i.kind == "vmss_instance"))
        .map(|i| (i.subscription_id.clone(), i.scale_set.clone().unwrap()));
    let mut out = vec![
        Outage::new(&at(0), Listing::StorageAccounts),
        Outage::new(&at(1), Listing::ManagementLocks),
        Outage::new(&at(2), Listing::ConsoleStatus).with_status(503),
        Outage::new(&at(3), Listing::VmStatus),
        Outage::new(&at(4), Listing::RoleAssignments),
        Outage::new(&at(5), Listing::DenyAssignments),
    ];
    if let Some((sub, set)) = uniform_set {
        out.push(Outage::scale_set_vms(&sub, &set));
    }
    out
}

/// The storage listing of the subscription that holds the shared diagnostics accounts (the
/// first) fails: every instance whose account is there, or outside the served subscriptions,
/// becomes undecided on storage.
fn central_storage_outage(key: &AnswerKey) -> Vec<Outage> {
    vec![
        Outage::new(&key.subscriptions[0].id, Listing::StorageAccounts),
        Outage::new(&populated(key)[1], Listing::VmStatus),
    ]
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            // The benchmark's S fleet: 20 subscriptions × (400 VMs + 100 scale-set instances).
            name: "S, default mix",
            options: sized(20, 400, 1, 100, 101, Mix::default()),
            outages: no_outages,
            audit: true,
        },
        Case {
            name: "dense mix, Uniform and Flexible sets, unregistered providers",
            options: sized(12, 40, 3, 12, 7, dense_mix()),
            outages: no_outages,
            audit: true,
        },
        Case {
            name: "dense mix with an outage of every listing kind",
            options: sized(12, 40, 3, 12, 8, dense_mix()),
            outages: every_outage,
            audit: true,
        },
        Case {
            name: "Uniform scale sets only, outages of the shared storage and a status listing",
            options: sized(
                6,
                30,
                4,
                15,
                21,
                Mix {
                    flexible_scale_set: 0.0,
                    custom_storage: 0.7,
                    storage_cross_subscription: 0.6,
                    ..dense_mix()
                },
            ),
            outages: central_storage_outage,
            audit: true,
        },
        Case {
            name: "Flexible scale sets only, nobody audited",
            options: sized(
                6,
                30,
                4,
                15,
                22,
                Mix {
                    flexible_scale_set: 1.0,
                    ..dense_mix()
                },
            ),
            outages: every_outage,
            audit: false,
        },
    ]
}

/// Check ids of a JSON array, as a set.
fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

/// An access verdict as `report.json` states it: the verdict, the failing checks and the
/// undecided ones (per instance and principal).
type AccessSeen = (String, BTreeSet<String>, BTreeSet<String>);

/// Every difference between `report.json` and the key, one readable line each.
fn differences(key: &AnswerKey, report: &Value, audited: &[String]) -> Vec<String> {
    let mut diffs = Vec::new();
    let verdicts: BTreeMap<String, &Value> = report["verdicts"]
        .as_array()
        .expect("report.json has verdicts")
        .iter()
        .map(|v| (v["resource_id"].as_str().unwrap().to_ascii_lowercase(), v))
        .collect();
    let mut access: BTreeMap<(String, String), AccessSeen> = BTreeMap::new();
    for a in report["access"].as_array().into_iter().flatten() {
        let mut fail = BTreeSet::new();
        let mut unknown = BTreeSet::new();
        for c in a["checks"].as_array().into_iter().flatten() {
            let id = c["check_id"].as_str().unwrap().to_string();
            match c["status"].as_str() {
                Some("fail") => fail.insert(id),
                Some("unknown") => unknown.insert(id),
                _ => false,
            };
        }
        access.insert(
            (
                a["resource_id"].as_str().unwrap().to_ascii_lowercase(),
                a["principal_id"].as_str().unwrap().to_ascii_lowercase(),
            ),
            (a["verdict"].as_str().unwrap().to_string(), fail, unknown),
        );
    }
    let mut seen = BTreeSet::new();
    for inst in &key.instances {
        let rid = inst.resource_id.to_ascii_lowercase();
        seen.insert(rid.clone());
        let who = format!("{} ({}, {})", inst.name, inst.kind, inst.resource_id);
        let Some(got) = verdicts.get(&rid) else {
            if inst.not_listed.is_none() {
                diffs.push(format!(
                    "{who}: missing from report.json; expected {}",
                    inst.verdict
                ));
            }
            continue;
        };
        if let Some(why) = &inst.not_listed {
            diffs.push(format!(
                "{who}: listed as {}, but the key says it cannot be: {why}",
                got["verdict"]
            ));
            continue;
        }
        let want = inst.when_auditing(audited);
        let mut parts = Vec::new();
        if got["verdict"].as_str() != Some(want.verdict.as_str()) {
            parts.push(format!(
                "verdict expected {} got {}",
                want.verdict, got["verdict"]
            ));
        }
        for (list, expected) in [
            ("blockers", &want.blockers),
            ("warnings", &want.warnings),
            ("unknowns", &want.unknowns),
        ] {
            let (expected, got) = (set(expected), ids(&got[list]));
            if expected != got {
                parts.push(format!("{list} expected {:?} got {:?}", expected, got));
            }
        }
        for p in audited {
            let want = &inst.access[p];
            match access.get(&(rid.clone(), p.clone())) {
                None => parts.push(format!("access of {p}: missing")),
                Some((verdict, fail, unknown)) => {
                    if verdict != &want.verdict
                        || fail != &set(&want.blockers)
                        || unknown != &set(&want.unknowns)
                    {
                        parts.push(format!(
                            "access of {p}: expected {} {:?}/{:?} got {verdict} {fail:?}/{unknown:?}",
                            want.verdict, want.blockers, want.unknowns
                        ));
                    }
                }
            }
        }
        if !parts.is_empty() {
            diffs.push(format!(
                "{who} [conditions {:?}]: {}",
                inst.conditions,
                parts.join("; ")
            ));
        }
    }
    for rid in verdicts.keys().filter(|r| !seen.contains(*r)) {
        diffs.push(format!("{rid}: in report.json but not in the fleet's key"));
    }
    diffs
}

/// A key one instance of which is wrong, for checking that the comparison sees it.
fn with_one_wrong_instance(key: &AnswerKey) -> (AnswerKey, String) {
    let mut wrong = key.clone();
    let inst = wrong
        .instances
        .iter_mut()
        .find(|i| i.not_listed.is_none() && i.verdict == "ready")
        .expect("a ready instance");
    inst.blockers.push("storage-hns-enabled".into());
    let name = inst.name.clone();
    (wrong, name)
}

/// Scans one case; returns the differences and the number of instances the key states.
async fn run_case(case: &Case) -> (Vec<String>, usize) {
    let (fleet, base) = generate_with_key(&case.options);
    let key = base.under((case.outages)(&base));
    if case.options.mix.subscription_compute_unregistered > 0.0 && case.options.subscriptions >= 10
    {
        for c in [
            "subscription_compute_unregistered",
            "subscription_storage_unregistered",
            "subscription_console_unregistered",
        ] {
            assert!(
                key.subscriptions
                    .iter()
                    .any(|s| s.conditions.iter().any(|x| x == c)),
                "{}: no subscription with {c}",
                case.name
            );
        }
    }
    if !key.outages.is_empty() {
        // The outages hit something: instances become undecided (and, with a scale set's
        // listing down, unlisted).
        assert!(
            key.summary.get("unknown").copied().unwrap_or(0) > 0,
            "{:?}",
            key.summary
        );
        let hides = key
            .outages
            .iter()
            .any(|o| o.listing == Listing::ScaleSetVms);
        assert_eq!(
            key.summary.contains_key("not_listed"),
            hides,
            "{:?}",
            key.summary
        );
    }
    let sim = common::start(&fleet, common::unthrottled(200)).await;
    for outage in &key.outages {
        sim.add_fault(outage.fault_rule()).unwrap();
    }
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let audited: Vec<String> = if case.audit {
        key.principals.iter().map(|p| p.id.clone()).collect()
    } else {
        Vec::new()
    };
    let out = tempfile::tempdir().unwrap();
    let options = ScanOptions {
        formats: vec!["json".into()],
        client: common::quick_retries(),
        access: AccessOptions {
            principals: common::audited_ids(&audited),
            ..Default::default()
        },
        ..common::scan_options(&sim, out.path())
    };
    let http = scready::arm::client::http_client(
        options.ca_cert.as_deref(),
        options.client.request_timeout,
    )
    .unwrap();
    let source: Arc<dyn TokenSource> =
        Arc::new(StaticToken::new(sim.issue_token(&scanner).unwrap()));
    let graph: Result<Arc<dyn TokenSource>, String> = Ok(Arc::new(StaticToken::new(
        sim.issue_graph_token(&scanner).unwrap(),
    )));
    scan::run_with(&options, Policy::builtin(), http, source, graph)
        .await
        .expect("the scan runs");
    let report: Value = common::report::read(out.path());
    let mut diffs = differences(&key, &report, &audited);
    // The comparison is not vacuous: a key wrong about one instance differs there, readably.
    let (wrong, name) = with_one_wrong_instance(&key);
    let caught = differences(&wrong, &report, &audited);
    let extra: Vec<&String> = caught.iter().filter(|d| !diffs.contains(d)).collect();
    assert!(
        extra.len() == 1
            && extra[0].starts_with(&name)
            && extra[0].contains("verdict expected blocked")
            && extra[0].contains("storage-hns-enabled"),
        "{extra:?}"
    );
    let partial = report["run"]["partial"].as_bool();
    if partial != Some(!key.outages.is_empty()) {
        diffs.push(format!(
            "run.partial is {partial:?} with {} outages",
            key.outages.len()
        ));
    }
    (diffs, key.instances.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_of_generated_fleets_agree_with_the_answer_key() {
    let mut failures = Vec::new();
    for case in cases() {
        let started = Instant::now();
        let (diffs, instances) = run_case(&case).await;
        println!(
            "{}: {} instances, {} differences, {:.1} s",
            case.name,
            instances,
            diffs.len(),
            started.elapsed().as_secs_f64()
        );
        if !diffs.is_empty() {
            let shown: Vec<&String> = diffs.iter().take(25).collect();
            failures.push(format!(
                "{} ({} differences{}):\n  {}",
                case.name,
                diffs.len(),
                if diffs.len() > shown.len() {
                    ", the first 25"
                } else {
                    ""
                },
                shown
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "report.json differs from the answer key:\n{}",
        failures.join("\n")
    );
}
