//! `scready merge`: the results of several scans (the shards of a sharded scan, or separate
//! scans such as one per tenant) combined into one result, evaluated again with the policy.

use crate::arm::CallStats;
use crate::history::History;
use crate::merge::MergeInput;
use crate::policy::Policy;
use crate::report::read::RunPart;
use crate::result::RunInfo;
use crate::scan;
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// What `scready merge --help` says after the options.
pub const MERGE_NOTES: &str = "\
Each DIR is a result directory holding the report.json of a scan (written by the json format,
one of the default formats); a path to a report.json itself is accepted too.

Refused, naming the directories: results evaluated with a different policy than each other or
than this merge's --policy (give merge the --policy the scans used), results of different
clouds, two results of the same shard, shards of scans split into different numbers of
shards or selecting different subscriptions, and a subscription present in two results.

A shard that is missing (some K of 0..N-1 absent) makes the merged run partial, with a coverage
gap 'shard K/N missing: its subscriptions were not scanned', and the exit code is 2, as for a
partial scan. An input that was partial keeps its gaps, and the merged run is partial too.

The merged run starts at the earliest start and finishes at the latest finish of the inputs,
its ARM calls are their sum, and it is recorded in the history as one run of the whole scope
(record the shards themselves with --no-history).

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 the merged result is
incomplete (a missing shard, a partial input) or the inputs cannot be merged.";

/// Options of `scready merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Result directories to combine (each with its report.json).
    #[arg(value_name = "DIR", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Policy, output and exit code.
    #[command(flatten)]
    pub report: super::scan::ReportArgs,
    /// History database.
    #[command(flatten)]
    pub history: super::scan::HistoryArgs,
}

/// The parts of a `report.json` besides the inventory that a merge reads: `run`, `policy`
/// and `coverage`, each field optional.
#[derive(Debug, Default, Deserialize)]
struct ReportHead {
    #[serde(default)]
    run: Option<RunPart>,
    #[serde(default)]
    policy: HeadPolicy,
    #[serde(default)]
    coverage: HeadCoverage,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadPolicy {
    fingerprint: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadCoverage {
    calls: CallStats,
}

/// The report of a result directory (or the file itself).
fn report_path(input: &Path) -> PathBuf {
    if input.is_dir() {
        input.join("report.json")
    } else {
        input.to_path_buf()
    }
}

/// Reads one result: its inventory and its run, policy fingerprint and calls.
fn read_input(input: &Path) -> anyhow::Result<MergeInput> {
    let origin = input.display().to_string();
    let path = report_path(input);
    if !path.exists() {
        anyhow::bail!(
            "{origin}: no report.json there (scan with the json format, one of the defaults)"
        );
    }
    let inventory = super::offline::read_inventory(&path)?;
    let text = crate::config_file::read_local_text(
        &path,
        "merge DIR",
        crate::config_file::MAX_INVENTORY_BYTES,
    )
    .map_err(anyhow::Error::msg)?;
    let head: ReportHead = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: run, policy or coverage: {e}", path.display()))?;
    drop(text);
    let Some(run) = head.run else {
        anyhow::bail!(
            "{}: not a scan's report.json (no run metadata; an inventory file cannot be merged)",
            path.display()
        );
    };
    Ok(MergeInput {
        origin,
        run: RunInfo {
            started_at: run.started_at,
            finished_at: run.finished_at,
            duration_ms: run.duration_ms,
            cloud: run.cloud,
            requested_subscriptions: run.requested_subscriptions,
            excluded_subscriptions: run.excluded_subscriptions,
            management_groups: run.management_groups,
            excluded_management_groups: run.excluded_management_groups,
            partial: run.partial,
            status: run.status,
            shard: run.shard,
            ..Default::default()
        },
        policy_fingerprint: head.policy.fingerprint,
        calls: head.coverage.calls,
        inventory,
    })
}

/// True when `out` is one of the input directories (its report.json would be replaced).
fn out_is_an_input(out: &Path, inputs: &[PathBuf]) -> Option<PathBuf> {
    let out = std::fs::canonicalize(out).ok()?;
    inputs.iter().find_map(|i| {
        let dir = if i.is_dir() {
            i.clone()
        } else {
            i.parent()?.to_path_buf()
        };
        (std::fs::canonicalize(&dir).ok()? == out).then(|| i.clone())
    })
}

/// Inputs that started further apart than this get a warning: one may be left over from an
/// earlier night.
const STALE_SPREAD: time::Duration = time::Duration::hours(12);

/// `scready merge`.
pub async fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let policy = Policy::load(args.report.policy.as_deref())?;
    let sinks = crate::report::sinks(&args.report.format).map_err(anyhow::Error::msg)?;
    let (out, out_is_default) = match &args.report.out {
        Some(o) => (o.clone(), false),
        None => (scan::default_out_dir(), true),
    };
    if let Some(input) = out_is_an_input(&out, &args.inputs) {
        anyhow::bail!(
            "--out {} is the input {}: write the merged result to a directory of its own",
            out.display(),
            input.display()
        );
    }
    let inputs = args
        .inputs
        .iter()
        .map(|i| read_input(i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spread = crate::merge::start_spread(&inputs);
    let merged = crate::merge::merge(inputs, &policy.fingerprint()).map_err(anyhow::Error::msg)?;
    crate::report::check_writable(&out).map_err(anyhow::Error::msg)?;
    let mut history = (!args.history.no_history)
        .then(|| History::open(&args.history.history))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--history {e}"))?;
    let crate::merge::Merged {
        inventory,
        run,
        calls,
        any_partial,
        missing_shards,
    } = merged;
    let (started_at, finished_at, duration_ms) = (
        run.started_at.clone(),
        run.finished_at.clone(),
        run.duration_ms,
    );
    let mut result = scan::evaluate(
        inventory,
        Arc::new(policy),
        run,
        calls,
        std::time::Instant::now(),
    )
    .await;
    // The merged run spans its inputs, not the evaluation.
    result.run.started_at = started_at;
    result.run.finished_at = finished_at;
    result.run.duration_ms = duration_ms;
    result.run.partial |= any_partial;
    result.run.status = if result.run.partial {
        "partial"
    } else {
        "complete"
    }
    .into();
    if let Some(h) = history.as_mut() {
        result.history = scan::record_history(h, &result);
    }
    let view = crate::report::HistoryView::Known(result.history.as_ref());
    let written = crate::report::write_all(&result, view, &out, &sinks)
        .map_err(|e| anyhow::anyhow!("writing reports: {}: {e}", out.display()))?;
    if out_is_default {
        let _ = crate::report::update_latest(&out);
    }
    if spread > STALE_SPREAD {
        crate::text::eprint_safe(&format!(
            "warning: the merged results started {} hours apart: check that none is left over \
             from an earlier scan\n",
            spread.whole_hours()
        ));
    }
    for shard in &missing_shards {
        crate::text::eprint_safe(&format!(
            "warning: {}\n",
            crate::merge::missing_shard_message(*shard)
        ));
    }
    if !args.report.quiet {
        crate::text::print_safe(&format!(
            "merged {} results\n{}",
            result.run.merged_from.len(),
            crate::report::summary::text(&result, &written)
        ));
    }
    Ok(ExitCode::from(scan::exit_code(
        &result,
        args.report.fail_on,
    )))
}
