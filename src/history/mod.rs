//! Nightly history: every scan recorded in an embedded SQLite database, with the readiness trend
//! and the diff between two runs (newly blocked, fixed, appeared, disappeared, check counts).
//!
//! `store` holds the database and its versioned migrations, `diff` compares two recorded runs
//! (pure), `render` prints runs and diffs as text.

pub mod compact;
pub mod diff;
pub mod render;
mod schema;
pub mod store;

use crate::findings::Verdict;
use crate::inventory::CoverageGap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use diff::{CheckMove, InstanceChange, RunDiff};
pub use store::{
    History, HistoryError, PruneOutcome, DEFAULT_HISTORY_FILE, HISTORY_APPLICATION_ID,
    HISTORY_SCHEMA_VERSION,
};

/// How many runs the trend shows.
pub const TREND_RUNS: usize = 30;

/// One recorded run: its metadata and counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id (increasing).
    pub id: i64,
    /// When discovery started (RFC 3339).
    pub started_at: String,
    /// When evaluation finished (RFC 3339).
    pub finished_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Tool version that recorded it.
    pub tool_version: String,
    /// Cloud.
    pub cloud: String,
    /// Scope: requested and excluded subscriptions (`all` when none were named).
    pub scope: String,
    /// `complete`, `partial`, `interrupted`.
    pub status: String,
    /// True when some listing failed.
    pub partial: bool,
    /// Subscriptions read.
    pub subscriptions: usize,
    /// Instances found.
    pub instances: usize,
    /// Instances per verdict.
    pub ready: usize,
    /// Instances ready with warnings.
    pub ready_with_warnings: usize,
    /// Instances undecided.
    pub unknown: usize,
    /// Instances blocked.
    pub blocked: usize,
    /// ARM requests sent.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// 429 responses.
    pub throttled: u64,
    /// Listings that failed.
    pub gaps: usize,
}

impl RunRecord {
    /// Instances that can use Serial Console (ready, with or without warnings), in percent.
    pub fn readiness_percent(&self) -> f64 {
        if self.instances == 0 {
            0.0
        } else {
            (self.ready + self.ready_with_warnings) as f64 * 100.0 / self.instances as f64
        }
    }

    /// `complete` or `PARTIAL`, for listings.
    pub fn completeness(&self) -> &'static str {
        if self.partial {
            "PARTIAL"
        } else {
            "complete"
        }
    }
}

/// One instance as recorded in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Resource id as ARM returned it.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Subscription GUID (lower case).
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// `vm`, `vmss_instance`, `vmss_flex_vm`.
    pub kind: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Failing error-severity checks.
    pub blockers: Vec<String>,
    /// Failing warning-severity checks.
    pub warnings: Vec<String>,
    /// Undecided checks.
    pub unknowns: Vec<String>,
}

/// A recorded run with everything a diff needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSnapshot {
    /// The run.
    pub run: RunRecord,
    /// Subscriptions read: id → display name.
    pub subscriptions: BTreeMap<String, String>,
    /// Listings that failed.
    pub gaps: Vec<CoverageGap>,
    /// Instances with their verdicts.
    pub instances: Vec<InstanceRecord>,
}

/// One point of the readiness trend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// Run id.
    pub run_id: i64,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Instances found.
    pub instances: usize,
    /// Ready instances.
    pub ready: usize,
    /// Ready with warnings.
    pub ready_with_warnings: usize,
    /// Undecided.
    pub unknown: usize,
    /// Blocked.
    pub blocked: usize,
    /// True when the run was partial.
    pub partial: bool,
}

impl TrendPoint {
    /// Ready and ready-with-warnings instances, in percent.
    pub fn readiness_percent(&self) -> f64 {
        if self.instances == 0 {
            0.0
        } else {
            (self.ready + self.ready_with_warnings) as f64 * 100.0 / self.instances as f64
        }
    }
}

/// What the reports of a new run show about its history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HistorySummary {
    /// The database file.
    pub database: String,
    /// This run's id.
    pub run_id: i64,
    /// Readiness of the last runs of the same scope, oldest first, this run last.
    pub trend: Vec<TrendPoint>,
    /// The diff against the previous run of the same scope, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<RunDiff>,
}
