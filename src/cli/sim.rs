//! `scready sim serve` and `scready sim generate`.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use scready_sim::answer_key::AnswerKey;
use scready_sim::compute::{ComputeThrottle, StatusOnlyShape};
use scready_sim::faults::FaultFile;
use scready_sim::fleet::Fleet;
use scready_sim::server::Latency;
use scready_sim::throttle::ThrottleConfig;
use scready_sim::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Simulator commands.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a fleet over HTTPS on loopback until interrupted.
    Serve(ServeArgs),
    /// Write a generated fleet with a seeded, realistic mix of every catalogue condition, and
    /// beside it its answer key (NAME.answer-key.json): what a correct scan concludes.
    Generate(GenerateArgs),
}

/// The most instances one generated fleet may hold: ten times the largest bench estate, and
/// about what one machine's memory holds as a fleet and its answer key.
pub const MAX_GENERATED_INSTANCES: usize = 2_000_000;

/// A `usize` argument within `min..=max`, with an error that says the range.
fn bounded(min: usize, max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |text: &str| {
        let n: usize = text
            .trim()
            .parse()
            .map_err(|_| format!("'{text}' is not a whole number"))?;
        if (min..=max).contains(&n) {
            Ok(n)
        } else {
            Err(format!("{n} is out of range: {min} to {max}"))
        }
    }
}

/// Options of `scready sim generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of subscriptions (1 to 100,000).
    #[arg(long, default_value_t = 3, value_parser = bounded(1, 100_000))]
    pub subscriptions: usize,
    /// VMs per subscription (at most 100,000).
    #[arg(long, default_value_t = 20, value_parser = bounded(0, 100_000))]
    pub vms_per_subscription: usize,
    /// Scale sets per subscription (at most 10,000).
    #[arg(long, default_value_t = 1, value_parser = bounded(0, 10_000))]
    pub scale_sets: usize,
    /// Instances (or Flexible members) per scale set (at most 1,000, Azure's own limit).
    #[arg(long, default_value_t = 5, value_parser = bounded(0, 1_000))]
    pub instances_per_scale_set: usize,
    /// Random seed: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Condition rates (TOML); see docs/fleet-format.md.
    #[arg(long, value_name = "FILE")]
    pub mix: Option<PathBuf>,
    /// Where to write the fleet (.json or .toml); the answer key goes beside it.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the answer key (default: NAME.answer-key.json beside the fleet).
    #[arg(long, value_name = "FILE")]
    pub answer_key: Option<PathBuf>,
}

/// Options of `scready sim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Fleet file (.toml or .json).
    #[arg(long, value_name = "FILE")]
    pub fleet: PathBuf,
    /// Answer key to serve at GET /_sim/answer-key (default: NAME.answer-key.json beside the
    /// fleet, when there is one).
    #[arg(long, value_name = "FILE")]
    pub answer_key: Option<PathBuf>,
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Directory for the CA certificate and key (kept across restarts).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Items per list page (default: the fleet's setting, else 5).
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Faults file (TOML, `[[faults]]` tables).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
    /// Added latency per request, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Latency jitter, ± milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Read-throttle bucket size per (subscription, principal).
    #[arg(long, default_value_t = 250)]
    pub throttle_burst: u32,
    /// Read-throttle refill per second.
    #[arg(long, default_value_t = 25)]
    pub throttle_refill: u32,
    /// Serve without throttling.
    #[arg(long)]
    pub no_throttle: bool,
    /// The subscription's global read bucket (shared by every principal) is this many times
    /// one principal's bucket and refill; 0 turns it off.
    #[arg(long, default_value_t = 15)]
    pub throttle_global_multiplier: u32,
    /// What `virtualMachines?statusOnly=true` returns: `status` (identity, location and the
    /// instance view only) or `full` (the model too). Default: the fleet's setting, else status.
    #[arg(long, value_name = "full|status")]
    pub status_only_shape: Option<StatusOnlyShape>,
    /// Throttle VM reads with Compute's policies: the fleet's `settings.compute_throttle`, else
    /// HighCostGet3Min (300 per 180 s) and HighCostGet30Min (1500 per 1800 s).
    #[arg(long)]
    pub compute_throttle: bool,
    /// A Compute policy `NAME:LIMIT:WINDOW_SECS` (repeatable; replaces the default policies),
    /// e.g. `Microsoft.Compute/HighCostGet3Min:300:180`.
    #[arg(long, value_name = "NAME:LIMIT:SECS", value_parser = ComputeThrottle::parse_policy)]
    pub compute_policy: Vec<scready_sim::compute::ComputePolicy>,
    /// Seed for fault rates and latency jitter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs a simulator command.
pub async fn run(command: SimCommand) -> anyhow::Result<ExitCode> {
    match command {
        SimCommand::Serve(args) => serve(args).await,
        SimCommand::Generate(args) => generate(args),
    }
}

/// Refuses a fleet file that is not a regular file (a FIFO would block the load) or is larger
/// than [`crate::config_file::MAX_FLEET_BYTES`], before the simulator reads it.
fn check_fleet_file(path: &std::path::Path) -> anyhow::Result<()> {
    use crate::config_file::{refuse_special, show_size, Expect, MAX_FLEET_BYTES};
    refuse_special(path, "--fleet", Expect::FileOrAbsent).map_err(anyhow::Error::msg)?;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() > MAX_FLEET_BYTES {
            bail!(
                "--fleet {}: {} is too large (the limit for --fleet is {})",
                path.display(),
                show_size(meta.len()),
                show_size(MAX_FLEET_BYTES)
            );
        }
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    check_fleet_file(&args.fleet)?;
    let fleet = Fleet::load(&args.fleet)?;
    let key_path = args
        .answer_key
        .clone()
        .or_else(|| Some(AnswerKey::path_beside(&args.fleet)).filter(|p| p.is_file()));
    let answer_key = match &key_path {
        Some(path) => {
            // An answer key is about as large as its fleet.
            let text = crate::config_file::read_local_text(
                path,
                "--answer-key",
                crate::config_file::MAX_FLEET_BYTES,
            )
            .map_err(anyhow::Error::msg)?;
            Some(AnswerKey::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let faults = match &args.faults {
        Some(path) => {
            let text = crate::config_file::read_local_text(
                path,
                "--faults",
                crate::config_file::MAX_SIM_CONFIG_BYTES,
            )
            .map_err(anyhow::Error::msg)?;
            FaultFile::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?
        }
        None => Vec::new(),
    };
    if args.page_size == Some(0) {
        bail!("--page-size must be at least 1");
    }
    let from_fleet = SimConfig::for_fleet(&fleet);
    let compute_throttle = if !args.compute_policy.is_empty() {
        let t = ComputeThrottle {
            policies: args.compute_policy.clone(),
        };
        t.validate()
            .map_err(|e| anyhow::anyhow!("--compute-policy: {e}"))?;
        Some(t)
    } else if args.compute_throttle {
        Some(from_fleet.compute_throttle.clone().unwrap_or_default())
    } else {
        from_fleet.compute_throttle.clone()
    };
    let config = SimConfig {
        addr: args.addr,
        state_dir: args.state_dir.clone(),
        page_size: args.page_size,
        throttle: ThrottleConfig {
            enabled: !args.no_throttle,
            burst: args.throttle_burst,
            refill_per_sec: args.throttle_refill,
            tenant_burst: args.throttle_burst,
            tenant_refill_per_sec: args.throttle_refill,
            global_multiplier: args.throttle_global_multiplier,
        },
        latency: Latency {
            fixed_ms: args.latency_ms,
            jitter_ms: args.jitter_ms,
        },
        faults,
        seed: args.seed,
        status_only_shape: args
            .status_only_shape
            .unwrap_or(from_fleet.status_only_shape),
        compute_throttle,
        ..SimConfig::default()
    };
    let shape = config.status_only_shape;
    let compute = match &config.compute_throttle {
        None => "off".to_string(),
        Some(t) => t
            .policies
            .iter()
            .map(|p| format!("{} {} per {} s", p.name, p.limit, p.window.as_secs()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let sim = Simulator::start(&fleet, config).await?;
    // Listening for Ctrl-C before announcing the address: a signal sent as soon as the address
    // is read stops the simulator cleanly.
    let interrupted = super::interrupted();
    let key_note = match (&key_path, answer_key) {
        (Some(path), Some(key)) => {
            sim.set_answer_key(Some(key));
            format!(
                "answer key: {} (GET {}/_sim/answer-key)",
                path.display(),
                sim.base_url()
            )
        }
        _ => "answer key: none (scready sim generate writes one beside the fleet)".to_string(),
    };
    println!("scready simulator listening on {}", sim.base_url());
    println!("CA certificate: {}", sim.ca_path().display());
    println!(
        "fleet: {} ({} subscriptions, {} instances)",
        args.fleet.display(),
        fleet.subscriptions.len(),
        fleet.instance_count()
    );
    println!("statusOnly listing: {shape} shape; Compute throttle: {compute}");
    println!("{key_note}");
    for p in fleet.principals.iter().filter(|p| p.client_id.is_some()) {
        use crate::text::display_safe as safe;
        println!(
            "principal {} ({}): client id {}, tenant {}",
            safe(&p.id),
            safe(p.display_name.as_deref().unwrap_or("-")),
            safe(p.client_id.as_deref().unwrap_or("-")),
            safe(p.tenant.as_deref().unwrap_or(&fleet.tenants[0].id))
        );
    }
    println!(
        "token for a principal: GET {}/_sim/token?principal=OBJECT_ID ; stats: GET {}/_sim/stats",
        sim.base_url(),
        sim.base_url()
    );
    println!(
        "managed identity: IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
        sim.identity_endpoint(),
        sim.identity_header()
    );
    println!("serving until interrupted (Ctrl-C)");
    interrupted.await;
    let stats = sim.stats();
    sim.shutdown().await;
    println!(
        "stopped after {} ARM requests ({} throttled, {} faults injected)",
        stats.arm_requests, stats.throttled, stats.faults_injected
    );
    Ok(ExitCode::SUCCESS)
}

fn generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    use scready_sim::generate::{self, GenerateOptions, Mix};
    let mix = match &args.mix {
        Some(path) => {
            let text = crate::config_file::read_local_text(
                path,
                "--mix",
                crate::config_file::MAX_SIM_CONFIG_BYTES,
            )
            .map_err(anyhow::Error::msg)?;
            Mix::from_toml(&text, &path.display().to_string())?
        }
        None => Mix::default(),
    };
    let options = GenerateOptions {
        subscriptions: args.subscriptions,
        vms_per_subscription: args.vms_per_subscription,
        scale_sets: args.scale_sets,
        instances_per_scale_set: args.instances_per_scale_set,
        seed: args.seed,
        mix,
    };
    if options.subscriptions == 0 {
        bail!("--subscriptions must be at least 1");
    }
    let total = options.subscriptions.saturating_mul(
        options.vms_per_subscription.saturating_add(
            options
                .scale_sets
                .saturating_mul(options.instances_per_scale_set),
        ),
    );
    if total > MAX_GENERATED_INSTANCES {
        bail!(
            "--subscriptions × (--vms-per-subscription + --scale-sets × --instances-per-scale-set) \
             is {total} instances; a generated fleet holds at most {MAX_GENERATED_INSTANCES}"
        );
    }
    let (fleet, key) = generate::generate_with_key(&options);
    let key_path = args
        .answer_key
        .clone()
        .unwrap_or_else(|| AnswerKey::path_beside(&args.out));
    if key_path == args.out {
        bail!("the answer key and the fleet would be the same file");
    }
    let is_toml = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let text = if is_toml {
        fleet.to_toml()
    } else {
        fleet.to_json()
    };
    crate::report::write_atomic(&args.out, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    let key_text = key.to_json();
    crate::report::write_atomic(&key_path, |w| w.write_all(key_text.as_bytes()))
        .with_context(|| format!("{}: cannot write", key_path.display()))?;
    println!(
        "wrote {} ({} subscriptions, {} instances, seed {})",
        args.out.display(),
        fleet.subscriptions.len(),
        fleet.instance_count(),
        args.seed
    );
    let summary: Vec<String> = key
        .summary
        .iter()
        .map(|(verdict, n)| format!("{n} {verdict}"))
        .collect();
    println!(
        "wrote {} (the answer key: {})",
        key_path.display(),
        summary.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
