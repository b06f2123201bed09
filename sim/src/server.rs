//! The HTTPS listener and the per-request pipeline: admin and token endpoints, then for ARM
//! requests latency → authentication → `api-version` → throttle → injected faults → route.

use super::compute::{ComputeLimiter, StatusOnlyShape};
use super::faults::{FaultKind, FaultPlan};
use super::observe::{Observer, RequestRecord};
use super::reply::Reply;
use super::routes::{self, Ctx, PagingFault};
use super::throttle::{Admission, BucketKey, SubscriptionAdmission, Throttle};
use super::tokens::{TokenAuthority, TokenError, ARM_AUDIENCE, FEDERATION_AUDIENCE};
use super::world::World;
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Response body type: complete or streamed (for mid-body resets).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Added latency per ARM request.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Fixed milliseconds.
    pub fixed_ms: u64,
    /// Uniform jitter of ± this many milliseconds.
    pub jitter_ms: u64,
}

/// Shared state of a running simulator.
pub struct State {
    /// The served estate; replaceable between scans.
    pub world: RwLock<Arc<World>>,
    /// The fleet the world was built from, which `POST /_sim/apply` changes.
    pub fleet: Mutex<super::fleet::Fleet>,
    /// Token signer.
    pub tokens: TokenAuthority,
    /// Read throttle.
    pub throttle: Throttle,
    /// Injected faults.
    pub faults: FaultPlan,
    /// Request log and counters.
    pub observer: Observer,
    /// Items per page.
    pub page_size: AtomicUsize,
    /// Added latency.
    pub latency: Mutex<Latency>,
    /// Seeded randomness for latency jitter.
    pub rng: Mutex<fastrand::Rng>,
    /// ARM request counter.
    pub request_number: AtomicU64,
    /// The secret the managed-identity endpoint expects in `X-IDENTITY-HEADER`.
    pub identity_header: String,
    /// Start time, for the log.
    pub started: Instant,
    /// Listening address.
    pub addr: SocketAddr,
    /// Fires when the simulator stops.
    pub shutdown: watch::Receiver<bool>,
    /// Run Command operations in progress.
    pub operations: Mutex<std::collections::HashMap<String, super::guest::Operation>>,
    /// What the `statusOnly=true` VM listing returns.
    pub status_only_shape: Mutex<StatusOnlyShape>,
    /// Compute's throttling policies.
    pub compute: ComputeLimiter,
    /// The answer key served at `/_sim/answer-key`, as JSON.
    pub answer_key: RwLock<Option<Arc<Vec<u8>>>>,
}

impl State {
    /// Applies a change to the fleet and serves the changed estate from now on.
    pub fn apply(&self, change: &super::apply::Change) -> Result<String, String> {
        let mut fleet = self.fleet.lock().unwrap();
        let done = super::apply::apply(&mut fleet, change)?;
        *self.world.write().unwrap() = Arc::new(World::build(&fleet));
        Ok(done)
    }

    /// The counters, with Compute's rejected calls per policy.
    pub fn stats(&self) -> super::observe::Stats {
        let mut stats = self.observer.stats();
        stats.compute_throttled = self.compute.rejected_counts();
        stats
    }

    /// Clears the log and every counter.
    pub fn reset_observations(&self) {
        self.observer.reset();
        self.compute.reset_counts();
    }
}

fn full(bytes: Vec<u8>) -> Body {
    Full::new(Bytes::from(bytes))
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// Serves connections until `shutdown` fires.
pub async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
) {
    let mut shutdown = state.shutdown.clone();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let state = state.clone();
                connections.spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(io, service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

struct Parsed {
    method: String,
    path: String,
    raw_query: String,
    query: Vec<(String, String)>,
    host: String,
    authorization: Option<String>,
    identity_header: Option<String>,
}

fn parse(req: &Request<Incoming>, state: &State) -> Parsed {
    let uri = req.uri();
    let raw_query = uri.query().unwrap_or("").to_string();
    let query = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Parsed {
        method: req.method().as_str().to_string(),
        path: uri.path().to_string(),
        raw_query,
        query,
        host: header("host").unwrap_or_else(|| state.addr.to_string()),
        authorization: header("authorization"),
        identity_header: header("x-identity-header"),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let p = parse(&req, &state);
    if p.path.starts_with("/_sim/") {
        let body = read_body(req).await;
        return to_response(super::admin::handle(
            &state, &p.method, &p.path, &p.query, &body,
        ));
    }
    let lower_path = p.path.to_ascii_lowercase();
    if p.method == "POST" && lower_path.ends_with("/oauth2/v2.0/token") {
        let body = read_body(req).await;
        let reply = token_endpoint(&state, &p.path, &body);
        record(&state, &p, 0, started, &reply, None, None, None);
        return to_response(reply);
    }
    if p.method == "GET" && lower_path.ends_with("/v2.0/.well-known/openid-configuration") {
        let reply = openid_configuration(&state, &p);
        record(&state, &p, 0, started, &reply, None, None, None);
        return to_response(reply);
    }
    if p.method == "GET" && lower_path == "/msi/token" {
        let reply = managed_identity_endpoint(&state, &p);
        record(&state, &p, 0, started, &reply, None, None, None);
        return to_response(reply);
    }
    if lower_path.starts_with("/v1.0/") {
        let (reply, principal) = super::graph::handle(
            &state,
            &p.method,
            &p.path,
            &p.query,
            p.authorization.as_deref(),
            &p.host,
        );
        record(&state, &p, 0, started, &reply, principal, None, None);
        return to_response(reply);
    }
    let body = if p.method == "GET" {
        Vec::new()
    } else {
        read_body(req).await
    };
    state.observer.enter();
    let response = arm_request(&state, &p, body, started).await;
    state.observer.leave();
    response
}

async fn read_body(req: Request<Incoming>) -> Vec<u8> {
    match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(c) => c.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    }
}

fn subscription_of(path: &str) -> Option<String> {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    match (segs.next(), segs.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => Some(id.to_string()),
        _ => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    state: &State,
    p: &Parsed,
    number: u64,
    started: Instant,
    reply: &Reply,
    principal: Option<String>,
    fault: Option<String>,
    throttled: Option<bool>,
) {
    let path = if p.raw_query.is_empty() {
        p.path.clone()
    } else {
        format!("{}?{}", p.path, p.raw_query)
    };
    state.observer.record(
        RequestRecord {
            number,
            method: p.method.clone(),
            path,
            status: reply.status,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            started_ms: started.duration_since(state.started).as_secs_f64() * 1000.0,
            principal,
            subscription: subscription_of(&p.path).map(|s| s.to_ascii_lowercase()),
            fault,
        },
        throttled.unwrap_or(false),
        number > 0,
    );
}

async fn arm_request(
    state: &Arc<State>,
    p: &Parsed,
    body: Vec<u8>,
    started: Instant,
) -> Response<Body> {
    let number = state.request_number.fetch_add(1, Ordering::SeqCst) + 1;
    let latency = *state.latency.lock().unwrap();
    if latency.fixed_ms > 0 || latency.jitter_ms > 0 {
        let jitter = if latency.jitter_ms > 0 {
            let j = latency.jitter_ms as i64;
            state.rng.lock().unwrap().i64(-j..=j)
        } else {
            0
        };
        let ms = (latency.fixed_ms as i64 + jitter).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    // Authentication.
    let token = p.authorization.as_deref().and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    });
    let claims = match token {
        None => {
            let reply = Reply::error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
            .with_header("www-authenticate", www_authenticate("invalid_token"));
            record(state, p, number, started, &reply, None, None, None);
            return to_response(reply);
        }
        Some(t) => match state.tokens.verify(t, ARM_AUDIENCE) {
            Ok(c) => c,
            Err(e) => {
                let reply = match e {
                    TokenError::Expired { exp } => Reply::error(
                        401,
                        "ExpiredAuthenticationToken",
                        format!(
                            "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                            http_date(exp),
                            http_date(super::tokens::now_secs())
                        ),
                    ),
                    TokenError::Invalid(why) => Reply::error(
                        401,
                        "InvalidAuthenticationToken",
                        format!("The access token is invalid: {why}."),
                    ),
                }
                .with_header("www-authenticate", www_authenticate("invalid_token"));
                record(state, p, number, started, &reply, None, None, None);
                return to_response(reply);
            }
        },
    };
    let principal = claims.oid.to_ascii_lowercase();
    let log = |reply: &Reply, fault: Option<String>, throttled: bool| {
        record(
            state,
            p,
            number,
            started,
            reply,
            Some(principal.clone()),
            fault,
            Some(throttled),
        )
    };

    let lower_path = p.path.to_ascii_lowercase();
    let is_run_command = p.method == "POST" && lower_path.ends_with("/runcommand");
    if p.method != "GET" && !is_run_command {
        let reply = Reply::error(
            405,
            "MethodNotAllowed",
            format!(
                "The simulator serves reads only; {} {} is not supported.",
                p.method, p.path
            ),
        );
        log(&reply, None, false);
        return to_response(reply);
    }
    if !p
        .query
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("api-version"))
    {
        let reply = Reply::error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
        log(&reply, None, false);
        return to_response(reply);
    }

    // Throttle.
    let subscription = subscription_of(&p.path).map(|s| s.to_ascii_lowercase());
    let admission = match &subscription {
        Some(s) => state.throttle.admit_subscription(s, &principal),
        None => match state.throttle.admit(BucketKey::Tenant(principal.clone())) {
            Admission::Allowed { remaining } => SubscriptionAdmission::Allowed {
                remaining,
                global_remaining: None,
            },
            Admission::Throttled { retry_after_secs } => SubscriptionAdmission::Throttled {
                retry_after_secs,
                global: false,
                remaining: 0,
                global_remaining: None,
            },
        },
    };
    let rates = match admission {
        SubscriptionAdmission::Allowed {
            remaining,
            global_remaining,
        } => RateHeaders {
            remaining,
            global_remaining,
            subscription_scoped: subscription.is_some(),
        },
        SubscriptionAdmission::Throttled {
            retry_after_secs,
            global,
            remaining,
            global_remaining,
        } => {
            let (code, what) = match &subscription {
                Some(s) if global => (
                    "SubscriptionRequestsThrottled",
                    format!("subscription '{s}' (all principals together)"),
                ),
                Some(s) => (
                    "SubscriptionRequestsThrottled",
                    format!("subscription '{s}' actor '{principal}'"),
                ),
                None => (
                    "TenantRequestsThrottled",
                    format!("tenant '{}' actor '{principal}'", claims.tid),
                ),
            };
            let reply = Reply::error(
                429,
                code,
                format!(
                    "Number of 'read' requests for {what} exceeded. Please try again after '{retry_after_secs}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling"
                ),
            )
            .with_header("retry-after", retry_after_secs.to_string());
            let reply = RateHeaders {
                remaining,
                global_remaining,
                subscription_scoped: subscription.is_some(),
            }
            .apply(reply);
            log(&reply, None, true);
            return to_response(reply);
        }
    };

    // Faults.
    let picked = state
        .faults
        .pick_for(number, &p.path, &p.raw_query, subscription.as_deref());
    let fault_label = picked.label();
    let retry_headers = picked
        .rule
        .as_ref()
        .map(|r| r.retry_headers(super::tokens::now_secs()))
        .unwrap_or_default();
    let fault = picked.rule.as_ref().map(|r| r.fault.clone());
    let mut paging_fault = None;
    let mut body_fault = None;
    if let Some(f) = &fault {
        let replaced = match f {
            FaultKind::Status { status, .. } => {
                let code = match status {
                    500 => "InternalServerError",
                    502 => "BadGateway",
                    503 => "ServiceUnavailable",
                    504 => "GatewayTimeout",
                    _ => "InjectedFault",
                };
                let mut r = Reply::error(*status, code, format!("Injected fault: HTTP {status}."));
                for (k, v) in &retry_headers {
                    r = r.with_header(k, v.clone());
                }
                Some(r)
            }
            FaultKind::Throttle { .. } => {
                let mut r = Reply::error(
                    429,
                    "TooManyRequests",
                    "The request is being throttled (injected fault).",
                );
                for (k, v) in &retry_headers {
                    r = r.with_header(k, v.clone());
                }
                Some(r)
            }
            FaultKind::Forbidden => Some(Reply::authorization_failed(
                &principal,
                "Microsoft.Resources/read",
                &p.path,
            )),
            FaultKind::NotFound => Some(match &subscription {
                Some(s) => Reply::subscription_not_found(s),
                None => Reply::error(404, "ResourceNotFound", "Injected fault: not found."),
            }),
            FaultKind::ExpireToken => {
                state.tokens.expire_all();
                Some(
                    Reply::error(
                        401,
                        "ExpiredAuthenticationToken",
                        format!(
                            "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                            http_date(super::tokens::now_secs().saturating_sub(1)),
                            http_date(super::tokens::now_secs())
                        ),
                    )
                    .with_header("www-authenticate", www_authenticate("invalid_token")),
                )
            }
            FaultKind::Hang { ms } => {
                let mut shutdown = state.shutdown.clone();
                match ms {
                    Some(ms) => {
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_millis(*ms)) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                    None => {
                        let _ = shutdown.changed().await;
                    }
                }
                None
            }
            FaultKind::NextLinkLoop => {
                paging_fault = Some(PagingFault::NextLinkLoop);
                None
            }
            FaultKind::RepeatItems => {
                paging_fault = Some(PagingFault::RepeatItems);
                None
            }
            FaultKind::Reset
            | FaultKind::Truncated
            | FaultKind::Malformed
            | FaultKind::Rewrite { .. } => {
                body_fault = Some(f.clone());
                None
            }
            // Never picked as the one rule: omit-item rules come in `picked.omit`.
            FaultKind::OmitItem { .. } => None,
        };
        if let Some(reply) = replaced {
            let reply = rates.apply(reply);
            log(&reply, fault_label, false);
            return to_response(reply);
        }
    }

    // Route.
    let world = state.world.read().unwrap().clone();
    let segs: Vec<String> = p
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let ctx = Ctx {
        world: &world,
        principal: &principal,
        tenant: &claims.tid,
        lower: segs.iter().map(|s| s.to_ascii_lowercase()).collect(),
        segs,
        query: p.query.clone(),
        raw_query: p.raw_query.clone(),
        base_url: format!("https://{}", p.host),
        path: p.path.clone(),
        page_size: state.page_size.load(Ordering::Relaxed),
        paging_fault,
        status_only_shape: *state.status_only_shape.lock().unwrap(),
        compute: Some(&state.compute),
    };
    let lower: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    // Run Command is served outside `routes::route`; it is a Compute request all the same.
    let unregistered = || match lower.as_slice() {
        ["subscriptions", sub, ..] => world
            .sub(sub)
            .and_then(|sub| routes::missing_registration(&ctx, sub)),
        _ => None,
    };
    let reply = match lower.as_slice() {
        _ if is_run_command => match unregistered() {
            Some(reply) => reply,
            None => super::guest::start_run_command(state, &ctx, &body),
        },
        ["subscriptions", sub, "providers", "microsoft.compute", "locations", _, "operations", op] => {
            match unregistered() {
                Some(reply) => reply,
                None => super::guest::operation_status(state, sub, op),
            }
        }
        _ => routes::route(&ctx),
    };
    let mut reply = rates.apply(reply);
    reply = reply.with_header(
        "x-ms-request-id",
        super::world::stable_guid(&format!("req-{number}")),
    );
    if reply.status == 200 && reply.is_page && !picked.omit.is_empty() {
        if let Some(body) = super::faults::omit_items(&reply.body, &picked.omit) {
            reply.body = body;
        }
    }
    // The only 429 a route sends is Compute's throttle.
    log(&reply, fault_label, reply.status == 429);
    match body_fault {
        Some(FaultKind::Truncated) => {
            let keep = reply.body.len() / 2;
            reply.body.truncate(keep);
            to_response(reply)
        }
        Some(FaultKind::Malformed) => {
            reply.body =
                b"{\"value\": [ {\"id\": \"/subscriptions/\" ,, ] <html>upstream error</html>"
                    .to_vec();
            to_response(reply)
        }
        Some(FaultKind::Reset) => reset_response(reply),
        Some(FaultKind::Rewrite { from, to }) => {
            let body = String::from_utf8_lossy(&reply.body).replace(&from, &to);
            reply.body = body.into_bytes();
            to_response(reply)
        }
        _ => to_response(reply),
    }
}

/// Percent-decodes one path segment (`+` stays `+`).
pub(crate) fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// ARM's read counters for one response.
#[derive(Clone, Copy, Debug)]
struct RateHeaders {
    /// The caller's bucket: (subscription, principal), or the principal's tenant-level bucket.
    remaining: u32,
    /// The subscription's global bucket, when the request is subscription-scoped and it is on.
    global_remaining: Option<u32>,
    subscription_scoped: bool,
}

impl RateHeaders {
    /// `x-ms-ratelimit-remaining-subscription-reads` always (as before), plus
    /// `x-ms-ratelimit-remaining-subscription-global-reads` on subscription-scoped responses and
    /// `x-ms-ratelimit-remaining-tenant-reads` on tenant-level ones (names from Microsoft Learn,
    /// "Understand how Azure Resource Manager throttles requests"; the global one as seen in
    /// Azure/azure-powershell#26256).
    fn apply(self, reply: Reply) -> Reply {
        let reply = reply.with_header(
            "x-ms-ratelimit-remaining-subscription-reads",
            self.remaining.to_string(),
        );
        if self.subscription_scoped {
            match self.global_remaining {
                Some(g) => reply.with_header(
                    "x-ms-ratelimit-remaining-subscription-global-reads",
                    g.to_string(),
                ),
                None => reply,
            }
        } else {
            reply.with_header(
                "x-ms-ratelimit-remaining-tenant-reads",
                self.remaining.to_string(),
            )
        }
    }
}

fn www_authenticate(error: &str) -> String {
    format!(
        "Bearer authorization_uri=\"https://login.windows.net/\", error=\"{error}\", error_description=\"The authentication failed because of missing 'Authorization' header or an invalid or expired token.\""
    )
}

fn http_date(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc2822)
                .ok()
        })
        .unwrap_or_default()
}

fn to_response(reply: Reply) -> Response<Body> {
    let mut builder = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .header("content-length", reply.body.len())
        .body(full(reply.body))
        .expect("valid response")
}

/// Sends the head and the first half of the body, then fails the body so the connection drops.
fn reset_response(reply: Reply) -> Response<Body> {
    let len = reply.body.len();
    let half = Bytes::from(reply.body[..len / 2].to_vec());
    // The pause lets the head and the first half reach the client before the connection drops.
    let body = StreamBody::new(futures::stream::unfold(0u8, move |step| {
        let half = half.clone();
        async move {
            match step {
                0 => Some((Ok(Frame::data(half)), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected connection reset",
                        )),
                        2,
                    ))
                }
                _ => None,
            }
        }
    }))
    .boxed();
    let mut builder = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .header("content-length", len)
        .body(body)
        .expect("valid response")
}

fn token_error(status: u16, error: &str, code: u32, description: &str) -> Reply {
    Reply::json_status(
        status,
        &serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": http_date(super::tokens::now_secs()),
        }),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`: client-credentials grant with a secret or a federated
/// assertion.
fn token_endpoint(state: &State, path: &str, body: &[u8]) -> Reply {
    let world = state.world.read().unwrap().clone();
    let tenant = path
        .split('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if !world
        .tenants
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&tenant))
    {
        return token_error(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    if get("grant_type") != Some("client_credentials") {
        return token_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = get("client_id") else {
        return token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some((principal, secret)) = world.clients.get(&client_id.to_ascii_lowercase()).cloned()
    else {
        return token_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        );
    };
    let authenticated = if let Some(assertion) = get("client_assertion") {
        state
            .tokens
            .verify(assertion, FEDERATION_AUDIENCE)
            .is_ok_and(|c| c.appid.as_deref() == Some(client_id))
    } else if let Some(given) = get("client_secret") {
        secret.as_deref() == Some(given)
    } else {
        false
    };
    if !authenticated {
        return token_error(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let info = &world.principals[&principal];
    if !info.tenant.eq_ignore_ascii_case(&tenant) {
        return token_error(
            400,
            "invalid_client",
            700016,
            &format!("Application '{client_id}' is not in tenant '{tenant}'."),
        );
    }
    let audience = super::tokens::audience_for_scope(get("scope").unwrap_or(""));
    let (token, lifetime) =
        state
            .tokens
            .issue_for(audience, &principal, &info.tenant, Some(client_id), true);
    Reply::json(&crate::wire::TokenResponse {
        token_type: "Bearer".into(),
        expires_in: lifetime as i64,
        ext_expires_in: lifetime as i64,
        access_token: token,
    })
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`: the identity platform's discovery
/// document, which MSAL-based clients read before they ask the token endpoint. It names this
/// simulator's token endpoint; an unknown tenant gets 400 `invalid_tenant`, as from Entra ID.
fn openid_configuration(state: &State, p: &Parsed) -> Reply {
    let world = state.world.read().unwrap().clone();
    let tenant = p.path.split('/').find(|s| !s.is_empty()).unwrap_or("");
    let Some(tenant) = world
        .tenants
        .iter()
        .find(|t| t.eq_ignore_ascii_case(tenant))
        .cloned()
    else {
        return token_error(
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    };
    let base = format!("https://{}/{tenant}", p.host);
    Reply::json(&serde_json::json!({
        "issuer": format!("{base}/v2.0"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("https://{}/{tenant}/discovery/v2.0/keys", p.host),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "tenant_region_scope": serde_json::Value::Null,
    }))
}

/// `GET /msi/token` in the App Service managed-identity protocol (`IDENTITY_ENDPOINT`).
fn managed_identity_endpoint(state: &State, p: &Parsed) -> Reply {
    if p.identity_header.as_deref() != Some(state.identity_header.as_str()) {
        return Reply::json_status(
            401,
            &serde_json::json!({"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or wrong."}),
        );
    }
    let world = state.world.read().unwrap().clone();
    let param = |k: &str| p.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let resource = param("resource").unwrap_or_default();
    let principal = match param("client_id") {
        Some(c) => world
            .clients
            .get(&c.to_ascii_lowercase())
            .map(|(p, _)| p.clone()),
        None => world
            .principals
            .values()
            .find(|pr| pr.managed_identity)
            .map(|pr| pr.id.clone()),
    };
    let Some(principal) = principal else {
        return Reply::json_status(
            400,
            &serde_json::json!({"statusCode": 400, "message": "No managed identity is assigned to this resource."}),
        );
    };
    let info = &world.principals[&principal];
    let audience = super::tokens::audience_for_scope(&resource);
    let (token, lifetime) = state
        .tokens
        .issue_for(audience, &principal, &info.tenant, None, true);
    Reply::json(&serde_json::json!({
        "access_token": token,
        "expires_on": (super::tokens::now_secs() + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": principal,
    }))
}
