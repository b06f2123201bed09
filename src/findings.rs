//! Findings and verdicts: what the checks concluded, per instance and per subscription.

use crate::policy::Severity;
use serde::{Deserialize, Serialize};

/// The status of a finding (a check that did not pass).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Failed at error severity: blocks the instance.
    Fail,
    /// Failed at warning or info severity.
    Warn,
    /// Could not be decided.
    Unknown,
    /// Failed or undecided, but covered by an unexpired waiver.
    Waived,
}

impl FindingStatus {
    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Fail => "fail",
            FindingStatus::Warn => "warn",
            FindingStatus::Unknown => "unknown",
            FindingStatus::Waived => "waived",
        }
    }
}

/// One (instance or subscription, check) that did not pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The instance or subscription id (`environment` for scanner-side findings).
    pub resource_id: String,
    /// Subscription GUID (empty for environment findings).
    pub subscription_id: String,
    /// Check id.
    pub check_id: String,
    /// Status.
    pub status: FindingStatus,
    /// Severity from the policy.
    pub severity: Severity,
    /// What was found, specific to this resource.
    pub message: String,
    /// What to do.
    pub mitigation: String,
    /// A command to review and run.
    pub remediation: String,
    /// The waiver that covers it (`reason (file:line, expires …)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    /// The audited principal, for access findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
}

/// The readiness of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No check failed.
    Ready,
    /// Only warnings.
    ReadyWithWarnings,
    /// No error failed, but a check that could block could not be decided.
    Unknown,
    /// At least one error-severity check failed.
    Blocked,
}

impl Verdict {
    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::ReadyWithWarnings => "ready_with_warnings",
            Verdict::Unknown => "unknown",
            Verdict::Blocked => "blocked",
        }
    }

    /// All verdicts, best first.
    pub const ALL: [Verdict; 4] = [
        Verdict::Ready,
        Verdict::ReadyWithWarnings,
        Verdict::Unknown,
        Verdict::Blocked,
    ];
}

/// The verdict of one instance with the check ids behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceVerdict {
    /// The instance id.
    pub resource_id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Failing error-severity checks.
    pub blockers: Vec<String>,
    /// Failing warning-severity checks.
    pub warnings: Vec<String>,
    /// Undecided checks.
    pub unknowns: Vec<String>,
    /// The remediation of the first blocker (else the first warning).
    pub first_fix: String,
    /// Principals that cannot connect (access checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals_denied: Vec<String>,
}
