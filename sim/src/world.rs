//! The fleet, indexed for serving: look-ups by id, principals with their transitive groups, role
//! assignments ready for evaluation, and builders that turn fleet entries into ARM models one
//! item at a time (the whole fleet is never serialised at once).

use super::fleet::*;
use super::rbac_data::{builtin_roles, RoleDef};
use crate::authz;
use crate::wire::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A principal with the groups it belongs to, directly or transitively.
#[derive(Clone, Debug)]
pub struct PrincipalInfo {
    /// Object id (lower case).
    pub id: String,
    /// Kind.
    pub principal_type: PrincipalType,
    /// Home tenant.
    pub tenant: String,
    /// Object ids of all groups containing this principal (lower case).
    pub groups: Vec<String>,
    /// Whether this is the host's managed identity.
    pub managed_identity: bool,
    /// May read group memberships in Microsoft Graph.
    pub graph_reader: bool,
}

/// A role assignment resolved against its role definition.
#[derive(Clone, Debug)]
pub struct AssignmentInfo {
    /// Assignment GUID.
    pub guid: String,
    /// Principal object id (lower case).
    pub principal: String,
    /// Principal kind.
    pub principal_type: PrincipalType,
    /// Index into [`World::roles`].
    pub role: usize,
    /// Scope as written in the fleet.
    pub scope: String,
    /// Normalised scope.
    pub scope_norm: String,
    /// ABAC condition, if any.
    pub condition: Option<String>,
}

/// A subscription with look-up tables for its resources.
#[derive(Debug)]
pub struct SubWorld {
    /// The fleet entry.
    pub spec: SubscriptionSpec,
    /// Owning tenant.
    pub tenant: String,
    /// Management groups above the subscription, nearest first.
    pub management_groups: Vec<String>,
    /// VM index by (resource group, name), lower case.
    pub vm_index: HashMap<(String, String), usize>,
    /// Scale set index by (resource group, name), lower case.
    pub scale_set_index: HashMap<(String, String), usize>,
    /// Storage account index by (resource group, name), lower case.
    pub storage_index: HashMap<(String, String), usize>,
    /// Resource groups (lower-case name to display name and location).
    pub resource_groups: BTreeMap<String, (String, String)>,
}

/// Everything the simulator serves, indexed.
#[derive(Debug)]
pub struct World {
    /// The fleet as loaded.
    pub tenants: Vec<String>,
    /// Principals by lower-case object id.
    pub principals: HashMap<String, PrincipalInfo>,
    /// Client id to (principal id, secret).
    pub clients: HashMap<String, (String, Option<String>)>,
    /// Subscriptions in fleet order.
    pub subs: Vec<SubWorld>,
    /// Subscription index by lower-case id.
    pub sub_index: HashMap<String, usize>,
    /// Built-in and custom role definitions.
    pub roles: Vec<RoleDef>,
    /// Role assignments.
    pub assignments: Vec<AssignmentInfo>,
    /// Deny assignments with their normalised scope.
    pub denies: Vec<(String, DenyAssignment)>,
    /// Management group parents.
    pub mg_parent: HashMap<String, Option<String>>,
    /// Management groups by lower-case name: (name as written, display name), in fleet order
    /// through [`World::mg_order`].
    pub mg_names: HashMap<String, (String, String)>,
    /// Lower-case management group names in fleet order.
    pub mg_order: Vec<String>,
    /// Blob hosts of every storage account that exists (served or external), lower case.
    pub blob_hosts: HashSet<String>,
    /// Page size from the fleet file, if set.
    pub page_size: Option<usize>,
}

/// The ARM id of a subscription.
pub fn sub_id(sub: &str) -> String {
    format!("/subscriptions/{sub}")
}

/// The ARM id of a resource group.
pub fn rg_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

/// The ARM id of a VM.
pub fn vm_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

/// The ARM id of a scale set.
pub fn scale_set_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}")
}

/// The ARM id of a storage account.
pub fn storage_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}")
}

/// The blob endpoint of an account: the configured one or the public-cloud default.
pub fn blob_endpoint(name: &str, configured: Option<&str>) -> String {
    configured
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://{name}.blob.core.windows.net/"))
}

/// The lower-case host of a URL-ish string, if it has one.
pub fn host_of(uri: &str) -> Option<String> {
    url::Url::parse(uri)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
}

/// A deterministic GUID-shaped id derived from a string (for vmIds and assignment names).
pub fn stable_guid(seed: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl World {
    /// Indexes a validated fleet.
    pub fn build(fleet: &Fleet) -> World {
        let default_tenant = fleet.tenants[0].id.clone();
        // Principals and transitive groups.
        let direct: HashMap<String, Vec<String>> = fleet
            .principals
            .iter()
            .map(|p| {
                (
                    p.id.to_ascii_lowercase(),
                    p.member_of.iter().map(|g| g.to_ascii_lowercase()).collect(),
                )
            })
            .collect();
        let mut principals = HashMap::new();
        let mut clients = HashMap::new();
        for p in &fleet.principals {
            let id = p.id.to_ascii_lowercase();
            let mut seen = HashSet::new();
            let mut stack = direct.get(&id).cloned().unwrap_or_default();
            while let Some(g) = stack.pop() {
                if seen.insert(g.clone()) {
                    stack.extend(direct.get(&g).cloned().unwrap_or_default());
                }
            }
            let mut groups: Vec<String> = seen.into_iter().collect();
            groups.sort();
            principals.insert(
                id.clone(),
                PrincipalInfo {
                    id: id.clone(),
                    principal_type: p.principal_type,
                    tenant: p.tenant.clone().unwrap_or_else(|| default_tenant.clone()),
                    groups,
                    managed_identity: p.managed_identity,
                    graph_reader: p.graph_reader,
                },
            );
            if let Some(c) = &p.client_id {
                clients.insert(c.to_ascii_lowercase(), (id, p.client_secret.clone()));
            }
        }
        // Roles.
        let mut roles: Vec<RoleDef> = builtin_roles().to_vec();
        roles.extend(fleet.custom_roles.iter().map(RoleDef::custom));
        let assignments = fleet
            .role_assignments
            .iter()
            .map(|a| {
                let role = roles
                    .iter()
                    .position(|r| r.matches(&a.role))
                    .expect("validated role");
                let principal = a.principal.to_ascii_lowercase();
                let principal_type = principals
                    .get(&principal)
                    .map(|p| p.principal_type)
                    .unwrap_or(PrincipalType::User);
                AssignmentInfo {
                    guid: a.id.clone().unwrap_or_else(|| {
                        stable_guid(&format!("{}|{}|{}", a.principal, a.role, a.scope))
                    }),
                    principal,
                    principal_type,
                    role,
                    scope: a.scope.clone(),
                    scope_norm: authz::canonical(&a.scope),
                    condition: a.condition.clone(),
                }
            })
            .collect();
        let mg_parent: HashMap<String, Option<String>> = fleet
            .management_groups
            .iter()
            .map(|m| (m.name.to_ascii_lowercase(), m.parent.clone()))
            .collect();
        let mg_names: HashMap<String, (String, String)> = fleet
            .management_groups
            .iter()
            .map(|m| {
                (
                    m.name.to_ascii_lowercase(),
                    (
                        m.name.clone(),
                        m.display_name.clone().unwrap_or_else(|| m.name.clone()),
                    ),
                )
            })
            .collect();
        let mg_order: Vec<String> = fleet
            .management_groups
            .iter()
            .map(|m| m.name.to_ascii_lowercase())
            .collect();
        // Subscriptions.
        let mut subs = Vec::new();
        let mut sub_index = HashMap::new();
        let mut blob_hosts = HashSet::new();
        for spec in &fleet.subscriptions {
            let mut mgs = Vec::new();
            let mut cur = spec.management_group.clone();
            while let Some(m) = cur {
                if mgs.contains(&m) {
                    break;
                }
                cur = mg_parent.get(&m.to_ascii_lowercase()).cloned().flatten();
                mgs.push(m);
            }
            let mut resource_groups = BTreeMap::new();
            for rg in &spec.resource_groups {
                resource_groups.insert(
                    rg.name.to_ascii_lowercase(),
                    (rg.name.clone(), rg.location.clone()),
                );
            }
            let mut note_rg = |rg: &str, loc: &str| {
                resource_groups
                    .entry(rg.to_ascii_lowercase())
                    .or_insert_with(|| (rg.to_string(), loc.to_string()));
            };
            let key = |rg: &str, n: &str| (rg.to_ascii_lowercase(), n.to_ascii_lowercase());
            let mut vm_index = HashMap::new();
            for (i, vm) in spec.vms.iter().enumerate() {
                vm_index.insert(key(&vm.resource_group, &vm.name), i);
                note_rg(&vm.resource_group, &vm.location);
            }
            let mut scale_set_index = HashMap::new();
            for (i, ss) in spec.scale_sets.iter().enumerate() {
                scale_set_index.insert(key(&ss.resource_group, &ss.name), i);
                note_rg(&ss.resource_group, &ss.location);
            }
            let mut storage_index = HashMap::new();
            for (i, sa) in spec.storage_accounts.iter().enumerate() {
                storage_index.insert(key(&sa.resource_group, &sa.name), i);
                note_rg(&sa.resource_group, &sa.location);
                if let Some(h) = host_of(&blob_endpoint(&sa.name, sa.blob_endpoint.as_deref())) {
                    blob_hosts.insert(h);
                }
            }
            for l in &spec.locks {
                if let Some(rg) = &l.resource_group {
                    note_rg(rg, "westeurope");
                }
            }
            sub_index.insert(spec.id.to_ascii_lowercase(), subs.len());
            subs.push(SubWorld {
                tenant: fleet.tenant_of(spec),
                spec: spec.clone(),
                management_groups: mgs,
                vm_index,
                scale_set_index,
                storage_index,
                resource_groups,
            });
        }
        for ext in &fleet.external_storage_accounts {
            if let Some(h) = host_of(&blob_endpoint(&ext.name, ext.blob_endpoint.as_deref())) {
                blob_hosts.insert(h);
            }
        }
        let denies = fleet
            .deny_assignments
            .iter()
            .map(|d| {
                let guid = stable_guid(&format!("deny|{}|{}", d.name, d.scope));
                let prefix = if authz::canonical(&d.scope) == "/" {
                    String::new()
                } else {
                    d.scope.trim_end_matches('/').to_string()
                };
                let who = |ids: &Vec<String>| -> Vec<DenyPrincipal> {
                    ids.iter()
                        .map(|id| DenyPrincipal {
                            id: id.clone().into(),
                            principal_type: if id == EVERYONE {
                                "SystemDefined".to_string()
                            } else {
                                principals
                                    .get(&id.to_ascii_lowercase())
                                    .map(|p: &PrincipalInfo| p.principal_type.as_str().to_string())
                                    .unwrap_or_else(|| "User".to_string())
                            }
                            .into(),
                        })
                        .collect()
                };
                let model = DenyAssignment {
                    id: format!(
                        "{prefix}/providers/Microsoft.Authorization/denyAssignments/{guid}"
                    )
                    .into(),
                    name: guid.clone().into(),
                    resource_type: "Microsoft.Authorization/denyAssignments".to_string().into(),
                    properties: DenyAssignmentProperties {
                        deny_assignment_name: d.name.clone().into(),
                        permissions: vec![Permission {
                            actions: d.actions.clone().into(),
                            not_actions: d.not_actions.clone().into(),
                            data_actions: Vec::<String>::new().into(),
                            not_data_actions: Vec::<String>::new().into(),
                        }]
                        .into(),
                        scope: d.scope.clone().into(),
                        do_not_apply_to_child_scopes: d.do_not_apply_to_child_scopes.into(),
                        principals: who(&d.principals).into(),
                        exclude_principals: who(&d.exclude_principals).into(),
                        is_system_protected: false.into(),
                    }
                    .into(),
                };
                (authz::canonical(&d.scope), model)
            })
            .collect();
        World {
            denies,
            tenants: fleet.tenants.iter().map(|t| t.id.clone()).collect(),
            principals,
            clients,
            subs,
            sub_index,
            roles,
            assignments,
            mg_parent,
            blob_hosts,
            mg_names,
            mg_order,
            page_size: fleet.settings.page_size,
        }
    }

    /// The subscription with this id, if served.
    pub fn sub(&self, id: &str) -> Option<&SubWorld> {
        self.sub_index
            .get(&id.to_ascii_lowercase())
            .map(|&i| &self.subs[i])
    }

    /// Management groups above a scope (nearest first), for scope containment.
    pub fn management_groups_above(&self, scope: &str) -> Vec<String> {
        let norm = authz::canonical(scope);
        let segs: Vec<&str> = norm.split('/').filter(|s| !s.is_empty()).collect();
        if segs.len() >= 2 && segs[0] == "subscriptions" {
            return self
                .sub(segs[1])
                .map(|s| s.management_groups.clone())
                .unwrap_or_default();
        }
        if segs.len() == 4 && segs[0] == "providers" && segs[2] == "managementgroups" {
            let mut out = Vec::new();
            let mut cur = self.mg_parent.get(segs[3]).cloned().flatten();
            while let Some(m) = cur {
                if out.contains(&m) {
                    break;
                }
                cur = self
                    .mg_parent
                    .get(&m.to_ascii_lowercase())
                    .cloned()
                    .flatten();
                out.push(m);
            }
            return out;
        }
        Vec::new()
    }

    /// Whether an assignment (role or deny) at scope `outer` reaches scope `inner` (both
    /// canonical, see [`authz::canonical`]): the root reaches everything; a management group
    /// reaches itself, the groups below it and their subscriptions with everything in them;
    /// any other scope reaches itself and what lies below it.
    pub fn reaches(&self, outer: &str, inner: &str) -> bool {
        if outer == "/" || outer == inner {
            return true;
        }
        match outer.strip_prefix(authz::MANAGEMENT_GROUP_PREFIX) {
            Some(group) => self
                .management_groups_above(inner)
                .iter()
                .any(|m| m.eq_ignore_ascii_case(group)),
            None => authz::within(inner, outer),
        }
    }

    /// True when the principal (or one of its groups) is the assignment's principal.
    pub fn assignment_applies_to(&self, a: &AssignmentInfo, principal: &str) -> bool {
        if a.principal == principal {
            return true;
        }
        self.principals
            .get(principal)
            .is_some_and(|p| p.groups.contains(&a.principal))
    }

    /// Assignments effective for `principal` at `scope` (at or above it, direct or via groups).
    pub fn effective_assignments<'a>(
        &'a self,
        principal: &'a str,
        scope: &str,
    ) -> impl Iterator<Item = &'a AssignmentInfo> + 'a {
        let scope = authz::canonical(scope);
        self.assignments.iter().filter(move |a| {
            self.assignment_applies_to(a, principal) && self.reaches(&a.scope_norm, &scope)
        })
    }

    /// True when `principal` may perform `action` at `scope` (conditions are ignored: the
    /// simulator treats a conditional assignment as granting, as Azure does for reads).
    pub fn allows(&self, principal: &str, scope: &str, action: &str) -> bool {
        self.effective_assignments(principal, scope)
            .any(|a| self.roles[a.role].grants.iter().any(|g| g.allows(action)))
    }

    /// True when the principal has any assignment at, above or below the subscription: such a
    /// principal sees the subscription; anyone else gets `AuthorizationFailed`. A role whose
    /// every action is a management-group action (`Microsoft.Management/*`) grants nothing on
    /// the subscriptions below its group, so it does not make them visible.
    pub fn can_see_subscription(&self, principal: &str, sub: &SubWorld) -> bool {
        let sid = authz::canonical(&sub_id(&sub.spec.id));
        self.assignments.iter().any(|a| {
            self.assignment_applies_to(a, principal)
                && (self.reaches(&a.scope_norm, &sid) || authz::within(&a.scope_norm, &sid))
                && !management_group_only(&self.roles[a.role])
        })
    }

    /// The ARM model of a role assignment.
    pub fn assignment_model(&self, a: &AssignmentInfo) -> RoleAssignment {
        let scope_prefix = if a.scope_norm == "/" {
            String::new()
        } else {
            a.scope.trim_end_matches('/').to_string()
        };
        RoleAssignment {
            id: format!(
                "{scope_prefix}/providers/Microsoft.Authorization/roleAssignments/{}",
                a.guid
            )
            .into(),
            name: a.guid.clone().into(),
            resource_type: "Microsoft.Authorization/roleAssignments".to_string().into(),
            properties: RoleAssignmentProperties {
                // ARM names the definition under the assignment's subscription when there is one.
                role_definition_id: format!(
                    "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                    subscription_prefix(&a.scope),
                    self.roles[a.role].guid
                )
                .into(),
                principal_id: a.principal.clone().into(),
                principal_type: a.principal_type.as_str().to_string().into(),
                scope: a.scope.clone().into(),
                condition: a.condition.clone(),
                condition_version: a.condition.as_ref().map(|_| "2.0".to_string()),
            }
            .into(),
        }
    }
}

/// `/subscriptions/{id}` when the scope lies in a subscription, else empty.
fn subscription_prefix(scope: &str) -> String {
    let mut segs = scope.split('/').filter(|s| !s.is_empty());
    match (segs.next(), segs.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => {
            format!("/subscriptions/{id}")
        }
        _ => String::new(),
    }
}

fn status(code: &str, level: &str, display: &str) -> InstanceViewStatus {
    InstanceViewStatus {
        code: code.to_string().into(),
        level: level.to_string().into(),
        display_status: display.to_string().into(),
        ..Default::default()
    }
}

/// Instance-view statuses for a provisioning and power state.
pub fn statuses(provisioning: &str, power: &str) -> Vec<InstanceViewStatus> {
    let prov_lower = provisioning.to_ascii_lowercase();
    let level = if prov_lower == "failed" {
        "Error"
    } else {
        "Info"
    };
    let mut v = vec![status(
        &format!("ProvisioningState/{prov_lower}"),
        level,
        &format!("Provisioning {prov_lower}"),
    )];
    if power != "absent" {
        let display = match power {
            "running" => "VM running",
            "stopped" => "VM stopped",
            "deallocated" => "VM deallocated",
            "starting" => "VM starting",
            "stopping" => "VM stopping",
            "deallocating" => "VM deallocating",
            _ => "VM status unknown",
        };
        v.push(status(&format!("PowerState/{power}"), "Info", display));
    }
    v
}

fn boot_diag_model(b: &Option<BootDiagnosticsSpec>) -> Option<DiagnosticsProfile> {
    match b {
        None => None,
        Some(b) => DiagnosticsProfile {
            boot_diagnostics: BootDiagnostics {
                enabled: b.enabled.into(),
                storage_uri: b.storage_uri.clone(),
            }
            .into(),
        }
        .into(),
    }
}

fn boot_diag_view(
    b: &Option<BootDiagnosticsSpec>,
    status_spec: &Option<StatusSpec>,
    vm_name: &str,
    vm_guid: &str,
) -> Option<BootDiagnosticsInstanceView> {
    let mut view = BootDiagnosticsInstanceView::default();
    let mut any = false;
    if let Some(BootDiagnosticsSpec {
        enabled: true,
        storage_uri: Some(uri),
    }) = b
    {
        let base = uri.trim_end_matches('/');
        let prefix: String = vm_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(9)
            .collect::<String>()
            .to_ascii_lowercase();
        let container = format!("{base}/bootdiagnostics-{prefix}-{vm_guid}");
        view.console_screenshot_blob_uri =
            format!("{container}/{vm_name}.{vm_guid}.screenshot.bmp").into();
        view.serial_console_log_blob_uri =
            format!("{container}/{vm_name}.{vm_guid}.serialconsole.log").into();
        any = true;
    }
    if let Some(s) = status_spec {
        view.status = InstanceViewStatus {
            code: s.code.clone().into(),
            level: s.level.clone().into(),
            display_status: "Boot diagnostics error".to_string().into(),
            message: s.message.clone(),
            ..Default::default()
        }
        .into();
        any = true;
    }
    if any {
        view.into()
    } else {
        None
    }
}

fn os_profile(
    name: &str,
    os_type: &str,
    disable_password_authentication: Option<bool>,
) -> OsProfile {
    let mut p = OsProfile {
        computer_name: name.to_string().into(),
        admin_username: "azureuser".to_string().into(),
        ..Default::default()
    };
    if os_type == "Windows" {
        p.windows_configuration = WindowsConfiguration {
            provision_vm_agent: true.into(),
        }
        .into();
    } else {
        p.linux_configuration = LinuxConfiguration {
            // ARM always reports the flag for Linux; it defaults to false.
            disable_password_authentication: disable_password_authentication
                .unwrap_or(false)
                .into(),
        }
        .into();
    }
    p
}

/// The `osProfile` of a scale set's model: `computerNamePrefix` where a VM has `computerName`
/// (Compute spec, `VirtualMachineScaleSetOSProfile`; VirtualMachineScaleSet_ListAll examples).
fn scale_set_os_profile(
    name: &str,
    os_type: &str,
    disable_password_authentication: Option<bool>,
) -> OsProfile {
    let mut p = os_profile(name, os_type, disable_password_authentication);
    p.computer_name_prefix = p.computer_name.take();
    p
}

fn security_profile(
    security_type: &Option<String>,
    secure_boot: Option<bool>,
    vtpm: Option<bool>,
) -> Option<SecurityProfile> {
    match security_type {
        None => None,
        Some(t) => SecurityProfile {
            security_type: t.clone().into(),
            uefi_settings: if secure_boot.is_some() || vtpm.is_some() {
                UefiSettings {
                    secure_boot_enabled: secure_boot,
                    v_tpm_enabled: vtpm,
                }
                .into()
            } else {
                None
            },
        }
        .into(),
    }
}

fn tags(t: &BTreeMap<String, String>) -> Option<Tags> {
    if t.is_empty() {
        None
    } else {
        t.clone().into()
    }
}

/// The instance view of a VM.
pub fn vm_instance_view(sub: &str, vm: &VmSpec) -> InstanceView {
    let guid = stable_guid(&vm_id(sub, &vm.resource_group, &vm.name));
    let running = vm.power_state == "running";
    InstanceView {
        computer_name: if running {
            vm.name.clone().into()
        } else {
            None
        },
        os_name: None,
        vm_agent: if vm.power_state == "deallocated" {
            None
        } else {
            VmAgentInstanceView {
                vm_agent_version: "2.7.41491.1102".to_string().into(),
                statuses: vec![if running {
                    status("ProvisioningState/succeeded", "Info", "Ready")
                } else {
                    InstanceViewStatus {
                        message: "VM status blob is found but not yet populated."
                            .to_string()
                            .into(),
                        ..status("ProvisioningState/Unavailable", "Warning", "Not Ready")
                    }
                }]
                .into(),
            }
            .into()
        },
        statuses: statuses(&vm.provisioning_state, &vm.power_state).into(),
        boot_diagnostics: boot_diag_view(
            &vm.boot_diagnostics,
            &vm.boot_diagnostics_status,
            &vm.name,
            &guid,
        ),
    }
}

/// The ARM model of a VM; `with_view` embeds the instance view.
pub fn vm_model(sub: &str, vm: &VmSpec, with_view: bool) -> VirtualMachine {
    let id = vm_id(sub, &vm.resource_group, &vm.name);
    let guid = stable_guid(&id);
    VirtualMachine {
        id: id.into(),
        name: vm.name.clone().into(),
        resource_type: "Microsoft.Compute/virtualMachines".to_string().into(),
        location: vm.location.clone().into(),
        tags: tags(&vm.tags),
        properties: VirtualMachineProperties {
            vm_id: guid.into(),
            provisioning_state: vm.provisioning_state.clone().into(),
            hardware_profile: HardwareProfile {
                vm_size: vm.size.clone().into(),
            }
            .into(),
            storage_profile: StorageProfile {
                os_disk: OsDisk {
                    os_type: vm.os_type.clone().into(),
                }
                .into(),
            }
            .into(),
            os_profile: os_profile(&vm.name, &vm.os_type, vm.disable_password_authentication)
                .into(),
            diagnostics_profile: boot_diag_model(&vm.boot_diagnostics),
            security_profile: security_profile(&vm.security_type, vm.secure_boot, vm.vtpm),
            virtual_machine_scale_set: match &vm.scale_set {
                Some(ss) => SubResource {
                    id: scale_set_id(sub, &vm.resource_group, ss).into(),
                }
                .into(),
                None => None,
            },
            instance_view: if with_view {
                vm_instance_view(sub, vm).into()
            } else {
                None
            },
        }
        .into(),
    }
}

/// A VM as the `statusOnly=true` listing returns it in [`StatusOnlyShape::Status`]: identity,
/// location, `vmId` and the instance view as `$expand=instanceView` serves it, nothing of the
/// model (the sources are in [`super::compute`]).
///
/// [`StatusOnlyShape::Status`]: super::compute::StatusOnlyShape::Status
pub fn vm_status_item(sub: &str, vm: &VmSpec) -> VmStatusItem {
    let id = vm_id(sub, &vm.resource_group, &vm.name);
    VmStatusItem {
        name: vm.name.clone(),
        resource_type: "Microsoft.Compute/virtualMachines",
        location: vm.location.clone(),
        properties: VmStatusProperties {
            vm_id: stable_guid(&id),
            instance_view: vm_instance_view(sub, vm),
        },
        id,
    }
}

/// An item of the `statusOnly=true` VM listing (see [`vm_status_item`]).
#[derive(Clone, serde::Serialize)]
pub struct VmStatusItem {
    id: String,
    name: String,
    #[serde(rename = "type")]
    resource_type: &'static str,
    location: String,
    properties: VmStatusProperties,
}

/// `properties` of a [`VmStatusItem`].
#[derive(Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmStatusProperties {
    vm_id: String,
    instance_view: InstanceView,
}

/// The ARM model of a scale set.
pub fn scale_set_model(sub: &str, ss: &ScaleSetSpec) -> VirtualMachineScaleSet {
    let id = scale_set_id(sub, &ss.resource_group, &ss.name);
    let flexible = ss.orchestration_mode == "Flexible";
    VirtualMachineScaleSet {
        id: id.clone().into(),
        name: ss.name.clone().into(),
        resource_type: "Microsoft.Compute/virtualMachineScaleSets"
            .to_string()
            .into(),
        location: ss.location.clone().into(),
        tags: tags(&ss.tags),
        sku: Sku {
            name: "Standard_B2s".to_string().into(),
            tier: "Standard".to_string().into(),
            capacity: (ss.instances.len() as i64).into(),
        }
        .into(),
        properties: ScaleSetProperties {
            provisioning_state: ss.provisioning_state.clone().into(),
            orchestration_mode: ss.orchestration_mode.clone().into(),
            upgrade_policy: if flexible {
                None
            } else {
                UpgradePolicy {
                    mode: "Manual".to_string().into(),
                }
                .into()
            },
            virtual_machine_profile: ScaleSetVmProfile {
                os_profile: scale_set_os_profile(
                    &ss.name,
                    &ss.os_type,
                    ss.disable_password_authentication,
                )
                .into(),
                storage_profile: StorageProfile {
                    os_disk: OsDisk {
                        os_type: ss.os_type.clone().into(),
                    }
                    .into(),
                }
                .into(),
                diagnostics_profile: boot_diag_model(&ss.boot_diagnostics),
                security_profile: security_profile(&ss.security_type, ss.secure_boot, None),
            }
            .into(),
            unique_id: stable_guid(&id).into(),
        }
        .into(),
    }
}

/// The boot diagnostics an instance carries: its own, or the scale set's model.
pub fn instance_boot_diagnostics(
    ss: &ScaleSetSpec,
    inst: &InstanceSpec,
) -> Option<BootDiagnosticsSpec> {
    inst.boot_diagnostics
        .clone()
        .or_else(|| ss.boot_diagnostics.clone())
}

/// The instance view of a Uniform instance.
pub fn instance_view_of(sub: &str, ss: &ScaleSetSpec, inst: &InstanceSpec) -> InstanceView {
    let id = format!(
        "{}/virtualMachines/{}",
        scale_set_id(sub, &ss.resource_group, &ss.name),
        inst.instance_id
    );
    let name = format!("{}_{}", ss.name, inst.instance_id);
    InstanceView {
        computer_name: None,
        os_name: None,
        vm_agent: None,
        statuses: statuses(&inst.provisioning_state, &inst.power_state).into(),
        boot_diagnostics: boot_diag_view(
            &instance_boot_diagnostics(ss, inst),
            &inst.boot_diagnostics_status,
            &name,
            &stable_guid(&id),
        ),
    }
}

/// The ARM model of a Uniform instance; `with_view` embeds the instance view.
pub fn instance_model(
    sub: &str,
    ss: &ScaleSetSpec,
    inst: &InstanceSpec,
    with_view: bool,
) -> ScaleSetVm {
    let id = format!(
        "{}/virtualMachines/{}",
        scale_set_id(sub, &ss.resource_group, &ss.name),
        inst.instance_id
    );
    let name = format!("{}_{}", ss.name, inst.instance_id);
    let mut merged_tags = ss.tags.clone();
    merged_tags.extend(inst.tags.clone());
    ScaleSetVm {
        id: id.clone().into(),
        name: name.clone().into(),
        resource_type: "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
            .to_string()
            .into(),
        instance_id: inst.instance_id.clone().into(),
        location: ss.location.clone().into(),
        tags: tags(&merged_tags),
        properties: ScaleSetVmProperties {
            latest_model_applied: inst.latest_model_applied.into(),
            vm_id: stable_guid(&id).into(),
            provisioning_state: inst.provisioning_state.clone().into(),
            os_profile: os_profile(&name, &ss.os_type, ss.disable_password_authentication).into(),
            storage_profile: StorageProfile {
                os_disk: OsDisk {
                    os_type: ss.os_type.clone().into(),
                }
                .into(),
            }
            .into(),
            diagnostics_profile: boot_diag_model(&instance_boot_diagnostics(ss, inst)),
            security_profile: security_profile(&ss.security_type, ss.secure_boot, None),
            instance_view: if with_view {
                instance_view_of(sub, ss, inst).into()
            } else {
                None
            },
        }
        .into(),
    }
}

/// The ARM model of a storage account.
pub fn storage_model(sub: &str, sa: &StorageAccountSpec) -> StorageAccount {
    StorageAccount {
        id: storage_id(sub, &sa.resource_group, &sa.name).into(),
        name: sa.name.clone().into(),
        resource_type: "Microsoft.Storage/storageAccounts".to_string().into(),
        location: sa.location.clone().into(),
        kind: sa.kind.clone().into(),
        sku: Sku {
            name: "Standard_LRS".to_string().into(),
            tier: "Standard".to_string().into(),
            capacity: None,
        }
        .into(),
        tags: tags(&sa.tags),
        properties: StorageAccountProperties {
            provisioning_state: "Succeeded".to_string().into(),
            is_hns_enabled: sa.is_hns_enabled,
            network_acls: NetworkAcls {
                default_action: sa
                    .network_default_action
                    .clone()
                    .unwrap_or_else(|| "Allow".to_string())
                    .into(),
                bypass: "AzureServices".to_string().into(),
            }
            .into(),
            allow_shared_key_access: sa.allow_shared_key_access,
            minimum_tls_version: sa.minimum_tls_version.clone(),
            primary_endpoints: Endpoints {
                blob: blob_endpoint(&sa.name, sa.blob_endpoint.as_deref()).into(),
            }
            .into(),
            allow_blob_public_access: false.into(),
        }
        .into(),
    }
}

/// The ARM model of a subscription.
pub fn subscription_model(sub: &SubWorld) -> Subscription {
    Subscription {
        id: sub_id(&sub.spec.id).into(),
        subscription_id: sub.spec.id.clone().into(),
        tenant_id: sub.tenant.clone().into(),
        display_name: sub.spec.display_name.clone().into(),
        state: sub.spec.state.clone().into(),
        authorization_source: "RoleBased".to_string().into(),
        managed_by_tenants: (!sub.spec.managed_by_tenants.is_empty()).then(|| {
            sub.spec
                .managed_by_tenants
                .iter()
                .map(|t| ManagedByTenant {
                    tenant_id: Some(t.clone()),
                })
                .collect()
        }),
    }
}

/// Whether a role's every action (and it has some) is a management-group action.
fn management_group_only(role: &RoleDef) -> bool {
    let mut actions = role.grants.iter().flat_map(|g| &g.actions).peekable();
    actions.peek().is_some()
        && actions.all(|x| x.to_ascii_lowercase().starts_with("microsoft.management/"))
}

/// The ARM id of a management group.
pub fn mg_id(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

impl World {
    /// Whether a token of `tenant` reaches the subscription: its own tenant's, or a tenant
    /// managing it through Azure Lighthouse.
    pub fn tenant_reaches(&self, tenant: &str, sub: &SubWorld) -> bool {
        sub.tenant.eq_ignore_ascii_case(tenant)
            || sub
                .spec
                .managed_by_tenants
                .iter()
                .any(|t| t.eq_ignore_ascii_case(tenant))
    }

    /// Everything below a management group, as `descendants` lists it: breadth first, each
    /// level's groups (in fleet order) before its subscriptions (in fleet order). `None` when
    /// the group does not exist.
    pub fn descendants(&self, group: &str) -> Option<Vec<Descendant>> {
        let key = group.to_ascii_lowercase();
        let (name, _) = self.mg_names.get(&key)?;
        let mut out = Vec::new();
        let mut level = vec![(key, name.clone())];
        let mut seen: HashSet<String> = level.iter().map(|(k, _)| k.clone()).collect();
        while !level.is_empty() {
            let mut next = Vec::new();
            for (parent_key, parent_name) in &level {
                let parent = || DescendantParent {
                    id: Some(mg_id(parent_name)),
                };
                for child in &self.mg_order {
                    let is_child = self
                        .mg_parent
                        .get(child)
                        .cloned()
                        .flatten()
                        .is_some_and(|p| p.eq_ignore_ascii_case(parent_key));
                    if is_child && seen.insert(child.clone()) {
                        let (child_name, display) = &self.mg_names[child];
                        out.push(Descendant {
                            id: Some(mg_id(child_name)),
                            resource_type: Some("Microsoft.Management/managementGroups".into()),
                            name: Some(child_name.clone()),
                            properties: Some(DescendantProperties {
                                display_name: Some(display.clone()),
                                parent: Some(parent()),
                            }),
                        });
                        next.push((child.clone(), child_name.clone()));
                    }
                }
                for sub in &self.subs {
                    if sub
                        .spec
                        .management_group
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(parent_key))
                    {
                        out.push(Descendant {
                            id: Some(sub_id(&sub.spec.id)),
                            resource_type: Some(
                                "Microsoft.Management/managementGroups/subscriptions".into(),
                            ),
                            name: Some(sub.spec.id.clone()),
                            properties: Some(DescendantProperties {
                                display_name: Some(sub.spec.display_name.clone()),
                                parent: Some(parent()),
                            }),
                        });
                    }
                }
            }
            level = next;
        }
        Some(out)
    }
}

/// The ARM model of a management lock.
pub fn lock_model(sub: &str, l: &LockSpec) -> ManagementLock {
    let scope = match (&l.resource_group, &l.resource) {
        (Some(rg), Some(res)) => {
            let provider = if res.to_ascii_lowercase().starts_with("storageaccounts/") {
                "Microsoft.Storage"
            } else {
                "Microsoft.Compute"
            };
            format!("{}/providers/{provider}/{res}", rg_id(sub, rg))
        }
        (Some(rg), None) => rg_id(sub, rg),
        _ => sub_id(sub),
    };
    ManagementLock {
        id: format!("{scope}/providers/Microsoft.Authorization/locks/{}", l.name).into(),
        name: l.name.clone().into(),
        resource_type: "Microsoft.Authorization/locks".to_string().into(),
        properties: LockProperties {
            level: l.level.clone().into(),
            notes: l.notes.clone(),
        }
        .into(),
    }
}
