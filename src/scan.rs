//! One scan end to end: credentials → ARM client → discovery → evaluation → reports.
//! Errors say which phase failed.

use crate::arm::client::http_client;
use crate::arm::{ArmClient, ArmClientOptions};
use crate::auth::{self, AuthMode, AuthSettings, TokenSource};
use crate::checks;
use crate::cloud::Cloud;
use crate::discover::{self, hosts::HostResolver, DiscoverOptions, Progress};
use crate::findings::{FindingStatus, Verdict};
use crate::history::{History, HistorySummary};
use crate::inventory::{AccessAudit, Inventory, PrincipalRef};
use crate::policy::Policy;
use crate::report;
use crate::result::{RunInfo, ScanResult};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The phase a scan failed in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// Bad options or policy.
    #[error("configuration: {0}")]
    Configuration(String),
    /// No token.
    #[error("credentials: {0}")]
    Credentials(String),
    /// The scope could not be determined (a management group could not be read); nothing
    /// was scanned.
    #[error("scope: {0}")]
    Scope(String),
    /// Reports could not be written.
    #[error("writing reports: {0}")]
    Output(String),
}

/// When a scan's exit code is 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any blocked instance or failing error-severity finding.
    Error,
    /// Any failing finding, warnings included.
    Warning,
    /// Never.
    Never,
}

/// Everything a scan needs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The cloud.
    pub cloud: Cloud,
    /// Credential mode.
    pub auth: AuthMode,
    /// Extra trusted root (PEM).
    pub ca_cert: Option<Vec<u8>>,
    /// Discovery scope.
    pub discover: DiscoverOptions,
    /// Policy file to layer over the built-in one.
    pub policy: Option<PathBuf>,
    /// Output directory.
    pub out: PathBuf,
    /// Whether `out` was chosen by default (then `latest` is updated).
    pub out_is_default: bool,
    /// `--format` names.
    pub formats: Vec<String>,
    /// Exit-code threshold.
    pub fail_on: FailOn,
    /// ARM client settings.
    pub client: ArmClientOptions,
    /// Also write the inventory here.
    pub save_inventory: Option<PathBuf>,
    /// Print nothing on success.
    pub quiet: bool,
    /// Access checks, network probe and guest checks.
    pub access: AccessOptions,
    /// The history database to record the run in (`None`: `--no-history`).
    pub history: Option<PathBuf>,
    /// After recording, keep only this many newest runs in the history (`--history-keep`).
    pub history_keep: Option<usize>,
    /// Progress on stderr during discovery.
    pub progress: crate::progress::ProgressMode,
}

/// Whose access is audited, and the environment and guest checks.
#[derive(Clone, Debug)]
pub struct AccessOptions {
    /// Principals to audit (`--principal`, `--principals`); empty: as the scanning token says
    /// (a user's token: that user; an application's: nobody; see [`audited_by_default`]).
    pub principals: Vec<PrincipalRef>,
    /// Probe the Serial Console hosts (`websocket-blocked`).
    pub network_probe: bool,
    /// Hosts to probe instead of the cloud's (`host:port`).
    pub serial_console_endpoints: Vec<String>,
    /// Run the opt-in guest checks with these limits.
    pub guest: Option<crate::discover::guest::GuestOptions>,
}

impl Default for AccessOptions {
    fn default() -> Self {
        AccessOptions {
            principals: Vec::new(),
            network_probe: true,
            serial_console_endpoints: Vec::new(),
            guest: None,
        }
    }
}

/// Parses a `--principals` file: one object id per line, optionally followed by a label
/// (after whitespace or a comma); `#` starts a comment. The file must be a regular file of at
/// most 16 MiB naming at most 100,000 principals
/// ([`crate::config_file::MAX_PRINCIPALS`]); labels are kept to 4 KiB.
pub fn read_principals(path: &std::path::Path) -> Result<Vec<PrincipalRef>, String> {
    use crate::config_file::{read_local_text, MAX_PRINCIPALS, MAX_PRINCIPALS_BYTES};
    let text = read_local_text(path, "--principals", MAX_PRINCIPALS_BYTES)?;
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (id, label) = match line.find(|c: char| c.is_whitespace() || c == ',') {
            Some(i) => (
                &line[..i],
                line[i + 1..].trim_matches(|c: char| c.is_whitespace() || c == ','),
            ),
            None => (line, ""),
        };
        let id = crate::cli::scan::subscription_id(id).map_err(|_| {
            let shown: String = id.chars().take(80).collect();
            format!(
                "{}:{}: '{}' is not an object id (a GUID)",
                path.display(),
                n + 1,
                crate::text::display_safe(&shown)
            )
        })?;
        if out.len() == MAX_PRINCIPALS {
            return Err(format!(
                "--principals {}: more than {MAX_PRINCIPALS} principals (the limit)",
                path.display()
            ));
        }
        out.push(PrincipalRef {
            object_id: id,
            label: crate::text::bound(label).into_owned(),
            scanner: false,
        });
    }
    if out.is_empty() {
        return Err(format!("{}: no object id in the file", path.display()));
    }
    Ok(out)
}

/// What a finished scan produced.
#[derive(Debug)]
pub struct ScanOutcome {
    /// The result.
    pub result: ScanResult,
    /// Files written.
    pub written: Vec<PathBuf>,
    /// The process exit code (0, 1 or 2).
    pub exit_code: u8,
}

/// The exit code for a result: 2 when incomplete, 1 when findings reach `fail_on`, else 0.
pub fn exit_code(r: &ScanResult, fail_on: FailOn) -> u8 {
    if r.run.partial {
        return 2;
    }
    let hit = match fail_on {
        FailOn::Never => false,
        FailOn::Error => {
            r.count(Verdict::Blocked) > 0
                || r.findings.iter().any(|f| f.status == FindingStatus::Fail)
        }
        FailOn::Warning => r
            .findings
            .iter()
            .any(|f| matches!(f.status, FindingStatus::Fail | FindingStatus::Warn)),
    };
    u8::from(hit)
}

/// Today's date (UTC) as `YYYY-MM-DD`, for waiver expiry.
pub fn today() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::now_utc()
        .date()
        .format(&fmt)
        .unwrap_or_default()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Evaluates an inventory (on the blocking pool, where rayon runs) and assembles the result.
/// Every string of the inventory is bounded first ([`Inventory::bound_text`]).
pub async fn evaluate(
    mut inventory: Inventory,
    policy: Arc<Policy>,
    mut run: RunInfo,
    calls: crate::arm::CallStats,
    started: Instant,
) -> ScanResult {
    let today = today();
    tokio::task::spawn_blocking(move || {
        // Discovery's page buffers and models are gone: give their memory back first.
        crate::release_free_memory();
        inventory.bound_text();
        let evaluation = checks::evaluate(&inventory, &policy, &today);
        run.finished_at = now_rfc3339();
        run.duration_ms = started.elapsed().as_millis() as u64;
        ScanResult::new(run, &policy, calls, inventory, evaluation)
    })
    .await
    .expect("evaluation does not panic")
}

/// Runs a scan with a credential from `--auth`.
pub async fn run(options: &ScanOptions, env: auth::EnvLookup) -> Result<ScanOutcome, ScanError> {
    let http = http_client(options.ca_cert.as_deref(), options.client.request_timeout)
        .map_err(|e| ScanError::Configuration(format!("--ca-cert: {e}")))?;
    // Everything that can be checked locally is checked before the first request.
    let policy = Policy::load(options.policy.as_deref())
        .map_err(|e| ScanError::Configuration(e.to_string()))?;
    report::sinks(&options.formats).map_err(ScanError::Configuration)?;
    report::check_writable(&options.out).map_err(ScanError::Output)?;
    open_history(options)?;
    let settings = AuthSettings {
        mode: options.auth,
        cloud: options.cloud.clone(),
        http: http.clone(),
        env,
    };
    let (source, mode) = auth::token_source(&settings)
        .await
        .map_err(|e| ScanError::Credentials(e.to_string()))?;
    let graph = auth::graph_token_source(&settings, mode);
    run_with(options, policy, http, source, graph).await
}

/// Opens (creating or migrating) the history database, when there is one.
fn open_history(options: &ScanOptions) -> Result<Option<History>, ScanError> {
    options
        .history
        .as_deref()
        .map(History::open)
        .transpose()
        .map_err(|e| ScanError::Configuration(format!("--history {e}")))
}

/// Sets a pending history to "not recorded" when dropped unset (see `run_with`'s reports).
struct SetOnDrop<'a>(&'a report::PendingHistory);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

/// Records the run and returns its trend and diff for the reports; a failure is reported on
/// stderr and leaves the reports without history.
pub(crate) fn record_history(history: &mut History, result: &ScanResult) -> Option<HistorySummary> {
    let started = Instant::now();
    let recorded = history.record(result).map(|id| (id, started.elapsed()));
    match recorded.and_then(|(id, took)| history.summary(id).map(|s| (s, took))) {
        Ok((summary, took)) => {
            tracing::info!(
                record_seconds = took.as_secs_f64(),
                summary_seconds = (started.elapsed() - took).as_secs_f64(),
                "history recorded"
            );
            Some(summary)
        }
        Err(e) => {
            crate::text::eprint_safe(&format!("warning: history not recorded: {e}\n"));
            None
        }
    }
}

/// Keeps the `keep` newest runs (`--history-keep`), once the reports are written; a failure is
/// reported on stderr and leaves the history as recorded.
fn prune_history(history: &mut History, keep: usize) {
    match history.prune(Some(keep), None, time::OffsetDateTime::now_utc()) {
        Ok(o) => tracing::info!(
            removed = o.removed.len(),
            kept = o.kept,
            bytes = o.bytes_after,
            "history pruned"
        ),
        Err(e) => crate::text::eprint_safe(&format!("warning: history not pruned: {e}\n")),
    }
}

/// Whether group memberships may be needed (the access checks are on).
fn needs_graph(options: &ScanOptions, policy: &Policy) -> bool {
    let _ = options;
    policy.severity("rbac-vm-access") != crate::policy::Severity::Off
        || policy.severity("rbac-storage-access") != crate::policy::Severity::Off
}

/// Runs a scan with a given token source (the demo uses the simulator's token).
pub async fn run_with(
    options: &ScanOptions,
    policy: Policy,
    http: reqwest::Client,
    source: Arc<dyn TokenSource>,
    graph: Result<Arc<dyn TokenSource>, String>,
) -> Result<ScanOutcome, ScanError> {
    let started = Instant::now();
    let sinks = report::sinks(&options.formats).map_err(ScanError::Configuration)?;
    report::check_writable(&options.out).map_err(ScanError::Output)?;
    let mut history = open_history(options)?;
    let mut client_options = options.client.clone();
    client_options.allow_run_command = options.access.guest.is_some();
    // Every client of this scan (ARM, Graph) stops at the same moment.
    client_options.deadline = client_options
        .max_duration
        .map(|d| tokio::time::Instant::now() + d);
    // ARM reads get a connection pool of their own (`http` serves the rest: name look-ups,
    // Graph), closed as soon as the last ARM request is done: hundreds of idle TLS connections
    // would otherwise stay resident while evaluation builds the scan's largest structures.
    let arm_http = http_client(options.ca_cert.as_deref(), options.client.request_timeout)
        .map_err(|e| ScanError::Configuration(format!("--ca-cert: {e}")))?;
    let client = ArmClient::new(
        options.cloud.arm_endpoint.clone(),
        arm_http,
        source.clone(),
        &client_options,
    )
    .map_err(|e| ScanError::Configuration(e.to_string()))?;
    let resolver = HostResolver::new(&options.cloud, http.clone());
    let progress = Arc::new(Progress::default());
    let run = RunInfo {
        tool: "scready".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: now_rfc3339(),
        cloud: options.cloud.name.clone(),
        requested_subscriptions: options.discover.subscriptions.clone(),
        excluded_subscriptions: options.discover.exclude.clone(),
        shard: options.discover.shard,

        management_groups: options.discover.management_groups.clone(),
        excluded_management_groups: options.discover.exclude_management_groups.clone(),
        ..Default::default()
    };
    tracing::info!(endpoint = %options.cloud.arm_endpoint, "discovery started");
    // The scope first: a management group that cannot be read stops the scan before any
    // subscription is read.
    let selection = discover::scope::select(&client, &options.discover)
        .await
        .map_err(|e| ScanError::Scope(e.to_string()))?;
    tracing::info!(
        subscriptions = selection.subscriptions.len(),
        "scope decided"
    );
    let network = async {
        // Whose access is audited is known before anything is listed, so that the access
        // listings of each subscription run alongside its other listings.
        let (principals, audit) = audited_principals(&options.access, source.as_ref()).await;
        let read_access = !principals.is_empty() && needs_graph(options, &policy);
        let (mut inventory, prefetched) = discover::discover_selected(
            &client,
            &options.cloud,
            &resolver,
            &options.discover,
            selection,
            progress.clone(),
            read_access,
        )
        .await;
        tracing::info!(
            subscriptions = inventory.subscriptions.len(),
            instances = inventory.instances.len(),
            gaps = inventory.gaps.len(),
            "discovery finished"
        );
        inventory.principals = principals;
        inventory.access_audit = Some(audit);
        if read_access {
            let graph_client = match graph {
                Ok(g) => ArmClient::new(
                    options.cloud.graph_endpoint.clone(),
                    http.clone(),
                    g,
                    &client_options,
                )
                .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            discover::access::discover_access(
                &client,
                graph_client.as_ref().map_err(Clone::clone),
                &mut inventory,
                prefetched,
            )
            .await;
            tracing::info!("access read");
        }
        if options.access.network_probe
            && policy.severity("websocket-blocked") != crate::policy::Severity::Off
        {
            let targets = if options.access.serial_console_endpoints.is_empty() {
                options.cloud.serial_console_hosts.clone()
            } else {
                options.access.serial_console_endpoints.clone()
            };
            inventory.environment = Some(
                crate::probe::probe(
                    &targets,
                    &resolver,
                    options.ca_cert.as_deref(),
                    Duration::from_secs(10),
                )
                .await,
            );
        }
        if let Some(guest) = &options.access.guest {
            inventory.guest = Some(discover::guest::run(&client, &inventory, guest).await);
        }
        inventory
    };
    let counters = progress.clone();
    let mut inventory =
        crate::progress::watch(options.progress, counters, client.clone(), network).await;
    inventory.bound_text();
    if let Some(path) = &options.save_inventory {
        report::write_atomic(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &inventory).map_err(std::io::Error::other)
        })
        .map_err(|e| ScanError::Output(format!("{}: {e}", path.display())))?;
    }
    let calls = client.stats();
    drop(client);
    let policy = Arc::new(policy);
    let mut result = evaluate(inventory, policy.clone(), run, calls, started).await;
    tracing::info!(findings = result.findings.len(), "evaluation finished");
    result.run.status = if result.run.partial {
        "partial"
    } else {
        "complete"
    }
    .into();
    // The rollout plan, when asked for: its headline goes into the reports (the dashboard
    // links plan.md), its files beside them.
    let plan = if report::wants_plan(&options.formats) {
        let inventory = result.inventory.clone();
        let policy = policy.clone();
        let p = tokio::task::spawn_blocking(move || {
            crate::plan::build(
                inventory,
                &policy,
                &crate::plan::PlanOptions {
                    today: today(),
                    ..Default::default()
                },
            )
        })
        .await
        .expect("planning does not panic");
        result.plan = Some(p.headline());
        tracing::info!(steps = p.steps.len(), "plan computed");
        Some(p)
    } else {
        None
    };
    tracing::info!(out = %options.out.display(), "writing reports");
    let output = |e: std::io::Error| ScanError::Output(format!("{}: {e}", options.out.display()));
    let order: Vec<&'static str> = sinks.iter().map(|s| s.file_name()).collect();
    let mut written = match history.as_mut() {
        Some(h) => {
            // The reports are written while the run is recorded: those that show its trend and
            // diff prepare the rest and wait for them (`HistoryView::Pending`).
            let recorded = report::PendingHistory::default();
            let written = std::thread::scope(|scope| {
                let view = report::HistoryView::Pending(&recorded);
                let (result, out, sinks) = (&result, &options.out, &sinks);
                let writer = scope.spawn(move || report::write_all(result, view, out, sinks));
                // Set even if recording panics, so that no report waits for ever.
                let unblock = SetOnDrop(&recorded);
                recorded.set(record_history(h, result));
                drop(unblock);
                writer.join().expect("a report sink does not panic")
            });
            result.history = recorded.into_inner();
            written
        }
        None => report::write_all(
            &result,
            report::HistoryView::Known(None),
            &options.out,
            &sinks,
        ),
    }
    .map_err(output)?;
    // In the order of --format, whichever were written first.
    written.sort_by_key(|p| {
        order
            .iter()
            .position(|f| p.file_name() == Some(std::ffi::OsStr::new(f)))
    });
    if let Some(mut p) = plan {
        p.source.input = options.out.join("report.json").display().to_string();
        written.extend(
            crate::plan::render::write(&p, &options.out)
                .map_err(|e| ScanError::Output(format!("{}: {e}", options.out.display())))?,
        );
    }
    if options.out_is_default {
        let _ = report::update_latest(&options.out);
    }
    if let (Some(h), Some(keep)) = (history.as_mut(), options.history_keep) {
        prune_history(h, keep);
    }
    let exit_code = exit_code(&result, options.fail_on);
    Ok(ScanOutcome {
        result,
        written,
        exit_code,
    })
}

/// The principals whose access is audited, and why: the named ones, else as the scanning token
/// says (see [`audited_by_default`]).
async fn audited_principals(
    access: &AccessOptions,
    source: &dyn TokenSource,
) -> (Vec<PrincipalRef>, AccessAudit) {
    if !access.principals.is_empty() {
        return (
            access.principals.clone(),
            AccessAudit {
                given: true,
                token_kind: None,
                reason: "principals named with --principal/--principals".into(),
            },
        );
    }
    let identity = match source.token().await {
        Ok(t) => auth::token_identity(t.secret()),
        // Discovery reports the credential's failure; nobody can be named from it.
        Err(_) => auth::TokenIdentity {
            kind: auth::TokenKind::Unknown,
            object_id: None,
        },
    };
    audited_by_default(&identity)
}

/// Whose access is audited when nobody is named, from the scanning token's claims.
///
/// A user's token: that user (the person running the scan is a person who may open Serial
/// Console). An application's token: nobody — a nightly job runs as a Reader service principal
/// or managed identity by design, and auditing its own access would report every instance as
/// blocked. A token that does not say: the identity it names, as before the kind was read, and
/// the reason says which one.
pub fn audited_by_default(identity: &auth::TokenIdentity) -> (Vec<PrincipalRef>, AccessAudit) {
    use auth::TokenKind;
    let oid = identity.object_id.as_deref().map(str::to_ascii_lowercase);
    let scanner = |oid: &str| {
        vec![PrincipalRef {
            object_id: oid.to_string(),
            label: "scanning identity".into(),
            scanner: true,
        }]
    };
    let (principals, reason) = match (identity.kind, &oid) {
        (TokenKind::User, Some(oid)) => (
            scanner(oid),
            format!("user token: auditing the signed-in user {oid}"),
        ),
        (TokenKind::User, None) => (
            Vec::new(),
            "user token without an object id: nobody to audit".to_string(),
        ),
        (TokenKind::App, _) => (
            Vec::new(),
            "application token: a service principal's or managed identity's own access is not audited".to_string(),
        ),
        (TokenKind::Unknown, Some(oid)) => (
            scanner(oid),
            format!("token kind unknown: auditing the scanning identity {oid}"),
        ),
        (TokenKind::Unknown, None) => (
            Vec::new(),
            "token kind unknown and no object id in it: nobody to audit".to_string(),
        ),
    };
    (
        principals,
        AccessAudit {
            given: false,
            token_kind: Some(identity.kind),
            reason,
        },
    )
}

/// The default output directory: `reports/<UTC timestamp>/`.
pub fn default_out_dir() -> PathBuf {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]Z");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_else(|_| "scan".into());
    PathBuf::from("reports").join(stamp)
}

/// Default ARM client settings for a scan.
pub fn default_client_options(concurrency: usize, timeout_secs: u64) -> ArmClientOptions {
    ArmClientOptions {
        concurrency,
        request_timeout: Duration::from_secs(timeout_secs.max(1)),
        ..ArmClientOptions::default()
    }
}

/// Parses a `--max-duration`: a whole number with a unit, `s`, `m` or `h` (`90m`, `2h`); a bare
/// number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 90m or 2h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("'{text}': the unit must be s, m or h")),
    };
    if secs == 0 {
        return Err("the duration must be more than 0".into());
    }
    Ok(Duration::from_secs(secs))
}
