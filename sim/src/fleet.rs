//! The fleet file: the Azure estate the simulator serves.
//!
//! A fleet is TOML or JSON (chosen by the file extension) with `schema_version = 1`. It names
//! tenants, principals, management groups, subscriptions with their resource groups, VMs, scale
//! sets, storage accounts and locks, custom roles and role assignments, and storage accounts that
//! exist outside every subscription the simulator serves. `docs/fleet-format.md` documents every
//! field. Loading validates references (a VM's storage URI, a role assignment's principal) and
//! reports errors with the file, line and field path.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The only fleet schema version this build understands.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// A whole simulated estate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// Must be [`FLEET_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Defaults the simulator serves this fleet with (overridable at start).
    #[serde(default, skip_serializing_if = "FleetSettings::is_default")]
    pub settings: FleetSettings,
    /// Entra ID tenants.
    #[serde(default)]
    pub tenants: Vec<Tenant>,
    /// Users, groups and service principals.
    #[serde(default)]
    pub principals: Vec<Principal>,
    /// Management groups (a tree; the root has no parent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub management_groups: Vec<ManagementGroup>,
    /// Custom role definitions (built-in roles are always present).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_roles: Vec<CustomRole>,
    /// Role assignments at any scope.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignmentSpec>,
    /// Deny assignments at any scope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_assignments: Vec<DenyAssignmentSpec>,
    /// Subscriptions and everything in them.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionSpec>,
    /// Storage accounts that exist (their blob host resolves) but in no subscription served here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_storage_accounts: Vec<ExternalStorageAccount>,
}

/// Serving defaults carried by a fleet file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSettings {
    /// Items per list page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<usize>,
    /// What the `statusOnly=true` VM listing returns (`status` or `full`); read by
    /// [`SimConfig::for_fleet`](super::SimConfig::for_fleet) and `scready sim serve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_only_shape: Option<super::compute::StatusOnlyShape>,
    /// Compute's throttling policies for VM reads; absent: Compute does not throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_throttle: Option<super::compute::ComputeThrottle>,
}

impl FleetSettings {
    fn is_default(&self) -> bool {
        self == &FleetSettings::default()
    }
}

/// An Entra ID tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Tenant GUID.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The kind of an Entra ID principal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    /// A human user.
    User,
    /// A security group.
    Group,
    /// An application or managed identity.
    ServicePrincipal,
}

impl PrincipalType {
    /// The ARM spelling (`principalType`).
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "User",
            PrincipalType::Group => "Group",
            PrincipalType::ServicePrincipal => "ServicePrincipal",
        }
    }
}

/// A user, group or service principal.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Object id (GUID).
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// User, Group or ServicePrincipal.
    #[serde(rename = "type")]
    pub principal_type: PrincipalType,
    /// Home tenant; defaults to the first tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Application (client) id, for signing in with a client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Client secret accepted by the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Groups this principal is a direct member of (object ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_of: Vec<String>,
    /// The managed identity of the host the scanner runs on (answers the managed-identity
    /// endpoint when the request names no client id).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed_identity: bool,
    /// May read group memberships in Microsoft Graph (`GroupMember.Read.All` or similar).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub graph_reader: bool,
}

/// A management group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementGroup {
    /// Group name (the last segment of its id).
    pub name: String,
    /// Parent group name; absent for a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Display name; defaults to the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A custom role definition.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRole {
    /// Role definition GUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Allowed actions (wildcards allowed).
    #[serde(default)]
    pub actions: Vec<String>,
    /// Actions subtracted from this role's `actions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    /// Allowed data actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_actions: Vec<String>,
    /// Where the role may be assigned; defaults to `/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignable_scopes: Vec<String>,
}

/// A role assignment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentSpec {
    /// Object id of the principal.
    pub principal: String,
    /// Role display name (`Reader`) or role definition GUID.
    pub role: String,
    /// Scope: `/`, `/providers/Microsoft.Management/managementGroups/{mg}`, a subscription,
    /// resource group or resource id.
    pub scope: String,
    /// ABAC condition, when the assignment has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Assignment GUID; derived from the other fields when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The object id that stands for every principal in a deny assignment.
pub const EVERYONE: &str = "00000000-0000-0000-0000-000000000000";

/// A deny assignment: the listed principals may not perform the actions at the scope.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyAssignmentSpec {
    /// Name.
    pub name: String,
    /// Scope, as for role assignments.
    pub scope: String,
    /// Denied actions (wildcards allowed).
    pub actions: Vec<String>,
    /// Actions exempted from `actions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    /// Principals denied (object ids; `00000000-0000-0000-0000-000000000000` is everyone).
    pub principals: Vec<String>,
    /// Principals exempted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_principals: Vec<String>,
    /// When true, child scopes are not covered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub do_not_apply_to_child_scopes: bool,
}

/// A subscription and its resources.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// Subscription GUID.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Owning tenant; defaults to the first tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `Enabled | Warned | PastDue | Disabled | Deleted`; default `Enabled`.
    #[serde(default = "default_state")]
    pub state: String,
    /// The subscription-wide Serial Console switch (`consoleServices/default`).
    #[serde(default)]
    pub console_disabled: bool,
    /// The management group directly above the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_group: Option<String>,
    /// Tenants that manage the subscription through Azure Lighthouse: their tokens reach it
    /// too, and the subscription listing names them in `managedByTenants`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_by_tenants: Vec<String>,
    /// Resource groups; groups referenced by resources are created implicitly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_groups: Vec<ResourceGroupSpec>,
    /// Storage accounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_accounts: Vec<StorageAccountSpec>,
    /// Virtual machines, including Flexible scale-set members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<VmSpec>,
    /// Scale sets with their Uniform instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_sets: Vec<ScaleSetSpec>,
    /// Management locks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<LockSpec>,
    /// Resource provider namespaces this subscription has not registered (any of
    /// [`REGISTRABLE_NAMESPACES`]): ARM answers every request to them with 409
    /// `MissingSubscriptionRegistration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered: Vec<String>,
}

/// The namespaces a fleet may mark as unregistered.
pub const REGISTRABLE_NAMESPACES: [&str; 3] = [
    "Microsoft.Compute",
    "Microsoft.Storage",
    "Microsoft.SerialConsole",
];

impl SubscriptionSpec {
    /// Whether the subscription has not registered `namespace` (case-insensitive).
    pub fn is_unregistered(&self, namespace: &str) -> bool {
        self.unregistered
            .iter()
            .any(|n| n.eq_ignore_ascii_case(namespace))
    }
}

fn default_state() -> String {
    "Enabled".to_string()
}

/// A resource group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroupSpec {
    /// Name.
    pub name: String,
    /// Region.
    #[serde(default = "default_location")]
    pub location: String,
}

fn default_location() -> String {
    "westeurope".to_string()
}

/// A storage account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageAccountSpec {
    /// Account name (3–24 lowercase letters and digits).
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    #[serde(default = "default_location")]
    pub location: String,
    /// `Storage | StorageV2 | BlobStorage | FileStorage | BlockBlobStorage`; default `StorageV2`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Data Lake Storage Gen2 (hierarchical namespace); absent when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hns_enabled: Option<bool>,
    /// Firewall default action, `Allow` or `Deny`; default `Allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_default_action: Option<String>,
    /// Shared key access; absent means the platform default (allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_shared_key_access: Option<bool>,
    /// `TLS1_0 | TLS1_1 | TLS1_2 | TLS1_3`; absent when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_tls_version: Option<String>,
    /// Blob endpoint; default `https://{name}.blob.core.windows.net/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_endpoint: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

fn default_kind() -> String {
    "StorageV2".to_string()
}

/// A storage account that exists in Azure but in no subscription this fleet serves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalStorageAccount {
    /// Account name.
    pub name: String,
    /// Blob endpoint; default `https://{name}.blob.core.windows.net/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_endpoint: Option<String>,
}

/// `diagnosticsProfile.bootDiagnostics` as it appears in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootDiagnosticsSpec {
    /// Whether boot diagnostics are on.
    pub enabled: bool,
    /// Custom storage URI (may be `http://`); absent with `enabled = true` means managed storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_uri: Option<String>,
}

/// An instance-view status entry (e.g. a boot-diagnostics error).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    /// Status code.
    pub code: String,
    /// `Info | Warning | Error`.
    pub level: String,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The `sacsvr` service as a guest Run Command would report it (Windows only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SacServiceSpec {
    /// `Automatic | Manual | Disabled`.
    pub start_type: String,
    /// `Running | Stopped`.
    pub state: String,
}

/// A virtual machine (standalone or a Flexible scale-set member).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    /// Name.
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    #[serde(default = "default_location")]
    pub location: String,
    /// `Linux | Windows`; default `Linux`.
    #[serde(default = "default_os")]
    pub os_type: String,
    /// VM size.
    #[serde(default = "default_size")]
    pub size: String,
    /// `starting | running | stopping | stopped | deallocating | deallocated | unknown`, or
    /// `absent` for an instance view without a power state; default `running`.
    #[serde(default = "default_power")]
    pub power_state: String,
    /// Provisioning state; default `Succeeded`.
    #[serde(default = "default_provisioning")]
    pub provisioning_state: String,
    /// Boot diagnostics in the model; absent means no `diagnosticsProfile` at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_diagnostics: Option<BootDiagnosticsSpec>,
    /// An error status in the instance view's boot diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_diagnostics_status: Option<StatusSpec>,
    /// `TrustedLaunch | ConfidentialVM | Standard`; absent for a standard VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_type: Option<String>,
    /// UEFI secure boot (TrustedLaunch / ConfidentialVM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_boot: Option<bool>,
    /// vTPM (TrustedLaunch / ConfidentialVM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtpm: Option<bool>,
    /// Linux: `disablePasswordAuthentication`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_password_authentication: Option<bool>,
    /// Name of the Flexible scale set (same subscription and resource group) this VM belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_set: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Windows guest: the `sacsvr` service as Run Command reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sac_service: Option<SacServiceSpec>,
    /// How Run Command ends on this VM: `succeeded` (default), `failed` or `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_command: Option<String>,
}

fn default_os() -> String {
    "Linux".to_string()
}
fn default_size() -> String {
    "Standard_B2s".to_string()
}
fn default_power() -> String {
    "running".to_string()
}
fn default_provisioning() -> String {
    "Succeeded".to_string()
}
fn default_orchestration() -> String {
    "Uniform".to_string()
}
fn default_true() -> bool {
    true
}

/// A scale set; Uniform ones carry their instances here, Flexible members are VMs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleSetSpec {
    /// Name.
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    #[serde(default = "default_location")]
    pub location: String,
    /// `Uniform | Flexible`; default `Uniform`.
    #[serde(default = "default_orchestration")]
    pub orchestration_mode: String,
    /// `Linux | Windows`; default `Linux`.
    #[serde(default = "default_os")]
    pub os_type: String,
    /// Provisioning state; default `Succeeded`.
    #[serde(default = "default_provisioning")]
    pub provisioning_state: String,
    /// Boot diagnostics in the scale set's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_diagnostics: Option<BootDiagnosticsSpec>,
    /// Security type of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_type: Option<String>,
    /// UEFI secure boot of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_boot: Option<bool>,
    /// Linux: `disablePasswordAuthentication` of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_password_authentication: Option<bool>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Uniform instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSpec>,
}

/// A Uniform scale-set instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    /// Instance id (`0`, `1`, …).
    pub instance_id: String,
    /// Whether the instance runs the latest model; default true.
    #[serde(default = "default_true")]
    pub latest_model_applied: bool,
    /// Power state, as for VMs; default `running`.
    #[serde(default = "default_power")]
    pub power_state: String,
    /// Provisioning state; default `Succeeded`.
    #[serde(default = "default_provisioning")]
    pub provisioning_state: String,
    /// The instance's own boot diagnostics; default: the scale set's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_diagnostics: Option<BootDiagnosticsSpec>,
    /// An error status in the instance view's boot diagnostics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_diagnostics_status: Option<StatusSpec>,
    /// Tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A management lock.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSpec {
    /// Lock name.
    pub name: String,
    /// `ReadOnly | CanNotDelete`.
    pub level: String,
    /// Resource group the lock is on; absent for a subscription-level lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// Resource within the group, as `{type}/{name}` (e.g. `virtualMachines/web-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A fleet file that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not parse or has a field of the wrong shape.
    #[error(transparent)]
    Syntax(#[from] crate::file::FileError),
    /// The file parses but a value or a reference is wrong.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Fleet {
    /// Reads and validates a fleet file (`.toml`, or `.json` for anything else).
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let is_toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        Fleet::parse(&text, &path.display().to_string(), is_toml)
    }

    /// Parses and validates fleet text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, is_toml: bool) -> Result<Fleet, FleetError> {
        let fleet: Fleet = if is_toml {
            crate::file::from_toml(text, origin)?
        } else {
            crate::file::from_json(text, origin)?
        };
        fleet.validate(origin)?;
        Ok(fleet)
    }

    /// Checks versions, uniqueness and cross references.
    pub fn validate(&self, origin: &str) -> Result<(), FleetError> {
        let bad = |field: String, message: String| FleetError::Invalid {
            path: origin.to_string(),
            field,
            message,
        };
        if self.schema_version != FLEET_SCHEMA_VERSION {
            return Err(bad(
                "schema_version".into(),
                format!(
                    "unsupported fleet schema version {} (this build reads version {FLEET_SCHEMA_VERSION})",
                    self.schema_version
                ),
            ));
        }
        if self.tenants.is_empty() {
            return Err(bad(
                "tenants".into(),
                "at least one tenant is required".into(),
            ));
        }
        if self.settings.page_size == Some(0) {
            return Err(bad(
                "settings.page_size".into(),
                "must be at least 1".into(),
            ));
        }
        if let Some(t) = &self.settings.compute_throttle {
            t.validate()
                .map_err(|m| bad("settings.compute_throttle".into(), m))?;
        }
        let tenants: HashSet<&str> = self.tenants.iter().map(|t| t.id.as_str()).collect();
        let mut principal_ids = HashSet::new();
        for (i, p) in self.principals.iter().enumerate() {
            if !principal_ids.insert(p.id.to_ascii_lowercase()) {
                return Err(bad(
                    format!("principals[{i}].id"),
                    format!("duplicate principal id '{}'", p.id),
                ));
            }
            if let Some(t) = &p.tenant {
                if !tenants.contains(t.as_str()) {
                    return Err(bad(
                        format!("principals[{i}].tenant"),
                        format!("unknown tenant '{t}'"),
                    ));
                }
            }
            if p.client_secret.is_some() && p.client_id.is_none() {
                return Err(bad(
                    format!("principals[{i}].client_secret"),
                    "a client secret needs a client_id".into(),
                ));
            }
        }
        for (i, p) in self.principals.iter().enumerate() {
            for (j, g) in p.member_of.iter().enumerate() {
                let group = self
                    .principals
                    .iter()
                    .find(|q| q.id.eq_ignore_ascii_case(g));
                match group {
                    Some(q) if q.principal_type == PrincipalType::Group => {}
                    Some(_) => {
                        return Err(bad(
                            format!("principals[{i}].member_of[{j}]"),
                            format!("'{g}' is not a group"),
                        ))
                    }
                    None => {
                        return Err(bad(
                            format!("principals[{i}].member_of[{j}]"),
                            format!("unknown principal '{g}'"),
                        ))
                    }
                }
            }
        }
        let mgs: HashSet<&str> = self
            .management_groups
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let mut mg_names = HashSet::new();
        for (i, m) in self.management_groups.iter().enumerate() {
            if !mg_names.insert(m.name.to_ascii_lowercase()) {
                return Err(bad(
                    format!("management_groups[{i}].name"),
                    format!("duplicate management group '{}'", m.name),
                ));
            }
            if let Some(parent) = &m.parent {
                if !mgs.contains(parent.as_str()) {
                    return Err(bad(
                        format!("management_groups[{i}].parent"),
                        format!("unknown management group '{parent}'"),
                    ));
                }
            }
        }
        let builtin = super::rbac_data::builtin_roles();
        for (i, a) in self.role_assignments.iter().enumerate() {
            if !principal_ids.contains(&a.principal.to_ascii_lowercase()) {
                return Err(bad(
                    format!("role_assignments[{i}].principal"),
                    format!("unknown principal '{}'", a.principal),
                ));
            }
            let known = self
                .custom_roles
                .iter()
                .any(|r| r.id.eq_ignore_ascii_case(&a.role) || r.name == a.role)
                || builtin.iter().any(|r| r.matches(&a.role));
            if !known {
                return Err(bad(
                    format!("role_assignments[{i}].role"),
                    format!("unknown role '{}'", a.role),
                ));
            }
            if !a.scope.starts_with('/') {
                return Err(bad(
                    format!("role_assignments[{i}].scope"),
                    format!("scope '{}' must start with '/'", a.scope),
                ));
            }
        }
        for (i, d) in self.deny_assignments.iter().enumerate() {
            if !d.scope.starts_with('/') {
                return Err(bad(
                    format!("deny_assignments[{i}].scope"),
                    format!("scope '{}' must start with '/'", d.scope),
                ));
            }
            if d.actions.is_empty() {
                return Err(bad(
                    format!("deny_assignments[{i}].actions"),
                    "a deny assignment denies at least one action".into(),
                ));
            }
            for (j, p) in d.principals.iter().enumerate() {
                if p != EVERYONE && !principal_ids.contains(&p.to_ascii_lowercase()) {
                    return Err(bad(
                        format!("deny_assignments[{i}].principals[{j}]"),
                        format!("unknown principal '{p}'"),
                    ));
                }
            }
        }
        let mut sub_ids = HashSet::new();
        for (s, sub) in self.subscriptions.iter().enumerate() {
            let at = |f: &str| format!("subscriptions[{s}].{f}");
            if !sub_ids.insert(sub.id.to_ascii_lowercase()) {
                return Err(bad(
                    at("id"),
                    format!("duplicate subscription '{}'", sub.id),
                ));
            }
            if let Some(t) = &sub.tenant {
                if !tenants.contains(t.as_str()) {
                    return Err(bad(at("tenant"), format!("unknown tenant '{t}'")));
                }
            }
            for (i, t) in sub.managed_by_tenants.iter().enumerate() {
                if !tenants.contains(t.as_str()) {
                    return Err(bad(
                        at(&format!("managed_by_tenants[{i}]")),
                        format!("unknown tenant '{t}'"),
                    ));
                }
            }
            if let Some(m) = &sub.management_group {
                if !mgs.contains(m.as_str()) {
                    return Err(bad(
                        at("management_group"),
                        format!("unknown management group '{m}'"),
                    ));
                }
            }
            let mut namespaces = HashSet::new();
            for (i, n) in sub.unregistered.iter().enumerate() {
                if !REGISTRABLE_NAMESPACES
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(n))
                {
                    return Err(bad(
                        at(&format!("unregistered[{i}]")),
                        format!("'{n}' is not one of {}", REGISTRABLE_NAMESPACES.join(", ")),
                    ));
                }
                if !namespaces.insert(n.to_ascii_lowercase()) {
                    return Err(bad(
                        at(&format!("unregistered[{i}]")),
                        format!("'{n}' is listed twice"),
                    ));
                }
            }
            // A namespace cannot be unregistered while the subscription has resources of it.
            if sub.is_unregistered("Microsoft.Compute") {
                let compute_lock = sub.locks.iter().position(|l| {
                    l.resource.as_deref().is_some_and(|r| {
                        let r = r.to_ascii_lowercase();
                        r.starts_with("virtualmachines/")
                            || r.starts_with("virtualmachinescalesets/")
                    })
                });
                let field = if !sub.vms.is_empty() {
                    Some("vms".to_string())
                } else if !sub.scale_sets.is_empty() {
                    Some("scale_sets".to_string())
                } else {
                    compute_lock.map(|i| format!("locks[{i}].resource"))
                };
                if let Some(field) = field {
                    return Err(bad(
                        at(&field),
                        "the subscription has Microsoft.Compute unregistered, so it has no VMs, scale sets or locks on them".into(),
                    ));
                }
            }
            if sub.is_unregistered("Microsoft.Storage") {
                let storage_lock = sub.locks.iter().position(|l| {
                    l.resource
                        .as_deref()
                        .is_some_and(|r| r.to_ascii_lowercase().starts_with("storageaccounts/"))
                });
                let field = if !sub.storage_accounts.is_empty() {
                    Some("storage_accounts".to_string())
                } else {
                    storage_lock.map(|i| format!("locks[{i}].resource"))
                };
                if let Some(field) = field {
                    return Err(bad(
                        at(&field),
                        "the subscription has Microsoft.Storage unregistered, so it has no storage accounts or locks on them".into(),
                    ));
                }
            }
            if sub.is_unregistered("Microsoft.SerialConsole") && sub.console_disabled {
                return Err(bad(
                    at("console_disabled"),
                    "the subscription has Microsoft.SerialConsole unregistered, so the console was never disabled there".into(),
                ));
            }
            const STATES: [&str; 5] = ["Enabled", "Warned", "PastDue", "Disabled", "Deleted"];
            if !STATES.contains(&sub.state.as_str()) {
                return Err(bad(
                    at("state"),
                    format!("'{}' is not one of {}", sub.state, STATES.join(", ")),
                ));
            }
            let mut names = HashSet::new();
            for (i, vm) in sub.vms.iter().enumerate() {
                let key = (
                    vm.resource_group.to_ascii_lowercase(),
                    vm.name.to_ascii_lowercase(),
                );
                if !names.insert(key) {
                    return Err(bad(
                        at(&format!("vms[{i}].name")),
                        format!(
                            "duplicate VM '{}' in resource group '{}'",
                            vm.name, vm.resource_group
                        ),
                    ));
                }
                check_power(&vm.power_state)
                    .map_err(|m| bad(at(&format!("vms[{i}].power_state")), m))?;
                check_os(&vm.os_type).map_err(|m| bad(at(&format!("vms[{i}].os_type")), m))?;
                if let Some(rc) = &vm.run_command {
                    if !["succeeded", "failed", "timeout"].contains(&rc.as_str()) {
                        return Err(bad(
                            at(&format!("vms[{i}].run_command")),
                            format!("'{rc}' is not succeeded, failed or timeout"),
                        ));
                    }
                }
                if let Some(ss) = &vm.scale_set {
                    let found = sub.scale_sets.iter().find(|x| {
                        x.name.eq_ignore_ascii_case(ss)
                            && x.resource_group.eq_ignore_ascii_case(&vm.resource_group)
                    });
                    match found {
                        Some(x) if x.orchestration_mode == "Flexible" => {}
                        Some(_) => {
                            return Err(bad(
                                at(&format!("vms[{i}].scale_set")),
                                format!("scale set '{ss}' is not Flexible; Uniform instances go under scale_sets[].instances"),
                            ))
                        }
                        None => {
                            return Err(bad(
                                at(&format!("vms[{i}].scale_set")),
                                format!("no scale set '{ss}' in resource group '{}'", vm.resource_group),
                            ))
                        }
                    }
                }
            }
            let mut ss_names = HashSet::new();
            for (i, ss) in sub.scale_sets.iter().enumerate() {
                let key = (
                    ss.resource_group.to_ascii_lowercase(),
                    ss.name.to_ascii_lowercase(),
                );
                if !ss_names.insert(key) {
                    return Err(bad(
                        at(&format!("scale_sets[{i}].name")),
                        format!("duplicate scale set '{}'", ss.name),
                    ));
                }
                if ss.orchestration_mode != "Uniform" && ss.orchestration_mode != "Flexible" {
                    return Err(bad(
                        at(&format!("scale_sets[{i}].orchestration_mode")),
                        format!("'{}' is not Uniform or Flexible", ss.orchestration_mode),
                    ));
                }
                check_os(&ss.os_type)
                    .map_err(|m| bad(at(&format!("scale_sets[{i}].os_type")), m))?;
                if ss.orchestration_mode == "Flexible" && !ss.instances.is_empty() {
                    return Err(bad(
                        at(&format!("scale_sets[{i}].instances")),
                        "a Flexible scale set's members are VMs with scale_set set, not instances"
                            .into(),
                    ));
                }
                let mut ids = HashSet::new();
                for (j, inst) in ss.instances.iter().enumerate() {
                    if !ids.insert(inst.instance_id.as_str()) {
                        return Err(bad(
                            at(&format!("scale_sets[{i}].instances[{j}].instance_id")),
                            format!("duplicate instance id '{}'", inst.instance_id),
                        ));
                    }
                    check_power(&inst.power_state).map_err(|m| {
                        bad(
                            at(&format!("scale_sets[{i}].instances[{j}].power_state")),
                            m,
                        )
                    })?;
                }
            }
            let mut sa_names = HashSet::new();
            for (i, sa) in sub.storage_accounts.iter().enumerate() {
                check_storage_name(&sa.name)
                    .map_err(|m| bad(at(&format!("storage_accounts[{i}].name")), m))?;
                if !sa_names.insert(sa.name.as_str()) {
                    return Err(bad(
                        at(&format!("storage_accounts[{i}].name")),
                        format!("duplicate storage account '{}'", sa.name),
                    ));
                }
                if let Some(a) = &sa.network_default_action {
                    if a != "Allow" && a != "Deny" {
                        return Err(bad(
                            at(&format!("storage_accounts[{i}].network_default_action")),
                            format!("'{a}' is not Allow or Deny"),
                        ));
                    }
                }
            }
            for (i, l) in sub.locks.iter().enumerate() {
                if l.level != "ReadOnly" && l.level != "CanNotDelete" {
                    return Err(bad(
                        at(&format!("locks[{i}].level")),
                        format!("'{}' is not ReadOnly or CanNotDelete", l.level),
                    ));
                }
                if l.resource.is_some() && l.resource_group.is_none() {
                    return Err(bad(
                        at(&format!("locks[{i}].resource")),
                        "a resource lock needs its resource_group".into(),
                    ));
                }
            }
        }
        for (i, sa) in self.external_storage_accounts.iter().enumerate() {
            check_storage_name(&sa.name)
                .map_err(|m| bad(format!("external_storage_accounts[{i}].name"), m))?;
        }
        Ok(())
    }

    /// The tenant a subscription belongs to.
    pub fn tenant_of(&self, sub: &SubscriptionSpec) -> String {
        sub.tenant
            .clone()
            .unwrap_or_else(|| self.tenants[0].id.clone())
    }

    /// Number of VMs plus Uniform instances.
    pub fn instance_count(&self) -> usize {
        self.subscriptions
            .iter()
            .map(|s| {
                s.vms.len()
                    + s.scale_sets
                        .iter()
                        .map(|x| x.instances.len())
                        .sum::<usize>()
            })
            .sum()
    }

    /// Serialises the fleet as pretty JSON (what `sim generate` writes for `.json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("fleet serialises")
    }

    /// Serialises the fleet as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("fleet serialises")
    }
}

/// Power states the fleet may use.
pub const POWER_STATES: [&str; 8] = [
    "starting",
    "running",
    "stopping",
    "stopped",
    "deallocating",
    "deallocated",
    "unknown",
    "absent",
];

fn check_power(p: &str) -> Result<(), String> {
    if POWER_STATES.contains(&p) {
        Ok(())
    } else {
        Err(format!("'{p}' is not one of {}", POWER_STATES.join(", ")))
    }
}

fn check_os(os: &str) -> Result<(), String> {
    if os == "Linux" || os == "Windows" {
        Ok(())
    } else {
        Err(format!("'{os}' is not Linux or Windows"))
    }
}

fn check_storage_name(name: &str) -> Result<(), String> {
    let ok = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a storage account name (3-24 lowercase letters and digits)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
schema_version = 1
[[tenants]]
id = "t1"
[[subscriptions]]
id = "00000000-0000-0000-0000-000000000001"
display_name = "one"
[[subscriptions.vms]]
name = "vm1"
resource_group = "rg"
"#;

    #[test]
    fn minimal_fleet_parses_with_defaults() {
        let f = Fleet::parse(MINIMAL, "fleet.toml", true).unwrap();
        let vm = &f.subscriptions[0].vms[0];
        assert_eq!(vm.power_state, "running");
        assert_eq!(vm.os_type, "Linux");
        assert_eq!(f.subscriptions[0].state, "Enabled");
        assert_eq!(f.instance_count(), 1);
    }

    #[test]
    fn toml_error_names_line_and_field() {
        let text = MINIMAL.replace(
            "resource_group = \"rg\"",
            "resource_group = \"rg\"\npower_stat = \"on\"",
        );
        let err = Fleet::parse(&text, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("fleet.toml:11:1:"), "{err}");
        assert!(err.contains("power_stat"), "{err}");
    }

    #[test]
    fn bad_value_names_field_path() {
        let text = MINIMAL.replace(
            "resource_group = \"rg\"",
            "resource_group = \"rg\"\npower_state = \"on\"",
        );
        let err = Fleet::parse(&text, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("subscriptions[0].vms[0].power_state"), "{err}");
    }

    #[test]
    fn unregistered_namespaces_are_known_and_consistent() {
        let base = MINIMAL.replace(
            "display_name = \"one\"",
            "display_name = \"one\"\nunregistered = [\"Microsoft.Storage\", \"microsoft.serialconsole\"]",
        );
        let f = Fleet::parse(&base, "fleet.toml", true).unwrap();
        assert!(f.subscriptions[0].is_unregistered("Microsoft.SerialConsole"));
        assert!(!f.subscriptions[0].is_unregistered("Microsoft.Compute"));

        let text = base.replace("\"Microsoft.Storage\"", "\"Microsoft.Network\"");
        let err = Fleet::parse(&text, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("subscriptions[0].unregistered[0]"), "{err}");

        let text = base.replace("\"Microsoft.Storage\"", "\"Microsoft.Compute\"");
        let err = Fleet::parse(&text, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("subscriptions[0].vms"), "{err}");

        let text = base.replace(
            "display_name = \"one\"",
            "display_name = \"one\"\nconsole_disabled = true",
        );
        let err = Fleet::parse(&text, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("subscriptions[0].console_disabled"), "{err}");
    }

    #[test]
    fn settings_carry_the_status_shape_and_compute_policies() {
        let text = MINIMAL.replace(
            "schema_version = 1",
            "schema_version = 1\n[settings]\nstatus_only_shape = \"full\"\n[[settings.compute_throttle.policies]]\nname = \"Microsoft.Compute/HighCostGet3Sec\"\nlimit = 300\nwindow_secs = 3\n",
        );
        let f = Fleet::parse(&text, "fleet.toml", true).unwrap();
        assert_eq!(
            f.settings.status_only_shape,
            Some(crate::compute::StatusOnlyShape::Full)
        );
        let t = f.settings.compute_throttle.unwrap();
        assert_eq!(t.policies[0].window, std::time::Duration::from_secs(3));
        let bad = text.replace("limit = 300", "limit = 0");
        let err = Fleet::parse(&bad, "fleet.toml", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("settings.compute_throttle"), "{err}");
    }

    #[test]
    fn json_error_names_line_and_field() {
        let text = "{\n \"schema_version\": 1,\n \"tenants\": [{\"id\": 5}]\n}";
        let err = Fleet::parse(text, "f.json", false).unwrap_err().to_string();
        assert!(err.starts_with("f.json:3:"), "{err}");
        assert!(err.contains("tenants[0].id"), "{err}");
    }
}
