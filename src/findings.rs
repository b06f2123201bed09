//! Findings and verdicts: what the checks concluded, per instance and per subscription.

use crate::policy::Severity;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Immutable text shared by every finding and verdict that repeats it (one allocation per
/// distinct text: a check id, a mitigation, a resource id); serialised as a plain string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Self {
        Text(Arc::from(""))
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text(Arc::from(s.as_str()))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == &*other.0
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
}

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
    pub resource_id: Text,
    /// Subscription GUID (empty for environment findings).
    pub subscription_id: Text,
    /// Check id.
    pub check_id: Text,
    /// Status.
    pub status: FindingStatus,
    /// Severity from the policy.
    pub severity: Severity,
    /// What was found, specific to this resource.
    pub message: Text,
    /// What to do.
    pub mitigation: Text,
    /// A command to review and run.
    pub remediation: Text,
    /// The waiver that covers it (`reason (file:line, expires …)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    /// The audited principal, for access findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<Text>,
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
    pub resource_id: Text,
    /// The verdict.
    pub verdict: Verdict,
    /// Failing error-severity checks.
    pub blockers: Vec<Text>,
    /// Failing warning-severity checks.
    pub warnings: Vec<Text>,
    /// Undecided checks.
    pub unknowns: Vec<Text>,
    /// The remediation of the first blocker (else the first warning).
    pub first_fix: Text,
    /// Principals that cannot connect (access checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals_denied: Vec<Text>,
}
