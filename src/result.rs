//! `ScanResult`: everything one scan concluded, the single input of every report sink.

use crate::arm::CallStats;
use crate::checks::Evaluation;
use crate::findings::{Finding, InstanceVerdict, Verdict};
use crate::history::HistorySummary;
use crate::inventory::{CoverageGap, Instance, Inventory, PrincipalRef};
use crate::policy::{Policy, Waiver};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of `report.json`.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Metadata of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `scready`.
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// When discovery started (RFC 3339).
    pub started_at: String,
    /// When evaluation finished (RFC 3339).
    pub finished_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Cloud.
    pub cloud: String,
    /// Subscriptions requested with `--subscription` (empty: all visible).
    pub requested_subscriptions: Vec<String>,
    /// Subscriptions excluded.
    pub excluded_subscriptions: Vec<String>,
    /// Management groups whose subscriptions were selected (`--management-group`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub management_groups: Vec<String>,
    /// Management groups whose subscriptions were left out (`--exclude-management-group`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_management_groups: Vec<String>,
    /// True when some listing failed: the report is incomplete.
    pub partial: bool,
    /// How the run ended (`complete`, `partial`, `interrupted`, `evaluated-offline`).
    pub status: String,
    /// The shard this run read (`--shard K/N`); absent for a whole scan or a merged result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::discover::shard::Shard>,
    /// The result directories a merged run combined (`scready merge`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// What was covered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Subscriptions read.
    pub subscriptions: usize,
    /// Instances found.
    pub instances: usize,
    /// Storage accounts found.
    pub storage_accounts: usize,
    /// ARM calls.
    pub calls: CallStats,
    /// Listings that failed.
    pub gaps: Vec<CoverageGap>,
    /// Resource providers subscriptions have not registered: what ARM answered and what it
    /// means for the scan (not a gap: such a subscription holds none of their resources).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered: Vec<UnregisteredProvider>,
}

/// A resource provider one subscription has not registered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnregisteredProvider {
    /// Subscription GUID (lower case).
    pub subscription_id: String,
    /// `Microsoft.Compute`, `Microsoft.Storage` or `Microsoft.SerialConsole`.
    pub namespace: String,
    /// What it means for the scan.
    pub meaning: String,
}

impl UnregisteredProvider {
    /// Every unregistered provider of the inventory's subscriptions, with its meaning.
    pub fn of(inventory: &Inventory) -> Vec<UnregisteredProvider> {
        inventory
            .subscriptions
            .iter()
            .flat_map(|s| {
                s.unregistered.iter().map(|n| UnregisteredProvider {
                    subscription_id: s.id.clone(),
                    namespace: n.clone(),
                    meaning: match n.as_str() {
                        "Microsoft.Compute" => "no VMs or scale sets (namespace not registered)",
                        "Microsoft.Storage" => "no storage accounts (namespace not registered)",
                        "Microsoft.SerialConsole" => {
                            "the console was never disabled here (namespace not registered)"
                        }
                        _ => "namespace not registered",
                    }
                    .to_string(),
                })
            })
            .collect()
    }
}

/// Counts for summaries.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Instances per verdict.
    pub by_verdict: BTreeMap<String, usize>,
    /// Instances blocked by each check, most first.
    pub blocking_checks: Vec<(String, usize)>,
    /// Instances warned by each check, most first.
    pub warning_checks: Vec<(String, usize)>,
    /// Per subscription: verdict counts.
    pub by_subscription: BTreeMap<String, BTreeMap<String, usize>>,
}

/// The policy as applied.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// Files layered.
    pub sources: Vec<String>,
    /// The storage switch.
    pub storage_in_connection_path: bool,
    /// Waivers that expired and no longer apply.
    pub expired_waivers: Vec<Waiver>,
    /// SHA-256 (hex) of the effective policy ([`Policy::fingerprint`]): `scready merge`
    /// combines only results evaluated with the same policy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
}

/// What the policy says about one check, for readers of the reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckText {
    /// Short label.
    pub title: String,
    /// Severity as applied.
    pub severity: String,
    /// The error the portal shows when this check fails.
    pub portal_error: String,
    /// What to do.
    pub mitigation: String,
    /// Documentation link.
    pub docs: String,
    /// The remediation command template (`{name}`, `{resource_group}`, … placeholders).
    #[serde(default)]
    pub remediation: String,
    /// The template for Uniform scale-set instances (empty: `remediation` applies to them too).
    #[serde(default)]
    pub remediation_scale_set: String,
}

/// One scan's conclusions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanResult {
    /// [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run metadata.
    pub run: RunInfo,
    /// Policy.
    pub policy: PolicyInfo,
    /// Coverage.
    pub coverage: Coverage,
    /// Counts.
    pub summary: Summary,
    /// One verdict per instance, aligned with `inventory.instances`.
    pub verdicts: Vec<InstanceVerdict>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// One access verdict per (instance, audited principal).
    #[serde(default)]
    pub access: Vec<crate::checks::AccessVerdict>,
    /// The inventory evaluated (re-evaluate offline with `scready evaluate report.json`).
    pub inventory: Inventory,
    /// The policy's texts of every check that appears in `findings`, by check id.
    #[serde(default)]
    pub checks: BTreeMap<String, CheckText>,
    /// This run in the history database: its id, the readiness trend and the diff against the
    /// previous run of the same scope (absent without history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistorySummary>,
    /// Whose Serial Console access was audited and why (absent when the inventory does not
    /// record it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_audit: Option<AccessAuditInfo>,
    /// The rollout plan's headline, when the scan wrote one beside its reports
    /// (`--format …,plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::PlanHeadline>,
}

/// What the reports say when nobody's Serial Console access was audited.
pub const ACCESS_NOT_AUDITED: &str =
    "access not audited: name the people or groups who will use Serial Console with --principal";

/// Whose Serial Console access a scan audited, and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessAuditInfo {
    /// The audited principals (empty: nobody's access was audited).
    pub audited: Vec<PrincipalRef>,
    /// True when they were named with `--principal` / `--principals`.
    pub given: bool,
    /// Without names: the kind of the scanning token (`user`, `app`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<crate::auth::TokenKind>,
    /// Why these principals, or nobody.
    pub reason: String,
    /// [`ACCESS_NOT_AUDITED`] when nobody was audited while the access checks are on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// True for a subscription's own resource id (`/subscriptions/{id}`), the scope of subscription
/// findings.
pub fn is_subscription_scope(id: &str) -> bool {
    id.starts_with("/subscriptions/") && id.matches('/').count() == 2
}

/// Each instance's own findings: those whose resource id is the instance's id exactly.
pub struct InstanceFindings<'a> {
    findings: &'a [Finding],
    /// Indices into `findings`, grouped by instance in inventory order.
    order: Vec<u32>,
    /// `order[starts[n]..starts[n + 1]]` are instance `n`'s.
    starts: Vec<u32>,
    /// The instance of each finding, by index into `inventory.instances`.
    instance_of: Vec<Option<u32>>,
}

impl<'a> InstanceFindings<'a> {
    /// Groups `r`'s findings by instance. The evaluation writes the subscription and environment
    /// findings first and then each instance's, in inventory order, which one linear walk
    /// recognises without hashing any id; findings in another order (a report assembled
    /// elsewhere) are matched through a map instead.
    pub fn new(r: &'a ScanResult) -> InstanceFindings<'a> {
        let instances = &r.inventory.instances;
        let findings = &r.findings;
        let instance_of = walk_in_order(instances, findings).unwrap_or_else(|| {
            let mut by_id: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
            for (n, i) in instances.iter().enumerate() {
                by_id.entry(i.id.as_str()).or_insert(n as u32);
            }
            findings
                .iter()
                .map(|f| by_id.get(f.resource_id.as_str()).copied())
                .collect()
        });
        let mut starts = vec![0u32; instances.len() + 1];
        for n in instance_of.iter().flatten() {
            starts[*n as usize + 1] += 1;
        }
        for k in 1..starts.len() {
            starts[k] += starts[k - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0u32; starts[instances.len()] as usize];
        for (f, n) in instance_of.iter().enumerate() {
            if let Some(n) = n {
                order[next[*n as usize] as usize] = f as u32;
                next[*n as usize] += 1;
            }
        }
        InstanceFindings {
            findings,
            order,
            starts,
            instance_of,
        }
    }

    /// Instance `n`'s findings, in report order.
    pub fn of(&self, n: usize) -> impl Iterator<Item = &'a Finding> + '_ {
        let range = self.starts[n] as usize..self.starts[n + 1] as usize;
        self.order[range]
            .iter()
            .map(|&f| &self.findings[f as usize])
    }

    /// The instance of finding `f` (an index into `findings`), if it is an instance's.
    pub fn instance_of(&self, f: usize) -> Option<usize> {
        self.instance_of[f].map(|n| n as usize)
    }
}

/// The instance of each finding when the findings are in the evaluation's order (see
/// [`InstanceFindings::new`]); `None` when they are not.
fn walk_in_order(instances: &[Instance], findings: &[Finding]) -> Option<Vec<Option<u32>>> {
    let mut out = Vec::with_capacity(findings.len());
    let mut next = 0;
    for f in findings {
        let id = f.resource_id.as_str();
        if id == "environment" || is_subscription_scope(id) {
            out.push(None);
            continue;
        }
        let n = next + instances[next..].iter().position(|i| i.id == id)?;
        out.push(Some(n as u32));
        next = n;
    }
    Some(out)
}

impl ScanResult {
    /// Assembles a result from an inventory and its evaluation.
    pub fn new(
        run: RunInfo,
        policy: &Policy,
        calls: CallStats,
        inventory: Inventory,
        evaluation: Evaluation,
    ) -> ScanResult {
        let mut summary = Summary::default();
        // Counted by position in `Verdict::ALL`, keyed by borrowed ids: no allocation per instance.
        let slot = |v: Verdict| Verdict::ALL.iter().position(|x| *x == v).unwrap_or(0);
        let mut totals = [0usize; 4];
        let mut per_subscription: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
        let mut blocking: BTreeMap<&str, usize> = BTreeMap::new();
        let mut warning: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, v) in inventory.instances.iter().zip(&evaluation.verdicts) {
            let k = slot(v.verdict);
            totals[k] += 1;
            per_subscription
                .entry(i.subscription_id.as_str())
                .or_default()[k] += 1;
            for b in &v.blockers {
                *blocking.entry(b.as_str()).or_default() += 1;
            }
            for w in &v.warnings {
                *warning.entry(w.as_str()).or_default() += 1;
            }
        }
        for (v, n) in Verdict::ALL.into_iter().zip(totals) {
            summary.by_verdict.insert(v.as_str().to_string(), n);
        }
        for (sub, counts) in per_subscription {
            summary.by_subscription.insert(
                sub.to_string(),
                Verdict::ALL
                    .into_iter()
                    .zip(counts)
                    .filter(|(_, n)| *n > 0)
                    .map(|(v, n)| (v.as_str().to_string(), n))
                    .collect(),
            );
        }
        let sorted = |m: BTreeMap<&str, usize>| {
            let mut v: Vec<(String, usize)> =
                m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        summary.blocking_checks = sorted(blocking);
        summary.warning_checks = sorted(warning);
        let mut run = run;
        run.partial = inventory.is_partial();
        let checks = evaluation
            .findings
            .iter()
            .map(|f| f.check_id.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|id| policy.checks.contains_key(*id))
            .map(|id| {
                let c = policy.check(id);
                (
                    id.to_string(),
                    CheckText {
                        title: c.title.clone(),
                        severity: policy.severity(id).as_str().to_string(),
                        portal_error: c.portal_error.clone(),
                        mitigation: c.mitigation.clone(),
                        docs: c.docs.clone(),
                        remediation: c.remediation.clone(),
                        remediation_scale_set: c.remediation_scale_set.clone(),
                    },
                )
            })
            .collect();
        let access_checks_on = ["rbac-vm-access", "rbac-storage-access"]
            .iter()
            .any(|id| policy.severity(id) != crate::policy::Severity::Off);
        let access_audit = inventory.access_audit.as_ref().map(|a| AccessAuditInfo {
            audited: inventory.principals.clone(),
            given: a.given,
            token_kind: a.token_kind,
            reason: a.reason.clone(),
            note: (inventory.principals.is_empty() && access_checks_on)
                .then(|| ACCESS_NOT_AUDITED.to_string()),
        });
        ScanResult {
            schema_version: REPORT_SCHEMA_VERSION,
            coverage: Coverage {
                subscriptions: inventory.subscriptions.len(),
                instances: inventory.instances.len(),
                storage_accounts: inventory.storage_accounts.len(),
                calls,
                gaps: inventory.gaps.clone(),
                unregistered: UnregisteredProvider::of(&inventory),
            },
            policy: PolicyInfo {
                sources: policy.sources.clone(),
                storage_in_connection_path: policy.storage_in_connection_path,
                expired_waivers: evaluation.expired_waivers,
                fingerprint: policy.fingerprint(),
            },
            run,
            summary,
            verdicts: evaluation.verdicts,
            findings: evaluation.findings,
            access: evaluation.access,
            inventory,
            checks,
            plan: None,
            history: None,
            access_audit,
        }
    }

    /// Access verdicts counted per audited principal, ordered by (id, label).
    pub fn access_by_principal(&self) -> Vec<PrincipalAccess<'_>> {
        let mut by: BTreeMap<(&str, &str), PrincipalAccess> = BTreeMap::new();
        for a in &self.access {
            let (id, label) = (a.principal_id.as_str(), a.label.as_str());
            let e = by.entry((id, label)).or_insert_with(|| PrincipalAccess {
                id,
                label,
                ..Default::default()
            });
            match a.verdict {
                Verdict::Blocked => e.may_not += 1,
                Verdict::Unknown => e.unknown += 1,
                _ => e.may_connect += 1,
            }
        }
        by.into_values().collect()
    }

    /// Every subscription's display name by id, for sinks that look names up per instance.
    pub fn subscription_names(&self) -> SubscriptionNames<'_> {
        SubscriptionNames(
            self.inventory
                .subscriptions
                .iter()
                .map(|s| (s.id.to_ascii_lowercase(), s.name.as_str()))
                .collect(),
        )
    }

    /// The subscription's display name (empty when unknown).
    pub fn subscription_name(&self, id: &str) -> &str {
        self.inventory
            .subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.name.as_str())
            .unwrap_or("")
    }

    /// Share of the instances with this verdict, in percent (0 when there are none).
    pub fn percent(&self, verdict: Verdict) -> f64 {
        let total = self.coverage.instances;
        if total == 0 {
            0.0
        } else {
            self.count(verdict) as f64 * 100.0 / total as f64
        }
    }

    /// The number of instances with a verdict.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.summary
            .by_verdict
            .get(verdict.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// One audited principal's access across the instances: how many it may connect to, may not,
/// and could not be decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalAccess<'a> {
    /// Object id.
    pub id: &'a str,
    /// Label (may be empty).
    pub label: &'a str,
    /// Instances it may connect to.
    pub may_connect: usize,
    /// Instances it may not connect to.
    pub may_not: usize,
    /// Instances where its access is unknown.
    pub unknown: usize,
}

impl PrincipalAccess<'_> {
    /// How reports name the principal: `label (id)`, or the id alone.
    pub fn who(&self) -> String {
        if self.label.is_empty() {
            self.id.to_string()
        } else {
            format!("{} ({})", self.label, self.id)
        }
    }
}

/// Subscription display names by id (case-insensitive), built once per report.
pub struct SubscriptionNames<'a>(foldhash::HashMap<String, &'a str>);

impl<'a> SubscriptionNames<'a> {
    /// The display name (empty when unknown).
    pub fn get(&self, id: &str) -> &'a str {
        if let Some(name) = self.0.get(id) {
            return name;
        }
        self.0.get(&id.to_ascii_lowercase()).copied().unwrap_or("")
    }
}

#[cfg(test)]
mod instance_findings_tests {
    use super::*;
    use crate::checks::testing::vm;
    use crate::findings::FindingStatus;
    use crate::policy::Severity;

    fn finding(resource_id: &str, check: &str) -> Finding {
        Finding {
            resource_id: resource_id.into(),
            subscription_id: "s1".into(),
            check_id: check.into(),
            status: FindingStatus::Fail,
            severity: Severity::Error,
            message: "m".into(),
            mitigation: "".into(),
            remediation: "".into(),
            waiver: None,
            principal_id: None,
        }
    }

    fn grouped(r: &ScanResult) -> Vec<Vec<String>> {
        let own = InstanceFindings::new(r);
        (0..r.inventory.instances.len())
            .map(|n| own.of(n).map(|f| f.check_id.to_string()).collect())
            .collect()
    }

    #[test]
    fn findings_in_evaluation_order_and_in_any_other_order_group_alike() {
        let mut r = ScanResult::default();
        r.inventory.instances = vec![vm("a"), vm("b"), vm("c"), vm("d")];
        let id = |n: usize| r.inventory.instances[n].id.clone();
        let (a, c, d) = (id(0), id(2), id(3));
        // The evaluation's order: subscription and environment findings, then each instance's.
        r.findings = vec![
            finding("/subscriptions/s1", "console-disabled"),
            finding("environment", "websocket-blocked"),
            finding(&a, "a1"),
            finding(&a, "a2"),
            finding(&c, "c1"),
            finding(&d, "d1"),
        ];
        let in_order = grouped(&r);
        assert_eq!(in_order, [vec!["a1", "a2"], vec![], vec!["c1"], vec!["d1"]]);
        let own = InstanceFindings::new(&r);
        assert_eq!(
            (0..6).map(|k| own.instance_of(k)).collect::<Vec<_>>(),
            [None, None, Some(0), Some(0), Some(2), Some(3)]
        );
        // Shuffled (and one finding of an instance that is not listed): the map gives the same.
        r.findings = vec![
            finding(&d, "d1"),
            finding(&a, "a1"),
            finding(
                "/subscriptions/s1/resourceGroups/rg/providers/x/y/gone",
                "g1",
            ),
            finding("/subscriptions/s1", "console-disabled"),
            finding(&c, "c1"),
            finding(&a, "a2"),
        ];
        assert_eq!(grouped(&r), in_order);
        assert_eq!(InstanceFindings::new(&r).instance_of(2), None);
    }
}
