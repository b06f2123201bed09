//! Text for `scready history` (the runs) and `scready diff` (what changed between two runs).
//! Every string read from the database (names, scopes, times, check ids, reasons) is shown
//! through [`crate::text::display_safe`]: a name cannot forge a line or drive the terminal.

use super::diff::{InstanceChange, RunDiff};
use super::{PruneOutcome, RunRecord};
use crate::findings::Verdict;
use crate::text::display_safe as safe;
use std::fmt::Write;

/// An RFC 3339 time without fractions of a second (`2026-05-01T02:00:00.123Z` → `…00Z`).
pub fn short_time(t: &str) -> String {
    match (t.find('.'), t.rfind(['Z', '+', '-'])) {
        (Some(dot), Some(end)) if dot < end => format!("{}{}", &t[..dot], &t[end..]),
        _ => t.to_string(),
    }
}

fn verdict(v: Option<Verdict>) -> &'static str {
    v.map(Verdict::as_str).unwrap_or("absent")
}

/// One line per run, oldest first, with its readiness.
pub fn runs(runs: &[RunRecord]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>4}  {:<20}  {:<8}  {:>9}  {:>7}  {:>8}  {:>7}  {:>7}  {:>9}  {:>8}  scope",
        "run",
        "started",
        "status",
        "instances",
        "ready",
        "warnings",
        "blocked",
        "unknown",
        "readiness",
        "duration"
    );
    for r in runs {
        let _ = writeln!(
            s,
            "{:>4}  {:<20}  {:<8}  {:>9}  {:>7}  {:>8}  {:>7}  {:>7}  {:>8.1}%  {:>6.1} s  {} ({})",
            r.id,
            safe(&short_time(&r.started_at)),
            r.completeness(),
            r.instances,
            r.ready,
            r.ready_with_warnings,
            r.blocked,
            r.unknown,
            r.readiness_percent(),
            r.duration_ms as f64 / 1000.0,
            safe(&r.scope),
            safe(&r.cloud)
        );
    }
    s
}

/// A run in one line: `run 2  2026-05-01T02:00:00Z  complete  42 instances, 25 ready …`.
pub fn run_line(r: &RunRecord) -> String {
    format!(
        "run {}  {}  {}  {} instances: {} ready, {} with warnings ({:.1}% can connect), {} blocked, {} unknown",
        r.id,
        safe(&short_time(&r.started_at)),
        r.completeness(),
        r.instances,
        r.ready,
        r.ready_with_warnings,
        r.readiness_percent(),
        r.blocked,
        r.unknown
    )
}

fn section(s: &mut String, title: &str, items: &[InstanceChange], checks_label: &str) {
    if items.is_empty() {
        let _ = writeln!(s, "{title}: none");
        return;
    }
    let _ = writeln!(s, "{title} ({}):", items.len());
    for c in items {
        let checks = if c.checks.is_empty() {
            String::new()
        } else {
            format!("  ({checks_label}{})", safe(&c.checks.join(", ")))
        };
        let _ = writeln!(
            s,
            "  {}  {} → {}{checks}",
            safe(&c.path()),
            verdict(c.before),
            verdict(c.after)
        );
    }
}

/// The whole diff, as `scready diff` prints it.
pub fn diff(d: &RunDiff) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "diff: run {} → run {}", d.from.id, d.to.id);
    let _ = writeln!(s, "  {}", run_line(&d.from));
    let _ = writeln!(s, "  {}", run_line(&d.to));
    if d.scope_differs {
        let _ = writeln!(
            s,
            "note: the runs have different scopes ({} / {}): instances outside either scope appear or disappear",
            safe(&d.from.scope),
            safe(&d.to.scope)
        );
    }
    let _ = writeln!(s, "since run {}: {}", d.from.id, d.counts_line());
    for c in d.partial_caveats() {
        let _ = writeln!(s, "caveat: {}", safe(&c));
    }
    section(&mut s, "newly blocked", &d.newly_blocked, "");
    section(&mut s, "fixed", &d.fixed, "was: ");
    if !d.now_unknown.is_empty() {
        section(&mut s, "now undecided", &d.now_unknown, "");
    }
    section(&mut s, "appeared", &d.appeared, "");
    section(&mut s, "disappeared", &d.disappeared, "");
    if !d.not_seen_in_to.is_empty() {
        section(
            &mut s,
            &format!("not seen in run {}, which is partial", d.to.id),
            &d.not_seen_in_to,
            "",
        );
    }
    if !d.not_seen_in_from.is_empty() {
        section(
            &mut s,
            &format!("not seen in run {}, which is partial", d.from.id),
            &d.not_seen_in_from,
            "",
        );
    }
    if d.checks.is_empty() {
        let _ = writeln!(s, "checks whose counts moved: none");
    } else {
        let _ = writeln!(
            s,
            "checks whose counts moved (instances failing, run {} → run {}):",
            d.from.id, d.to.id
        );
        for c in &d.checks {
            let delta = c.after as i64 - c.before as i64;
            let _ = writeln!(
                s,
                "  {}  {} → {}  ({delta:+})",
                safe(&c.check_id),
                c.before,
                c.after
            );
        }
    }
    s
}

/// `1-3, 5`: run ids as ranges.
fn ranges(ids: &[i64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", ids[i], ids[j])
        } else {
            ids[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// What `scready history prune` did, in one line.
pub fn pruned(path: &str, o: &PruneOutcome) -> String {
    if o.removed.is_empty() {
        return format!(
            "{}: nothing to prune ({} run(s) kept)\n",
            safe(path),
            o.kept
        );
    }
    format!(
        "{}: removed {} run(s) ({}), kept {}; removed {} instance(s) and {} string(s) no remaining run mentions; {:.2} MB → {:.2} MB\n",
        safe(path),
        o.removed.len(),
        ranges(&o.removed),
        o.kept,
        o.instances_removed,
        o.strings_removed,
        o.bytes_before as f64 / 1e6,
        o.bytes_after as f64 / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_lose_their_fractions_only() {
        assert_eq!(
            short_time("2026-05-01T02:00:00.123456Z"),
            "2026-05-01T02:00:00Z"
        );
        assert_eq!(
            short_time("2026-05-01T02:00:00.5+01:00"),
            "2026-05-01T02:00:00+01:00"
        );
        assert_eq!(short_time("2026-05-01T02:00:00Z"), "2026-05-01T02:00:00Z");
    }

    #[test]
    fn pruned_runs_are_shown_as_ranges() {
        assert_eq!(super::ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(super::ranges(&[4]), "4");
    }
}
