//! Access: whether each audited principal may open Serial Console on an instance, judged as
//! Azure does — assignments at every scope containing the resource (a scale-set instance
//! inherits from its scale set), `actions` minus the same role's `notActions`, deny assignments,
//! conditions reported as unknown rather than guessed, groups expanded when memberships are
//! known. The scanning identity is judged from the permissions API, which already includes its
//! groups.

use super::context::gap_reason;
use super::storage::{resolve, StorageRef};
use super::{Context, Outcome};
use crate::inventory::{
    AccessInventory, BootDiagnostics, GapScope, Instance, Membership, PrincipalRef,
};
use crate::rbac::{any_allows, normalize_scope, scope_prefixes};

/// The principal id that stands for every principal in a deny assignment: "Set to an empty GUID
/// 00000000-0000-0000-0000-000000000000 to represent all principals" (Microsoft Learn, "List
/// Azure deny assignments", deny assignment properties, `Principals[i].Id`), listed with the
/// principal type `SystemDefined` ("All Principals").
pub const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";

/// What the message of an access failure caused by a deny assignment contains (no role
/// assignment can lift it).
pub const DENIED_BY: &str = " by deny assignment '";

/// `rbac-vm-access`: the principal needs the policy's VM actions at the VM's scope.
pub fn vm_access(i: &Instance, p: &PrincipalRef, ctx: &Context) -> Outcome {
    can(
        p,
        &i.id,
        "at the instance's scope",
        &i.subscription_id,
        &ctx.policy.access.vm_actions,
        ctx,
    )
}

/// `rbac-storage-access`: the principal needs the storage actions on a custom
/// boot-diagnostics account (managed boot diagnostics need none).
pub fn storage_access(i: &Instance, p: &PrincipalRef, ctx: &Context) -> Outcome {
    if let Some(unknown) = super::context::model_unknown(i) {
        return unknown;
    }
    match &i.boot_diagnostics {
        BootDiagnostics::Custom { .. } => {}
        BootDiagnostics::Invalid { reason } => return Outcome::Unknown(reason.clone()),
        _ => return Outcome::NotApplicable,
    }
    match resolve(i, ctx) {
        StorageRef::Found(sa) => can(
            p,
            &sa.id,
            &format!("on storage account {}", sa.id),
            &sa.subscription_id,
            &ctx.policy.access.storage_actions,
            ctx,
        ),
        StorageRef::Unknown(why) | StorageRef::Invalid(why) => Outcome::Unknown(why),
        // A missing or invisible account fails its own storage checks.
        _ => Outcome::NotApplicable,
    }
}

fn groups_of<'a>(access: &'a AccessInventory, principal: &str) -> Result<&'a [String], &'a str> {
    match access.memberships.get(principal) {
        Some(Membership::Known(g)) => Ok(g),
        Some(Membership::Unknown(why)) => Err(why),
        // Memberships are read only when some assignment names a group.
        None => Ok(&[]),
    }
}

/// A principal as messages name it (`label (object id)`, or the id), written without allocating.
struct Who<'a>(&'a PrincipalRef);

impl std::fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.label.is_empty() {
            f.write_str(&self.0.object_id)
        } else {
            write!(f, "{} ({})", self.0.label, self.0.object_id)
        }
    }
}

/// Whether `p` may perform every action at `resource_id`.
fn can(
    p: &PrincipalRef,
    resource_id: &str,
    place: &str,
    subscription: &str,
    actions: &[String],
    ctx: &Context,
) -> Outcome {
    let Some(access) = &ctx.inventory.access else {
        return Outcome::Unknown(
            "not evaluated: role assignments were not read in this scan".into(),
        );
    };
    let who = Who(p);
    let resource = normalize_scope(resource_id);
    let chain: Vec<&str> = scope_prefixes(&resource);
    if let Some(g) = ctx.gap(subscription, GapScope::DENY_ASSIGNMENTS) {
        return Outcome::Unknown(format!("{who}: {}", gap_reason(g)));
    }
    let groups = groups_of(access, &p.object_id);
    let mut unsure: Vec<String> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();

    // Grants.
    if p.scanner {
        let found = chain
            .iter()
            .find_map(|s| ctx.caller_permissions.get(*s).map(|b| (s, b)));
        let Some((_, blocks)) = found else {
            let gap = ctx.inventory.gaps.iter().find(|g| {
                g.what == GapScope::PERMISSIONS
                    && chain
                        .iter()
                        .any(|s| g.message.starts_with(&format!("{s}:")))
            });
            return Outcome::Unknown(match gap {
                Some(g) => format!("{who}: {}", gap_reason(g)),
                None => format!(
                    "the permissions of {who} were not read at any scope containing {resource_id}"
                ),
            });
        };
        for a in actions {
            if !any_allows(blocks, a) {
                missing.push(a);
            }
        }
    } else {
        if let Some(g) = ctx.gap(subscription, GapScope::ROLE_ASSIGNMENTS) {
            return Outcome::Unknown(format!("{who}: {}", gap_reason(g)));
        }
        let applicable: Vec<_> = access
            .role_assignments
            .iter()
            .filter(|a| a.listed_in == subscription)
            .filter(|a| {
                a.scope == "/"
                    || a.scope.starts_with("/providers/microsoft.management/")
                    || chain.contains(&a.scope.as_str())
            })
            .collect();
        for action in actions {
            let mut granted = false;
            let mut maybe = None;
            for a in &applicable {
                let mine = a.principal_id == p.object_id;
                let via_group = !mine && matches!(groups, Ok(g) if g.contains(&a.principal_id));
                let unknown_group =
                    !mine && a.principal_type.eq_ignore_ascii_case("Group") && groups.is_err();
                if !(mine || via_group || unknown_group) {
                    continue;
                }
                let Some(def) = access.role_definitions.get(&a.role_definition) else {
                    maybe.get_or_insert_with(|| {
                        format!("role definition {} could not be read", a.role_definition)
                    });
                    continue;
                };
                if !any_allows(&def.blocks, action) {
                    continue;
                }
                if unknown_group {
                    maybe.get_or_insert_with(|| {
                        format!(
                            "{action} is granted to group {} ({}), but whether {who} is a member is unknown: {}",
                            a.principal_id,
                            def.name,
                            groups.err().unwrap_or_default()
                        )
                    });
                } else if let Some(cond) = &a.condition {
                    maybe.get_or_insert_with(|| {
                        format!("{action} is granted by {} only under a condition, which scready does not evaluate: {cond}", def.name)
                    });
                } else {
                    granted = true;
                    break;
                }
            }
            if !granted {
                match maybe {
                    Some(why) => unsure.push(why),
                    None => missing.push(action),
                }
            }
        }
    }

    // Denies.
    for d in access
        .deny_assignments
        .iter()
        .filter(|d| d.listed_in == subscription)
    {
        let covers = if d.do_not_apply_to_child_scopes {
            d.scope == resource
        } else {
            d.scope == "/"
                || d.scope.starts_with("/providers/microsoft.management/")
                || chain.contains(&d.scope.as_str())
        };
        if !covers {
            continue;
        }
        let denied_actions: Vec<&String> = actions
            .iter()
            .filter(|a| any_allows(&d.blocks, a))
            .collect();
        if denied_actions.is_empty() {
            continue;
        }
        // Some(true): p is covered; Some(false): it is not; None: only a group of unknown
        // membership could cover it.
        let member = |ids: &[String], group_ids: &[String]| -> Option<bool> {
            if ids.iter().any(|x| x == &p.object_id || x == EVERYONE) {
                return Some(true);
            }
            match groups {
                Ok(g) => Some(group_ids.iter().any(|x| g.contains(x))),
                Err(_) if group_ids.is_empty() => Some(false),
                Err(_) => None,
            }
        };
        match (
            member(&d.principals, &d.group_principals),
            member(&d.exclude_principals, &d.exclude_group_principals),
        ) {
            (Some(true), Some(false)) => {
                return Outcome::Fail(format!(
                    "{who} is denied {} at {}{DENIED_BY}{}'",
                    denied_actions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                    d.scope,
                    d.name
                ))
            }
            (Some(false), _) => {}
            _ => unsure.push(format!(
                "deny assignment '{}' at {} may apply to {who} through a group whose membership is unknown",
                d.name, d.scope
            )),
        }
    }

    if !missing.is_empty() {
        // `{who} lacks {missing} {place}`, sized once. The message names no instance, so that
        // every instance of the principal shares it (the finding names the instance).
        let mut m = String::with_capacity(
            p.label.len()
                + p.object_id.len()
                + missing.iter().map(|a| a.len() + 2).sum::<usize>()
                + place.len()
                + 16,
        );
        use std::fmt::Write as _;
        let _ = write!(m, "{who} lacks ");
        for (n, a) in missing.iter().enumerate() {
            if n > 0 {
                m.push_str(", ");
            }
            m.push_str(a);
        }
        m.push(' ');
        m.push_str(place);
        Outcome::Fail(m)
    } else if !unsure.is_empty() {
        Outcome::Unknown(format!("{who}: {}", unsure.join("; ")))
    } else {
        Outcome::Pass
    }
}

#[cfg(test)]
mod absence_tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn storage_access_is_unknown_when_the_model_was_not_read() {
        let (inv, pol) = fixture();
        let ctx = Context::new(&inv, &pol);
        let mut i = vm("a");
        let p = PrincipalRef {
            object_id: "p".into(),
            ..Default::default()
        };
        assert_eq!(storage_access(&i, &p, &ctx), Outcome::NotApplicable);
        i.model_not_read = Some("the model listing failed".into());
        assert!(
            matches!(storage_access(&i, &p, &ctx), Outcome::Unknown(m) if m.contains("model listing failed"))
        );
    }
}
