//! Typed models of the ARM JSON that scready reads.
//!
//! Only the fields the scanner uses are modelled; everything else in a payload is ignored. Every
//! field is [`Lenient`], so a missing field, a `null`, an enum value Azure added after this was
//! written, or an ill-typed value never fails a page. The simulator writes ARM's JSON with types
//! of its own (the `scready-sim` package shares no code with the scanner); both are checked
//! against the official examples and the recorded traffic in `tests/fixtures/arm/`.

use super::lenient::Lenient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Shorthand for the serde attributes every optional field carries.
macro_rules! lenient_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Lenient::is_absent")]
                pub $field: Lenient<$ty>,
            )*
        }
    };
}

/// Resource tags: name to value.
pub type Tags = BTreeMap<String, String>;

/// One page of an ARM list operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(deserialize = "T: serde::de::DeserializeOwned")
)]
pub struct Page<T> {
    /// The items of this page; an item that is not even an object is kept as `Invalid`. At most
    /// [`MAX_ITEMS_PER_PAGE`]: a page with more is refused as a whole.
    #[serde(default = "Vec::new", deserialize_with = "bounded_items")]
    pub value: Vec<Lenient<T>>,
    /// The absolute URL of the next page, absent or `null` on the last page (Graph calls it
    /// `@odata.nextLink`).
    #[serde(
        default,
        alias = "@odata.nextLink",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_link: Option<String>,
}

/// The most items one page may hold. ARM's list operations page far below this (Microsoft
/// Graph at most 999 per page, Resource Graph 1,000); a page above it is a broken or hostile
/// answer, refused before it can take the process's memory.
pub const MAX_ITEMS_PER_PAGE: usize = 100_000;

fn bounded_items<'de, D, T>(deserializer: D) -> Result<Vec<Lenient<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    struct Items<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::de::DeserializeOwned> serde::de::Visitor<'de> for Items<T> {
        type Value = Vec<Lenient<T>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of items")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(item) = seq.next_element::<Lenient<T>>()? {
                if items.len() == MAX_ITEMS_PER_PAGE {
                    return Err(serde::de::Error::custom(format_args!(
                        "the page holds more than {MAX_ITEMS_PER_PAGE} items"
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_any(Items(std::marker::PhantomData))
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            value: Vec::new(),
            next_link: None,
        }
    }
}

/// The ARM error envelope: `{"error": {"code": …, "message": …}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The body of an ARM error; also sent bare (without the envelope) by some providers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable error code, e.g. `AuthorizationFailed`.
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The target of the error, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

lenient_struct! {
    /// A subscription (`Subscriptions_List` / `Subscriptions_Get`).
    pub struct Subscription {
        /// `/subscriptions/{id}`.
        pub id: String,
        /// The subscription GUID.
        pub subscription_id: String,
        /// The tenant that owns the subscription.
        pub tenant_id: String,
        /// Display name (not unique; never used as a key).
        pub display_name: String,
        /// `Enabled | Warned | PastDue | Disabled | Deleted`.
        pub state: String,
        /// E.g. `RoleBased`.
        pub authorization_source: String,
        /// The tenants that manage the subscription through Azure Lighthouse: `tenantId` is
        /// the subscription's own (home) tenant, `managedByTenants[].tenantId` the managing
        /// ones (`Subscriptions_List` example `GetSubscriptions.json`, 2022-12-01).
        pub managed_by_tenants: Vec<ManagedByTenant>,
    }
}

lenient_struct! {
    /// One entry of a subscription's `managedByTenants`.
    pub struct ManagedByTenant {
        /// The managing tenant.
        pub tenant_id: String,
    }
}

lenient_struct! {
    /// One entity below a management group (`ManagementGroups_GetDescendants`, api-version
    /// 2020-05-01: `GET /providers/Microsoft.Management/managementGroups/{groupId}/descendants`,
    /// paged by `nextLink`). REST reference "Management Groups - Get Descendants"
    /// (learn.microsoft.com/rest/api/managementgroups/management-groups/get-descendants) and
    /// the spec example `Microsoft.Management/stable/2023-04-01/examples/GetDescendants.json`
    /// (azure-rest-api-specs): every item, group or subscription, at any depth, with its parent.
    pub struct ManagementGroupDescendant {
        /// `/providers/Microsoft.Management/managementGroups/{name}` or `/subscriptions/{guid}`.
        pub id: String,
        /// `Microsoft.Management/managementGroups` or
        /// `Microsoft.Management/managementGroups/subscriptions`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// The group name or the subscription GUID.
        pub name: String,
        /// Display name and parent.
        pub properties: DescendantProperties,
    }
}

lenient_struct! {
    /// `properties` of a [`ManagementGroupDescendant`].
    pub struct DescendantProperties {
        /// Display name (not unique; never used as a key).
        pub display_name: String,
        /// The group directly above.
        pub parent: DescendantParent,
    }
}

lenient_struct! {
    /// `properties.parent` of a [`ManagementGroupDescendant`].
    pub struct DescendantParent {
        /// `/providers/Microsoft.Management/managementGroups/{name}`.
        pub id: String,
    }
}

lenient_struct! {
    /// `instanceView.statuses[]` and similar status entries.
    pub struct InstanceViewStatus {
        /// E.g. `PowerState/running`, `ProvisioningState/succeeded`.
        pub code: String,
        /// `Info | Warning | Error`.
        pub level: String,
        /// Localised short label.
        pub display_status: String,
        /// Detailed message.
        pub message: String,
        /// Time of the status.
        pub time: String,
    }
}

lenient_struct! {
    /// `instanceView.bootDiagnostics`.
    pub struct BootDiagnosticsInstanceView {
        /// Screenshot blob (absent with managed storage).
        pub console_screenshot_blob_uri: String,
        /// Serial log blob (absent with managed storage).
        pub serial_console_log_blob_uri: String,
        /// Set only when enabling boot diagnostics ran into an error.
        pub status: InstanceViewStatus,
    }
}

lenient_struct! {
    /// `instanceView.vmAgent`.
    pub struct VmAgentInstanceView {
        /// Agent version, `Unknown` when not reporting.
        pub vm_agent_version: String,
        /// Agent statuses.
        pub statuses: Vec<InstanceViewStatus>,
    }
}

lenient_struct! {
    /// The run-time view of a VM or scale-set instance.
    pub struct InstanceView {
        /// Guest computer name.
        pub computer_name: String,
        /// Guest OS name.
        pub os_name: String,
        /// Guest agent status.
        pub vm_agent: VmAgentInstanceView,
        /// Provisioning and power statuses.
        pub statuses: Vec<InstanceViewStatus>,
        /// Boot diagnostics status.
        pub boot_diagnostics: BootDiagnosticsInstanceView,
    }
}

lenient_struct! {
    /// `diagnosticsProfile.bootDiagnostics`.
    pub struct BootDiagnostics {
        /// Whether boot diagnostics are on.
        pub enabled: bool,
        /// Custom storage blob endpoint; absent means managed storage.
        pub storage_uri: String,
    }
}

lenient_struct! {
    /// `diagnosticsProfile`.
    pub struct DiagnosticsProfile {
        /// Boot diagnostics settings.
        pub boot_diagnostics: BootDiagnostics,
    }
}

lenient_struct! {
    /// `securityProfile.uefiSettings`.
    pub struct UefiSettings {
        /// Secure boot on.
        pub secure_boot_enabled: bool,
        /// vTPM on.
        pub v_tpm_enabled: bool,
    }
}

lenient_struct! {
    /// `securityProfile`.
    pub struct SecurityProfile {
        /// `TrustedLaunch | ConfidentialVM | Standard`.
        pub security_type: String,
        /// UEFI settings.
        pub uefi_settings: UefiSettings,
    }
}

lenient_struct! {
    /// `osProfile.linuxConfiguration`.
    pub struct LinuxConfiguration {
        /// True when only SSH keys can log in.
        pub disable_password_authentication: bool,
    }
}

lenient_struct! {
    /// `osProfile.windowsConfiguration`.
    pub struct WindowsConfiguration {
        /// Whether the VM agent is provisioned.
        #[serde(rename = "provisionVMAgent")]
        pub provision_vm_agent: bool,
    }
}

lenient_struct! {
    /// `osProfile`.
    pub struct OsProfile {
        /// Guest computer name.
        pub computer_name: String,
        /// Admin user name.
        pub admin_username: String,
        /// Linux settings.
        pub linux_configuration: LinuxConfiguration,
        /// Windows settings.
        pub windows_configuration: WindowsConfiguration,
    }
}

lenient_struct! {
    /// `storageProfile.osDisk`.
    pub struct OsDisk {
        /// `Linux | Windows`.
        pub os_type: String,
    }
}

lenient_struct! {
    /// `storageProfile`.
    pub struct StorageProfile {
        /// The OS disk.
        pub os_disk: OsDisk,
    }
}

lenient_struct! {
    /// `hardwareProfile`.
    pub struct HardwareProfile {
        /// The VM size.
        pub vm_size: String,
    }
}

lenient_struct! {
    /// A reference to another resource: `{"id": …}`.
    pub struct SubResource {
        /// The referenced resource id.
        pub id: String,
    }
}

lenient_struct! {
    /// `properties` of a virtual machine.
    pub struct VirtualMachineProperties {
        /// Unique VM GUID.
        pub vm_id: String,
        /// `Creating | Updating | Failed | Succeeded | Deleting | Migrating` (free string).
        pub provisioning_state: String,
        /// Size.
        pub hardware_profile: HardwareProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Boot diagnostics settings.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security type and UEFI settings.
        pub security_profile: SecurityProfile,
        /// The Flexible scale set this VM belongs to.
        pub virtual_machine_scale_set: SubResource,
        /// Present with `$expand=instanceView` or `statusOnly=true`.
        pub instance_view: InstanceView,
    }
}

lenient_struct! {
    /// A virtual machine (`VirtualMachines_ListAll`, `VirtualMachines_Get`).
    pub struct VirtualMachine {
        /// Resource id.
        pub id: String,
        /// Name.
        pub name: String,
        /// `Microsoft.Compute/virtualMachines`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Region.
        pub location: String,
        /// Tags.
        pub tags: Tags,
        /// Properties.
        pub properties: VirtualMachineProperties,
    }
}

lenient_struct! {
    /// `sku` of a scale set or storage account.
    pub struct Sku {
        /// SKU name.
        pub name: String,
        /// SKU tier.
        pub tier: String,
        /// Instance count (scale sets).
        pub capacity: i64,
    }
}

lenient_struct! {
    /// `upgradePolicy` of a scale set.
    pub struct UpgradePolicy {
        /// `Automatic | Manual | Rolling`.
        pub mode: String,
    }
}

lenient_struct! {
    /// `virtualMachineProfile` of a scale set: the model instances are created from.
    pub struct ScaleSetVmProfile {
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// Boot diagnostics settings.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security settings.
        pub security_profile: SecurityProfile,
    }
}

lenient_struct! {
    /// `properties` of a scale set.
    pub struct ScaleSetProperties {
        /// Provisioning state.
        pub provisioning_state: String,
        /// `Uniform | Flexible`.
        pub orchestration_mode: String,
        /// Upgrade policy.
        pub upgrade_policy: UpgradePolicy,
        /// The instance model.
        pub virtual_machine_profile: ScaleSetVmProfile,
        /// Unique id.
        pub unique_id: String,
    }
}

lenient_struct! {
    /// A virtual machine scale set (`VirtualMachineScaleSets_ListAll`).
    pub struct VirtualMachineScaleSet {
        /// Resource id.
        pub id: String,
        /// Name.
        pub name: String,
        /// `Microsoft.Compute/virtualMachineScaleSets`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Region.
        pub location: String,
        /// Tags.
        pub tags: Tags,
        /// SKU and capacity.
        pub sku: Sku,
        /// Properties.
        pub properties: ScaleSetProperties,
    }
}

lenient_struct! {
    /// `properties` of a Uniform scale-set instance.
    pub struct ScaleSetVmProperties {
        /// Whether the instance runs the scale set's latest model.
        pub latest_model_applied: bool,
        /// Unique VM GUID.
        pub vm_id: String,
        /// Provisioning state.
        pub provisioning_state: String,
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// The instance's own boot diagnostics settings.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security settings.
        pub security_profile: SecurityProfile,
        /// Present with `$expand=instanceView`.
        pub instance_view: InstanceView,
    }
}

lenient_struct! {
    /// A Uniform scale-set instance (`VirtualMachineScaleSetVMs_List`).
    pub struct ScaleSetVm {
        /// Resource id (`…/virtualMachineScaleSets/{ss}/virtualMachines/{instanceId}`).
        pub id: String,
        /// Name (`{ss}_{instanceId}`).
        pub name: String,
        /// `Microsoft.Compute/virtualMachineScaleSets/virtualMachines`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Instance id within the scale set.
        pub instance_id: String,
        /// Region.
        pub location: String,
        /// Tags.
        pub tags: Tags,
        /// Properties.
        pub properties: ScaleSetVmProperties,
    }
}

lenient_struct! {
    /// `networkAcls` of a storage account.
    pub struct NetworkAcls {
        /// `Allow | Deny`.
        pub default_action: String,
        /// E.g. `AzureServices`.
        pub bypass: String,
    }
}

lenient_struct! {
    /// `primaryEndpoints` of a storage account.
    pub struct Endpoints {
        /// Blob endpoint, e.g. `https://acct.blob.core.windows.net/`.
        pub blob: String,
    }
}

lenient_struct! {
    /// `properties` of a storage account.
    pub struct StorageAccountProperties {
        /// Provisioning state.
        pub provisioning_state: String,
        /// Hierarchical namespace (Data Lake Storage Gen2).
        pub is_hns_enabled: bool,
        /// Firewall.
        pub network_acls: NetworkAcls,
        /// Absent means the platform default (allowed).
        pub allow_shared_key_access: bool,
        /// `TLS1_0 | TLS1_1 | TLS1_2 | TLS1_3`.
        pub minimum_tls_version: String,
        /// Endpoints.
        pub primary_endpoints: Endpoints,
        /// Anonymous blob access.
        pub allow_blob_public_access: bool,
    }
}

lenient_struct! {
    /// A storage account (`StorageAccounts_List`).
    pub struct StorageAccount {
        /// Resource id.
        pub id: String,
        /// Name.
        pub name: String,
        /// `Microsoft.Storage/storageAccounts`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Region.
        pub location: String,
        /// `Storage | StorageV2 | BlobStorage | FileStorage | BlockBlobStorage`.
        pub kind: String,
        /// SKU.
        pub sku: Sku,
        /// Tags.
        pub tags: Tags,
        /// Properties.
        pub properties: StorageAccountProperties,
    }
}

lenient_struct! {
    /// `properties` of `consoleServices/default`.
    pub struct ConsoleStatusProperties {
        /// True when Serial Console is disabled for the whole subscription.
        pub disabled: bool,
    }
}

lenient_struct! {
    /// `GET …/Microsoft.SerialConsole/consoleServices/default`.
    pub struct ConsoleStatus {
        /// The switch.
        pub properties: ConsoleStatusProperties,
    }
}

lenient_struct! {
    /// `properties` of a management lock.
    pub struct LockProperties {
        /// `CanNotDelete | ReadOnly`.
        pub level: String,
        /// Free text.
        pub notes: String,
    }
}

lenient_struct! {
    /// A management lock (`ManagementLocks_ListAtSubscriptionLevel`).
    pub struct ManagementLock {
        /// Lock id; its prefix before `/providers/Microsoft.Authorization/locks/` is the scope.
        pub id: String,
        /// Name.
        pub name: String,
        /// `Microsoft.Authorization/locks`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: LockProperties,
    }
}

lenient_struct! {
    /// `properties` of a role assignment.
    pub struct RoleAssignmentProperties {
        /// Full role definition id.
        pub role_definition_id: String,
        /// Object id of the principal.
        pub principal_id: String,
        /// `User | Group | ServicePrincipal | ForeignGroup | Device`.
        pub principal_type: String,
        /// The scope of the assignment.
        pub scope: String,
        /// ABAC condition, when set.
        pub condition: String,
        /// Condition version.
        pub condition_version: String,
    }
}

lenient_struct! {
    /// A role assignment (`RoleAssignments_ListForScope`).
    pub struct RoleAssignment {
        /// Assignment id.
        pub id: String,
        /// Assignment name (GUID).
        pub name: String,
        /// `Microsoft.Authorization/roleAssignments`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: RoleAssignmentProperties,
    }
}

lenient_struct! {
    /// One permission block of a role definition, or an entry of the permissions API.
    pub struct Permission {
        /// Allowed control-plane actions (wildcards allowed).
        pub actions: Vec<String>,
        /// Actions subtracted from `actions` of the same block.
        pub not_actions: Vec<String>,
        /// Allowed data actions.
        pub data_actions: Vec<String>,
        /// Data actions subtracted.
        pub not_data_actions: Vec<String>,
    }
}

lenient_struct! {
    /// `properties` of a role definition.
    pub struct RoleDefinitionProperties {
        /// Display name, e.g. `Virtual Machine Contributor`.
        pub role_name: String,
        /// `BuiltInRole | CustomRole`.
        #[serde(rename = "type")]
        pub role_type: String,
        /// Description.
        pub description: String,
        /// Where the role may be assigned.
        pub assignable_scopes: Vec<String>,
        /// Permission blocks.
        pub permissions: Vec<Permission>,
    }
}

lenient_struct! {
    /// A role definition (`RoleDefinitions_List` / `RoleDefinitions_Get`).
    pub struct RoleDefinition {
        /// Full id.
        pub id: String,
        /// GUID name.
        pub name: String,
        /// `Microsoft.Authorization/roleDefinitions`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: RoleDefinitionProperties,
    }
}

/// The response of the token endpoint of the identity platform.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Extended lifetime in seconds.
    pub ext_expires_in: i64,
    /// The bearer token.
    pub access_token: String,
}

lenient_struct! {
    /// A principal in a deny assignment.
    pub struct DenyPrincipal {
        /// Object id (`00000000-0000-0000-0000-000000000000` with type `SystemDefined` is everyone).
        pub id: String,
        /// Principal type.
        #[serde(rename = "type")]
        pub principal_type: String,
    }
}

lenient_struct! {
    /// `properties` of a deny assignment.
    pub struct DenyAssignmentProperties {
        /// Display name.
        pub deny_assignment_name: String,
        /// Denied permissions.
        pub permissions: Vec<Permission>,
        /// Scope.
        pub scope: String,
        /// When true, child scopes are not covered.
        pub do_not_apply_to_child_scopes: bool,
        /// Principals denied.
        pub principals: Vec<DenyPrincipal>,
        /// Principals exempted.
        pub exclude_principals: Vec<DenyPrincipal>,
        /// Created by the platform (managed applications, blueprints, …).
        pub is_system_protected: bool,
    }
}

lenient_struct! {
    /// A deny assignment (`DenyAssignments_ListForScope`).
    pub struct DenyAssignment {
        /// Id.
        pub id: String,
        /// Name (GUID).
        pub name: String,
        /// `Microsoft.Authorization/denyAssignments`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: DenyAssignmentProperties,
    }
}

lenient_struct! {
    /// A directory object in a Graph list (`transitiveMemberOf`).
    pub struct DirectoryObject {
        /// Object id.
        pub id: String,
        /// `#microsoft.graph.group`, …
        #[serde(rename = "@odata.type")]
        pub odata_type: String,
    }
}

lenient_struct! {
    /// The result of a Run Command operation (`properties.output`).
    pub struct RunCommandOutput {
        /// Standard output and error as statuses (`ComponentStatus/StdOut/succeeded`, …).
        pub value: Vec<InstanceViewStatus>,
    }
}

lenient_struct! {
    /// `properties` of a finished Run Command operation.
    pub struct RunCommandProperties {
        /// Output.
        pub output: RunCommandOutput,
    }
}

lenient_struct! {
    /// The status of a long-running operation (`Azure-AsyncOperation`).
    pub struct OperationStatus {
        /// `InProgress | Succeeded | Failed | Canceled`.
        pub status: String,
        /// Result of a Run Command.
        pub properties: RunCommandProperties,
        /// Error of a failed operation.
        pub error: OperationError,
    }
}

lenient_struct! {
    /// The error of a failed operation.
    pub struct OperationError {
        /// Code.
        pub code: String,
        /// Message.
        pub message: String,
    }
}
