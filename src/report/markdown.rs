//! `summary.md`: the stdout summary as Markdown, for pull requests, Teams or a wiki page.
//! Text that comes from Azure is escaped so that it renders as text.

use super::{HistoryView, ReportSink};
use crate::findings::Verdict;
use crate::history::render::short_time;
use crate::history::HistorySummary;
use crate::result::ScanResult;
use std::fmt::Write as _;
use std::io::{self, Write};

/// `summary.md`.
pub struct MarkdownSummary;

impl ReportSink for MarkdownSummary {
    fn format(&self) -> &'static str {
        "md"
    }
    fn file_name(&self) -> &'static str {
        "summary.md"
    }
    fn render(&self, r: &ScanResult, h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(render(r, h.get()).as_bytes())
    }
}

/// Escapes text for Markdown (tables included): emphasis, code, link and table punctuation is
/// backslash-escaped, markup characters become entities, line breaks become spaces.
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c if crate::text::is_layout_control(c) => out.push_str(&crate::text::unicode_escape(c)),
            c => out.push(c),
        }
    }
    out
}

fn label(v: Verdict) -> &'static str {
    match v {
        Verdict::Ready => "ready",
        Verdict::ReadyWithWarnings => "ready with warnings",
        Verdict::Unknown => "unknown",
        Verdict::Blocked => "blocked",
    }
}

/// Renders the summary, with the run's history `h` when there is one.
pub fn render(r: &ScanResult, h: Option<&HistorySummary>) -> String {
    let mut s = String::new();
    let total = r.coverage.instances;
    let _ = writeln!(s, "# Serial Console readiness\n");
    let _ = writeln!(
        s,
        "Scanned {} · {} cloud · **{} instances** in {} subscriptions · {} ARM requests ({} retried, {} throttled) · {:.1} s · {}\n",
        md(&short_time(&r.run.started_at)),
        md(&r.run.cloud),
        total,
        r.coverage.subscriptions,
        r.coverage.calls.requests,
        r.coverage.calls.retries,
        r.coverage.calls.throttled,
        r.run.duration_ms as f64 / 1000.0,
        if r.run.partial { "**PARTIAL**" } else { "complete" }
    );
    let _ = writeln!(s, "| verdict | instances | share |");
    let _ = writeln!(s, "|---|---:|---:|");
    for v in Verdict::ALL {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1}% |",
            label(v),
            r.count(v),
            r.percent(v)
        );
    }
    s.push('\n');
    if let Some(h) = h {
        match &h.diff {
            Some(d) => {
                let _ = writeln!(
                    s,
                    "**Since run {} ({}):** {}.\n",
                    d.from.id,
                    md(&short_time(&d.from.started_at)),
                    md(&d.counts_line())
                );
                for c in d.partial_caveats() {
                    let _ = writeln!(s, "> ⚠ {}\n", md(&c));
                }
                for (title, list) in [("Newly blocked", &d.newly_blocked), ("Fixed", &d.fixed)] {
                    if list.is_empty() {
                        continue;
                    }
                    let _ = writeln!(s, "{title}:\n");
                    for c in list.iter().take(10) {
                        let checks = if c.checks.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", md(&c.checks.join(", ")))
                        };
                        let _ = writeln!(s, "- {}{checks}", md(&c.path()));
                    }
                    if list.len() > 10 {
                        let _ = writeln!(s, "- … and {} more (see report.html)", list.len() - 10);
                    }
                    s.push('\n');
                }
            }
            None => {
                let _ = writeln!(
                    s,
                    "First run of this scope in the history (run {}).\n",
                    h.run_id
                );
            }
        }
    }
    if !r.summary.blocking_checks.is_empty() {
        let _ = writeln!(s, "## Top blocking checks\n");
        let _ = writeln!(s, "| check | instances |");
        let _ = writeln!(s, "|---|---:|");
        for (check, n) in r.summary.blocking_checks.iter().take(8) {
            let _ = writeln!(s, "| `{}` | {n} |", check.replace('`', "'"));
        }
        s.push('\n');
    }
    let sub_findings: Vec<_> = r
        .findings
        .iter()
        .filter(|f| {
            f.resource_id.starts_with("/subscriptions/") && f.resource_id.matches('/').count() == 2
        })
        .collect();
    if !sub_findings.is_empty() {
        let _ = writeln!(s, "## Subscription findings\n");
        let _ = writeln!(s, "| status | check | subscription |");
        let _ = writeln!(s, "|---|---|---|");
        for f in &sub_findings {
            let name = r.subscription_name(&f.subscription_id);
            let who = if name.is_empty() {
                f.subscription_id.to_string()
            } else {
                format!("{name} ({})", f.subscription_id)
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | {} |",
                f.status.as_str(),
                f.check_id.replace('`', "'"),
                md(&who)
            );
        }
        s.push('\n');
    }
    let by_principal = r.access_by_principal();
    if let Some(note) = r.access_audit.as_ref().and_then(|a| a.note.as_ref()) {
        let reason = r.access_audit.as_ref().map(|a| a.reason.as_str());
        let _ = writeln!(s, "## Serial Console access\n");
        let _ = writeln!(s, "**{}**\n", md(note));
        let _ = writeln!(s, "_{}_\n", md(reason.unwrap_or("")));
    }
    if !by_principal.is_empty() {
        let _ = writeln!(s, "## Serial Console access\n");
        if let Some(a) = r.access_audit.as_ref().filter(|a| !a.given) {
            let _ = writeln!(s, "Audited by default: {}\n", md(&a.reason));
        }
        let _ = writeln!(s, "| principal | may connect | may not | unknown |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for p in by_principal {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md(&p.who()),
                p.may_connect,
                p.may_not,
                p.unknown
            );
        }
        s.push('\n');
    }
    if let Some(env) = &r.inventory.environment {
        let _ = writeln!(s, "## Network probe\n");
        for h in &env.hosts {
            let _ = writeln!(
                s,
                "- {}: {}",
                md(&h.target),
                if h.reachable {
                    "reachable".to_string()
                } else {
                    format!("NOT reachable: {}", md(&h.detail))
                }
            );
        }
        s.push('\n');
    }
    subscriptions(&mut s, r);
    let _ = writeln!(s, "## Coverage\n");
    if r.coverage.gaps.is_empty() {
        let _ = writeln!(s, "Complete: every listing was read.");
    } else {
        let _ = writeln!(
            s,
            "**PARTIAL**: {} listing(s) could not be read.\n",
            r.coverage.gaps.len()
        );
        let _ = writeln!(s, "| subscription | listing | status | message |");
        let _ = writeln!(s, "|---|---|---|---|");
        for g in &r.coverage.gaps {
            let status = g.status.map(|x| format!("HTTP {x} ")).unwrap_or_default();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md(g.subscription_id.as_deref().unwrap_or("(tenant)")),
                md(&g.what),
                md(&format!("{status}{}", g.code)),
                md(&g.message)
            );
        }
    }
    for w in &r.policy.expired_waivers {
        let _ = writeln!(
            s,
            "\nExpired waiver no longer applies: {} ({}, expired {})",
            md(&w.reason),
            md(&w.origin),
            md(&w.expires)
        );
    }
    s
}

/// Subscriptions listed in the summary at most; the rest are in report.json and report.html.
const MAX_SUBSCRIPTION_ROWS: usize = 50;

/// The scope and the subscriptions scanned: display name, id (names are not unique), tenant
/// (with the tenants managing it through Azure Lighthouse) and instance counts.
fn subscriptions(s: &mut String, r: &ScanResult) {
    let _ = writeln!(s, "## Subscriptions\n");
    let _ = writeln!(
        s,
        "Scope: {}.\n",
        md(&crate::history::store::scope_of(&r.run))
    );
    if r.inventory.subscriptions.is_empty() {
        let _ = writeln!(s, "No subscription was scanned.\n");
        return;
    }
    let _ = writeln!(s, "| subscription | id | tenant | instances | blocked |");
    let _ = writeln!(s, "|---|---|---|---:|---:|");
    for sub in r.inventory.subscriptions.iter().take(MAX_SUBSCRIPTION_ROWS) {
        let counts = r
            .summary
            .by_subscription
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&sub.id))
            .map(|(_, c)| c);
        let total: usize = counts.map(|c| c.values().sum()).unwrap_or(0);
        let blocked = counts
            .and_then(|c| c.get(Verdict::Blocked.as_str()))
            .copied()
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {total} | {blocked} |",
            md(&sub.name),
            md(&sub.id),
            md(&sub.tenant_label())
        );
    }
    if r.inventory.subscriptions.len() > MAX_SUBSCRIPTION_ROWS {
        let _ = writeln!(
            s,
            "| … and {} more (see report.html) | | | | |",
            r.inventory.subscriptions.len() - MAX_SUBSCRIPTION_ROWS
        );
    }
    s.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_renders_as_text() {
        assert_eq!(
            md("<img src=x onerror=alert(1)> | *b* [l](u)"),
            "&lt;img src=x onerror=alert(1)&gt; \\| \\*b\\* \\[l\\](u)"
        );
    }
}
