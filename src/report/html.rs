//! `report.html`: one self-contained page (inline CSS, inline script, inline SVG charts; no
//! request leaves the file). A Content-Security-Policy allows only the page's own style and
//! script (by hash), so nothing is fetched and no injected handler could run; everything that
//! comes from Azure is escaped as text.

mod data;

use super::{HistoryView, ReportSink};
use crate::findings::{Finding, FindingStatus, Verdict};
use crate::history::render::short_time;
use crate::history::{HistorySummary, InstanceChange, TrendPoint};
use crate::result::{is_subscription_scope, ScanResult};
use base64::Engine as _;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// `report.html`.
pub struct HtmlReport;

impl ReportSink for HtmlReport {
    fn format(&self) -> &'static str {
        "html"
    }
    fn file_name(&self) -> &'static str {
        "report.html"
    }
    fn render(&self, r: &ScanResult, h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        write_page(r, h, out)
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            // A bidirectional override would make `exe.pdf` read as `fdp.exe`.
            c if crate::text::is_layout_control(c) => out.push_str(&crate::text::unicode_escape(c)),
            c => out.push(c),
        }
    }
    out
}

fn sha256_b64(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(d.as_ref())
}

/// The page's Content-Security-Policy: nothing may be fetched; only the page's own style and
/// script run.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src data:; \
         base-uri 'none'; form-action 'none'",
        sha256_b64(CSS),
        sha256_b64(JS)
    )
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Ready => "ready",
        Verdict::ReadyWithWarnings => "ready with warnings",
        Verdict::Unknown => "unknown",
        Verdict::Blocked => "blocked",
    }
}

fn colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Ready => "#2e7d32",
        Verdict::ReadyWithWarnings => "#b7791f",
        Verdict::Unknown => "#6b7280",
        Verdict::Blocked => "#c62828",
    }
}

/// Display order of verdict cards: ready, with warnings, blocked, unknown.
const CARD_ORDER: [Verdict; 4] = [
    Verdict::Ready,
    Verdict::ReadyWithWarnings,
    Verdict::Blocked,
    Verdict::Unknown,
];

/// The page is written out whenever this much of it is buffered: a fleet's page can be hundreds
/// of megabytes, and it is never held in memory whole.
const FLUSH_AT: usize = 1 << 20;

/// Writes `s` to `out` and empties it.
fn flush(s: &mut String, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(s.as_bytes())?;
    s.clear();
    Ok(())
}

/// Renders the whole page into `out`, streaming the instance table.
pub fn write_page(
    r: &ScanResult,
    history: HistoryView<'_>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // The instance table's data first (most of the page's work): it needs the history only for
    // each row's change since the last run, filled in once the run is recorded.
    let mut data = data::PageData::build(r, data::default_order(r));
    let h = history.get();
    data.set_changes(h);
    let mut s = String::with_capacity(2 * FLUSH_AT);
    let title = format!(
        "Serial Console readiness — {}",
        r.run.started_at.get(..10).unwrap_or(&r.run.started_at)
    );
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"scready {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&content_security_policy()),
        esc(&r.run.version),
        esc(&title)
    );
    header(&mut s, r);
    s.push_str("<main>\n");
    headline(&mut s, r);
    if let Some(h) = h {
        since(&mut s, h);
    }
    charts(&mut s, r, h);
    instances(&mut s, r, h);
    subscription_findings(&mut s, r);
    access(&mut s, r);
    coverage(&mut s, r);
    checks(&mut s, r);
    s.push_str("</main>\n");
    footer(&mut s, r);
    flush(&mut s, out)?;
    data.write(&mut s, out)?;
    let _ = writeln!(s, "<script>{JS}</script>\n</body>\n</html>");
    flush(&mut s, out)
}

fn header(s: &mut String, r: &ScanResult) {
    let c = &r.coverage;
    let _ = writeln!(
        s,
        "<header>\n<h1>Serial Console readiness</h1>\n<p class=\"meta\">Scanned {} · {} cloud · {} instances in {} subscriptions · {} ARM requests ({} retried, {} throttled) · {:.1} s · {}</p>",
        esc(&short_time(&r.run.started_at)),
        esc(&r.run.cloud),
        c.instances,
        c.subscriptions,
        c.calls.requests,
        c.calls.retries,
        c.calls.throttled,
        r.run.duration_ms as f64 / 1000.0,
        esc(&r.run.status)
    );
    if r.run.partial {
        let _ = writeln!(
            s,
            "<p class=\"partial-banner\"><b>Partial scan:</b> {} listing(s) could not be read; see <a href=\"#coverage\">coverage</a>. Instances they would have shown are missing, and checks that needed them are unknown.</p>",
            c.gaps.len()
        );
    }
    s.push_str("</header>\n");
}

fn headline(s: &mut String, r: &ScanResult) {
    s.push_str("<section id=\"headline\">\n<h2>Readiness</h2>\n<div class=\"cards\">\n");
    for v in CARD_ORDER {
        let _ = writeln!(
            s,
            "<div class=\"card {0}\" data-verdict=\"{0}\"><div class=\"n\">{1}</div><div>{2}</div><div class=\"p\">{3:.1}%</div></div>",
            v.as_str(),
            r.count(v),
            verdict_label(v),
            r.percent(v)
        );
    }
    s.push_str("</div>\n");
    let total = r.coverage.instances.max(1) as f64;
    s.push_str("<svg class=\"share\" viewBox=\"0 0 1000 14\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"verdict shares\">");
    let mut x = 0.0;
    for v in CARD_ORDER {
        let w = r.count(v) as f64 * 1000.0 / total;
        if w > 0.0 {
            let _ = write!(
                s,
                "<rect x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"14\" fill=\"{}\"><title>{}: {}</title></rect>",
                colour(v),
                verdict_label(v),
                r.count(v)
            );
        }
        x += w;
    }
    s.push_str("</svg>\n");
    if let Some(p) = &r.plan {
        // The rollout plan written beside this report (`--format …,plan`, and the demo).
        let _ = writeln!(
            s,
            "<p id=\"plan-headline\" class=\"plan\"><b>Rollout plan:</b> <a href=\"{}\">{}</a> ({} of {} instances ready after every change)</p>",
            esc(&p.file),
            esc(&p.text()),
            p.ready_after,
            p.instances
        );
    }
    s.push_str("</section>\n");
}

/// How many instances each "since the last run" list names; the table, filtered by the change,
/// shows all of them.
const CHANGE_LIST_CAP: usize = 100;

fn change_label(c: data::Change) -> &'static str {
    match c {
        data::Change::NewlyBlocked => "newly blocked",
        data::Change::Fixed => "fixed",
        data::Change::NowUnknown => "now undecided",
        data::Change::Appeared => "appeared",
        data::Change::NotSeenBefore => "not seen in the previous (partial) run",
    }
}

/// `encodeURIComponent`, for values in the page's `#…` links.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => out.push(b as char),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// One list of changed instances: the first [`CHANGE_LIST_CAP`], each a link to its row when it
/// is in this run's table (`in_table`), and a link to the table filtered by the change.
fn change_list(
    s: &mut String,
    title: &str,
    items: &[InstanceChange],
    class: &str,
    in_table: Option<data::Change>,
) {
    if items.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<details class=\"{class}\"><summary>{} ({})</summary>",
        esc(title),
        items.len()
    );
    if let Some(c) = in_table {
        let _ = write!(
            s,
            "<p class=\"small\"><a href=\"#filter=change:{}\">Show {} in the instance table</a></p>",
            c.as_str(),
            if items.len() == 1 {
                "it".to_string()
            } else {
                format!("all {}", items.len())
            }
        );
    }
    s.push_str("<ul>");
    for c in items.iter().take(CHANGE_LIST_CAP) {
        let from = c.before.map(Verdict::as_str).unwrap_or("absent");
        let to = c.after.map(Verdict::as_str).unwrap_or("absent");
        if in_table.is_some() {
            let _ = write!(
                s,
                "<li><a href=\"#instance={}\"><b>{}</b></a> <span class=\"small\">{}</span> {} → {}",
                esc(&encode_component(&c.resource_id)),
                esc(&c.name),
                esc(&c.path()),
                from,
                to
            );
        } else {
            let _ = write!(
                s,
                "<li><b>{}</b> <span class=\"small\">{}</span> {} → {}",
                esc(&c.name),
                esc(&c.path()),
                from,
                to
            );
        }
        for k in &c.checks {
            let _ = write!(s, " <span class=\"chk\">{}</span>", esc(k));
        }
        s.push_str("</li>");
    }
    if items.len() > CHANGE_LIST_CAP {
        let _ = write!(
            s,
            "<li class=\"empty\">… and {} more{}</li>",
            items.len() - CHANGE_LIST_CAP,
            if in_table.is_some() {
                " (all of them are in the instance table, filtered by this change)"
            } else {
                " (summary.md and the history database list them all)"
            }
        );
    }
    s.push_str("</ul></details>\n");
}

fn since(s: &mut String, h: &HistorySummary) {
    let Some(d) = &h.diff else {
        let _ = writeln!(
            s,
            "<section id=\"since\" class=\"since\"><h2>Since the last run</h2><p class=\"empty\">This is the first run of this scope in the history (run {}).</p></section>",
            h.run_id
        );
        return;
    };
    let _ = write!(
        s,
        "<section id=\"since\" class=\"since\">\n<h2>Since the last run</h2>\n<p>Since run {} ({}): <b>{} newly blocked</b>, <b>{} fixed</b>, {} appeared, {} disappeared",
        d.from.id,
        esc(&short_time(&d.from.started_at)),
        d.newly_blocked.len(),
        d.fixed.len(),
        d.appeared.len(),
        d.disappeared.len()
    );
    if !d.now_unknown.is_empty() {
        let _ = write!(s, ", {} now undecided", d.now_unknown.len());
    }
    s.push_str(".</p>\n");
    for c in d.partial_caveats() {
        let _ = writeln!(s, "<p class=\"caveat\">{}</p>", esc(&c));
    }
    change_list(
        s,
        "newly blocked",
        &d.newly_blocked,
        "newly-blocked",
        Some(data::Change::NewlyBlocked),
    );
    change_list(s, "fixed", &d.fixed, "fixed", Some(data::Change::Fixed));
    change_list(
        s,
        "now undecided",
        &d.now_unknown,
        "now-unknown",
        Some(data::Change::NowUnknown),
    );
    change_list(
        s,
        "appeared",
        &d.appeared,
        "appeared",
        Some(data::Change::Appeared),
    );
    change_list(s, "disappeared", &d.disappeared, "disappeared", None);
    change_list(
        s,
        &format!("not seen in run {}, which is partial", d.to.id),
        &d.not_seen_in_to,
        "not-seen",
        None,
    );
    change_list(
        s,
        &format!("not seen in run {}, which is partial", d.from.id),
        &d.not_seen_in_from,
        "not-seen",
        Some(data::Change::NotSeenBefore),
    );
    if !d.checks.is_empty() {
        s.push_str("<h3>Checks whose counts moved</h3><table class=\"moves\"><thead><tr><th>check</th><th>before</th><th>now</th><th>change</th></tr></thead><tbody>");
        for c in &d.checks {
            let delta = c.after as i64 - c.before as i64;
            let _ = write!(
                s,
                "<tr><td><span class=\"chk\">{}</span></td><td>{}</td><td>{}</td><td class=\"{}\">{delta:+}</td></tr>",
                esc(&c.check_id),
                c.before,
                c.after,
                if delta > 0 { "up" } else { "down" }
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("</section>\n");
}

/// Chart geometry: total width, label column, longest bar.
const CHART_W: f64 = 450.0;
const LABEL_W: f64 = 210.0;
const BAR_W: f64 = 170.0;

/// A label cut to what fits the label column.
fn shorten(label: &str) -> String {
    if label.chars().count() > 31 {
        format!("{}…", label.chars().take(30).collect::<String>())
    } else {
        label.to_string()
    }
}

fn bar_chart(s: &mut String, id: &str, title: &str, rows: &[(String, usize)], empty: &str) {
    let _ = write!(s, "<section id=\"{id}\"><h2>{}</h2>", esc(title));
    if rows.is_empty() {
        let _ = writeln!(s, "<p class=\"empty\">{}</p></section>", esc(empty));
        return;
    }
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let h = rows.len() * 24 + 8;
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {CHART_W} {h}\" width=\"{CHART_W}\" role=\"img\" aria-label=\"{}\">",
        esc(title)
    );
    for (i, (label, n)) in rows.iter().enumerate() {
        let y = i * 24 + 4;
        let w = (*n as f64 / max * BAR_W).max(1.0);
        let short = shorten(label);
        let _ = write!(
            s,
            "<g class=\"bar\" data-label=\"{0}\" data-value=\"{n}\"><title>{0}: {n}</title><text x=\"0\" y=\"{1}\">{2}</text><rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#c62828\" rx=\"2\"></rect><text x=\"{3:.1}\" y=\"{1}\">{n}</text></g>",
            esc(label),
            y + 13,
            esc(&short),
            LABEL_W + w + 6.0
        );
    }
    s.push_str("</svg></section>\n");
}

/// How a subscription is named in the page: its display name, with its id when another
/// subscription of the scan has the same name (display names are not unique), and its tenants
/// when it is managed through Azure Lighthouse; the id alone when it has no name.
fn subscription_label(
    shared_names: &HashSet<&str>,
    sub: &crate::inventory::SubscriptionInfo,
) -> String {
    let mut label = if sub.name.is_empty() {
        sub.id.clone()
    } else if shared_names.contains(sub.name.as_str()) {
        format!("{} ({})", sub.name, sub.id)
    } else {
        sub.name.clone()
    };
    if !sub.managed_by_tenants.is_empty() {
        label.push_str(&format!(" — tenant {}", sub.tenant_label()));
    }
    label
}

/// Display names that more than one subscription of the scan has.
fn shared_names(r: &ScanResult) -> HashSet<&str> {
    let mut seen = HashSet::new();
    r.inventory
        .subscriptions
        .iter()
        .filter(|x| !seen.insert(x.name.as_str()))
        .map(|x| x.name.as_str())
        .collect()
}

fn subscription_chart(s: &mut String, r: &ScanResult) {
    s.push_str("<section id=\"by-subscription\"><h2>Verdicts by subscription</h2>");
    let mut subs: Vec<(&String, &BTreeMap<String, usize>)> =
        r.summary.by_subscription.iter().collect();
    if subs.is_empty() {
        s.push_str("<p class=\"empty\">No instances.</p></section>\n");
        return;
    }
    let get = |m: &BTreeMap<String, usize>, v: Verdict| m.get(v.as_str()).copied().unwrap_or(0);
    subs.sort_by(|a, b| {
        get(b.1, Verdict::Blocked)
            .cmp(&get(a.1, Verdict::Blocked))
            .then(a.0.cmp(b.0))
    });
    subs.truncate(15);
    let max = subs
        .iter()
        .map(|(_, m)| m.values().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let h = subs.len() * 24 + 8;
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {CHART_W} {h}\" width=\"{CHART_W}\" role=\"img\" aria-label=\"verdicts by subscription\">"
    );
    let shared = shared_names(r);
    for (i, (id, m)) in subs.iter().enumerate() {
        let label = match r
            .inventory
            .subscriptions
            .iter()
            .find(|x| x.id.eq_ignore_ascii_case(id))
        {
            Some(sub) => subscription_label(&shared, sub),
            None => id.to_string(),
        };
        let label = label.as_str();
        let short = shorten(label);
        let y = i * 24 + 4;
        let blocked = get(m, Verdict::Blocked);
        let _ = write!(
            s,
            "<g class=\"sub-bar\" data-subscription=\"{}\" data-blocked=\"{blocked}\"><title>{}: {} blocked, {} unknown, {} with warnings, {} ready</title><text x=\"0\" y=\"{}\">{}</text>",
            esc(id),
            esc(label),
            blocked,
            get(m, Verdict::Unknown),
            get(m, Verdict::ReadyWithWarnings),
            get(m, Verdict::Ready),
            y + 13,
            esc(&short)
        );
        let mut x = LABEL_W;
        for v in Verdict::ALL.into_iter().rev() {
            let n = get(m, v);
            if n == 0 {
                continue;
            }
            let w = n as f64 / max * BAR_W;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"{}\"></rect>",
                colour(v)
            );
            x += w;
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\">{blocked} blocked</text></g>",
            x + 6.0,
            y + 13
        );
    }
    s.push_str("</svg><div class=\"legend\">");
    // Worst first.
    for v in Verdict::ALL.into_iter().rev() {
        let _ = write!(
            s,
            "<span><i class=\"{}\"></i>{}</span>",
            v.as_str(),
            verdict_label(v)
        );
    }
    s.push_str("</div></section>\n");
}

fn trend(s: &mut String, h: Option<&HistorySummary>) {
    s.push_str("<section id=\"trend\"><h2>Readiness over the last runs</h2>");
    let points: &[TrendPoint] = h.map(|h| h.trend.as_slice()).unwrap_or(&[]);
    if points.is_empty() {
        s.push_str("<p class=\"empty\">No history: scans recorded in a history database (the default) show a trend here.</p></section>\n");
        return;
    }
    let (w, h, left, top, bottom) = (CHART_W, 200.0, 40.0, 10.0, 30.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - top - bottom;
    let _ = write!(
        s,
        "<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" role=\"img\" aria-label=\"readiness trend\" data-points=\"{}\">",
        points.len()
    );
    for pct in [0, 50, 100] {
        let y = top + plot_h * (1.0 - pct as f64 / 100.0);
        let _ = write!(
            s,
            "<line class=\"axis\" x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"></line><text x=\"0\" y=\"{:.1}\">{pct}%</text>",
            w - 10.0,
            y + 4.0
        );
    }
    let step = if points.len() > 1 {
        plot_w / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = if points.len() > 1 {
                left + i as f64 * step
            } else {
                left + plot_w / 2.0
            };
            (x, top + plot_h * (1.0 - p.readiness_percent() / 100.0))
        })
        .collect();
    if xy.len() > 1 {
        let pts: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            s,
            "<polyline class=\"trend-line\" points=\"{}\"></polyline>",
            pts.join(" ")
        );
    }
    for (p, (x, y)) in points.iter().zip(&xy) {
        let _ = write!(
            s,
            "<circle class=\"trend-point{}\" data-run=\"{}\" data-readiness=\"{:.1}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\"><title>run {} ({}): {:.1}% ready, {} blocked of {}{}</title></circle>",
            if p.partial { " partial" } else { "" },
            p.run_id,
            p.readiness_percent(),
            p.run_id,
            esc(&short_time(&p.started_at)),
            p.readiness_percent(),
            p.blocked,
            p.instances,
            if p.partial { " (partial)" } else { "" }
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last().filter(|_| points.len() > 1))
    {
        let _ = write!(
            s,
            "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            h - 8.0,
            esc(first.started_at.get(..10).unwrap_or(&first.started_at)),
            w - 10.0,
            h - 8.0,
            esc(last.started_at.get(..10).unwrap_or(&last.started_at))
        );
    }
    s.push_str(
        "</svg><div class=\"legend\"><span>hollow points: partial runs</span></div></section>\n",
    );
}

fn charts(s: &mut String, r: &ScanResult, h: Option<&HistorySummary>) {
    s.push_str("<div class=\"charts\">\n");
    let rows: Vec<(String, usize)> = r.summary.blocking_checks.iter().take(15).cloned().collect();
    bar_chart(
        s,
        "by-check",
        "Blocked instances by check",
        &rows,
        "No instance is blocked.",
    );
    subscription_chart(s, r);
    trend(s, h);
    s.push_str("</div>\n");
}

fn finding_item(s: &mut String, f: &Finding, r: &ScanResult) {
    let text = r.checks.get(f.check_id.as_str());
    let _ = write!(
        s,
        "<li class=\"{0}\" data-check=\"{1}\"><div><span class=\"badge {0}\">{0}</span> <span class=\"chk\">{1}</span> {2}",
        f.status.as_str(),
        esc(&f.check_id),
        esc(text.map(|t| t.title.as_str()).unwrap_or(""))
    );
    if let Some(p) = &f.principal_id {
        let _ = write!(s, " <span class=\"small\">principal {}</span>", esc(p));
    }
    let _ = write!(s, "</div><div class=\"msg\">{}</div>", esc(&f.message));
    if let Some(t) = text.filter(|t| !t.portal_error.is_empty()) {
        let _ = write!(
            s,
            "<div class=\"portal\"><span class=\"lbl\">Portal error:</span>{}</div>",
            esc(&t.portal_error)
        );
    }
    if !f.mitigation.is_empty() {
        let _ = write!(
            s,
            "<div class=\"mit\"><span class=\"lbl\">Mitigation:</span>{}</div>",
            esc(&f.mitigation)
        );
    }
    if !f.remediation.is_empty() {
        let _ = write!(
            s,
            "<div class=\"rem\"><code>{}</code><button class=\"copy\" type=\"button\">Copy</button></div>",
            esc(&f.remediation)
        );
    }
    if let Some(w) = &f.waiver {
        let _ = write!(
            s,
            "<div class=\"small\"><span class=\"lbl\">Waived:</span>{}</div>",
            esc(w)
        );
    }
    s.push_str("</li>");
}

/// The instance section: search, filters, the count shown and an empty table that the page's
/// script draws from the data element, only the rows on screen at a time.
fn instances(s: &mut String, r: &ScanResult, h: Option<&HistorySummary>) {
    let total = r.inventory.instances.len();
    // Filter choices.
    let mut checks: BTreeSet<&str> = BTreeSet::new();
    let mut spelled: HashSet<&str> = HashSet::new();
    let mut tag_counts: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, v) in r.inventory.instances.iter().zip(&r.verdicts) {
        checks.extend(
            v.blockers
                .iter()
                .chain(&v.warnings)
                .chain(&v.unknowns)
                .map(|t| t.as_str()),
        );
        spelled.insert(&i.resource_group);
        for tag in i.tags.iter() {
            *tag_counts.entry(tag).or_default() += 1;
        }
    }
    let groups: BTreeSet<String> = spelled.iter().map(|g| g.to_ascii_lowercase()).collect();
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    for ((k, val), n) in tag_counts {
        *tags.entry(format!("{k}={val}")).or_default() += n;
    }
    s.push_str("<section id=\"instances-section\">\n<h2>Instances</h2>\n<div class=\"filters\">\n");
    s.push_str("<input id=\"f-q\" type=\"search\" placeholder=\"Search names, ids, messages…\" aria-label=\"search\">\n");
    s.push_str(
        "<select id=\"f-verdict\" aria-label=\"verdict\"><option value=\"\">All verdicts</option>",
    );
    // Worst first.
    for v in Verdict::ALL.into_iter().rev() {
        let _ = write!(
            s,
            "<option value=\"{}\">{} ({})</option>",
            v.as_str(),
            verdict_label(v),
            r.count(v)
        );
    }
    s.push_str("</select>\n<select id=\"f-check\" aria-label=\"check\"><option value=\"\">All checks</option>");
    for c in &checks {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", esc(c));
    }
    s.push_str("</select>\n<select id=\"f-sub\" aria-label=\"subscription\"><option value=\"\">All subscriptions</option>");
    let mut subs: Vec<&crate::inventory::SubscriptionInfo> =
        r.inventory.subscriptions.iter().collect();
    subs.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let shared = shared_names(r);
    for sub in subs {
        let _ = write!(
            s,
            "<option value=\"{}\">{}</option>",
            esc(&sub.id.to_ascii_lowercase()),
            esc(&subscription_label(&shared, sub))
        );
    }
    s.push_str("</select>\n<select id=\"f-rg\" aria-label=\"resource group\"><option value=\"\">All resource groups</option>");
    for g in &groups {
        let _ = write!(s, "<option value=\"{0}\">{0}</option>", esc(g));
    }
    s.push_str("</select>\n");
    if let Some(d) = h.and_then(|h| h.diff.as_ref()) {
        s.push_str("<select id=\"f-change\" aria-label=\"change since the last run\"><option value=\"\">Any change since the last run</option>");
        for (change, n) in [
            (data::Change::NewlyBlocked, d.newly_blocked.len()),
            (data::Change::Fixed, d.fixed.len()),
            (data::Change::NowUnknown, d.now_unknown.len()),
            (data::Change::Appeared, d.appeared.len()),
            (data::Change::NotSeenBefore, d.not_seen_in_from.len()),
        ] {
            if n > 0 {
                let _ = write!(
                    s,
                    "<option value=\"{}\">{} ({n})</option>",
                    change.as_str(),
                    change_label(change)
                );
            }
        }
        s.push_str("</select>\n");
    }
    s.push_str("<input id=\"f-tag\" list=\"tag-values\" placeholder=\"tag or tag=value\" aria-label=\"tag\">\n<datalist id=\"tag-values\">");
    let mut common: Vec<(&String, &usize)> = tags.iter().collect();
    common.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (t, _) in common.into_iter().take(500) {
        let _ = write!(s, "<option value=\"{}\"></option>", esc(t));
    }
    let _ = writeln!(
        s,
        "</datalist>\n<button id=\"f-clear\" type=\"button\">Clear</button>\n<span id=\"shown-count\"><b id=\"shown\">{total}</b> of {total} instances</span>\n</div>"
    );
    let _ = write!(
        s,
        "<noscript><p class=\"caveat\">The instance table needs JavaScript; instances.csv and findings.csv hold every instance and finding.</p></noscript>\n\
         <div class=\"table-wrap\" id=\"scroller\"><table id=\"instances\" data-total=\"{total}\" data-shown=\"{total}\">\n<thead><tr>\
         <th data-key=\"name\">Name</th><th data-key=\"verdict\">Verdict</th>\
         <th data-key=\"subscription\">Subscription</th><th data-key=\"rg\">Resource group</th>\
         <th data-key=\"state\">Kind, region, state</th><th data-key=\"checks\">Checks</th><th data-key=\"tags\">Tags</th><th>Findings</th></tr></thead>\n<tbody></tbody>\n</table></div>\n\
         <p class=\"meta\">Select an instance to see its findings.</p>\n<div id=\"detail\" hidden></div>\n</section>\n"
    );
}

fn subscription_findings(s: &mut String, r: &ScanResult) {
    let list: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.resource_id == "environment" || is_subscription_scope(&f.resource_id))
        .collect();
    s.push_str("<section id=\"sub-findings\"><h2>Subscription and environment findings</h2>");
    if list.is_empty() {
        s.push_str("<p class=\"empty\">None.</p></section>\n");
        return;
    }
    s.push_str("<ul class=\"findings\">");
    for f in list {
        let who = if f.resource_id == "environment" {
            "scanner environment".to_string()
        } else {
            let name = r.subscription_name(&f.subscription_id);
            if name.is_empty() {
                f.subscription_id.to_string()
            } else {
                format!("{name} ({})", f.subscription_id)
            }
        };
        let _ = write!(
            s,
            "<li class=\"{}\"><div><b>{}</b></div><ul class=\"findings\">",
            f.status.as_str(),
            esc(&who)
        );
        finding_item(s, f, r);
        s.push_str("</ul></li>");
    }
    s.push_str("</ul></section>\n");
}

fn access(s: &mut String, r: &ScanResult) {
    if let Some(a) = &r.access_audit {
        if let Some(note) = &a.note {
            let _ = writeln!(
                s,
                "<section id=\"access\"><h2>Who can connect</h2><p class=\"caveat\"><b>{}</b></p><p class=\"meta\">{}</p></section>",
                esc(note),
                esc(&a.reason)
            );
            return;
        }
    }
    if r.access.is_empty() {
        return;
    }
    s.push_str("<section id=\"access\"><h2>Who can connect</h2>");
    if let Some(a) = r.access_audit.as_ref().filter(|a| !a.given) {
        let _ = write!(
            s,
            "<p class=\"meta\">Audited by default: {}</p>",
            esc(&a.reason)
        );
    }
    s.push_str("<table><thead><tr><th>principal</th><th>may connect</th><th>may not</th><th>unknown</th></tr></thead><tbody>");
    for p in r.access_by_principal() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.who()),
            p.may_connect,
            p.may_not,
            p.unknown
        );
    }
    s.push_str("</tbody></table></section>\n");
}

fn coverage(s: &mut String, r: &ScanResult) {
    let c = &r.coverage;
    let _ = write!(
        s,
        "<section id=\"coverage\"><h2>Coverage</h2><p>{} subscriptions, {} instances, {} storage accounts read with {} ARM requests ({} calls, {} retries, {} throttled, {} transport errors).</p>",
        c.subscriptions,
        c.instances,
        c.storage_accounts,
        c.calls.requests,
        c.calls.calls,
        c.calls.retries,
        c.calls.throttled,
        c.calls.transport_errors
    );
    if c.gaps.is_empty() {
        s.push_str("<p id=\"coverage-status\">Coverage: complete — every listing was read.</p>");
    } else {
        let _ = write!(
            s,
            "<p id=\"coverage-status\" class=\"caveat\">Coverage: PARTIAL — {} listing(s) could not be read.</p><table id=\"gaps\"><thead><tr><th>subscription</th><th>listing</th><th>status</th><th>code</th><th>message</th></tr></thead><tbody>",
            c.gaps.len()
        );
        for g in &c.gaps {
            let sub = g
                .subscription_id
                .as_deref()
                .map(|id| {
                    let n = r.subscription_name(id);
                    if n.is_empty() {
                        id.to_string()
                    } else {
                        format!("{n} ({id})")
                    }
                })
                .unwrap_or_else(|| "(tenant)".into());
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&sub),
                esc(&g.what),
                g.status.map(|x| x.to_string()).unwrap_or_default(),
                esc(&g.code),
                esc(&g.message)
            );
        }
        s.push_str("</tbody></table>");
    }
    if let Some(env) = &r.inventory.environment {
        s.push_str("<h3>Network probe</h3><ul>");
        for h in &env.hosts {
            let _ = write!(
                s,
                "<li>{}: {}</li>",
                esc(&h.target),
                if h.reachable {
                    "reachable".to_string()
                } else {
                    format!("NOT reachable: {}", esc(&h.detail))
                }
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n");
}

fn checks(s: &mut String, r: &ScanResult) {
    if r.checks.is_empty() {
        return;
    }
    s.push_str("<section id=\"checks\"><h2>Checks in this report</h2><table><thead><tr><th>check</th><th>severity</th><th>portal error</th><th>mitigation</th><th>docs</th></tr></thead><tbody>");
    let mut counts: HashMap<&str, [usize; 3]> = HashMap::new();
    for f in &r.findings {
        let e = counts.entry(f.check_id.as_str()).or_default();
        match f.status {
            FindingStatus::Fail => e[0] += 1,
            FindingStatus::Warn => e[1] += 1,
            _ => e[2] += 1,
        }
    }
    for (id, t) in &r.checks {
        let _ = write!(
            s,
            "<tr id=\"check-{0}\"><td><span class=\"chk\">{0}</span><br>{1}</td><td>{2}</td><td class=\"portal\">{3}</td><td>{4}</td><td>",
            esc(id),
            esc(&t.title),
            esc(&t.severity),
            esc(&t.portal_error),
            esc(&t.mitigation)
        );
        if t.docs.starts_with("https://") {
            let _ = write!(
                s,
                "<a href=\"{0}\" rel=\"noopener noreferrer\" target=\"_blank\">docs</a>",
                esc(&t.docs)
            );
        }
        s.push_str("</td></tr>");
    }
    s.push_str("</tbody></table></section>\n");
}

fn footer(s: &mut String, r: &ScanResult) {
    let _ = write!(
        s,
        "<footer>scready {} · policy: {} · storage in the connection path: {}",
        esc(&r.run.version),
        esc(&r.policy.sources.join(", ")),
        r.policy.storage_in_connection_path
    );
    for w in &r.policy.expired_waivers {
        let _ = write!(
            s,
            "<br>expired waiver no longer applies: {} ({}, expired {})",
            esc(&w.reason),
            esc(&w.origin),
            esc(&w.expires)
        );
    }
    s.push_str("</footer>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<img src=x onerror=alert(1)> & \"'"),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;&#39;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
        assert_eq!(esc("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
    }

    use crate::checks::testing::{fixture, vm};
    use crate::history::{HistorySummary, RunDiff};
    use crate::inventory::{BootDiagnostics, Instance};

    /// A subscription id Azure allows (remediation commands are withheld for others).
    const SUB: &str = "4f3e2d1c-0000-4000-8000-00000000000a";

    /// The checks' fixture inventory with `instances`, moved to subscription [`SUB`].
    fn result_with(instances: Vec<Instance>) -> ScanResult {
        let (mut inventory, policy) = fixture();
        inventory.subscriptions[0].id = SUB.into();
        inventory.instances = instances
            .into_iter()
            .map(|mut i| {
                i.id =
                    i.id.replace("/subscriptions/s1/", &format!("/subscriptions/{SUB}/"))
                        .into();
                i.subscription_id = SUB.into();
                i
            })
            .collect();
        let evaluation = crate::checks::evaluate(&inventory, &policy, "2026-01-01");
        ScanResult::new(
            crate::result::RunInfo::default(),
            &policy,
            Default::default(),
            inventory,
            evaluation,
        )
    }

    fn page(r: &ScanResult) -> String {
        let mut out = Vec::new();
        write_page(r, HistoryView::Known(r.history.as_ref()), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The page's data element, parsed.
    fn page_data(page: &str) -> serde_json::Value {
        let start = page
            .find("<script type=\"application/json\" id=\"scready-data\">")
            .expect("the data element");
        let body = &page[start..];
        let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
        serde_json::from_str(body).unwrap()
    }

    /// A text of the data's string table with an instance's markers put back, as the page does.
    fn rendered(data: &serde_json::Value, text: usize, row: usize) -> String {
        let s = |k: &serde_json::Value| {
            data["strings"][k.as_u64().unwrap() as usize]
                .as_str()
                .unwrap()
                .to_string()
        };
        let c = &data["columns"];
        let name = c["name"][row].as_str().unwrap().to_string();
        let suffix = match &c["idSuffix"][row] {
            serde_json::Value::String(x) => x.clone(),
            _ => name.clone(),
        };
        let values = [
            s(&c["idPrefix"][row]) + &suffix,
            s(&c["scaleSet"][row]),
            name,
            s(&c["resourceGroup"][row]),
            data["subscriptions"][c["subscription"][row].as_u64().unwrap() as usize][0]
                .as_str()
                .unwrap()
                .to_string(),
            suffix,
        ];
        let mut t = data["strings"][text].as_str().unwrap().to_string();
        for k in (1..=6u32).rev() {
            t = t.replace(char::from_u32(k).unwrap(), &values[k as usize - 1]);
        }
        t
    }

    #[test]
    fn the_data_carries_each_instance_once_and_each_repeated_text_once() {
        // `result_with` moves them to a subscription id Azure would issue: a remediation with
        // any other is withheld, and this test follows the command through the page.
        let instances: Vec<Instance> = (0..300)
            .map(|k| Instance {
                boot_diagnostics: BootDiagnostics::Disabled,
                ..vm(&format!("vm-{k:03}"))
            })
            .collect();
        let r = result_with(instances);
        let page = page(&r);
        let data = page_data(&page);
        assert_eq!(data["total"], 300);
        assert_eq!(data["columns"]["name"].as_array().unwrap().len(), 300);
        // Default order: all blocked, then by name.
        assert_eq!(data["columns"]["name"][0], "vm-000");
        assert_eq!(data["columns"]["verdict"][0], 3);
        // Each instance's findings are the same entries: a remediation is one template for
        // every instance.
        let findings = data["findings"].as_array().unwrap();
        let per_instance = r.findings.len() / 300;
        assert_eq!(r.findings.len(), 300 * per_instance);
        assert_eq!(findings.len(), per_instance, "{findings:?}");
        assert_eq!(data["findingSets"].as_array().unwrap().len(), 1);
        let boot = findings
            .iter()
            .find(|f| {
                data["checks"][f[0].as_u64().unwrap() as usize][0] == "boot-diagnostics-disabled"
            })
            .unwrap();
        let remediation = boot[4].as_u64().unwrap() as usize;
        for row in [0, 150, 299] {
            let name = data["columns"]["name"][row].as_str().unwrap();
            let f = r
                .findings
                .iter()
                .find(|f| {
                    f.resource_id.ends_with(&format!("/{name}"))
                        && f.check_id == "boot-diagnostics-disabled"
                })
                .unwrap();
            assert_eq!(rendered(&data, remediation, row), f.remediation.as_str());
            assert!(f.remediation.contains(name), "{}", f.remediation);
        }
        // Catalogue texts once: the check's portal error appears once in the page (in the
        // checks table) plus once in the data, whatever the number of instances.
        let portal = &r.checks["boot-diagnostics-disabled"].portal_error;
        let mut json = String::new();
        data::push_json_str(&mut json, portal);
        assert_eq!(page.matches(json.trim_matches('"')).count(), 2);
        // No row is in the HTML: the table is drawn from the data.
        assert!(!page.contains("<tr class=\"inst\""));
        assert!(page.len() < 40_000 + 300 * 100, "{} bytes", page.len());
    }

    #[test]
    fn azure_text_cannot_end_the_data_element() {
        let hostile = "</script><script>alert(1)</script><!--\u{2028}\u{202e}&";
        // As the page shows it: layout controls as visible escapes.
        let shown = "</script><script>alert(1)</script><!--\\u{2028}\\u{202e}&";
        let mut i = vm("x");
        i.name = hostile.into();
        i.tags = serde_json::from_value(serde_json::json!({ "note": hostile })).unwrap();
        let page = page(&result_with(vec![i]));
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "the data element's and the script's"
        );
        assert!(!page.contains("<!--") && !page.contains("<script>alert"));
        let data = page_data(&page);
        assert!(!page.contains('\u{202e}') && !page.contains('\u{2028}'));
        assert_eq!(data["columns"]["name"][0], shown);
        let tag = data["tagSets"][data["columns"]["tagSet"][0].as_u64().unwrap() as usize][0]
            .as_u64()
            .unwrap() as usize;
        assert_eq!(data["strings"][tag], format!("note={shown}"));
    }

    #[test]
    fn long_change_lists_are_capped_and_the_table_filters_by_change() {
        let instances: Vec<Instance> = (0..150).map(|k| vm(&format!("vm-{k:03}"))).collect();
        let mut r = result_with(instances);
        let newly_blocked: Vec<InstanceChange> = r
            .inventory
            .instances
            .iter()
            .map(|i| InstanceChange {
                resource_id: i.id.to_ascii_lowercase(),
                name: i.name.clone(),
                subscription_id: i.subscription_id.clone(),
                resource_group: i.resource_group.clone(),
                before: Some(Verdict::Ready),
                after: Some(Verdict::Blocked),
                ..Default::default()
            })
            .collect();
        r.history = Some(HistorySummary {
            diff: Some(RunDiff {
                newly_blocked,
                ..Default::default()
            }),
            ..Default::default()
        });
        let page = page(&r);
        let list = &page[page.find("<details class=\"newly-blocked\">").unwrap()..];
        let list = &list[..list.find("</details>").unwrap()];
        assert_eq!(
            list.matches("<li><a href=\"#instance=").count(),
            CHANGE_LIST_CAP
        );
        assert!(list.contains("… and 50 more"));
        assert!(list.contains(
            "<a href=\"#filter=change:newly_blocked\">Show all 150 in the instance table</a>"
        ));
        assert!(list.contains(&format!("<a href=\"#instance=%2Fsubscriptions%2F{SUB}%2Fresourcegroups%2Frg%2Fproviders%2Fmicrosoft.compute%2Fvirtualmachines%2Fvm-000\">")));
        assert!(page.contains("<option value=\"newly_blocked\">newly blocked (150)</option>"));
        let data = page_data(&page);
        assert!(data["columns"]["change"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c == 1));
    }

    #[test]
    fn the_policy_allows_only_the_page_s_own_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe"));
        assert!(!CSS.contains("</style") && !JS.contains("</script"));
    }
}
