//! `findings.ocsf.json` and `findings.ocsf.jsonl`: every finding as an OCSF Compliance Finding
//! (OCSF 1.8.0, class `compliance_finding`, `class_uid` 2003, with the `cloud` profile), for
//! security data lakes (Sentinel, Security Lake, anything that reads Prowler's OCSF output).
//!
//! One event per row of `findings.csv`: per (instance, check) that did not pass, per subscription
//! finding and per environment finding. `--format ocsf` writes them as one JSON array, as Prowler
//! does; `--format ocsf-jsonl` one event per line. Events are written one at a time as they are
//! built: the file is never held in memory.
//!
//! Field meanings and enum values follow the OCSF 1.8.0 schema export (classes
//! `compliance_finding`, objects `compliance`, `cloud`, `account`, `finding_info`,
//! `resource_details`, `remediation`, `metadata`); the tests validate every event against that
//! release's JSON Schema (`tests/fixtures/ocsf/`).

use super::{HistoryView, ReportSink};
use crate::findings::FindingStatus;
use crate::inventory::{InstanceKind, SubscriptionInfo, Tags};
use crate::policy::Severity;
use crate::result::{InstanceFindings, ScanResult};
use foldhash::HashMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::io::{self, Write};

/// The OCSF release the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.8.0";

/// `compliance.standards` of every event.
pub const STANDARD: &str = "Azure Serial Console readiness";

/// How the events are laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcsfLayout {
    /// One JSON array (`findings.ocsf.json`), one event per line inside it.
    Array,
    /// JSON Lines (`findings.ocsf.jsonl`): one event per line, nothing else.
    Lines,
}

/// The OCSF sink.
pub struct OcsfFindings(pub OcsfLayout);

/// `compliance.status_id` and its caption for a finding's status. OCSF 1.8.0: 1 Pass, 2 Warning
/// ("the compliance check did not yield a result due to missing information"), 3 Fail ("failed
/// for at least one of the evaluated resources"), 99 Other ("see the status attribute"). A check
/// that failed fails whatever its severity (the severity says how much it matters); an undecided
/// check is OCSF's Warning; a waived finding is Other, with `Waived` as its status.
pub fn compliance_status(status: FindingStatus) -> (u8, &'static str) {
    match status {
        FindingStatus::Fail | FindingStatus::Warn => (3, "Fail"),
        FindingStatus::Unknown => (2, "Warning"),
        FindingStatus::Waived => (99, "Waived"),
    }
}

/// `severity_id` and its caption for a finding's severity (as applied): error blocks the
/// instance (High: "action is required immediately"), warning leaves it ready with warnings
/// (Medium: "action is required but the situation is not serious at this time"), info is
/// advisory (Informational).
pub fn severity(severity: Severity) -> (u8, &'static str) {
    match severity {
        Severity::Error => (4, "High"),
        Severity::Warning => (3, "Medium"),
        Severity::Info => (1, "Informational"),
        Severity::Off => (0, "Unknown"),
    }
}

/// The event's own `status_id` (the finding's workflow state): New, or Suppressed when an
/// unexpired waiver covers it.
fn finding_status(status: FindingStatus) -> (u8, &'static str) {
    match status {
        FindingStatus::Waived => (3, "Suppressed"),
        _ => (1, "New"),
    }
}

/// `cloud.cloud_partition` for `--cloud` (the Azure environment names the OCSF schema gives as
/// examples); none for a custom cloud.
fn partition(cloud: &str) -> Option<&'static str> {
    match cloud {
        "public" => Some("AzureCloud"),
        "usgov" => Some("AzureUSGovernment"),
        "china" => Some("AzureChinaCloud"),
        _ => None,
    }
}

/// The ARM resource type of an instance.
fn resource_type(kind: InstanceKind) -> &'static str {
    match kind {
        InstanceKind::Vm | InstanceKind::VmssFlexVm => "Microsoft.Compute/virtualMachines",
        InstanceKind::VmssInstance => "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
    }
}

/// `finding_info.uid`: `scready-` and the first 32 hex digits of the SHA-256 of
/// `scready-finding-v1`, the subscription id, the resource id, the check id and the audited
/// principal's object id (empty when none), each on its own line (none of them can hold a line
/// break), ids in lower case. It depends on nothing else (no time, no message, no display name),
/// so a finding keeps its uid from scan to scan; a subscription id is unique across tenants, so
/// the tenant is not part of it.
pub fn finding_uid(
    subscription_id: &str,
    resource_id: &str,
    check_id: &str,
    principal_id: Option<&str>,
) -> String {
    let key = format!(
        "scready-finding-v1\n{}\n{}\n{}\n{}",
        subscription_id.to_ascii_lowercase(),
        resource_id.to_ascii_lowercase(),
        check_id,
        principal_id.unwrap_or("").to_ascii_lowercase()
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let mut uid = String::with_capacity(8 + 32);
    uid.push_str("scready-");
    for b in &digest.as_ref()[..16] {
        let _ = write!(uid, "{b:02x}");
    }
    uid
}

/// Milliseconds since the Unix epoch of an RFC 3339 time.
fn epoch_millis(rfc3339: &str) -> Option<i64> {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A string attribute written only when it is not empty.
fn text(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[derive(Serialize)]
struct Event<'a> {
    activity_id: u8,
    activity_name: &'static str,
    category_uid: u8,
    category_name: &'static str,
    class_uid: u16,
    class_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    time: i64,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    message: &'a str,
    metadata: Metadata<'a>,
    cloud: Cloud<'a>,
    compliance: Compliance<'a>,
    finding_info: FindingInfo<'a>,
    resources: [Resource<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<Remediation<'a>>,
    unmapped: Unmapped<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product<'a>,
    profiles: [&'static str; 1],
    event_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'static str,
    uid: &'static str,
    vendor_name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Cloud<'a> {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_partition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<Account<'a>>,
}

#[derive(Serialize)]
struct Account<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// 13: Azure Subscription.
    type_id: u8,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Compliance<'a> {
    control: &'a str,
    standards: [&'static str; 1],
    status_id: u8,
    status: &'static str,
    status_code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_details: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: String,
    title: &'a str,
    desc: &'a str,
    created_time: i64,
}

#[derive(Serialize)]
struct Resource<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cloud_partition: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Group<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<TagList<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<InstanceData<'a>>,
}

/// The resource group (OCSF: "the name of the related resource group").
#[derive(Serialize)]
struct Group<'a> {
    name: &'a str,
}

/// What else the instance row says, for joins in the data lake.
#[derive(Serialize)]
struct InstanceData<'a> {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_set: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os_type: Option<&'a str>,
    verdict: &'static str,
}

/// Tags as OCSF key/value objects (`[{"name": …, "value": …}]`), serialised from the inventory
/// without copying them.
struct TagList<'a>(&'a Tags);

impl Serialize for TagList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (name, value) in self.0.iter() {
            seq.serialize_element(&KeyValue { name, value })?;
        }
        seq.end()
    }
}

struct KeyValue<'a> {
    name: &'a str,
    value: &'a str,
}

impl Serialize for KeyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("value", self.value)?;
        map.end()
    }
}

#[derive(Serialize)]
struct Remediation<'a> {
    desc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    references: Option<[&'a str; 1]>,
}

/// scready's own spellings, kept beside their OCSF mappings.
#[derive(Serialize)]
struct Unmapped<'a> {
    status: &'static str,
    severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation_command: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    portal_error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a str>,
}

/// What the sink looks up per finding, built once per report.
struct Lookups<'a> {
    /// The instance of each finding.
    own: InstanceFindings<'a>,
    subscriptions: HashMap<String, &'a SubscriptionInfo>,
    partition: Option<&'static str>,
    time: i64,
}

impl<'a> Lookups<'a> {
    fn new(r: &'a ScanResult) -> Lookups<'a> {
        Lookups {
            own: InstanceFindings::new(r),
            subscriptions: r
                .inventory
                .subscriptions
                .iter()
                .map(|s| (s.id.to_ascii_lowercase(), s))
                .collect(),
            partition: partition(&r.run.cloud),
            // When the estate was observed: discovery's start (an offline evaluation keeps the
            // inventory's scan time there).
            time: epoch_millis(&r.run.started_at)
                .or_else(|| epoch_millis(&r.run.finished_at))
                .unwrap_or(0),
        }
    }
}

/// The event of one finding.
fn event<'a>(r: &'a ScanResult, k: usize, at: &Lookups<'a>) -> Event<'a> {
    let f = &r.findings[k];
    let subscription = at
        .subscriptions
        .get(&f.subscription_id.to_ascii_lowercase())
        .copied();
    let instance = at
        .own
        .instance_of(k)
        .map(|n| (&r.inventory.instances[n], &r.verdicts[n]));
    let check = r.checks.get(f.check_id.as_str());
    let (severity_id, severity_caption) = severity(f.severity);
    let (status_id, status_caption) = finding_status(f.status);
    let (compliance_id, compliance_caption) = compliance_status(f.status);
    let resource = match instance {
        Some((i, v)) => Resource {
            uid: &f.resource_id,
            name: text(&i.name),
            kind: resource_type(i.kind),
            region: text(&i.location),
            cloud_partition: at.partition,
            group: text(&i.resource_group).map(|name| Group { name }),
            tags: (!i.tags.is_empty()).then_some(TagList(&i.tags)),
            data: Some(InstanceData {
                kind: i.kind.as_str(),
                scale_set: i.scale_set.as_deref(),
                os_type: i.os_type.as_deref(),
                verdict: v.verdict.as_str(),
            }),
        },
        None if f.resource_id == "environment" => Resource {
            uid: &f.resource_id,
            name: Some("the scanner's environment"),
            kind: "scready/environment",
            region: None,
            cloud_partition: at.partition,
            group: None,
            tags: None,
            data: None,
        },
        None => Resource {
            uid: &f.resource_id,
            name: subscription.and_then(|s| text(&s.name)),
            kind: "Microsoft.Resources/subscriptions",
            region: None,
            cloud_partition: at.partition,
            group: None,
            tags: None,
            data: None,
        },
    };
    let mitigation = f.mitigation.as_str();
    let command = f.remediation.as_str();
    let docs = check.map(|c| c.docs.as_str()).and_then(text);
    let remediation = (!mitigation.is_empty() || !command.is_empty()).then(|| Remediation {
        desc: match (mitigation.is_empty(), command.is_empty()) {
            (_, true) => mitigation.to_string(),
            (true, false) => format!("Command (review before running): {command}"),
            (false, false) => format!("{mitigation}\nCommand (review before running): {command}"),
        },
        references: docs.map(|d| [d]),
    });
    Event {
        activity_id: 1,
        activity_name: "Create",
        category_uid: 2,
        category_name: "Findings",
        class_uid: 2003,
        class_name: "Compliance Finding",
        type_uid: 200301,
        type_name: "Compliance Finding: Create",
        time: at.time,
        severity_id,
        severity: severity_caption,
        status_id,
        status: status_caption,
        message: &f.message,
        metadata: Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: "scready",
                uid: "scready",
                vendor_name: "scready",
                version: &r.run.version,
            },
            profiles: ["cloud"],
            event_code: &f.check_id,
            tenant_uid: subscription.and_then(|s| text(&s.tenant_id)),
        },
        cloud: Cloud {
            provider: "Azure",
            cloud_partition: at.partition,
            region: instance.and_then(|(i, _)| text(&i.location)),
            account: text(&f.subscription_id).map(|uid| Account {
                uid,
                name: subscription.and_then(|s| text(&s.name)),
                type_id: 13,
                kind: "Azure Subscription",
            }),
        },
        compliance: Compliance {
            control: &f.check_id,
            standards: [STANDARD],
            status_id: compliance_id,
            status: compliance_caption,
            status_code: f.status.as_str(),
            status_details: f.waiver.as_deref().map(|w| [w]),
        },
        finding_info: FindingInfo {
            uid: finding_uid(
                &f.subscription_id,
                &f.resource_id,
                &f.check_id,
                f.principal_id.as_deref(),
            ),
            title: check
                .map(|c| c.title.as_str())
                .and_then(text)
                .unwrap_or(&f.check_id),
            desc: &f.message,
            created_time: at.time,
        },
        resources: [resource],
        remediation,
        unmapped: Unmapped {
            status: f.status.as_str(),
            severity: f.severity.as_str(),
            remediation_command: text(command),
            portal_error: check.map(|c| c.portal_error.as_str()).and_then(text),
            principal_id: f.principal_id.as_deref(),
            waiver: f.waiver.as_deref(),
        },
    }
}

impl ReportSink for OcsfFindings {
    fn format(&self) -> &'static str {
        match self.0 {
            OcsfLayout::Array => "ocsf",
            OcsfLayout::Lines => "ocsf-jsonl",
        }
    }
    fn file_name(&self) -> &'static str {
        match self.0 {
            OcsfLayout::Array => "findings.ocsf.json",
            OcsfLayout::Lines => "findings.ocsf.jsonl",
        }
    }
    fn render(&self, r: &ScanResult, _h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        let lookups = Lookups::new(r);
        let array = self.0 == OcsfLayout::Array;
        if array {
            out.write_all(b"[")?;
        }
        for n in 0..r.findings.len() {
            if array {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
            }
            serde_json::to_writer(&mut *out, &event(r, n, &lookups))
                .map_err(std::io::Error::other)?;
            if !array {
                out.write_all(b"\n")?;
            }
        }
        if array {
            out.write_all(if r.findings.is_empty() {
                b"]\n"
            } else {
                b"\n]\n"
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uid_ignores_case_and_separates_every_part() {
        let a = finding_uid(
            "0000AAAA-0000-0000-0000-000000000001",
            "/subscriptions/0000AAAA-0000-0000-0000-000000000001/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm1",
            "boot-diagnostics-disabled",
            None,
        );
        let b = finding_uid(
            "0000aaaa-0000-0000-0000-000000000001",
            "/subscriptions/0000aaaa-0000-0000-0000-000000000001/resourcegroups/rg/providers/microsoft.compute/virtualmachines/VM1",
            "boot-diagnostics-disabled",
            Some(""),
        );
        assert_eq!(a, b);
        assert!(a.starts_with("scready-") && a.len() == 40, "{a}");
        assert!(a[8..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, finding_uid("s", "r", "boot-diagnostics-disabled", None));
        assert_ne!(
            finding_uid("s", "r", "c", Some("p1")),
            finding_uid("s", "r", "c", Some("p2"))
        );
        assert_ne!(
            finding_uid("s", "r", "c", None),
            finding_uid("s", "r", "d", None)
        );
    }

    #[test]
    fn statuses_and_severities_map_to_ocsf_enums() {
        assert_eq!(compliance_status(FindingStatus::Fail), (3, "Fail"));
        assert_eq!(compliance_status(FindingStatus::Warn), (3, "Fail"));
        assert_eq!(compliance_status(FindingStatus::Unknown), (2, "Warning"));
        assert_eq!(compliance_status(FindingStatus::Waived).0, 99);
        assert_eq!(severity(Severity::Error), (4, "High"));
        assert_eq!(severity(Severity::Warning), (3, "Medium"));
        assert_eq!(severity(Severity::Info), (1, "Informational"));
    }
}
