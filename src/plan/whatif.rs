//! The what-if model of a plan's changes: each [`Change`] applied to an [`Inventory`] the way
//! Azure would carry it out, and the instances whose inputs it touched, so that the real checks
//! can be run again on exactly those.
//!
//! The model stays within what the change's command does:
//!
//! - enabling the console sets the subscription's `consoleServices/default` to `disabled: false`;
//! - a storage account change sets the named properties of that account;
//! - enabling (or moving to) managed boot diagnostics sets a VM's profile to enabled without a
//!   `storageUri` (managed storage, Compute spec `BootDiagnostics.storageUri`);
//! - a Uniform scale set's change sets the model to managed boot diagnostics and upgrades every
//!   instance: each then carries the model's profile and `latestModelApplied = true` (upgrading
//!   only some would leave the others behind the changed model, `vmss-instance-outdated`);
//! - a role assignment adds an assignment of [`ROLE_NAME`] at the scope for the principal, with
//!   the role's published actions ([`role_blocks`]); for the scanning identity, whose access the
//!   checks read from the permissions API, the role's block is added to the permissions of every
//!   scope at or below the assignment's;
//! - starting a VM sets its power state to `running`.

use super::Change;
use crate::inventory::{AssignmentRef, BootDiagnostics, Instance, InstanceKind, Inventory};
use crate::rbac::{normalize_scope, PermissionBlock};
use std::collections::HashMap;

/// The role the plan assigns: the built-in role Microsoft's Serial Console prerequisites name
/// ("Virtual Machine Contributor" on the VM and its boot-diagnostics storage account).
pub const ROLE_NAME: &str = "Virtual Machine Contributor";
/// Its role definition GUID (the same in every tenant).
pub const ROLE_ID: &str = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";

/// The actions of [`ROLE_NAME`], copied from Microsoft's built-in roles reference
/// (learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute, "Virtual
/// Machine Contributor", role 9980e02c-c2be-4d73-94e8-173b1dc7cf3c); it has no `notActions`.
const ROLE_ACTIONS: &[&str] = &[
    "Microsoft.Authorization/*/read",
    "Microsoft.Compute/availabilitySets/*",
    "Microsoft.Compute/locations/*",
    "Microsoft.Compute/virtualMachines/*",
    "Microsoft.Compute/virtualMachineScaleSets/*",
    "Microsoft.Compute/cloudServices/*",
    "Microsoft.Compute/disks/write",
    "Microsoft.Compute/disks/read",
    "Microsoft.Compute/disks/delete",
    "Microsoft.Compute/hostgroups/write",
    "Microsoft.Compute/hostgroups/hosts/write",
    "Microsoft.DevTestLab/schedules/*",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Network/applicationGateways/backendAddressPools/join/action",
    "Microsoft.Network/loadBalancers/backendAddressPools/join/action",
    "Microsoft.Network/loadBalancers/inboundNatPools/join/action",
    "Microsoft.Network/loadBalancers/inboundNatRules/join/action",
    "Microsoft.Network/loadBalancers/probes/join/action",
    "Microsoft.Network/loadBalancers/read",
    "Microsoft.Network/locations/*",
    "Microsoft.Network/networkInterfaces/*",
    "Microsoft.Network/networkSecurityGroups/join/action",
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Network/publicIPAddresses/join/action",
    "Microsoft.Network/publicIPAddresses/read",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.RecoveryServices/locations/*",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/backupProtectionIntent/write",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/*/read",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/read",
    "Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/write",
    "Microsoft.RecoveryServices/Vaults/backupPolicies/read",
    "Microsoft.RecoveryServices/Vaults/backupPolicies/write",
    "Microsoft.RecoveryServices/Vaults/read",
    "Microsoft.RecoveryServices/Vaults/usages/read",
    "Microsoft.RecoveryServices/Vaults/write",
    "Microsoft.ResourceHealth/availabilityStatuses/read",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.SerialConsole/serialPorts/connect/action",
    "Microsoft.SqlVirtualMachine/*",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Support/*",
];

/// The permission blocks of [`ROLE_NAME`].
pub fn role_blocks() -> Vec<PermissionBlock> {
    vec![PermissionBlock {
        actions: ROLE_ACTIONS.iter().map(|s| s.to_string()).collect(),
        not_actions: Vec::new(),
    }]
}

/// Look-ups from the inventory's resources to the instances that depend on them, built once.
pub struct Index {
    /// Instances by subscription id.
    by_subscription: HashMap<String, Vec<usize>>,
    /// Instances by custom boot-diagnostics blob host.
    by_host: HashMap<String, Vec<usize>>,
    /// Uniform instances by scale set id (lower case).
    by_scale_set: HashMap<String, Vec<usize>>,
    /// Instances by id (exact).
    by_id: HashMap<String, usize>,
    /// Each instance's id, normalised.
    normalized: Vec<String>,
    /// Each instance's custom storage account id, normalised, when it is in a visible
    /// subscription.
    account_of: Vec<Option<String>>,
    /// Instances by the subscription (lower case) of their custom storage account.
    by_account_subscription: HashMap<String, Vec<usize>>,
}

/// The id of the scale set of a Uniform instance id (`…/virtualMachineScaleSets/ss`).
pub fn scale_set_of(instance_id: &str) -> String {
    let mut parts: Vec<&str> = instance_id.trim_end_matches('/').rsplitn(3, '/').collect();
    parts.reverse();
    parts.first().copied().unwrap_or(instance_id).to_string()
}

impl Index {
    /// Indexes an inventory.
    pub fn new(inventory: &Inventory) -> Index {
        let mut by_subscription: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_host: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_scale_set: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        let accounts: HashMap<&str, &str> = inventory
            .storage_accounts
            .iter()
            .map(|a| (a.blob_host.as_str(), a.id.as_str()))
            .collect();
        let mut normalized = Vec::with_capacity(inventory.instances.len());
        let mut account_of = Vec::with_capacity(inventory.instances.len());
        for (k, i) in inventory.instances.iter().enumerate() {
            by_subscription
                .entry(i.subscription_id.to_ascii_lowercase())
                .or_default()
                .push(k);
            let host = crate::checks::storage::custom_host(i);
            account_of.push(
                host.as_deref()
                    .and_then(|h| accounts.get(h))
                    .map(|id| normalize_scope(id)),
            );
            if let Some(h) = host {
                by_host.entry(h).or_default().push(k);
            }
            if i.kind == InstanceKind::VmssInstance {
                by_scale_set
                    .entry(normalize_scope(&scale_set_of(&i.id)))
                    .or_default()
                    .push(k);
            }
            by_id.insert(i.id.to_string(), k);
            normalized.push(normalize_scope(&i.id));
        }
        let mut by_account_subscription: HashMap<String, Vec<usize>> = HashMap::new();
        for (k, a) in account_of.iter().enumerate() {
            if let Some(sub) = a.as_deref().and_then(|a| a.split('/').nth(2)) {
                by_account_subscription
                    .entry(sub.to_string())
                    .or_default()
                    .push(k);
            }
        }
        Index {
            by_account_subscription,
            by_subscription,
            by_host,
            by_scale_set,
            by_id,
            normalized,
            account_of,
        }
    }

    /// The instance with this id.
    pub fn instance(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }
}

fn set_managed(i: &mut Instance) {
    i.boot_diagnostics = BootDiagnostics::Managed;
}

/// Applies a change to the inventory; returns the instances whose inputs it changed (sorted,
/// without repeats).
pub fn apply(inventory: &mut Inventory, index: &Index, change: &Change) -> Vec<usize> {
    let mut affected: Vec<usize> = match change {
        Change::EnableConsole {
            subscription_id, ..
        } => {
            for s in &mut inventory.subscriptions {
                if s.id.eq_ignore_ascii_case(subscription_id) {
                    s.console_disabled = Some(false);
                }
            }
            index
                .by_subscription
                .get(&subscription_id.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default()
        }
        Change::StorageAccount {
            account_id, set, ..
        } => {
            let mut hosts = Vec::new();
            for a in &mut inventory.storage_accounts {
                if a.id.eq_ignore_ascii_case(account_id) {
                    if let Some(v) = set.allow_shared_key_access {
                        a.allow_shared_key_access = Some(v);
                    }
                    if let Some(v) = &set.network_default_action {
                        a.network_default_action = Some(v.clone());
                    }
                    if let Some(v) = &set.minimum_tls_version {
                        a.minimum_tls_version = Some(v.clone());
                    }
                    hosts.push(a.blob_host.clone());
                }
            }
            hosts
                .iter()
                .flat_map(|h| index.by_host.get(h).cloned().unwrap_or_default())
                .collect()
        }
        Change::EnableBootDiagnostics { vm } | Change::StartVm { vm } => {
            let Some(k) = index.instance(&vm.id) else {
                return Vec::new();
            };
            let i = &mut inventory.instances[k];
            if matches!(change, Change::StartVm { .. }) {
                i.power_state = Some("running".into());
            } else {
                set_managed(i);
            }
            vec![k]
        }
        Change::ManagedBootDiagnostics { vms, .. } => {
            let mut out = Vec::new();
            for vm in vms {
                if let Some(k) = index.instance(&vm.id) {
                    set_managed(&mut inventory.instances[k]);
                    out.push(k);
                }
            }
            out
        }
        Change::ScaleSetBootDiagnostics { scale_set_id, .. } => {
            let members = index
                .by_scale_set
                .get(&normalize_scope(scale_set_id))
                .cloned()
                .unwrap_or_default();
            for &k in &members {
                let i = &mut inventory.instances[k];
                set_managed(i);
                i.latest_model_applied = Some(true);
            }
            members
        }
        Change::RoleAssignment {
            principal_id,
            scope,
            subscription_id,
            ..
        } => {
            let scope_norm = normalize_scope(scope);
            let scanner = inventory
                .principals
                .iter()
                .any(|p| p.scanner && p.object_id.eq_ignore_ascii_case(principal_id));
            if let Some(access) = &mut inventory.access {
                if scanner {
                    grant_scanner(&mut access.caller_permissions, &scope_norm);
                } else {
                    let principal = principal_id.to_ascii_lowercase();
                    let principal_type = access
                        .role_assignments
                        .iter()
                        .find(|a| a.principal_id == principal)
                        .map(|a| a.principal_type.clone())
                        .unwrap_or_else(|| "User".into());
                    access.role_assignments.push(AssignmentRef {
                        listed_in: subscription_id.to_ascii_lowercase(),
                        scope: scope_norm.clone(),
                        principal_id: principal,
                        principal_type,
                        role_definition: ROLE_ID.into(),
                        condition: None,
                    });
                    access
                        .role_definitions
                        .entry(ROLE_ID.into())
                        .or_insert_with(|| crate::inventory::RoleDefinitionRef {
                            name: ROLE_NAME.into(),
                            blocks: role_blocks(),
                        });
                }
            }
            // Only instances of the scope's subscription, or with an account there, can be
            // within it (a scope above subscriptions reaches everything).
            let candidates: Vec<usize> = match scope_norm.split('/').nth(2) {
                Some(sub) if scope_norm.starts_with("/subscriptions/") => {
                    let mut c: Vec<usize> = index
                        .by_subscription
                        .get(sub)
                        .into_iter()
                        .chain(index.by_account_subscription.get(sub))
                        .flatten()
                        .copied()
                        .collect();
                    c.sort_unstable();
                    c.dedup();
                    c
                }
                _ => (0..inventory.instances.len()).collect(),
            };
            candidates
                .into_iter()
                .filter(|&k| {
                    within(&scope_norm, &index.normalized[k])
                        || index.account_of[k]
                            .as_deref()
                            .is_some_and(|a| within(&scope_norm, a))
                })
                .collect()
        }
    };
    affected.sort_unstable();
    affected.dedup();
    affected
}

/// Whether the normalised `id` is the normalised `scope` or lies below it.
fn within(scope: &str, id: &str) -> bool {
    scope == "/"
        || id == scope
        || (id.starts_with(scope) && id.as_bytes().get(scope.len()) == Some(&b'/'))
}

/// Adds the role's block to the scanning identity's permissions at `scope` and below: every
/// recorded scope within it gets the block, and `scope` itself gets its nearest recorded
/// ancestor's permissions plus the block, so that what lies below it and was answered by an
/// ancestor sees the grant too, and nothing outside it does.
fn grant_scanner(
    perms: &mut std::collections::BTreeMap<String, Vec<PermissionBlock>>,
    scope: &str,
) {
    let block = role_blocks();
    if !perms.contains_key(scope) {
        let inherited = crate::rbac::scope_prefixes(scope)
            .into_iter()
            .skip(1)
            .find_map(|s| perms.get(s).cloned())
            .unwrap_or_default();
        perms.insert(scope.to_string(), inherited);
    }
    for (s, blocks) in perms.iter_mut() {
        if within(scope, s) {
            blocks.extend(block.iter().cloned());
        }
    }
}
