//! The check catalogue: stable ids, families, and what makes each check fail.

/// How a check is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evaluation {
    /// On every scan.
    Always,
    /// Only with `--guest-checks` (runs a read-only command inside the guest).
    OptIn,
    /// Never: a runtime condition, listed and explained only.
    RuntimeOnly,
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct CheckInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Family (module in `checks/`).
    pub family: &'static str,
    /// When the check fails.
    pub fails_when: &'static str,
    /// How it is evaluated.
    pub evaluation: Evaluation,
}

const fn c(id: &'static str, family: &'static str, fails_when: &'static str) -> CheckInfo {
    CheckInfo {
        id,
        family,
        fails_when,
        evaluation: Evaluation::Always,
    }
}

/// Every check, in catalogue order.
pub const CATALOGUE: &[CheckInfo] = &[
    c("boot-diagnostics-disabled", "boot-diagnostics", "diagnosticsProfile.bootDiagnostics.enabled is not true (a model read without a profile counts as never configured; a model not read is unknown); a Uniform scale-set instance is judged by its own profile"),
    c("vmss-instance-outdated", "boot-diagnostics", "a Uniform scale-set instance has latestModelApplied = false, so a boot-diagnostics change to the scale set has not reached it"),
    c("vm-not-running", "compute-state", "the power state is stopped, deallocated or deallocating (starting/stopping: warning; no power state: unknown)"),
    c("subscription-console-disabled", "subscription", "consoleServices/default reports disabled: true for the subscription"),
    c("subscription-not-enabled", "subscription", "the subscription state is not Enabled (Warned/PastDue: warning; Disabled/Deleted: error)"),
    c("storage-firewall", "storage", "the custom boot-diagnostics account has networkAcls.defaultAction = Deny"),
    c("storage-account-not-found", "storage", "the storageUri names an account that is in no visible subscription and whose blob host does not resolve"),
    c("storage-resource-group-unknown", "storage", "the account exists (its blob host resolves) but is in no subscription the scanner can see"),
    c("storage-uri-not-https", "storage", "the storageUri uses http://"),
    c("storage-hns-enabled", "storage", "the boot-diagnostics account has a hierarchical namespace (Data Lake Storage Gen2)"),
    c("storage-shared-key-disabled", "storage", "the boot-diagnostics account has allowSharedKeyAccess = false"),
    c("storage-region-mismatch", "storage", "the boot-diagnostics account is in another region than the VM"),
    c("storage-min-tls", "storage", "the boot-diagnostics account accepts TLS below 1.2 (TLS1_0/TLS1_1, or no minimumTlsVersion, which Azure reads as TLS 1.0)"),
    c("rbac-vm-access", "access", "the audited principal lacks the required actions at the VM's scope"),
    c("rbac-storage-access", "access", "the audited principal lacks the required actions on a custom boot-diagnostics account"),
    c("provisioning-incomplete", "compute-state", "provisioningState is Creating, Updating or Migrating"),
    c("vm-failed-state", "compute-state", "provisioningState is Failed, or the instance view reports a boot-diagnostics error"),
    c("trusted-launch-secure-boot", "compute-state", "Trusted Launch with secure boot on (after a live migration the console may show no output until the guest restarts)"),
    c("region-unsupported", "compute-state", "the location is not in the policy's Serial Console region list"),
    c("linux-no-password-user", "compute-state", "a Linux VM has disablePasswordAuthentication = true: the console opens but nobody can log in"),
    c("resource-lock-readonly", "compute-state", "a ReadOnly management lock covers the VM (connecting is refused with 409)"),
    c("websocket-blocked", "environment", "the scanner's network cannot open TLS to the Serial Console host"),
    CheckInfo {
        id: "windows-sac-helper",
        family: "environment",
        fails_when: "a running Windows VM's sacsvr service is not Automatic and Running (opt-in guest check)",
        evaluation: Evaluation::OptIn,
    },
    CheckInfo {
        id: "concurrent-connection",
        family: "environment",
        fails_when: "another user holds the console (runtime only: listed and explained, never evaluated)",
        evaluation: Evaluation::RuntimeOnly,
    },
];

/// The position of an id in the catalogue (unknown ids sort last).
pub fn position(id: &str) -> usize {
    CATALOGUE
        .iter()
        .position(|c| c.id == id)
        .unwrap_or(usize::MAX)
}

/// The catalogue entry of an id.
pub fn info(id: &str) -> Option<&'static CheckInfo> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// The check ids whose storage account lies in the connection path (see the policy switch
/// `storage_in_connection_path`).
pub const STORAGE_PATH_CHECKS: &[&str] = &[
    "storage-firewall",
    "storage-account-not-found",
    "storage-resource-group-unknown",
    "storage-uri-not-https",
    "storage-hns-enabled",
    "storage-shared-key-disabled",
    "storage-region-mismatch",
    "storage-min-tls",
    "rbac-storage-access",
];
