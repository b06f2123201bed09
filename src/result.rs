//! `ScanResult`: everything one scan concluded, the single input of every report sink.

use crate::arm::CallStats;
use crate::checks::Evaluation;
use crate::findings::{Finding, InstanceVerdict, Verdict};
use crate::inventory::{CoverageGap, Inventory};
use crate::policy::{Policy, Waiver};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of `report.json`.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

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
    /// True when some listing failed: the report is incomplete.
    pub partial: bool,
    /// How the run ended (`complete`, `partial`, `interrupted`, `evaluated-offline`).
    pub status: String,
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
        for v in Verdict::ALL {
            summary.by_verdict.insert(v.as_str().to_string(), 0);
        }
        let mut blocking: BTreeMap<&str, usize> = BTreeMap::new();
        let mut warning: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, v) in inventory.instances.iter().zip(&evaluation.verdicts) {
            *summary
                .by_verdict
                .entry(v.verdict.as_str().to_string())
                .or_default() += 1;
            *summary
                .by_subscription
                .entry(i.subscription_id.clone())
                .or_default()
                .entry(v.verdict.as_str().to_string())
                .or_default() += 1;
            for b in &v.blockers {
                *blocking.entry(b.as_str()).or_default() += 1;
            }
            for w in &v.warnings {
                *warning.entry(w.as_str()).or_default() += 1;
            }
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
        ScanResult {
            schema_version: REPORT_SCHEMA_VERSION,
            coverage: Coverage {
                subscriptions: inventory.subscriptions.len(),
                instances: inventory.instances.len(),
                storage_accounts: inventory.storage_accounts.len(),
                calls,
                gaps: inventory.gaps.clone(),
            },
            policy: PolicyInfo {
                sources: policy.sources.clone(),
                storage_in_connection_path: policy.storage_in_connection_path,
                expired_waivers: evaluation.expired_waivers,
            },
            run,
            summary,
            verdicts: evaluation.verdicts,
            findings: evaluation.findings,
            access: evaluation.access,
            inventory,
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
