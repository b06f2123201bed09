//! The ARM endpoints: path matching, read authorization, paging, and JSON shaped as the REST API
//! returns it.

use super::compute::{ComputeLimiter, StatusOnlyShape};
use super::fleet::{LockSpec, VmSpec, REGISTRABLE_NAMESPACES};
use super::reply::Reply;
use super::world::{self, SubWorld, World};
use crate::authz;
use crate::wire::{
    ConsoleStatus, ConsoleStatusProperties, Page, Permission, RoleAssignment, RoleDefinition,
};
use serde::Serialize;

/// A paging fault to apply to a list response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagingFault {
    /// `nextLink` points at the page itself.
    NextLinkLoop,
    /// The page repeats the previous page's items first.
    RepeatItems,
}

/// Everything a handler needs about one authenticated request.
pub struct Ctx<'a> {
    /// The served estate.
    pub world: &'a World,
    /// Caller object id, lower case.
    pub principal: &'a str,
    /// Caller tenant.
    pub tenant: &'a str,
    /// Path segments as received (percent-decoded).
    pub segs: Vec<String>,
    /// The same, lower case.
    pub lower: Vec<String>,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// The query string as received.
    pub raw_query: String,
    /// `https://host:port` as the client addressed us.
    pub base_url: String,
    /// The path as received (without query).
    pub path: String,
    /// Items per page.
    pub page_size: usize,
    /// A paging fault to inject, if any.
    pub paging_fault: Option<PagingFault>,
    /// What the `statusOnly=true` VM listing returns.
    pub status_only_shape: StatusOnlyShape,
    /// Compute's throttling policies, charged by the VM reads.
    pub compute: Option<&'a ComputeLimiter>,
}

impl Ctx<'_> {
    /// A query parameter, matched case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, name: &str) -> bool {
        self.param(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn expand_instance_view(&self) -> bool {
        self.param("$expand")
            .is_some_and(|v| v.to_ascii_lowercase().contains("instanceview"))
    }

    /// Serves one page of `items` (already filtered), honouring `$skiptoken`.
    fn page<T: Serialize + Clone>(&self, mut items: Vec<T>) -> Reply {
        let offset = match self.param("$skiptoken") {
            None => 0,
            Some(t) => match t.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    return Reply::error(
                        400,
                        "InvalidSkipToken",
                        format!("The skip token '{t}' is not valid."),
                    )
                }
            },
        };
        let size = self.page_size.max(1);
        let total = items.len();
        let start = offset.min(total);
        let end = (offset + size).min(total);
        let mut value: Vec<T> = Vec::with_capacity(end - start + size.min(total));
        if self.paging_fault == Some(PagingFault::RepeatItems) && start > 0 {
            let prev = start.saturating_sub(size);
            value.extend(items[prev..start].iter().cloned());
        }
        value.extend(items.drain(start..end));
        let next_link = if self.paging_fault == Some(PagingFault::NextLinkLoop) {
            Some(self.link_with_skiptoken(offset))
        } else if end < total {
            Some(self.link_with_skiptoken(end))
        } else {
            None
        };
        let mut reply = Reply::json(&Page { value, next_link });
        reply.is_page = true;
        reply
    }

    fn link_with_skiptoken(&self, offset: usize) -> String {
        // Keep the caller's parameters as sent and append `$skiptoken` literally, as ARM does.
        let mut query: Vec<String> = self
            .raw_query
            .split('&')
            .filter(|kv| !kv.is_empty())
            .filter(|kv| {
                let key = kv.split('=').next().unwrap_or("");
                !key.eq_ignore_ascii_case("$skiptoken") && !key.eq_ignore_ascii_case("%24skiptoken")
            })
            .map(str::to_string)
            .collect();
        query.push(format!("$skiptoken={offset}"));
        format!("{}{}?{}", self.base_url, self.path, query.join("&"))
    }
}

/// Routes an authenticated GET to its handler.
pub fn route(ctx: &Ctx) -> Reply {
    let l: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    // `{scope}/providers/Microsoft.Authorization/...`
    if let Some(i) = (0..l.len().saturating_sub(1))
        .rev()
        .find(|&i| l[i] == "providers" && l[i + 1] == "microsoft.authorization")
    {
        let scope = if i == 0 {
            "/".to_string()
        } else {
            format!("/{}", ctx.segs[..i].join("/"))
        };
        return authorization(ctx, &scope, &l[i + 2..]);
    }
    match l.as_slice() {
        ["subscriptions"] => list_subscriptions(ctx),
        ["providers", "microsoft.management", "managementgroups", _, "descendants"] => {
            management_group_descendants(ctx, &ctx.segs[3])
        }
        ["subscriptions", _, rest @ ..] => {
            let sub_id = &ctx.segs[1];
            let Some(sub) = ctx.world.sub(sub_id) else {
                if rest.len() == 4 && rest[1] == "microsoft.serialconsole" {
                    // The Serial Console RP answers an unknown subscription with a bare body.
                    return Reply::bare_error(
                        404,
                        "SubscriptionNotFound",
                        format!("The subscription '{sub_id}' could not be found."),
                    );
                }
                return Reply::subscription_not_found(sub_id);
            };
            if let Some(reply) = check_subscription_access(ctx, sub) {
                return reply;
            }
            if let Some(reply) = missing_registration(ctx, sub) {
                return reply;
            }
            if !charged_by_compute(&l) {
                return subscription_scoped(ctx, sub, rest);
            }
            match ctx.compute.and_then(|c| c.charge(&sub.spec.id)) {
                None => subscription_scoped(ctx, sub, rest),
                Some(charge) => {
                    // A rejected call is not charged: Microsoft's sample 429 carries the
                    // remaining counts and `Retry-After`, no `x-ms-request-charge`.
                    match &charge.rejected {
                        Some(r) => compute_throttled(r).with_header(
                            "x-ms-ratelimit-remaining-resource",
                            charge.remaining_header,
                        ),
                        None => subscription_scoped(ctx, sub, rest)
                            .with_header(
                                "x-ms-ratelimit-remaining-resource",
                                charge.remaining_header,
                            )
                            .with_header("x-ms-request-charge", "1"),
                    }
                }
            }
        }
        _ => Reply::error(
            404,
            "NotFound",
            format!(
                "No HTTP resource was found that matches the request URI '{}'.",
                ctx.path
            ),
        ),
    }
}

/// The resource provider a subscription-scoped path addresses: the segment after its last
/// `providers` (`…/virtualMachines/vm/providers/Microsoft.SerialConsole/…` is SerialConsole).
pub fn namespace_of(lower: &[&str]) -> Option<usize> {
    (0..lower.len().saturating_sub(1))
        .rev()
        .find(|&i| lower[i] == "providers")
        .map(|i| i + 1)
}

/// 409 `MissingSubscriptionRegistration` when the path addresses a namespace the subscription has
/// not registered. ARM answers so before the resource provider sees the request, for reads and
/// lists alike.
pub fn missing_registration(ctx: &Ctx, sub: &SubWorld) -> Option<Reply> {
    let lower: Vec<&str> = ctx.lower.iter().map(String::as_str).collect();
    let i = namespace_of(&lower)?;
    let namespace = REGISTRABLE_NAMESPACES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(lower[i]))?;
    sub.spec
        .is_unregistered(namespace)
        .then(|| Reply::missing_subscription_registration(namespace))
}

/// Whether a request is one of the VM reads Compute's policies count: the subscription and
/// resource-group VM listings (plain and `statusOnly`), a VM GET (and its `instanceView`), and a
/// scale set's VM listing and instance GETs.
fn charged_by_compute(l: &[&str]) -> bool {
    match l {
        ["subscriptions", _, "providers", "microsoft.compute", "virtualmachines", ..] => true,
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.compute", kind, rest @ ..] =>
        {
            matches!(
                (*kind, rest),
                ("virtualmachines", _) | ("virtualmachinescalesets", [_, "virtualmachines", ..])
            )
        }
        _ => false,
    }
}

/// Compute's 429 for a used-up policy (sources in [`super::compute`]).
fn compute_throttled(r: &super::compute::ComputeRejection) -> Reply {
    let group = r.policy.operation_group();
    Reply::json_status(
        429,
        &serde_json::json!({
            "error": {
                "code": "OperationNotAllowed",
                "message": "The server rejected the request because too many requests have been received for this subscription.",
                "details": [{
                    "code": "TooManyRequests",
                    "target": group,
                    "message": r.detail_message(),
                }],
            }
        }),
    )
    .with_header("retry-after", r.retry_after_secs.to_string())
}

/// The subscription's tenant must be the token's, and the caller must hold some assignment in it.
fn check_subscription_access(ctx: &Ctx, sub: &SubWorld) -> Option<Reply> {
    if !ctx.world.tenant_reaches(ctx.tenant, sub) {
        return Some(Reply::error(
            401,
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{}' to get the token.",
                ctx.tenant, sub.tenant, sub.tenant
            ),
        ));
    }
    if !ctx.world.can_see_subscription(ctx.principal, sub) {
        return Some(Reply::authorization_failed(
            ctx.principal,
            "Microsoft.Resources/subscriptions/read",
            &world::sub_id(&sub.spec.id),
        ));
    }
    None
}

/// The action the `descendants` listing requires at the group.
const DESCENDANTS_READ: &str = "Microsoft.Management/managementGroups/descendants/read";

/// `GET /providers/Microsoft.Management/managementGroups/{group}/descendants`: every group and
/// subscription below the group, paged. 404 for a group that does not exist; 403
/// `AuthorizationFailed` unless the caller holds [`DESCENDANTS_READ`] at the group (through
/// an assignment at it, above it, or at the root).
fn management_group_descendants(ctx: &Ctx, group: &str) -> Reply {
    let Some(items) = ctx.world.descendants(group) else {
        return Reply::error(
            404,
            "NotFound",
            format!("'{}' not found", world::mg_id(group)),
        );
    };
    let scope = world::mg_id(group);
    if !ctx.world.allows(ctx.principal, &scope, DESCENDANTS_READ) {
        return Reply::authorization_failed(ctx.principal, DESCENDANTS_READ, &scope);
    }
    ctx.page(items)
}

fn list_subscriptions(ctx: &Ctx) -> Reply {
    let items: Vec<_> = ctx
        .world
        .subs
        .iter()
        .filter(|s| ctx.world.tenant_reaches(ctx.tenant, s))
        .filter(|s| ctx.world.can_see_subscription(ctx.principal, s))
        .map(world::subscription_model)
        .collect();
    ctx.page(items)
}

/// Filters items by the caller's read permission at each item's id.
struct ReadFilter<'a> {
    world: &'a World,
    principal: &'a str,
    action: &'a str,
    everything: bool,
}

impl<'a> ReadFilter<'a> {
    fn new(ctx: &'a Ctx, scope: &str, action: &'a str) -> ReadFilter<'a> {
        ReadFilter {
            world: ctx.world,
            principal: ctx.principal,
            action,
            everything: ctx.world.allows(ctx.principal, scope, action),
        }
    }

    fn allows(&self, id: &str) -> bool {
        self.everything || self.world.allows(self.principal, id, self.action)
    }
}

const VM_READ: &str = "Microsoft.Compute/virtualMachines/read";
const VMSS_READ: &str = "Microsoft.Compute/virtualMachineScaleSets/read";
const VMSS_VM_READ: &str = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read";
const STORAGE_READ: &str = "Microsoft.Storage/storageAccounts/read";

fn subscription_scoped(ctx: &Ctx, sub: &SubWorld, rest: &[&str]) -> Reply {
    let sid = &sub.spec.id;
    let sub_scope = world::sub_id(sid);
    match rest {
        [] => Reply::json(&world::subscription_model(sub)),
        ["resourcegroups"] => {
            let items: Vec<serde_json::Value> = sub
                .resource_groups
                .values()
                .map(|(name, loc)| rg_json(sid, name, loc))
                .collect();
            ctx.page(items)
        }
        ["resourcegroups", rg] => match sub.resource_groups.get(*rg) {
            Some((name, loc)) => Reply::json(&rg_json(sid, name, loc)),
            None => Reply::resource_group_not_found(&ctx.segs[3]),
        },
        ["providers", "microsoft.compute", "virtualmachines"] => {
            let filter = ReadFilter::new(ctx, &sub_scope, VM_READ);
            list_vms(ctx, sub, None, &filter)
        }
        ["providers", "microsoft.compute", "virtualmachinescalesets"] => {
            let filter = ReadFilter::new(ctx, &sub_scope, VMSS_READ);
            let items: Vec<_> = sub
                .spec
                .scale_sets
                .iter()
                .filter(|ss| filter.allows(&world::scale_set_id(sid, &ss.resource_group, &ss.name)))
                .map(|ss| world::scale_set_model(sid, ss))
                .collect();
            ctx.page(items)
        }
        ["providers", "microsoft.storage", "storageaccounts"] => {
            let filter = ReadFilter::new(ctx, &sub_scope, STORAGE_READ);
            let items: Vec<_> = sub
                .spec
                .storage_accounts
                .iter()
                .filter(|sa| filter.allows(&world::storage_id(sid, &sa.resource_group, &sa.name)))
                .map(|sa| world::storage_model(sid, sa))
                .collect();
            ctx.page(items)
        }
        ["providers", "microsoft.serialconsole", "consoleservices", "default"] => {
            Reply::json(&ConsoleStatus {
                properties: ConsoleStatusProperties {
                    disabled: sub.spec.console_disabled.into(),
                }
                .into(),
            })
        }
        ["providers", "microsoft.serialconsole", "consoleservices", other] => Reply::error(
            404,
            "ResourceNotFound",
            format!("The console service '{other}' does not exist; only 'default' is defined."),
        ),
        ["resourcegroups", rg, "providers", provider, kind, tail @ ..] => {
            if !sub.resource_groups.contains_key(*rg) {
                return Reply::resource_group_not_found(&ctx.segs[3]);
            }
            let rg_name = &ctx.segs[3];
            resource_group_scoped(ctx, sub, rg_name, provider, kind, tail)
        }
        _ => unknown_resource_type(ctx),
    }
}

fn unknown_resource_type(ctx: &Ctx) -> Reply {
    Reply::error(
        404,
        "InvalidResourceType",
        format!(
            "The resource type could not be found for the request '{}'.",
            ctx.path
        ),
    )
}

fn rg_json(sub: &str, name: &str, location: &str) -> serde_json::Value {
    serde_json::json!({
        "id": world::rg_id(sub, name),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"}
    })
}

/// A VM listing. The plain listing carries the model without the instance view (as ARM's
/// VirtualMachines_List/ListAll do); `statusOnly=true` carries what [`StatusOnlyShape`] says;
/// `$expand=instanceView` embeds the instance view in the model.
fn list_vms(ctx: &Ctx, sub: &SubWorld, rg: Option<&str>, filter: &ReadFilter) -> Reply {
    let sid = &sub.spec.id;
    let status_only = ctx.flag("statusOnly");
    let vms = sub
        .spec
        .vms
        .iter()
        .filter(|vm| rg.is_none_or(|r| vm.resource_group.eq_ignore_ascii_case(r)))
        .filter(|vm| filter.allows(&world::vm_id(sid, &vm.resource_group, &vm.name)));
    if status_only && ctx.status_only_shape == StatusOnlyShape::Status {
        let items: Vec<_> = vms.map(|vm| world::vm_status_item(sid, vm)).collect();
        return ctx.page(items);
    }
    let with_view = status_only || ctx.expand_instance_view();
    let items: Vec<_> = vms.map(|vm| world::vm_model(sid, vm, with_view)).collect();
    ctx.page(items)
}

fn find_vm<'a>(sub: &'a SubWorld, rg: &str, name: &str) -> Option<&'a VmSpec> {
    sub.vm_index
        .get(&(rg.to_ascii_lowercase(), name.to_ascii_lowercase()))
        .map(|&i| &sub.spec.vms[i])
}

fn resource_group_scoped(
    ctx: &Ctx,
    sub: &SubWorld,
    rg: &str,
    provider: &str,
    kind: &str,
    tail: &[&str],
) -> Reply {
    let sid = &sub.spec.id;
    let rg_scope = world::rg_id(sid, rg);
    let seg = |i: usize| ctx.segs[7 + i].as_str();
    match (provider, kind, tail) {
        ("microsoft.compute", "virtualmachines", []) => {
            let filter = ReadFilter::new(ctx, &rg_scope, VM_READ);
            list_vms(ctx, sub, Some(rg), &filter)
        }
        ("microsoft.compute", "virtualmachines", [_name, rest @ ..]) => {
            let name = seg(0);
            let Some(vm) = find_vm(sub, rg, name) else {
                return Reply::resource_not_found("Microsoft.Compute/virtualMachines", name, rg);
            };
            let id = world::vm_id(sid, &vm.resource_group, &vm.name);
            if !ctx.world.allows(ctx.principal, &id, VM_READ) {
                return Reply::authorization_failed(ctx.principal, VM_READ, &id);
            }
            match rest {
                [] => Reply::json(&world::vm_model(sid, vm, ctx.expand_instance_view())),
                ["instanceview"] => Reply::json(&world::vm_instance_view(sid, vm)),
                _ => unknown_resource_type(ctx),
            }
        }
        ("microsoft.compute", "virtualmachinescalesets", []) => {
            let filter = ReadFilter::new(ctx, &rg_scope, VMSS_READ);
            let items: Vec<_> = sub
                .spec
                .scale_sets
                .iter()
                .filter(|ss| ss.resource_group.eq_ignore_ascii_case(rg))
                .filter(|ss| filter.allows(&world::scale_set_id(sid, &ss.resource_group, &ss.name)))
                .map(|ss| world::scale_set_model(sid, ss))
                .collect();
            ctx.page(items)
        }
        ("microsoft.compute", "virtualmachinescalesets", [_name, rest @ ..]) => {
            let name = seg(0);
            let Some(&idx) = sub
                .scale_set_index
                .get(&(rg.to_ascii_lowercase(), name.to_ascii_lowercase()))
            else {
                return Reply::resource_not_found(
                    "Microsoft.Compute/virtualMachineScaleSets",
                    name,
                    rg,
                );
            };
            let ss = &sub.spec.scale_sets[idx];
            let ss_id = world::scale_set_id(sid, &ss.resource_group, &ss.name);
            match rest {
                [] => {
                    if !ctx.world.allows(ctx.principal, &ss_id, VMSS_READ) {
                        return Reply::authorization_failed(ctx.principal, VMSS_READ, &ss_id);
                    }
                    Reply::json(&world::scale_set_model(sid, ss))
                }
                ["virtualmachines"] => {
                    if ss.orchestration_mode == "Flexible" {
                        return Reply::error(
                            400,
                            "OperationNotAllowed",
                            format!(
                                "Operation 'VMScaleSetVMs.List' is not allowed on Virtual Machine Scale Set '{}' with orchestration mode 'Flexible'; list the scale set's members as virtual machines.",
                                ss.name
                            ),
                        );
                    }
                    let filter = ReadFilter::new(ctx, &ss_id, VMSS_VM_READ);
                    let with_view = ctx.expand_instance_view();
                    let items: Vec<_> = ss
                        .instances
                        .iter()
                        .filter(|i| {
                            filter.allows(&format!("{ss_id}/virtualMachines/{}", i.instance_id))
                        })
                        .map(|i| world::instance_model(sid, ss, i, with_view))
                        .collect();
                    ctx.page(items)
                }
                ["virtualmachines", _id, inner @ ..] => {
                    let instance_id = seg(2);
                    let Some(inst) = ss.instances.iter().find(|i| i.instance_id == instance_id)
                    else {
                        return Reply::resource_not_found(
                            "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
                            &format!("{}/{instance_id}", ss.name),
                            rg,
                        );
                    };
                    let id = format!("{ss_id}/virtualMachines/{instance_id}");
                    if !ctx.world.allows(ctx.principal, &id, VMSS_VM_READ) {
                        return Reply::authorization_failed(ctx.principal, VMSS_VM_READ, &id);
                    }
                    match inner {
                        [] => Reply::json(&world::instance_model(
                            sid,
                            ss,
                            inst,
                            ctx.expand_instance_view(),
                        )),
                        ["instanceview"] => Reply::json(&world::instance_view_of(sid, ss, inst)),
                        _ => unknown_resource_type(ctx),
                    }
                }
                _ => unknown_resource_type(ctx),
            }
        }
        ("microsoft.storage", "storageaccounts", []) => {
            let filter = ReadFilter::new(ctx, &rg_scope, STORAGE_READ);
            let items: Vec<_> = sub
                .spec
                .storage_accounts
                .iter()
                .filter(|sa| sa.resource_group.eq_ignore_ascii_case(rg))
                .filter(|sa| filter.allows(&world::storage_id(sid, &sa.resource_group, &sa.name)))
                .map(|sa| world::storage_model(sid, sa))
                .collect();
            ctx.page(items)
        }
        ("microsoft.storage", "storageaccounts", [_name]) => {
            let name = seg(0);
            let Some(&idx) = sub
                .storage_index
                .get(&(rg.to_ascii_lowercase(), name.to_ascii_lowercase()))
            else {
                return Reply::resource_not_found("Microsoft.Storage/storageAccounts", name, rg);
            };
            let sa = &sub.spec.storage_accounts[idx];
            let id = world::storage_id(sid, &sa.resource_group, &sa.name);
            if !ctx.world.allows(ctx.principal, &id, STORAGE_READ) {
                return Reply::authorization_failed(ctx.principal, STORAGE_READ, &id);
            }
            Reply::json(&world::storage_model(sid, sa))
        }
        _ => unknown_resource_type(ctx),
    }
}

/// `{scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions|permissions|locks}`.
fn authorization(ctx: &Ctx, scope: &str, rest: &[&str]) -> Reply {
    let norm = authz::canonical(scope);
    let segs: Vec<&str> = norm.split('/').filter(|s| !s.is_empty()).collect();
    // A subscription-rooted scope must name a served subscription the caller can see.
    let sub = if segs.first() == Some(&"subscriptions") && segs.len() >= 2 {
        let Some(sub) = ctx.world.sub(segs[1]) else {
            return Reply::subscription_not_found(segs[1]);
        };
        if let Some(reply) = check_subscription_access(ctx, sub) {
            return reply;
        }
        Some(sub)
    } else {
        None
    };
    match rest {
        ["roleassignments"] => role_assignments(ctx, scope),
        ["roledefinitions"] => role_definitions(ctx),
        ["roledefinitions", _id] => {
            let guid = ctx.segs[ctx.segs.len() - 1].to_ascii_lowercase();
            match ctx.world.roles.iter().find(|r| r.guid == guid) {
                Some(r) => Reply::json(&scoped_role_definition(&r.model, scope)),
                None => Reply::error(
                    404,
                    "RoleDefinitionDoesNotExist",
                    "The specified role definition with ID '".to_string()
                        + &guid
                        + "' does not exist.",
                ),
            }
        }
        // Documented for resource groups and resources only (Permissions_ListForResourceGroup,
        // Permissions_ListForResource).
        ["permissions"] if segs.len() < 4 || segs[2] != "resourcegroups" => Reply::error(
            404,
            "InvalidResourceType",
            format!("The resource type 'permissions' could not be found in the namespace 'Microsoft.Authorization' for scope '{scope}'."),
        ),
        ["permissions"] => {
            // Permissions_ListForResourceGroup / _ListForResource: the permission blocks of every
            // role assigned to the caller (directly or through a group) at or above the scope,
            // as GetResourcePermissions.json shows them.
            let value: Vec<Permission> = ctx
                .world
                .effective_assignments(ctx.principal, scope)
                .flat_map(|a| {
                    ctx.world.roles[a.role]
                        .model
                        .properties
                        .as_ref()
                        .and_then(|p| p.permissions.clone())
                        .unwrap_or_default()
                })
                .collect();
            let mut reply = Reply::json(&Page {
                value,
                next_link: None,
            });
            reply.is_page = true;
            reply
        }
        ["denyassignments"] => {
            let filter = ctx.param("$filter").unwrap_or("").to_ascii_lowercase();
            let items: Vec<_> = ctx
                .world
                .denies
                .iter()
                .filter(|(s, _)| {
                    ctx.world.reaches(s, &norm)
                        || (!filter.contains("atscope()") && authz::within(s, &norm))
                })
                .map(|(_, m)| m.clone())
                .collect();
            ctx.page(items)
        }
        ["locks"] => match sub {
            Some(sub) => locks(ctx, sub, &norm),
            None => unknown_resource_type(ctx),
        },
        _ => unknown_resource_type(ctx),
    }
}

fn scoped_role_definition(model: &RoleDefinition, _scope: &str) -> RoleDefinition {
    model.clone()
}

fn role_definitions(ctx: &Ctx) -> Reply {
    let filter = ctx.param("$filter").unwrap_or("");
    let wanted_name = extract_quoted(filter, "rolename eq");
    let custom_only = filter.to_ascii_lowercase().contains("type eq 'customrole'");
    let items: Vec<RoleDefinition> = ctx
        .world
        .roles
        .iter()
        .filter(|r| {
            wanted_name
                .as_deref()
                .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
        })
        .filter(|r| {
            !custom_only
                || r.model
                    .properties
                    .as_ref()
                    .and_then(|p| p.role_type.as_deref())
                    .is_some_and(|t| t == "CustomRole")
        })
        .map(|r| r.model.clone())
        .collect();
    ctx.page(items)
}

/// The quoted value after `key` in an OData filter, e.g. `principalId eq 'x'` → `x`.
fn extract_quoted(filter: &str, key: &str) -> Option<String> {
    let lower = filter.to_ascii_lowercase();
    let at = lower.find(key)? + key.len();
    let rest = &filter[at..];
    let open = rest.find('\'')?;
    let close = rest[open + 1..].find('\'')?;
    Some(rest[open + 1..open + 1 + close].to_string())
}

fn role_assignments(ctx: &Ctx, scope: &str) -> Reply {
    const ACTION: &str = "Microsoft.Authorization/roleAssignments/read";
    if !ctx.world.allows(ctx.principal, scope, ACTION) {
        return Reply::authorization_failed(ctx.principal, ACTION, scope);
    }
    let filter = ctx.param("$filter").unwrap_or("");
    let lower = filter.to_ascii_lowercase();
    let norm = authz::canonical(scope);
    let at_or_above = |s: &str| ctx.world.reaches(s, &norm);
    let below = |s: &str| authz::within(s, &norm);
    let principal_filter = extract_quoted(filter, "principalid eq");
    let assigned_to = lower
        .find("assignedto(")
        .and_then(|_| extract_quoted(filter, "assignedto("));
    let items: Vec<RoleAssignment> = ctx
        .world
        .assignments
        .iter()
        .filter(|a| {
            if lower.contains("atscope()") {
                at_or_above(&a.scope_norm)
            } else {
                at_or_above(&a.scope_norm) || below(&a.scope_norm)
            }
        })
        .filter(|a| {
            principal_filter
                .as_deref()
                .is_none_or(|p| a.principal.eq_ignore_ascii_case(p))
        })
        .filter(|a| {
            assigned_to
                .as_deref()
                .is_none_or(|p| ctx.world.assignment_applies_to(a, &p.to_ascii_lowercase()))
        })
        .map(|a| ctx.world.assignment_model(a))
        .collect();
    ctx.page(items)
}

fn locks(ctx: &Ctx, sub: &SubWorld, scope_norm: &str) -> Reply {
    let sid = &sub.spec.id;
    let items: Vec<_> = sub
        .spec
        .locks
        .iter()
        .map(|l: &LockSpec| world::lock_model(sid, l))
        .filter(|m| {
            let id = m.id.as_deref().unwrap_or("");
            let lock_scope = id
                .to_ascii_lowercase()
                .split("/providers/microsoft.authorization/locks/")
                .next()
                .unwrap_or("")
                .to_string();
            authz::within(&lock_scope, scope_norm)
        })
        .collect();
    ctx.page(items)
}
