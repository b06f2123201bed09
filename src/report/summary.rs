//! The one-screen summary printed after a scan.

use crate::findings::Verdict;
use crate::result::ScanResult;
use crate::text::display_safe as safe;
use std::fmt::Write;

/// Renders the summary as plain text. Every value from outside (names, labels, messages,
/// reasons, paths) is shown through [`crate::text::display_safe`]: on one line, with its
/// control characters escaped.
pub fn text(r: &ScanResult, written: &[std::path::PathBuf]) -> String {
    let mut s = String::new();
    let total = r.coverage.instances;
    let _ = writeln!(
        s,
        "scready {}: {} instances in {} subscriptions ({} cloud), {} ARM requests ({} retried, {} throttled), {:.1} s",
        r.run.version,
        total,
        r.coverage.subscriptions,
        safe(&r.run.cloud),
        r.coverage.calls.requests,
        r.coverage.calls.retries,
        r.coverage.calls.throttled,
        r.run.duration_ms as f64 / 1000.0
    );
    for v in Verdict::ALL {
        let n = r.count(v);
        let pct = if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        };
        let _ = writeln!(s, "  {:<21} {:>7}  {:>5.1}%", v.as_str(), n, pct);
    }
    if let Some(h) = &r.history {
        match &h.diff {
            Some(d) => {
                let _ = writeln!(
                    s,
                    "since run {} ({}): {}",
                    d.from.id,
                    safe(&crate::history::render::short_time(&d.from.started_at)),
                    d.counts_line()
                );
                for c in d.partial_caveats() {
                    let _ = writeln!(s, "  caveat: {}", safe(&c));
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "history: run {} is the first of this scope in {}",
                    h.run_id,
                    safe(&h.database)
                );
            }
        }
    }
    if !r.summary.blocking_checks.is_empty() {
        let _ = writeln!(s, "top blocking checks:");
        for (check, n) in r.summary.blocking_checks.iter().take(8) {
            let _ = writeln!(s, "  {:<32} {n:>7}", safe(check));
        }
    }
    let sub_findings: Vec<_> = r
        .findings
        .iter()
        .filter(|f| {
            f.resource_id.starts_with("/subscriptions/") && f.resource_id.matches('/').count() == 2
        })
        .collect();
    if !sub_findings.is_empty() {
        let _ = writeln!(s, "subscription findings:");
        for f in sub_findings.iter().take(8) {
            let _ = writeln!(
                s,
                "  {:<8} {:<30} {}",
                f.status.as_str(),
                safe(&f.check_id),
                safe(&f.subscription_id)
            );
        }
        if sub_findings.len() > 8 {
            let _ = writeln!(s, "  … and {} more", sub_findings.len() - 8);
        }
    }
    let by_principal = r.access_by_principal();
    if !by_principal.is_empty() {
        let _ = writeln!(
            s,
            "Serial Console access (may connect / may not / unknown):"
        );
        for p in by_principal {
            let _ = writeln!(
                s,
                "  {}: {} / {} / {}",
                one_line(&p.who(), 200),
                p.may_connect,
                p.may_not,
                p.unknown
            );
        }
    }
    if let Some(a) = &r.access_audit {
        match &a.note {
            Some(note) => {
                let _ = writeln!(s, "{}", safe(note));
                let _ = writeln!(s, "  ({})", one_line(&a.reason, 160));
            }
            None if !a.given && !a.audited.is_empty() => {
                let _ = writeln!(s, "access audited by default: {}", one_line(&a.reason, 160));
            }
            None => {}
        }
    }
    if let Some(env) = &r.inventory.environment {
        for h in &env.hosts {
            let _ = writeln!(
                s,
                "network probe: {} {}",
                safe(&h.target),
                if h.reachable {
                    "reachable".to_string()
                } else {
                    format!("NOT reachable: {}", one_line(&h.detail, 200))
                }
            );
        }
    }
    let odd = r
        .inventory
        .instances
        .iter()
        .filter(|i| !i.anomalies.is_empty())
        .count();
    if odd > 0 {
        let _ = writeln!(
            s,
            "unexpected data: {odd} instance(s) had fields of an unexpected type; the affected checks are unknown (see \"anomalies\" in report.json)"
        );
    }
    if !r.coverage.unregistered.is_empty() {
        let names = r.subscription_names();
        let _ = writeln!(
            s,
            "not registered: {} resource provider(s) in subscriptions that never registered them (not a gap):",
            r.coverage.unregistered.len()
        );
        for u in r.coverage.unregistered.iter().take(10) {
            let name = names.get(&u.subscription_id);
            let _ = writeln!(
                s,
                "  {} {}: {}: {}",
                safe(&u.subscription_id),
                one_line(name, 60),
                safe(&u.namespace),
                u.meaning
            );
        }
        if r.coverage.unregistered.len() > 10 {
            let _ = writeln!(
                s,
                "  … and {} more (see report.json)",
                r.coverage.unregistered.len() - 10
            );
        }
    }
    if r.coverage.gaps.is_empty() {
        let _ = writeln!(s, "coverage: complete");
    } else {
        let _ = writeln!(
            s,
            "coverage: PARTIAL, {} listing(s) could not be read:",
            r.coverage.gaps.len()
        );
        for g in r.coverage.gaps.iter().take(10) {
            let status = g.status.map(|x| format!("HTTP {x} ")).unwrap_or_default();
            let _ = writeln!(
                s,
                "  {} {}: {status}{}: {}",
                safe(g.subscription_id.as_deref().unwrap_or("(tenant)")),
                safe(&g.what),
                one_line(&g.code, 80),
                one_line(&g.message, 120)
            );
        }
        if r.coverage.gaps.len() > 10 {
            let _ = writeln!(
                s,
                "  … and {} more (see report.json)",
                r.coverage.gaps.len() - 10
            );
        }
    }
    for w in &r.policy.expired_waivers {
        let _ = writeln!(
            s,
            "expired waiver no longer applies: {} ({}, expired {})",
            one_line(&w.reason, 200),
            safe(&w.origin),
            safe(&w.expires)
        );
    }
    if let Some(p) = &r.plan {
        let _ = writeln!(s, "plan: {} (see {})", p.text(), safe(&p.file));
    }
    if !written.is_empty() {
        let dir = written[0]
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let _ = writeln!(s, "reports: {}/ ({})", safe(&dir), safe(&names.join(", ")));
    }
    s
}

/// A value on one line, its control characters escaped, cut after `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let flat = safe(s);
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat.into_owned()
    }
}
