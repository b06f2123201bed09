//! The inventory: plain data discovered from ARM, with no I/O. A scan saves it (`--save-inventory`)
//! and `scready evaluate` re-runs the checks on it offline.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the inventory file format.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// Everything a scan learned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Must be [`INVENTORY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When discovery started (RFC 3339, UTC).
    pub scanned_at: String,
    /// Cloud name.
    pub cloud: String,
    /// The audited principals (object ids); the scanning identity first.
    #[serde(default)]
    pub principals: Vec<PrincipalRef>,
    /// Subscriptions in scope.
    pub subscriptions: Vec<SubscriptionInfo>,
    /// VMs and scale-set instances.
    pub instances: Vec<Instance>,
    /// Storage accounts of every visible subscription.
    pub storage_accounts: Vec<StorageInfo>,
    /// Management locks.
    pub locks: Vec<LockInfo>,
    /// Look-ups of blob hosts that no visible storage account has (host → exists).
    #[serde(default)]
    pub host_lookups: BTreeMap<String, HostExistence>,
    /// What could not be read.
    pub gaps: Vec<CoverageGap>,
    /// Role assignments, role definitions, deny assignments and memberships, when read.
    #[serde(default)]
    pub access: Option<AccessInventory>,
    /// The Serial Console reachability probe, when run.
    #[serde(default)]
    pub environment: Option<EnvironmentProbe>,
    /// Guest checks (`--guest-checks`), when run: instance id (lower case) → result.
    #[serde(default)]
    pub guest: Option<BTreeMap<String, GuestResult>>,
    /// Why `principals` are the ones audited (absent in inventories that did not record it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_audit: Option<AccessAudit>,
}

/// How a scan chose whose Serial Console access to audit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessAudit {
    /// True when the principals were named (`--principal`, `--principals`).
    pub given: bool,
    /// Without names: the kind of the scanning token (`user`, `app`, `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_kind: Option<crate::auth::TokenKind>,
    /// Why these principals, or nobody, are audited.
    pub reason: String,
}

/// What the access checks need, read once per subscription (never per instance).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessInventory {
    /// Role assignments at, above and below each subscription.
    pub role_assignments: Vec<AssignmentRef>,
    /// Role definitions referenced by the assignments, by GUID (lower case).
    pub role_definitions: BTreeMap<String, RoleDefinitionRef>,
    /// Deny assignments at, above and below each subscription.
    pub deny_assignments: Vec<DenyRef>,
    /// The scanning identity's effective permissions (permissions API) by scope (lower case):
    /// resource groups, and resources with assignments below their resource group.
    pub caller_permissions: BTreeMap<String, Vec<crate::rbac::PermissionBlock>>,
    /// Transitive group memberships of the audited principals.
    pub memberships: BTreeMap<String, Membership>,
}

/// A role assignment as listed for a subscription.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRef {
    /// The subscription whose listing returned it (it applies within that subscription).
    pub listed_in: String,
    /// Scope (lower case).
    pub scope: String,
    /// Principal object id (lower case).
    pub principal_id: String,
    /// `User | Group | ServicePrincipal | …`.
    pub principal_type: String,
    /// Role definition GUID (lower case).
    pub role_definition: String,
    /// ABAC condition, if any.
    pub condition: Option<String>,
}

/// A role definition's name and permission blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDefinitionRef {
    /// Display name.
    pub name: String,
    /// Permission blocks.
    pub blocks: Vec<crate::rbac::PermissionBlock>,
}

/// A deny assignment as listed for a subscription.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyRef {
    /// The subscription whose listing returned it.
    pub listed_in: String,
    /// Name.
    pub name: String,
    /// Scope (lower case).
    pub scope: String,
    /// Denied actions minus exemptions, as blocks.
    pub blocks: Vec<crate::rbac::PermissionBlock>,
    /// Principals denied (lower case; the all-zero GUID is everyone).
    pub principals: Vec<String>,
    /// Those of `principals` that are groups.
    #[serde(default)]
    pub group_principals: Vec<String>,
    /// Principals exempted (lower case).
    pub exclude_principals: Vec<String>,
    /// Those of `exclude_principals` that are groups.
    #[serde(default)]
    pub exclude_group_principals: Vec<String>,
    /// When true, only the scope itself is covered.
    pub do_not_apply_to_child_scopes: bool,
}

/// Group memberships of a principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// Every group the principal belongs to, directly or not (lower case).
    Known(Vec<String>),
    /// They could not be read.
    Unknown(String),
}

/// The reachability probe of the Serial Console service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentProbe {
    /// One result per host probed.
    pub hosts: Vec<HostProbe>,
}

/// One probed host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostProbe {
    /// `host:port`.
    pub target: String,
    /// Whether DNS, TCP and the TLS handshake all succeeded.
    pub reachable: bool,
    /// What failed, or `ok`.
    pub detail: String,
}

/// A guest check result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestResult {
    /// The `sacsvr` service as reported by the guest.
    Sac {
        /// Start type (`Automatic`, `Manual`, `Disabled`), or `NotInstalled`.
        start_type: String,
        /// Status (`Running`, `Stopped`, …).
        status: String,
    },
    /// The guest could not be asked.
    Error(String),
}

/// An audited principal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalRef {
    /// Object id (lower case).
    pub object_id: String,
    /// Label (from `--principals FILE`, or `scanning identity`).
    #[serde(default)]
    pub label: String,
    /// True for the identity that ran the scan (judged with the permissions API).
    #[serde(default)]
    pub scanner: bool,
}

impl PrincipalRef {
    /// `label (object id)`, or the id alone.
    pub fn display(&self) -> String {
        if self.label.is_empty() {
            self.object_id.clone()
        } else {
            format!("{} ({})", self.label, self.object_id)
        }
    }
}

/// Whether a blob host exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostExistence {
    /// The name resolves: the account exists somewhere.
    Exists,
    /// The name does not resolve: no such account.
    Missing,
    /// The look-up itself failed.
    Unknown(String),
}

/// A subscription in scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInfo {
    /// Subscription GUID (lower case).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Tenant.
    #[serde(default)]
    pub tenant_id: String,
    /// `Enabled | Warned | PastDue | Disabled | Deleted`; absent when unknown.
    pub state: Option<String>,
    /// The subscription-wide console switch; absent when it could not be read.
    pub console_disabled: Option<bool>,
    /// Resource providers the subscription has not registered (`Microsoft.Compute`,
    /// `Microsoft.Storage`, `Microsoft.SerialConsole`): it holds none of their resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered: Vec<String>,
    /// Tenants managing the subscription through Azure Lighthouse (`managedByTenants` of the
    /// subscription listing); `tenant_id` stays the subscription's own tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_by_tenants: Vec<String>,
}

impl SubscriptionInfo {
    /// The tenant as reports show it: the subscription's own tenant, followed by the tenants
    /// that manage it through Azure Lighthouse (`T (managed by M1, M2)`).
    pub fn tenant_label(&self) -> String {
        if self.managed_by_tenants.is_empty() {
            self.tenant_id.clone()
        } else {
            format!(
                "{} (managed by {})",
                self.tenant_id,
                self.managed_by_tenants.join(", ")
            )
        }
    }
}

/// What kind of instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceKind {
    /// A standalone VM.
    Vm,
    /// A Uniform scale-set instance.
    VmssInstance,
    /// A VM in a Flexible scale set.
    VmssFlexVm,
}

impl InstanceKind {
    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::Vm => "vm",
            InstanceKind::VmssInstance => "vmss_instance",
            InstanceKind::VmssFlexVm => "vmss_flex_vm",
        }
    }
}

/// Boot diagnostics as configured in the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum BootDiagnostics {
    /// The model, as read, has no `diagnosticsProfile` (or an empty one): boot diagnostics were
    /// never configured. Only meaningful when the model was read (see
    /// [`Instance::model_not_read`]).
    Absent,
    /// `enabled: false`.
    Disabled,
    /// Enabled with managed storage (no `storageUri`).
    Managed,
    /// Enabled with a custom storage account.
    Custom {
        /// The `storageUri` as configured.
        storage_uri: String,
    },
    /// The profile could not be read as one of the states above (a value of an unexpected
    /// type, a `bootDiagnostics` object without `enabled`, or a model that was not read).
    Invalid {
        /// What was wrong.
        reason: String,
    },
}

impl BootDiagnostics {
    /// The report spelling (`disabled | managed | custom`, `unknown` for invalid data).
    pub fn report_label(&self) -> &'static str {
        match self {
            BootDiagnostics::Absent | BootDiagnostics::Disabled => "disabled",
            BootDiagnostics::Managed => "managed",
            BootDiagnostics::Custom { .. } => "custom",
            BootDiagnostics::Invalid { .. } => "unknown",
        }
    }
}

/// A VM or scale-set instance.
///
/// An instance is read from two sources that can fail independently: its **model** (the plain
/// VM listing, a GET, or the scale set's instance listing: location, tags, OS, provisioning
/// state, boot diagnostics, security profile, OS profile, scale-set membership) and its
/// **run-time status** (the `statusOnly=true` listing or an embedded instance view: power
/// state, instance-view statuses). [`Instance::model_not_read`] and
/// [`Instance::status_not_read`] say when one of them was not read and why; the checks that
/// need it then say `unknown` with that reason instead of reading the empty fields as
/// "disabled" or "absent". Both are absent (read) in inventories saved before they existed,
/// which came from reads that carried model and status together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Resource id as ARM returned it.
    pub id: crate::findings::Text,
    /// Name (`{scaleset}_{instanceId}` for Uniform instances).
    pub name: String,
    /// Subscription GUID (lower case).
    pub subscription_id: String,
    /// Resource group as ARM spelled it.
    pub resource_group: String,
    /// Kind.
    pub kind: InstanceKind,
    /// Scale set name, for scale-set instances and Flexible members.
    pub scale_set: Option<String>,
    /// Uniform instance id.
    pub instance_id: Option<String>,
    /// Region.
    pub location: String,
    /// `Linux | Windows`.
    pub os_type: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
    /// Power state (`running`, `deallocated`, …); absent when the instance view has none.
    pub power_state: Option<String>,
    /// Whether an instance view was returned at all.
    pub instance_view: bool,
    /// Provisioning state from the model.
    pub provisioning_state: Option<String>,
    /// Boot diagnostics.
    pub boot_diagnostics: BootDiagnostics,
    /// An error-level boot-diagnostics status from the instance view.
    pub boot_diagnostics_error: Option<String>,
    /// `TrustedLaunch | ConfidentialVM | Standard`.
    pub security_type: Option<String>,
    /// UEFI secure boot.
    pub secure_boot: Option<bool>,
    /// Linux `disablePasswordAuthentication`.
    pub disable_password_authentication: Option<bool>,
    /// Uniform instances: whether the latest model is applied.
    pub latest_model_applied: Option<bool>,
    /// Fields that held values of unexpected types (field path and raw value).
    #[serde(default)]
    pub anomalies: Vec<String>,
    /// Why the VM model was not read (e.g. the VM was seen only in the status listing, or the
    /// model listing failed); absent when it was read. When set, the model fields above
    /// (`os_type`, `tags`, `provisioning_state`, `boot_diagnostics`, `security_type`,
    /// `secure_boot`, `disable_password_authentication`, `latest_model_applied`, and the
    /// Flexible membership in `kind`/`scale_set`) carry nothing and the checks built on them
    /// are `unknown` with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_not_read: Option<String>,
    /// Why the run-time status was not read (e.g. the VM was missing from the status listing,
    /// or that listing failed); absent when it was read. When set, `power_state`,
    /// `instance_view` and `boot_diagnostics_error` carry nothing and the checks built on them
    /// are `unknown` with this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_not_read: Option<String>,
}

impl Instance {
    /// The report spelling of the boot-diagnostics mode: `unknown` when the model was not read,
    /// else [`BootDiagnostics::report_label`].
    pub fn boot_diagnostics_label(&self) -> &'static str {
        if self.model_not_read.is_some() {
            "unknown"
        } else {
            self.boot_diagnostics.report_label()
        }
    }
}

/// Resource tags, sorted by name: a compact map (most resources carry a handful of tags),
/// serialised as a JSON object like ARM's `tags`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// The value of a tag, by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Name and value of every tag, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no tag.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Tags {
    fn from(map: BTreeMap<String, String>) -> Self {
        let mut v: Vec<(String, String)> = map.into_iter().collect();
        v.shrink_to_fit();
        Tags(v)
    }
}

impl FromIterator<(String, String)> for Tags {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        iter.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

impl Serialize for Tags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer).map(Tags::from)
    }
}

/// A storage account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageInfo {
    /// Resource id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Subscription GUID (lower case).
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Kind.
    pub kind: Option<String>,
    /// Blob host (lower case), e.g. `acct.blob.core.windows.net`.
    pub blob_host: String,
    /// Hierarchical namespace; absent when `isHnsEnabled` was not returned (not enabled).
    pub is_hns_enabled: Option<bool>,
    /// Firewall default action; absent when `networkAcls` was not returned (`Allow`).
    pub network_default_action: Option<String>,
    /// Shared key access; absent when `allowSharedKeyAccess` was not returned (allowed).
    pub allow_shared_key_access: Option<bool>,
    /// Minimum TLS version; absent when `minimumTlsVersion` was not returned (TLS 1.0 accepted).
    pub minimum_tls_version: Option<String>,
}

/// A management lock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// The locked scope (lower case): a subscription, resource group or resource id.
    pub scope: String,
    /// Lock name.
    pub name: String,
    /// `ReadOnly | CanNotDelete`.
    pub level: String,
}

/// A listing that could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageGap {
    /// Subscription, when the gap is within one.
    pub subscription_id: Option<String>,
    /// What was being read (see [`GapScope`] for the values).
    pub what: String,
    /// HTTP status, when ARM answered.
    pub status: Option<u16>,
    /// ARM error code or failure kind.
    pub code: String,
    /// Message.
    pub message: String,
}

/// The listings whose failure is a gap; the checks look gaps up by these names.
pub struct GapScope;

impl GapScope {
    /// `GET /subscriptions` or a named subscription.
    pub const SUBSCRIPTIONS: &'static str = "subscriptions";
    /// The subscription resource (state).
    pub const SUBSCRIPTION: &'static str = "subscription";
    /// A management group's descendants (`--management-group`).
    pub const MANAGEMENT_GROUPS: &'static str = "management groups";
    /// VM listing.
    pub const VIRTUAL_MACHINES: &'static str = "virtual machines";
    /// The VMs' run-time status listing (`statusOnly=true`).
    pub const VM_STATUS: &'static str = "virtual machine status";
    /// Scale set listing.
    pub const SCALE_SETS: &'static str = "scale sets";
    /// Instances of one scale set (the message names it).
    pub const SCALE_SET_INSTANCES: &'static str = "scale set instances";
    /// Storage accounts.
    pub const STORAGE_ACCOUNTS: &'static str = "storage accounts";
    /// The console switch.
    pub const CONSOLE: &'static str = "serial console status";
    /// Management locks.
    pub const LOCKS: &'static str = "management locks";
    /// Role assignments.
    pub const ROLE_ASSIGNMENTS: &'static str = "role assignments";
    /// Deny assignments.
    pub const DENY_ASSIGNMENTS: &'static str = "deny assignments";
    /// A role definition (the message names it).
    pub const ROLE_DEFINITIONS: &'static str = "role definitions";
    /// The scanning identity's permissions at a scope (the message names it).
    pub const PERMISSIONS: &'static str = "permissions";
    /// A shard of a sharded scan whose result was not merged (the message names it).
    pub const SHARD: &'static str = "shard";
}

/// Bounds a string (see [`crate::text::bound`]).
fn b(s: &mut String) {
    crate::text::bound_in_place(s);
}

/// Bounds an optional string.
fn bo(s: &mut Option<String>) {
    if let Some(s) = s {
        b(s);
    }
}

/// Bounds every string of a list.
fn bv(v: &mut [String]) {
    v.iter_mut().for_each(b);
}

/// Bounds the keys of a map (rebuilt only when a key is too long).
fn bound_keys<V>(map: &mut BTreeMap<String, V>) {
    if map.keys().any(|k| k.len() > crate::text::MAX_TEXT_BYTES) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (crate::text::bound(&k).into_owned(), v))
            .collect();
    }
}

impl Tags {
    /// Bounds every tag name and value (see [`crate::text::bound`]).
    pub fn bound_text(&mut self) {
        let max = crate::text::MAX_TEXT_BYTES;
        if self.0.iter().any(|(k, v)| k.len() > max || v.len() > max) {
            *self = std::mem::take(&mut self.0)
                .into_iter()
                .map(|(k, v)| {
                    (
                        crate::text::bound(&k).into_owned(),
                        crate::text::bound(&v).into_owned(),
                    )
                })
                .collect();
        }
    }
}

impl Inventory {
    /// Bounds every string the inventory took from outside (names, ids, tags, messages, reasons)
    /// to [`crate::text::MAX_TEXT_BYTES`], with a visible marker where one was cut, so that no
    /// report or history row carries an unbounded string. The RBAC action patterns of role
    /// and deny definitions are kept whole: cutting one would change what it grants or denies.
    /// Runs before evaluation, on every scan and every offline evaluation.
    pub fn bound_text(&mut self) {
        b(&mut self.scanned_at);
        b(&mut self.cloud);
        for p in &mut self.principals {
            b(&mut p.object_id);
            b(&mut p.label);
        }
        for s in &mut self.subscriptions {
            b(&mut s.id);
            b(&mut s.name);
            b(&mut s.tenant_id);
            bo(&mut s.state);
            bv(&mut s.unregistered);
            bv(&mut s.managed_by_tenants);
        }
        for i in &mut self.instances {
            if i.id.len() > crate::text::MAX_TEXT_BYTES {
                i.id = crate::findings::Text::from(crate::text::bound(&i.id).into_owned());
            }
            b(&mut i.name);
            b(&mut i.subscription_id);
            b(&mut i.resource_group);
            bo(&mut i.scale_set);
            bo(&mut i.instance_id);
            b(&mut i.location);
            bo(&mut i.os_type);
            i.tags.bound_text();
            bo(&mut i.power_state);
            bo(&mut i.provisioning_state);
            match &mut i.boot_diagnostics {
                BootDiagnostics::Custom { storage_uri } => b(storage_uri),
                BootDiagnostics::Invalid { reason } => b(reason),
                BootDiagnostics::Absent | BootDiagnostics::Disabled | BootDiagnostics::Managed => {}
            }
            bo(&mut i.boot_diagnostics_error);
            bo(&mut i.security_type);
            bv(&mut i.anomalies);
            bo(&mut i.model_not_read);
            bo(&mut i.status_not_read);
        }
        for a in &mut self.storage_accounts {
            b(&mut a.id);
            b(&mut a.name);
            b(&mut a.subscription_id);
            b(&mut a.resource_group);
            b(&mut a.location);
            bo(&mut a.kind);
            b(&mut a.blob_host);
            bo(&mut a.network_default_action);
            bo(&mut a.minimum_tls_version);
        }
        for l in &mut self.locks {
            b(&mut l.scope);
            b(&mut l.name);
            b(&mut l.level);
        }
        bound_keys(&mut self.host_lookups);
        for h in self.host_lookups.values_mut() {
            if let HostExistence::Unknown(why) = h {
                b(why);
            }
        }
        for g in &mut self.gaps {
            bo(&mut g.subscription_id);
            b(&mut g.what);
            b(&mut g.code);
            b(&mut g.message);
        }
        if let Some(access) = &mut self.access {
            for a in &mut access.role_assignments {
                b(&mut a.listed_in);
                b(&mut a.scope);
                b(&mut a.principal_id);
                b(&mut a.principal_type);
                b(&mut a.role_definition);
                bo(&mut a.condition);
            }
            bound_keys(&mut access.role_definitions);
            for d in access.role_definitions.values_mut() {
                b(&mut d.name);
            }
            for d in &mut access.deny_assignments {
                b(&mut d.listed_in);
                b(&mut d.name);
                b(&mut d.scope);
                bv(&mut d.principals);
                bv(&mut d.group_principals);
                bv(&mut d.exclude_principals);
                bv(&mut d.exclude_group_principals);
            }
            bound_keys(&mut access.caller_permissions);
            bound_keys(&mut access.memberships);
            for m in access.memberships.values_mut() {
                match m {
                    Membership::Known(groups) => bv(groups),
                    Membership::Unknown(why) => b(why),
                }
            }
        }
        if let Some(env) = &mut self.environment {
            for h in &mut env.hosts {
                b(&mut h.target);
                b(&mut h.detail);
            }
        }
        if let Some(guest) = &mut self.guest {
            bound_keys(guest);
            for g in guest.values_mut() {
                match g {
                    GuestResult::Sac { start_type, status } => {
                        b(start_type);
                        b(status);
                    }
                    GuestResult::Error(why) => b(why),
                }
            }
        }
        if let Some(a) = &mut self.access_audit {
            b(&mut a.reason);
        }
    }

    /// True when any listing failed.
    pub fn is_partial(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// The gap for (subscription, what), if that listing failed.
    pub fn gap(&self, subscription_id: &str, what: &str) -> Option<&CoverageGap> {
        self.gaps.iter().find(|g| {
            g.what == what
                && g.subscription_id
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(subscription_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_text_cuts_long_strings_with_a_marker_and_keeps_the_rest() {
        let huge = "v".repeat(1 << 20);
        let mut inv = Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            instances: vec![Instance {
                id: format!("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{huge}").into(),
                name: huge.clone(),
                subscription_id: "s".into(),
                resource_group: "rg".into(),
                kind: InstanceKind::Vm,
                scale_set: None,
                instance_id: None,
                location: "westeurope".into(),
                os_type: None,
                tags: [(huge.clone(), "x".to_string()), ("env".into(), huge.clone())]
                    .into_iter()
                    .collect(),
                power_state: None,
                instance_view: false,
                provisioning_state: None,
                boot_diagnostics: BootDiagnostics::Invalid {
                    reason: huge.clone(),
                },
                boot_diagnostics_error: None,
                security_type: None,
                secure_boot: None,
                disable_password_authentication: None,
                latest_model_applied: None,
                anomalies: vec![huge.clone()],
                model_not_read: None,
                status_not_read: None,
            }],
            gaps: vec![CoverageGap {
                message: huge.clone(),
                ..Default::default()
            }],
            ..Default::default()
        };
        inv.bound_text();
        let i = &inv.instances[0];
        let max = crate::text::MAX_TEXT_BYTES;
        for s in [
            i.id.as_str(),
            &i.name,
            &i.anomalies[0],
            &inv.gaps[0].message,
        ] {
            assert!(s.len() <= max && s.contains("…[truncated "), "{}", s.len());
        }
        assert!(
            i.name.ends_with("…[truncated 1,044,544 bytes]"),
            "{}",
            &i.name[4000..]
        );
        assert!(i.id.starts_with("/subscriptions/s/resourceGroups/rg/"));
        assert_eq!(i.tags.len(), 2);
        assert!(i.tags.iter().all(|(k, v)| k.len() <= max && v.len() <= max));
        assert_eq!(i.location, "westeurope");
        assert!(
            matches!(&i.boot_diagnostics, BootDiagnostics::Invalid { reason } if reason.len() <= max)
        );
        let again = inv.clone();
        inv.bound_text();
        assert_eq!(inv, again, "bounding twice changes nothing");
    }
}
