//! `report.json`, schema 2: the [`ScanResult`] written compactly and streamed straight to the
//! file (see `docs/report.schema.json` for every field).
//!
//! What repeats is written once: each check's texts (title, severity, portal error, mitigation,
//! docs, remediation templates and the messages its findings share) under `checks`, the strings
//! the instances share (subscriptions, resource groups, regions, id prefixes, …) in
//! `inventory.instances.strings`. A finding is a short row that names its instance by index and
//! carries only what differs from its check's texts. Rows are written one per line as they are
//! produced: nothing but a few small tables is built besides the result itself.

use super::{HistoryView, ReportSink};
use crate::checks::AccessVerdict;
use crate::findings::{Finding, InstanceVerdict, Text};
use crate::inventory::{BootDiagnostics, Instance, InstanceKind, Inventory, PrincipalRef};
use crate::result::{CheckText, InstanceFindings, ScanResult, REPORT_SCHEMA_VERSION};
use foldhash::{HashMap, HashMapExt};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// `report.json`.
pub struct JsonReport;

impl ReportSink for JsonReport {
    fn format(&self) -> &'static str {
        "json"
    }
    fn file_name(&self) -> &'static str {
        "report.json"
    }
    fn render(&self, r: &ScanResult, h: HistoryView, out: &mut dyn Write) -> io::Result<()> {
        write_report(r, h, out)
    }
}

/// The positions of an instance row in `inventory.instances.rows` (also written as
/// `inventory.instances.fields`).
pub const INSTANCE_FIELDS: [&str; 24] = [
    "id_prefix",
    "id_suffix",
    "name",
    "subscription_id",
    "resource_group",
    "kind",
    "scale_set",
    "instance_id",
    "location",
    "os_type",
    "tags",
    "power_state",
    "instance_view",
    "provisioning_state",
    "boot_diagnostics",
    "boot_diagnostics_detail",
    "boot_diagnostics_error",
    "security_type",
    "secure_boot",
    "disable_password_authentication",
    "latest_model_applied",
    "anomalies",
    "model_not_read",
    "status_not_read",
];

/// How many distinct messages one check's table holds; further messages are written in full.
const MAX_MESSAGES_PER_CHECK: usize = 256;

/// Fills `template`'s placeholders verbatim (no quoting): each `{key}` whose key `value` knows
/// is replaced, any other text is kept as it is.
///
/// This is how a reader gets a finding's remediation from its check's template: `{name}`,
/// `{resource_group}`, `{subscription_id}`, `{resource_id}`, `{location}`, `{scale_set}`,
/// `{instance_id}` filled in from the instance (the subscription id alone for a subscription's
/// finding) and `{principal_id}` from the finding; a finding carries its remediation in full
/// only when this gives something else.
pub fn substitute<'v>(template: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    crate::policy::fill_placeholders(template, value, |_, v, out| {
        out.push_str(v);
        Ok(())
    })
}

/// A table of distinct strings, each with its index in order of first use.
#[derive(Default)]
struct Strings<'a> {
    index: HashMap<&'a str, u32>,
    list: Vec<&'a str>,
}

impl<'a> Strings<'a> {
    fn add(&mut self, s: &'a str) {
        if !self.index.contains_key(s) {
            self.index.insert(s, self.list.len() as u32);
            self.list.push(s);
        }
    }
    fn get(&self, s: &str) -> u32 {
        self.index[s]
    }
    fn opt(&self, s: Option<&str>) -> Option<u32> {
        s.map(|s| self.get(s))
    }
}

/// The prefix of an instance id (up to and including its last `/`) and the rest.
fn split_id(id: &str) -> (&str, &str) {
    match id.rfind('/') {
        Some(p) => (&id[..=p], &id[p + 1..]),
        None => ("", id),
    }
}

/// The mode and detail of a boot-diagnostics setting, as the instance row writes them.
fn boot_parts(b: &BootDiagnostics) -> (&'static str, Option<&str>) {
    match b {
        BootDiagnostics::Absent => ("absent", None),
        BootDiagnostics::Disabled => ("disabled", None),
        BootDiagnostics::Managed => ("managed", None),
        BootDiagnostics::Custom { storage_uri } => ("custom", Some(storage_uri.as_str())),
        BootDiagnostics::Invalid { reason } => ("invalid", Some(reason.as_str())),
    }
}

/// Every string of the instances that goes into the string table (all but names, id
/// suffixes and Uniform instance ids, which are their own).
fn instance_strings<'a>(i: &'a Instance, mut add: impl FnMut(&'a str)) {
    add(split_id(&i.id).0);
    add(&i.subscription_id);
    add(&i.resource_group);
    if let Some(s) = &i.scale_set {
        add(s);
    }
    add(&i.location);
    for s in [&i.os_type, &i.power_state, &i.provisioning_state]
        .into_iter()
        .flatten()
    {
        add(s);
    }
    for (k, v) in i.tags.iter() {
        add(k);
        add(v);
    }
    if let Some(d) = boot_parts(&i.boot_diagnostics).1 {
        add(d);
    }
    for s in [
        &i.boot_diagnostics_error,
        &i.security_type,
        &i.model_not_read,
        &i.status_not_read,
    ]
    .into_iter()
    .flatten()
    {
        add(s);
    }
    for a in &i.anomalies {
        add(a);
    }
}

/// One check's entry under `checks`: its texts and the messages its findings share.
struct CheckEntry<'a> {
    text: CheckText,
    messages: Strings<'a>,
}

impl<'a> CheckEntry<'a> {
    fn note_message(&mut self, m: &'a str) {
        if self.messages.list.len() < MAX_MESSAGES_PER_CHECK {
            self.messages.add(m);
        }
    }
    fn message(&self, m: &'a str) -> Ref<'a> {
        match self.messages.index.get(m) {
            Some(&i) => Ref::Index(i),
            None => Ref::Text(m),
        }
    }
}

/// What the writer looks up while streaming rows.
struct Prepared<'a> {
    r: &'a ScanResult,
    strings: Strings<'a>,
    instances: HashMap<&'a str, u32>,
    /// The instance of each finding.
    own: InstanceFindings<'a>,
    checks: BTreeMap<&'a str, CheckEntry<'a>>,
}

impl<'a> Prepared<'a> {
    fn new(r: &'a ScanResult) -> Prepared<'a> {
        let mut strings = Strings::default();
        // Instances by id, for the access rows (findings are matched in one walk, `own`).
        let mut instances = HashMap::with_capacity(if r.access.is_empty() {
            0
        } else {
            r.inventory.instances.len()
        });
        for (n, i) in r.inventory.instances.iter().enumerate() {
            instance_strings(i, |s| strings.add(s));
            if !r.access.is_empty() {
                instances.entry(i.id.as_str()).or_insert(n as u32);
            }
        }
        let mut checks: BTreeMap<&'a str, CheckEntry<'a>> = r
            .checks
            .iter()
            .map(|(id, text)| {
                (
                    id.as_str(),
                    CheckEntry {
                        text: text.clone(),
                        messages: Strings::default(),
                    },
                )
            })
            .collect();
        fn entry<'m, 'a>(
            checks: &'m mut BTreeMap<&'a str, CheckEntry<'a>>,
            id: &'a str,
            severity: &str,
        ) -> &'m mut CheckEntry<'a> {
            checks.entry(id).or_insert_with(|| CheckEntry {
                text: CheckText {
                    severity: severity.to_string(),
                    ..Default::default()
                },
                messages: Strings::default(),
            })
        }
        for f in &r.findings {
            entry(&mut checks, &f.check_id, f.severity.as_str()).note_message(&f.message);
        }
        for a in &r.access {
            for c in &a.checks {
                entry(&mut checks, &c.check_id, "").note_message(&c.message);
            }
        }
        for v in &r.verdicts {
            for id in v.blockers.iter().chain(&v.warnings).chain(&v.unknowns) {
                entry(&mut checks, id, "");
            }
        }
        Prepared {
            r,
            strings,
            instances,
            own: InstanceFindings::new(r),
            checks,
        }
    }

    /// The index of finding `k`'s instance, when the finding is about an instance of the same
    /// subscription.
    fn instance(&self, k: usize) -> Option<u32> {
        let n = self.own.instance_of(k)?;
        (self.r.inventory.instances[n].subscription_id == self.r.findings[k].subscription_id)
            .then_some(n as u32)
    }

    /// The index of the audited principal with this id and label.
    fn principal(&self, id: &str, label: &str) -> Option<u32> {
        self.r
            .inventory
            .principals
            .iter()
            .position(|p| p.object_id == id && p.label == label)
            .map(|n| n as u32)
    }
}

/// A table index or a string written in full.
#[derive(Clone, Copy)]
enum Ref<'a> {
    Index(u32),
    Text(&'a str),
}

impl Serialize for Ref<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ref::Index(i) => s.serialize_u32(*i),
            Ref::Text(t) => s.serialize_str(t),
        }
    }
}

/// The rare parts of a finding: written only when they differ from its check's.
#[derive(Default, Serialize)]
struct More<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mitigation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remediation: Option<&'a str>,
}

impl More<'_> {
    fn is_empty(&self) -> bool {
        self.resource_id.is_none()
            && self.subscription_id.is_none()
            && self.severity.is_none()
            && self.principal.is_none()
            && self.waiver.is_none()
            && self.mitigation.is_none()
            && self.remediation.is_none()
    }
}

/// Where a finding applies: an instance (by index), a subscription (its id) or `environment`.
enum Target<'a> {
    Instance(u32),
    Name(&'a str),
    Elsewhere,
}

/// `[target, check, status, message, more?]`.
struct FindingRow<'p, 'a> {
    p: &'p Prepared<'a>,
    f: &'a Finding,
    /// The finding's index in `findings`.
    k: usize,
}

impl<'a> FindingRow<'_, 'a> {
    /// The remediation a reader derives from the check's template, for this finding's target.
    fn derived_remediation(&self, target: &Target<'a>, check: &CheckText) -> Option<String> {
        let f = self.f;
        let principal = f.principal_id.as_deref();
        match target {
            Target::Instance(n) => {
                let i = &self.p.r.inventory.instances[*n as usize];
                let template = if i.kind == InstanceKind::VmssInstance
                    && !check.remediation_scale_set.is_empty()
                {
                    &check.remediation_scale_set
                } else {
                    &check.remediation
                };
                Some(substitute(template, |k| match k {
                    "name" => Some(i.name.as_str()),
                    "resource_group" => Some(i.resource_group.as_str()),
                    "subscription_id" => Some(i.subscription_id.as_str()),
                    "resource_id" => Some(i.id.as_str()),
                    "location" => Some(i.location.as_str()),
                    "scale_set" => Some(i.scale_set.as_deref().unwrap_or("")),
                    "instance_id" => Some(i.instance_id.as_deref().unwrap_or("")),
                    "principal_id" => principal,
                    _ => None,
                }))
            }
            Target::Name(_) => Some(substitute(&check.remediation, |k| match k {
                "subscription_id" if !f.subscription_id.is_empty() => {
                    Some(f.subscription_id.as_str())
                }
                "principal_id" => principal,
                _ => None,
            })),
            Target::Elsewhere => None,
        }
    }
}

impl Serialize for FindingRow<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.f;
        let entry = &self.p.checks[f.check_id.as_str()];
        let target = if let Some(n) = self.p.instance(self.k) {
            Target::Instance(n)
        } else if f.resource_id == "environment" && f.subscription_id.is_empty() {
            Target::Name("environment")
        } else if !f.subscription_id.is_empty()
            && f.resource_id.strip_prefix("/subscriptions/") == Some(f.subscription_id.as_str())
        {
            Target::Name(f.subscription_id.as_str())
        } else {
            Target::Elsewhere
        };
        let mut more = More::default();
        if matches!(target, Target::Elsewhere) {
            more.resource_id = Some(&f.resource_id);
            more.subscription_id = Some(&f.subscription_id);
        }
        if f.severity.as_str() != entry.text.severity {
            more.severity = Some(f.severity.as_str());
        }
        more.principal = f.principal_id.as_deref();
        more.waiver = f.waiver.as_deref();
        if f.mitigation != entry.text.mitigation {
            more.mitigation = Some(&f.mitigation);
        }
        if self.derived_remediation(&target, &entry.text).as_deref() != Some(f.remediation.as_str())
        {
            more.remediation = Some(&f.remediation);
        }
        let len = if more.is_empty() { 4 } else { 5 };
        let mut seq = s.serialize_seq(Some(len))?;
        match target {
            Target::Instance(n) => seq.serialize_element(&n)?,
            Target::Name(name) => seq.serialize_element(name)?,
            Target::Elsewhere => seq.serialize_element(&())?,
        }
        seq.serialize_element(f.check_id.as_str())?;
        seq.serialize_element(&f.status)?;
        seq.serialize_element(&entry.message(&f.message))?;
        if len == 5 {
            seq.serialize_element(&more)?;
        }
        seq.end()
    }
}

/// `[verdict, blockers, warnings, unknowns, first_fix, principals_denied]`, without the trailing
/// entries that are empty.
struct VerdictRow<'a>(&'a InstanceVerdict);

impl Serialize for VerdictRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let filled = [
            true,
            !v.blockers.is_empty(),
            !v.warnings.is_empty(),
            !v.unknowns.is_empty(),
            !v.first_fix.is_empty(),
            !v.principals_denied.is_empty(),
        ];
        let len = filled.iter().rposition(|f| *f).unwrap_or(0) + 1;
        let mut seq = s.serialize_seq(Some(len))?;
        seq.serialize_element(&v.verdict)?;
        let lists = [&v.blockers, &v.warnings, &v.unknowns];
        for list in lists.iter().take(len.saturating_sub(1)) {
            seq.serialize_element(&TextList(list))?;
        }
        if len > 4 {
            seq.serialize_element(v.first_fix.as_str())?;
        }
        if len > 5 {
            seq.serialize_element(&TextList(&v.principals_denied))?;
        }
        seq.end()
    }
}

/// A list of texts as a JSON array of strings.
struct TextList<'a>(&'a [Text]);

impl Serialize for TextList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Text::as_str))
    }
}

/// `[instance, principal, verdict, checks]` (`checks` absent when empty).
struct AccessRow<'p, 'a> {
    p: &'p Prepared<'a>,
    a: &'a AccessVerdict,
}

impl Serialize for AccessRow<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.a;
        let instance = self.p.instances.get(a.resource_id.as_str());
        let len = if a.checks.is_empty() { 3 } else { 4 };
        let mut seq = s.serialize_seq(Some(len))?;
        match instance {
            Some(n) => seq.serialize_element(n)?,
            None => seq.serialize_element(a.resource_id.as_str())?,
        }
        match self.p.principal(&a.principal_id, &a.label) {
            Some(n) => seq.serialize_element(&n)?,
            None => seq.serialize_element(&PrincipalRef {
                object_id: a.principal_id.to_string(),
                label: a.label.to_string(),
                scanner: false,
            })?,
        }
        seq.serialize_element(&a.verdict)?;
        if len == 4 {
            seq.serialize_element(&AccessChecks(self.p, a))?;
        }
        seq.end()
    }
}

/// An access verdict's checks: `[[check, status, message], …]`.
struct AccessChecks<'p, 'a>(&'p Prepared<'a>, &'a AccessVerdict);

impl Serialize for AccessChecks<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        s.collect_seq(self.1.checks.iter().map(|c| {
            let message = p.checks[c.check_id.as_str()].message(&c.message);
            (c.check_id.as_str(), c.status, message)
        }))
    }
}

/// One instance row (see [`INSTANCE_FIELDS`]).
struct InstanceRow<'p, 'a> {
    strings: &'p Strings<'a>,
    i: &'a Instance,
}

impl Serialize for InstanceRow<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.strings;
        // Every field, by name: a field added to `Instance` does not compile until it is written.
        let Instance {
            id,
            name,
            subscription_id,
            resource_group,
            kind,
            scale_set,
            instance_id,
            location,
            os_type,
            tags,
            power_state,
            instance_view,
            provisioning_state,
            boot_diagnostics,
            boot_diagnostics_error,
            security_type,
            secure_boot,
            disable_password_authentication,
            latest_model_applied,
            anomalies,
            model_not_read,
            status_not_read,
        } = self.i;
        let (prefix, suffix) = split_id(id);
        let (boot, boot_detail) = boot_parts(boot_diagnostics);
        let mut seq = s.serialize_seq(Some(INSTANCE_FIELDS.len()))?;
        seq.serialize_element(&t.get(prefix))?;
        seq.serialize_element(&(suffix != name.as_str()).then_some(suffix))?;
        seq.serialize_element(name)?;
        seq.serialize_element(&t.get(subscription_id))?;
        seq.serialize_element(&t.get(resource_group))?;
        seq.serialize_element(kind)?;
        seq.serialize_element(&t.opt(scale_set.as_deref()))?;
        seq.serialize_element(instance_id)?;
        seq.serialize_element(&t.get(location))?;
        seq.serialize_element(&t.opt(os_type.as_deref()))?;
        seq.serialize_element(&TagRow(t, tags))?;
        seq.serialize_element(&t.opt(power_state.as_deref()))?;
        seq.serialize_element(instance_view)?;
        seq.serialize_element(&t.opt(provisioning_state.as_deref()))?;
        seq.serialize_element(boot)?;
        seq.serialize_element(&t.opt(boot_detail))?;
        seq.serialize_element(&t.opt(boot_diagnostics_error.as_deref()))?;
        seq.serialize_element(&t.opt(security_type.as_deref()))?;
        seq.serialize_element(secure_boot)?;
        seq.serialize_element(disable_password_authentication)?;
        seq.serialize_element(latest_model_applied)?;
        seq.serialize_element(&IndexList(t, anomalies))?;
        seq.serialize_element(&t.opt(model_not_read.as_deref()))?;
        seq.serialize_element(&t.opt(status_not_read.as_deref()))?;
        seq.end()
    }
}

/// Tags as string indices: name, value, name, value, …
struct TagRow<'p, 'a>(&'p Strings<'a>, &'a crate::inventory::Tags);

impl Serialize for TagRow<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.1
                .iter()
                .flat_map(|(k, v)| [self.0.get(k), self.0.get(v)]),
        )
    }
}

/// Strings as string indices.
struct IndexList<'p, 'a>(&'p Strings<'a>, &'a [String]);

impl Serialize for IndexList<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|x| self.0.get(x)))
    }
}

/// A check's entry under `checks`.
#[derive(Serialize)]
struct CheckOut<'a> {
    title: &'a str,
    severity: &'a str,
    portal_error: &'a str,
    mitigation: &'a str,
    docs: &'a str,
    remediation: &'a str,
    remediation_scale_set: &'a str,
    messages: &'a [&'a str],
}

/// Writes `"key": value` (compact) after a separator.
fn entry<T: Serialize + ?Sized>(out: &mut dyn Write, key: &str, value: &T) -> std::io::Result<()> {
    write!(out, ",\n\"{key}\": ")?;
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::other)
}

/// Writes `"key": [` rows, one per line, `]`.
fn rows<T: Serialize>(
    out: &mut dyn Write,
    key: &str,
    items: impl Iterator<Item = T>,
) -> std::io::Result<()> {
    write!(out, "\"{key}\": [")?;
    let mut first = true;
    for item in items {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        serde_json::to_writer(&mut *out, &item).map_err(std::io::Error::other)?;
    }
    out.write_all(if first { b"]" } else { b"\n]" })
}

/// Writes `report.json` (schema 2) for `r` to `out`, row by row.
pub fn write_report(
    r: &ScanResult,
    history: HistoryView<'_>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    // What the rows look up is prepared before the history is needed (see [`HistoryView`]).
    let p = Prepared::new(r);
    let history = history.get();
    write!(out, "{{\"schema_version\": {REPORT_SCHEMA_VERSION}")?;
    entry(out, "run", &r.run)?;
    entry(out, "policy", &r.policy)?;
    entry(out, "coverage", &r.coverage)?;
    entry(out, "summary", &r.summary)?;
    if let Some(a) = &r.access_audit {
        entry(out, "access_audit", a)?;
    }
    if let Some(h) = history {
        entry(out, "history", h)?;
    }
    if let Some(plan) = &r.plan {
        entry(out, "plan", plan)?;
    }
    out.write_all(b",\n\"checks\": {")?;
    for (n, (id, c)) in p.checks.iter().enumerate() {
        out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *out, id).map_err(std::io::Error::other)?;
        out.write_all(b": ")?;
        let t = &c.text;
        let check = CheckOut {
            title: &t.title,
            severity: &t.severity,
            portal_error: &t.portal_error,
            mitigation: &t.mitigation,
            docs: &t.docs,
            remediation: &t.remediation,
            remediation_scale_set: &t.remediation_scale_set,
            messages: &c.messages.list,
        };
        serde_json::to_writer(&mut *out, &check).map_err(std::io::Error::other)?;
    }
    out.write_all(if p.checks.is_empty() { b"}" } else { b"\n}" })?;
    out.write_all(b",\n")?;
    rows(out, "verdicts", r.verdicts.iter().map(VerdictRow))?;
    out.write_all(b",\n")?;
    rows(
        out,
        "findings",
        r.findings
            .iter()
            .enumerate()
            .map(|(k, f)| FindingRow { p: &p, f, k }),
    )?;
    out.write_all(b",\n")?;
    rows(
        out,
        "access",
        r.access.iter().map(|a| AccessRow { p: &p, a }),
    )?;
    write_inventory(&p, out)?;
    out.write_all(b"\n}\n")
}

/// Writes `"inventory": {…}`: the inventory's own fields, its instances as a table.
fn write_inventory(p: &Prepared, out: &mut dyn Write) -> std::io::Result<()> {
    // Every field, by name: a field added to `Inventory` does not compile until it is written.
    let Inventory {
        schema_version,
        scanned_at,
        cloud,
        principals,
        subscriptions,
        instances,
        storage_accounts,
        locks,
        host_lookups,
        gaps,
        access,
        environment,
        guest,
        access_audit,
    } = &p.r.inventory;
    write!(
        out,
        ",\n\"inventory\": {{\"schema_version\": {schema_version}"
    )?;
    entry(out, "scanned_at", scanned_at)?;
    entry(out, "cloud", cloud)?;
    entry(out, "principals", principals)?;
    entry(out, "subscriptions", subscriptions)?;
    out.write_all(b",\n\"instances\": {\"fields\": ")?;
    serde_json::to_writer(&mut *out, &INSTANCE_FIELDS).map_err(std::io::Error::other)?;
    out.write_all(b",\n")?;
    rows(out, "strings", p.strings.list.iter())?;
    out.write_all(b",\n")?;
    rows(
        out,
        "rows",
        instances.iter().map(|i| InstanceRow {
            strings: &p.strings,
            i,
        }),
    )?;
    out.write_all(b"}")?;
    entry(out, "storage_accounts", storage_accounts)?;
    entry(out, "locks", locks)?;
    entry(out, "host_lookups", host_lookups)?;
    entry(out, "gaps", gaps)?;
    entry(out, "access", access)?;
    entry(out, "environment", environment)?;
    entry(out, "guest", guest)?;
    if let Some(a) = access_audit {
        entry(out, "access_audit", a)?;
    }
    out.write_all(b"}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_fills_known_placeholders_verbatim_and_keeps_the_rest() {
        let got = substitute("az vm start --name {name} --x {other} {unclosed", |k| {
            (k == "name").then_some("vm 1")
        });
        assert_eq!(got, "az vm start --name vm 1 --x {other} {unclosed");
    }
}
