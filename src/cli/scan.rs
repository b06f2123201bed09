//! `scready scan` and `scready demo`.

use crate::arm::ArmClientOptions;
use crate::auth::AuthMode;
use crate::cloud::Cloud;
use crate::discover::DiscoverOptions;
use crate::progress::ProgressMode;
use crate::scan::{self, FailOn, ScanOptions};
use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Parses a subscription id: a GUID.
pub fn subscription_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    let ok = t.len() == 36
        && t.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(format!(
            "'{s}' is not a subscription id (a GUID such as 00000000-0000-0000-0000-000000000000)"
        ))
    }
}

/// Parses a management group id: the group's name (the last segment of its resource id; the
/// root group's is the tenant id), at most 90 letters, digits, `-`, `_`, `.`, `(` and `)`. The
/// rule is the one Microsoft's Enterprise Policy as Code checks group names against
/// (`Test-HydrationManagementGroupName`, Azure/enterprise-azure-policy-as-code); Microsoft
/// Learn's "Create a management group" states no character set, so nothing stricter is refused.
pub fn management_group_id(s: &str) -> Result<String, String> {
    let t = s.trim();
    let ok = !t.is_empty()
        && t.len() <= 90
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        Ok(t.to_string())
    } else {
        Err(format!(
            "'{}' is not a management group id (its name, such as contoso-landingzones: at most \
             90 letters, digits, '-', '_', '.', '(' or ')')",
            crate::text::display_safe(s)
        ))
    }
}

/// Reads a `--subscriptions-file`: one subscription id (a GUID) per line; `#` starts a
/// comment, blank lines are skipped. A line that is not a GUID is an error naming the file
/// and the line.
pub fn read_subscriptions_file(path: &std::path::Path) -> Result<Vec<String>, String> {
    use crate::config_file::{read_local_text, MAX_SUBSCRIPTIONS_FILE_BYTES};
    let text = read_local_text(path, "--subscriptions-file", MAX_SUBSCRIPTIONS_FILE_BYTES)?;
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let id = subscription_id(line).map_err(|_| {
            let shown: String = line.chars().take(80).collect();
            format!(
                "--subscriptions-file {}:{}: '{}' is not a subscription id (a GUID such as \
                 00000000-0000-0000-0000-000000000000)",
                path.display(),
                n + 1,
                crate::text::display_safe(&shown)
            )
        })?;
        out.push(id);
    }
    Ok(out)
}

/// Policy, output and exit-code options shared by `scan` and `evaluate`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Policy file layered over the built-in policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output directory (default: reports/<UTC timestamp>/, with reports/latest pointing at it).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Report formats, comma-separated: csv, json, html, md, junit, prom, ocsf (findings as an
    /// OCSF 1.8.0 Compliance Finding JSON array), ocsf-jsonl (the same, one event per line), and
    /// plan (the rollout plan: plan.md, plan.json and plan.sh beside the reports, its headline
    /// in report.html).
    #[arg(long, value_delimiter = ',', default_value = crate::report::DEFAULT_FORMATS)]
    pub format: Vec<String>,
    /// Exit with 1 when findings reach this level.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Print nothing but errors (no summary, no progress).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Where a scan is recorded.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// History database the run is recorded in, for trends and `scready diff`.
    #[arg(long, value_name = "FILE", default_value = crate::history::DEFAULT_HISTORY_FILE)]
    pub history: PathBuf,
    /// Do not record the run.
    #[arg(long, conflicts_with = "history")]
    pub no_history: bool,
    /// After recording the run, keep only the N newest runs in the history database (as
    /// `scready history prune --keep N`: older runs, and what only they mention, are removed).
    #[arg(long, value_name = "N", conflicts_with = "no_history", value_parser = clap::value_parser!(u64).range(1..))]
    pub history_keep: Option<u64>,
}

/// Options of `scready scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Policy, output and exit code.
    #[command(flatten)]
    pub report: ReportArgs,
    /// History database.
    #[command(flatten)]
    pub history: HistoryArgs,
    /// Scan only this subscription (repeatable); default: every subscription the credential sees.
    #[arg(long = "subscription", value_name = "ID", value_parser = subscription_id)]
    pub subscriptions: Vec<String>,
    /// Skip this subscription (repeatable).
    #[arg(long = "exclude-subscription", value_name = "ID", value_parser = subscription_id)]
    pub exclude: Vec<String>,
    /// Scan only shard K of N of the selected subscriptions (K counts from 0: 0/4 … 3/4).
    ///
    /// A subscription belongs to shard (first 8 bytes of SHA-256 of its lower-case id, as a
    /// big-endian number) mod N, the same in every version. Run N scans with the same options
    /// and K = 0 … N-1 (a Kubernetes Indexed Job: --shard $(JOB_COMPLETION_INDEX)/N), each into
    /// its own --out directory, then combine them with `scready merge`. The shard is recorded
    /// in report.json (run.shard) and in the history scope.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::discover::shard::Shard>,

    /// Scan the subscriptions listed in a file: one GUID per line, `#` comments.
    ///
    /// Added to --subscription and --management-group.
    #[arg(long = "subscriptions-file", value_name = "FILE")]
    pub subscriptions_file: Option<PathBuf>,
    /// Scan the subscriptions below this management group, through nested groups (repeatable).
    ///
    /// ID is the group's id (its name), not its display name. Combined with --subscription
    /// and --subscriptions-file (the union); the identity needs
    /// Microsoft.Management/managementGroups/descendants/read at the group (Reader or
    /// Management Group Reader at the group or above). A group that cannot be read stops the
    /// scan before any subscription is read (exit code 2).
    #[arg(long = "management-group", value_name = "ID", value_parser = management_group_id)]
    pub management_groups: Vec<String>,
    /// Skip the subscriptions below this management group, through nested groups (repeatable).
    #[arg(long = "exclude-management-group", value_name = "ID", value_parser = management_group_id)]
    pub exclude_management_groups: Vec<String>,
    /// Azure cloud.
    #[arg(long, default_value = "public", value_parser = ["public", "usgov", "china", "custom"])]
    pub cloud: String,
    /// ARM endpoint (with --cloud custom).
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<url::Url>,
    /// Entra ID authority host (with --cloud custom; default: the ARM endpoint).
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<url::Url>,
    /// An extra trusted root certificate (PEM), e.g. the simulator's CA.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// How to authenticate.
    #[arg(long, value_enum, default_value = "auto")]
    pub auth: AuthMode,
    /// ARM requests in flight at once.
    #[arg(long, default_value_t = crate::arm::client::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub request_timeout: u64,
    /// Also save the discovered inventory (for `scready evaluate`).
    #[arg(long, value_name = "FILE")]
    pub save_inventory: Option<PathBuf>,
    /// Audit the Serial Console access of this user, group or service principal (repeatable).
    ///
    /// Name the people or groups who will open Serial Console. Without --principal or
    /// --principals: a user's token (az login) audits that user; an application's token (a
    /// service principal or managed identity, as a nightly job runs) audits nobody, and the
    /// reports say "access not audited"; a token that does not say which it is audits the
    /// identity it names, and the reports say which.
    #[arg(long = "principal", value_name = "OBJECT_ID", value_parser = subscription_id)]
    pub principals: Vec<String>,
    /// Audit the principals listed in a file: one object id per line, optionally a label.
    ///
    /// Combined with --principal. The default without either is described under --principal.
    #[arg(long = "principals", value_name = "FILE")]
    pub principals_file: Option<PathBuf>,
    /// Skip the Serial Console reachability probe (websocket-blocked).
    #[arg(long)]
    pub no_network_probe: bool,
    /// Probe this Serial Console host instead of the cloud's (HOST[:PORT], repeatable).
    #[arg(long = "serial-console-endpoint", value_name = "HOST[:PORT]")]
    pub serial_console_endpoints: Vec<String>,
    /// Opt-in: ask running Windows VMs, through Run Command, about the sacsvr service.
    #[arg(long)]
    pub guest_checks: bool,
    /// With --guest-checks: ask at most this many VMs.
    #[arg(long, default_value_t = 20)]
    pub guest_checks_max: usize,
    /// With --guest-checks: give each VM this many seconds.
    #[arg(long, default_value_t = 120)]
    pub guest_check_timeout: u64,
    /// End the scan after this long (e.g. 90m, 2h): calls still running are cut off, the
    /// partial reports are written and the exit code is 2.
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = scan::parse_duration)]
    pub max_duration: std::time::Duration,
    /// The largest response body read, in MiB; a larger one is a coverage gap.
    #[arg(long, value_name = "MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_response_mb: u64,
}

fn cloud_of(args: &ScanArgs) -> anyhow::Result<Cloud> {
    if args.cloud == "custom" {
        let arm = args
            .arm_endpoint
            .clone()
            .context("--cloud custom needs --arm-endpoint URL")?;
        Ok(Cloud::custom(arm, args.authority_host.clone()))
    } else {
        if args.arm_endpoint.is_some() || args.authority_host.is_some() {
            anyhow::bail!("--arm-endpoint and --authority-host need --cloud custom");
        }
        Ok(Cloud::named(&args.cloud).expect("clap restricts the names"))
    }
}

/// Builds scan options from arguments.
pub fn options(args: &ScanArgs) -> anyhow::Result<ScanOptions> {
    let ca_cert = match &args.ca_cert {
        Some(p) => Some(
            crate::config_file::read_local(p, "--ca-cert", crate::config_file::MAX_CA_CERT_BYTES)
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let (out, out_is_default) = match &args.report.out {
        Some(o) => (o.clone(), false),
        None => (scan::default_out_dir(), true),
    };
    Ok(ScanOptions {
        cloud: cloud_of(args)?,
        auth: args.auth,
        ca_cert,
        discover: DiscoverOptions {
            subscriptions: explicit_subscriptions(args)?,
            exclude: args.exclude.clone(),
            management_groups: dedup(&args.management_groups),
            exclude_management_groups: dedup(&args.exclude_management_groups),
            subscription_parallelism: args.concurrency.max(4),
            shard: args.shard,
            ..Default::default()
        },
        policy: args.report.policy.clone(),
        out,
        out_is_default,
        formats: args.report.format.clone(),
        fail_on: args.report.fail_on,
        client: ArmClientOptions {
            max_duration: Some(args.max_duration),
            max_response_bytes: (args.max_response_mb as usize) << 20,
            ..scan::default_client_options(args.concurrency, args.request_timeout)
        },
        save_inventory: args.save_inventory.clone(),
        quiet: args.report.quiet,
        access: access_options(args)?,
        history: (!args.history.no_history).then(|| args.history.history.clone()),
        history_keep: args
            .history
            .history_keep
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        progress: if args.report.quiet {
            ProgressMode::Off
        } else {
            ProgressMode::Auto
        },
    })
}

/// `--subscription` and the `--subscriptions-file`, each once, in the order given.
fn explicit_subscriptions(args: &ScanArgs) -> anyhow::Result<Vec<String>> {
    let mut ids = args.subscriptions.clone();
    if let Some(file) = &args.subscriptions_file {
        let listed = read_subscriptions_file(file).map_err(anyhow::Error::msg)?;
        if listed.is_empty() {
            anyhow::bail!(
                "--subscriptions-file {}: no subscription id in the file",
                file.display()
            );
        }
        ids.extend(listed);
    }
    Ok(dedup(&ids))
}

/// The values once each (case-insensitively), in the order given.
fn dedup(values: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .filter(|v| seen.insert(v.to_ascii_lowercase()))
        .cloned()
        .collect()
}

fn access_options(args: &ScanArgs) -> anyhow::Result<scan::AccessOptions> {
    let mut principals: Vec<crate::inventory::PrincipalRef> = args
        .principals
        .iter()
        .map(|id| crate::inventory::PrincipalRef {
            object_id: id.clone(),
            label: String::new(),
            scanner: false,
        })
        .collect();
    if let Some(file) = &args.principals_file {
        principals.extend(scan::read_principals(file).map_err(anyhow::Error::msg)?);
    }
    let mut seen = std::collections::HashSet::new();
    principals.retain(|p| seen.insert(p.object_id.clone()));
    Ok(scan::AccessOptions {
        principals,
        network_probe: !args.no_network_probe,
        serial_console_endpoints: args.serial_console_endpoints.clone(),
        guest: args
            .guest_checks
            .then(|| crate::discover::guest::GuestOptions {
                max: args.guest_checks_max,
                timeout: std::time::Duration::from_secs(args.guest_check_timeout.max(1)),
                ..Default::default()
            }),
    })
}

/// `scready scan`.
pub async fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let options = options(&args)?;
    let env: crate::auth::EnvLookup = Arc::new(|k: &str| std::env::var(k).ok());
    // Reports are written by synchronous code after the last await, so an interruption either
    // stops the scan before any file is written or waits for the files to be complete.
    let result = tokio::select! {
        biased;
        r = scan::run(&options, env) => r,
        _ = super::wait_for_signal() => {
            if options.out_is_default {
                let _ = std::fs::remove_dir(&options.out);
            }
            crate::text::eprint_safe(&format!(
                "interrupted: the scan stopped before writing its reports; {} was left as it was\n",
                options.out.display()
            ));
            return Ok(ExitCode::from(super::EXIT_INCOMPLETE));
        }
    };
    match result {
        Ok(outcome) => {
            if !options.quiet {
                let shard = match outcome.result.run.shard {
                    Some(s) => format!(
                        "shard {s}: {} of the selected subscriptions; combine the {} shards' \
                         results with `scready merge`\n",
                        outcome.result.coverage.subscriptions, s.count
                    ),
                    None => String::new(),
                };
                crate::text::print_safe(&format!(
                    "{shard}{}",
                    crate::report::summary::text(&outcome.result, &outcome.written)
                ));
            }
            Ok(ExitCode::from(outcome.exit_code))
        }
        Err(e) => {
            crate::text::eprint_safe(&format!("error: {e}\n"));
            Ok(ExitCode::from(super::EXIT_INCOMPLETE))
        }
    }
}

/// Options of `scready demo`.
#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory (the demo's history database is kept there too).
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    /// Report formats, comma-separated: csv, json, html, md, junit, prom, ocsf (findings as an
    /// OCSF 1.8.0 Compliance Finding JSON array), ocsf-jsonl (the same, one event per line)
    /// (the rollout plan, plan, is always written).
    #[arg(long, value_delimiter = ',', default_value = crate::report::DEFAULT_FORMATS)]
    pub format: Vec<String>,
    /// Do not take a screenshot of report.html (taken when Chromium is installed).
    #[arg(long)]
    pub no_screenshot: bool,
}

/// `scready demo`: the simulator with the built-in demo fleet, scanned end to end.
#[cfg(feature = "sim")]
pub async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    use crate::auth::{StaticToken, TokenSource};
    use crate::policy::Policy;
    use scready_sim::{SimConfig, Simulator};
    let fleet = scready_sim::demo::demo_fleet();
    let sim = Simulator::start(&fleet, SimConfig::default()).await?;
    let scanner = scready_sim::generate::scanner_principal(&fleet)
        .context("the demo fleet has no scanner principal")?;
    let token = sim
        .issue_token(&scanner.id)
        .context("the simulator issues the scanner a token")?;
    println!(
        "demo: simulator at {} serving {} subscriptions and {} instances",
        sim.base_url(),
        fleet.subscriptions.len(),
        fleet.instance_count()
    );
    // The preflight question: can the on-call operator open Serial Console everywhere?
    let oncall = fleet
        .principals
        .iter()
        .find(|p| p.display_name.as_deref() == Some(scready_sim::generate::ONCALL_USER_NAME))
        .map(|p| crate::inventory::PrincipalRef {
            object_id: p.id.to_ascii_lowercase(),
            label: p.display_name.clone().unwrap_or_default(),
            scanner: false,
        });
    if let Some(p) = &oncall {
        println!(
            "demo: auditing the Serial Console access of {}",
            p.display()
        );
    }
    let base = url::Url::parse(&sim.base_url())?;
    let options = ScanOptions {
        cloud: Cloud::custom(base.clone(), Some(base)),
        auth: AuthMode::Token,
        ca_cert: Some(sim.ca_pem().as_bytes().to_vec()),
        discover: DiscoverOptions {
            subscription_parallelism: 16,
            ..Default::default()
        },
        policy: None,
        out: args.out.clone(),
        out_is_default: false,
        // The demo writes the rollout plan beside its reports (plan.md, plan.json, plan.sh).
        formats: {
            let mut f = args.format.clone();
            if !crate::report::wants_plan(&f) {
                f.push("plan".into());
            }
            f
        },
        fail_on: FailOn::Never,
        client: ArmClientOptions::default(),
        save_inventory: None,
        quiet: false,
        access: scan::AccessOptions {
            principals: oncall.iter().cloned().collect(),
            ..Default::default()
        },
        history: Some(args.out.join("history.sqlite")),
        history_keep: None,
        progress: ProgressMode::Auto,
    };
    let http =
        crate::arm::client::http_client(options.ca_cert.as_deref(), options.client.request_timeout)
            .map_err(anyhow::Error::msg)?;
    let source: Arc<dyn TokenSource> = Arc::new(StaticToken::new(token));
    let graph: Arc<dyn TokenSource> = Arc::new(StaticToken::new(
        sim.issue_graph_token(&scanner.id)
            .context("the simulator issues a Graph token")?,
    ));
    let outcome = scan::run_with(&options, Policy::builtin(), http, source, Ok(graph)).await?;
    crate::text::print_safe(&crate::report::summary::text(
        &outcome.result,
        &outcome.written,
    ));
    let stats = sim.stats();
    println!(
        "simulator: {} ARM requests served, {} writes attempted",
        stats.arm_requests, stats.non_get_requests
    );
    sim.shutdown().await;
    let html = args.out.join("report.html");
    if !args.no_screenshot && html.is_file() {
        match crate::browser::Chromium::find() {
            Some(chromium) => {
                let png = args.out.join("report.png");
                match chromium.screenshot(&html, &png, 1400, 1000) {
                    Ok(()) => println!("screenshot: {}", png.display()),
                    Err(e) => eprintln!("warning: no screenshot: {e}"),
                }
            }
            None => println!(
                "screenshot: skipped (no Chromium found; install the chromium package or set {})",
                crate::browser::CHROMIUM_ENV
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}
