//! `junit.xml`: one test suite per subscription, one test case per instance. A blocked instance
//! is a failure carrying its blocking findings; an undecided one is skipped with the reason;
//! warnings go to the case's output. Azure DevOps and GitHub Actions display this natively.

use super::{HistoryView, ReportSink};
use crate::findings::{Finding, FindingStatus, Verdict};
use crate::history::render::short_time;
use crate::result::ScanResult;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, Write};

/// `junit.xml`.
pub struct JunitReport;

impl ReportSink for JunitReport {
    fn format(&self) -> &'static str {
        "junit"
    }
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }
    fn render(&self, r: &ScanResult, _h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(document(r).as_bytes())
    }
}

/// Escapes text for XML content and attribute values; characters XML 1.0 cannot carry become
/// U+FFFD.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn describe(f: &Finding) -> String {
    let mut s = format!("[{}] {}: {}", f.status.as_str(), f.check_id, f.message);
    if let Some(p) = &f.principal_id {
        let _ = write!(s, " (principal {p})");
    }
    if !f.mitigation.is_empty() {
        let _ = write!(s, "\n  mitigation: {}", f.mitigation);
    }
    if !f.remediation.is_empty() {
        let _ = write!(s, "\n  remediation: {}", f.remediation);
    }
    s
}

/// Renders the document.
pub fn document(r: &ScanResult) -> String {
    // Findings that apply to an instance: its own, its subscription's, the environment's.
    let mut own: HashMap<String, Vec<&Finding>> = HashMap::new();
    let mut wide: HashMap<String, Vec<&Finding>> = HashMap::new();
    let mut environment: Vec<&Finding> = Vec::new();
    for f in &r.findings {
        if f.resource_id == "environment" {
            environment.push(f);
        } else if f.resource_id.starts_with("/subscriptions/")
            && f.resource_id.matches('/').count() == 2
        {
            wide.entry(f.subscription_id.to_ascii_lowercase())
                .or_default()
                .push(f);
        } else {
            own.entry(f.resource_id.to_ascii_lowercase())
                .or_default()
                .push(f);
        }
    }
    // Suites: every subscription read, in inventory order, plus any subscription an instance
    // names that the subscription list lacks.
    let mut suites: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for s in &r.inventory.subscriptions {
        let id = s.id.to_ascii_lowercase();
        if !suites.contains_key(&id) {
            suites.insert(id.clone(), Vec::new());
            order.push(id);
        }
    }
    for (n, i) in r.inventory.instances.iter().enumerate() {
        let id = i.subscription_id.to_ascii_lowercase();
        if !suites.contains_key(&id) {
            order.push(id.clone());
        }
        suites.entry(id).or_default().push(n);
    }
    let count = |v: Verdict| r.verdicts.iter().filter(|x| x.verdict == v).count();
    // JUnit timestamps are local date-times without a zone; scready's are UTC.
    let timestamp = short_time(&r.run.started_at)
        .trim_end_matches('Z')
        .to_string();
    let mut s = String::with_capacity(4096 + r.inventory.instances.len() * 600);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"scready Serial Console readiness\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\" timestamp=\"{}\">",
        r.verdicts.len(),
        count(Verdict::Blocked),
        count(Verdict::Unknown),
        r.run.duration_ms as f64 / 1000.0,
        xml(&timestamp)
    );
    for id in order {
        let members = &suites[&id];
        let name = r.subscription_name(&id);
        let suite_name = if name.is_empty() {
            id.clone()
        } else {
            format!("{name} ({id})")
        };
        let failures = members
            .iter()
            .filter(|&&n| r.verdicts[n].verdict == Verdict::Blocked)
            .count();
        let skipped = members
            .iter()
            .filter(|&&n| r.verdicts[n].verdict == Verdict::Unknown)
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"0\" timestamp=\"{}\">",
            xml(&suite_name),
            members.len(),
            xml(&timestamp)
        );
        let gaps: Vec<&crate::inventory::CoverageGap> = r
            .coverage
            .gaps
            .iter()
            .filter(|g| {
                g.subscription_id
                    .as_deref()
                    .is_none_or(|x| x.eq_ignore_ascii_case(&id))
            })
            .collect();
        s.push_str("    <properties>\n");
        let _ = writeln!(
            s,
            "      <property name=\"subscription_id\" value=\"{}\"/>",
            xml(&id)
        );
        {
            for g in gaps {
                let status = g.status.map(|x| format!("HTTP {x} ")).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "      <property name=\"coverage-gap\" value=\"{}\"/>",
                    xml(&format!("{}: {status}{}: {}", g.what, g.code, g.message))
                );
            }
        }
        s.push_str("    </properties>\n");
        for &n in members {
            let i = &r.inventory.instances[n];
            let v = &r.verdicts[n];
            let _ = write!(
                s,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
                xml(&i.name),
                xml(&format!(
                    "{}.{}",
                    if name.is_empty() { &id } else { name },
                    i.resource_group
                ))
            );
            let applying: Vec<&Finding> = own
                .get(&i.id.to_ascii_lowercase())
                .into_iter()
                .flatten()
                .chain(wide.get(&id).into_iter().flatten())
                .chain(environment.iter())
                .copied()
                .collect();
            let blocking: Vec<&&Finding> = applying
                .iter()
                .filter(|f| f.status == FindingStatus::Fail && v.blockers.contains(&f.check_id))
                .collect();
            let undecided: Vec<&&Finding> = applying
                .iter()
                .filter(|f| f.status == FindingStatus::Unknown && v.unknowns.contains(&f.check_id))
                .collect();
            let other: Vec<&&Finding> = applying
                .iter()
                .filter(|f| matches!(f.status, FindingStatus::Warn | FindingStatus::Waived))
                .collect();
            let mut body = String::new();
            match v.verdict {
                Verdict::Blocked => {
                    let text: Vec<String> = blocking.iter().map(|f| describe(f)).collect();
                    let _ = writeln!(
                        body,
                        "      <failure message=\"{}\" type=\"blocked\">{}</failure>",
                        xml(&format!("blocked by {}", v.blockers.join(", "))),
                        xml(&format!("{}\n{}", i.id, text.join("\n")))
                    );
                }
                Verdict::Unknown => {
                    let reasons: Vec<String> = undecided.iter().map(|f| describe(f)).collect();
                    let _ = writeln!(
                        body,
                        "      <skipped message=\"{}\">{}</skipped>",
                        xml(&format!("undecided: {}", v.unknowns.join(", "))),
                        xml(&reasons.join("\n"))
                    );
                }
                Verdict::Ready | Verdict::ReadyWithWarnings => {}
            }
            if !other.is_empty() {
                let text: Vec<String> = other.iter().map(|f| describe(f)).collect();
                let _ = writeln!(
                    body,
                    "      <system-out>{}</system-out>",
                    xml(&text.join("\n"))
                );
            }
            if body.is_empty() {
                s.push_str("/>\n");
            } else {
                s.push_str(">\n");
                s.push_str(&body);
                s.push_str("    </testcase>\n");
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_characters_xml_cannot_carry() {
        assert_eq!(xml("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml("x\u{1}y\tz"), "x\u{fffd}y\tz");
    }
}
