//! The simulator's ARM shapes the scanner is written against: the `statusOnly=true` listing in
//! its two shapes, the plain listing, faults for the join of the two (omitted and rewritten
//! items), 409 `MissingSubscriptionRegistration`, ARM's global read bucket, Compute's throttling
//! policies, and every `Retry-After` form a fault can send.

mod common;

use common::*;
use scready_sim::compute::{ComputePolicy, ComputeThrottle, StatusOnlyShape};
use scready_sim::faults::{FaultFile, FaultKind, FaultRule};
use scready_sim::fleet::{Fleet, StatusSpec, SubscriptionSpec};
use scready_sim::throttle::ThrottleConfig;
use scready_sim::SimConfig;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const API: &str = "api-version=2025-04-01";

/// `small.toml` with model fields the status shape must leave out: tags, a security profile,
/// a password setting, and a boot-diagnostics error status in one instance view.
fn rich_fleet() -> Fleet {
    let mut f = fleet("small.toml");
    let vms = &mut f.subscriptions[0].vms;
    let app01 = vms.iter_mut().find(|v| v.name == "app-01").unwrap();
    app01.tags = BTreeMap::from([
        ("env".to_string(), "prod".to_string()),
        ("owner".to_string(), "web-team".to_string()),
    ]);
    app01.security_type = Some("TrustedLaunch".into());
    app01.secure_boot = Some(true);
    app01.vtpm = Some(true);
    app01.disable_password_authentication = Some(true);
    let db02 = vms.iter_mut().find(|v| v.name == "db-02").unwrap();
    db02.boot_diagnostics_status = Some(StatusSpec {
        code: "ProvisioningState/failed/InternalOperationError".into(),
        level: "Error".into(),
        message: Some("Boot diagnostics could not be configured.".into()),
    });
    db02.tags = BTreeMap::from([("waiver".to_string(), "boot-diagnostics".to_string())]);
    f.validate("test").unwrap();
    f
}

fn vm_list_url(sim: &scready_sim::Simulator, sub: &str, status_only: bool) -> String {
    let status = if status_only { "&statusOnly=true" } else { "" };
    format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?{API}{status}",
        sim.base_url()
    )
}

fn vm_get_url(sim: &scready_sim::Simulator, rg: &str, name: &str, suffix: &str) -> String {
    format!(
        "{}/subscriptions/{SUB_PROD}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}{suffix}?{API}&$expand=instanceView",
        sim.base_url()
    )
}

/// Every item of a listing, following `nextLink`.
async fn all_items(client: &reqwest::Client, first: &str, token: &str) -> Vec<Value> {
    let mut url = Some(first.to_string());
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let (status, _, body) = get(client, &u, Some(token)).await;
        assert_eq!(status, 200, "{u}: {body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        url = page["nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 100, "paging does not end");
    }
    items
}

fn by_name(items: &[Value]) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

async fn scanner_sim(config: SimConfig) -> (Sim, reqwest::Client, String) {
    let sim = start(&rich_fleet(), config).await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    (sim, client, token)
}

#[tokio::test]
async fn status_shape_carries_identity_location_vm_id_and_the_instance_view_only() {
    let (sim, client, token) = scanner_sim(SimConfig::default()).await;
    let items = all_items(&client, &vm_list_url(&sim, SUB_PROD, true), &token).await;
    assert_eq!(items.len(), 7, "every VM, over two pages of five");
    for item in &items {
        assert_eq!(
            keys(item),
            BTreeSet::from(["id", "name", "type", "location", "properties"]),
            "{item}"
        );
        assert_eq!(
            keys(&item["properties"]),
            BTreeSet::from(["vmId", "instanceView"]),
            "{item}"
        );
        assert_eq!(item["type"], "Microsoft.Compute/virtualMachines");
        // The instance view is exactly what `$expand=instanceView` serves for the VM.
        let id = item["id"].as_str().unwrap();
        let rg = id.split('/').nth(4).unwrap();
        let name = item["name"].as_str().unwrap();
        let (status, _, body) = get(&client, &vm_get_url(&sim, rg, name, ""), Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        let full: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            item["properties"]["instanceView"],
            full["properties"]["instanceView"]
        );
        assert_eq!(item["properties"]["vmId"], full["properties"]["vmId"]);
        assert_eq!(item["location"], full["location"]);
    }
    let items = by_name(&items);
    let view = &items["app-03"]["properties"]["instanceView"];
    let codes: Vec<&str> = view["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["ProvisioningState/succeeded", "PowerState/deallocated"]
    );
    // The boot-diagnostics part of the instance view is there (blob URIs, error status).
    assert!(
        items["app-02"]["properties"]["instanceView"]["bootDiagnostics"]["serialConsoleLogBlobUri"]
            .as_str()
            .unwrap()
            .starts_with("https://diagprod01.blob.core.windows.net/")
    );
    assert_eq!(
        items["db-02"]["properties"]["instanceView"]["bootDiagnostics"]["status"]["level"],
        "Error"
    );
    assert!(
        items["app-01"].get("tags").is_none(),
        "no tags in the status shape"
    );

    // In the full shape the same listing carries the model and the instance view.
    sim.set_status_only_shape(StatusOnlyShape::Full);
    let items = by_name(&all_items(&client, &vm_list_url(&sim, SUB_PROD, true), &token).await);
    let app01 = &items["app-01"];
    assert_eq!(app01["tags"]["env"], "prod");
    for field in [
        "provisioningState",
        "storageProfile",
        "osProfile",
        "securityProfile",
        "hardwareProfile",
        "diagnosticsProfile",
        "instanceView",
    ] {
        assert!(
            app01["properties"].get(field).is_some(),
            "full shape lacks {field}"
        );
    }
    assert!(items["web-01"]["properties"]["virtualMachineScaleSet"]["id"].is_string());
}

#[tokio::test]
async fn plain_listing_carries_the_model_without_the_instance_view() {
    let (sim, client, token) = scanner_sim(SimConfig::default()).await;
    let items = by_name(&all_items(&client, &vm_list_url(&sim, SUB_PROD, false), &token).await);
    assert_eq!(items.len(), 7);
    for (name, item) in &items {
        assert!(
            item["properties"].get("instanceView").is_none(),
            "{name}: a plain listing has no instance view"
        );
        assert!(item["properties"]["storageProfile"]["osDisk"]["osType"].is_string());
        assert!(item["properties"]["provisioningState"].is_string());
    }
    assert_eq!(items["app-01"]["tags"]["owner"], "web-team");
    assert_eq!(
        items["app-01"]["properties"]["securityProfile"]["securityType"],
        "TrustedLaunch"
    );
    assert_eq!(
        items["db-01"]["properties"]["diagnosticsProfile"]["bootDiagnostics"]["enabled"],
        false
    );
    assert!(items["app-03"]["properties"]
        .get("diagnosticsProfile")
        .is_none());
    // A GET with $expand=instanceView carries both.
    let (_, _, body) = get(
        &client,
        &vm_get_url(&sim, "rg-app", "app-01", ""),
        Some(&token),
    )
    .await;
    let vm: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(vm["tags"]["env"], "prod");
    assert!(vm["properties"]["instanceView"]["statuses"].is_array());
    // Both listings page with nextLink the same way.
    let (_, _, body) = get(&client, &vm_list_url(&sim, SUB_PROD, false), Some(&token)).await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let next = page["nextLink"].as_str().unwrap();
    assert!(
        next.ends_with("$skiptoken=5") && !next.contains("statusOnly"),
        "{next}"
    );
}

fn example(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("arm/{rel}"))).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["responses"]["200"]["body"].clone()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every field of `sim` exists in one of `examples` with the same JSON type (an example's
/// `null` accepts any type), recursively; `tags` hold user keys and are not compared inside.
fn conforms(sim: &Value, examples: &[&Value], path: &str, problems: &mut Vec<String>) {
    match sim {
        Value::Object(fields) => {
            for (key, value) in fields {
                let at = format!("{path}.{key}");
                let found: Vec<&Value> = examples.iter().filter_map(|e| e.get(key)).collect();
                if found.is_empty() {
                    problems.push(format!("{at}: in no official example"));
                    continue;
                }
                let typed: Vec<&Value> = found.iter().copied().filter(|e| !e.is_null()).collect();
                if typed.is_empty() || key == "tags" {
                    continue;
                }
                if !typed.iter().any(|e| json_type(e) == json_type(value)) {
                    problems.push(format!(
                        "{at}: {} here, {} in the examples",
                        json_type(value),
                        json_type(typed[0])
                    ));
                    continue;
                }
                conforms(value, &typed, &at, problems);
            }
        }
        Value::Array(items) => {
            let elements: Vec<&Value> = examples
                .iter()
                .filter_map(|e| e.as_array())
                .flatten()
                .collect();
            if elements.is_empty() {
                return;
            }
            for item in items {
                conforms(item, &elements, &format!("{path}[]"), problems);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn served_vms_use_the_field_names_and_types_of_the_official_examples() {
    // VirtualMachines_Get and _ListAll examples (azure-rest-api-specs, Compute 2025-04-01; see
    // tests/fixtures/arm/SOURCES.md) give the model; VirtualMachines_InstanceView gives what
    // `properties.instanceView` holds. `bootDiagnostics.status` is in the spec's
    // BootDiagnosticsInstanceView ("set only if there are errors encountered in enabling boot
    // diagnostics") but in no example, so it is added here as an InstanceViewStatus.
    let get_example = example("compute-vm/VirtualMachine_Get.json");
    let list_all = example("compute-vm/VirtualMachine_ListAll_MaximumSet_Gen.json");
    let mut view = example("compute-vm/VirtualMachine_Get_InstanceView.json");
    let status = view["vmAgent"]["statuses"][0].clone();
    view["bootDiagnostics"]["status"] = status;
    let mut with_view = get_example.clone();
    with_view["properties"]["instanceView"] = view;
    let mut examples: Vec<&Value> = list_all["value"].as_array().unwrap().iter().collect();
    examples.push(&get_example);
    examples.push(&with_view);

    let (sim, client, token) = scanner_sim(SimConfig::default()).await;
    let mut problems = Vec::new();
    let mut checked = 0;
    for (status_only, shape) in [
        (false, StatusOnlyShape::Status),
        (true, StatusOnlyShape::Status),
        (true, StatusOnlyShape::Full),
    ] {
        sim.set_status_only_shape(shape);
        for item in all_items(&client, &vm_list_url(&sim, SUB_PROD, status_only), &token).await {
            let label = format!("statusOnly={status_only} {shape} {}", item["name"]);
            conforms(&item, &examples, &label, &mut problems);
            checked += 1;
        }
    }
    let (_, _, body) = get_vm(&sim, &client, &token).await;
    conforms(
        &serde_json::from_str(&body).unwrap(),
        &examples,
        "GET app-01",
        &mut problems,
    );
    assert_eq!(checked, 21);
    assert!(problems.is_empty(), "{problems:#?}");
}

async fn get_vm(
    sim: &scready_sim::Simulator,
    client: &reqwest::Client,
    token: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    get(
        client,
        &vm_get_url(sim, "rg-app", "app-01", ""),
        Some(token),
    )
    .await
}

fn names(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn omit_item_drops_a_vm_from_the_listing_its_filter_names_only() {
    // "Deleted between the two listings": gone from the status listing only.
    let rules = FaultFile::parse(
        "[[faults]]\nkind = \"omit-item\"\nname = \"app-02\"\npath = \"statusOnly=true\"\n",
        "faults.toml",
    )
    .unwrap();
    let (sim, client, token) = scanner_sim(SimConfig {
        faults: rules,
        ..Default::default()
    })
    .await;
    let status = names(&all_items(&client, &vm_list_url(&sim, SUB_PROD, true), &token).await);
    let plain = names(&all_items(&client, &vm_list_url(&sim, SUB_PROD, false), &token).await);
    assert!(!status.contains("app-02"), "{status:?}");
    assert_eq!(status.len(), 6);
    assert!(plain.contains("app-02"));
    assert_eq!(plain.len(), 7);
    assert_eq!(sim.requests()[0].fault.as_deref(), Some("omit-item"));

    // "Created between the two listings": gone from the plain listing only, still GET-able.
    sim.clear_faults();
    sim.add_fault(
        FaultRule::always(FaultKind::OmitItem {
            name: "DB-01".into(),
        })
        .on_path("virtualMachines?api-version")
        .not_on_path("statusOnly"),
    )
    .unwrap();
    let status = names(&all_items(&client, &vm_list_url(&sim, SUB_PROD, true), &token).await);
    let plain = names(&all_items(&client, &vm_list_url(&sim, SUB_PROD, false), &token).await);
    assert!(status.contains("db-01"));
    assert!(
        !plain.contains("db-01"),
        "matched case-insensitively: {plain:?}"
    );
    let (status, _, body) = get(
        &client,
        &vm_get_url(&sim, "rg-db", "db-01", ""),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("PowerState/running"));

    // An omit-item rule combines with another rule on the same page.
    sim.add_fault(
        FaultRule::always(FaultKind::Rewrite {
            from: "rg-app".into(),
            to: "rg-APP".into(),
        })
        .on_path("virtualMachines?api-version")
        .not_on_path("statusOnly"),
    )
    .unwrap();
    let plain = all_items(&client, &vm_list_url(&sim, SUB_PROD, false), &token).await;
    assert!(!names(&plain).contains("db-01"));
    assert!(plain
        .iter()
        .any(|v| v["id"].as_str().unwrap().contains("rg-APP")));
}

#[tokio::test]
async fn rewrite_under_a_query_filter_changes_the_status_listing_only() {
    // "Changed between the two listings": the status listing reports another power state.
    let (sim, client, token) = scanner_sim(SimConfig {
        faults: vec![FaultRule::always(FaultKind::Rewrite {
            from: "PowerState/deallocated".into(),
            to: "PowerState/running".into(),
        })
        .on_path("statusOnly=true")],
        ..Default::default()
    })
    .await;
    let status = by_name(&all_items(&client, &vm_list_url(&sim, SUB_PROD, true), &token).await);
    assert!(status["app-03"].to_string().contains("PowerState/running"));
    let (_, _, body) = get(
        &client,
        &vm_get_url(&sim, "rg-app", "app-03", ""),
        Some(&token),
    )
    .await;
    assert!(body.contains("PowerState/deallocated"), "{body}");
    // The filter sees the query as sent, percent-encoded or not.
    sim.clear_faults();
    sim.add_fault(FaultRule::always(FaultKind::Forbidden).on_path("$expand=instanceView"))
        .unwrap();
    let encoded = vm_get_url(&sim, "rg-app", "app-03", "").replace("$expand", "%24expand");
    assert_eq!(get(&client, &encoded, Some(&token)).await.0, 403);
    assert_eq!(
        get(&client, &vm_list_url(&sim, SUB_PROD, true), Some(&token))
            .await
            .0,
        200
    );
}

const SUB_NETWORK_ONLY: &str = "22222222-0000-4000-8000-000000000003";
const SUB_NO_COMPUTE: &str = "22222222-0000-4000-8000-000000000004";

/// `small.toml` plus a networking-only subscription (nothing registered but the basics) and one
/// with storage but without Microsoft.Compute.
fn unregistered_fleet() -> Fleet {
    let mut f = fleet("small.toml");
    f.subscriptions.push(SubscriptionSpec {
        id: SUB_NETWORK_ONLY.into(),
        display_name: "Networking".into(),
        state: "Enabled".into(),
        unregistered: vec![
            "Microsoft.Compute".into(),
            "Microsoft.Storage".into(),
            "Microsoft.SerialConsole".into(),
        ],
        ..Default::default()
    });
    let mut data = SubscriptionSpec {
        id: SUB_NO_COMPUTE.into(),
        display_name: "Data".into(),
        state: "Enabled".into(),
        unregistered: vec!["Microsoft.Compute".into()],
        ..Default::default()
    };
    data.storage_accounts = f.subscriptions[0].storage_accounts[..1].to_vec();
    data.storage_accounts[0].name = "datalake01".into();
    f.subscriptions.push(data);
    f.validate("test").unwrap();
    f
}

#[tokio::test]
async fn unregistered_namespaces_answer_409_missing_subscription_registration() {
    let f = unregistered_fleet();
    let mut sim = start(&f, SimConfig::default()).await;
    sim.expect_run_commands(1);
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    let base = sim.base_url();
    let per_namespace = [
        (
            "Microsoft.Compute",
            vec![
                format!("/providers/Microsoft.Compute/virtualMachines?{API}"),
                format!("/providers/Microsoft.Compute/virtualMachines?{API}&statusOnly=true"),
                format!("/providers/Microsoft.Compute/virtualMachineScaleSets?{API}"),
                format!("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1?{API}&$expand=instanceView"),
                format!("/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines?{API}&$expand=instanceView"),
            ],
        ),
        (
            "Microsoft.Storage",
            vec![
                format!("/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01"),
                format!("/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01"),
            ],
        ),
        (
            "Microsoft.SerialConsole",
            vec![format!(
                "/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2024-07-01"
            )],
        ),
    ];
    for (namespace, paths) in &per_namespace {
        for path in paths {
            let url = format!("{base}/subscriptions/{SUB_NETWORK_ONLY}{path}");
            let (status, _, body) = get(&client, &url, Some(&token)).await;
            assert_eq!(status, 409, "{url}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            let message = format!("The subscription is not registered to use namespace '{namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions.");
            assert_eq!(
                v,
                serde_json::json!({"error": {
                    "code": "MissingSubscriptionRegistration",
                    "message": message,
                    "details": [{
                        "code": "MissingSubscriptionRegistration",
                        "target": namespace,
                        "message": message,
                    }],
                }}),
                "{url}"
            );
        }
    }
    // A namespace the subscription did register is served as usual.
    let url = format!("{base}/subscriptions/{SUB_NO_COMPUTE}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01");
    let (status, _, body) = get(&client, &url, Some(&token)).await;
    assert_eq!(status, 200);
    assert!(body.contains("datalake01"));
    let url = format!("{base}/subscriptions/{SUB_NO_COMPUTE}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2024-07-01");
    assert_eq!(get(&client, &url, Some(&token)).await.0, 200);
    let url = vm_list_url(&sim, SUB_NO_COMPUTE, true);
    assert_eq!(get(&client, &url, Some(&token)).await.0, 409);
    // So is the subscription itself, and its resource groups.
    let url = format!("{base}/subscriptions/{SUB_NETWORK_ONLY}?api-version=2022-12-01");
    assert_eq!(get(&client, &url, Some(&token)).await.0, 200);
    let url =
        format!("{base}/subscriptions/{SUB_NETWORK_ONLY}/resourcegroups?api-version=2022-12-01");
    assert_eq!(get(&client, &url, Some(&token)).await.0, 200);
    // Run Command is a Compute request too.
    let resp = client
        .post(format!("{base}/subscriptions/{SUB_NETWORK_ONLY}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1/runCommand?{API}"))
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    // A caller without access gets 403, not the registration state.
    let outsider = sim.issue_token(OUTSIDER).unwrap();
    let (status, _, _) = get(
        &client,
        &vm_list_url(&sim, SUB_NETWORK_ONLY, true),
        Some(&outsider),
    )
    .await;
    assert_eq!(status, 403);
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn global_reads_are_shared_by_every_principal_of_a_subscription() {
    let sim = start(
        &fleet("small.toml"),
        SimConfig {
            throttle: ThrottleConfig {
                burst: 3,
                refill_per_sec: 0,
                tenant_burst: 5,
                tenant_refill_per_sec: 0,
                global_multiplier: 1,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let scanner = sim.issue_token(SCANNER).unwrap();
    let outsider = sim.issue_token(OUTSIDER).unwrap();
    let url = vm_list_url(&sim, SUB_DEV, true);
    let mut seen = Vec::new();
    for token in [&scanner, &scanner, &outsider] {
        let (status, headers, _) = get(&client, &url, Some(token)).await;
        assert_eq!(status, 200);
        seen.push((
            header(&headers, "x-ms-ratelimit-remaining-subscription-reads")
                .unwrap()
                .to_string(),
            header(
                &headers,
                "x-ms-ratelimit-remaining-subscription-global-reads",
            )
            .unwrap()
            .to_string(),
        ));
    }
    assert_eq!(
        seen,
        [("2", "2"), ("1", "1"), ("2", "0")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The outsider still has tokens of its own, but the subscription's global bucket is empty.
    let (status, headers, body) = get(&client, &url, Some(&outsider)).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("SubscriptionRequestsThrottled"), "{body}");
    assert_eq!(
        header(&headers, "x-ms-ratelimit-remaining-subscription-reads"),
        Some("2")
    );
    assert_eq!(
        header(
            &headers,
            "x-ms-ratelimit-remaining-subscription-global-reads"
        ),
        Some("0")
    );
    assert!(header(&headers, "retry-after").is_some());
    // Another subscription has its own global bucket; tenant reads have the tenant header only.
    let (status, headers, _) =
        get(&client, &vm_list_url(&sim, SUB_PROD, true), Some(&scanner)).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(
            &headers,
            "x-ms-ratelimit-remaining-subscription-global-reads"
        ),
        Some("2")
    );
    let url = format!("{}/subscriptions?api-version=2022-12-01", sim.base_url());
    let (_, headers, _) = get(&client, &url, Some(&scanner)).await;
    assert_eq!(
        header(&headers, "x-ms-ratelimit-remaining-tenant-reads"),
        Some("4")
    );
    assert!(header(
        &headers,
        "x-ms-ratelimit-remaining-subscription-global-reads"
    )
    .is_none());
    assert!(sim.stats().throttled >= 1);
}

#[tokio::test]
async fn compute_policies_count_down_reject_the_301st_call_and_recover_after_the_window() {
    let policies = ComputeThrottle {
        policies: vec![
            ComputePolicy::new(
                "Microsoft.Compute/HighCostGet3Sec",
                300,
                Duration::from_secs(3),
            ),
            ComputePolicy::new(
                "Microsoft.Compute/HighCostGet1Hour",
                1000,
                Duration::from_secs(3600),
            ),
        ],
    };
    let sim = start(
        &fleet("small.toml"),
        SimConfig {
            throttle: ThrottleConfig {
                enabled: false,
                ..Default::default()
            },
            compute_throttle: Some(policies),
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    let remaining = |h: &reqwest::header::HeaderMap| {
        header(h, "x-ms-ratelimit-remaining-resource").map(str::to_string)
    };
    // The 300 calls must land in one 3-second window; a very slow attempt is retried on the other
    // subscription, whose windows are its own.
    let mut proved = false;
    for sub in [SUB_PROD, SUB_DEV] {
        let list = vm_list_url(&sim, sub, true);
        let t0 = Instant::now();
        let (status, headers, _) = get(&client, &list, Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            remaining(&headers).as_deref(),
            Some("Microsoft.Compute/HighCostGet3Sec;299,Microsoft.Compute/HighCostGet1Hour;999")
        );
        assert_eq!(header(&headers, "x-ms-request-charge"), Some("1"));
        let plain = vm_list_url(&sim, sub, false);
        let (_, headers, _) = get(&client, &plain, Some(&token)).await;
        assert_eq!(
            remaining(&headers).as_deref(),
            Some("Microsoft.Compute/HighCostGet3Sec;298,Microsoft.Compute/HighCostGet1Hour;998"),
            "the plain listing counts against the same policies"
        );
        let statuses = burst(&client, &list, &token, 298).await;
        let (status, headers, body) = get(&client, &list, Some(&token)).await;
        if t0.elapsed() >= Duration::from_millis(2500) {
            continue;
        }
        assert!(statuses.iter().all(|&s| s == 200), "300 calls are served");
        assert_eq!(
            status, 429,
            "the 301st call in the window is rejected: {body}"
        );
        assert_eq!(
            remaining(&headers).as_deref(),
            Some("Microsoft.Compute/HighCostGet3Sec;0,Microsoft.Compute/HighCostGet1Hour;700")
        );
        assert!(
            header(&headers, "x-ms-request-charge").is_none(),
            "a rejected call is not charged"
        );
        let retry_after: u64 = header(&headers, "retry-after").unwrap().parse().unwrap();
        assert!((1..=3).contains(&retry_after), "retry-after {retry_after}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "OperationNotAllowed");
        assert_eq!(
            v["error"]["message"],
            "The server rejected the request because too many requests have been received for this subscription."
        );
        let detail = &v["error"]["details"][0];
        assert_eq!(detail["code"], "TooManyRequests");
        assert_eq!(detail["target"], "HighCostGet3Sec");
        let inner: Value = serde_json::from_str(detail["message"].as_str().unwrap()).unwrap();
        assert_eq!(inner["operationGroup"], "HighCostGet3Sec");
        assert_eq!(inner["allowedRequestCount"], 300);
        assert_eq!(inner["measuredRequestCount"], 301);
        assert!(inner["startTime"].as_str().unwrap() < inner["endTime"].as_str().unwrap());
        let stats = sim.stats();
        assert_eq!(
            stats.compute_throttled["Microsoft.Compute/HighCostGet3Sec"],
            1
        );
        assert!(stats.throttled >= 1);
        // Not a Compute call: no Compute headers, and served.
        let url = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01",
            sim.base_url()
        );
        let (status, headers, _) = get(&client, &url, Some(&token)).await;
        assert_eq!(status, 200);
        assert!(remaining(&headers).is_none());
        // After the window the next call opens a new one.
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        let (status, headers, _) = get(&client, &list, Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            remaining(&headers).as_deref(),
            Some("Microsoft.Compute/HighCostGet3Sec;299,Microsoft.Compute/HighCostGet1Hour;699"),
            "the rejected call did not count"
        );
        proved = true;
        break;
    }
    assert!(
        proved,
        "could not send 301 requests within 2.5 s on this machine"
    );

    // VM GETs and scale-set VM listings count too; the scale-set listing does not.
    let base = format!(
        "{}/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Compute",
        sim.base_url()
    );
    for (url, counted) in [
        (format!("{base}/virtualMachines/web-01?{API}&$expand=instanceView"), true),
        (format!("{base}/virtualMachineScaleSets/api-uniform/virtualMachines?{API}&$expand=instanceView"), true),
        (format!("{base}/virtualMachineScaleSets/api-uniform/virtualMachines/1?{API}"), true),
        (format!("{base}/virtualMachineScaleSets?{API}"), false),
    ] {
        let (status, headers, _) = get(&client, &url, Some(&token)).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(remaining(&headers).is_some(), counted, "{url}");
    }
}

#[tokio::test]
async fn every_retry_after_form_is_sent_as_specified() {
    let (sim, client, token) = scanner_sim(SimConfig::default()).await;
    let url = vm_list_url(&sim, SUB_PROD, true);
    let fire = |rule: FaultRule| {
        sim.clear_faults();
        sim.add_fault(rule.times(1)).unwrap();
    };
    let throttle = |secs: Option<u64>| FaultRule::always(FaultKind::Throttle { retry_after: secs });

    fire(throttle(Some(7)));
    let (status, headers, _) = get(&client, &url, Some(&token)).await;
    assert_eq!(status, 429);
    assert_eq!(header(&headers, "retry-after"), Some("7"));

    fire(throttle(None).retry_after_date(30));
    let (status, headers, _) = get(&client, &url, Some(&token)).await;
    assert_eq!(status, 429);
    let date = header(&headers, "retry-after").unwrap();
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let when = time::PrimitiveDateTime::parse(date, &fmt)
        .unwrap_or_else(|e| panic!("{date:?} is not an IMF-fixdate: {e}"))
        .assume_utc();
    let ahead = when.unix_timestamp() - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((25..=31).contains(&ahead), "{date} is {ahead} s ahead");

    for raw in ["-5", "86400000", "soon, maybe"] {
        fire(throttle(None).retry_after_raw(raw));
        let (status, headers, _) = get(&client, &url, Some(&token)).await;
        assert_eq!(status, 429);
        assert_eq!(header(&headers, "retry-after"), Some(raw));
    }

    fire(throttle(Some(2)).retry_after_ms(1500));
    let (_, headers, _) = get(&client, &url, Some(&token)).await;
    assert_eq!(header(&headers, "retry-after-ms"), Some("1500"));
    assert_eq!(header(&headers, "x-ms-retry-after-ms"), Some("1500"));
    assert_eq!(header(&headers, "retry-after"), Some("2"));

    // A status fault takes the same forms; the file form spells them out.
    let rules = FaultFile::parse(
        "[[faults]]\nkind = \"status\"\nstatus = 503\nretry_after_date_secs = 60\nretry_after_ms = 250\ntimes = 1\n",
        "faults.toml",
    )
    .unwrap();
    sim.clear_faults();
    sim.add_fault(rules[0].clone()).unwrap();
    let (status, headers, _) = get(&client, &url, Some(&token)).await;
    assert_eq!(status, 503);
    assert!(header(&headers, "retry-after").unwrap().ends_with(" GMT"));
    assert_eq!(header(&headers, "retry-after-ms"), Some("250"));

    // Two Retry-After forms at once, or a form on a kind that sends no Retry-After, are refused.
    for bad in [
        "[[faults]]\nkind = \"throttle\"\nretry_after = 1\nretry_after_raw = \"x\"\n",
        "[[faults]]\nkind = \"reset\"\nretry_after_ms = 5\n",
        "[[faults]]\nkind = \"throttle\"\nretry_after_raw = \"bad\\nvalue\"\n",
        "[[faults]]\nkind = \"omit-item\"\n",
    ] {
        assert!(FaultFile::parse(bad, "f.toml").is_err(), "{bad}");
    }
    // Backwards compatible: a rule written before these fields parses as before.
    let old = FaultFile::parse(
        "[[faults]]\nkind = \"throttle\"\nretry_after = 3\npath = \"virtualMachines\"\n",
        "f.toml",
    )
    .unwrap();
    assert_eq!(
        old[0],
        FaultRule::always(FaultKind::Throttle {
            retry_after: Some(3)
        })
        .on_path("virtualMachines")
    );
}

/// One GET's JSON body (status 200 asserted).
async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let (status, _, body) = get(client, url, Some(token)).await;
    assert_eq!(status, 200, "{url}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The items of one list response's `value`.
fn items_of(page: &Value) -> Vec<Value> {
    page["value"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn every_served_object_uses_the_field_names_and_types_of_the_official_examples() {
    // The official examples of each operation the simulator serves (azure-rest-api-specs, see
    // tests/fixtures/arm/SOURCES.md), and the recorded Azure traffic where it says more: every
    // field the simulator writes must occur there with the same JSON type. (Management locks and
    // deny assignments have no example in the fixtures; their shape follows the specs'
    // definitions, see sim/src/wire.rs.)
    let (sim, client, token) = scanner_sim(SimConfig {
        page_size: Some(100),
        ..SimConfig::default()
    })
    .await;
    let base = sim.base_url();
    let mut problems = Vec::new();
    let mut check = |served: &[Value], examples: &[&Value], what: &str| {
        assert!(!served.is_empty(), "{what}: nothing served");
        for (n, item) in served.iter().enumerate() {
            conforms(item, examples, &format!("{what}[{n}]"), &mut problems);
        }
    };
    let list_examples = |body: &Value| -> Vec<Value> { items_of(body) };

    // Subscriptions (Subscriptions_List, 2022-12-01).
    let subs = example("subscriptions/GetSubscriptions.json");
    let served = items_of(
        &get_json(
            &client,
            &format!("{base}/subscriptions?api-version=2022-12-01"),
            &token,
        )
        .await,
    );
    let e = list_examples(&subs);
    check(&served, &e.iter().collect::<Vec<_>>(), "subscriptions");
    let one = get_json(
        &client,
        &format!("{base}/subscriptions/{SUB_PROD}?api-version=2022-12-01"),
        &token,
    )
    .await;
    check(&[one], &e.iter().collect::<Vec<_>>(), "subscription");

    // Storage accounts (StorageAccounts_List and _GetProperties; the recorded listing).
    let list = example("storage/StorageAccountList.json");
    let props = example("storage/StorageAccountGetProperties.json");
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(
            "arm/recordings/real_StorageAccounts_List_2021-04-01.SUBSET.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let mut e = list_examples(&list);
    e.push(props);
    e.extend(items_of(&recorded));
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01"), &token).await);
    check(&served, &e.iter().collect::<Vec<_>>(), "storageAccounts");

    // Scale sets (VirtualMachineScaleSets_ListAll, 2025-04-01).
    let e = list_examples(&example(
        "compute-vmss/VirtualMachineScaleSet_ListAll_MaximumSet_Gen.json",
    ));
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2025-04-01"), &token).await);
    check(
        &served,
        &e.iter().collect::<Vec<_>>(),
        "virtualMachineScaleSets",
    );

    // Uniform instances with their instance view (VirtualMachineScaleSetVMs_List and
    // _GetInstanceView); `bootDiagnostics.status` as for VMs: in the spec, in no example.
    let mut e = list_examples(&example(
        "compute-vmss/VirtualMachineScaleSetVM_List_MaximumSet_Gen.json",
    ));
    let mut view = example(
        "compute-vmss/VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json",
    );
    let status = view["statuses"][0].clone();
    view["bootDiagnostics"]["status"] = status;
    let mut with_view = e[0].clone();
    with_view["properties"]["instanceView"] = view;
    e.push(with_view);
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/api-uniform/virtualMachines?api-version=2025-04-01&$expand=instanceView"), &token).await);
    check(
        &served,
        &e.iter().collect::<Vec<_>>(),
        "virtualMachineScaleSets/virtualMachines",
    );

    // The console switch (SerialConsole GetConsoleStatus, 2024-07-01; the recorded GETs).
    let status = example("serialconsole/SerialConsoleStatus.json");
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(
            "arm/recordings/decoded/07_GET_consoleServices_default_disabled-true.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let served = get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2024-07-01"), &token).await;
    check(&[served], &[&status, &recorded], "consoleServices/default");

    // Role assignments, role definitions and permissions (Authorization, 2022-04-01).
    let e = list_examples(&example("authorization/RoleAssignments_ListForScope.json"));
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"), &token).await);
    check(&served, &e.iter().collect::<Vec<_>>(), "roleAssignments");
    let definition = example("authorization/GetRoleDefinitionByName.json");
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01"), &token).await);
    check(&served, &[&definition], "roleDefinitions");
    // An entry of the permissions API is the spec's `Permission`, as the permission blocks of a
    // role definition are: GetRoleDefinitionByName shows its data actions.
    let mut e = list_examples(&example("authorization/GetResourcePermissions.json"));
    e.extend(
        definition["properties"]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    let served = items_of(&get_json(&client, &format!("{base}/subscriptions/{SUB_PROD}/resourceGroups/rg-app/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"), &token).await);
    check(&served, &e.iter().collect::<Vec<_>>(), "permissions");

    assert!(problems.is_empty(), "{problems:#?}");
}
