//! Reading a `report.json` back, schema 1 or 2: the inventory it evaluated (for `scready
//! evaluate`) and each instance's verdict (for `scready diff OLD/report.json NEW/report.json`).

use crate::discover::shard::Shard;
use crate::findings::Verdict;
use crate::history::{InstanceRecord, RunRecord, RunSnapshot};
use crate::inventory::{
    AccessAudit, AccessInventory, BootDiagnostics, CoverageGap, EnvironmentProbe, GuestResult,
    HostExistence, Instance, InstanceKind, Inventory, LockInfo, PrincipalRef, StorageInfo,
    SubscriptionInfo,
};
use crate::report::json::INSTANCE_FIELDS;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// What a JSON file says it is, read without keeping its contents.
#[derive(Deserialize)]
struct Peek {
    schema_version: Option<u64>,
    inventory: Option<IgnoredAny>,
    verdicts: Option<IgnoredAny>,
}

/// The `schema_version` of a report (`None` when the text is not a report: no `inventory`
/// and `verdicts`, e.g. an inventory file).
pub fn report_schema(text: &str, origin: &str) -> anyhow::Result<Option<u64>> {
    let peek: Peek = crate::config_file::from_json(text, origin)?;
    Ok(match (peek.inventory, peek.verdicts) {
        (Some(_), Some(_)) => Some(peek.schema_version.unwrap_or(0)),
        _ => None,
    })
}

/// The run, coverage and verdicts of a report, whichever schema wrote it.
pub struct ReportRun {
    /// The report's `schema_version`.
    pub schema_version: u64,
    /// The run as the history database would record it (id 0).
    pub run: RunRecord,
    /// Subscriptions read: id (lower case) → display name.
    pub subscriptions: BTreeMap<String, String>,
    /// Listings that failed.
    pub gaps: Vec<CoverageGap>,
    /// Instances with their verdicts.
    pub instances: Vec<InstanceRecord>,
}

impl ReportRun {
    /// The run as a history snapshot with this id, for the history's diff.
    pub fn snapshot(self, id: i64) -> RunSnapshot {
        RunSnapshot {
            run: RunRecord { id, ..self.run },
            subscriptions: self.subscriptions,
            gaps: self.gaps,
            instances: self.instances,
        }
    }
}

/// The fields of `run` that a diff shows and a merge combines (every other field is left alone,
/// so that reports with more or fewer fields are read alike).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RunPart {
    pub version: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub cloud: String,
    pub requested_subscriptions: Vec<String>,
    pub excluded_subscriptions: Vec<String>,
    pub management_groups: Vec<String>,
    pub excluded_management_groups: Vec<String>,
    pub partial: bool,
    pub status: String,
    pub shard: Option<Shard>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CallsPart {
    requests: u64,
    retries: u64,
    throttled: u64,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CoveragePart {
    subscriptions: usize,
    instances: usize,
    calls: CallsPart,
    gaps: Vec<CoverageGap>,
}

/// A subscription's id and name.
#[derive(Deserialize)]
struct SubscriptionPart {
    id: String,
    #[serde(default)]
    name: String,
}

/// Schema 1: what a diff reads.
#[derive(Deserialize)]
struct ReportV1 {
    #[serde(default)]
    run: RunPart,
    #[serde(default)]
    coverage: CoveragePart,
    verdicts: Vec<VerdictV1>,
    inventory: InventoryV1,
}

#[derive(Deserialize)]
struct VerdictV1 {
    resource_id: String,
    verdict: Verdict,
    #[serde(default)]
    blockers: Vec<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    unknowns: Vec<String>,
}

#[derive(Deserialize)]
struct InventoryV1 {
    #[serde(default)]
    subscriptions: Vec<SubscriptionPart>,
    instances: Vec<InstanceV1>,
}

#[derive(Deserialize)]
struct InstanceV1 {
    id: String,
    name: String,
    subscription_id: String,
    resource_group: String,
    kind: InstanceKind,
}

/// Schema 2: what a diff and `evaluate` read.
#[derive(Deserialize)]
struct ReportV2 {
    #[serde(default)]
    run: RunPart,
    #[serde(default)]
    coverage: CoveragePart,
    verdicts: Vec<VerdictV2>,
    inventory: InventoryV2,
}

/// `[verdict, blockers?, warnings?, unknowns?, first_fix?, principals_denied?]`.
struct VerdictV2 {
    verdict: Verdict,
    blockers: Vec<String>,
    warnings: Vec<String>,
    unknowns: Vec<String>,
}

impl<'de> Deserialize<'de> for VerdictV2 {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = VerdictV2;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a verdict row [verdict, blockers, warnings, unknowns, first_fix, principals_denied]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<VerdictV2, A::Error> {
                let verdict = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let blockers = seq.next_element()?.unwrap_or_default();
                let warnings = seq.next_element()?.unwrap_or_default();
                let unknowns = seq.next_element()?.unwrap_or_default();
                let _first_fix: Option<String> = seq.next_element()?;
                let _denied: Option<Vec<String>> = seq.next_element()?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(7, &self));
                }
                Ok(VerdictV2 {
                    verdict,
                    blockers,
                    warnings,
                    unknowns,
                })
            }
        }
        d.deserialize_seq(V)
    }
}

/// The inventory of a schema-2 report: [`Inventory`] with its instances as a table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryV2 {
    schema_version: u32,
    scanned_at: String,
    cloud: String,
    #[serde(default)]
    principals: Vec<PrincipalRef>,
    subscriptions: Vec<SubscriptionInfo>,
    instances: InstanceTable,
    storage_accounts: Vec<StorageInfo>,
    locks: Vec<LockInfo>,
    #[serde(default)]
    host_lookups: BTreeMap<String, HostExistence>,
    gaps: Vec<CoverageGap>,
    #[serde(default)]
    access: Option<AccessInventory>,
    #[serde(default)]
    environment: Option<EnvironmentProbe>,
    #[serde(default)]
    guest: Option<BTreeMap<String, GuestResult>>,
    #[serde(default)]
    access_audit: Option<AccessAudit>,
}

/// `inventory.instances` of schema 2.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceTable {
    fields: Vec<String>,
    strings: Vec<String>,
    rows: Vec<RawRow>,
}

/// One instance row as written, its strings still table indices.
struct RawRow {
    id_prefix: u32,
    id_suffix: Option<String>,
    name: String,
    subscription_id: u32,
    resource_group: u32,
    kind: InstanceKind,
    scale_set: Option<u32>,
    instance_id: Option<String>,
    location: u32,
    os_type: Option<u32>,
    tags: Vec<u32>,
    power_state: Option<u32>,
    instance_view: bool,
    provisioning_state: Option<u32>,
    boot_diagnostics: String,
    boot_diagnostics_detail: Option<u32>,
    boot_diagnostics_error: Option<u32>,
    security_type: Option<u32>,
    secure_boot: Option<bool>,
    disable_password_authentication: Option<bool>,
    latest_model_applied: Option<bool>,
    anomalies: Vec<u32>,
    model_not_read: Option<u32>,
    status_not_read: Option<u32>,
}

impl<'de> Deserialize<'de> for RawRow {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an instance row of {} fields", INSTANCE_FIELDS.len())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRow, A::Error> {
                let mut n = 0;
                macro_rules! next {
                    () => {{
                        let v = seq
                            .next_element()?
                            .ok_or_else(|| de::Error::invalid_length(n, &self))?;
                        n += 1;
                        v
                    }};
                }
                let row = RawRow {
                    id_prefix: next!(),
                    id_suffix: next!(),
                    name: next!(),
                    subscription_id: next!(),
                    resource_group: next!(),
                    kind: next!(),
                    scale_set: next!(),
                    instance_id: next!(),
                    location: next!(),
                    os_type: next!(),
                    tags: next!(),
                    power_state: next!(),
                    instance_view: next!(),
                    provisioning_state: next!(),
                    boot_diagnostics: next!(),
                    boot_diagnostics_detail: next!(),
                    boot_diagnostics_error: next!(),
                    security_type: next!(),
                    secure_boot: next!(),
                    disable_password_authentication: next!(),
                    latest_model_applied: next!(),
                    anomalies: next!(),
                    model_not_read: next!(),
                    status_not_read: next!(),
                };
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(n + 1, &self));
                }
                Ok(row)
            }
        }
        d.deserialize_seq(V)
    }
}

impl InstanceTable {
    /// The instances, their strings looked up; an index outside the table names the row and
    /// field.
    fn instances(self, origin: &str) -> anyhow::Result<Vec<Instance>> {
        if self.fields != INSTANCE_FIELDS {
            anyhow::bail!(
                "{origin}: inventory.instances.fields is {:?}, not the fields this build reads ({:?})",
                self.fields,
                INSTANCE_FIELDS
            );
        }
        let strings = &self.strings;
        let mut out = Vec::with_capacity(self.rows.len());
        for (n, row) in self.rows.into_iter().enumerate() {
            let s = |field: &str, i: u32| -> anyhow::Result<String> {
                strings.get(i as usize).cloned().ok_or_else(|| {
                    anyhow::anyhow!(
                        "{origin}: inventory.instances.rows[{n}].{field}: string {i} is not in the table of {} strings",
                        strings.len()
                    )
                })
            };
            let opt = |field: &str, i: Option<u32>| i.map(|i| s(field, i)).transpose();
            let prefix = s("id_prefix", row.id_prefix)?;
            let id = format!("{prefix}{}", row.id_suffix.as_deref().unwrap_or(&row.name));
            if row.tags.len() % 2 != 0 {
                anyhow::bail!("{origin}: inventory.instances.rows[{n}].tags: an odd number of entries (name, value pairs)");
            }
            let tags = row
                .tags
                .chunks(2)
                .map(|kv| Ok((s("tags", kv[0])?, s("tags", kv[1])?)))
                .collect::<anyhow::Result<Vec<_>>>()?
                .into_iter()
                .collect();
            let detail = opt("boot_diagnostics_detail", row.boot_diagnostics_detail)?;
            let boot_diagnostics = match (row.boot_diagnostics.as_str(), detail) {
                ("absent", None) => BootDiagnostics::Absent,
                ("disabled", None) => BootDiagnostics::Disabled,
                ("managed", None) => BootDiagnostics::Managed,
                ("custom", Some(storage_uri)) => BootDiagnostics::Custom { storage_uri },
                ("invalid", Some(reason)) => BootDiagnostics::Invalid { reason },
                (mode, _) => anyhow::bail!(
                    "{origin}: inventory.instances.rows[{n}].boot_diagnostics: '{mode}' with this detail is not absent, disabled, managed, custom (with a storage URI) or invalid (with a reason)"
                ),
            };
            out.push(Instance {
                id: id.into(),
                name: row.name,
                subscription_id: s("subscription_id", row.subscription_id)?,
                resource_group: s("resource_group", row.resource_group)?,
                kind: row.kind,
                scale_set: opt("scale_set", row.scale_set)?,
                instance_id: row.instance_id,
                location: s("location", row.location)?,
                os_type: opt("os_type", row.os_type)?,
                tags,
                power_state: opt("power_state", row.power_state)?,
                instance_view: row.instance_view,
                provisioning_state: opt("provisioning_state", row.provisioning_state)?,
                boot_diagnostics,
                boot_diagnostics_error: opt("boot_diagnostics_error", row.boot_diagnostics_error)?,
                security_type: opt("security_type", row.security_type)?,
                secure_boot: row.secure_boot,
                disable_password_authentication: row.disable_password_authentication,
                latest_model_applied: row.latest_model_applied,
                anomalies: row
                    .anomalies
                    .iter()
                    .map(|&i| s("anomalies", i))
                    .collect::<anyhow::Result<_>>()?,
                model_not_read: opt("model_not_read", row.model_not_read)?,
                status_not_read: opt("status_not_read", row.status_not_read)?,
            });
        }
        Ok(out)
    }
}

impl InventoryV2 {
    fn inventory(self, origin: &str) -> anyhow::Result<Inventory> {
        // Every field, by name: a field added to `Inventory` does not compile until it is read.
        Ok(Inventory {
            schema_version: self.schema_version,
            scanned_at: self.scanned_at,
            cloud: self.cloud,
            principals: self.principals,
            subscriptions: self.subscriptions,
            instances: self.instances.instances(origin)?,
            storage_accounts: self.storage_accounts,
            locks: self.locks,
            host_lookups: self.host_lookups,
            gaps: self.gaps,
            access: self.access,
            environment: self.environment,
            guest: self.guest,
            access_audit: self.access_audit,
        })
    }
}

/// The inventory of a schema-2 report.
pub fn inventory_v2(text: &str, origin: &str) -> anyhow::Result<Inventory> {
    let r: ReportV2 = crate::config_file::from_json(text, origin)?;
    r.inventory.inventory(origin)
}

/// The run record of a report's run and coverage, with verdict counts from its instances.
fn run_record(run: RunPart, coverage: CoveragePart, instances: &[InstanceRecord]) -> RunRecord {
    let info = crate::result::RunInfo {
        requested_subscriptions: run.requested_subscriptions,
        excluded_subscriptions: run.excluded_subscriptions,
        ..Default::default()
    };
    let count = |v: Verdict| instances.iter().filter(|i| i.verdict == v).count();
    RunRecord {
        id: 0,
        started_at: run.started_at,
        finished_at: run.finished_at,
        duration_ms: run.duration_ms,
        tool_version: run.version,
        cloud: run.cloud,
        scope: crate::history::store::scope_of(&info),
        status: run.status,
        partial: run.partial,
        subscriptions: coverage.subscriptions,
        instances: coverage.instances,
        ready: count(Verdict::Ready),
        ready_with_warnings: count(Verdict::ReadyWithWarnings),
        unknown: count(Verdict::Unknown),
        blocked: count(Verdict::Blocked),
        requests: coverage.calls.requests,
        retries: coverage.calls.retries,
        throttled: coverage.calls.throttled,
        gaps: coverage.gaps.len(),
    }
}

/// One instance's record for a diff.
fn record(
    id: &str,
    name: String,
    subscription_id: &str,
    resource_group: String,
    kind: InstanceKind,
    verdict: Verdict,
    [blockers, warnings, unknowns]: [Vec<String>; 3],
) -> InstanceRecord {
    InstanceRecord {
        resource_id: id.to_string(),
        name,
        subscription_id: subscription_id.to_ascii_lowercase(),
        resource_group,
        kind: kind.as_str().to_string(),
        verdict,
        blockers,
        warnings,
        unknowns,
    }
}

/// Reads a report (schema 1 or 2) for a diff.
pub fn read_run(path: &std::path::Path) -> anyhow::Result<ReportRun> {
    let origin = path.display().to_string();
    let text = crate::config_file::read_local_text(
        path,
        "diff REPORT",
        crate::config_file::MAX_INVENTORY_BYTES,
    )
    .map_err(anyhow::Error::msg)?;
    let schema = report_schema(&text, &origin)?.ok_or_else(|| {
        anyhow::anyhow!("{origin}: not a report.json (it has no \"inventory\" and \"verdicts\")")
    })?;
    let misaligned = |verdicts: usize, instances: usize| {
        anyhow::anyhow!(
            "{origin}: {verdicts} verdicts for {instances} instances (they must be aligned)"
        )
    };
    let (run, coverage, subscriptions, instances) = match schema {
        1 => {
            let r: ReportV1 = crate::config_file::from_json(&text, &origin)?;
            if r.verdicts.len() != r.inventory.instances.len() {
                return Err(misaligned(r.verdicts.len(), r.inventory.instances.len()));
            }
            let mut instances = Vec::with_capacity(r.verdicts.len());
            for (i, v) in r.inventory.instances.into_iter().zip(r.verdicts) {
                if !v.resource_id.eq_ignore_ascii_case(&i.id) {
                    anyhow::bail!(
                        "{origin}: the verdict of {} is not aligned with instance {}",
                        v.resource_id,
                        i.id
                    );
                }
                let (id, sub, rg, kind) = (&i.id, &i.subscription_id, i.resource_group, i.kind);
                instances.push(record(
                    id,
                    i.name,
                    sub,
                    rg,
                    kind,
                    v.verdict,
                    [v.blockers, v.warnings, v.unknowns],
                ));
            }
            let subs = r
                .inventory
                .subscriptions
                .into_iter()
                .map(|s| (s.id.to_ascii_lowercase(), s.name))
                .collect();
            (r.run, r.coverage, subs, instances)
        }
        2 => {
            let r: ReportV2 = crate::config_file::from_json(&text, &origin)?;
            let inventory = r.inventory.inventory(&origin)?;
            if r.verdicts.len() != inventory.instances.len() {
                return Err(misaligned(r.verdicts.len(), inventory.instances.len()));
            }
            let instances = inventory
                .instances
                .into_iter()
                .zip(r.verdicts)
                .map(|(i, v)| {
                    let lists = [v.blockers, v.warnings, v.unknowns];
                    record(
                        &i.id,
                        i.name,
                        &i.subscription_id,
                        i.resource_group,
                        i.kind,
                        v.verdict,
                        lists,
                    )
                })
                .collect();
            let subs = inventory
                .subscriptions
                .into_iter()
                .map(|s| (s.id.to_ascii_lowercase(), s.name))
                .collect();
            (r.run, r.coverage, subs, instances)
        }
        v => anyhow::bail!(
            "{origin}: report schema_version {v} is not one this build reads (1 or {})",
            crate::result::REPORT_SCHEMA_VERSION
        ),
    };
    let gaps = coverage.gaps.clone();
    Ok(ReportRun {
        schema_version: schema,
        run: run_record(run, coverage, &instances),
        subscriptions,
        gaps,
        instances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::{fixture, vm};

    /// Writes `inventory`'s evaluation as `report.json` and reads it back.
    fn round_trip(inventory: Inventory, policy: &crate::policy::Policy) -> (String, Inventory) {
        let evaluation = crate::checks::evaluate(&inventory, policy, "2026-01-01");
        let r = crate::result::ScanResult::new(
            Default::default(),
            policy,
            Default::default(),
            inventory,
            evaluation,
        );
        let mut out = Vec::new();
        let history = crate::report::HistoryView::Known(r.history.as_ref());
        crate::report::json::write_report(&r, history, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(report_schema(&text, "t").unwrap(), Some(2));
        let back = inventory_v2(&text, "t").unwrap();
        assert_eq!(back, r.inventory);
        (text, back)
    }

    #[test]
    fn every_instance_field_survives_the_table() {
        let (mut inv, policy) = fixture();
        let mut a = vm("vm-a");
        a.tags = [("env", "prod"), ("owner", "ops team")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        a.boot_diagnostics = BootDiagnostics::Custom {
            storage_uri: "https://diag.blob.core.windows.net/".into(),
        };
        a.anomalies = vec!["properties.x: \"yes\"".into()];
        a.security_type = Some("TrustedLaunch".into());
        a.secure_boot = Some(true);
        a.boot_diagnostics_error = Some("boot failed".into());
        let mut b = vm("vmss_3");
        b.id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss/virtualMachines/3".into();
        b.kind = InstanceKind::VmssInstance;
        b.scale_set = Some("vmss".into());
        b.instance_id = Some("3".into());
        b.latest_model_applied = Some(false);
        b.boot_diagnostics = BootDiagnostics::Invalid {
            reason: "enabled is \"yes\"".into(),
        };
        b.model_not_read = Some("model listing failed".into());
        b.status_not_read = Some("status listing failed".into());
        b.power_state = None;
        b.os_type = None;
        let mut c = vm("c");
        c.boot_diagnostics = BootDiagnostics::Absent;
        c.id = "c".into();
        let mut d = vm("d");
        d.boot_diagnostics = BootDiagnostics::Disabled;
        inv.instances = vec![a, b, c, d];
        let (text, _) = round_trip(inv, &policy);
        // The shared strings are written once.
        assert_eq!(text.matches("\"westeurope\"").count(), 1, "{text}");
    }

    #[test]
    fn a_row_of_the_wrong_length_or_a_stray_index_is_refused_with_its_place() {
        let (mut inv, policy) = fixture();
        inv.instances = vec![vm("a")];
        let (text, _) = round_trip(inv, &policy);
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["inventory"]["instances"]["rows"][0][3] = 999.into();
        let e = inventory_v2(&v.to_string(), "r.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("r.json: inventory.instances.rows[0].subscription_id: string 999"),
            "{e}"
        );
        v["inventory"]["instances"]["rows"][0]
            .as_array_mut()
            .unwrap()
            .pop();
        let e = inventory_v2(&v.to_string(), "r.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.json") && e.contains("instance row"), "{e}");
    }
}
