//! The access family against the simulator: who may open Serial Console on which instance
//! (RBAC with groups, conditions, deny assignments), the cost in calls, the network probe and
//! the opt-in guest checks.

mod common;

use common::fixture;
use scready::arm::ArmClientOptions;
use scready::auth::{StaticToken, TokenSource};
use scready::cloud::Cloud;
use scready::discover::guest::GuestOptions;
use scready::discover::DiscoverOptions;
use scready::findings::Verdict;
use scready::inventory::{InstanceKind, PrincipalRef};
use scready::policy::Policy;
use scready::scan::{self, AccessOptions, ScanOptions, ScanOutcome};
use scready_sim::fleet::{Fleet, VmSpec};
use scready_sim::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const SCANNER: &str = "0a000000-0000-4000-8000-000000000001";
const SCANNER_IN_OPS: &str = "0a000000-0000-4000-8000-000000000002";

fn fleet() -> Fleet {
    common::fleet("access.toml")
}

fn named(fleet: &Fleet, names: &[&str]) -> Vec<PrincipalRef> {
    names
        .iter()
        .map(|n| {
            let p = fleet
                .principals
                .iter()
                .find(|p| p.display_name.as_deref() == Some(*n))
                .unwrap();
            PrincipalRef {
                object_id: p.id.clone(),
                label: n.to_string(),
                scanner: false,
            }
        })
        .collect()
}

/// The scanning identity named explicitly: the simulator's scanners hold application tokens,
/// whose own access a scan does not audit unless asked.
fn scanning_identity(object_id: &str) -> AccessOptions {
    AccessOptions {
        principals: vec![PrincipalRef {
            object_id: object_id.to_string(),
            label: "scanning identity".into(),
            scanner: true,
        }],
        ..Default::default()
    }
}

fn options(sim: &Simulator, out: &std::path::Path, access: AccessOptions) -> ScanOptions {
    ScanOptions {
        discover: common::parallelism(4),
        access,
        ..common::scan_options(sim, out)
    }
}

/// Scans as `scanner`, with a Graph token when `graph` is set.
async fn scan_as(
    sim: &Simulator,
    scanner: &str,
    graph: bool,
    access: AccessOptions,
) -> (ScanOutcome, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let o = options(sim, out.path(), access);
    let http =
        scready::arm::client::http_client(o.ca_cert.as_deref(), Duration::from_secs(10)).unwrap();
    let source: Arc<dyn TokenSource> =
        Arc::new(StaticToken::new(sim.issue_token(scanner).unwrap()));
    let graph: Result<Arc<dyn TokenSource>, String> = if graph {
        Ok(Arc::new(StaticToken::new(
            sim.issue_graph_token(scanner).unwrap(),
        )))
    } else {
        Err("no Graph token".into())
    };
    let outcome = scan::run_with(&o, Policy::builtin(), http, source, graph)
        .await
        .unwrap();
    (outcome, out)
}

/// (instance name, principal label) → access verdict.
fn access_table(o: &ScanOutcome) -> BTreeMap<(String, String), Verdict> {
    let names: BTreeMap<&str, &str> = o
        .result
        .inventory
        .instances
        .iter()
        .map(|i| (i.id.as_str(), i.name.as_str()))
        .collect();
    o.result
        .access
        .iter()
        .map(|a| {
            (
                (
                    names[a.resource_id.as_str()].to_string(),
                    a.label.to_string(),
                ),
                a.verdict,
            )
        })
        .collect()
}

const INSTANCES: [&str; 8] = ["a-1", "a-2", "b-1", "w-1", "w-2", "w-3", "ss-a_0", "ss-a_1"];

#[tokio::test]
async fn access_is_judged_per_instance_and_principal_as_azure_does() {
    let f = fleet();
    let sim = common::start(&f, SimConfig::default()).await;
    let people = [
        "alice", "bob", "carol", "dave", "erin", "frank", "henry", "ivan", "judy",
    ];
    let (o, out) = scan_as(
        &sim,
        SCANNER,
        true,
        AccessOptions {
            principals: named(&f, &people),
            ..Default::default()
        },
    )
    .await;
    let got = access_table(&o);
    use Verdict::{Blocked as B, Ready as R, Unknown as U};
    let expect = |who: &str, f: &dyn Fn(&str) -> Verdict| {
        for i in INSTANCES {
            assert_eq!(got[&(i.to_string(), who.to_string())], f(i), "{who} on {i}");
        }
    };
    // Virtual Machine Contributor at the subscription.
    expect("alice", &|_| R);
    // …at rg-a only: rg-b is out of reach, and a-2's diagnostics account sits in rg-diag.
    expect("bob", &|i| if i == "b-1" || i == "a-2" { B } else { R });
    // Reader only.
    expect("carol", &|_| B);
    // "*" minus Microsoft.SerialConsole/* on its own.
    expect("dave", &|_| B);
    // The same role plus VM Contributor on rg-a: notActions do not subtract across roles.
    expect("erin", &|i| if i == "b-1" { B } else { R });
    // Microsoft.Compute/* lacks Microsoft.SerialConsole/serialPorts/connect/action.
    expect("frank", &|_| B);
    // Through the ops group, with Graph readable.
    expect("henry", &|_| R);
    // An assignment with a condition is not guessed.
    expect("ivan", &|_| U);
    // A deny assignment on rg-b.
    expect("judy", &|i| if i == "b-1" { B } else { R });

    // instances.csv stays one row per instance and names who cannot connect.
    let csv = std::fs::read_to_string(out.path().join("instances.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + INSTANCES.len());
    let b1 = csv
        .lines()
        .find(|l| l.contains("/virtualMachines/b-1,"))
        .unwrap();
    // principals_denied, then the (empty) tags column.
    assert!(b1.ends_with(",bob;carol;dave;erin;frank;judy,"), "{b1}");
    let a2 = csv
        .lines()
        .find(|l| l.contains("/virtualMachines/a-2,"))
        .unwrap();
    assert!(
        a2.contains(",rbac-storage-access") || a2.contains(";rbac-storage-access"),
        "{a2}"
    );
    // The findings name the principal and what is missing.
    let frank = o
        .result
        .findings
        .iter()
        .find(|x| {
            x.check_id == "rbac-vm-access"
                && x.principal_id.as_deref() == Some("0b000000-0000-4000-8000-000000000006")
        })
        .unwrap();
    assert!(
        frank.message.contains("frank")
            && frank
                .message
                .contains("Microsoft.SerialConsole/serialPorts/connect/action"),
        "{}",
        frank.message
    );
    let judy = o
        .result
        .findings
        .iter()
        .find(|x| x.check_id == "rbac-vm-access" && x.message.contains("judy"))
        .unwrap();
    assert!(judy.message.contains("deny assignment"), "{}", judy.message);
    let ivan = o
        .result
        .findings
        .iter()
        .find(|x| x.message.contains("ivan"))
        .unwrap();
    assert!(ivan.message.contains("condition"), "{}", ivan.message);
    assert_eq!(sim.stats().non_get_requests, 0);
}

#[tokio::test]
async fn groups_resolve_for_the_scanner_through_permissions_and_for_others_only_with_graph() {
    let f = fleet();
    let sim = common::start(&f, SimConfig::default()).await;
    // The scanning identity holds VM Contributor only through the ops group: the permissions
    // API already includes its groups.
    let (o, _out) = scan_as(
        &sim,
        SCANNER_IN_OPS,
        false,
        scanning_identity(SCANNER_IN_OPS),
    )
    .await;
    assert!(o.result.inventory.principals[0].scanner);
    for i in INSTANCES {
        assert_eq!(
            access_table(&o)[&(i.to_string(), "scanning identity".to_string())],
            Verdict::Ready,
            "{i}"
        );
    }
    // A named member of the group is unknown without Graph…
    let henry = named(&f, &["henry"]);
    let (o, _out) = scan_as(
        &sim,
        SCANNER_IN_OPS,
        false,
        AccessOptions {
            principals: henry.clone(),
            ..Default::default()
        },
    )
    .await;
    let a = o.result.access.iter().find(|a| a.label == "henry").unwrap();
    assert_eq!(a.verdict, Verdict::Unknown);
    assert!(
        a.checks[0].message.contains("whether henry"),
        "{}",
        a.checks[0].message
    );
    // …and unknown when the credential may not read Graph (403)…
    let (o, _out) = scan_as(
        &sim,
        SCANNER_IN_OPS,
        true,
        AccessOptions {
            principals: henry.clone(),
            ..Default::default()
        },
    )
    .await;
    let a = o.result.access.iter().find(|a| a.label == "henry").unwrap();
    assert_eq!(a.verdict, Verdict::Unknown);
    assert!(
        a.checks[0].message.contains("Authorization_RequestDenied")
            || a.checks[0].message.contains("403"),
        "{}",
        a.checks[0].message
    );
    // …and ready when it may.
    let (o, _out) = scan_as(
        &sim,
        SCANNER,
        true,
        AccessOptions {
            principals: henry,
            ..Default::default()
        },
    )
    .await;
    assert!(o.result.access.iter().all(|a| a.verdict == Verdict::Ready));
}

/// Requests to the authorization and Graph endpoints in the simulator's log.
fn authorization_calls(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.contains("/Microsoft.Authorization/") || r.path.starts_with("/v1.0/"))
        .count()
}

#[tokio::test]
async fn authorization_calls_grow_with_resource_groups_not_instances() {
    async fn calls(extra_vms: usize) -> usize {
        let mut f = fleet();
        let template: VmSpec = f.subscriptions[0].vms[0].clone();
        for n in 0..extra_vms {
            let mut vm = template.clone();
            vm.name = format!("bulk-{n:03}");
            vm.resource_group = if n % 2 == 0 {
                "rg-a".into()
            } else {
                "rg-b".into()
            };
            f.subscriptions[0].vms.push(vm);
        }
        let sim = common::start(
            &f,
            SimConfig {
                page_size: Some(1000),
                ..Default::default()
            },
        )
        .await;
        let people = named(&f, &["alice", "bob", "henry"]);
        for principals in [scanning_identity(SCANNER).principals, people] {
            let (o, _out) = scan_as(
                &sim,
                SCANNER,
                true,
                AccessOptions {
                    principals,
                    ..Default::default()
                },
            )
            .await;
            assert_eq!(o.result.inventory.instances.len(), 8 + extra_vms);
        }
        authorization_calls(&sim)
    }
    let small = calls(10).await;
    let large = calls(100).await;
    assert!(small > 0);
    assert_eq!(
        small, large,
        "10x more VMs in the same resource groups: the same authorization calls"
    );
}

#[tokio::test]
async fn the_scanners_permissions_are_read_per_assigned_resource_group_and_once_for_the_rest() {
    use scready_sim::generate::{self, GenerateOptions};
    let f = generate::generate(&GenerateOptions {
        subscriptions: 4,
        vms_per_subscription: 30,
        ..Default::default()
    });
    let scanner = generate::scanner_principal(&f).unwrap().id.clone();
    let sim = common::start(
        &f,
        SimConfig {
            page_size: Some(1000),
            ..Default::default()
        },
    )
    .await;
    let (o, _out) = scan_as(&sim, &scanner, true, scanning_identity(&scanner)).await;
    let inv = &o.result.inventory;
    assert!(!inv.is_partial(), "{:?}", inv.gaps);
    // Resource groups that hold an instance or a storage account, and those with an assignment.
    let holding: std::collections::BTreeSet<String> = inv
        .instances
        .iter()
        .map(|i| (&i.subscription_id, &i.resource_group))
        .chain(
            inv.storage_accounts
                .iter()
                .map(|s| (&s.subscription_id, &s.resource_group)),
        )
        .map(|(s, rg)| format!("/subscriptions/{s}/resourcegroups/{rg}").to_ascii_lowercase())
        .collect();
    let assigned: std::collections::BTreeSet<String> = f
        .role_assignments
        .iter()
        .map(|a| a.scope.to_ascii_lowercase())
        .filter(|s| holding.contains(s))
        .collect();
    assert!(
        !assigned.is_empty(),
        "the platform subscription grants per resource group"
    );
    assert!(holding.len() > inv.subscriptions.len() + assigned.len());
    let mut asked: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .contains("/providers/Microsoft.Authorization/permissions")
        })
        .map(|r| {
            r.path
                .split("/providers/Microsoft.Authorization/permissions")
                .next()
                .unwrap()
                .to_ascii_lowercase()
        })
        .collect();
    asked.sort();
    // Only the documented scopes are asked: resource groups (and resources), never a bare
    // subscription.
    assert!(
        asked.iter().all(|s| s.contains("/resourcegroups/")),
        "{asked:?}"
    );
    // Every resource group with an assignment of its own is asked…
    for rg in &assigned {
        assert!(asked.contains(rg), "{rg} not asked: {asked:?}");
    }
    // …and, per subscription, one of its other resource groups stands for all of them.
    let unassigned_subs: std::collections::BTreeSet<&str> = holding
        .iter()
        .filter(|rg| !assigned.contains(*rg))
        .map(|rg| rg.split('/').nth(2).unwrap())
        .collect();
    assert_eq!(
        asked.len(),
        assigned.len() + unassigned_subs.len(),
        "{asked:?}"
    );
    assert!(
        asked.len() < holding.len(),
        "fewer calls than resource groups"
    );
    // The scanner holds Reader at the root: no instance lets it connect, and none is unknown.
    assert_eq!(o.result.access.len(), inv.instances.len());
    for a in &o.result.access {
        assert_eq!(a.verdict, Verdict::Blocked, "{a:?}");
        assert!(a.checks[0].message.contains("lacks"), "{a:?}");
    }
    // The fix grants the principal itself, at a scope Azure accepts: the VM, or the scale set
    // of a scale-set instance (an instance is not a role-assignment scope).
    let mut kinds = std::collections::BTreeSet::new();
    for i in &inv.instances {
        let f = o
            .result
            .findings
            .iter()
            .find(|f| f.resource_id.as_str() == i.id && f.check_id.as_str() == "rbac-vm-access")
            .unwrap_or_else(|| panic!("no rbac-vm-access finding for {}", i.id));
        let fix = f.remediation.as_str();
        assert!(
            fix.starts_with(&format!("az role assignment create --assignee {scanner} ")),
            "{fix}"
        );
        match i.kind {
            InstanceKind::VmssInstance => assert!(
                fix.ends_with(&format!(
                    "--scope \"$(az vmss show --name {} --resource-group {} --query id --output tsv)\"",
                    i.scale_set.as_deref().unwrap(),
                    i.resource_group
                )),
                "{fix}"
            ),
            _ => assert!(fix.ends_with(&format!("--scope {}", i.id)), "{fix}"),
        }
        kinds.insert(i.kind.as_str());
    }
    assert!(
        kinds.contains("vmss_instance") && kinds.len() >= 2,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn access_read_alongside_discovery_equals_access_read_afterwards() {
    use scready::arm::ArmClient;
    use scready::discover::{self, access, hosts::HostResolver, Progress};
    let f = fleet();
    let sim = common::start(&f, SimConfig::default()).await;
    let base = url::Url::parse(&sim.base_url()).unwrap();
    let cloud = Cloud::custom(base.clone(), Some(base.clone()));
    let http =
        scready::arm::client::http_client(Some(sim.ca_pem().as_bytes()), Duration::from_secs(10))
            .unwrap();
    let token: Arc<dyn TokenSource> = Arc::new(StaticToken::new(sim.issue_token(SCANNER).unwrap()));
    let arm = ArmClient::new(base, http.clone(), token, &ArmClientOptions::default()).unwrap();
    let resolver = HostResolver::new(&cloud, http);
    let options = DiscoverOptions {
        subscription_parallelism: 4,
        ..Default::default()
    };
    let scanner = vec![PrincipalRef {
        object_id: SCANNER.into(),
        label: "scanning identity".into(),
        scanner: true,
    }];
    let mut read = Vec::new();
    for alongside in [true, false] {
        let (mut inv, prefetched) = discover::discover_with_access(
            &arm,
            &cloud,
            &resolver,
            &options,
            Arc::new(Progress::default()),
            alongside,
        )
        .await;
        assert_eq!(
            prefetched.len(),
            if alongside {
                inv.subscriptions.len()
            } else {
                0
            }
        );
        inv.principals = scanner.clone();
        access::discover_access(&arm, Err("no Graph".into()), &mut inv, prefetched).await;
        let a = inv.access.clone().unwrap();
        assert!(!a.role_assignments.is_empty());
        assert!(!a.caller_permissions.is_empty());
        read.push((a, inv.gaps.clone()));
    }
    assert_eq!(read[0], read[1]);
}

#[tokio::test]
async fn network_probe_passes_on_a_tls_listener_and_fails_on_closed_ports_and_unknown_names() {
    let f = fleet();
    let sim = common::start(&f, SimConfig::default()).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let me = sim.addr().to_string();
    let probe = |targets: Vec<String>| AccessOptions {
        principals: named(&f, &["alice"]),
        serial_console_endpoints: targets,
        ..Default::default()
    };
    let (o, out) = scan_as(
        &sim,
        SCANNER,
        true,
        probe(vec![me.clone(), format!("localhost:{}", sim.addr().port())]),
    )
    .await;
    assert!(o
        .result
        .inventory
        .environment
        .as_ref()
        .unwrap()
        .hosts
        .iter()
        .all(|h| h.reachable));
    assert!(!o
        .result
        .findings
        .iter()
        .any(|x| x.check_id == "websocket-blocked"));
    let csv = std::fs::read_to_string(out.path().join("instances.csv")).unwrap();
    assert!(!csv.contains("websocket-blocked"));

    for (target, says) in [
        (format!("127.0.0.1:{closed}"), "cannot connect"),
        (
            "console.nowhere.test:443".to_string(),
            "cannot resolve console.nowhere.test",
        ),
    ] {
        let (o, out) = scan_as(&sim, SCANNER, true, probe(vec![target.clone()])).await;
        let env: Vec<_> = o
            .result
            .findings
            .iter()
            .filter(|x| x.check_id == "websocket-blocked")
            .collect();
        assert_eq!(env.len(), 1, "reported once");
        assert_eq!(env[0].resource_id, "environment");
        assert_eq!(env[0].status.as_str(), "warn");
        assert!(
            env[0].message.contains(&target) && env[0].message.contains(says),
            "{}",
            env[0].message
        );
        assert!(
            env[0].mitigation.contains("serialconsole.azure.com"),
            "{}",
            env[0].mitigation
        );
        // Applied to every instance as a warning.
        for v in &o.result.verdicts {
            assert!(
                v.warnings.iter().any(|w| w == "websocket-blocked"),
                "{}",
                v.resource_id
            );
        }
        let csv = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
        assert!(csv
            .lines()
            .any(|l| l.starts_with("environment,,websocket-blocked,warn,warning,")));
    }
    // --no-network-probe skips it entirely.
    let (o, _out) = scan_as(
        &sim,
        SCANNER,
        true,
        AccessOptions {
            network_probe: false,
            ..probe(vec![format!("127.0.0.1:{closed}")])
        },
    )
    .await;
    assert!(o.result.inventory.environment.is_none());
    assert!(!o
        .result
        .findings
        .iter()
        .any(|x| x.check_id == "websocket-blocked"));
}

#[tokio::test]
async fn guest_checks_are_off_by_default_and_only_post_run_commands_when_asked() {
    let f = fleet();
    let mut sim = common::start(&f, SimConfig::default()).await;
    sim.expect_run_commands(2);
    let (o, _out) = scan_as(&sim, SCANNER, true, AccessOptions::default()).await;
    assert!(o.result.inventory.guest.is_none());
    assert!(!o
        .result
        .findings
        .iter()
        .any(|x| x.check_id == "windows-sac-helper"));
    assert_eq!(
        sim.stats().non_get_requests,
        0,
        "no Run Command without --guest-checks"
    );

    let guest = GuestOptions {
        max: 10,
        timeout: Duration::from_secs(20),
        poll_interval: Duration::from_millis(50),
    };
    let (o, _out) = scan_as(
        &sim,
        SCANNER,
        true,
        AccessOptions {
            guest: Some(guest),
            ..Default::default()
        },
    )
    .await;
    let sac: Vec<_> = o
        .result
        .findings
        .iter()
        .filter(|x| x.check_id == "windows-sac-helper")
        .collect();
    assert_eq!(sac.len(), 1, "{sac:?}");
    assert!(sac[0].resource_id.ends_with("/virtualMachines/w-1"));
    assert_eq!(
        (sac[0].status.as_str(), sac[0].severity.as_str()),
        ("warn", "warning")
    );
    assert!(
        sac[0].message.contains("Disabled and Stopped"),
        "{}",
        sac[0].message
    );
    let stats = sim.stats();
    // w-1 and w-2 are running Windows VMs; w-3 is deallocated and is not asked.
    assert_eq!(stats.non_get_requests, 2, "{:?}", stats.non_get_log);
    assert!(
        stats
            .non_get_log
            .iter()
            .all(|l| l.starts_with("POST ") && l.contains("/runCommand")),
        "{:?}",
        stats.non_get_log
    );
    assert_eq!(stats.rejected_writes, 0);
}

#[test]
fn principals_file_takes_ids_with_labels_and_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("oncall.txt");
    std::fs::write(&p, "# on-call rota\n0b000000-0000-4000-8000-000000000001 alice (primary)\n0B000000-0000-4000-8000-000000000002, bob\n\n").unwrap();
    let got = scan::read_principals(&p).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].label.as_str(), got[1].label.as_str()),
        ("alice (primary)", "bob")
    );
    assert_eq!(got[1].object_id, "0b000000-0000-4000-8000-000000000002");
    std::fs::write(
        &p,
        "0b000000-0000-4000-8000-000000000001\nnot-an-id carol\n",
    )
    .unwrap();
    let err = scan::read_principals(&p).unwrap_err();
    assert!(
        err.contains("oncall.txt:2:") && err.contains("not-an-id"),
        "{err}"
    );
    let _ = fixture("fleets/access.toml");
}
