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
    common::run_scready(&args, env, dir).await
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
    let report = common::report::raw(&dir.path().join("out"));
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

/// What a scan run as a child process did: exit code, output, peak RSS, wall time.
struct Measured {
    code: Option<i32>,
    output: String,
    peak_rss_mb: u64,
    wall: std::time::Duration,
}

/// Runs `scready scan` against `endpoint` as a child process and measures its peak RSS
/// (`wait4`'s `ru_maxrss`).
async fn scan_measured(endpoint: &Hostile, dir: &Path, extra: &[&str]) -> Measured {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &endpoint.ca_pem).unwrap();
    let mut args: Vec<String> = [
        "scan",
        "--cloud",
        "custom",
        "--arm-endpoint",
        &endpoint.base_url(),
        "--ca-cert",
        &ca.display().to_string(),
        "--auth",
        "token",
        "--out",
        "out",
        "--no-history",
        "--no-network-probe",
        "--format",
        "csv,json,md,junit,html",
        "--request-timeout",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let stdout = std::fs::File::create(dir.join("stdout")).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr")).unwrap();
        let started = std::time::Instant::now();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_scready"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &dir)
            .env("IDENTITY_ENDPOINT", common::DEAD_IDENTITY_ENDPOINT)
            .env("SCREADY_ACCESS_TOKEN", TOKEN)
            .current_dir(&dir)
            .args(&args)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("scready starts");
        let pid = child.id() as libc::pid_t;
        // A scan that never ends is a failure of its own: kill it after 180 s.
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(180));
            // SAFETY: sending a signal to a pid; harmless if it has already been reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        });
        drop(killer);
        let mut status = 0;
        // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child; status and usage point to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(r, pid);
        let wall = started.elapsed();
        std::mem::forget(child);
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        let mut output = std::fs::read_to_string(dir.join("stdout")).unwrap_or_default();
        output.push_str(&std::fs::read_to_string(dir.join("stderr")).unwrap_or_default());
        Measured {
            code,
            output,
            peak_rss_mb: (usage.ru_maxrss as u64) / 1024,
            wall,
        }
    })
    .await
    .unwrap()
}

/// An ARM whose plain VM listing is the attack.
fn vm_listing_attack(attack: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Responder {
    arm(move |r| {
        (r.target.contains("/virtualMachines?") && !r.target.contains("statusOnly"))
            .then(|| attack(r))
    })
}

fn gzip_bomb(decompressed: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b' '; 1 << 20];
    enc.write_all(b"{\"value\":[").unwrap();
    for _ in 0..decompressed >> 20 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_responses_end_in_a_gap_with_bounded_time_and_memory() {
    let bomb = Arc::new(gzip_bomb(512 << 20));
    let items = {
        let mut b = String::from("{\"value\":[");
        b.push_str(&"{},".repeat(5_000_000));
        b.push_str("{}]}");
        Arc::new(b)
    };
    type Attack = (
        &'static str,
        Responder,
        &'static str,
        &'static [&'static str],
    );
    let attacks: Vec<Attack> = vec![
        (
            "a 1 GB body",
            vm_listing_attack(|_| {
                Reply::repeated(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n",
                    vec![b' '; 1 << 20],
                    1024,
                )
            }),
            "LimitExceeded",
            &[],
        ),
        (
            "a gzip bomb",
            {
                let bomb = bomb.clone();
                vm_listing_attack(move |_| {
                    let mut head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                        bomb.len()
                    )
                    .into_bytes();
                    head.extend_from_slice(&bomb);
                    Reply::raw(head)
                })
            },
            "LimitExceeded",
            &[],
        ),
        (
            "a page of 5 million items",
            {
                let items = items.clone();
                vm_listing_attack(move |_| Reply::status("200 OK", &[], &items))
            },
            "MalformedResponse",
            &[],
        ),
        (
            "Retry-After of 10^9 seconds",
            vm_listing_attack(|_| {
                Reply::status(
                    "429 Too Many Requests",
                    &[("retry-after", "1000000000".into())],
                    r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
                )
            }),
            "DeadlineExceeded",
            &["--max-duration", "8s"],
        ),
        (
            "Retry-After in milliseconds and as a far-future date, on 503",
            vm_listing_attack(|_| {
                Reply::status(
                    "503 Service Unavailable",
                    &[
                        ("retry-after-ms", "999999999999".into()),
                        ("retry-after", "Fri, 01 Jan 2100 00:00:00 GMT".into()),
                    ],
                    r#"{"error":{"code":"ServerBusy","message":"later"}}"#,
                )
            }),
            "DeadlineExceeded",
            &["--max-duration", "8s"],
        ),
        (
            "a nextLink chain of 100,000 pages",
            Arc::new(|r: &Seen| {
                let n: u64 = r
                    .target
                    .split("page=")
                    .nth(1)
                    .and_then(|p| p.split('&').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let base = r.target.split("&page=").next().unwrap_or(&r.target);
                if r.target.starts_with("/subscriptions?") && n == 0 {
                    let body = format!(
                        r#"{{"value":[{{"id":"/subscriptions/{SUB}","subscriptionId":"{SUB}","displayName":"Hostile","state":"Enabled"}}]}}"#
                    );
                    return Reply::status("200 OK", &[], &body);
                }
                let next = format!(
                    r#"{{"value":[],"nextLink":"https://127.0.0.1:PORT{base}&page={}"}}"#,
                    (n + 1).min(100_000)
                );
                Reply::status("200 OK", &[], &next)
            }),
            "DeadlineExceeded",
            &["--max-duration", "8s"],
        ),
        (
            "a body that trickles one byte a second",
            vm_listing_attack(|_| {
                Reply::streamed(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
                    (0..1000)
                        .map(|_| (std::time::Duration::from_secs(1), b" ".to_vec()))
                        .collect(),
                )
            }),
            "",
            &["--max-duration", "10s"],
        ),
        (
            "an error that echoes the token",
            vm_listing_attack(|r| {
                let auth = r.authorization.clone().unwrap_or_default();
                Reply::status(
                    "403 Forbidden",
                    &[],
                    &format!(r#"{{"error":{{"code":"{auth}","message":"you sent {auth}"}}}}"#),
                )
            }),
            "[redacted]",
            &[],
        ),
    ];
    for (label, responder, gap_code, extra) in attacks {
        // The nextLink chain names the endpoint's own port: patch it in once it is known.
        let port_cell = Arc::new(std::sync::atomic::AtomicU16::new(0));
        let responder: Responder = {
            let port_cell = port_cell.clone();
            Arc::new(move |r: &Seen| {
                let mut reply = responder(r);
                let port = port_cell
                    .load(std::sync::atomic::Ordering::SeqCst)
                    .to_string();
                for (_, bytes) in reply.chunks.iter_mut() {
                    if bytes.len() < 4096 && bytes.windows(4).any(|w| w == b"PORT") {
                        let text = String::from_utf8_lossy(bytes).replace("PORT", &port);
                        // Content-length stays right: the port has as many digits as "PORT"
                        // has letters only by chance, so rebuild the reply's length.
                        *bytes = fix_length(&text).into_bytes();
                    }
                }
                reply
            })
        };
        let endpoint = Hostile::start(responder).await;
        port_cell.store(endpoint.port, std::sync::atomic::Ordering::SeqCst);
        let dir = tempfile::tempdir().unwrap();
        let m = scan_measured(&endpoint, dir.path(), extra).await;
        let out = dir.path().join("out");
        let mut everything = m.output.clone();
        for f in [
            "instances.csv",
            "findings.csv",
            "report.json",
            "summary.md",
            "junit.xml",
            "report.html",
        ] {
            let text = std::fs::read_to_string(out.join(f))
                .unwrap_or_else(|_| panic!("{label}: {f} was not written\n{}", m.output));
            everything.push_str(&text);
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "measured: {label}: exit {:?} in {:.1} s, peak RSS {} MB\n",
                m.code,
                m.wall.as_secs_f64(),
                m.peak_rss_mb
            )
            .as_bytes(),
        );
        assert_eq!(m.code, Some(2), "{label}: {}", m.output);
        assert!(m.peak_rss_mb < 500, "{label}: {} MB", m.peak_rss_mb);
        assert!(
            m.wall < std::time::Duration::from_secs(60),
            "{label}: {:?}",
            m.wall
        );
        let gaps = common::report::raw(&out);
        let gaps = &gaps["coverage"]["gaps"];
        assert!(
            gaps.to_string().contains(gap_code),
            "{label}: the gap names {gap_code}: {gaps}"
        );
        assert!(
            !everything.contains("SECRET-SIGNATURE"),
            "{label}: the token reached an output"
        );
    }
}

/// Rewrites a raw HTTP response's `content-length` to its body's length.
fn fix_length(raw: &str) -> String {
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return raw.to_string();
    };
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("content-length: {}", body.len())
            } else {
                l.to_string()
            }
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_next_link_chain_stops_at_the_page_limit() {
    use scready::arm::{ArmClient, ArmClientOptions, ArmError};
    let port_cell = Arc::new(std::sync::atomic::AtomicU16::new(0));
    let endpoint = {
        let port_cell = port_cell.clone();
        Hostile::start(Arc::new(move |r: &Seen| {
            let n: u64 = r
                .target
                .rsplit("page=")
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let port = port_cell.load(std::sync::atomic::Ordering::SeqCst);
            Reply::status(
                "200 OK",
                &[],
                &format!(
                    r#"{{"value":[{{"id":"x{n}"}}],"nextLink":"https://127.0.0.1:{port}/subscriptions/s/items?api-version=1&page={}"}}"#,
                    n + 1
                ),
            )
        }))
        .await
    };
    port_cell.store(endpoint.port, std::sync::atomic::Ordering::SeqCst);
    let http = scready::arm::client::http_client(
        Some(endpoint.ca_pem.as_bytes()),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let client = ArmClient::new(
        url::Url::parse(&endpoint.base_url()).unwrap(),
        http,
        Arc::new(scready::auth::StaticToken::new(TOKEN)),
        &ArmClientOptions {
            max_pages_per_listing: 50,
            rate_limit: scready::arm::ratelimit::RateLimit {
                burst: 1000.0,
                per_sec: 1000.0,
                reserve: 0.0,
            },
            ..Default::default()
        },
    )
    .unwrap();
    let (items, err) = client
        .list_all::<serde_json::Value>("/subscriptions/s/items?api-version=1&page=0")
        .await;
    assert_eq!(items.len(), 50, "the pages read are kept");
    assert!(matches!(err, Some(ArmError::Limit(_))), "{err:?}");
    assert_eq!(endpoint.seen().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_echoes_the_client_secret_plants_it_nowhere() {
    let endpoint = Hostile::start(Arc::new(|_: &Seen| {
        Reply::status(
            "400 Bad Request",
            &[],
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: the secret SECRET-SIGNATURE-client-0001 is wrong"}"#,
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = scan(
        &endpoint,
        dir.path(),
        "client-secret",
        &["-vvv"],
        &[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "SECRET-SIGNATURE-client-0001"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let text = all_output(&out, dir.path());
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains("SECRET-SIGNATURE"), "{text}");
}
