//! Discovery for the access checks. The number of calls grows with subscriptions, resource
//! groups and distinct roles, never with instances:
//!
//! - per subscription: role assignments (at, above and below it) and deny assignments;
//! - per distinct role definition referenced: the definition;
//! - for the scanning identity: the permissions API (documented for resource groups and
//!   resources; Azure's answer already includes the identity's groups) once per resource group
//!   that holds an instance or a boot-diagnostics account and carries a role assignment of its
//!   own (anyone's), once per such resource with an assignment below its resource group, and
//!   once per subscription for all its other resource groups: effective permissions come from
//!   assignments at or above a scope, so resource groups without assignments of their own share
//!   one answer, asked at any one of them. When a subscription's role assignments could not be
//!   listed, every such resource group of it is asked;
//! - for named principals: their transitive group memberships from Microsoft Graph, when any
//!   assignment or deny assignment names a group.

use super::gap;
use crate::arm::models::{
    DenyAssignment, DirectoryObject, Permission, RoleAssignment, RoleDefinition,
};
use crate::arm::{ArmClient, ArmError, Lenient};
use crate::inventory::*;
use crate::rbac::{normalize_scope, PermissionBlock};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};

/// API version of Microsoft.Authorization.
pub const AUTHORIZATION_API: &str = "2022-04-01";

fn blocks(perms: &[Permission]) -> Vec<PermissionBlock> {
    perms
        .iter()
        .map(|p| PermissionBlock {
            actions: p.actions.get().cloned().unwrap_or_default(),
            not_actions: p.not_actions.get().cloned().unwrap_or_default(),
        })
        .collect()
}

fn guid_of(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).to_ascii_lowercase()
}

/// Futures kept ready at once in the access listings; the client's cap on requests in flight
/// is what actually limits them.
const READY: usize = 1024;

/// What the access checks read in one subscription: its role and deny assignments. It needs
/// nothing but the subscription's id, so discovery reads it alongside the subscription's
/// other listings.
#[derive(Debug)]
pub struct SubscriptionAccess {
    sid: String,
    role_assignments: (Vec<Lenient<RoleAssignment>>, Option<ArmError>),
    deny_assignments: (Vec<Lenient<DenyAssignment>>, Option<ArmError>),
}

/// Reads one subscription's [`SubscriptionAccess`], its listings concurrently.
pub async fn read_subscription_access(arm: &ArmClient, sid: &str) -> SubscriptionAccess {
    let ra_path = format!(
        "/subscriptions/{sid}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}"
    );
    let da_path = format!(
        "/subscriptions/{sid}/providers/Microsoft.Authorization/denyAssignments?api-version={AUTHORIZATION_API}"
    );
    let ras = arm.list_all::<RoleAssignment>(&ra_path);
    let das = arm.list_all::<DenyAssignment>(&da_path);
    let (role_assignments, deny_assignments) = futures::join!(ras, das);
    SubscriptionAccess {
        sid: sid.to_ascii_lowercase(),
        role_assignments,
        deny_assignments,
    }
}

/// Reads what the access checks need into `inventory.access`. `prefetched` holds what
/// discovery already read per subscription ([`read_subscription_access`]); the rest is read
/// here.
pub async fn discover_access(
    arm: &ArmClient,
    graph: Result<&ArmClient, String>,
    inventory: &mut Inventory,
    prefetched: Vec<SubscriptionAccess>,
) {
    let mut access = AccessInventory::default();
    let mut per_sub: BTreeMap<String, SubscriptionAccess> =
        prefetched.into_iter().map(|a| (a.sid.clone(), a)).collect();
    let missing: Vec<String> = inventory
        .subscriptions
        .iter()
        .map(|s| s.id.to_ascii_lowercase())
        .filter(|s| !per_sub.contains_key(s))
        .collect();
    let read: Vec<SubscriptionAccess> = futures::stream::iter(missing)
        .map(|sid| async move { read_subscription_access(arm, &sid).await })
        .buffer_unordered(READY)
        .collect()
        .await;
    per_sub.extend(read.into_iter().map(|a| (a.sid.clone(), a)));
    // Only the subscriptions in scope, in inventory order.
    let per_sub: Vec<SubscriptionAccess> = inventory
        .subscriptions
        .iter()
        .filter_map(|s| per_sub.remove(&s.id.to_ascii_lowercase()))
        .collect();
    let mut definition_ids: BTreeMap<String, String> = BTreeMap::new();
    for sa in per_sub {
        let SubscriptionAccess {
            sid,
            role_assignments: (ras, ra_err),
            deny_assignments: (das, da_err),
        } = sa;
        if let Some(e) = ra_err {
            inventory
                .gaps
                .push(gap(Some(&sid), GapScope::ROLE_ASSIGNMENTS, &e));
        }
        if let Some(e) = da_err {
            inventory
                .gaps
                .push(gap(Some(&sid), GapScope::DENY_ASSIGNMENTS, &e));
        }
        for ra in ras.iter().filter_map(Lenient::get) {
            let Some(p) = ra.properties.get() else {
                continue;
            };
            let (Some(def), Some(principal), Some(scope)) = (
                p.role_definition_id.get(),
                p.principal_id.get(),
                p.scope.get(),
            ) else {
                continue;
            };
            definition_ids
                .entry(guid_of(def))
                .or_insert_with(|| def.clone());
            access.role_assignments.push(AssignmentRef {
                listed_in: sid.clone(),
                scope: normalize_scope(scope),
                principal_id: principal.to_ascii_lowercase(),
                principal_type: p.principal_type.get().cloned().unwrap_or_default(),
                role_definition: guid_of(def),
                condition: p.condition.get().cloned().filter(|c| !c.trim().is_empty()),
            });
        }
        for da in das.iter().filter_map(Lenient::get) {
            let Some(p) = da.properties.get() else {
                continue;
            };
            let ids = |l: &Lenient<Vec<crate::arm::models::DenyPrincipal>>,
                       groups_only: bool|
             -> Vec<String> {
                l.get()
                    .map(|v| {
                        v.iter()
                            .filter(|d| {
                                !groups_only
                                    || d.principal_type
                                        .get()
                                        .is_some_and(|t| t.eq_ignore_ascii_case("Group"))
                            })
                            .filter_map(|d| d.id.get().map(|i| i.to_ascii_lowercase()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            access.deny_assignments.push(DenyRef {
                listed_in: sid.clone(),
                name: p.deny_assignment_name.get().cloned().unwrap_or_default(),
                scope: normalize_scope(p.scope.get().map(String::as_str).unwrap_or("/")),
                blocks: blocks(p.permissions.get().map(Vec::as_slice).unwrap_or(&[])),
                principals: ids(&p.principals, false),
                group_principals: ids(&p.principals, true),
                exclude_principals: ids(&p.exclude_principals, false),
                exclude_group_principals: ids(&p.exclude_principals, true),
                do_not_apply_to_child_scopes: p
                    .do_not_apply_to_child_scopes
                    .get()
                    .copied()
                    .unwrap_or(false),
            });
        }
    }

    // The role definitions referenced, once each.
    let defs: Vec<_> = futures::stream::iter(definition_ids)
        .map(|(guid, id)| async move {
            let r = arm
                .get::<RoleDefinition>(&format!("{id}?api-version={AUTHORIZATION_API}"))
                .await;
            (guid, r)
        })
        .buffer_unordered(READY)
        .collect()
        .await;
    for (guid, r) in defs {
        match r {
            Ok(d) => {
                let props = d.properties.get();
                access.role_definitions.insert(
                    guid,
                    RoleDefinitionRef {
                        name: props
                            .and_then(|p| p.role_name.get().cloned())
                            .unwrap_or_default(),
                        blocks: blocks(
                            props
                                .and_then(|p| p.permissions.get())
                                .map(Vec::as_slice)
                                .unwrap_or(&[]),
                        ),
                    },
                );
            }
            Err(e) => {
                let mut g = gap(None, GapScope::ROLE_DEFINITIONS, &e);
                g.message = format!("role definition {guid}: {}", g.message);
                inventory.gaps.push(g);
            }
        }
    }

    // The scanning identity: the permissions API per resource group with an assignment of its
    // own (every resource group where the assignments are not known), per resource with an
    // assignment below its resource group, and once per subscription, at any one of its other
    // resource groups, for all of them (stored under the subscription's scope).
    if inventory.principals.iter().any(|p| p.scanner) {
        let assigned: BTreeSet<&str> = access
            .role_assignments
            .iter()
            .map(|a| a.scope.as_str())
            .collect();
        let unlisted: BTreeSet<&str> = inventory
            .gaps
            .iter()
            .filter(|g| g.what == GapScope::ROLE_ASSIGNMENTS)
            .filter_map(|g| g.subscription_id.as_deref())
            .collect();
        // (scope the answer is stored under, scope asked).
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        let mut resources: Vec<String> = Vec::new();
        let places = inventory
            .instances
            .iter()
            .map(|i| (&i.subscription_id, &i.resource_group, i.id.as_str()))
            .chain(
                inventory
                    .storage_accounts
                    .iter()
                    .map(|s| (&s.subscription_id, &s.resource_group, s.id.as_str())),
            );
        for (sub, rg, id) in places {
            let sub_scope = normalize_scope(&format!("/subscriptions/{sub}"));
            let rg_scope = normalize_scope(&format!("{sub_scope}/resourceGroups/{rg}"));
            if unlisted.contains(sub.to_ascii_lowercase().as_str())
                || assigned.contains(rg_scope.as_str())
            {
                targets.insert(rg_scope.clone(), rg_scope);
            } else {
                targets.entry(sub_scope).or_insert(rg_scope);
            }
            resources.push(normalize_scope(id));
        }
        let deep: BTreeSet<&str> = access
            .role_assignments
            .iter()
            .map(|a| a.scope.as_str())
            .filter(|s| s.split('/').filter(|x| !x.is_empty()).count() > 4)
            .collect();
        for scope in deep {
            if resources
                .iter()
                .any(|r| crate::rbac::scope_contains(scope, r))
            {
                targets.insert(scope.to_string(), scope.to_string());
            }
        }
        let results: Vec<_> = futures::stream::iter(targets)
            .map(|(key, asked)| async move {
                let (items, err) = arm
                    .list_all::<Permission>(&format!(
                        "{asked}/providers/Microsoft.Authorization/permissions?api-version={AUTHORIZATION_API}"
                    ))
                    .await;
                (key, asked, items, err)
            })
            .buffer_unordered(READY)
            .collect()
            .await;
        for (key, asked, items, err) in results {
            match err {
                Some(e) => {
                    let sub = key.split('/').nth(2).map(str::to_string);
                    let mut g = gap(sub.as_deref(), GapScope::PERMISSIONS, &e);
                    g.message = if key == asked {
                        format!("{key}: {}", g.message)
                    } else {
                        format!("{key}: {} (asked at {asked})", g.message)
                    };
                    inventory.gaps.push(g);
                }
                None => {
                    let perms: Vec<Permission> =
                        items.into_iter().filter_map(Lenient::into_option).collect();
                    access.caller_permissions.insert(key, blocks(&perms));
                }
            }
        }
    }

    // Group memberships, only when some assignment or deny assignment names a group.
    let groups_matter = access
        .role_assignments
        .iter()
        .any(|a| a.principal_type.eq_ignore_ascii_case("Group"))
        || access
            .deny_assignments
            .iter()
            .any(|d| !d.group_principals.is_empty() || !d.exclude_group_principals.is_empty());
    if groups_matter {
        let principals: Vec<String> = inventory
            .principals
            .iter()
            .map(|p| p.object_id.clone())
            .collect();
        let memberships: Vec<_> = futures::stream::iter(principals)
            .map(|id| {
                let graph = graph.clone();
                async move {
                    let m = match graph {
                        Err(why) => Membership::Unknown(format!("group memberships cannot be read: {why}")),
                        Ok(g) => {
                            let (items, err) = g
                                .list_all::<DirectoryObject>(&format!(
                                    "/v1.0/directoryObjects/{id}/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999"
                                ))
                                .await;
                            match err {
                                Some(e) => Membership::Unknown(format!(
                                    "group memberships cannot be read from Microsoft Graph: {e}"
                                )),
                                None => Membership::Known(
                                    items
                                        .iter()
                                        .filter_map(Lenient::get)
                                        .filter_map(|o| o.id.get().map(|i| i.to_ascii_lowercase()))
                                        .collect(),
                                ),
                            }
                        }
                    };
                    (id, m)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        access.memberships = memberships.into_iter().collect();
    }
    inventory.access = Some(access);
}
