//! An endpoint that answers with whatever an attacker likes: scready must neither hand it the
//! token nor follow it anywhere. Each test runs the release-style binary (or the ARM client)
//! against a hostile HTTPS endpoint on loopback, with bare listeners standing for "another
//! host" (another port, plain HTTP); those listeners must receive no connection at all.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use hostile::{Counter, Hostile, Reply, Responder, Seen};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

/// A token that must never reach another host or any output.
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJvaWQiOiJhYWFhIn0.SECRET-SIGNATURE-0123456789";
const SUB: &str = "33333333-0000-4000-8000-000000000001";

async fn scready(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", cwd)
        .env("IDENTITY_ENDPOINT", common::DEAD_IDENTITY_ENDPOINT)
        .env("IDENTITY_HEADER", "unused")
        .current_dir(cwd)
        .args(args)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(std::time::Duration::from_secs(120), cmd.output())
        .await
        .expect("the scan ends")
        .expect("scready runs")
}

/// Runs `scready scan` against the hostile endpoint with `auth` and extra arguments.
async fn scan(
    endpoint: &Hostile,
    dir: &Path,
    auth: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &endpoint.ca_pem).unwrap();
    let base = endpoint.base_url();
    let ca = ca.display().to_string();
    let mut args = vec![
        "scan",
        "--cloud",
        "custom",
        "--arm-endpoint",
        &base,
        "--ca-cert",
        &ca,
        "--auth",
        auth,
        "--out",
        "out",
        "--no-history",
        "--no-network-probe",
        "--format",
        "csv,json",
    ];
    args.extend_from_slice(extra);
    scready(&args, env, dir).await
}

/// An ARM that lists one subscription and answers everything else with an empty listing,
/// except where `hostile` has its own answer.
fn arm(hostile: impl Fn(&Seen) -> Option<Reply> + Send + Sync + 'static) -> Responder {
    Arc::new(move |r: &Seen| {
        if let Some(reply) = hostile(r) {
            return reply;
        }
        if r.target.starts_with("/subscriptions?") {
            let body = format!(
                r#"{{"value":[{{"id":"/subscriptions/{SUB}","subscriptionId":"{SUB}","displayName":"Hostile","state":"Enabled","tenantId":"t"}}]}}"#
            );
            return Reply::status("200 OK", &[], &body);
        }
        if r.target.contains("consoleServices/default") {
            return Reply::status("200 OK", &[], r#"{"properties":{"disabled":false}}"#);
        }
        Reply::status("200 OK", &[], r#"{"value":[]}"#)
    })
}

fn all_output(out: &Output, dir: &Path) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if let Ok(entries) = std::fs::read_dir(dir.join("out")) {
        for e in entries.flatten() {
            text.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_redirects_to_another_port_or_plain_http_are_not_followed() {
    let other_https = Counter::start().await;
    let plain_http = Counter::start().await;
    let (b, c) = (other_https.port, plain_http.port);
    let endpoint = Hostile::start(arm(move |r| {
        if r.target.contains("/virtualMachines?") {
            // A chain: another port, which would send on to plain HTTP.
            Some(Reply::redirect(
                "302 Found",
                &format!("https://127.0.0.1:{b}/next?to=http"),
            ))
        } else if r.target.contains("/virtualMachineScaleSets?") {
            Some(Reply::redirect(
                "307 Temporary Redirect",
                &format!("http://127.0.0.1:{c}{}", r.target),
            ))
        } else if r.target.contains("/storageAccounts?") {
            Some(Reply::redirect(
                "308 Permanent Redirect",
                &format!("https://localhost:{b}/storage"),
            ))
        } else if r.target.contains("/locks?") {
            Some(Reply::redirect(
                "301 Moved Permanently",
                &format!("http://127.0.0.1:{c}/locks"),
            ))
        } else {
            None
        }
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = scan(
        &endpoint,
        dir.path(),
        "token",
        &[],
        &[("SCREADY_ACCESS_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(other_https.connections(), 0, "a redirect was followed");
    assert_eq!(plain_http.connections(), 0, "a redirect was followed");
    // Each redirected listing is a coverage gap that names the status and the target host.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    let gaps = report["coverage"]["gaps"].as_array().unwrap();
    for (what, status, target) in [
        ("virtual machines", 302, format!("https://127.0.0.1:{b}")),
        ("scale sets", 307, format!("http://127.0.0.1:{c}")),
        ("storage accounts", 308, format!("https://localhost:{b}")),
        ("locks", 301, format!("http://127.0.0.1:{c}")),
    ] {
        let gap = gaps
            .iter()
            .find(|g| g["status"] == status)
            .unwrap_or_else(|| panic!("no gap for the {what} redirect: {gaps:?}"));
        assert_eq!(gap["code"], "RedirectRefused", "{gap}");
        assert!(
            gap["message"].as_str().unwrap().contains(&target),
            "{gap} names {target}"
        );
    }
    assert!(!all_output(&out, dir.path()).contains("SECRET-SIGNATURE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_redirects_are_not_followed() {
    let other = Counter::start().await;
    let port = other.port;
    let endpoint = Hostile::start(Arc::new(move |r: &Seen| {
        // Every identity-platform path (OpenID document, token) sends the secret elsewhere.
        Reply::redirect(
            "307 Temporary Redirect",
            &format!("https://127.0.0.1:{port}{}", r.target),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = scan(
        &endpoint,
        dir.path(),
        "client-secret",
        &[],
        &[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "SECRET-SIGNATURE-client"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !endpoint.seen().is_empty(),
        "the credential asked for a token"
    );
    assert_eq!(other.connections(), 0, "the token request was redirected");
    assert!(!all_output(&out, dir.path()).contains("SECRET-SIGNATURE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_redirects_are_not_followed() {
    let other = Counter::start().await;
    let port = other.port;
    let endpoint = Hostile::start(Arc::new(move |_: &Seen| {
        Reply::redirect("302 Found", &format!("http://127.0.0.1:{port}/msi/token"))
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let identity = format!("{}msi/token", endpoint.base_url());
    let out = scan(
        &endpoint,
        dir.path(),
        "managed-identity",
        &[],
        &[
            ("IDENTITY_ENDPOINT", &identity),
            ("IDENTITY_HEADER", "SECRET-SIGNATURE-header"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(endpoint
        .seen()
        .iter()
        .any(|r| r.target.starts_with("/msi/")));
    assert_eq!(
        other.connections(),
        0,
        "the identity request was redirected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_redirects_are_not_followed() {
    let other = Counter::start().await;
    let port = other.port;
    let endpoint = Hostile::start(arm(move |r| {
        if r.target.contains("transitiveMemberOf") {
            Some(Reply::redirect(
                "302 Found",
                &format!("https://127.0.0.1:{port}/v1.0/groups"),
            ))
        } else if r.target.contains("/roleAssignments?") {
            // A group holds a role: group memberships matter, so Graph is asked.
            let body = format!(
                r#"{{"value":[{{"id":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/a1","name":"a1","type":"Microsoft.Authorization/roleAssignments","properties":{{"roleDefinitionId":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/9980e02c-c2be-4d73-94e8-173b1dc7cf3c","principalId":"cccccccc-0000-4000-8000-000000000001","principalType":"Group","scope":"/subscriptions/{SUB}"}}}}]}}"#
            );
            Some(Reply::status("200 OK", &[], &body))
        } else {
            None
        }
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = scan(
        &endpoint,
        dir.path(),
        "token",
        &["--principal", "bbbbbbbb-0000-4000-8000-000000000001"],
        &[
            ("SCREADY_ACCESS_TOKEN", TOKEN),
            ("SCREADY_GRAPH_TOKEN", "graph.SECRET-SIGNATURE.graph"),
        ],
    )
    .await;
    assert!(
        endpoint
            .seen()
            .iter()
            .any(|r| r.target.contains("transitiveMemberOf")),
        "Graph was asked: {:?}",
        endpoint.seen()
    );
    assert_eq!(other.connections(), 0, "the Graph request was redirected");
    let text = all_output(&out, dir.path());
    assert!(text.contains("RedirectRefused") || text.contains("redirect"));
    assert!(!text.contains("SECRET-SIGNATURE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_command_and_its_polling_follow_no_redirect() {
    use scready::arm::{ArmClient, ArmClientOptions, ArmError};
    let other = Counter::start().await;
    let port = other.port;
    let vm = format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
    );
    let disable = format!(
        "/subscriptions/{SUB}/providers/Microsoft.SerialConsole/consoleServices/default/disableConsole"
    );
    let own_port = Arc::new(std::sync::atomic::AtomicU16::new(0));
    let endpoint = {
        let disable = disable.clone();
        let own_port = own_port.clone();
        Hostile::start(Arc::new(move |r: &Seen| {
            if r.method == "POST" && r.target.contains("/runCommand") {
                // Re-sending this POST to the console switch would disable Serial Console.
                let own = own_port.load(std::sync::atomic::Ordering::SeqCst);
                Reply::redirect(
                    "307 Temporary Redirect",
                    &format!("https://127.0.0.1:{own}{disable}"),
                )
            } else {
                Reply::redirect(
                    "302 Found",
                    &format!("https://127.0.0.1:{port}/operations/1"),
                )
            }
        }))
        .await
    };
    own_port.store(endpoint.port, std::sync::atomic::Ordering::SeqCst);
    let base = url::Url::parse(&endpoint.base_url()).unwrap();
    let http = scready::arm::client::http_client(
        Some(endpoint.ca_pem.as_bytes()),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let client = ArmClient::new(
        base.clone(),
        http,
        Arc::new(scready::auth::StaticToken::new(TOKEN)),
        &ArmClientOptions {
            allow_run_command: true,
            max_retries: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let err = client
        .start_run_command(
            &vm,
            &serde_json::json!({"commandId": "RunPowerShellScript"}),
        )
        .await
        .expect_err("a redirect is not an accepted Run Command");
    assert!(
        matches!(err, ArmError::Redirect { status: 307, .. }),
        "{err}"
    );
    let poll = base.join("/operations/1?api-version=1").unwrap();
    let err = client
        .get_absolute::<serde_json::Value>(&poll)
        .await
        .expect_err("a redirect is not an operation status");
    assert!(
        matches!(err, ArmError::Redirect { status: 302, .. }),
        "{err}"
    );
    let seen = endpoint.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        !seen.iter().any(|r| r.target.contains("disableConsole")),
        "the POST was re-sent to the console switch: {seen:?}"
    );
    assert_eq!(other.connections(), 0);
}
