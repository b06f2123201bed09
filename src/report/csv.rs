//! `instances.csv` and `findings.csv` (RFC 4180; header row; list cells `;`-separated; tags as
//! `key=value`).
//!
//! Cells that a spreadsheet could read as a formula (starting with `=`, `+`, `-`, `@`, their
//! full-width forms `＝` `＋` `－` `＠`, a tab, a carriage return, a newline or a space) are
//! prefixed with `'`, so hostile names and tags stay text.

use super::{HistoryView, ReportSink};
use crate::result::ScanResult;
use std::io::{self, Write};

/// `instances.csv` columns, in order (add columns only at the end).
pub const INSTANCE_COLUMNS: &[&str] = &[
    "subscription_id",
    "subscription_name",
    "resource_group",
    "name",
    "resource_id",
    "kind",
    "scale_set",
    "location",
    "os_type",
    "power_state",
    "provisioning_state",
    "boot_diagnostics",
    "storage_account",
    "verdict",
    "blockers",
    "warnings",
    "unknowns",
    "first_fix",
    "principals_denied",
    "tags",
];

/// `findings.csv` columns, in order (add columns only at the end).
pub const FINDING_COLUMNS: &[&str] = &[
    "resource_id",
    "subscription_id",
    "check_id",
    "status",
    "severity",
    "message",
    "mitigation",
    "remediation",
    "principal_id",
    "resource_name",
];

/// Neutralises a cell that a spreadsheet could evaluate as a formula: one that starts with
/// `=`, `+`, `-` or `@`, their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20, which some
/// spreadsheets fold to ASCII), or a tab, carriage return, newline or space (which some skip
/// before looking for a formula) gets a leading `'`.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | ' ' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}'
            | '\u{ff20}',
        ) => format!("'{s}").into(),
        _ => s.into(),
    }
}

fn writer(out: &mut dyn Write) -> csv::Writer<&mut dyn Write> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

fn io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// `instances.csv`: one row per VM or scale-set instance.
pub struct InstancesCsv;

impl ReportSink for InstancesCsv {
    fn format(&self) -> &'static str {
        "csv"
    }
    fn file_name(&self) -> &'static str {
        "instances.csv"
    }
    fn render(&self, r: &ScanResult, _h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        let names: foldhash::HashMap<&str, &str> = r
            .inventory
            .subscriptions
            .iter()
            .map(|s| (s.id.as_str(), s.name.as_str()))
            .collect();
        let mut w = writer(out);
        w.write_record(INSTANCE_COLUMNS).map_err(io)?;
        for (i, v) in r.inventory.instances.iter().zip(&r.verdicts) {
            let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let storage = crate::checks::storage::custom_host(i)
                .map(|h| crate::discover::hosts::account_name(&h).unwrap_or(h))
                .unwrap_or_default();
            let row = [
                i.subscription_id.as_str(),
                names.get(i.subscription_id.as_str()).copied().unwrap_or(""),
                &i.resource_group,
                &i.name,
                &i.id,
                i.kind.as_str(),
                i.scale_set.as_deref().unwrap_or(""),
                &i.location,
                i.os_type.as_deref().unwrap_or(""),
                i.power_state.as_deref().unwrap_or(""),
                i.provisioning_state.as_deref().unwrap_or(""),
                i.boot_diagnostics_label(),
                &storage,
                v.verdict.as_str(),
                &v.blockers.join(";"),
                &v.warnings.join(";"),
                &v.unknowns.join(";"),
                &v.first_fix,
                &v.principals_denied.join(";"),
                &tags.join(";"),
            ];
            w.write_record(row.iter().map(|c| safe_cell(c).into_owned()))
                .map_err(io)?;
        }
        w.flush()
    }
}

/// `findings.csv`: one row per (instance or subscription, check) that did not pass, with the
/// instance's or subscription's name.
pub struct FindingsCsv;

impl ReportSink for FindingsCsv {
    fn format(&self) -> &'static str {
        "csv"
    }
    fn file_name(&self) -> &'static str {
        "findings.csv"
    }
    fn render(&self, r: &ScanResult, _h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        // Instance findings carry their instance's id exactly as the inventory holds it;
        // subscription findings are looked up case-insensitively.
        let own = crate::result::InstanceFindings::new(r);
        let subscription_names: foldhash::HashMap<String, &str> = r
            .inventory
            .subscriptions
            .iter()
            .map(|s| {
                (
                    format!("/subscriptions/{}", s.id.to_ascii_lowercase()),
                    s.name.as_str(),
                )
            })
            .collect();
        let mut w = writer(out);
        w.write_record(FINDING_COLUMNS).map_err(io)?;
        for (k, f) in r.findings.iter().enumerate() {
            let name = match own.instance_of(k) {
                Some(n) => r.inventory.instances[n].name.as_str(),
                None => subscription_names
                    .get(&f.resource_id.to_ascii_lowercase())
                    .copied()
                    .unwrap_or(""),
            };
            let row = [
                f.resource_id.as_str(),
                &f.subscription_id,
                &f.check_id,
                f.status.as_str(),
                f.severity.as_str(),
                &f.message,
                &f.mitigation,
                &f.remediation,
                f.principal_id.as_deref().unwrap_or(""),
                name,
            ];
            w.write_record(row.iter().map(|c| safe_cell(c).into_owned()))
                .map_err(io)?;
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for s in [
            "=1+1",
            "+cmd",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "\n=1+1",
            " =1+1",
            "＝1+1",
            "＋cmd",
            "－2",
            "＠SUM(A1)",
        ] {
            assert_eq!(safe_cell(s), format!("'{s}"));
        }
        assert_eq!(safe_cell("/subscriptions/x"), "/subscriptions/x");
        assert_eq!(safe_cell(""), "");
        assert_eq!(safe_cell("vm-01 =x"), "vm-01 =x");
        assert_eq!(safe_cell("# withheld: x"), "# withheld: x");
    }
}
