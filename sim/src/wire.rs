//! ARM's JSON as the simulator writes it: the simulator's own serde types, one per object it
//! serves, holding the fields it fills in (every one optional and left out when absent).
//!
//! Shaped after the official REST examples and the recorded traffic in `tests/fixtures/arm/`
//! (provenance in its `SOURCES.md`; the fields a scanner reads in `FIELDS.md`), and checked
//! against them by `sim/tests/arm_shapes.rs` — field names, nesting and JSON types:
//!
//! - subscriptions: `subscriptions/GetSubscriptions.json` (Subscriptions_List, 2022-12-01);
//! - VMs: `compute-vm/VirtualMachine_Get.json`, `VirtualMachine_Get_InstanceView.json`,
//!   `VirtualMachine_ListAll_MaximumSet_Gen.json`, `VirtualMachine_Create_WithUefiSettings.json`
//!   (Compute 2025-04-01);
//! - scale sets and their instances: `compute-vmss/VirtualMachineScaleSet_ListAll_*`,
//!   `VirtualMachineScaleSetVM_List_*`, `VirtualMachineScaleSetVM_Get_*` (Compute 2025-04-01);
//! - storage accounts: `storage/StorageAccountList.json`, `StorageAccountGetProperties.json`
//!   (Storage 2025-01-01 / 2025-06-01) and `recordings/real_StorageAccounts_List_*`;
//! - the console switch: `serialconsole/SerialConsoleStatus.json` (2024-07-01);
//! - role assignments, role definitions and permissions: `authorization/*.json` (2022-04-01);
//! - locks and deny assignments: the Locks (2020-05-01) and Authorization (2022-04-01) specs'
//!   `ManagementLockObject` and `DenyAssignment` definitions, as generated in the Azure SDKs;
//! - the error envelope `{"error": {"code", "message"}}`: ARM's common error response
//!   (`ErrorResponse` in the common-types of azure-rest-api-specs).
//!
//! No other program's types are used here: a client that misreads ARM cannot make the simulator
//! agree with it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An ARM object whose fields are all optional and left out of the JSON when `None`.
macro_rules! arm_object {
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
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

/// Resource tags: name to value.
pub type Tags = BTreeMap<String, String>;

/// One page of a list operation: `{"value": [...], "nextLink": "..."}` (no `nextLink` on the
/// last page).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items of this page.
    pub value: Vec<T>,
    /// The absolute URL of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// The ARM error envelope: `{"error": {"code": …, "message": …}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// An ARM error body (inside the envelope, or bare as `Microsoft.SerialConsole` sends it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `AuthorizationFailed`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

arm_object! {
    /// A subscription.
    pub struct Subscription {
        /// `/subscriptions/{id}`.
        pub id: String,
        /// The GUID.
        pub subscription_id: String,
        /// The owning tenant.
        pub tenant_id: String,
        /// Display name.
        pub display_name: String,
        /// `Enabled | Warned | PastDue | Disabled | Deleted`.
        pub state: String,
        /// `RoleBased`.
        pub authorization_source: String,
        /// Tenants managing the subscription through Azure Lighthouse (`GetSubscriptions.json`).
        pub managed_by_tenants: Vec<ManagedByTenant>,
    }
}

arm_object! {
    /// One entry of `managedByTenants`.
    pub struct ManagedByTenant {
        /// The managing tenant.
        pub tenant_id: String,
    }
}

arm_object! {
    /// One item of a management group's `descendants` listing (ManagementGroups_GetDescendants,
    /// example `GetDescendants.json` of the 2023-04-01 spec; same shape in 2020-05-01).
    pub struct Descendant {
        /// `/providers/Microsoft.Management/managementGroups/{name}` or `/subscriptions/{guid}`.
        pub id: String,
        /// `Microsoft.Management/managementGroups` or `…/managementGroups/subscriptions`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Group name or subscription GUID.
        pub name: String,
        /// Display name and parent.
        pub properties: DescendantProperties,
    }
}

arm_object! {
    /// `properties` of a [`Descendant`].
    pub struct DescendantProperties {
        /// Display name.
        pub display_name: String,
        /// The group directly above.
        pub parent: DescendantParent,
    }
}

arm_object! {
    /// `properties.parent` of a [`Descendant`].
    pub struct DescendantParent {
        /// The parent group's id.
        pub id: String,
    }
}

arm_object! {
    /// An instance-view status entry.
    pub struct InstanceViewStatus {
        /// E.g. `PowerState/running`.
        pub code: String,
        /// `Info | Warning | Error`.
        pub level: String,
        /// Short label.
        pub display_status: String,
        /// Detail.
        pub message: String,
        /// Time.
        pub time: String,
    }
}

arm_object! {
    /// `instanceView.bootDiagnostics`.
    pub struct BootDiagnosticsInstanceView {
        /// Screenshot blob (custom storage only).
        pub console_screenshot_blob_uri: String,
        /// Serial log blob (custom storage only).
        pub serial_console_log_blob_uri: String,
        /// Present only when enabling boot diagnostics ran into an error.
        pub status: InstanceViewStatus,
    }
}

arm_object! {
    /// `instanceView.vmAgent`.
    pub struct VmAgentInstanceView {
        /// Agent version.
        pub vm_agent_version: String,
        /// Agent statuses.
        pub statuses: Vec<InstanceViewStatus>,
    }
}

arm_object! {
    /// The run-time view of a VM or scale-set instance.
    pub struct InstanceView {
        /// Guest computer name.
        pub computer_name: String,
        /// Guest OS name.
        pub os_name: String,
        /// Guest agent.
        pub vm_agent: VmAgentInstanceView,
        /// Provisioning and power statuses.
        pub statuses: Vec<InstanceViewStatus>,
        /// Boot diagnostics.
        pub boot_diagnostics: BootDiagnosticsInstanceView,
    }
}

arm_object! {
    /// `diagnosticsProfile.bootDiagnostics`.
    pub struct BootDiagnostics {
        /// On or off.
        pub enabled: bool,
        /// Custom storage blob endpoint; absent with managed storage.
        pub storage_uri: String,
    }
}

arm_object! {
    /// `diagnosticsProfile`.
    pub struct DiagnosticsProfile {
        /// Boot diagnostics.
        pub boot_diagnostics: BootDiagnostics,
    }
}

arm_object! {
    /// `securityProfile.uefiSettings`.
    pub struct UefiSettings {
        /// Secure boot.
        pub secure_boot_enabled: bool,
        /// vTPM.
        pub v_tpm_enabled: bool,
    }
}

arm_object! {
    /// `securityProfile`.
    pub struct SecurityProfile {
        /// `TrustedLaunch | ConfidentialVM | Standard`.
        pub security_type: String,
        /// UEFI settings.
        pub uefi_settings: UefiSettings,
    }
}

arm_object! {
    /// `osProfile.linuxConfiguration`.
    pub struct LinuxConfiguration {
        /// SSH keys only.
        pub disable_password_authentication: bool,
    }
}

arm_object! {
    /// `osProfile.windowsConfiguration`.
    pub struct WindowsConfiguration {
        /// The VM agent is provisioned.
        #[serde(rename = "provisionVMAgent")]
        pub provision_vm_agent: bool,
    }
}

arm_object! {
    /// `osProfile` of a VM or an instance; a scale set's model (`VirtualMachineScaleSetOSProfile`)
    /// names the prefix of its instances' computer names instead of a computer name.
    pub struct OsProfile {
        /// Guest computer name (VMs and instances).
        pub computer_name: String,
        /// Prefix of the instances' computer names (scale-set models).
        pub computer_name_prefix: String,
        /// Admin user.
        pub admin_username: String,
        /// Linux settings.
        pub linux_configuration: LinuxConfiguration,
        /// Windows settings.
        pub windows_configuration: WindowsConfiguration,
    }
}

arm_object! {
    /// `storageProfile.osDisk`.
    pub struct OsDisk {
        /// `Linux | Windows`.
        pub os_type: String,
    }
}

arm_object! {
    /// `storageProfile`.
    pub struct StorageProfile {
        /// The OS disk.
        pub os_disk: OsDisk,
    }
}

arm_object! {
    /// `hardwareProfile`.
    pub struct HardwareProfile {
        /// Size.
        pub vm_size: String,
    }
}

arm_object! {
    /// A reference to another resource.
    pub struct SubResource {
        /// Its id.
        pub id: String,
    }
}

arm_object! {
    /// `properties` of a VM.
    pub struct VirtualMachineProperties {
        /// VM GUID.
        pub vm_id: String,
        /// Provisioning state.
        pub provisioning_state: String,
        /// Size.
        pub hardware_profile: HardwareProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Boot diagnostics.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security.
        pub security_profile: SecurityProfile,
        /// The Flexible scale set of a member VM.
        pub virtual_machine_scale_set: SubResource,
        /// With `$expand=instanceView`.
        pub instance_view: InstanceView,
    }
}

arm_object! {
    /// A VM.
    pub struct VirtualMachine {
        /// Id.
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

arm_object! {
    /// `sku`.
    pub struct Sku {
        /// Name.
        pub name: String,
        /// Tier.
        pub tier: String,
        /// Instance count of a scale set.
        pub capacity: i64,
    }
}

arm_object! {
    /// `upgradePolicy` of a Uniform scale set.
    pub struct UpgradePolicy {
        /// `Automatic | Manual | Rolling`.
        pub mode: String,
    }
}

arm_object! {
    /// `virtualMachineProfile` of a scale set.
    pub struct ScaleSetVmProfile {
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// Boot diagnostics.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security.
        pub security_profile: SecurityProfile,
    }
}

arm_object! {
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

arm_object! {
    /// A scale set.
    pub struct VirtualMachineScaleSet {
        /// Id.
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

arm_object! {
    /// `properties` of a Uniform scale-set instance.
    pub struct ScaleSetVmProperties {
        /// Runs the scale set's latest model.
        pub latest_model_applied: bool,
        /// VM GUID.
        pub vm_id: String,
        /// Provisioning state.
        pub provisioning_state: String,
        /// Guest OS settings.
        pub os_profile: OsProfile,
        /// Disks.
        pub storage_profile: StorageProfile,
        /// Boot diagnostics.
        pub diagnostics_profile: DiagnosticsProfile,
        /// Security.
        pub security_profile: SecurityProfile,
        /// With `$expand=instanceView`.
        pub instance_view: InstanceView,
    }
}

arm_object! {
    /// A Uniform scale-set instance.
    pub struct ScaleSetVm {
        /// Id.
        pub id: String,
        /// `{scale set}_{instance id}`.
        pub name: String,
        /// `Microsoft.Compute/virtualMachineScaleSets/virtualMachines`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Instance id.
        pub instance_id: String,
        /// Region.
        pub location: String,
        /// Tags.
        pub tags: Tags,
        /// Properties.
        pub properties: ScaleSetVmProperties,
    }
}

arm_object! {
    /// `networkAcls` of a storage account.
    pub struct NetworkAcls {
        /// `Allow | Deny`.
        pub default_action: String,
        /// E.g. `AzureServices`.
        pub bypass: String,
    }
}

arm_object! {
    /// `primaryEndpoints` of a storage account.
    pub struct Endpoints {
        /// Blob endpoint.
        pub blob: String,
    }
}

arm_object! {
    /// `properties` of a storage account.
    pub struct StorageAccountProperties {
        /// Provisioning state.
        pub provisioning_state: String,
        /// Hierarchical namespace.
        pub is_hns_enabled: bool,
        /// Firewall.
        pub network_acls: NetworkAcls,
        /// Shared key access.
        pub allow_shared_key_access: bool,
        /// `TLS1_0 | TLS1_1 | TLS1_2 | TLS1_3`.
        pub minimum_tls_version: String,
        /// Endpoints.
        pub primary_endpoints: Endpoints,
        /// Anonymous blob access.
        pub allow_blob_public_access: bool,
    }
}

arm_object! {
    /// A storage account.
    pub struct StorageAccount {
        /// Id.
        pub id: String,
        /// Name.
        pub name: String,
        /// `Microsoft.Storage/storageAccounts`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Region.
        pub location: String,
        /// `StorageV2`, …
        pub kind: String,
        /// SKU.
        pub sku: Sku,
        /// Tags.
        pub tags: Tags,
        /// Properties.
        pub properties: StorageAccountProperties,
    }
}

arm_object! {
    /// `properties` of `consoleServices/default`.
    pub struct ConsoleStatusProperties {
        /// Serial Console disabled for the subscription.
        pub disabled: bool,
    }
}

arm_object! {
    /// `GET …/Microsoft.SerialConsole/consoleServices/default`.
    pub struct ConsoleStatus {
        /// The switch.
        pub properties: ConsoleStatusProperties,
    }
}

arm_object! {
    /// `properties` of a management lock.
    pub struct LockProperties {
        /// `CanNotDelete | ReadOnly`.
        pub level: String,
        /// Notes.
        pub notes: String,
    }
}

arm_object! {
    /// A management lock.
    pub struct ManagementLock {
        /// Id (`{scope}/providers/Microsoft.Authorization/locks/{name}`).
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

arm_object! {
    /// `properties` of a role assignment.
    pub struct RoleAssignmentProperties {
        /// Full role definition id.
        pub role_definition_id: String,
        /// Principal object id.
        pub principal_id: String,
        /// `User | Group | ServicePrincipal`.
        pub principal_type: String,
        /// Scope.
        pub scope: String,
        /// ABAC condition.
        pub condition: String,
        /// Condition version.
        pub condition_version: String,
    }
}

arm_object! {
    /// A role assignment.
    pub struct RoleAssignment {
        /// Id.
        pub id: String,
        /// GUID name.
        pub name: String,
        /// `Microsoft.Authorization/roleAssignments`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: RoleAssignmentProperties,
    }
}

arm_object! {
    /// A permission block of a role definition, a deny assignment or the permissions API.
    pub struct Permission {
        /// Allowed operations.
        pub actions: Vec<String>,
        /// Operations subtracted from `actions`.
        pub not_actions: Vec<String>,
        /// Allowed data operations.
        pub data_actions: Vec<String>,
        /// Data operations subtracted.
        pub not_data_actions: Vec<String>,
    }
}

arm_object! {
    /// `properties` of a role definition.
    pub struct RoleDefinitionProperties {
        /// Display name.
        pub role_name: String,
        /// `BuiltInRole | CustomRole`.
        #[serde(rename = "type")]
        pub role_type: String,
        /// Description.
        pub description: String,
        /// Where it may be assigned.
        pub assignable_scopes: Vec<String>,
        /// Permission blocks.
        pub permissions: Vec<Permission>,
    }
}

arm_object! {
    /// A role definition.
    pub struct RoleDefinition {
        /// Id.
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

/// The identity platform's token response (OAuth 2.0, RFC 6749 §5.1, with Entra's
/// `ext_expires_in`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenResponse {
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime, seconds.
    pub expires_in: i64,
    /// Extended lifetime, seconds.
    pub ext_expires_in: i64,
    /// The token.
    pub access_token: String,
}

arm_object! {
    /// A principal of a deny assignment.
    pub struct DenyPrincipal {
        /// Object id (all zeros with type `SystemDefined`: every principal).
        pub id: String,
        /// Principal type.
        #[serde(rename = "type")]
        pub principal_type: String,
    }
}

arm_object! {
    /// `properties` of a deny assignment.
    pub struct DenyAssignmentProperties {
        /// Display name.
        pub deny_assignment_name: String,
        /// Denied operations.
        pub permissions: Vec<Permission>,
        /// Scope.
        pub scope: String,
        /// Child scopes not covered.
        pub do_not_apply_to_child_scopes: bool,
        /// Principals denied.
        pub principals: Vec<DenyPrincipal>,
        /// Principals exempted.
        pub exclude_principals: Vec<DenyPrincipal>,
        /// Created by the platform.
        pub is_system_protected: bool,
    }
}

arm_object! {
    /// A deny assignment.
    pub struct DenyAssignment {
        /// Id.
        pub id: String,
        /// GUID name.
        pub name: String,
        /// `Microsoft.Authorization/denyAssignments`.
        #[serde(rename = "type")]
        pub resource_type: String,
        /// Properties.
        pub properties: DenyAssignmentProperties,
    }
}
