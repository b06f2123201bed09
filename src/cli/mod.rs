//! Command-line interface: argument parsing and dispatch to the library.

mod history;
mod offline;
pub mod scan;
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

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Discover every VM and scale-set instance, run the checks, write reports.
    Scan(Box<scan::ScanArgs>),
    /// Start the simulator with the built-in demo fleet, scan it, write reports/demo/.
    Demo(scan::DemoArgs),
    /// List the runs recorded in the history database with their readiness.
    History(history::HistoryListArgs),
    /// What changed between two recorded runs (default: the last two).
    Diff(history::DiffArgs),
    /// Re-run the checks offline on a saved inventory or report.json.
    Evaluate(offline::EvaluateArgs),
    /// Show the check catalogue.
    Policy {
        /// Policy command.
        #[command(subcommand)]
        command: offline::PolicyCommand,
    },
    /// The ARM simulator alone: serve a fleet, or generate one.
    Sim {
        /// Simulator command.
        #[command(subcommand)]
        command: sim::SimCommand,
    },
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
    // Logs go to stderr; stdout carries the summary only.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
            Command::Demo(args) => scan::demo(args).await,
            Command::History(args) => history::list(args),
            Command::Diff(args) => history::diff(args),
            Command::Evaluate(args) => offline::evaluate(args).await,
            Command::Policy { command } => offline::policy(command),
            Command::Sim { command } => sim::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_INCOMPLETE)
        }
    }
}
