//! `scready history` and `scready diff`: the runs recorded in the history database, and the
//! diff of two reports.

use crate::history::{render, History, DEFAULT_HISTORY_FILE};
use crate::report::read;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `scready history`.
#[derive(Debug, Args)]
pub struct HistoryListArgs {
    /// History database.
    #[arg(long, value_name = "FILE", default_value = DEFAULT_HISTORY_FILE)]
    pub history: PathBuf,
    /// Show at most this many runs (the most recent).
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
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
