//! `report.json`: the whole [`ScanResult`] with its schema version.

use super::ReportSink;
use crate::result::ScanResult;
use std::io::Write;

/// `report.json`.
pub struct JsonReport;

impl ReportSink for JsonReport {
    fn format(&self) -> &'static str {
        "json"
    }
    fn file_name(&self) -> &'static str {
        "report.json"
    }
    fn render(&self, r: &ScanResult, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, r).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    }
}
