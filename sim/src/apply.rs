//! Changes to the served estate, as an operator would make them in Azure: `POST /_sim/apply`
//! with one change as JSON (and [`crate::Simulator::apply`]). The simulator serves the changed
//! estate from the next request on. This is how a test carries out a rollout plan against the
//! simulator: each change is modelled here, on the fleet, by the simulator's own rules.
//!
//! ```json
//! {"action": "enable-console", "subscription": "SUBSCRIPTION_ID"}
//! {"action": "set-storage-account", "id": "/subscriptions/…/storageAccounts/NAME",
//!  "allow_shared_key_access": true, "network_default_action": "Allow", "minimum_tls_version": "TLS1_2"}
//! {"action": "enable-boot-diagnostics", "id": "/subscriptions/…/virtualMachines/NAME"}
//! {"action": "enable-scale-set-boot-diagnostics", "id": "/subscriptions/…/virtualMachineScaleSets/NAME"}
//! {"action": "add-role-assignment", "principal": "OBJECT_ID", "role": "Virtual Machine Contributor", "scope": "/subscriptions/…"}
//! {"action": "start-vm", "id": "/subscriptions/…/virtualMachines/NAME"}
//! ```
//!
//! - `enable-boot-diagnostics` turns a VM's boot diagnostics on with managed storage (no
//!   `storageUri`), as `az vm boot-diagnostics enable` without `--storage` does.
//! - `enable-scale-set-boot-diagnostics` sets a Uniform scale set's model to managed boot
//!   diagnostics and then upgrades every instance to the model (`az vmss update` then
//!   `az vmss update-instances --instance-ids '*'`): each instance carries the model's profile
//!   and `latestModelApplied` is true.
//! - `start-vm` takes a VM id or a Uniform instance id (`…/virtualMachineScaleSets/S/virtualMachines/3`).

use super::fleet::{BootDiagnosticsSpec, Fleet, RoleAssignmentSpec, SubscriptionSpec};
use serde::Deserialize;

/// One change to the estate.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Change {
    /// Serial Console enabled on a subscription.
    EnableConsole {
        /// Subscription id.
        subscription: String,
    },
    /// Properties of a storage account set (absent ones left as they are).
    SetStorageAccount {
        /// Account id.
        id: String,
        /// `allowSharedKeyAccess`.
        #[serde(default)]
        allow_shared_key_access: Option<bool>,
        /// `networkAcls.defaultAction`.
        #[serde(default)]
        network_default_action: Option<String>,
        /// `minimumTlsVersion`.
        #[serde(default)]
        minimum_tls_version: Option<String>,
    },
    /// Boot diagnostics enabled with managed storage on a VM.
    EnableBootDiagnostics {
        /// VM id.
        id: String,
    },
    /// Boot diagnostics enabled with managed storage in a Uniform scale set's model, and every
    /// instance upgraded to it.
    EnableScaleSetBootDiagnostics {
        /// Scale set id.
        id: String,
    },
    /// A role assignment added.
    AddRoleAssignment {
        /// Principal object id.
        principal: String,
        /// Role name or definition GUID.
        role: String,
        /// Scope.
        scope: String,
    },
    /// A VM or Uniform instance started.
    StartVm {
        /// VM or instance id.
        id: String,
    },
}

/// The parts of a resource id: subscription, resource group, then (type, name) pairs.
struct Parsed {
    subscription: String,
    resource_group: Option<String>,
    types: Vec<(String, String)>,
}

fn parse(id: &str) -> Result<Parsed, String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() < 2 || !segs[0].eq_ignore_ascii_case("subscriptions") {
        return Err(format!("'{id}' is not a resource id in a subscription"));
    }
    let mut p = Parsed {
        subscription: segs[1].to_string(),
        resource_group: None,
        types: Vec::new(),
    };
    if segs.len() >= 4 && segs[2].eq_ignore_ascii_case("resourcegroups") {
        p.resource_group = Some(segs[3].to_string());
        if segs.len() >= 8 && segs[4].eq_ignore_ascii_case("providers") {
            let mut at = 6;
            while at + 1 < segs.len() {
                p.types
                    .push((segs[at].to_ascii_lowercase(), segs[at + 1].to_string()));
                at += 2;
            }
        }
    }
    Ok(p)
}

fn subscription<'f>(fleet: &'f mut Fleet, id: &str) -> Result<&'f mut SubscriptionSpec, String> {
    fleet
        .subscriptions
        .iter_mut()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| format!("no subscription '{id}' in the fleet"))
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn managed() -> Option<BootDiagnosticsSpec> {
    Some(BootDiagnosticsSpec {
        enabled: true,
        storage_uri: None,
    })
}

/// Applies a change to a fleet; returns what changed, or why the change cannot be made.
pub fn apply(fleet: &mut Fleet, change: &Change) -> Result<String, String> {
    match change {
        Change::EnableConsole { subscription: id } => {
            let s = subscription(fleet, id)?;
            s.console_disabled = false;
            Ok(format!("console enabled on subscription {}", s.id))
        }
        Change::SetStorageAccount {
            id,
            allow_shared_key_access,
            network_default_action,
            minimum_tls_version,
        } => {
            let p = parse(id)?;
            let rg = p.resource_group.clone().unwrap_or_default();
            let name = match p.types.as_slice() {
                [(t, n)] if t == "storageaccounts" => n.clone(),
                _ => return Err(format!("'{id}' is not a storage account id")),
            };
            let s = subscription(fleet, &p.subscription)?;
            let sa = s
                .storage_accounts
                .iter_mut()
                .find(|a| same(&a.name, &name) && same(&a.resource_group, &rg))
                .ok_or_else(|| format!("no storage account '{id}' in the fleet"))?;
            if let Some(v) = allow_shared_key_access {
                sa.allow_shared_key_access = Some(*v);
            }
            if let Some(v) = network_default_action {
                sa.network_default_action = Some(v.clone());
            }
            if let Some(v) = minimum_tls_version {
                sa.minimum_tls_version = Some(v.clone());
            }
            Ok(format!("storage account {} changed", sa.name))
        }
        Change::EnableBootDiagnostics { id } | Change::StartVm { id } => {
            let p = parse(id)?;
            let rg = p.resource_group.clone().unwrap_or_default();
            let start = matches!(change, Change::StartVm { .. });
            let s = subscription(fleet, &p.subscription)?;
            match p.types.as_slice() {
                [(t, n)] if t == "virtualmachines" => {
                    let vm = s
                        .vms
                        .iter_mut()
                        .find(|v| same(&v.name, n) && same(&v.resource_group, &rg))
                        .ok_or_else(|| format!("no VM '{id}' in the fleet"))?;
                    if start {
                        vm.power_state = "running".into();
                        Ok(format!("VM {} started", vm.name))
                    } else {
                        vm.boot_diagnostics = managed();
                        Ok(format!("boot diagnostics of VM {} enabled", vm.name))
                    }
                }
                [(t, ss), (u, inst)]
                    if t == "virtualmachinescalesets" && u == "virtualmachines" && start =>
                {
                    let set = s
                        .scale_sets
                        .iter_mut()
                        .find(|x| same(&x.name, ss) && same(&x.resource_group, &rg))
                        .ok_or_else(|| format!("no scale set of '{id}' in the fleet"))?;
                    let i = set
                        .instances
                        .iter_mut()
                        .find(|i| i.instance_id == *inst)
                        .ok_or_else(|| format!("no instance '{id}' in the fleet"))?;
                    i.power_state = "running".into();
                    Ok(format!("instance {ss}_{inst} started"))
                }
                _ => Err(format!("'{id}' is not a VM id")),
            }
        }
        Change::EnableScaleSetBootDiagnostics { id } => {
            let p = parse(id)?;
            let rg = p.resource_group.clone().unwrap_or_default();
            let name = match p.types.as_slice() {
                [(t, n)] if t == "virtualmachinescalesets" => n.clone(),
                _ => return Err(format!("'{id}' is not a scale set id")),
            };
            let s = subscription(fleet, &p.subscription)?;
            let set = s
                .scale_sets
                .iter_mut()
                .find(|x| same(&x.name, &name) && same(&x.resource_group, &rg))
                .ok_or_else(|| format!("no scale set '{id}' in the fleet"))?;
            if set.orchestration_mode != "Uniform" {
                return Err(format!(
                    "scale set '{id}' is {}: its VMs have their own models",
                    set.orchestration_mode
                ));
            }
            set.boot_diagnostics = managed();
            for i in &mut set.instances {
                // The instance takes the model's profile.
                i.boot_diagnostics = None;
                i.latest_model_applied = true;
            }
            Ok(format!(
                "boot diagnostics of scale set {} enabled, {} instances upgraded",
                set.name,
                set.instances.len()
            ))
        }
        Change::AddRoleAssignment {
            principal,
            role,
            scope,
        } => {
            fleet.role_assignments.push(RoleAssignmentSpec {
                principal: principal.clone(),
                role: role.clone(),
                scope: scope.clone(),
                condition: None,
                id: None,
            });
            fleet
                .validate("applied change")
                .map_err(|e| {
                    fleet.role_assignments.pop();
                    e.to_string()
                })
                .map(|()| format!("{role} assigned to {principal} at {scope}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(json: serde_json::Value) -> Change {
        serde_json::from_value(json).expect("a change")
    }

    #[test]
    fn changes_reach_the_fleet_and_bad_ones_are_refused() {
        let mut fleet = crate::demo::demo_fleet();
        let sub = fleet.subscriptions[0].id.clone();
        fleet.subscriptions[0].console_disabled = true;
        apply(
            &mut fleet,
            &change(
                serde_json::json!({"action": "enable-console", "subscription": sub.to_uppercase()}),
            ),
        )
        .unwrap();
        assert!(!fleet.subscriptions[0].console_disabled);

        let vm = fleet.subscriptions[0].vms[0].clone();
        let id = crate::world::vm_id(&sub, &vm.resource_group, &vm.name);
        fleet.subscriptions[0].vms[0].boot_diagnostics = None;
        fleet.subscriptions[0].vms[0].power_state = "deallocated".into();
        apply(
            &mut fleet,
            &change(serde_json::json!({"action": "enable-boot-diagnostics", "id": id})),
        )
        .unwrap();
        apply(
            &mut fleet,
            &change(serde_json::json!({"action": "start-vm", "id": id})),
        )
        .unwrap();
        let vm = &fleet.subscriptions[0].vms[0];
        assert_eq!(vm.boot_diagnostics, managed());
        assert_eq!(vm.power_state, "running");

        let before = fleet.role_assignments.len();
        let principal = fleet.principals[0].id.clone();
        apply(
            &mut fleet,
            &change(serde_json::json!({"action": "add-role-assignment", "principal": principal, "role": "Virtual Machine Contributor", "scope": format!("/subscriptions/{sub}")})),
        )
        .unwrap();
        assert_eq!(fleet.role_assignments.len(), before + 1);
        assert!(apply(
            &mut fleet,
            &change(serde_json::json!({"action": "add-role-assignment", "principal": principal, "role": "No Such Role", "scope": format!("/subscriptions/{sub}")})),
        )
        .is_err());
        assert_eq!(
            fleet.role_assignments.len(),
            before + 1,
            "a refused change leaves no trace"
        );
        assert!(apply(
            &mut fleet,
            &change(serde_json::json!({"action": "enable-boot-diagnostics", "id": format!("/subscriptions/{sub}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/nope")})),
        )
        .is_err());
        assert!(serde_json::from_value::<Change>(
            serde_json::json!({"action": "delete-everything"})
        )
        .is_err());
    }
}
