//! `scready scan` end to end against the simulator over HTTPS: verdicts per instance, findings,
//! cross-subscription storage, coverage gaps, throttling and faults, and the read-only guarantee.

mod common;

use common::fixture;
use scready::arm::ArmClientOptions;
use scready::scan::{self, FailOn, ScanOptions, ScanOutcome};
use scready_sim::demo::demo_fleet;
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::fleet::Fleet;
use scready_sim::{SimConfig, Simulator};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SCANNER: &str = "76e9c809-2966-493d-8bc1-6f01162794bf";
const SHARED: &str = "Contoso Shared Services";

/// Client settings that keep fault tests fast: short backoff, same retry budget.
fn fast_client() -> ArmClientOptions {
    ArmClientOptions {
        retry_initial_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(200),
        request_timeout: Duration::from_secs(10),
        ..ArmClientOptions::default()
    }
}

fn options(sim: &Simulator, out: &Path, policy: Option<&str>) -> ScanOptions {
    ScanOptions {
        policy: policy.map(fixture),
        fail_on: FailOn::Error,
        client: fast_client(),
        ..common::scan_options(sim, out)
    }
}

async fn scan_with(sim: &Simulator, options: &ScanOptions) -> ScanOutcome {
    let token = sim.issue_token(SCANNER).unwrap();
    let env: scready::auth::EnvLookup =
        Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let outcome = scan::run(options, env).await.expect("the scan runs");
    assert_eq!(
        sim.stats().non_get_requests,
        0,
        "the scanner sent only GETs"
    );
    outcome
}

/// `instances.csv` as name → (verdict, blockers, warnings, unknowns).
fn instances(dir: &Path) -> BTreeMap<String, (String, String, String, String)> {
    let mut r = csv::Reader::from_path(dir.join("instances.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    assert_eq!(headers.len(), 20);
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (name, verdict, b, w, u) = (
        col("name"),
        col("verdict"),
        col("blockers"),
        col("warnings"),
        col("unknowns"),
    );
    let mut out = BTreeMap::new();
    for row in r.records() {
        let row = row.unwrap();
        let prev = out.insert(
            row[name].to_string(),
            (
                row[verdict].to_string(),
                row[b].to_string(),
                row[w].to_string(),
                row[u].to_string(),
            ),
        );
        assert!(prev.is_none(), "{} appears twice", &row[name]);
    }
    out
}

/// The expected verdicts of the demo fleet with the configuration checks only.
fn expected_demo() -> BTreeMap<String, (String, String, String, String)> {
    let blocked = [
        ("vm-web-nobootdiag", "boot-diagnostics-disabled", ""),
        ("vm-web-bootdiagoff", "boot-diagnostics-disabled", ""),
        ("vm-web-deallocated", "vm-not-running", ""),
        ("vm-web-stopped", "vm-not-running", ""),
        ("vm-app-missingdiag", "storage-account-not-found", ""),
        ("vm-app-extdiag", "storage-resource-group-unknown", ""),
        ("vm-app-httpdiag", "storage-uri-not-https", ""),
        ("vm-app-hnsdiag", "storage-hns-enabled", ""),
        ("vm-app-nosharedkey", "storage-shared-key-disabled", ""),
        ("vm-sql-updating", "provisioning-incomplete", ""),
        ("vm-sql-failed", "vm-failed-state", ""),
        ("vm-sql-bootdiagerror", "vm-failed-state", ""),
        ("vm-data-readonlylock", "resource-lock-readonly", ""),
        ("vmss-batch-prod_3", "vmss-instance-outdated", ""),
        (
            "vm-app-dev-01",
            "subscription-console-disabled",
            "subscription-not-enabled",
        ),
        (
            "vm-web-dev-01",
            "subscription-console-disabled",
            "subscription-not-enabled",
        ),
        (
            "vm-test-dev-01",
            "subscription-console-disabled",
            "subscription-not-enabled",
        ),
    ];
    let warned = [
        ("vm-web-sshkeyonly", "linux-no-password-user"),
        ("vm-app-firewalldiag", "storage-firewall"),
        ("vm-app-diagregion", "storage-region-mismatch"),
        ("vm-app-oldtls", "storage-min-tls"),
        ("vm-edge-unsupportedregion", "region-unsupported"),
    ];
    let ready = [
        "vm-web-prod-01",
        "vm-web-prod-02",
        "vm-app-prod-01",
        "vm-app-xsubdiag",
        "vm-app-nostoragerbac",
        "vm-sql-prod-01",
        "vm-data-trustedlaunch",
        "vm-win-sacdisabled",
        "vm-payments-norbac",
        "vmss-api-prod_4f1c2a9e",
        "vmss-api-prod_b07d3e51",
        "vmss-api-prod_e9a86c14",
        "vmss-batch-prod_0",
        "vmss-batch-prod_1",
        "vmss-batch-prod_2",
        "vmss-batch-prod_5",
        "vm-dc-shared-01",
        "vm-dc-shared-02",
        "vm-jump-shared-01",
        "vm-monitor-shared-01",
    ];
    let mut m = BTreeMap::new();
    for (n, b, w) in blocked {
        m.insert(
            n.to_string(),
            ("blocked".into(), b.into(), w.into(), String::new()),
        );
    }
    for (n, w) in warned {
        m.insert(
            n.to_string(),
            (
                "ready_with_warnings".into(),
                String::new(),
                w.into(),
                String::new(),
            ),
        );
    }
    for n in ready {
        m.insert(
            n.to_string(),
            ("ready".into(), String::new(), String::new(), String::new()),
        );
    }
    m
}

async fn demo_sim(config: SimConfig) -> (Fleet, common::Sim) {
    let fleet = demo_fleet();
    let sim = common::start(&fleet, config).await;
    (fleet, sim)
}

#[tokio::test]
async fn every_condition_yields_the_expected_verdict_and_findings() {
    let (fleet, sim) = demo_sim(SimConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    let outcome = scan_with(
        &sim,
        &options(&sim, out.path(), Some("policies/config-only.toml")),
    )
    .await;
    assert_eq!(
        outcome.exit_code, 1,
        "blocked instances with --fail-on error"
    );
    assert_eq!(instances(out.path()), expected_demo());
    assert_eq!(outcome.result.coverage.instances, fleet.instance_count());
    assert!(!outcome.result.run.partial);

    // Every kind appears, each instance exactly once (checked while reading the CSV).
    let mut r = csv::Reader::from_path(out.path().join("instances.csv")).unwrap();
    let kinds: Vec<String> = r.records().map(|x| x.unwrap()[5].to_string()).collect();
    for k in ["vm", "vmss_instance", "vmss_flex_vm"] {
        assert!(kinds.iter().any(|x| x == k), "{k}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "vmss_instance").count(), 5);
    assert_eq!(kinds.iter().filter(|k| *k == "vmss_flex_vm").count(), 3);

    // findings.csv rows: exact check/status/severity per resource, with texts from the policy.
    let mut r = csv::Reader::from_path(out.path().join("findings.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "resource_id",
            "subscription_id",
            "check_id",
            "status",
            "severity",
            "message",
            "mitigation",
            "remediation",
            "principal_id",
            "resource_name"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let find = |suffix: &str, check: &str| {
        rows.iter()
            .find(|x| x[0].ends_with(suffix) && &x[2] == check)
            .unwrap_or_else(|| panic!("no finding {check} for {suffix}"))
            .clone()
    };
    let f = find(
        "/virtualMachines/vm-web-nobootdiag",
        "boot-diagnostics-disabled",
    );
    assert_eq!((&f[3], &f[4]), ("fail", "error"));
    assert!(f[5].contains("no diagnosticsProfile"), "{}", &f[5]);
    assert!(
        f[7].starts_with(
            "az vm boot-diagnostics enable --name vm-web-nobootdiag --resource-group rg-web-prod"
        ),
        "{}",
        &f[7]
    );
    let f = find("/virtualMachines/vm-app-httpdiag", "storage-uri-not-https");
    assert!(
        f[7].contains("--storage https://stdiagprodweu01.blob.core.windows.net/"),
        "{}",
        &f[7]
    );
    let f = find("/virtualMachines/vm-app-firewalldiag", "storage-firewall");
    assert_eq!((&f[3], &f[4]), ("warn", "warning"));
    let f = find(
        "/virtualMachines/vm-data-trustedlaunch",
        "trusted-launch-secure-boot",
    );
    assert_eq!((&f[3], &f[4]), ("warn", "info"));
    let f = find(
        "/virtualMachineScaleSets/vmss-batch-prod/virtualMachines/3",
        "vmss-instance-outdated",
    );
    assert!(
        f[7].contains("az vmss update-instances --name vmss-batch-prod")
            && f[7].contains("--instance-ids 3"),
        "{}",
        &f[7]
    );
    let dev = fleet
        .subscriptions
        .iter()
        .find(|s| s.display_name == "Contoso Development")
        .unwrap();
    let f = find(
        &format!("/subscriptions/{}", dev.id),
        "subscription-console-disabled",
    );
    assert_eq!(&f[3], "fail");
    assert!(f[7].contains("enableConsole"), "{}", &f[7]);
    // Nothing passes silently: no finding for the ready instances.
    assert!(!rows.iter().any(|x| x[0].ends_with("/vm-web-prod-01")));
    // The access family is off in this policy: no rows for it.
    assert!(!rows.iter().any(|x| x[2].starts_with("rbac-")));

    // report.json carries the schema version, coverage and the same verdicts.
    let report = common::report::raw(out.path());
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["coverage"]["gaps"].as_array().unwrap().len(), 0);
    assert_eq!(report["summary"]["by_verdict"]["blocked"], 17);
    assert!(report["coverage"]["calls"]["requests"].as_u64().unwrap() >= 10);
}

#[tokio::test]
async fn storage_in_another_subscription_is_resolved() {
    let (_fleet, sim) = demo_sim(SimConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    let outcome = scan_with(
        &sim,
        &options(&sim, out.path(), Some("policies/config-only.toml")),
    )
    .await;
    let inst = outcome
        .result
        .inventory
        .instances
        .iter()
        .position(|i| i.name == "vm-app-xsubdiag")
        .unwrap();
    let i = &outcome.result.inventory.instances[inst];
    let sa = outcome
        .result
        .inventory
        .storage_accounts
        .iter()
        .find(|s| s.name == "stdiagsharedweu01")
        .unwrap();
    assert_ne!(
        sa.subscription_id, i.subscription_id,
        "the account lives in another subscription"
    );
    assert_eq!(outcome.result.verdicts[inst].verdict.as_str(), "ready");
    let rows = std::fs::read_to_string(out.path().join("instances.csv")).unwrap();
    let line = rows
        .lines()
        .find(|l| l.contains("/vm-app-xsubdiag,"))
        .unwrap();
    assert!(line.contains(",custom,stdiagsharedweu01,ready,"), "{line}");
}

#[tokio::test]
async fn a_forbidden_storage_listing_is_a_gap_and_only_its_dependants_become_unknown() {
    let (fleet, sim) = demo_sim(SimConfig::default()).await;
    let shared = fleet
        .subscriptions
        .iter()
        .find(|s| s.display_name == SHARED)
        .unwrap()
        .id
        .clone();
    sim.add_fault(
        FaultRule::always(FaultKind::Forbidden)
            .on_path("Microsoft.Storage/storageAccounts")
            .on_subscription(&shared),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let outcome = scan_with(
        &sim,
        &options(&sim, out.path(), Some("policies/config-only.toml")),
    )
    .await;
    assert_eq!(outcome.exit_code, 2, "an incomplete scan exits with 2");
    assert!(outcome.result.run.partial);
    let gaps = &outcome.result.coverage.gaps;
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].subscription_id.as_deref(), Some(shared.as_str()));
    assert_eq!(
        (gaps[0].what.as_str(), gaps[0].status, gaps[0].code.as_str()),
        ("storage accounts", Some(403), "AuthorizationFailed")
    );

    let got = instances(out.path());
    let mut expected = expected_demo();
    for name in [
        "vm-app-xsubdiag",
        "vm-app-nostoragerbac",
        "vm-dc-shared-01",
        "vm-dc-shared-02",
        "vm-app-extdiag",
    ] {
        let e = expected.get_mut(name).unwrap();
        e.0 = "unknown".into();
        e.1 = String::new();
        assert!(
            got[name].3.contains("storage-account-not-found"),
            "{name}: {:?}",
            got[name]
        );
        e.3 = got[name].3.clone();
    }
    assert_eq!(got, expected, "every other instance keeps its verdict");
    let report = common::report::raw(out.path());
    assert_eq!(report["run"]["partial"], true);
    assert_eq!(report["coverage"]["gaps"][0]["status"], 403);
    // The unknown findings say why.
    let findings = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
    let line = findings
        .lines()
        .find(|l| l.contains("/vm-dc-shared-01,") && l.contains("storage-account-not-found"))
        .unwrap();
    assert!(
        line.contains(",unknown,error,") && line.contains("HTTP 403 AuthorizationFailed"),
        "{line}"
    );
}

#[tokio::test]
async fn throttling_storms_and_server_errors_still_give_the_complete_report() {
    let (_fleet, sim) = demo_sim(SimConfig::default()).await;
    sim.add_fault(
        FaultRule::always(FaultKind::Throttle {
            retry_after: Some(1),
        })
        .at_requests(&[2, 3, 4, 5, 6, 7, 8, 9]),
    )
    .unwrap();
    sim.add_fault(
        FaultRule::always(FaultKind::Status {
            status: 503,
            retry_after: None,
        })
        .at_rate(0.15),
    )
    .unwrap();
    sim.add_fault(
        FaultRule::always(FaultKind::Status {
            status: 500,
            retry_after: None,
        })
        .on_path("virtualMachineScaleSets")
        .times(2),
    )
    .unwrap();
    sim.add_fault(
        FaultRule::always(FaultKind::Reset)
            .on_path("storageAccounts")
            .times(1),
    )
    .unwrap();
    sim.add_fault(
        FaultRule::always(FaultKind::Truncated)
            .on_path("virtualMachines")
            .times(1),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let outcome = scan_with(
        &sim,
        &options(&sim, out.path(), Some("policies/config-only.toml")),
    )
    .await;
    assert_eq!(instances(out.path()), expected_demo());
    assert!(
        !outcome.result.run.partial,
        "{:?}",
        outcome.result.coverage.gaps
    );
    let calls = &outcome.result.coverage.calls;
    assert_eq!(calls.throttled, 8, "every injected 429 was seen");
    assert!(
        calls.retries >= 12,
        "8 throttled, 2 server errors, a reset and a truncated page: {calls:?}"
    );
    assert!(sim.stats().faults_injected >= 12);
}

#[tokio::test]
async fn a_repeating_next_link_ends_in_a_gap_not_a_hang() {
    let (fleet, sim) = demo_sim(SimConfig::default()).await;
    let prod = fleet
        .subscriptions
        .iter()
        .find(|s| s.display_name == "Contoso Production")
        .unwrap()
        .id
        .clone();
    sim.add_fault(
        FaultRule::always(FaultKind::NextLinkLoop)
            .on_path("Microsoft.Compute/virtualMachines$")
            .on_subscription(&prod),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        scan_with(
            &sim,
            &options(&sim, out.path(), Some("policies/config-only.toml")),
        ),
    )
    .await
    .expect("the scan ends");
    assert_eq!(outcome.exit_code, 2);
    // Both VM listings (the model and the run-time status) loop, and each is a gap.
    let mut g: Vec<(&str, &str)> = outcome
        .result
        .coverage
        .gaps
        .iter()
        .map(|g| (g.what.as_str(), g.code.as_str()))
        .collect();
    g.sort();
    assert_eq!(
        g,
        [
            ("virtual machine status", "PagingLoop"),
            ("virtual machines", "PagingLoop")
        ]
    );
    // The pages read before the loop are kept, and other subscriptions are complete.
    let got = instances(out.path());
    assert!(got.contains_key("vm-app-dev-01") && got.contains_key("vm-monitor-shared-01"));
    assert!(got.contains_key("vm-web-prod-01"), "the first page is kept");
}

#[tokio::test]
async fn only_named_subscriptions_are_scanned_and_exclusions_apply() {
    let (fleet, sim) = demo_sim(SimConfig::default()).await;
    let ids: Vec<String> = fleet.subscriptions.iter().map(|s| s.id.clone()).collect();
    let out = tempfile::tempdir().unwrap();
    let mut o = options(&sim, out.path(), Some("policies/config-only.toml"));
    o.discover.subscriptions = vec![ids[0].to_uppercase(), ids[1].clone()];
    o.discover.exclude = vec![ids[1].clone()];
    let outcome = scan_with(&sim, &o).await;
    let subs: Vec<&str> = outcome
        .result
        .inventory
        .subscriptions
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(subs, vec![ids[0].as_str()]);
    assert!(outcome
        .result
        .inventory
        .instances
        .iter()
        .all(|i| i.subscription_id == ids[0]));
}

#[tokio::test]
async fn with_the_default_policy_the_scanning_identity_when_named_is_audited_and_a_reader_cannot_connect(
) {
    let (_fleet, sim) = demo_sim(SimConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    // The scanner's token is an application's: its own access is audited only when named.
    let o = ScanOptions {
        access: scan::AccessOptions {
            principals: vec![scready::inventory::PrincipalRef {
                object_id: SCANNER.into(),
                label: "scanning identity".into(),
                scanner: true,
            }],
            ..Default::default()
        },
        ..options(&sim, out.path(), None)
    };
    let outcome = scan_with(&sim, &o).await;
    assert_eq!(outcome.result.inventory.principals.len(), 1);
    assert!(outcome.result.inventory.principals[0].scanner);
    assert_eq!(outcome.result.inventory.principals[0].object_id, SCANNER);
    let got = instances(out.path());
    // The scanner holds Reader only: it may list everything but connect nowhere.
    for (name, (verdict, blockers, _, _)) in &got {
        assert_eq!(verdict, "blocked", "{name}");
        assert!(blockers.contains("rbac-vm-access"), "{name}: {blockers}");
    }
    let f = outcome
        .result
        .findings
        .iter()
        .find(|f| f.check_id == "rbac-vm-access")
        .unwrap();
    assert!(
        f.message
            .contains("lacks Microsoft.SerialConsole/serialPorts/connect/action"),
        "{}",
        f.message
    );
    assert_eq!(f.principal_id.as_deref(), Some(SCANNER));
}

#[tokio::test]
/// The Azure SDK's own client-secret credential (what `--auth client-secret` uses) signs in at the
/// simulator's token endpoint, and a wrong secret gets the identity platform's error.
async fn azure_identity_client_secret_credential_gets_a_token_the_simulator_accepts() {
    use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
    use azure_core::credentials::{Secret, TokenCredential};
    use azure_core::http::{ClientOptions, Transport};
    use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
    use common::{client, fleet, get, start, SUB_PROD, TENANT};
    use std::sync::Arc;

    let f = fleet("small.toml");
    let sim = start(&f, SimConfig::default()).await;
    let http = client(&sim);
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = sim.base_url();
    let options = ClientSecretCredentialOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http.clone()))),
            cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
            ..Default::default()
        },
    };
    let credential = ClientSecretCredential::new(
        TENANT,
        "c1c1c1c1-0000-4000-8000-000000000001".to_string(),
        Secret::new("scanner-secret"),
        Some(options),
    )
    .unwrap();
    let token = credential
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect("the simulator issues a token");
    let (status, _, body) = get(
        &http,
        &format!(
            "{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01",
            sim.base_url()
        ),
        Some(token.token.secret()),
    ).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sim.stats().token_requests, 1);

    // A wrong secret is refused with the identity platform's error shape.
    let bad = ClientSecretCredential::new(
        TENANT,
        "c1c1c1c1-0000-4000-8000-000000000001".to_string(),
        Secret::new("wrong"),
        Some(ClientSecretCredentialOptions {
            client_options: ClientOptions {
                transport: Some(Transport::new(Arc::new(http.clone()))),
                cloud: Some(Arc::new(CloudConfiguration::Custom({
                    let mut c = CustomConfiguration::default();
                    c.authority_host = sim.base_url();
                    c
                }))),
                ..Default::default()
            },
        }),
    )
    .unwrap();
    let err = bad
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("7000215"), "{err}");
}
