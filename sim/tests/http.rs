//! The simulator over real HTTPS: paging, error bodies, throttling, faults, read-only guard and
//! the token endpoint, exercised with clients that trust only the simulator's generated CA.

mod common;

use common::*;
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::fleet::VmSpec;
use scready_sim::throttle::ThrottleConfig;
use scready_sim::SimConfig;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn vms_url(sim: &scready_sim::Simulator, sub: &str) -> String {
    format!(
        "{}/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01&statusOnly=true",
        sim.base_url()
    )
}

/// A list page as ARM documents it: an array of objects in `value`, and `nextLink` on every
/// page but the last.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    value: Vec<Map<String, Value>>,
    next_link: Option<String>,
}

/// The `code` of an ARM error envelope (`{"error": {"code", "message"}}`).
fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("not an ARM error body ({e}): {body}"));
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an ARM error body: {body}"))
        .to_string()
}

/// Follows `nextLink` and returns the item names and the number of pages.
async fn collect_names(client: &reqwest::Client, first: &str, token: &str) -> (Vec<String>, usize) {
    let mut url = Some(first.to_string());
    let mut names = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let (status, _, body) = get(client, &u, Some(token)).await;
        assert_eq!(status, 200, "{body}");
        let page: Page = serde_json::from_str(&body).unwrap();
        names.extend(
            page.value
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string()),
        );
        pages += 1;
        assert!(pages < 1000, "paging does not end");
        url = page.next_link;
    }
    (names, pages)
}

#[tokio::test]
async fn paging_returns_every_item_exactly_once() {
    let mut f = fleet("small.toml");
    let template = f.subscriptions[0].vms[0].clone();
    for i in 0..37 {
        f.subscriptions[0].vms.push(VmSpec {
            name: format!("bulk-{i:03}"),
            ..template.clone()
        });
    }
    f.validate("test").unwrap();
    let sim = start(
        &f,
        SimConfig {
            page_size: Some(4),
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();

    let expected: Vec<String> = f.subscriptions[0]
        .vms
        .iter()
        .map(|v| v.name.clone())
        .collect();
    let (names, pages) = collect_names(&client, &vms_url(&sim, SUB_PROD), &token).await;
    assert_eq!(names.len(), expected.len(), "no item twice");
    assert_eq!(
        names.iter().cloned().collect::<HashSet<_>>(),
        expected.iter().cloned().collect::<HashSet<_>>()
    );
    assert_eq!(pages, expected.len().div_ceil(4));

    // Uniform instances page too, and carry their instance views.
    let url = format!(
        "{}/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/api-uniform/virtualMachines?api-version=2025-04-01&$expand=instanceView",
        sim.base_url()
    );
    let (names, pages) = collect_names(&client, &url, &token).await;
    assert_eq!(
        names,
        vec!["api-uniform_0", "api-uniform_1", "api-uniform_2"]
    );
    assert_eq!(pages, 1);

    // The nextLink keeps the caller's parameters and adds a literal $skiptoken.
    let (_, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    let page: Page = serde_json::from_str(&body).unwrap();
    let next = page.next_link.unwrap();
    assert!(next.starts_with(&sim.base_url()), "{next}");
    assert!(
        next.contains("statusOnly=true") && next.ends_with("$skiptoken=4"),
        "{next}"
    );
}

#[tokio::test]
async fn error_bodies_match_arm() {
    let f = fleet("small.toml");
    let sim = start(&f, SimConfig::default()).await;
    let client = client(&sim);
    let scanner = sim.issue_token(SCANNER).unwrap();
    let outsider = sim.issue_token(OUTSIDER).unwrap();

    let (status, headers, body) = get(&client, &vms_url(&sim, SUB_PROD), None).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "AuthenticationFailed");
    assert!(headers.get("www-authenticate").is_some());

    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some("not.a.token")).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "InvalidAuthenticationToken");

    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&outsider)).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "AuthorizationFailed");
    assert!(body.contains(OUTSIDER), "{body}");
    // …while the subscription it can read is served.
    let (status, _, _) = get(&client, &vms_url(&sim, SUB_DEV), Some(&outsider)).await;
    assert_eq!(status, 200);

    let url = format!(
        "{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines",
        sim.base_url()
    );
    let (status, _, body) = get(&client, &url, Some(&scanner)).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "MissingApiVersionParameter");

    let missing = "99999999-0000-4000-8000-000000000009";
    let (status, _, body) = get(&client, &vms_url(&sim, missing), Some(&scanner)).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SubscriptionNotFound");

    // The Serial Console RP answers an unknown subscription with a bare body, no envelope.
    let url = format!(
        "{}/subscriptions/{missing}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2024-07-01",
        sim.base_url()
    );
    let (status, _, body) = get(&client, &url, Some(&scanner)).await;
    assert_eq!(status, 404);
    let bare: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bare["code"], "SubscriptionNotFound");
    assert!(serde_json::from_str::<serde_json::Value>(&body)
        .unwrap()
        .get("error")
        .is_none());
}

#[tokio::test]
async fn listings_show_only_what_the_caller_may_read() {
    let f = fleet("small.toml");
    let sim = start(
        &f,
        SimConfig {
            page_size: Some(50),
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let rg_reader = sim.issue_token(RG_READER).unwrap();
    let (names, _) = collect_names(&client, &vms_url(&sim, SUB_PROD), &rg_reader).await;
    assert_eq!(names, vec!["app-01", "app-02", "app-03"]);
    // The subscription list holds only subscriptions with an assignment for the caller.
    let outsider = sim.issue_token(OUTSIDER).unwrap();
    let url = format!("{}/subscriptions?api-version=2022-12-01", sim.base_url());
    let (_, _, body) = get(&client, &url, Some(&outsider)).await;
    let page: Page = serde_json::from_str(&body).unwrap();
    let ids: Vec<_> = page
        .value
        .iter()
        .map(|s| s["subscriptionId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![SUB_DEV.to_string()]);
}

#[tokio::test]
async fn throttle_admits_250_then_429_with_retry_after_then_recovers() {
    let f = fleet("small.toml");
    let sim = start(&f, SimConfig::default()).await;
    assert_eq!(sim.stats().throttled, 0);
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    // Each attempt uses a subscription/URL whose bucket is still full; the check needs the 251
    // requests to land within one refill second, so a very slow attempt is retried on a fresh
    // bucket (the other subscription).
    let mut proved = false;
    for sub in [SUB_PROD, SUB_DEV] {
        let url = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.SerialConsole/consoleServices/default?api-version=2024-07-01",
            sim.base_url()
        );
        let t0 = Instant::now();
        let statuses = burst(&client, &url, &token, 250).await;
        let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
        let elapsed = t0.elapsed();
        if elapsed >= Duration::from_millis(950) {
            continue;
        }
        assert!(
            statuses.iter().all(|&s| s == 200),
            "the burst of 250 is served"
        );
        assert_eq!(
            resp.status().as_u16(),
            429,
            "the 251st request is throttled"
        );
        let retry_after: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1).contains(&retry_after), "retry-after {retry_after}");
        assert_eq!(
            resp.headers()["x-ms-ratelimit-remaining-subscription-reads"],
            "0"
        );
        let body = resp.text().await.unwrap();
        assert_eq!(error_code(&body), "SubscriptionRequestsThrottled");
        tokio::time::sleep(Duration::from_secs(retry_after)).await;
        let resp = client.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(
            resp.status().as_u16(),
            200,
            "served again after Retry-After"
        );
        let remaining: u32 = resp.headers()["x-ms-ratelimit-remaining-subscription-reads"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            remaining >= 24,
            "25 tokens were refilled, one used: {remaining}"
        );
        assert!(sim.stats().throttled >= 1);
        proved = true;
        break;
    }
    assert!(
        proved,
        "could not send 251 requests within one second on this machine"
    );
}

#[tokio::test]
async fn remaining_reads_header_counts_down() {
    let f = fleet("small.toml");
    let sim = start(
        &f,
        SimConfig {
            throttle: ThrottleConfig {
                burst: 5,
                refill_per_sec: 1,
                tenant_burst: 5,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, headers, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
        seen.push(
            headers["x-ms-ratelimit-remaining-subscription-reads"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen, vec!["4", "3", "2"]);
    // Tenant-level reads have their own bucket and header.
    let (_, headers, _) = get(
        &client,
        &format!("{}/subscriptions?api-version=2022-12-01", sim.base_url()),
        Some(&token),
    )
    .await;
    assert_eq!(headers["x-ms-ratelimit-remaining-tenant-reads"], "4");
}

async fn sim_with(rule: FaultRule) -> (Sim, reqwest::Client, String) {
    let f = fleet("small.toml");
    let sim = start(
        &f,
        SimConfig {
            faults: vec![rule],
            ..Default::default()
        },
    )
    .await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    (sim, client, token)
}

#[tokio::test]
async fn fault_status_codes_at_exact_request_numbers() {
    let (sim, client, token) = sim_with(
        FaultRule::always(FaultKind::Status {
            status: 503,
            retry_after: Some(2),
        })
        .at_requests(&[2, 4]),
    )
    .await;
    let mut statuses = Vec::new();
    let mut retry_afters = Vec::new();
    for _ in 0..5 {
        let (status, headers, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
        if status == 503 {
            assert_eq!(error_code(&body), "ServiceUnavailable");
            retry_afters.push(headers["retry-after"].to_str().unwrap().to_string());
        }
        statuses.push(status);
    }
    assert_eq!(statuses, vec![200, 503, 200, 503, 200]);
    assert_eq!(retry_afters, vec!["2", "2"]);
    assert_eq!(sim.stats().faults_injected, 2);
    let log = sim.requests();
    assert_eq!(log[1].fault.as_deref(), Some("status-503"));
    assert_eq!(log[1].number, 2);
}

#[tokio::test]
async fn fault_429_storm_with_and_without_retry_after() {
    let (sim, client, token) =
        sim_with(FaultRule::always(FaultKind::Throttle { retry_after: None }).times(3)).await;
    for _ in 0..3 {
        let (status, headers, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
        assert_eq!(status, 429);
        assert!(headers.get("retry-after").is_none());
    }
    let (status, _, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 200, "the storm ends after `times`");
    sim.add_fault(
        FaultRule::always(FaultKind::Throttle {
            retry_after: Some(3),
        })
        .times(1),
    )
    .unwrap();
    let (status, headers, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "3");
}

#[tokio::test]
async fn fault_connection_reset_mid_body() {
    let (sim, client, token) = sim_with(FaultRule::always(FaultKind::Reset).times(1)).await;
    let resp = client
        .get(vms_url(&sim, SUB_PROD))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "the head arrives");
    assert!(resp.bytes().await.is_err(), "the body breaks off");
    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Page>(&body).is_ok());
}

#[tokio::test]
async fn fault_truncated_and_malformed_pages() {
    let (sim, client, token) =
        sim_with(FaultRule::always(FaultKind::Truncated).at_requests(&[1])).await;
    sim.add_fault(FaultRule::always(FaultKind::Malformed).at_requests(&[2]))
        .unwrap();
    for _ in 0..2 {
        let (status, headers, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["content-length"].to_str().unwrap(),
            body.len().to_string()
        );
        assert!(serde_json::from_str::<Page>(&body).is_err(), "{body}");
    }
    let (_, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert!(serde_json::from_str::<Page>(&body).is_ok());
}

#[tokio::test]
async fn fault_next_link_loop_and_repeated_items() {
    let (sim, client, token) =
        sim_with(FaultRule::always(FaultKind::NextLinkLoop).on_path("virtualMachines")).await;
    let url = format!("{}&$skiptoken=5", vms_url(&sim, SUB_PROD));
    let (_, _, body) = get(&client, &url, Some(&token)).await;
    let page: Page = serde_json::from_str(&body).unwrap();
    assert_eq!(
        page.next_link.as_deref(),
        Some(url.as_str()),
        "nextLink repeats the page itself"
    );

    let (sim, client, token) = sim_with(FaultRule::always(FaultKind::RepeatItems)).await;
    let names = |body: &str| -> Vec<String> {
        let page: Page = serde_json::from_str(body).unwrap();
        page.value
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, first) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    let first_names = names(&first);
    let next: Page = serde_json::from_str(&first).unwrap();
    let (_, _, second) = get(&client, &next.next_link.unwrap(), Some(&token)).await;
    let second_names = names(&second);
    assert_eq!(
        &second_names[..first_names.len()],
        &first_names[..],
        "page 2 starts with page 1's items"
    );
    assert_eq!(
        second_names.len(),
        first_names.len() + 2,
        "then its own two"
    );
}

#[tokio::test]
async fn fault_forbidden_listing_for_one_subscription_only() {
    let (sim, client, token) = sim_with(
        FaultRule::always(FaultKind::Forbidden)
            .on_path("Microsoft.Storage/storageAccounts")
            .on_subscription(SUB_PROD),
    )
    .await;
    let url = |sub: &str| {
        format!("{}/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01", sim.base_url())
    };
    let (status, _, body) = get(&client, &url(SUB_PROD), Some(&token)).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&body), "AuthorizationFailed");
    let (status, _, body) = get(&client, &url(SUB_DEV), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Page>(&body).is_ok());
    let (status, _, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 200, "other listings of the subscription still work");
}

#[tokio::test]
async fn fault_not_found_and_hang() {
    let (sim, client, token) =
        sim_with(FaultRule::always(FaultKind::NotFound).at_requests(&[1])).await;
    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "SubscriptionNotFound");

    sim.add_fault(FaultRule::always(FaultKind::Hang { ms: Some(400) }).at_requests(&[2]))
        .unwrap();
    let t0 = Instant::now();
    let (status, _, _) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(400));

    sim.add_fault(FaultRule::always(FaultKind::Hang { ms: None }).at_requests(&[3]))
        .unwrap();
    let hung = client
        .get(vms_url(&sim, SUB_PROD))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(
        hung.unwrap_err().is_timeout(),
        "a hung request never answers"
    );
}

#[tokio::test]
async fn fault_token_expiry_mid_scan() {
    let (sim, client, token) =
        sim_with(FaultRule::always(FaultKind::ExpireToken).at_requests(&[3])).await;
    for _ in 0..2 {
        assert_eq!(
            get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await.0,
            200
        );
    }
    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body), "ExpiredAuthenticationToken");
    let (status, _, body) = get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "ExpiredAuthenticationToken"),
        "the old token stays expired"
    );
    let fresh = sim.issue_token(SCANNER).unwrap();
    assert_eq!(
        get(&client, &vms_url(&sim, SUB_PROD), Some(&fresh)).await.0,
        200,
        "a new token works"
    );
}

#[tokio::test]
async fn rate_faults_are_reproducible_for_a_seed() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let f = fleet("small.toml");
        let sim = start(
            &f,
            SimConfig {
                faults: vec![FaultRule::always(FaultKind::Status {
                    status: 500,
                    retry_after: None,
                })
                .at_rate(0.3)],
                seed,
                ..Default::default()
            },
        )
        .await;
        let client = client(&sim);
        let token = sim.issue_token(SCANNER).unwrap();
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await.0);
        }
        out
    }
    let a = pattern(7).await;
    assert_eq!(a, pattern(7).await);
    let failures = a.iter().filter(|&&s| s == 500).count();
    assert!(
        (4..=22).contains(&failures),
        "about 30% fail: {failures}/40"
    );
}

#[tokio::test]
async fn writes_are_rejected_and_counted() {
    let f = fleet("small.toml");
    let mut sim = start(&f, SimConfig::default()).await;
    sim.expect_writes(3);
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    let vm = format!(
        "{}/subscriptions/{SUB_PROD}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/app-01?api-version=2025-04-01",
        sim.base_url()
    );
    assert_eq!(sim.stats().non_get_requests, 0);
    let put = client
        .put(&vm)
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    let del = client.delete(&vm).bearer_auth(&token).send().await.unwrap();
    let post = client
        .post(format!(
            "{}/subscriptions/{SUB_PROD}/providers/Microsoft.SerialConsole/consoleServices/default/disableConsole?api-version=2024-07-01",
            sim.base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    for r in [put, del, post] {
        assert_eq!(r.status().as_u16(), 405);
        assert_eq!(error_code(&r.text().await.unwrap()), "MethodNotAllowed");
    }
    let stats = sim.stats();
    assert_eq!(stats.non_get_requests, 3);
    assert_eq!(stats.rejected_writes, 3);
    assert_eq!(stats.non_get_log.len(), 3);
    assert!(stats.non_get_log[0].starts_with("PUT "));
    // Nothing changed: the VM is still there and still served.
    assert_eq!(get(&client, &vm, Some(&token)).await.0, 200);
}

#[tokio::test]
async fn admin_endpoints_report_log_and_storage_hosts() {
    let f = fleet("small.toml");
    let sim = start(&f, SimConfig::default()).await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await;
    let (status, _, body) = get(&client, &format!("{}/_sim/stats", sim.base_url()), None).await;
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["arm_requests"], 1);
    let (_, _, body) = get(&client, &format!("{}/_sim/requests", sim.base_url()), None).await;
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(log[0]["principal"], SCANNER);
    assert_eq!(log[0]["status"], 200);
    for (host, exists) in [
        ("diagprod01.blob.core.windows.net", true),
        ("diagelsewhere.blob.core.windows.net", true),
        ("nosuchaccount.blob.core.windows.net", false),
    ] {
        let (_, _, body) = get(
            &client,
            &format!("{}/_sim/dns?name={host}", sim.base_url()),
            None,
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["exists"], exists, "{host}");
    }
    // Faults can be added over the admin endpoint too.
    let resp = client
        .post(format!("{}/_sim/faults", sim.base_url()))
        .body(r#"{"kind":"status","status":500,"requests":[2]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        get(&client, &vms_url(&sim, SUB_PROD), Some(&token)).await.0,
        500
    );
}

#[tokio::test]
async fn openid_configuration_names_the_token_endpoint_for_known_tenants_only() {
    let f = fleet("small.toml");
    let tenant = f.tenants[0].id.clone();
    let sim = start(&f, SimConfig::default()).await;
    let http = client(&sim);
    let base = sim.base_url();
    let resp = http
        .get(format!(
            "{base}/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap();
    let token_endpoint = doc["token_endpoint"].as_str().unwrap();
    assert_eq!(token_endpoint, format!("{base}/{tenant}/oauth2/v2.0/token"));
    assert_eq!(doc["issuer"], format!("{base}/{tenant}/v2.0"));
    assert!(doc["authorization_endpoint"].as_str().is_some());
    // The endpoint it names is the one that issues tokens.
    let resp = http
        .post(token_endpoint)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "no client id: the token endpoint answered"
    );
    let resp = http
        .get(format!(
            "{base}/00000000-0000-4000-8000-00000000dead/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_tenant");
    // Not an ARM request: no request number, no throttle.
    assert_eq!(sim.stats().arm_requests, 0);
}
