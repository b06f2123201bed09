//! `scready.prom`: the scan's counts in the Prometheus text exposition format, for
//! node_exporter's textfile collector (written atomically, as the collector requires).
//!
//! Every value describes the last scan, so every metric is a gauge; no sample carries a
//! timestamp (the collector stamps them); labels are bounded by the estate's shape — verdict,
//! check id, subscription — never one per instance. Names and units follow Prometheus' naming
//! practice (`scready_` prefix, base units, `_seconds`).

use super::{HistoryView, ReportSink};
use crate::findings::Verdict;
use crate::result::ScanResult;
use std::io::{self, Write};

/// The Prometheus textfile sink.
pub struct PromMetrics;

/// A label value escaped as the exposition format requires (`\`, `"` and newline).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Writes one metric family: its HELP and TYPE lines, then its samples.
fn family(
    out: &mut dyn Write,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (String, f64)>,
) -> std::io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} gauge")?;
    for (labels, value) in samples {
        if labels.is_empty() {
            writeln!(out, "{name} {value}")?;
        } else {
            writeln!(out, "{name}{{{labels}}} {value}")?;
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch of an RFC 3339 time.
fn epoch_seconds(rfc3339: &str) -> Option<f64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() as f64)
}

impl ReportSink for PromMetrics {
    fn format(&self) -> &'static str {
        "prom"
    }
    fn file_name(&self) -> &'static str {
        "scready.prom"
    }
    fn render(&self, r: &ScanResult, _h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        family(
            out,
            "scready_instances",
            "Instances by readiness verdict in the last scan.",
            Verdict::ALL
                .iter()
                .map(|v| (format!("verdict=\"{}\"", v.as_str()), r.count(*v) as f64)),
        )?;
        family(
            out,
            "scready_blocked_instances",
            "Instances that a failing error-severity check blocks, by check id.",
            r.summary
                .blocking_checks
                .iter()
                .map(|(check, n)| (format!("check=\"{}\"", label(check)), *n as f64)),
        )?;
        family(
            out,
            "scready_warned_instances",
            "Instances with a failing warning-severity check, by check id.",
            r.summary
                .warning_checks
                .iter()
                .map(|(check, n)| (format!("check=\"{}\"", label(check)), *n as f64)),
        )?;
        let names = r.subscription_names();
        family(
            out,
            "scready_subscription_instances",
            "Instances by subscription and readiness verdict in the last scan.",
            r.summary.by_subscription.iter().flat_map(|(sub, counts)| {
                let name = label(names.get(sub));
                let sub = label(sub);
                counts.iter().map(move |(verdict, n)| {
                    (
                        format!(
                            "subscription_id=\"{sub}\",subscription_name=\"{name}\",verdict=\"{}\"",
                            label(verdict)
                        ),
                        *n as f64,
                    )
                })
            }),
        )?;
        family(
            out,
            "scready_subscriptions",
            "Subscriptions scanned.",
            [(String::new(), r.coverage.subscriptions as f64)],
        )?;
        family(
            out,
            "scready_coverage_gaps",
            "Listings that could not be read in the last scan (a partial scan has at least one).",
            [(String::new(), r.coverage.gaps.len() as f64)],
        )?;
        family(
            out,
            "scready_scan_partial",
            "1 when the last scan was incomplete, else 0.",
            [(String::new(), f64::from(u8::from(r.run.partial)))],
        )?;
        family(
            out,
            "scready_scan_duration_seconds",
            "Wall time of the last scan.",
            [(String::new(), r.run.duration_ms as f64 / 1000.0)],
        )?;
        let calls = &r.coverage.calls;
        family(
            out,
            "scready_scan_arm_requests",
            "HTTP requests the last scan sent to Azure Resource Manager, retries included.",
            [(String::new(), calls.requests as f64)],
        )?;
        family(
            out,
            "scready_scan_arm_retries",
            "Requests of the last scan that were retries.",
            [(String::new(), calls.retries as f64)],
        )?;
        family(
            out,
            "scready_scan_arm_throttled_responses",
            "429 responses the last scan received.",
            [(String::new(), calls.throttled as f64)],
        )?;
        if let Some(t) = epoch_seconds(&r.run.finished_at) {
            family(
                out,
                "scready_last_run_timestamp_seconds",
                "When the last scan finished, in seconds since the Unix epoch.",
                [(String::new(), t)],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd\u{1b}"), "a\\\"b\\\\c\\nd ");
    }
}
