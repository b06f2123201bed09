//! `scready history`, `scready history prune` and `scready diff`: the runs recorded in the
//! history database, and the diff of two reports.

use crate::history::{render, History, DEFAULT_HISTORY_FILE};
use crate::report::read;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// What the history database keeps and how it is trimmed, for `scready history --help`.
const HISTORY_NOTES: &str = "\
What is stored (schema version 2): per run its metadata and counts, the subscriptions read, the
listings that failed, and per instance its verdict and the checks it fails or leaves undecided.
Resource ids, subscriptions, resource groups and check ids are stored once per database and
referenced by number; each check's texts are kept once, not per finding (the findings' own
messages stay in each run's report.json). A 100,000-instance run adds well under 1 MB.

Retention: `scready history prune --keep N` keeps the N newest runs, `--older-than DAYS` removes
runs that started more than DAYS days ago (both together: a run goes when either says so);
`scready scan --history-keep N` prunes after recording. Instances and strings that no remaining
run mentions are removed and the file shrinks (incremental auto_vacuum).

Migration: a database of an older schema is migrated in place when it is opened, in one
transaction (every run's verdicts, checks, subscriptions and gaps are kept; the per-finding
texts of schema 1 are dropped), then compacted with VACUUM. A database of a newer schema than
this build is refused with an error naming the file.";

/// Options of `scready history`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_long_help = HISTORY_NOTES)]
pub struct HistoryArgs {
    /// `prune`; without a command, the runs are listed.
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
    /// Listing options.
    #[command(flatten)]
    pub list: HistoryListArgs,
}

/// What `scready history` does besides listing.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Remove old runs (and what only they mention) and shrink the file.
    #[command(after_long_help = HISTORY_NOTES)]
    Prune(PruneArgs),
}

/// Options of `scready history` (the listing).
#[derive(Debug, Args)]
pub struct HistoryListArgs {
    /// History database.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_HISTORY_FILE)]
    pub history: PathBuf,
    /// Show at most this many runs (the most recent).
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
}

/// Options of `scready history prune`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).multiple(true).args(["keep", "older_than"]))]
pub struct PruneArgs {
    /// History database.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_HISTORY_FILE)]
    pub history: PathBuf,
    /// Keep the N newest runs (at least 1), remove the others.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// Remove the runs that started more than DAYS days ago.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(0..=36500))]
    pub older_than: Option<u64>,
}

/// Options of `scready diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run: a run id of the history database (default: the second-to-last run; with
    /// RUN_A alone, compared with the last), or a report.json (schema 1 or 2) compared with the
    /// report.json given as RUN_B.
    #[arg(value_name = "RUN_A")]
    pub from: Option<String>,
    /// The newer run: a run id (default: the last run), or a report.json.
    #[arg(value_name = "RUN_B")]
    pub to: Option<String>,
    /// History database.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_HISTORY_FILE)]
    pub history: PathBuf,
}

fn open(path: &std::path::Path) -> anyhow::Result<History> {
    crate::config_file::refuse_special(path, "--history", crate::config_file::Expect::FileOrAbsent)
        .map_err(anyhow::Error::msg)?;
    if !path.is_file() {
        anyhow::bail!(
            "{}: no history database (scans record one unless --no-history; choose another with --history FILE)",
            path.display()
        );
    }
    Ok(History::open(path)?)
}

/// `scready history` and its subcommands.
pub fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        None => list(args.list),
        Some(HistoryCommand::Prune(p)) => prune(p),
    }
}

/// `scready history`.
pub fn list(args: HistoryListArgs) -> anyhow::Result<ExitCode> {
    let history = open(&args.history)?;
    let runs = history.runs(args.limit.max(1))?;
    if runs.is_empty() {
        crate::text::print_safe(&format!(
            "{}: no runs recorded yet\n",
            args.history.display()
        ));
    } else {
        crate::text::print_safe(&render::runs(&runs));
    }
    Ok(ExitCode::SUCCESS)
}

/// `scready history prune`.
pub fn prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let mut history = open(&args.history)?;
    let outcome = history.prune(
        args.keep.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        args.older_than
            .map(|d| std::time::Duration::from_secs(d.saturating_mul(86_400))),
        time::OffsetDateTime::now_utc(),
    )?;
    crate::text::print_safe(&render::pruned(
        &args.history.display().to_string(),
        &outcome,
    ));
    Ok(ExitCode::SUCCESS)
}

/// A run id, or `None` when the argument is not a number (a report's path).
fn run_id(arg: &Option<String>) -> Option<Option<i64>> {
    match arg {
        None => Some(None),
        Some(a) => a.trim().parse::<i64>().ok().map(Some),
    }
}

/// `scready diff`: two runs of the history database, or two reports.
pub fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (run_id(&args.from), run_id(&args.to)) {
        let history = open(&args.history)?;
        let (from, to) = history.pick_pair(from, to)?;
        crate::text::print_safe(&render::diff(&history.diff(from, to)?));
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(from), Some(to)) = (&args.from, &args.to) else {
        anyhow::bail!("scready diff: give two run ids of the history database, or two report.json files (OLD NEW)");
    };
    for a in [from, to] {
        if a.trim().parse::<i64>().is_ok() {
            anyhow::bail!("scready diff: '{a}' is a run id, the other argument a file: compare two run ids or two report.json files");
        }
    }
    let older = read::read_run(std::path::Path::new(from))?.snapshot(1);
    let newer = read::read_run(std::path::Path::new(to))?.snapshot(2);
    crate::text::print_safe(&format!("run 1: {from}\nrun 2: {to}\n"));
    crate::text::print_safe(&render::diff(&crate::history::diff::compute(
        &older, &newer,
    )));
    Ok(ExitCode::SUCCESS)
}
