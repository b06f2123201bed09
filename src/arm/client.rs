//! The one place that talks HTTP to Azure Resource Manager.
//!
//! Requests go through the `azure_core` pipeline: the retry policy (exponential backoff,
//! honouring `Retry-After`) wraps two per-try policies of ours — [`LimitPolicy`] (global cap on
//! requests in flight, a token bucket per subscription adapted to ARM's
//! `x-ms-ratelimit-remaining-subscription-reads` and `…-subscription-global-reads`, Compute's
//! policies from `x-ms-ratelimit-remaining-resource` ([`ProviderLimiter`]), every
//! `Retry-After` form read and capped, call counters) and [`AuthPolicy`] (bearer token,
//! renewed once when ARM says it expired) — then the `reqwest` transport with a per-request
//! timeout. Only GET is sent.

use super::error::ArmError;
use super::models::Page;
use super::provider_limit::{ProviderLimiter, REMAINING_RESOURCE_HEADER};
use super::ratelimit::{RateLimit, RateLimiter};
use super::retry_after::DEFAULT_RETRY_AFTER_CAP;
use crate::arm::lenient::LenientDecode;
use crate::arm::Lenient;
use crate::auth::TokenSource;
use async_trait::async_trait;
use azure_core::http::policies::{Policy, PolicyResult, RetryPolicyCount};
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, Request, RetryOptions,
    Transport, Url,
};
use futures::Stream;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Requests in flight at once by default: ARM's documented read burst for one subscription and
/// principal (250). ARM limits reads per subscription, not requests in flight; the per-subscription
/// bucket ([`RateLimit`]) keeps each subscription below its limit.
pub const DEFAULT_CONCURRENCY: usize = 250;

/// Settings of the ARM client.
#[derive(Clone, Debug)]
pub struct ArmClientOptions {
    /// Requests in flight at once, across all subscriptions.
    pub concurrency: usize,
    /// Time limit of one request, body included.
    pub request_timeout: Duration,
    /// Retries of one request (429, 5xx, broken connections).
    pub max_retries: u32,
    /// First backoff delay.
    pub retry_initial_delay: Duration,
    /// Longest backoff delay.
    pub retry_max_delay: Duration,
    /// Give up retrying one request after this long.
    pub retry_max_elapsed: Duration,
    /// Client-side read budget per subscription.
    pub rate_limit: RateLimit,
    /// Re-reads of a page whose body was not valid JSON.
    pub decode_retries: u32,
    /// Allow the one non-GET request scready knows: Run Command, for `--guest-checks`.
    pub allow_run_command: bool,
    /// The longest `Retry-After` honoured; a longer one is cut to this and counted.
    pub retry_after_cap: Duration,
    /// Calls of each Compute throttling policy left unused per window.
    pub compute_reserve: u32,
    /// The largest response body read; a larger one is cut off while it is read (before any
    /// decompression finishes) and the call fails with `LimitExceeded`.
    pub max_response_bytes: usize,
    /// The most pages one listing may have (`nextLink` chains); beyond, the listing stops
    /// with `LimitExceeded`.
    pub max_pages_per_listing: usize,
    /// How long a scan may take (`--max-duration`); the scan sets [`Self::deadline`] from it
    /// when it starts.
    pub max_duration: Option<Duration>,
    /// When the scan must be over: after it, every call fails at once with
    /// `DeadlineExceeded` (and calls in flight are cut off), so that a scan always ends.
    pub deadline: Option<tokio::time::Instant>,
}

/// Default [`ArmClientOptions::max_duration`]: two hours, several times what a 100,000-instance
/// estate takes.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(2 * 3600);

/// Default [`ArmClientOptions::max_response_bytes`]: 64 MiB, some 60 times the largest real
/// page seen (1,000 VMs with their models).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Default [`ArmClientOptions::max_pages_per_listing`]: 10,000 pages (at ARM's page sizes,
/// ten million resources in one listing).
pub const DEFAULT_MAX_PAGES_PER_LISTING: usize = 10_000;

/// Re-reads of a response whose connection broke while its body was read.
const BODY_RETRIES: u32 = 3;

/// Why one GET failed: for good, or while its body was read (worth another try).
enum BodyRead {
    Final(ArmError),
    Broken(ArmError),
}

/// Error bodies (401, 429, 503) are read only this far: their code and message are all that is
/// used.
const MAX_ERROR_BODY_BYTES: usize = 1 << 20;

/// Reads a response body, refusing more than `limit` bytes (the body arrives in chunks, so a
/// huge or endlessly decompressing body is stopped at the limit).
async fn read_bounded(
    mut body: azure_core::http::AsyncResponseBody,
    limit: usize,
    size_hint: Option<usize>,
) -> Result<bytes::Bytes, ArmError> {
    use futures::StreamExt;
    // Sized once from `Content-Length` where the server sent one (never beyond the limit), so
    // that a page of a few MB is not copied through every doubling of the buffer.
    let mut buf = bytes::BytesMut::with_capacity(size_hint.unwrap_or(0).min(limit));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ArmError::Transport(chain(&e)))?;
        if buf.len() + chunk.len() > limit {
            return Err(ArmError::Limit(format!(
                "the response body is larger than {} MiB (--max-response-mb)",
                limit >> 20
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// `read_bounded` for the per-try policies, which speak `azure_core` errors.
async fn read_error_body(
    body: azure_core::http::AsyncResponseBody,
) -> azure_core::Result<bytes::Bytes> {
    read_bounded(body, MAX_ERROR_BODY_BYTES, None)
        .await
        .map_err(|e| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Other, e.to_string())
        })
}

impl Default for ArmClientOptions {
    fn default() -> Self {
        ArmClientOptions {
            concurrency: DEFAULT_CONCURRENCY,
            request_timeout: Duration::from_secs(30),
            max_retries: 8,
            retry_initial_delay: Duration::from_millis(400),
            retry_max_delay: Duration::from_secs(30),
            retry_max_elapsed: Duration::from_secs(120),
            rate_limit: RateLimit::default(),
            decode_retries: 2,
            allow_run_command: false,
            retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
            compute_reserve: 5,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_pages_per_listing: DEFAULT_MAX_PAGES_PER_LISTING,
            max_duration: Some(DEFAULT_MAX_DURATION),
            deadline: None,
        }
    }
}

/// Counters of the calls a client made.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallStats {
    /// Logical calls (pages and single resources), not counting retries.
    pub calls: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 responses received.
    pub throttled: u64,
    /// Responses by status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests that failed without a response (connection, timeout, broken body).
    pub transport_errors: u64,
    /// Tokens renewed after ARM rejected one.
    pub token_renewals: u64,
    /// Milliseconds spent waiting on the client-side rate limiter.
    pub rate_limit_wait_ms: u64,
    /// Milliseconds Compute requests spent waiting for a Compute throttling policy.
    #[serde(default)]
    pub compute_limit_wait_ms: u64,
    /// `Retry-After` values longer than the cap (cut to the cap).
    #[serde(default)]
    pub retry_after_capped: u64,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    transport_errors: AtomicU64,
    token_renewals: AtomicU64,
    retry_after_capped: AtomicU64,
    by_status: Mutex<BTreeMap<u16, u64>>,
}

/// The subscription a URL addresses (the rate-limit key), or `tenant`.
fn limit_key(url: &Url) -> String {
    let mut segs = url.path_segments().into_iter().flatten();
    match (segs.next(), segs.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => {
            id.to_ascii_lowercase()
        }
        _ => "tenant".to_string(),
    }
}

/// Whether a request goes to Microsoft.Compute (and counts against its policies).
fn is_compute(url: &Url) -> bool {
    const NEEDLE: &[u8] = b"/providers/microsoft.compute/";
    url.path()
        .as_bytes()
        .windows(NEEDLE.len())
        .any(|w| w.eq_ignore_ascii_case(NEEDLE))
}

/// Per try: waits for the global cap, the subscription's bucket and (for Compute) its
/// policies; counts; adapts to the remaining-calls headers; caps `Retry-After`.
#[derive(Debug)]
struct LimitPolicy {
    in_flight: Arc<Semaphore>,
    limiter: Arc<RateLimiter>,
    provider: Arc<ProviderLimiter>,
    counters: Arc<Counters>,
    allow_run_command: bool,
    retry_after_cap: Duration,
    deadline: Option<tokio::time::Instant>,
}

/// The error of a call the deadline cut off (not retried: its kind is not a transport error).
fn deadline_error() -> azure_core::Error {
    azure_core::Error::with_message(
        azure_core::error::ErrorKind::Other,
        "the scan's --max-duration has passed",
    )
}

/// Awaits `fut`, or fails when the deadline comes first.
async fn within<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    fut: F,
) -> azure_core::Result<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, fut)
            .await
            .map_err(|_| deadline_error()),
        None => Ok(fut.await),
    }
}

/// A response header by its (lower-case, static) name; no allocation per response.
fn header<'a>(
    response: &'a azure_core::http::AsyncRawResponse,
    name: &'static str,
) -> Option<&'a str> {
    response
        .headers()
        .get_optional_str(&azure_core::http::headers::HeaderName::from_static(name))
}

impl LimitPolicy {
    /// Reads the remaining-calls headers of a response.
    fn observe(
        &self,
        key: &str,
        compute: bool,
        sent_at: Instant,
        response: &azure_core::http::AsyncRawResponse,
    ) {
        let remaining = |name: &'static str| header(response, name)?.trim().parse::<u32>().ok();
        // ARM's buckets: the principal's, and the subscription's global one that all
        // principals share ("Understand how Azure Resource Manager throttles requests").
        let reads = if key == "tenant" {
            remaining("x-ms-ratelimit-remaining-tenant-reads")
        } else {
            match (
                remaining("x-ms-ratelimit-remaining-subscription-reads"),
                remaining("x-ms-ratelimit-remaining-subscription-global-reads"),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        if let Some(n) = reads {
            self.limiter.observe_remaining(key, n);
        }
        if compute {
            if let Some(v) = header(response, REMAINING_RESOURCE_HEADER) {
                self.provider.observe(key, v, sent_at);
            }
        }
    }

    /// For a 429 or 503: reads the wait in any form, caps it, tells the limiters, and hands
    /// the retry policy the capped wait in the one header it reads first (milliseconds).
    async fn capped_retry_after(
        &self,
        key: &str,
        compute: bool,
        response: azure_core::http::AsyncRawResponse,
    ) -> PolicyResult {
        let status = u16::from(response.status());
        let wait = super::retry_after::parse(
            |name| header(&response, name).map(str::to_string),
            time::OffsetDateTime::now_utc(),
            self.retry_after_cap,
        );
        if status == 429 {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            let by_compute = compute && header(&response, REMAINING_RESOURCE_HEADER).is_some();
            match (by_compute, wait) {
                (true, Some(w)) => self.provider.observe_throttled(key, w.delay),
                (true, None) => self.provider.observe_throttled(key, Duration::from_secs(1)),
                (false, _) => self.limiter.observe_throttled(key),
            }
        }
        let Some(wait) = wait else {
            return Ok(response);
        };
        if wait.capped {
            self.counters
                .retry_after_capped
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                status,
                cap_secs = self.retry_after_cap.as_secs(),
                "Retry-After longer than the cap; waiting the cap"
            );
        }
        let (status, mut headers, body) = response.deconstruct();
        let bytes = read_error_body(body).await?;
        // azure_core's retry policy reads `x-ms-retry-after-ms` first (milliseconds).
        for name in ["retry-after", "retry-after-ms", "x-ms-retry-after"] {
            headers.remove(azure_core::http::headers::HeaderName::from_static(name));
        }
        headers.insert(
            azure_core::http::headers::HeaderName::from_static("x-ms-retry-after-ms"),
            wait.delay.as_millis().to_string(),
        );
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status, headers, bytes,
        ))
    }
}

/// The read-only guard: GET, and the Run Command POST when guest checks are on.
fn permitted(method: Method, url: &Url, allow_run_command: bool) -> bool {
    method == Method::Get
        || (allow_run_command
            && method == Method::Post
            && url.path().to_ascii_lowercase().ends_with("/runcommand"))
}

#[async_trait]
impl Policy for LimitPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if !permitted(request.method(), request.url(), self.allow_run_command) {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                format!(
                    "scready is read-only: it refuses to send {} {}",
                    request.method(),
                    request.url().path()
                ),
            ));
        }
        let key = limit_key(request.url());
        let compute = key != "tenant" && is_compute(request.url());
        let deadline = self.deadline;
        // Every wait of a try ends at the deadline at the latest.
        let _compute_place = match compute {
            true => Some(within(deadline, self.provider.acquire(&key)).await?),
            false => None,
        };
        within(deadline, self.limiter.acquire(&key)).await?;
        let retry = ctx.value::<RetryPolicyCount>().map_or(0, |c| **c);
        tracing::debug!(
            method = %request.method(),
            path = request.url().path(),
            query = request.url().query().unwrap_or(""),
            retry,
            "ARM request"
        );
        let _permit = within(deadline, self.in_flight.acquire())
            .await?
            .expect("semaphore open");
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if ctx.value::<RetryPolicyCount>().is_some_and(|c| **c > 0) {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
        let sent_at = Instant::now();
        let result = within(deadline, next[0].send(ctx, request, &next[1..]))
            .await
            .and_then(|r| r);
        match result {
            Ok(response) => {
                let status = u16::from(response.status());
                tracing::debug!(status, path = request.url().path(), "ARM response");
                *self
                    .counters
                    .by_status
                    .lock()
                    .unwrap()
                    .entry(status)
                    .or_default() += 1;
                self.observe(&key, compute, sent_at, &response);
                if status == 429 || status == 503 {
                    return self.capped_retry_after(&key, compute, response).await;
                }
                Ok(response)
            }
            Err(e) => {
                tracing::debug!(error = %e, path = request.url().path(), "ARM request failed");
                self.counters
                    .transport_errors
                    .fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// Per try: adds the bearer token; on a 401 that says the token expired or is invalid, renews
/// the token once and resends.
#[derive(Debug)]
struct AuthPolicy {
    source: Arc<dyn TokenSource>,
    counters: Arc<Counters>,
}

#[async_trait]
impl Policy for AuthPolicy {
    async fn send(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        if request.url().scheme() != "https" {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "bearer tokens are only sent over https",
            ));
        }
        let token = self.source.token().await.map_err(auth_error)?;
        super::redact::remember(token.secret());
        request.insert_header("authorization", format!("Bearer {}", token.secret()));
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if u16::from(response.status()) != 401 {
            return Ok(response);
        }
        // Read the body to see why; rebuild the response for the caller if it is not an expiry.
        let (status, headers, body) = response.deconstruct();
        let bytes = read_error_body(body).await?;
        let err = ArmError::from_response(401, &bytes);
        let renewable = matches!(
            err.code(),
            "ExpiredAuthenticationToken" | "InvalidAuthenticationToken" | "AuthenticationFailed"
        );
        if !renewable {
            return Ok(azure_core::http::AsyncRawResponse::from_bytes(
                status, headers, bytes,
            ));
        }
        if self.source.renew(&token).await.map_err(auth_error)? {
            self.counters.token_renewals.fetch_add(1, Ordering::Relaxed);
        }
        let token = self.source.token().await.map_err(auth_error)?;
        super::redact::remember(token.secret());
        request.insert_header("authorization", format!("Bearer {}", token.secret()));
        next[0].send(ctx, request, &next[1..]).await
    }
}

fn auth_error(e: crate::auth::AuthError) -> azure_core::Error {
    azure_core::Error::with_message(
        azure_core::error::ErrorKind::Credential,
        super::redact::clean(&e.to_string()),
    )
}

/// A client for ARM reads.
#[derive(Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    endpoint: Url,
    counters: Arc<Counters>,
    limiter: Arc<RateLimiter>,
    provider: Arc<ProviderLimiter>,
    decode_retries: u32,
    max_response_bytes: usize,
    max_pages_per_listing: usize,
    deadline: Option<tokio::time::Instant>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> azure_core::time::Duration {
    azure_core::time::Duration::milliseconds(d.as_millis() as i64)
}

impl ArmClient {
    /// A client for `endpoint`, sending through `http` with tokens from `source`.
    pub fn new(
        endpoint: Url,
        http: reqwest::Client,
        source: Arc<dyn TokenSource>,
        options: &ArmClientOptions,
    ) -> Result<ArmClient, ArmError> {
        if endpoint.scheme() != "https" {
            return Err(ArmError::Refused(format!(
                "the ARM endpoint must use https: {endpoint}"
            )));
        }
        let counters = Arc::new(Counters::default());
        let limiter = Arc::new(RateLimiter::new(options.rate_limit));
        let provider = Arc::new(ProviderLimiter::new(options.compute_reserve));
        let limit = Arc::new(LimitPolicy {
            in_flight: Arc::new(Semaphore::new(options.concurrency.max(1))),
            limiter: limiter.clone(),
            provider: provider.clone(),
            counters: counters.clone(),
            allow_run_command: options.allow_run_command,
            retry_after_cap: options.retry_after_cap,
            deadline: options.deadline,
        });
        let auth = Arc::new(AuthPolicy {
            source,
            counters: counters.clone(),
        });
        let client_options = ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: secs(options.retry_initial_delay),
                max_retries: options.max_retries,
                max_total_elapsed: secs(options.retry_max_elapsed),
                max_delay: secs(options.retry_max_delay),
            }),
            ..Default::default()
        };
        let pipeline = Pipeline::new(
            Some("scready"),
            Some(env!("CARGO_PKG_VERSION")),
            client_options,
            Vec::new(),
            vec![limit as Arc<dyn Policy>, auth as Arc<dyn Policy>],
            None,
        );
        Ok(ArmClient {
            pipeline,
            endpoint,
            counters,
            limiter,
            provider,
            decode_retries: options.decode_retries,
            max_response_bytes: options.max_response_bytes.max(1),
            max_pages_per_listing: options.max_pages_per_listing.max(1),
            deadline: options.deadline,
        })
    }

    /// The ARM endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Joins a path and query (`/subscriptions?api-version=…`) to the endpoint.
    pub fn url(&self, path_and_query: &str) -> Result<Url, ArmError> {
        self.endpoint
            .join(path_and_query)
            .map_err(|e| ArmError::Refused(format!("bad URL {path_and_query}: {e}")))
    }

    /// GETs a URL and returns status and body; HTTP errors become [`ArmError::Http`].
    async fn get_bytes(&self, url: &Url) -> Result<bytes::Bytes, ArmError> {
        if url.scheme() != "https"
            || url.host_str() != self.endpoint.host_str()
            || url.port_or_known_default() != self.endpoint.port_or_known_default()
        {
            return Err(ArmError::Refused(format!(
                "{url} is not on the ARM endpoint {}",
                self.endpoint
            )));
        }
        // A connection that breaks while the body is read is read again: the retry policy
        // only sees the response head.
        let mut attempt = 0u32;
        loop {
            self.check_deadline()?;
            let once = self.get_bytes_once(url);
            let result = match self.deadline {
                Some(d) => tokio::time::timeout_at(d, once)
                    .await
                    .unwrap_or_else(|_| Err(BodyRead::Final(self.deadline_passed()))),
                None => once.await,
            };
            match result {
                Ok(bytes) => return Ok(bytes),
                Err(BodyRead::Final(e)) => return Err(e),
                Err(BodyRead::Broken(e)) if attempt >= BODY_RETRIES => return Err(e),
                Err(BodyRead::Broken(e)) => {
                    attempt += 1;
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("re-reading {}: {e}", url.path());
                    tokio::time::sleep(Duration::from_millis(100) * attempt).await;
                }
            }
        }
    }

    /// One GET and its body.
    async fn get_bytes_once(&self, url: &Url) -> Result<bytes::Bytes, BodyRead> {
        let mut request = Request::new(url.clone(), Method::Get);
        request.insert_header("accept", "application/json");
        let ctx = Context::new();
        let response = self
            .pipeline
            .stream(
                &ctx,
                &mut request,
                Some(azure_core::http::PipelineStreamOptions {
                    skip_checks: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| BodyRead::Final(self.send_error(&e)))?;
        let status = u16::from(response.status());
        if (300..400).contains(&status) {
            return Err(BodyRead::Final(ArmError::redirect(
                status,
                response.headers(),
            )));
        }
        let limit = if (200..300).contains(&status) {
            self.max_response_bytes
        } else {
            MAX_ERROR_BODY_BYTES
        };
        let size_hint = response
            .headers()
            .get_optional_str(&azure_core::http::headers::CONTENT_LENGTH)
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body = read_bounded(response.into_body(), limit, size_hint)
            .await
            .map_err(|e| match e {
                ArmError::Transport(_) => BodyRead::Broken(e),
                e => BodyRead::Final(e),
            })?;
        if !(200..300).contains(&status) {
            return Err(BodyRead::Final(ArmError::from_response(status, &body)));
        }
        Ok(body)
    }

    /// The error of a failed send: a credential failure, the deadline, or the transport.
    fn send_error(&self, e: &azure_core::Error) -> ArmError {
        if matches!(e.kind(), azure_core::error::ErrorKind::Credential) {
            ArmError::Auth(root_message(e))
        } else if self
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            self.deadline_passed()
        } else {
            ArmError::Transport(chain(e))
        }
    }

    fn deadline_passed(&self) -> ArmError {
        ArmError::Deadline("the scan's --max-duration passed before this call finished".into())
    }

    /// Fails at once when the deadline has passed.
    fn check_deadline(&self) -> Result<(), ArmError> {
        match self.deadline {
            Some(d) if tokio::time::Instant::now() >= d => Err(self.deadline_passed()),
            _ => Ok(()),
        }
    }

    /// Starts a Run Command on a VM (`--guest-checks` only) and returns the URL to poll.
    pub async fn start_run_command(
        &self,
        vm_id: &str,
        body: &serde_json::Value,
    ) -> Result<Url, ArmError> {
        let url = self.url(&format!(
            "{vm_id}/runCommand?api-version={}",
            crate::discover::api::COMPUTE
        ))?;
        let mut request = Request::new(url.clone(), Method::Post);
        request.insert_header("content-type", "application/json");
        request.set_body(serde_json::to_vec(body).map_err(|e| ArmError::Refused(e.to_string()))?);
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        self.check_deadline()?;
        let response = self
            .pipeline
            .stream(
                &Context::new(),
                &mut request,
                Some(azure_core::http::PipelineStreamOptions {
                    skip_checks: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| self.send_error(&e))?;
        let status = u16::from(response.status());
        if (300..400).contains(&status) {
            return Err(ArmError::redirect(status, response.headers()));
        }
        if !(200..300).contains(&status) {
            let body = read_bounded(response.into_body(), MAX_ERROR_BODY_BYTES, None).await?;
            return Err(ArmError::from_response(status, &body));
        }
        let header = azure_core::http::headers::HeaderName::from_static("azure-asyncoperation");
        let location = response.headers().get_str(&header).map_err(|_| {
            ArmError::Decode("Run Command answered without Azure-AsyncOperation".into())
        })?;
        Url::parse(location).map_err(|e| ArmError::Decode(format!("Azure-AsyncOperation: {e}")))
    }

    /// GETs an absolute URL on the ARM endpoint (e.g. an operation status) and parses it.
    pub async fn get_absolute<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ArmError> {
        self.get_url(url).await
    }

    /// GETs one resource and parses it; a body that is not valid JSON is re-read a few times.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ArmError> {
        let url = self.url(path_and_query)?;
        self.get_url(&url).await
    }

    async fn get_url<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ArmError> {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0;
        loop {
            let bytes = self.get_bytes(url).await?;
            let parsed = serde_json::from_slice::<T>(&bytes).or_else(|e| {
                // Invalid UTF-8 or unpaired surrogate escapes: repair and parse again.
                match super::sanitize::repair(&bytes) {
                    Some(fixed) => serde_json::from_slice::<T>(&fixed).map_err(|_| e),
                    None => Err(e),
                }
            });
            match parsed {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.decode_retries => {
                    attempt += 1;
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("re-reading {url}: {e}");
                }
                Err(e) => return Err(ArmError::Decode(format!("{}: {e}", url.path()))),
            }
        }
    }

    /// Lists a collection page by page, following `nextLink`. Stops with
    /// [`ArmError::PagingLoop`] when a `nextLink` repeats a page already read.
    pub fn list<T: LenientDecode + Send + 'static>(
        &self,
        path_and_query: &str,
    ) -> impl Stream<Item = Result<Vec<Lenient<T>>, ArmError>> + Send + 'static {
        let client = self.clone();
        let first = self.url(path_and_query);
        futures::stream::unfold(
            (Some(first), HashSet::<String>::new()),
            move |(next, mut seen)| {
                let client = client.clone();
                async move {
                    let url = match next? {
                        Ok(u) => u,
                        Err(e) => return Some((Err(e), (None, seen))),
                    };
                    if seen.len() >= client.max_pages_per_listing {
                        let e = ArmError::Limit(format!(
                            "the listing has more than {} pages",
                            client.max_pages_per_listing
                        ));
                        return Some((Err(e), (None, seen)));
                    }
                    seen.insert(url.to_string());
                    match client.get_url::<Page<T>>(&url).await {
                        Ok(page) => {
                            let next = match page.next_link.filter(|l| !l.is_empty()) {
                                None => None,
                                Some(link) => match Url::parse(&link) {
                                    Err(e) => Some(Err(ArmError::Decode(format!(
                                        "nextLink '{link}' is not a URL: {e}"
                                    )))),
                                    Ok(u) if seen.contains(u.as_str()) => {
                                        Some(Err(ArmError::PagingLoop(link)))
                                    }
                                    Ok(u) => Some(Ok(u)),
                                },
                            };
                            Some((Ok(page.value), (next, seen)))
                        }
                        Err(e) => Some((Err(e), (None, seen))),
                    }
                }
            },
        )
    }

    /// Reads every page of a collection; the items read before an error are returned with it.
    pub async fn list_all<T: LenientDecode + Send + 'static>(
        &self,
        path_and_query: &str,
    ) -> (Vec<Lenient<T>>, Option<ArmError>) {
        use futures::StreamExt;
        let mut items = Vec::new();
        let stream = self.list::<T>(path_and_query);
        futures::pin_mut!(stream);
        while let Some(page) = stream.next().await {
            match page {
                Ok(mut v) => items.append(&mut v),
                Err(e) => return (items, Some(e)),
            }
        }
        (items, None)
    }

    /// The counters so far.
    pub fn stats(&self) -> CallStats {
        let c = &self.counters;
        CallStats {
            calls: c.calls.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            by_status: c.by_status.lock().unwrap().clone(),
            transport_errors: c.transport_errors.load(Ordering::Relaxed),
            token_renewals: c.token_renewals.load(Ordering::Relaxed),
            rate_limit_wait_ms: self.limiter.waited().as_millis() as u64,
            compute_limit_wait_ms: self.provider.waited().as_millis() as u64,
            retry_after_capped: c.retry_after_capped.load(Ordering::Relaxed),
        }
    }
}

/// The innermost cause's message (the retry policy wraps errors in context of its own).
fn root_message(e: &azure_core::Error) -> String {
    let mut msg = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        msg = s.to_string();
        cur = s.source();
    }
    // An error built from a message has no source: its own text is the cause.
    if msg.starts_with("non-transport error") {
        if let Some(m) = e.get_ref().map(|r| r.to_string()) {
            return m;
        }
    }
    msg
}

/// The error and its causes on one line (tokens never appear in these messages).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

/// Builds the HTTP client for ARM, Microsoft Graph and the identity platform: TLS always
/// verified, plus the `--ca-cert` root when given, a per-request timeout, and no redirects.
pub fn http_client(
    ca_cert_pem: Option<&[u8]>,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(256)
        // ARM, Microsoft Graph and the identity platform do not redirect the requests scready
        // sends, and a redirect followed with credentials hands them to another host: a 3xx
        // is returned as it is and becomes an error naming its status and target host.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("scready/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_cert_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in the PEM file".into());
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_and_the_run_command_post_pass_the_guard() {
        let vm = Url::parse("https://h/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v/runCommand?api-version=1").unwrap();
        let other = Url::parse("https://h/subscriptions/s/providers/Microsoft.SerialConsole/consoleServices/default/disableConsole").unwrap();
        assert!(permitted(Method::Get, &other, false));
        assert!(
            !permitted(Method::Post, &vm, false),
            "off without --guest-checks"
        );
        assert!(permitted(Method::Post, &vm, true));
        assert!(!permitted(Method::Post, &other, true));
        assert!(!permitted(Method::Put, &vm, true));
        assert!(!permitted(Method::Delete, &other, true));
    }

    #[test]
    fn limit_key_is_the_subscription() {
        let u = Url::parse("https://h/subscriptions/ABC/providers/x?api-version=1").unwrap();
        assert_eq!(limit_key(&u), "abc");
        let u = Url::parse("https://h/subscriptions?api-version=1").unwrap();
        assert_eq!(limit_key(&u), "tenant");
    }
}
