//! The fault matrix: every way ARM can misbehave, each checked against the invariant
//! **nothing is lost** — every instance of a readable listing appears in `instances.csv` exactly
//! once with a verdict; an instance whose listing could not be read is absent only because its
//! gap is recorded; an instance that depends on a failed listing is never `ready`; the report
//! says partial exactly when something is missing, and the exit code says so too.

mod common;

use scready::arm::ArmClientOptions;
use scready::auth::AuthMode;
use scready::inventory::GapScope;
use scready::scan::{self, ScanOptions, ScanOutcome};
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::fleet::Fleet;
use scready_sim::generate::{
    generate, scanner_principal, GenerateOptions, SCANNER_CLIENT_ID, SCANNER_CLIENT_SECRET,
};
use scready_sim::world;
use scready_sim::SimConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fleet() -> Fleet {
    generate(&GenerateOptions {
        subscriptions: 5,
        vms_per_subscription: 14,
        scale_sets: 2,
        instances_per_scale_set: 4,
        seed: 11,
        ..Default::default()
    })
}

/// Fast backoff, few retries, short timeouts: faults resolve in seconds.
fn client() -> ArmClientOptions {
    ArmClientOptions {
        request_timeout: Duration::from_secs(2),
        max_retries: 8,
        retry_initial_delay: Duration::from_millis(10),
        retry_max_delay: Duration::from_millis(100),
        retry_max_elapsed: Duration::from_secs(20),
        decode_retries: 4,
        ..ArmClientOptions::default()
    }
}

fn options(sim: &common::Sim, out: &Path, auth: AuthMode) -> ScanOptions {
    ScanOptions {
        auth,
        client: client(),
        ..common::scan_options(sim, out)
    }
}

async fn scan_with(
    sim: &common::Sim,
    fleet: &Fleet,
    auth: AuthMode,
) -> (ScanOutcome, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let scanner = scanner_principal(fleet).unwrap().id.clone();
    let token = sim.issue_token(&scanner).unwrap();
    let tenant = fleet.tenants[0].id.clone();
    let env: scready::auth::EnvLookup = Arc::new(move |k: &str| match k {
        "SCREADY_ACCESS_TOKEN" => Some(token.clone()),
        "AZURE_TENANT_ID" => Some(tenant.clone()),
        "AZURE_CLIENT_ID" => Some(SCANNER_CLIENT_ID.into()),
        "AZURE_CLIENT_SECRET" => Some(SCANNER_CLIENT_SECRET.into()),
        _ => None,
    });
    // The scanner's own access is audited (its token is an application's: only when named), so
    // that the authorization listings are read and their failures are gaps.
    let options = ScanOptions {
        access: scan::AccessOptions {
            principals: vec![scready::inventory::PrincipalRef {
                object_id: scanner.to_ascii_lowercase(),
                label: "scanning identity".into(),
                scanner: true,
            }],
            ..Default::default()
        },
        ..options(sim, out.path(), auth)
    };
    let outcome = scan::run(&options, env).await.expect("the scan runs");
    (outcome, out)
}

/// Every instance id of the fleet with its subscription and whether it is a Uniform instance.
fn fleet_instances(f: &Fleet) -> BTreeMap<String, (String, bool)> {
    let mut m = BTreeMap::new();
    for s in &f.subscriptions {
        for vm in &s.vms {
            m.insert(
                world::vm_id(&s.id, &vm.resource_group, &vm.name).to_ascii_lowercase(),
                (s.id.clone(), false),
            );
        }
        for ss in &s.scale_sets {
            for i in &ss.instances {
                let id = format!(
                    "{}/virtualMachines/{}",
                    world::scale_set_id(&s.id, &ss.resource_group, &ss.name),
                    i.instance_id
                );
                m.insert(id.to_ascii_lowercase(), (s.id.clone(), true));
            }
        }
    }
    m
}

/// Checks the invariant and returns the rows (resource id → verdict).
fn nothing_lost(f: &Fleet, o: &ScanOutcome, dir: &Path) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    let mut r = csv::Reader::from_path(dir.join("instances.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let id = rec[4].to_ascii_lowercase();
        assert!(!rec[13].is_empty(), "{id} has a verdict");
        assert!(
            rows.insert(id.clone(), rec[13].to_string()).is_none(),
            "{id} appears twice"
        );
    }
    let gaps = &o.result.coverage.gaps;
    let has_gap = |sub: &str, whats: &[&str]| {
        gaps.iter().any(|g| {
            whats.contains(&g.what.as_str())
                && g.subscription_id
                    .as_deref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(sub))
        })
    };
    let expected = fleet_instances(f);
    for (id, (sub, uniform)) in &expected {
        if rows.contains_key(id) {
            continue;
        }
        let listings: &[&str] = if *uniform {
            &[
                GapScope::SCALE_SETS,
                GapScope::SCALE_SET_INSTANCES,
                GapScope::SUBSCRIPTIONS,
                GapScope::SUBSCRIPTION,
            ]
        } else {
            &[
                GapScope::VIRTUAL_MACHINES,
                GapScope::SUBSCRIPTIONS,
                GapScope::SUBSCRIPTION,
            ]
        };
        assert!(
            has_gap(sub, listings),
            "{id} is missing without a recorded gap: {gaps:?}"
        );
    }
    for id in rows.keys() {
        assert!(expected.contains_key(id), "{id} is not in the fleet");
    }
    // Instances whose subscription-wide data failed are never ready.
    for i in &o.result.inventory.instances {
        let sub = &i.subscription_id;
        if has_gap(
            sub,
            &[
                GapScope::CONSOLE,
                GapScope::LOCKS,
                GapScope::ROLE_ASSIGNMENTS,
                GapScope::DENY_ASSIGNMENTS,
            ],
        ) {
            let v = &rows[&i.id.to_ascii_lowercase()];
            assert!(
                v == "unknown" || v == "blocked",
                "{} is {v} despite a gap in its subscription",
                i.id
            );
        }
    }
    for g in gaps {
        assert!(
            !g.what.is_empty() && !g.code.is_empty() && !g.message.is_empty(),
            "{g:?}"
        );
    }
    assert_eq!(o.result.run.partial, !gaps.is_empty());
    assert_eq!(
        o.exit_code == 2,
        !gaps.is_empty(),
        "exit code {} with gaps {gaps:?}",
        o.exit_code
    );
    let report = common::report::raw(dir);
    assert_eq!(report["run"]["partial"], !gaps.is_empty());
    rows
}

/// A fault-free baseline of the same fleet.
async fn baseline(f: &Fleet) -> BTreeMap<String, String> {
    let sim = common::start(
        f,
        SimConfig {
            page_size: Some(4),
            ..Default::default()
        },
    )
    .await;
    let (o, dir) = scan_with(&sim, f, AuthMode::Token).await;
    assert!(o.result.coverage.gaps.is_empty());
    nothing_lost(f, &o, dir.path())
}

async fn with_faults(
    f: &Fleet,
    rules: Vec<FaultRule>,
    auth: AuthMode,
) -> (ScanOutcome, BTreeMap<String, String>, tempfile::TempDir) {
    let sim = common::start(
        f,
        SimConfig {
            page_size: Some(4),
            faults: rules,
            ..Default::default()
        },
    )
    .await;
    let (o, dir) = scan_with(&sim, f, auth).await;
    let rows = nothing_lost(f, &o, dir.path());
    (o, rows, dir)
}

fn sub_id(f: &Fleet, n: usize) -> String {
    f.subscriptions[n].id.clone()
}

#[tokio::test]
async fn transient_faults_leave_the_report_complete_and_unchanged() {
    let f = fleet();
    let base = baseline(&f).await;
    let cases: Vec<(&str, Vec<FaultRule>)> = vec![
        (
            "429 storm with Retry-After",
            vec![FaultRule::always(FaultKind::Throttle {
                retry_after: Some(1),
            })
            .times(6)],
        ),
        (
            "429 storm without Retry-After",
            vec![FaultRule::always(FaultKind::Throttle { retry_after: None }).times(6)],
        ),
        (
            "5xx bursts within the retry budget",
            vec![
                FaultRule::always(FaultKind::Status {
                    status: 503,
                    retry_after: None,
                })
                .at_rate(0.2),
                FaultRule::always(FaultKind::Status {
                    status: 500,
                    retry_after: None,
                })
                .on_path("storageAccounts")
                .times(3),
            ],
        ),
        (
            "connections reset mid-body",
            vec![FaultRule::always(FaultKind::Reset).at_requests(&[2, 9, 17, 25, 33, 41])],
        ),
        (
            "truncated and malformed pages",
            vec![
                FaultRule::always(FaultKind::Truncated).at_requests(&[3, 11, 19, 27]),
                FaultRule::always(FaultKind::Malformed).at_requests(&[7, 15, 23, 31]),
            ],
        ),
        (
            "pages repeating the previous page's items",
            vec![FaultRule::always(FaultKind::RepeatItems)],
        ),
    ];
    for (name, rules) in cases {
        let (o, rows, _dir) = with_faults(&f, rules, AuthMode::Token).await;
        assert!(
            o.result.coverage.gaps.is_empty(),
            "{name}: {:?}",
            o.result.coverage.gaps
        );
        assert_eq!(rows, base, "{name}: the same verdicts as without faults");
    }
}

#[tokio::test]
async fn failures_beyond_the_retry_budget_are_gaps_with_their_reason() {
    let f = fleet();
    let base = baseline(&f).await;
    let (s0, s1, s2) = (sub_id(&f, 0), sub_id(&f, 1), sub_id(&f, 2));
    /// A case: name, faults, and the gaps (subscription, listing, code) it must leave.
    type Case<'a> = (&'a str, Vec<FaultRule>, Vec<(String, &'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "503 longer than the retry budget on one listing",
            vec![FaultRule::always(FaultKind::Status {
                status: 503,
                retry_after: None,
            })
            .on_path("Microsoft.Storage/storageAccounts")
            .on_subscription(&s0)],
            vec![(s0.clone(), GapScope::STORAGE_ACCOUNTS, "ServiceUnavailable")],
        ),
        (
            "a nextLink that loops",
            vec![FaultRule::always(FaultKind::NextLinkLoop)
                .on_path("Microsoft.Compute/virtualMachines$")
                .on_subscription(&s1)],
            vec![(s1.clone(), GapScope::VIRTUAL_MACHINES, "PagingLoop")],
        ),
        (
            "403 on one subscription",
            vec![FaultRule::always(FaultKind::Forbidden).on_subscription(&s2)],
            vec![
                (
                    s2.clone(),
                    GapScope::VIRTUAL_MACHINES,
                    "AuthorizationFailed",
                ),
                (
                    s2.clone(),
                    GapScope::STORAGE_ACCOUNTS,
                    "AuthorizationFailed",
                ),
                (s2.clone(), GapScope::CONSOLE, "AuthorizationFailed"),
            ],
        ),
        (
            "403 on one resource type",
            vec![FaultRule::always(FaultKind::Forbidden)
                .on_path("virtualMachineScaleSets$")
                .on_subscription(&s0)],
            vec![(s0.clone(), GapScope::SCALE_SETS, "AuthorizationFailed")],
        ),
        (
            "403 on authorization calls only",
            vec![FaultRule::always(FaultKind::Forbidden)
                .on_path("/providers/Microsoft.Authorization/")],
            vec![
                (
                    s0.clone(),
                    GapScope::ROLE_ASSIGNMENTS,
                    "AuthorizationFailed",
                ),
                (s0.clone(), GapScope::LOCKS, "AuthorizationFailed"),
            ],
        ),
        (
            "a subscription deleted between listing and scanning",
            vec![FaultRule::always(FaultKind::NotFound).on_subscription(&s1)],
            vec![(
                s1.clone(),
                GapScope::VIRTUAL_MACHINES,
                "SubscriptionNotFound",
            )],
        ),
    ];
    for (name, rules, want) in cases {
        let (o, rows, _dir) = with_faults(&f, rules, AuthMode::Token).await;
        for (sub, what, code) in &want {
            assert!(
                o.result
                    .coverage
                    .gaps
                    .iter()
                    .any(|g| g.subscription_id.as_deref() == Some(sub.as_str())
                        && g.what == *what
                        && g.code == *code),
                "{name}: no gap ({sub}, {what}, {code}) in {:?}",
                o.result.coverage.gaps
            );
        }
        assert_eq!(o.exit_code, 2, "{name}");
        // What was readable keeps its verdict, unless it depends on what was not (then it is
        // unknown, or blocked by something else).
        let affected: BTreeSet<&str> = o
            .result
            .coverage
            .gaps
            .iter()
            .filter_map(|g| g.subscription_id.as_deref())
            .collect();
        for (id, verdict) in &rows {
            let sub = id.split('/').nth(2).unwrap();
            if !affected.contains(sub)
                && !o
                    .result
                    .coverage
                    .gaps
                    .iter()
                    .any(|g| g.what == GapScope::STORAGE_ACCOUNTS)
            {
                assert_eq!(
                    verdict, &base[id],
                    "{name}: {id} in an unaffected subscription"
                );
            } else if verdict != &base[id] {
                assert_eq!(
                    verdict, "unknown",
                    "{name}: {id} changed from {} to {verdict}",
                    base[id]
                );
            }
        }
    }
}

#[tokio::test]
async fn an_expired_token_is_renewed_by_a_credential_but_not_by_a_static_token() {
    let f = fleet();
    let base = baseline(&f).await;
    let expire = || vec![FaultRule::always(FaultKind::ExpireToken).at_requests(&[12])];
    let (o, rows, _dir) = with_faults(&f, expire(), AuthMode::ClientSecret).await;
    assert!(
        o.result.coverage.gaps.is_empty(),
        "{:?}",
        o.result.coverage.gaps
    );
    assert_eq!(
        o.result.coverage.calls.token_renewals, 1,
        "the credential was asked again once"
    );
    assert_eq!(rows, base);

    let (o, _rows, _dir) = with_faults(&f, expire(), AuthMode::Token).await;
    assert!(!o.result.coverage.gaps.is_empty());
    assert!(
        o.result
            .coverage
            .gaps
            .iter()
            .all(|g| g.code == "AuthenticationFailed"),
        "{:?}",
        o.result.coverage.gaps
    );
    assert!(
        o.result.coverage.gaps[0]
            .message
            .contains("cannot be renewed"),
        "{}",
        o.result.coverage.gaps[0].message
    );
    assert_eq!(o.exit_code, 2);
}

#[tokio::test]
async fn a_simulator_that_stops_answering_ends_the_scan_in_bounded_time() {
    let f = fleet();
    let t0 = Instant::now();
    let (o, rows, dir) = with_faults(
        &f,
        vec![FaultRule::always(FaultKind::Hang { ms: None })],
        AuthMode::Token,
    )
    .await;
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(o.exit_code, 2);
    assert!(rows.is_empty());
    let g = &o.result.coverage.gaps;
    assert_eq!(g.len(), 1, "{g:?}");
    assert_eq!(
        (g[0].what.as_str(), g[0].code.as_str()),
        (GapScope::SUBSCRIPTIONS, "TransportError")
    );
    // A partial report is written whole.
    let report = common::report::raw(dir.path());
    assert_eq!(report["run"]["status"], "partial");
}

#[tokio::test]
async fn ill_typed_fields_and_odd_escapes_are_reported_not_fatal() {
    let f = fleet();
    let base = baseline(&f).await;
    let rules = vec![
        FaultRule::always(FaultKind::Rewrite {
            from: "\"enabled\":true".into(),
            to: "\"enabled\":\"yes\"".into(),
        })
        .on_path("virtualMachines$")
        .times(1),
        FaultRule::always(FaultKind::Rewrite {
            from: "\"location\":\"".into(),
            to: "\"location\":\"\\ud800".into(),
        })
        .on_path("storageAccounts")
        .times(1),
    ];
    let (o, rows, _dir) = with_faults(&f, rules, AuthMode::Token).await;
    assert!(
        o.result.coverage.gaps.is_empty(),
        "{:?}",
        o.result.coverage.gaps
    );
    assert_eq!(rows.len(), base.len(), "no page was dropped");
    let odd: Vec<_> = o
        .result
        .inventory
        .instances
        .iter()
        .filter(|i| !i.anomalies.is_empty())
        .collect();
    assert!(!odd.is_empty());
    for i in odd {
        assert!(
            i.anomalies[0].contains("bootDiagnostics.enabled=\"yes\""),
            "{:?}",
            i.anomalies
        );
        let v = &rows[&i.id.to_ascii_lowercase()];
        assert!(v == "unknown" || v == "blocked", "{} is {v}", i.id);
        let f = o
            .result
            .findings
            .iter()
            .find(|x| x.resource_id == i.id && x.check_id == "boot-diagnostics-disabled")
            .unwrap();
        assert_eq!(f.status.as_str(), "unknown");
    }
    assert!(o
        .result
        .inventory
        .storage_accounts
        .iter()
        .any(|s| s.location.contains('\u{fffd}')));
}
