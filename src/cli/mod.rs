//! Command-line interface: argument parsing and dispatch to the library.

mod history;
mod merge;
mod offline;
pub mod plan;
pub mod scan;
// The simulator's commands: the only part of the scanner that knows the simulator.
#[cfg(feature = "sim")]
mod sim;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Audits an Azure estate for Serial Console readiness.
#[derive(Debug, Parser)]
#[command(name = "scready", version, about, long_about = None)]
pub struct Cli {
    /// More log lines on stderr: -v progress of phases, -vv every request, -vvv everything.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What `scready scan --help` says about how it reads Azure.
const SCAN_NOTES: &str = "\
How scready reads Azure:
  VMs are read twice per subscription: the plain listing for the model (boot diagnostics,
  profiles, tags, provisioning state, scale-set membership) and the statusOnly=true listing for
  the power state, joined by resource id. No model field is taken from the status listing. A VM
  missing from one of the two (created or deleted in between) is read once more or reported
  with an unknown power state; a field a listing did not carry is 'unknown', never 'disabled'.

  A subscription that never registered Microsoft.Compute, Microsoft.Storage or
  Microsoft.SerialConsole (409 MissingSubscriptionRegistration) has none of their resources:
  listed in the summary and report.json, not a coverage gap.

Throttling:
  Reads stay below ARM's per-principal and global subscription buckets
  (x-ms-ratelimit-remaining-subscription-reads / -global-reads). Compute requests are paced by
  Compute's own policies (x-ms-ratelimit-remaining-resource, e.g. HighCostGet3Min) and held
  before a policy runs out. Retry-After is honoured in seconds, as an HTTP date or in
  milliseconds, up to 60 s; longer values are cut and counted.

Choosing the subscriptions:
  (--subscription + --subscriptions-file + the subscriptions below each --management-group,
  or every visible subscription when none is given) minus --exclude-subscription minus the
  subscriptions below each --exclude-management-group. Groups are read first, through nested
  groups; a group that cannot be read stops the scan before any subscription is read. A
  subscription below a group that the subscription listing does not show is a coverage gap.

Least privilege:
  Reader on the subscriptions (or a management group above them) covers every read.
  --management-group needs Microsoft.Management/managementGroups/descendants/read at the
  group (Reader or Management Group Reader at the group or above).

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 the scan was
incomplete (a listing failed: see the coverage gaps) or could not run.";

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover every VM and scale-set instance, run the checks, write reports.
    #[command(after_long_help = SCAN_NOTES)]
    Scan(Box<scan::ScanArgs>),
    /// Start the simulator with the built-in demo fleet, scan it, write reports/demo/.
    #[cfg(feature = "sim")]
    Demo(scan::DemoArgs),
    /// List the runs recorded in the history database with their readiness; `prune` removes old ones.
    History(history::HistoryArgs),
    /// What changed between two recorded runs (default: the last two), or two report.json files.
    Diff(history::DiffArgs),
    /// Re-run the checks offline on a saved inventory or report.json.
    Evaluate(offline::EvaluateArgs),
    /// Combine the results of sharded scans (--shard K/N) or separate scans into one.
    #[command(after_long_help = merge::MERGE_NOTES)]
    Merge(merge::MergeArgs),
    /// The rollout plan from a scan's report: the fewest changes that make the most instances
    /// ready, with the readiness after each (plan.md, plan.json, plan.sh).
    #[command(after_long_help = plan::PLAN_NOTES)]
    Plan(plan::PlanArgs),
    /// Show the check catalogue.
    Policy {
        /// Policy command.
        #[command(subcommand)]
        command: offline::PolicyCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `scready manpage > scready.1`.
    Manpage,
    /// The ARM simulator alone: serve a fleet, or generate one (with its answer key).
    #[cfg(feature = "sim")]
    Sim {
        /// Simulator command.
        #[command(subcommand)]
        command: sim::SimCommand,
    },
}

/// Writes generated text to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Exit code: the command could not run or its result is incomplete.
pub const EXIT_INCOMPLETE: u8 = 2;

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    // Logs go to stderr, one inert line per event (control characters of Azure data escaped);
    // stdout carries the summary only.
    let _ = tracing_subscriber::fmt()
        .with_writer(|| crate::text::SafeLines(std::io::stderr()))
        .with_max_level(level)
        .with_target(cli.verbose >= 3)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_INCOMPLETE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Scan(args) => scan::run(*args).await,
            #[cfg(feature = "sim")]
            Command::Demo(args) => scan::demo(args).await,
            Command::History(args) => history::history(args),
            Command::Diff(args) => history::diff(args),
            Command::Evaluate(args) => offline::evaluate(args).await,
            Command::Merge(args) => merge::run(args).await,
            Command::Plan(args) => plan::run(args),
            Command::Policy { command } => offline::policy(command),
            Command::Completions { shell } => {
                use clap::CommandFactory;
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "scready", &mut script);
                print_bytes(&script)
            }
            Command::Manpage => {
                use clap::CommandFactory;
                let mut page = Vec::new();
                clap_mangen::Man::new(Cli::command()).render(&mut page)?;
                print_bytes(&page)
            }
            #[cfg(feature = "sim")]
            Command::Sim { command } => sim::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::text::eprint_safe(&format!("error: {e:#}\n"));
            ExitCode::from(EXIT_INCOMPLETE)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    interrupted().await
}

/// Listens for Ctrl-C and SIGTERM from the moment it is called (the handlers are in place when
/// it returns, so a signal sent after, say, a line announcing it is heard); the future resolves
/// on the first.
pub fn interrupted() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            return Box::pin(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            });
        }
    }
    Box::pin(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
