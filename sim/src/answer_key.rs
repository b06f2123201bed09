//! The answer key: what a correct scanner concludes about every instance of a generated fleet.
//!
//! [`generate::generate_with_key`](crate::generate::generate_with_key) records, while it builds
//! a fleet, which conditions it put into every instance and subscription (the [`Mix`] keys:
//! `power_deallocated`, `storage_hns`, `rbac_vm_access_missing`, …) and where each custom
//! boot-diagnostics account lives. The key derives each instance's expected outcome from those
//! records alone, through the table in [`AnswerKey::compute`]: which catalogue check each
//! condition makes fail, warn or stay undecided. It never runs a check and never reads the
//! fleet's JSON back: it states the catalogue's documented meaning (DESIGN.md, "Check
//! catalogue" and "Verdict per instance"; README, "Absent fields" and "What scready promises")
//! for the conditions it knows it injected.
//!
//! Severities are the built-in policy's documented defaults ([`CATALOGUE`], checked against
//! `policies/serial-console.toml` by this module's tests); the key assumes that policy with no
//! waivers, a scan against the simulator (`--cloud custom`), VMs read by the two listings, and
//! no guest checks (`windows-sac-helper` is opt-in; `websocket-blocked` concerns the scanner's
//! own network, not the fleet, and is left out).
//!
//! Listings that fail ([`Outage`]) leave gaps; [`AnswerKey::under`] recomputes the key for a
//! set of them, saying which checks of which instances become undecided and which instances are
//! not listed at all. `docs/fleet-format.md` documents the file.
//!
//! [`Mix`]: crate::generate::Mix

use crate::faults::{FaultKind, FaultRule};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The schema version of answer-key files this build writes and reads.
pub const ANSWER_KEY_SCHEMA_VERSION: u32 = 1;

/// A check's severity under the built-in policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported, never counted in a verdict.
    Info,
    /// Makes an instance `ready_with_warnings`.
    Warning,
    /// Blocks an instance when it fails; makes it `unknown` when undecided.
    Error,
}

/// The check catalogue in catalogue order, with the built-in policy's default severities
/// (DESIGN.md, "Check catalogue"; `policies/serial-console.toml`).
pub const CATALOGUE: &[(&str, Severity)] = &[
    ("boot-diagnostics-disabled", Severity::Error),
    ("vmss-instance-outdated", Severity::Error),
    ("vm-not-running", Severity::Error),
    ("subscription-console-disabled", Severity::Error),
    ("subscription-not-enabled", Severity::Error),
    ("storage-firewall", Severity::Warning),
    ("storage-account-not-found", Severity::Error),
    ("storage-resource-group-unknown", Severity::Error),
    ("storage-uri-not-https", Severity::Error),
    ("storage-hns-enabled", Severity::Error),
    ("storage-shared-key-disabled", Severity::Error),
    ("storage-region-mismatch", Severity::Warning),
    ("storage-min-tls", Severity::Warning),
    ("rbac-vm-access", Severity::Error),
    ("rbac-storage-access", Severity::Error),
    ("provisioning-incomplete", Severity::Error),
    ("vm-failed-state", Severity::Error),
    ("trusted-launch-secure-boot", Severity::Info),
    ("region-unsupported", Severity::Warning),
    ("linux-no-password-user", Severity::Warning),
    ("resource-lock-readonly", Severity::Error),
    ("websocket-blocked", Severity::Warning),
    ("windows-sac-helper", Severity::Warning),
    ("concurrent-connection", Severity::Info),
];

/// The severity of a catalogue check (`Error` for an id the catalogue does not have).
pub fn severity(check: &str) -> Severity {
    CATALOGUE
        .iter()
        .find(|(id, _)| *id == check)
        .map_or(Severity::Error, |(_, s)| *s)
}

/// The position of a check in the catalogue (for listing check ids in catalogue order).
pub fn position(check: &str) -> usize {
    CATALOGUE
        .iter()
        .position(|(id, _)| *id == check)
        .unwrap_or(CATALOGUE.len())
}

/// The storage checks that need the boot-diagnostics account's properties (all but the URI's
/// scheme).
const ACCOUNT_CHECKS: [&str; 7] = [
    "storage-firewall",
    "storage-account-not-found",
    "storage-resource-group-unknown",
    "storage-hns-enabled",
    "storage-shared-key-disabled",
    "storage-region-mismatch",
    "storage-min-tls",
];

/// What one check concludes about one instance, before the policy's severity applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Fails at the check's severity.
    Fail,
    /// Fails at most at warning severity (a VM that is starting or stopping).
    Warn,
    /// Cannot be decided.
    Unknown,
}

/// A listing that fails for a whole subscription (or one scale set), leaving a coverage gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// `…/providers/Microsoft.Storage/storageAccounts`.
    StorageAccounts,
    /// `…/providers/Microsoft.Authorization/locks`.
    ManagementLocks,
    /// `…/providers/Microsoft.SerialConsole/consoleServices/default`.
    ConsoleStatus,
    /// The `statusOnly=true` VM listing (run-time status of VMs and Flexible members).
    VmStatus,
    /// `…/providers/Microsoft.Authorization/roleAssignments`.
    RoleAssignments,
    /// `…/providers/Microsoft.Authorization/denyAssignments`.
    DenyAssignments,
    /// One Uniform scale set's instance listing (`…/virtualMachineScaleSets/{name}/virtualMachines`).
    ScaleSetVms,
}

/// A listing the simulator answers with an error every time it is asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// The subscription.
    pub subscription_id: String,
    /// What fails.
    pub listing: Listing,
    /// The scale set, for [`Listing::ScaleSetVms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// The HTTP status answered: 403 `AuthorizationFailed` (default) or a server error, which a
    /// scanner retries before giving up.
    #[serde(default = "default_outage_status")]
    pub status: u16,
}

fn default_outage_status() -> u16 {
    403
}

impl Outage {
    /// An outage of `listing` in a subscription, answered with 403.
    pub fn new(subscription_id: &str, listing: Listing) -> Outage {
        Outage {
            subscription_id: subscription_id.to_string(),
            listing,
            scale_set: None,
            status: 403,
        }
    }

    /// An outage of one Uniform scale set's instance listing, answered with 403.
    pub fn scale_set_vms(subscription_id: &str, scale_set: &str) -> Outage {
        Outage {
            scale_set: Some(scale_set.to_string()),
            ..Outage::new(subscription_id, Listing::ScaleSetVms)
        }
    }

    /// The same outage answered with another status (403, or 500/503 to exercise retries).
    pub fn with_status(mut self, status: u16) -> Outage {
        self.status = status;
        self
    }

    /// The fault rule that makes the simulator answer this listing with the outage's status.
    pub fn fault_rule(&self) -> FaultRule {
        let path = match self.listing {
            Listing::StorageAccounts => "/providers/Microsoft.Storage/storageAccounts".to_string(),
            Listing::ManagementLocks => "/providers/Microsoft.Authorization/locks".to_string(),
            Listing::ConsoleStatus => {
                "/providers/Microsoft.SerialConsole/consoleServices".to_string()
            }
            Listing::VmStatus => "statusOnly=true".to_string(),
            Listing::RoleAssignments => {
                "/providers/Microsoft.Authorization/roleAssignments".to_string()
            }
            Listing::DenyAssignments => {
                "/providers/Microsoft.Authorization/denyAssignments".to_string()
            }
            Listing::ScaleSetVms => format!(
                "/virtualMachineScaleSets/{}/virtualMachines",
                self.scale_set.as_deref().unwrap_or("")
            ),
        };
        let fault = if self.status == 403 {
            FaultKind::Forbidden
        } else {
            FaultKind::Status {
                status: self.status,
                retry_after: None,
            }
        };
        FaultRule::always(fault)
            .on_path(&path)
            .on_subscription(&self.subscription_id)
    }

    fn covers(&self, subscription_id: &str, listing: Listing) -> bool {
        self.listing == listing && self.subscription_id.eq_ignore_ascii_case(subscription_id)
    }
}

/// A principal whose Serial Console access the key states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPrincipal {
    /// Object id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `User | Group | ServicePrincipal`.
    #[serde(rename = "type")]
    pub principal_type: String,
}

/// A subscription and the conditions the generator gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySubscription {
    /// Subscription id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Subscription-level conditions (`subscription_warned`, `rbac_vm_access_missing`, …).
    pub conditions: Vec<String>,
}

/// Where an instance's custom boot-diagnostics account is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStorage {
    /// Account name.
    pub name: String,
    /// The served subscription that holds it; absent for an account outside every served
    /// subscription, or one that does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Whether the account exists at all (its blob host resolves).
    pub exists: bool,
}

/// One principal's expected access to one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAccess {
    /// `ready` (may connect), `blocked` or `unknown`.
    pub verdict: String,
    /// Failing access checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// Undecided access checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<String>,
}

/// One instance: what the generator put into it, and what a correct scanner concludes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInstance {
    /// ARM resource id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// `vm | vmss_instance | vmss_flex_vm`.
    pub kind: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Scale set, for scale-set instances and Flexible members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// Instance-level conditions (the subscription's are in [`KeySubscription::conditions`]).
    pub conditions: Vec<String>,
    /// The custom boot-diagnostics account, if the instance uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account: Option<KeyStorage>,
    /// Why a correct scanner cannot list this instance (an outage hides it); its verdict is
    /// then `not_listed` and its lists are empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_listed: Option<String>,
    /// The verdict when no principal's access is audited (`not_listed` for a hidden instance).
    pub verdict: String,
    /// Failing error-severity checks.
    pub blockers: Vec<String>,
    /// Failing warning-severity checks.
    pub warnings: Vec<String>,
    /// Undecided checks (error and warning severity).
    pub unknowns: Vec<String>,
    /// Per audited principal (object id): its access to the instance.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub access: BTreeMap<String, KeyAccess>,
}

/// An instance's expected verdict and check lists for a scan that audits some principals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// `ready | ready_with_warnings | unknown | blocked`.
    pub verdict: String,
    /// Failing error-severity checks, in catalogue order.
    pub blockers: Vec<String>,
    /// Failing warning-severity checks, in catalogue order.
    pub warnings: Vec<String>,
    /// Undecided checks, in catalogue order.
    pub unknowns: Vec<String>,
}

/// What a correct scanner concludes about every instance of a generated fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerKey {
    /// [`ANSWER_KEY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// How the fleet was made (the generator's options).
    pub source: String,
    /// What the key assumes about the scan.
    pub assumptions: Vec<String>,
    /// The principals whose access each instance's `access` states.
    pub principals: Vec<KeyPrincipal>,
    /// Listings assumed to fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<Outage>,
    /// Instance counts per verdict (no principal audited), `not_listed` included.
    pub summary: BTreeMap<String, usize>,
    /// Every subscription of the fleet.
    pub subscriptions: Vec<KeySubscription>,
    /// Every instance of the fleet.
    pub instances: Vec<KeyInstance>,
}

/// The assumptions every key states.
pub fn default_assumptions() -> Vec<String> {
    [
        "policy: the built-in policy (policies/serial-console.toml) with its default severities, no waivers, storage_in_connection_path = true",
        "scan: against the simulator (--cloud custom: storage hosts are looked up in the simulator's name service), VMs read by the plain and statusOnly listings (the default)",
        "not stated: windows-sac-helper (opt-in guest checks), websocket-blocked (the scanner's own network), trusted-launch-secure-boot and concurrent-connection (info: never in a verdict)",
        "access: stated per principal for the principals listed; an instance's verdict with principals audited adds their access blockers and unknowns (Expected / KeyInstance::when_auditing)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Sorts check ids in catalogue order, without repeats.
fn catalogue_order(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| (position(id), id.clone()));
    ids.dedup();
    ids
}

/// The verdict from check lists (DESIGN.md, "Verdict per instance").
fn verdict_of(blockers: &[String], warnings: &[String], unknowns: &[String]) -> &'static str {
    if !blockers.is_empty() {
        "blocked"
    } else if unknowns.iter().any(|c| severity(c) == Severity::Error) {
        "unknown"
    } else if !warnings.is_empty() || !unknowns.is_empty() {
        "ready_with_warnings"
    } else {
        "ready"
    }
}

impl KeyInstance {
    /// The verdict and lists a scan auditing `principals` (object ids) reports: the instance's
    /// own plus each audited principal's access blockers and unknowns.
    pub fn when_auditing(&self, principals: &[String]) -> Expected {
        let mut blockers = self.blockers.clone();
        let mut unknowns = self.unknowns.clone();
        for p in principals {
            if let Some(a) = self.access.get(&p.to_ascii_lowercase()) {
                blockers.extend(a.blockers.iter().cloned());
                unknowns.extend(a.unknowns.iter().cloned());
            }
        }
        let blockers = catalogue_order(blockers);
        let unknowns = catalogue_order(unknowns);
        let warnings = catalogue_order(self.warnings.clone());
        Expected {
            verdict: verdict_of(&blockers, &warnings, &unknowns).to_string(),
            blockers,
            warnings,
            unknowns,
        }
    }
}

impl AnswerKey {
    /// The key for the same fleet with `outages` (replacing any the key had).
    pub fn under(&self, outages: Vec<Outage>) -> AnswerKey {
        let mut key = self.clone();
        key.outages = outages;
        key.compute();
        key
    }

    /// Fills in every instance's verdict, lists and access from the recorded conditions and
    /// the outages, and the summary.
    ///
    /// The table, per instance (`has(x)`: the instance carries condition `x`; `sub(x)`: its
    /// subscription does; `down(s, l)`: listing `l` of subscription `s` is out):
    ///
    /// | check | outcome |
    /// |---|---|
    /// | `boot-diagnostics-disabled` | fail: `boot_diagnostics_absent` or `boot_diagnostics_disabled` |
    /// | `vmss-instance-outdated` | fail: `instance_outdated` |
    /// | `vm-not-running` | VMs and Flexible members with `down(own, vm_status)`: unknown; else fail: `power_deallocated`, `power_stopped`; warn: `power_transitioning`; unknown: `power_absent` |
    /// | `subscription-console-disabled` | unknown: `down(own, console_status)`; else fail: `sub(subscription_console_disabled)` |
    /// | `subscription-not-enabled` | fail: `sub(subscription_disabled)`; warn: `sub(subscription_warned)` |
    /// | `storage-uri-not-https` | fail: `storage_uri_http` |
    /// | `storage-account-not-found` | fail: `storage_missing` (the host resolves nowhere) |
    /// | account checks¹ | account served in subscription T, T's storage listing read: fail per `storage_firewall_deny`, `storage_hns`, `storage_shared_key_disabled`, `storage_region_mismatch`, `storage_min_tls_old`; T's listing down, or the account is outside the served subscriptions while any storage listing is down: unknown |
    /// | `storage-resource-group-unknown` | fail: `storage_external` when no storage listing is down |
    /// | `provisioning-incomplete` | fail: `provisioning_incomplete` |
    /// | `vm-failed-state` | fail: `provisioning_failed`; else unknown when the status was not read; else fail: `boot_diagnostics_error_status` |
    /// | `region-unsupported` | fail: `region_unsupported` |
    /// | `linux-no-password-user` | fail: `linux_no_password` |
    /// | `resource-lock-readonly` | unknown: `down(own, management_locks)`; else fail: `readonly_lock` |
    /// | `rbac-vm-access`² | unknown: `down(own, role_assignments)` or `down(own, deny_assignments)`; else fail: `sub(rbac_vm_access_missing)` |
    /// | `rbac-storage-access`² | custom storage whose account is served and read in T: unknown when T's role or deny assignments are down, else fail: `rbac_storage_access_missing`; account undecided (as for the account checks): unknown |
    ///
    /// ¹ `storage-firewall`, `storage-hns-enabled`, `storage-shared-key-disabled`,
    /// `storage-region-mismatch`, `storage-min-tls`, and (as unknown only)
    /// `storage-account-not-found` and `storage-resource-group-unknown`.
    /// ² Per principal of [`AnswerKey::principals`]; the instance's own lists leave them out.
    ///
    /// A `fail` counts as a blocker at error severity and a warning at warning severity; a
    /// `warn` is a warning; an `unknown` is listed in `unknowns` (and makes the verdict
    /// `unknown` at error severity); info-severity checks are never listed.
    pub fn compute(&mut self) {
        let subs: BTreeMap<String, BTreeSet<String>> = self
            .subscriptions
            .iter()
            .map(|s| {
                (
                    s.id.to_ascii_lowercase(),
                    s.conditions.iter().cloned().collect(),
                )
            })
            .collect();
        let principals: Vec<String> = self
            .principals
            .iter()
            .map(|p| p.id.to_ascii_lowercase())
            .collect();
        let mut summary: BTreeMap<String, usize> = BTreeMap::new();
        for inst in &mut self.instances {
            // Uniform instances hidden by an outage of their scale set's listing.
            let hidden_by = self.outages.iter().find(|o| {
                o.listing == Listing::ScaleSetVms
                    && inst.kind == "vmss_instance"
                    && o.subscription_id
                        .eq_ignore_ascii_case(&inst.subscription_id)
                    && o.scale_set
                        .as_deref()
                        .zip(inst.scale_set.as_deref())
                        .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            });
            if let Some(o) = hidden_by {
                inst.not_listed = Some(format!(
                    "the instance listing of scale set {} fails (HTTP {})",
                    o.scale_set.as_deref().unwrap_or(""),
                    o.status
                ));
                inst.verdict = "not_listed".into();
                inst.blockers.clear();
                inst.warnings.clear();
                inst.unknowns.clear();
                inst.access.clear();
                *summary.entry(inst.verdict.clone()).or_default() += 1;
                continue;
            }
            inst.not_listed = None;
            let none = BTreeSet::new();
            let sub = subs
                .get(&inst.subscription_id.to_ascii_lowercase())
                .unwrap_or(&none);
            let facts = Facts {
                inst,
                sub,
                outages: &self.outages,
            };
            let (mut blockers, mut warnings, mut unknowns) = (Vec::new(), Vec::new(), Vec::new());
            for (check, outcome) in facts.instance_outcomes() {
                classify(check, outcome, &mut blockers, &mut warnings, &mut unknowns);
            }
            let access_outcomes = facts.access_outcomes();
            let (blockers, warnings, unknowns) = (
                catalogue_order(blockers),
                catalogue_order(warnings),
                catalogue_order(unknowns),
            );
            let access = principals
                .iter()
                .map(|p| {
                    let (mut b, mut w, mut u) = (Vec::new(), Vec::new(), Vec::new());
                    for &(check, outcome) in &access_outcomes {
                        classify(check, outcome, &mut b, &mut w, &mut u);
                    }
                    let verdict = if !b.is_empty() {
                        "blocked"
                    } else if !u.is_empty() {
                        "unknown"
                    } else {
                        "ready"
                    };
                    (
                        p.clone(),
                        KeyAccess {
                            verdict: verdict.to_string(),
                            blockers: catalogue_order(b),
                            unknowns: catalogue_order(u),
                        },
                    )
                })
                .collect();
            inst.verdict = verdict_of(&blockers, &warnings, &unknowns).to_string();
            inst.blockers = blockers;
            inst.warnings = warnings;
            inst.unknowns = unknowns;
            inst.access = access;
            *summary.entry(inst.verdict.clone()).or_default() += 1;
        }
        self.summary = summary;
    }

    /// The instance with this resource id (case-insensitive).
    pub fn instance(&self, resource_id: &str) -> Option<&KeyInstance> {
        self.instances
            .iter()
            .find(|i| i.resource_id.eq_ignore_ascii_case(resource_id))
    }

    /// The key as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the answer key serialises")
    }

    /// Reads a key written by [`AnswerKey::to_json`]; refuses another schema version.
    pub fn parse(text: &str, origin: &str) -> Result<AnswerKey, String> {
        let key: AnswerKey = crate::file::from_json(text, origin).map_err(|e| e.to_string())?;
        if key.schema_version != ANSWER_KEY_SCHEMA_VERSION {
            return Err(format!(
                "{origin}: answer key schema_version {} is not {ANSWER_KEY_SCHEMA_VERSION}",
                key.schema_version
            ));
        }
        Ok(key)
    }

    /// Where the key of `fleet` goes: beside it, `NAME.answer-key.json` for `NAME.json` or
    /// `NAME.toml`.
    pub fn path_beside(fleet: &std::path::Path) -> std::path::PathBuf {
        let stem = fleet
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fleet".into());
        fleet.with_file_name(format!("{stem}.answer-key.json"))
    }
}

/// Adds one outcome to the lists by the check's severity.
fn classify(
    check: &str,
    outcome: Outcome,
    blockers: &mut Vec<String>,
    warnings: &mut Vec<String>,
    unknowns: &mut Vec<String>,
) {
    match (outcome, severity(check)) {
        (_, Severity::Info) => {}
        (Outcome::Fail, Severity::Error) => blockers.push(check.to_string()),
        (Outcome::Fail | Outcome::Warn, _) => warnings.push(check.to_string()),
        (Outcome::Unknown, _) => unknowns.push(check.to_string()),
    }
}

/// What the key knows about one instance while computing.
struct Facts<'a> {
    inst: &'a KeyInstance,
    sub: &'a BTreeSet<String>,
    outages: &'a [Outage],
}

/// Where a custom boot-diagnostics account stands for a scanner.
enum Account<'a> {
    /// The instance uses managed or no boot diagnostics.
    NotCustom,
    /// Found in a storage listing that was read (the subscription holding it).
    Visible(&'a str),
    /// Its host resolves nowhere.
    Missing,
    /// It exists outside every served subscription, and every storage listing was read.
    Elsewhere,
    /// Not found in what was read while a storage listing that might hold it failed.
    Undecided,
}

impl Facts<'_> {
    fn has(&self, condition: &str) -> bool {
        self.inst.conditions.iter().any(|c| c == condition)
    }

    fn sub_has(&self, condition: &str) -> bool {
        self.sub.contains(condition)
    }

    fn down(&self, subscription: &str, listing: Listing) -> bool {
        self.outages.iter().any(|o| o.covers(subscription, listing))
    }

    fn own_down(&self, listing: Listing) -> bool {
        self.down(&self.inst.subscription_id, listing)
    }

    /// Whether the run-time status was read: Uniform instances carry it in their own listing;
    /// VMs and Flexible members in the subscription's status listing.
    fn status_read(&self) -> bool {
        self.inst.kind == "vmss_instance" || !self.own_down(Listing::VmStatus)
    }

    fn account(&self) -> Account<'_> {
        let Some(sa) = self
            .inst
            .storage_account
            .as_ref()
            .filter(|_| self.has("custom_storage"))
        else {
            return Account::NotCustom;
        };
        if !sa.exists {
            return Account::Missing;
        }
        match sa.subscription_id.as_deref() {
            Some(t) if !self.down(t, Listing::StorageAccounts) => Account::Visible(t),
            Some(_) => Account::Undecided,
            None if self
                .outages
                .iter()
                .any(|o| o.listing == Listing::StorageAccounts) =>
            {
                Account::Undecided
            }
            None => Account::Elsewhere,
        }
    }

    fn instance_outcomes(&self) -> Vec<(&'static str, Outcome)> {
        let mut out = Vec::new();
        let mut put = |check: &'static str, outcome: Outcome| out.push((check, outcome));
        if self.has("boot_diagnostics_absent") || self.has("boot_diagnostics_disabled") {
            put("boot-diagnostics-disabled", Outcome::Fail);
        }
        if self.has("instance_outdated") {
            put("vmss-instance-outdated", Outcome::Fail);
        }
        if !self.status_read() {
            put("vm-not-running", Outcome::Unknown);
        } else if self.has("power_deallocated") || self.has("power_stopped") {
            put("vm-not-running", Outcome::Fail);
        } else if self.has("power_transitioning") {
            put("vm-not-running", Outcome::Warn);
        } else if self.has("power_absent") {
            put("vm-not-running", Outcome::Unknown);
        }
        if self.own_down(Listing::ConsoleStatus) {
            put("subscription-console-disabled", Outcome::Unknown);
        } else if self.sub_has("subscription_console_disabled") {
            put("subscription-console-disabled", Outcome::Fail);
        }
        if self.sub_has("subscription_disabled") {
            put("subscription-not-enabled", Outcome::Fail);
        } else if self.sub_has("subscription_warned") {
            put("subscription-not-enabled", Outcome::Warn);
        }
        if self.has("custom_storage") && self.has("storage_uri_http") {
            put("storage-uri-not-https", Outcome::Fail);
        }
        match self.account() {
            Account::NotCustom => {}
            Account::Missing => put("storage-account-not-found", Outcome::Fail),
            Account::Elsewhere => put("storage-resource-group-unknown", Outcome::Fail),
            Account::Undecided => {
                for check in ACCOUNT_CHECKS {
                    put(check, Outcome::Unknown);
                }
            }
            Account::Visible(_) => {
                for (condition, check) in [
                    ("storage_firewall_deny", "storage-firewall"),
                    ("storage_hns", "storage-hns-enabled"),
                    ("storage_shared_key_disabled", "storage-shared-key-disabled"),
                    ("storage_region_mismatch", "storage-region-mismatch"),
                    ("storage_min_tls_old", "storage-min-tls"),
                ] {
                    if self.has(condition) {
                        put(check, Outcome::Fail);
                    }
                }
            }
        }
        if self.has("provisioning_incomplete") {
            put("provisioning-incomplete", Outcome::Fail);
        }
        if self.has("provisioning_failed") {
            put("vm-failed-state", Outcome::Fail);
        } else if !self.status_read() {
            put("vm-failed-state", Outcome::Unknown);
        } else if self.has("boot_diagnostics_error_status") {
            put("vm-failed-state", Outcome::Fail);
        }
        if self.has("trusted_launch_secure_boot") {
            put("trusted-launch-secure-boot", Outcome::Fail);
        }
        if self.has("region_unsupported") {
            put("region-unsupported", Outcome::Fail);
        }
        if self.has("linux_no_password") {
            put("linux-no-password-user", Outcome::Fail);
        }
        if self.own_down(Listing::ManagementLocks) {
            put("resource-lock-readonly", Outcome::Unknown);
        } else if self.has("readonly_lock") {
            put("resource-lock-readonly", Outcome::Fail);
        }
        out
    }

    /// The access checks' outcomes, the same for every principal of the key (the operators
    /// group holds the roles; its member user has them through it).
    fn access_outcomes(&self) -> Vec<(&'static str, Outcome)> {
        let mut out = Vec::new();
        let assignments_down = |s: &str| {
            self.down(s, Listing::RoleAssignments) || self.down(s, Listing::DenyAssignments)
        };
        if assignments_down(&self.inst.subscription_id) {
            out.push(("rbac-vm-access", Outcome::Unknown));
        } else if self.sub_has("rbac_vm_access_missing") {
            out.push(("rbac-vm-access", Outcome::Fail));
        }
        match self.account() {
            Account::Visible(t) if assignments_down(t) => {
                out.push(("rbac-storage-access", Outcome::Unknown))
            }
            Account::Visible(_) if self.has("rbac_storage_access_missing") => {
                out.push(("rbac-storage-access", Outcome::Fail))
            }
            Account::Undecided => out.push(("rbac-storage-access", Outcome::Unknown)),
            _ => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate_with_key, GenerateOptions, Mix};

    /// The catalogue's severities are the built-in policy's (read as data, from the scanner's
    /// policy file, the documented source of the defaults).
    #[test]
    fn severities_are_the_built_in_policy_defaults() {
        let policy: toml::Value =
            toml::from_str(include_str!("../../policies/serial-console.toml")).unwrap();
        let checks = policy["checks"].as_table().unwrap();
        assert_eq!(checks.len(), CATALOGUE.len());
        for (id, sev) in CATALOGUE {
            let written = checks[*id]["severity"].as_str().unwrap();
            let want = match sev {
                Severity::Info => "info",
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            assert_eq!(written, want, "{id}");
        }
    }

    fn opts(seed: u64, mix: Mix) -> GenerateOptions {
        GenerateOptions {
            subscriptions: 4,
            vms_per_subscription: 10,
            scale_sets: 2,
            instances_per_scale_set: 4,
            seed,
            mix,
        }
    }

    fn find(key: &AnswerKey, f: impl Fn(&KeyInstance) -> bool) -> &KeyInstance {
        key.instances
            .iter()
            .find(|i| f(i))
            .expect("such an instance")
    }

    #[test]
    fn conditions_map_to_checks_and_verdicts() {
        let mix = Mix {
            power_deallocated: 0.2,
            power_transitioning: 0.2,
            power_absent: 0.2,
            custom_storage: 1.0,
            storage_min_tls_old: 0.3,
            ..Mix::none()
        };
        let (_, key) = generate_with_key(&opts(3, mix));
        let has = |i: &KeyInstance, c: &str| i.conditions.iter().any(|x| x == c);
        let off = find(&key, |i| {
            has(i, "power_deallocated") && !has(i, "storage_min_tls_old")
        });
        assert_eq!(
            (off.verdict.as_str(), off.blockers.as_slice()),
            ("blocked", &["vm-not-running".to_string()][..])
        );
        let moving = find(&key, |i| {
            has(i, "power_transitioning") && !has(i, "storage_min_tls_old")
        });
        assert_eq!(moving.verdict, "ready_with_warnings");
        assert_eq!(moving.warnings, ["vm-not-running"]);
        let silent = find(&key, |i| {
            has(i, "power_absent") && !has(i, "storage_min_tls_old")
        });
        assert_eq!(silent.verdict, "unknown");
        assert_eq!(silent.unknowns, ["vm-not-running"]);
        let old_tls = find(&key, |i| {
            i.conditions == ["custom_storage", "storage_min_tls_old"]
        });
        assert_eq!(old_tls.verdict, "ready_with_warnings");
        assert_eq!(old_tls.warnings, ["storage-min-tls"]);
        assert_eq!(key.summary.values().sum::<usize>(), key.instances.len());
    }

    #[test]
    fn outages_make_what_depends_on_them_unknown_and_hide_scale_set_instances() {
        let mix = Mix {
            custom_storage: 1.0,
            storage_cross_subscription: 0.0,
            readonly_lock: 0.0,
            flexible_scale_set: 0.0,
            ..Mix::none()
        };
        let (_, key) = generate_with_key(&opts(5, mix));
        let sub = key.subscriptions[2].id.clone();
        let set = key
            .instances
            .iter()
            .find(|i| i.subscription_id == sub && i.kind == "vmss_instance")
            .and_then(|i| i.scale_set.clone())
            .unwrap();
        let down = key.under(vec![
            Outage::new(&sub, Listing::StorageAccounts),
            Outage::new(&sub, Listing::ManagementLocks),
            Outage::new(&sub, Listing::ConsoleStatus),
            Outage::new(&sub, Listing::VmStatus),
            Outage::new(&sub, Listing::RoleAssignments),
            Outage::scale_set_vms(&sub, &set),
        ]);
        for i in &down.instances {
            if i.subscription_id != sub {
                assert_eq!(i.verdict, "ready", "{i:?}");
                continue;
            }
            if i.scale_set.as_deref() == Some(set.as_str()) {
                assert_eq!(i.verdict, "not_listed");
                assert!(i.not_listed.is_some());
                continue;
            }
            assert_eq!(i.verdict, "unknown", "{i:?}");
            for check in [
                "subscription-console-disabled",
                "storage-account-not-found",
                "storage-hns-enabled",
                "resource-lock-readonly",
            ] {
                assert!(i.unknowns.iter().any(|u| u == check), "{check}: {i:?}");
            }
            let status_listed = i.kind == "vmss_instance";
            assert_eq!(
                i.unknowns.iter().any(|u| u == "vm-not-running"),
                !status_listed,
                "{i:?}"
            );
            for a in i.access.values() {
                assert_eq!(a.verdict, "unknown");
                assert_eq!(a.unknowns, ["rbac-vm-access", "rbac-storage-access"]);
            }
            let audited = i.when_auditing(&[key.principals[0].id.clone()]);
            assert!(audited.unknowns.contains(&"rbac-vm-access".to_string()));
        }
        assert!(down.summary["not_listed"] > 0);
        // The key without outages comes back from the one with them.
        assert_eq!(down.under(Vec::new()), key);
    }

    #[test]
    fn fault_rules_name_the_listing_and_subscription() {
        let rule = Outage::new("s1", Listing::VmStatus).fault_rule();
        assert_eq!(rule.path.as_deref(), Some("statusOnly=true"));
        assert_eq!(rule.subscription.as_deref(), Some("s1"));
        assert_eq!(rule.fault, FaultKind::Forbidden);
        let rule = Outage::scale_set_vms("s1", "vmss-web-prod-01")
            .with_status(503)
            .fault_rule();
        assert_eq!(
            rule.path.as_deref(),
            Some("/virtualMachineScaleSets/vmss-web-prod-01/virtualMachines")
        );
        assert!(matches!(rule.fault, FaultKind::Status { status: 503, .. }));
    }

    #[test]
    fn the_key_file_round_trips_and_names_its_place() {
        let (_, key) = generate_with_key(&opts(9, Mix::default()));
        let back = AnswerKey::parse(&key.to_json(), "k.json").unwrap();
        assert_eq!(back, key);
        let mut other = key.clone();
        other.schema_version = 99;
        assert!(AnswerKey::parse(&other.to_json(), "k.json").is_err());
        assert_eq!(
            AnswerKey::path_beside(std::path::Path::new("out/fleet.json")),
            std::path::PathBuf::from("out/fleet.answer-key.json")
        );
    }
}
