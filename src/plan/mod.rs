//! `scready plan`: the rollout plan. The blocking findings of a scan are grouped by the change
//! that fixes them (enable the console on a subscription; change one storage account; move VMs
//! off a storage account that cannot be fixed to managed boot diagnostics; enable boot
//! diagnostics on a VM, or on a Uniform scale set with its instances upgraded; one role
//! assignment per audited principal at the fewest scopes that cover what it is denied; start a
//! stopped VM when the policy allows it), the changes are ordered by the instances each makes
//! ready, and the readiness after each step is *computed*: the change is applied to a copy of
//! the inventory ([`whatif`]) and the real checks run again on the instances it touched.
//!
//! **Role assignments.** Per audited principal, the resources it is denied (a VM, a Uniform
//! instance's scale set, a custom boot-diagnostics storage account) are covered greedily: the
//! scope (subscription, resource group or resource, no wider than `--widest-scope`) that covers
//! the most uncovered resources is taken first; on a tie the narrower scope wins, then the
//! lower scope id. So one resource denied in a resource group is granted at the resource, two
//! or more in one resource group at the group, and resources in several groups of a
//! subscription at the subscription. A resource denied by a deny assignment is not a target: no
//! role assignment changes a deny.

pub mod render;
pub mod whatif;

use crate::checks::{self, Evaluation};
use crate::findings::{FindingStatus, InstanceVerdict, Verdict};
use crate::inventory::{Instance, InstanceKind, Inventory};
use crate::policy::Policy;
use crate::rbac::normalize_scope;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

/// Version of `plan.json`.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// How wide a role assignment the plan may propose.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeLevel {
    /// The resource itself (a VM, a scale set, a storage account).
    Resource,
    /// Its resource group.
    ResourceGroup,
    /// Its subscription.
    #[default]
    Subscription,
}

impl ScopeLevel {
    /// The spelling in plans.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeLevel::Resource => "resource",
            ScopeLevel::ResourceGroup => "resource-group",
            ScopeLevel::Subscription => "subscription",
        }
    }
}

/// How to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// The widest scope of a role assignment.
    pub widest_scope: ScopeLevel,
    /// Today (`YYYY-MM-DD`), for waivers.
    pub today: String,
}

/// A VM or scale-set instance a change names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRef {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// `vm`, `vmss_instance` or `vmss_flex_vm`.
    pub kind: String,
    /// Scale set name (Uniform instances and Flexible members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// Uniform instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

impl VmRef {
    fn of(i: &Instance) -> VmRef {
        VmRef {
            id: i.id.to_string(),
            name: i.name.clone(),
            subscription_id: i.subscription_id.clone(),
            resource_group: i.resource_group.clone(),
            kind: i.kind.as_str().into(),
            scale_set: i.scale_set.clone(),
            instance_id: i.instance_id.clone(),
        }
    }
}

/// Storage account properties a change sets (absent: left as they are).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageSettings {
    /// `allowSharedKeyAccess`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_shared_key_access: Option<bool>,
    /// `networkAcls.defaultAction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_default_action: Option<String>,
    /// `minimumTlsVersion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_tls_version: Option<String>,
}

/// One change to Azure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// Enable Serial Console on a subscription (`consoleServices/default`).
    EnableConsole {
        /// Subscription id.
        subscription_id: String,
        /// Its display name.
        subscription_name: String,
    },
    /// Set properties of one storage account.
    StorageAccount {
        /// Account resource id.
        account_id: String,
        /// Account name.
        name: String,
        /// Its subscription.
        subscription_id: String,
        /// Its resource group.
        resource_group: String,
        /// What to set.
        set: StorageSettings,
    },
    /// Move the boot diagnostics of VMs off a storage account that cannot serve them (its
    /// hierarchical namespace cannot be turned off, its URI is `http://`, its region differs)
    /// to managed storage.
    ManagedBootDiagnostics {
        /// The blob host the VMs use now.
        storage_host: String,
        /// The account's resource id, when it is in a visible subscription.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<String>,
        /// The VMs (standalone or Flexible members).
        vms: Vec<VmRef>,
    },
    /// Enable boot diagnostics (managed storage) on one VM or Flexible scale-set member.
    EnableBootDiagnostics {
        /// The VM.
        vm: VmRef,
    },
    /// Enable boot diagnostics (managed storage) in a Uniform scale set's model and upgrade
    /// every instance to it.
    ScaleSetBootDiagnostics {
        /// Scale set id.
        scale_set_id: String,
        /// Name.
        name: String,
        /// Subscription.
        subscription_id: String,
        /// Resource group.
        resource_group: String,
    },
    /// Assign [`whatif::ROLE_NAME`] to an audited principal at a scope.
    RoleAssignment {
        /// Principal object id.
        principal_id: String,
        /// Its label.
        principal_label: String,
        /// Role name.
        role: String,
        /// Role definition GUID.
        role_definition_id: String,
        /// Scope (a subscription, resource group or resource id).
        scope: String,
        /// `subscription`, `resource-group` or `resource`.
        scope_level: ScopeLevel,
        /// The scope's subscription.
        subscription_id: String,
    },
    /// Start a stopped or deallocated VM (only when the policy's `[plan] start_stopped_vms`).
    StartVm {
        /// The VM or Uniform instance.
        vm: VmRef,
    },
}

impl Change {
    /// A short kind label.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::EnableConsole { .. } => "enable-console",
            Change::StorageAccount { .. } => "storage-account",
            Change::ManagedBootDiagnostics { .. } => "managed-boot-diagnostics",
            Change::EnableBootDiagnostics { .. } => "enable-boot-diagnostics",
            Change::ScaleSetBootDiagnostics { .. } => "scale-set-boot-diagnostics",
            Change::RoleAssignment { .. } => "role-assignment",
            Change::StartVm { .. } => "start-vm",
        }
    }

    /// A stable key for ordering ties.
    fn key(&self) -> String {
        match self {
            Change::EnableConsole {
                subscription_id, ..
            } => subscription_id.clone(),
            Change::StorageAccount { account_id, .. } => account_id.to_ascii_lowercase(),
            Change::ManagedBootDiagnostics { storage_host, .. } => storage_host.clone(),
            Change::EnableBootDiagnostics { vm } | Change::StartVm { vm } => {
                vm.id.to_ascii_lowercase()
            }
            Change::ScaleSetBootDiagnostics { scale_set_id, .. } => {
                scale_set_id.to_ascii_lowercase()
            }
            Change::RoleAssignment {
                principal_id,
                scope,
                ..
            } => format!("{principal_id} {}", scope.to_ascii_lowercase()),
        }
    }

    /// Rank of the kind for ordering ties: changes that touch more at once first.
    fn rank(&self) -> u8 {
        match self {
            Change::EnableConsole { .. } => 0,
            Change::RoleAssignment { .. } => 1,
            Change::StorageAccount { .. } => 2,
            Change::ManagedBootDiagnostics { .. } => 3,
            Change::ScaleSetBootDiagnostics { .. } => 4,
            Change::EnableBootDiagnostics { .. } => 5,
            Change::StartVm { .. } => 6,
        }
    }
}

/// Why a step is needed: one failing check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// Check id.
    pub check_id: String,
    /// The error the portal shows.
    pub portal_error: String,
    /// Instances of the step failing it.
    pub instances: usize,
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based.
    pub number: usize,
    /// What it changes.
    pub title: String,
    /// The change.
    pub change: Change,
    /// The failing checks it fixes.
    pub why: Vec<Reason>,
    /// Instances with a blocking finding this change fixes (resource ids).
    pub targets: Vec<String>,
    /// Instances that are ready after this step and were not before it.
    pub unblocks: Vec<String>,
    /// Instances that were ready before this step and are not after it (none expected).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newly_not_ready: Vec<String>,
    /// Ready instances (ready or ready with warnings) after this step.
    pub ready_after: usize,
    /// The same, in percent of all instances.
    pub percent_after: f64,
    /// The `az` commands of the step (POSIX shell; a `# withheld: …` line where a value
    /// Azure would not allow was refused).
    pub commands: Vec<String>,
}

/// An instance the plan leaves not ready, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remaining {
    /// Resource id.
    pub resource_id: String,
    /// Name.
    pub name: String,
    /// Subscription.
    pub subscription_id: String,
    /// `blocked` or `unknown` after every step.
    pub verdict: String,
    /// Checks still failing (blocked) or undecided (unknown).
    pub checks: Vec<String>,
    /// Their messages.
    pub reasons: Vec<String>,
}

/// Where the plan came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSource {
    /// The report or inventory read.
    pub input: String,
    /// When its scan started.
    pub scanned_at: String,
    /// The policy files applied by the plan.
    pub policy_sources: Vec<String>,
    /// The policy files the scan recorded, when the input says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_policy_sources: Option<Vec<String>>,
    /// Set when the two differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_note: Option<String>,
}

/// The plan's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSettings {
    /// Whether stopped VMs are started (policy `[plan] start_stopped_vms`).
    pub start_stopped_vms: bool,
    /// The widest role assignment scope.
    pub widest_scope: ScopeLevel,
    /// The role assigned.
    pub role: String,
}

/// A count per check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckCount {
    /// Check id.
    pub check_id: String,
    /// Instances.
    pub instances: usize,
}

/// The rollout plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When it was computed (RFC 3339).
    pub generated_at: String,
    /// Its input.
    pub source: PlanSource,
    /// Its settings.
    pub settings: PlanSettings,
    /// Instances in the scan.
    pub instances: usize,
    /// Ready instances before any step.
    pub ready_before: usize,
    /// Ready instances after every step.
    pub ready_after: usize,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Instances still not ready after every step, by check.
    pub remaining_by_check: Vec<CheckCount>,
    /// Instances still not ready after every step.
    pub remaining: Vec<Remaining>,
}

/// What the dashboard and the summary show of a plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanHeadline {
    /// Number of changes.
    pub changes: usize,
    /// Instances.
    pub instances: usize,
    /// Ready before.
    pub ready_before: usize,
    /// Ready after every change.
    pub ready_after: usize,
    /// The plan for people, relative to the report (`plan.md`).
    pub file: String,
}

impl PlanHeadline {
    /// "N changes make X% ready (from Y%)".
    pub fn text(&self) -> String {
        format!(
            "{} change{} make{} {} ready (from {})",
            self.changes,
            if self.changes == 1 { "" } else { "s" },
            if self.changes == 1 { "s" } else { "" },
            render::percent_text(self.ready_after, self.instances),
            render::percent_text(self.ready_before, self.instances),
        )
    }
}

impl Plan {
    /// The headline.
    pub fn headline(&self) -> PlanHeadline {
        PlanHeadline {
            changes: self.steps.len(),
            instances: self.instances,
            ready_before: self.ready_before,
            ready_after: self.ready_after,
            file: "plan.md".into(),
        }
    }
}

fn is_ready(v: Verdict) -> bool {
    matches!(v, Verdict::Ready | Verdict::ReadyWithWarnings)
}

/// The checks a change to a boot-diagnostics account that cannot be fixed in place answers by
/// moving the VM to managed storage (HNS cannot be turned off; an `http://` URI and a region
/// are properties of the VM's setting, not of the account).
const MOVE_CHECKS: &[&str] = &[
    "storage-hns-enabled",
    "storage-uri-not-https",
    "storage-region-mismatch",
];

/// Account properties the plan sets, by the check that fails on them.
const ACCOUNT_CHECKS: &[&str] = &[
    "storage-shared-key-disabled",
    "storage-firewall",
    "storage-min-tls",
];

/// A candidate step while planning.
struct Candidate {
    change: Change,
    /// Instances it addresses.
    targets: BTreeSet<usize>,
    /// Check id → instances failing it that this change fixes.
    why: BTreeMap<String, BTreeSet<usize>>,
}

/// Collects candidates by key.
#[derive(Default)]
struct Candidates {
    list: Vec<Candidate>,
    by_key: HashMap<(u8, String), usize>,
}

impl Candidates {
    fn add(&mut self, change: Change, instance: usize, check: &str) -> usize {
        let key = (change.rank(), change.key());
        let n = *self.by_key.entry(key).or_insert_with(|| {
            self.list.push(Candidate {
                change,
                targets: BTreeSet::new(),
                why: BTreeMap::new(),
            });
            self.list.len() - 1
        });
        self.list[n].targets.insert(instance);
        self.list[n]
            .why
            .entry(check.to_string())
            .or_default()
            .insert(instance);
        n
    }
}

/// A resource an audited principal is denied, as a role-assignment target.
struct Denied {
    /// Normalised resource scope.
    scope: String,
    /// As displayed (ARM's spelling).
    display: String,
    /// Subscription id as the inventory spells it.
    subscription: String,
    /// Resource group as ARM spells it.
    resource_group: String,
    /// (instance, check) pairs it blocks.
    blocks: Vec<(usize, &'static str)>,
}

/// The resource group segment of a resource id.
fn resource_group_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    (segs.len() >= 4 && segs[2].eq_ignore_ascii_case("resourcegroups")).then(|| segs[3].to_string())
}

/// Builds the plan for an inventory: evaluates it, groups the blocking findings by change,
/// orders the changes and projects the readiness after each.
pub fn build(mut inventory: Inventory, policy: &Policy, options: &PlanOptions) -> Plan {
    inventory.bound_text();
    let today = options.today.as_str();
    let base = checks::evaluate(&inventory, policy, today);
    let n = inventory.instances.len();
    let ready_before = base.verdicts.iter().filter(|v| is_ready(v.verdict)).count();
    let start = policy.plan.start_stopped_vms;
    let ctx = checks::Context::new(&inventory, policy);

    // Access failures per (instance, principal).
    let mut access_fail: HashMap<usize, Vec<(usize, &'static str, bool)>> = HashMap::new();
    {
        let by_id: HashMap<&str, usize> = inventory
            .instances
            .iter()
            .enumerate()
            .map(|(k, i)| (i.id.as_str(), k))
            .collect();
        let principals: HashMap<&str, usize> = inventory
            .principals
            .iter()
            .enumerate()
            .map(|(k, p)| (p.object_id.as_str(), k))
            .collect();
        for a in &base.access {
            let (Some(&k), Some(&p)) = (
                by_id.get(a.resource_id.as_str()),
                principals.get(a.principal_id.as_str()),
            ) else {
                continue;
            };
            for c in &a.checks {
                if c.status != FindingStatus::Fail {
                    continue;
                }
                let check: &'static str = match c.check_id.as_str() {
                    "rbac-vm-access" => "rbac-vm-access",
                    "rbac-storage-access" => "rbac-storage-access",
                    _ => continue,
                };
                let by_deny = c.message.contains(checks::access::DENIED_BY);
                access_fail.entry(k).or_default().push((p, check, by_deny));
            }
        }
    }

    let mut cands = Candidates::default();
    // Per instance: the candidates it needs, and whether every blocker is addressed.
    let mut needs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut fixable = vec![false; n];
    // Per principal: denied resources by normalised scope.
    let mut denied: Vec<BTreeMap<String, Denied>> = (0..inventory.principals.len())
        .map(|_| BTreeMap::new())
        .collect();
    for (k, (i, v)) in inventory.instances.iter().zip(&base.verdicts).enumerate() {
        if v.verdict != Verdict::Blocked {
            continue;
        }
        let blockers: Vec<&str> = v.blockers.iter().map(|b| b.as_str()).collect();
        let uniform = i.kind == InstanceKind::VmssInstance;
        let host = checks::storage::custom_host(i);
        let moves_to_managed = blockers.iter().any(|b| MOVE_CHECKS.contains(b))
            || (uniform
                && blockers
                    .iter()
                    .any(|b| *b == "boot-diagnostics-disabled" || *b == "vmss-instance-outdated"));
        let mut all_addressed = true;
        let mut mine: Vec<usize> = Vec::new();
        let scale_set = |check: &str, cands: &mut Candidates| {
            let id = whatif::scale_set_of(&i.id);
            cands.add(
                Change::ScaleSetBootDiagnostics {
                    name: i.scale_set.clone().unwrap_or_default(),
                    subscription_id: i.subscription_id.clone(),
                    resource_group: i.resource_group.clone(),
                    scale_set_id: id,
                },
                k,
                check,
            )
        };
        for b in &blockers {
            match *b {
                "subscription-console-disabled" => {
                    let sub = ctx.subscriptions.get(i.subscription_id.as_str());
                    if sub.is_some_and(|s| s.console_disabled == Some(true)) {
                        mine.push(cands.add(
                            Change::EnableConsole {
                                subscription_id: i.subscription_id.clone(),
                                subscription_name: sub.map(|s| s.name.clone()).unwrap_or_default(),
                            },
                            k,
                            b,
                        ));
                    } else {
                        all_addressed = false;
                    }
                }
                "boot-diagnostics-disabled" | "vmss-instance-outdated" => {
                    if uniform {
                        mine.push(scale_set(b, &mut cands));
                    } else if *b == "boot-diagnostics-disabled" {
                        mine.push(cands.add(
                            Change::EnableBootDiagnostics { vm: VmRef::of(i) },
                            k,
                            b,
                        ));
                    } else {
                        all_addressed = false;
                    }
                }
                c if MOVE_CHECKS.contains(&c) => {
                    if uniform {
                        mine.push(scale_set(b, &mut cands));
                    } else if let Some(h) = &host {
                        let account_id = match checks::storage::resolve(i, &ctx) {
                            checks::storage::StorageRef::Found(sa) => Some(sa.id.clone()),
                            _ => None,
                        };
                        let n = cands.add(
                            Change::ManagedBootDiagnostics {
                                storage_host: h.clone(),
                                account_id,
                                vms: Vec::new(),
                            },
                            k,
                            b,
                        );
                        if let Change::ManagedBootDiagnostics { vms, .. } =
                            &mut cands.list[n].change
                        {
                            if !vms.iter().any(|v| v.id == i.id.as_str()) {
                                vms.push(VmRef::of(i));
                            }
                        }
                        mine.push(n);
                    } else {
                        all_addressed = false;
                    }
                }
                c if ACCOUNT_CHECKS.contains(&c) => {
                    if moves_to_managed {
                        continue;
                    }
                    let checks::storage::StorageRef::Found(sa) = checks::storage::resolve(i, &ctx)
                    else {
                        all_addressed = false;
                        continue;
                    };
                    let mut set = StorageSettings::default();
                    match c {
                        "storage-shared-key-disabled" => set.allow_shared_key_access = Some(true),
                        "storage-firewall" => set.network_default_action = Some("Allow".into()),
                        _ => set.minimum_tls_version = Some("TLS1_2".into()),
                    }
                    let n = cands.add(
                        Change::StorageAccount {
                            account_id: sa.id.clone(),
                            name: sa.name.clone(),
                            subscription_id: sa.subscription_id.clone(),
                            resource_group: sa.resource_group.clone(),
                            set: StorageSettings::default(),
                        },
                        k,
                        b,
                    );
                    if let Change::StorageAccount { set: have, .. } = &mut cands.list[n].change {
                        have.allow_shared_key_access =
                            have.allow_shared_key_access.or(set.allow_shared_key_access);
                        have.network_default_action = have
                            .network_default_action
                            .take()
                            .or(set.network_default_action);
                        have.minimum_tls_version =
                            have.minimum_tls_version.take().or(set.minimum_tls_version);
                    }
                    mine.push(n);
                }
                "vm-not-running" => {
                    let stopped =
                        matches!(i.power_state.as_deref(), Some("stopped" | "deallocated"));
                    if start && stopped && i.status_not_read.is_none() {
                        mine.push(cands.add(Change::StartVm { vm: VmRef::of(i) }, k, b));
                    } else {
                        all_addressed = false;
                    }
                }
                "rbac-vm-access" | "rbac-storage-access" => {
                    let fails = access_fail.get(&k).map(Vec::as_slice).unwrap_or(&[]);
                    let mine_fails: Vec<_> = fails.iter().filter(|(_, c, _)| c == b).collect();
                    if mine_fails.is_empty() {
                        all_addressed = false;
                    }
                    for &&(p, check, by_deny) in &mine_fails {
                        if check == "rbac-storage-access" && moves_to_managed {
                            continue;
                        }
                        if by_deny {
                            all_addressed = false;
                            continue;
                        }
                        let target = if check == "rbac-vm-access" {
                            let id = if uniform {
                                whatif::scale_set_of(&i.id)
                            } else {
                                i.id.to_string()
                            };
                            Some((id, i.subscription_id.clone(), i.resource_group.clone()))
                        } else {
                            match checks::storage::resolve(i, &ctx) {
                                checks::storage::StorageRef::Found(sa) => Some((
                                    sa.id.clone(),
                                    sa.subscription_id.clone(),
                                    sa.resource_group.clone(),
                                )),
                                _ => None,
                            }
                        };
                        let Some((display, subscription, resource_group)) = target else {
                            all_addressed = false;
                            continue;
                        };
                        let scope = normalize_scope(&display);
                        denied[p]
                            .entry(scope.clone())
                            .or_insert_with(|| Denied {
                                scope,
                                display,
                                subscription,
                                resource_group,
                                blocks: Vec::new(),
                            })
                            .blocks
                            .push((k, check));
                    }
                }
                _ => all_addressed = false,
            }
        }
        mine.sort_unstable();
        mine.dedup();
        needs[k] = mine;
        fixable[k] = all_addressed;
    }

    // Role assignments: a greedy cover per principal.
    for (p, targets) in denied.into_iter().enumerate() {
        let principal = &inventory.principals[p];
        for (scope_display, level, subscription, covered) in cover(targets, options.widest_scope) {
            let change = Change::RoleAssignment {
                principal_id: principal.object_id.clone(),
                principal_label: principal.label.clone(),
                role: whatif::ROLE_NAME.into(),
                role_definition_id: whatif::ROLE_ID.into(),
                scope: scope_display,
                scope_level: level,
                subscription_id: subscription,
            };
            for (k, check) in covered {
                let c = cands.add(change.clone(), k, check);
                if !needs[k].contains(&c) {
                    needs[k].push(c);
                }
            }
        }
    }

    let order = order(&cands.list, &needs, &fixable);

    // Projection: each change applied in turn to a copy of the inventory, the real checks run
    // again on the instances it touched.
    let index = whatif::Index::new(&inventory);
    drop(ctx);
    let mut working = inventory.clone();
    let mut verdicts: Vec<Verdict> = base.verdicts.iter().map(|v| v.verdict).collect();
    let mut blockers: Vec<Vec<crate::findings::Text>> =
        base.verdicts.iter().map(|v| v.blockers.clone()).collect();
    drop(base);
    let mut ready = ready_before;
    let mut steps = Vec::with_capacity(order.len());
    for &c in &order {
        let cand = &cands.list[c];
        // A change whose every target no longer fails what it fixes (an earlier step fixed it:
        // a group's assignment also serves its members) is left out.
        let still_needed = cand.targets.iter().any(|&k| {
            blockers[k]
                .iter()
                .any(|b| cand.why.contains_key(b.as_str()))
        });
        if !still_needed {
            continue;
        }
        let number = steps.len();
        let affected = whatif::apply(&mut working, &index, &cand.change);
        let eval = evaluate_subset(&mut working, &affected, policy, today);
        let mut unblocks = Vec::new();
        let mut newly_not_ready = Vec::new();
        for (&k, v) in affected.iter().zip(&eval.verdicts) {
            let (was, now) = (is_ready(verdicts[k]), is_ready(v.verdict));
            if !was && now {
                ready += 1;
                unblocks.push(inventory.instances[k].id.to_string());
            } else if was && !now {
                ready -= 1;
                newly_not_ready.push(inventory.instances[k].id.to_string());
            }
            verdicts[k] = v.verdict;
            blockers[k] = v.blockers.clone();
        }
        let why = cand
            .why
            .iter()
            .map(|(check, set)| Reason {
                check_id: check.clone(),
                portal_error: policy
                    .checks
                    .get(check)
                    .map(|c| c.portal_error.clone())
                    .unwrap_or_default(),
                instances: set.len(),
            })
            .collect();
        steps.push(Step {
            number: number + 1,
            title: render::title(&cand.change, &inventory),
            commands: render::commands(&cand.change),
            change: cand.change.clone(),
            why,
            targets: cand
                .targets
                .iter()
                .map(|&k| inventory.instances[k].id.to_string())
                .collect(),
            unblocks,
            newly_not_ready,
            ready_after: ready,
            percent_after: render::percent(ready, n),
        });
    }

    // What is left, with the reasons the checks give after every change.
    let left: Vec<usize> = (0..n).filter(|&k| !is_ready(verdicts[k])).collect();
    let eval = evaluate_subset(&mut working, &left, policy, today);
    let (remaining, remaining_by_check) = remaining(&working, &left, &eval);
    Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        generated_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        source: PlanSource {
            scanned_at: inventory.scanned_at.clone(),
            policy_sources: policy.sources.clone(),
            ..Default::default()
        },
        settings: PlanSettings {
            start_stopped_vms: start,
            widest_scope: options.widest_scope,
            role: whatif::ROLE_NAME.into(),
        },
        instances: n,
        ready_before,
        ready_after: ready,
        steps,
        remaining_by_check,
        remaining,
    }
}

/// Evaluates the instances `subset` (indices, ascending) of an inventory with the real checks;
/// the verdicts come in the order of `subset`.
pub fn evaluate_subset(
    inventory: &mut Inventory,
    subset: &[usize],
    policy: &Policy,
    today: &str,
) -> Evaluation {
    let all = std::mem::take(&mut inventory.instances);
    inventory.instances = subset.iter().map(|&k| all[k].clone()).collect();
    // Only the subset's subscriptions: the others' findings would apply to none of its
    // instances (a subscription's findings cover its own instances only).
    let wanted: std::collections::HashSet<&str> = inventory
        .instances
        .iter()
        .map(|i| i.subscription_id.as_str())
        .collect();
    let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut inventory.subscriptions)
        .into_iter()
        .partition(|s| wanted.contains(s.id.as_str()));
    inventory.subscriptions = mine;
    let eval = checks::evaluate(inventory, policy, today);
    inventory.instances = all;
    inventory.subscriptions.extend(others);
    eval
}

/// The not-ready instances with the checks that keep them so.
fn remaining(
    inventory: &Inventory,
    left: &[usize],
    eval: &Evaluation,
) -> (Vec<Remaining>, Vec<CheckCount>) {
    let mut messages: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for f in &eval.findings {
        if matches!(f.status, FindingStatus::Fail | FindingStatus::Unknown) {
            messages
                .entry((f.resource_id.as_str(), f.check_id.as_str()))
                .or_default()
                .push(f.message.as_str());
        }
    }
    let mut by_check: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(left.len());
    for (&k, v) in left.iter().zip(&eval.verdicts) {
        let i = &inventory.instances[k];
        let checks = checks_of(v);
        for c in &checks {
            *by_check.entry(c.clone()).or_default() += 1;
        }
        let sub_id = format!("/subscriptions/{}", i.subscription_id);
        let mut reasons = Vec::new();
        for c in &checks {
            let found = messages
                .get(&(i.id.as_str(), c.as_str()))
                .or_else(|| messages.get(&(sub_id.as_str(), c.as_str())))
                .or_else(|| messages.get(&("environment", c.as_str())));
            match found {
                Some(ms) => {
                    let mut ms: Vec<&str> = ms.clone();
                    ms.dedup();
                    reasons.push(format!("{c}: {}", ms.join("; ")));
                }
                None => reasons.push(c.clone()),
            }
        }
        out.push(Remaining {
            resource_id: i.id.to_string(),
            name: i.name.clone(),
            subscription_id: i.subscription_id.clone(),
            verdict: v.verdict.as_str().into(),
            checks,
            reasons,
        });
    }
    let mut by_check: Vec<CheckCount> = by_check
        .into_iter()
        .map(|(check_id, instances)| CheckCount {
            check_id,
            instances,
        })
        .collect();
    by_check.sort_by(|a, b| {
        b.instances
            .cmp(&a.instances)
            .then(a.check_id.cmp(&b.check_id))
    });
    (out, by_check)
}

/// The checks that keep an instance from ready: its blockers, else its undecided checks.
fn checks_of(v: &InstanceVerdict) -> Vec<String> {
    if v.verdict == Verdict::Blocked {
        v.blockers.iter().map(|c| c.to_string()).collect()
    } else {
        v.unknowns.iter().map(|c| c.to_string()).collect()
    }
}

/// The greedy cover of one principal's denied resources (see the module documentation): the
/// chosen scopes, each with its display id, level, subscription and the (instance, check)
/// pairs it fixes.
#[allow(clippy::type_complexity)]
fn cover(
    targets: BTreeMap<String, Denied>,
    widest: ScopeLevel,
) -> Vec<(String, ScopeLevel, String, Vec<(usize, &'static str)>)> {
    let targets: Vec<Denied> = targets.into_values().collect();
    // Candidate scopes: (level, normalised scope) → (display, subscription, targets).
    let mut scopes: BTreeMap<(ScopeLevel, String), (String, String, Vec<usize>)> = BTreeMap::new();
    for (t, d) in targets.iter().enumerate() {
        let sub_display = format!("/subscriptions/{}", d.subscription);
        let rg_display = format!("{sub_display}/resourceGroups/{}", d.resource_group);
        let rg_same = resource_group_of(&d.display)
            .is_some_and(|rg| rg.eq_ignore_ascii_case(&d.resource_group));
        let mut levels = vec![(ScopeLevel::Resource, d.scope.clone(), d.display.clone())];
        if widest >= ScopeLevel::ResourceGroup && rg_same {
            levels.push((
                ScopeLevel::ResourceGroup,
                normalize_scope(&rg_display),
                rg_display,
            ));
        }
        if widest >= ScopeLevel::Subscription {
            levels.push((
                ScopeLevel::Subscription,
                normalize_scope(&sub_display),
                sub_display,
            ));
        }
        for (level, norm, display) in levels {
            scopes
                .entry((level, norm))
                .or_insert_with(|| (display, d.subscription.clone(), Vec::new()))
                .2
                .push(t);
        }
    }
    // Lazy greedy: gains only fall as targets get covered, so a popped entry whose gain is
    // stale is pushed back with its current gain. The heap's maximum is the most uncovered
    // targets, then the narrower level, then the lower scope id.
    let keys: Vec<(ScopeLevel, String)> = scopes.keys().cloned().collect();
    let members: Vec<&Vec<usize>> = scopes.values().map(|(_, _, ts)| ts).collect();
    let mut of_target: Vec<Vec<usize>> = vec![Vec::new(); targets.len()];
    for (c, ts) in members.iter().enumerate() {
        for &t in ts.iter() {
            of_target[t].push(c);
        }
    }
    let mut gain: Vec<usize> = members.iter().map(|ts| ts.len()).collect();
    type Entry = (
        usize,
        std::cmp::Reverse<ScopeLevel>,
        std::cmp::Reverse<usize>,
    );
    let mut heap: BinaryHeap<Entry> = (0..keys.len())
        .map(|c| (gain[c], std::cmp::Reverse(keys[c].0), std::cmp::Reverse(c)))
        .collect();
    let mut covered = vec![false; targets.len()];
    let mut out = Vec::new();
    while let Some((g, _, std::cmp::Reverse(c))) = heap.pop() {
        if g == 0 {
            break;
        }
        if g != gain[c] {
            heap.push((gain[c], std::cmp::Reverse(keys[c].0), std::cmp::Reverse(c)));
            continue;
        }
        let (display, subscription, ts) = &scopes[&keys[c]];
        let mut fixes = Vec::new();
        for &t in ts {
            if !covered[t] {
                covered[t] = true;
                for &other in &of_target[t] {
                    gain[other] -= 1;
                }
                fixes.extend(targets[t].blocks.iter().copied());
            }
        }
        out.push((display.clone(), keys[c].0, subscription.clone(), fixes));
    }
    out
}

/// The order of the candidates: repeatedly the one that completes the most instances (every
/// change they need applied), then the one that addresses the most, then by kind and key.
fn order(cands: &[Candidate], needs: &[Vec<usize>], fixable: &[bool]) -> Vec<usize> {
    let mut remaining: Vec<usize> = needs.iter().map(Vec::len).collect();
    let mut completes = vec![0usize; cands.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); cands.len()];
    for (k, ns) in needs.iter().enumerate() {
        for &c in ns {
            users[c].push(k);
        }
        if fixable[k] && ns.len() == 1 {
            completes[ns[0]] += 1;
        }
    }
    // (completes, targets, reverse rank, reverse key): the heap's maximum is the next step.
    type Key = (
        usize,
        usize,
        std::cmp::Reverse<u8>,
        std::cmp::Reverse<String>,
        usize,
    );
    let key = |c: usize, completes: &[usize]| -> Key {
        (
            completes[c],
            cands[c].targets.len(),
            std::cmp::Reverse(cands[c].change.rank()),
            std::cmp::Reverse(cands[c].change.key()),
            c,
        )
    };
    let mut heap: BinaryHeap<Key> = (0..cands.len()).map(|c| key(c, &completes)).collect();
    let mut done = vec![false; cands.len()];
    let mut out = Vec::with_capacity(cands.len());
    while let Some(top) = heap.pop() {
        let c = top.4;
        if done[c] || top.0 != completes[c] {
            continue;
        }
        done[c] = true;
        out.push(c);
        for &k in &users[c] {
            remaining[k] -= 1;
            if fixable[k] && remaining[k] == 1 {
                if let Some(&last) = needs[k].iter().find(|&&x| !done[x]) {
                    completes[last] += 1;
                    heap.push(key(last, &completes));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(sub: &str, rg: &str, name: &str, instance: usize) -> (String, Denied) {
        let display = format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
        );
        let scope = normalize_scope(&display);
        (
            scope.clone(),
            Denied {
                scope,
                display,
                subscription: sub.into(),
                resource_group: rg.into(),
                blocks: vec![(instance, "rbac-vm-access")],
            },
        )
    }

    fn scopes(
        targets: Vec<(String, Denied)>,
        widest: ScopeLevel,
    ) -> Vec<(ScopeLevel, String, usize)> {
        cover(targets.into_iter().collect(), widest)
            .into_iter()
            .map(|(display, level, _, fixes)| (level, display, fixes.len()))
            .collect()
    }

    #[test]
    fn one_denied_resource_is_granted_at_the_resource() {
        let got = scopes(
            vec![denied("s1", "rg-a", "vm1", 0)],
            ScopeLevel::Subscription,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, ScopeLevel::Resource);
        assert!(got[0].1.ends_with("/virtualMachines/vm1"));
    }

    #[test]
    fn several_in_one_group_are_granted_at_the_group_and_several_groups_at_the_subscription() {
        let got = scopes(
            (0..20)
                .map(|n| denied("s1", "rg-a", &format!("vm{n}"), n))
                .chain([denied("s2", "rg-b", "lonely", 20)])
                .collect(),
            ScopeLevel::Subscription,
        );
        // Twenty VMs in rg-a: one assignment at the group (it ties with the subscription, and
        // the narrower scope wins); the lone VM of s2 at the VM.
        assert_eq!(
            got,
            vec![
                (ScopeLevel::ResourceGroup, "/subscriptions/s1/resourceGroups/rg-a".into(), 20),
                (
                    ScopeLevel::Resource,
                    "/subscriptions/s2/resourceGroups/rg-b/providers/Microsoft.Compute/virtualMachines/lonely".into(),
                    1
                ),
            ]
        );
        let got = scopes(
            vec![
                denied("s1", "rg-a", "vm1", 0),
                denied("s1", "rg-a", "vm2", 1),
                denied("s1", "rg-b", "vm3", 2),
            ],
            ScopeLevel::Subscription,
        );
        assert_eq!(
            got,
            vec![(ScopeLevel::Subscription, "/subscriptions/s1".into(), 3)]
        );
        // No wider than the resource group when told so.
        let got = scopes(
            vec![
                denied("s1", "rg-a", "vm1", 0),
                denied("s1", "rg-a", "vm2", 1),
                denied("s1", "rg-b", "vm3", 2),
            ],
            ScopeLevel::ResourceGroup,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            (
                ScopeLevel::ResourceGroup,
                "/subscriptions/s1/resourceGroups/rg-a".into(),
                2
            )
        );
        assert_eq!(got[1].0, ScopeLevel::Resource);
    }
}
