//! Report sinks: each turns the one [`ScanResult`] into a file; none re-derives a verdict.
//! Files are written atomically (a temporary file in the same directory, then a rename).

pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod ocsf;
pub mod prom;
pub mod read;
pub mod summary;

use crate::history::HistorySummary;
use crate::result::ScanResult;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

/// An output format.
pub trait ReportSink: Send + Sync {
    /// The `--format` name.
    fn format(&self) -> &'static str;
    /// The file name written in the output directory.
    fn file_name(&self) -> &'static str;
    /// Renders the report; a report that shows the run's history (its trend and diff) asks
    /// `history` for it, which waits while the run is still being recorded.
    fn render(
        &self,
        result: &ScanResult,
        history: HistoryView<'_>,
        out: &mut dyn Write,
    ) -> std::io::Result<()>;
}

/// The run's history as the reports show it: known, or still being recorded while the reports
/// prepare what does not depend on it (a scan records the run beside writing its reports).
#[derive(Clone, Copy)]
pub enum HistoryView<'a> {
    /// Known: the result's own (absent without a history database).
    Known(Option<&'a HistorySummary>),
    /// Being recorded.
    Pending(&'a PendingHistory),
}

impl<'a> HistoryView<'a> {
    /// The history, once it is recorded.
    pub fn get(self) -> Option<&'a HistorySummary> {
        match self {
            HistoryView::Known(h) => h,
            HistoryView::Pending(p) => p.wait(),
        }
    }
}

/// The run's history while it is being recorded: set once (to `None` when it could not be
/// recorded), awaited by the reports that show it.
#[derive(Default)]
pub struct PendingHistory {
    value: OnceLock<Option<HistorySummary>>,
    lock: Mutex<()>,
    ready: Condvar,
}

impl PendingHistory {
    /// Sets the history, unless it is set already, and wakes the reports waiting for it.
    pub fn set(&self, history: Option<HistorySummary>) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self.value.set(history);
        self.ready.notify_all();
    }

    /// Waits until the history is set.
    pub fn wait(&self) -> Option<&HistorySummary> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(h) = self.value.get() {
                return h.as_ref();
            }
            guard = self
                .ready
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The history set (`None` if it was never set).
    pub fn into_inner(self) -> Option<HistorySummary> {
        self.value.into_inner().flatten()
    }
}

/// The formats written when `--format` is not given (`junit`, `prom`, `ocsf` and `ocsf-jsonl`
/// are written on request).
pub const DEFAULT_FORMATS: &str = "csv,json,html,md";

/// Every `--format` name.
pub const KNOWN_FORMATS: &[&str] = &[
    "csv",
    "json",
    "html",
    "md",
    "junit",
    "prom",
    "ocsf",
    "ocsf-jsonl",
    "plan",
];

/// Whether `--format` asks for the rollout plan (`plan`: plan.md, plan.json and plan.sh,
/// written by the scan beside its reports, see [`crate::plan`]).
pub fn wants_plan(formats: &[String]) -> bool {
    formats.iter().any(|f| f.trim() == "plan")
}

/// The sinks for `--format` names (each format once, in the order given).
pub fn sinks(formats: &[String]) -> Result<Vec<Box<dyn ReportSink>>, String> {
    let mut out: Vec<Box<dyn ReportSink>> = Vec::new();
    let mut seen = foldhash::HashSet::default();
    for f in formats {
        let f = f.trim();
        if f.is_empty() || !seen.insert(f.to_string()) {
            continue;
        }
        match f {
            "csv" => {
                out.push(Box::new(csv::InstancesCsv));
                out.push(Box::new(csv::FindingsCsv));
            }
            "json" => out.push(Box::new(json::JsonReport)),
            "html" => out.push(Box::new(html::HtmlReport)),
            "md" | "markdown" => out.push(Box::new(markdown::MarkdownSummary)),
            "junit" => out.push(Box::new(junit::JunitReport)),
            "prom" | "prometheus" => out.push(Box::new(prom::PromMetrics)),
            "ocsf" => out.push(Box::new(ocsf::OcsfFindings(ocsf::OcsfLayout::Array))),
            "ocsf-jsonl" => out.push(Box::new(ocsf::OcsfFindings(ocsf::OcsfLayout::Lines))),
            // Not a sink of the result: the scan computes it (it needs the policy).
            "plan" => {}
            other => {
                return Err(format!(
                    "unknown format '{other}' (known: {})",
                    KNOWN_FORMATS.join(", ")
                ))
            }
        }
    }
    Ok(out)
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed, then renamed.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".scready-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
    }
    // Temporary files are private (0600); a report is as readable as any file the user writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes every sink's file into `dir`, each on its own thread (the files are independent);
/// returns the paths written, in sink order.
pub fn write_all(
    result: &ScanResult,
    history: HistoryView<'_>,
    dir: &Path,
    sinks: &[Box<dyn ReportSink>],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let outcomes: Vec<std::io::Result<PathBuf>> = std::thread::scope(|scope| {
        let handles: Vec<_> = sinks
            .iter()
            .map(|sink| {
                scope.spawn(move || {
                    let path = dir.join(sink.file_name());
                    let started = std::time::Instant::now();
                    let written = write_atomic(&path, |w| sink.render(result, history, w));
                    tracing::info!(
                        file = sink.file_name(),
                        seconds = started.elapsed().as_secs_f64(),
                        "report written"
                    );
                    written.map(|()| path)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a report sink does not panic"))
            .collect()
    });
    outcomes.into_iter().collect()
}

/// Points `reports/latest` at `dir` (a relative symlink, replaced atomically).
pub fn update_latest(dir: &Path) -> std::io::Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    let Some(name) = dir.file_name() else {
        return Ok(());
    };
    let link = parent.join("latest");
    #[cfg(unix)]
    {
        let tmp = parent.join(format!(".latest-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(name, &tmp)?;
        std::fs::rename(&tmp, &link)?;
    }
    #[cfg(not(unix))]
    {
        std::fs::write(&link, name.to_string_lossy().as_bytes())?;
    }
    Ok(())
}

/// Checks that reports can be written into `dir` (before any request is sent).
pub fn check_writable(dir: &Path) -> Result<(), String> {
    crate::config_file::refuse_special(
        dir,
        "--out",
        crate::config_file::Expect::DirectoryOrAbsent,
    )?;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("--out {}: cannot create the directory: {e}", dir.display()))?;
    tempfile::Builder::new()
        .prefix(".scready-probe-")
        .tempfile_in(dir)
        .map(|_| ())
        .map_err(|e| format!("--out {}: cannot write there: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_waiting_for_the_history_get_it_once_it_is_set_and_only_the_first_value_counts() {
        let pending = PendingHistory::default();
        let got = std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| HistoryView::Pending(&pending).get().map(|h| h.run_id)))
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(20));
            pending.set(Some(HistorySummary {
                run_id: 7,
                ..Default::default()
            }));
            // A second value (what the scan's guard sets when recording ends) changes nothing.
            pending.set(None);
            waiters
                .into_iter()
                .map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(got, [Some(7), Some(7), Some(7)]);
        assert_eq!(pending.into_inner().map(|h| h.run_id), Some(7));
        // Not recorded: the reports go on without it.
        let pending = PendingHistory::default();
        pending.set(None);
        assert!(HistoryView::Pending(&pending).get().is_none());
    }
}
