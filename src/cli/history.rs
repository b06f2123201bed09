//! `scready history` and `scready diff`: the runs recorded in the history database.

use crate::history::{render, History, DEFAULT_HISTORY_FILE};
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
    /// The older run (default: the second-to-last run; with RUN_A alone, compared with the last).
    #[arg(value_name = "RUN_A")]
    pub from: Option<i64>,
    /// The newer run (default: the last run).
    #[arg(value_name = "RUN_B")]
    pub to: Option<i64>,
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

/// `scready diff`.
pub fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let history = open(&args.history)?;
    let (from, to) = history.pick_pair(args.from, args.to)?;
    crate::text::print_safe(&render::diff(&history.diff(from, to)?));
    Ok(ExitCode::SUCCESS)
}
