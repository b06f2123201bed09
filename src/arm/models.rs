//! Typed models of the ARM JSON that scready reads.
//!
//! Only the fields the scanner uses are modelled; everything else in a payload is ignored. Every
//! field is [`Lenient`], so a missing field, a `null`, an enum value Azure added after this was
//! written, or an ill-typed value never fails a page. The simulator writes ARM's JSON with types
//! of its own (the `scready-sim` package shares no code with the scanner); both are checked
//! against the official examples and the recorded traffic in `tests/fixtures/arm/`.

use super::lenient::{self, Expected, Lenient, LenientDecode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An ARM object of lenient fields: the struct, its serialisation (camelCase, absent fields
/// left out) and its one-pass reading ([`LenientDecode`]): members are matched to fields by
/// name as they stream by, members the scanner does not read are skipped once, and a field named
/// twice becomes `Invalid`. A field's JSON name is its name in camelCase unless a
/// `#[serde(rename = "…")]` (after its doc comment) says otherwise.
macro_rules! lenient_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde(rename = $rename:literal)])?
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[serde(rename = $rename)])?
                #[serde(default, skip_serializing_if = "Lenient::is_absent")]
                pub $field: Lenient<$ty>,
            )*
        }

        impl LenientDecode for $name {
            fn decode<'de, D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Lenient<Self>, D::Error> {
                lenient::decode_one_pass(deserializer)
            }
        }

        impl Expected for $name {
            #[allow(unused_assignments)]
            fn from_map<'de, A: serde::de::MapAccess<'de>>(
                mut map: A,
            ) -> Result<Lenient<Self>, A::Error> {
                let mut out = Self::default();
                let mut seen = 0u64;
                while let Some(key) = map.next_key::<lenient::Key<'de>>()? {
                    let key = key.as_str();
                    let mut bit = 1u64;
                    let mut known = false;
                    $(
                        if !known
                            && lenient::key_is(key, stringify!($field), None $(.or(Some($rename)))?)
                        {
                            known = true;
                            lenient::read_field(&mut map, &mut out.$field, &mut seen, bit)?;
                        }
                        bit <<= 1;
                    )*
                    if !known {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(Lenient::Value(out))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                lenient::deserialize_strict(deserializer)
            }
        }

        #[cfg(test)]
        impl $name {
            /// Every field `Invalid`, holding `v` (for the tests of the fields' JSON names).
            pub(crate) fn every_field_invalid(v: &serde_json::Value) -> Self {
                Self { $( $field: Lenient::invalid_value(v.clone()), )* }
            }
        }
    };
}

/// Resource tags: name to value.
pub type Tags = BTreeMap<String, String>;

/// One page of an ARM list operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: LenientDecode"))]
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
    T: LenientDecode,
{
    struct Items<T>(std::marker::PhantomData<T>);
    impl<'de, T: LenientDecode> serde::de::Visitor<'de> for Items<T> {
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
    /// A status entry that is read whole: `instanceView.bootDiagnostics.status`, a Run Command's
    /// output.
    pub struct InstanceViewStatus {
        /// E.g. `ComponentStatus/StdOut/succeeded`.
        pub code: String,
        /// `Info | Warning | Error`.
        pub level: String,
        /// Localised short label.
        pub display_status: String,
        /// Detailed message.
        pub message: String,
    }
}

lenient_struct! {
    /// One of `instanceView.statuses[]`, of which only the code is read (its level, label and
    /// time are skipped unread).
    pub struct StatusCode {
        /// E.g. `PowerState/running`, `ProvisioningState/succeeded`.
        pub code: String,
    }
}

lenient_struct! {
    /// `instanceView.bootDiagnostics`.
    pub struct BootDiagnosticsInstanceView {
        /// Serial log blob (absent with managed storage).
        pub serial_console_log_blob_uri: String,
        /// Set only when enabling boot diagnostics ran into an error.
        pub status: InstanceViewStatus,
    }
}

lenient_struct! {
    /// The run-time view of a VM or scale-set instance.
    pub struct InstanceView {
        /// Provisioning and power statuses.
        pub statuses: Vec<StatusCode>,
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
    /// `osProfile`.
    pub struct OsProfile {
        /// Linux settings.
        pub linux_configuration: LinuxConfiguration,
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
    /// A reference to another resource: `{"id": …}`.
    pub struct SubResource {
        /// The referenced resource id.
        pub id: String,
    }
}

lenient_struct! {
    /// `properties` of a virtual machine.
    pub struct VirtualMachineProperties {
        /// `Creating | Updating | Failed | Succeeded | Deleting | Migrating` (free string).
        pub provisioning_state: String,
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
    /// `sku` of a storage account.
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
        /// The instance model.
        pub virtual_machine_profile: ScaleSetVmProfile,
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
        /// Properties.
        pub properties: ScaleSetProperties,
    }
}

lenient_struct! {
    /// `properties` of a Uniform scale-set instance.
    pub struct ScaleSetVmProperties {
        /// Whether the instance runs the scale set's latest model.
        pub latest_model_applied: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Serialises `T` with every field `Invalid(1.5)` (a float fits none of the field types),
    /// reads it back in one pass and expects every field back: a field whose JSON name the
    /// reader spelled differently from serde's `Serialize` would come back `Absent`.
    fn names_agree<T>(every_field_invalid: fn(&Value) -> T)
    where
        T: LenientDecode + Serialize + PartialEq + std::fmt::Debug,
    {
        let all = every_field_invalid(&json!(1.5));
        let text = serde_json::to_string(&all).unwrap();
        let back: Lenient<T> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, Lenient::Value(all), "{text}");
    }

    #[test]
    fn every_field_is_read_under_the_name_it_is_written_under() {
        names_agree(Subscription::every_field_invalid);
        names_agree(ManagedByTenant::every_field_invalid);
        names_agree(ManagementGroupDescendant::every_field_invalid);
        names_agree(DescendantProperties::every_field_invalid);
        names_agree(DescendantParent::every_field_invalid);
        names_agree(InstanceViewStatus::every_field_invalid);
        names_agree(StatusCode::every_field_invalid);
        names_agree(BootDiagnosticsInstanceView::every_field_invalid);
        names_agree(InstanceView::every_field_invalid);
        names_agree(BootDiagnostics::every_field_invalid);
        names_agree(DiagnosticsProfile::every_field_invalid);
        names_agree(UefiSettings::every_field_invalid);
        names_agree(SecurityProfile::every_field_invalid);
        names_agree(LinuxConfiguration::every_field_invalid);
        names_agree(OsProfile::every_field_invalid);
        names_agree(OsDisk::every_field_invalid);
        names_agree(StorageProfile::every_field_invalid);
        names_agree(SubResource::every_field_invalid);
        names_agree(VirtualMachineProperties::every_field_invalid);
        names_agree(VirtualMachine::every_field_invalid);
        names_agree(Sku::every_field_invalid);
        names_agree(ScaleSetVmProfile::every_field_invalid);
        names_agree(ScaleSetProperties::every_field_invalid);
        names_agree(VirtualMachineScaleSet::every_field_invalid);
        names_agree(ScaleSetVmProperties::every_field_invalid);
        names_agree(ScaleSetVm::every_field_invalid);
        names_agree(NetworkAcls::every_field_invalid);
        names_agree(Endpoints::every_field_invalid);
        names_agree(StorageAccountProperties::every_field_invalid);
        names_agree(StorageAccount::every_field_invalid);
        names_agree(ConsoleStatusProperties::every_field_invalid);
        names_agree(ConsoleStatus::every_field_invalid);
        names_agree(LockProperties::every_field_invalid);
        names_agree(ManagementLock::every_field_invalid);
        names_agree(RoleAssignmentProperties::every_field_invalid);
        names_agree(RoleAssignment::every_field_invalid);
        names_agree(Permission::every_field_invalid);
        names_agree(RoleDefinitionProperties::every_field_invalid);
        names_agree(RoleDefinition::every_field_invalid);
        names_agree(DenyPrincipal::every_field_invalid);
        names_agree(DenyAssignmentProperties::every_field_invalid);
        names_agree(DenyAssignment::every_field_invalid);
        names_agree(DirectoryObject::every_field_invalid);
        names_agree(RunCommandOutput::every_field_invalid);
        names_agree(RunCommandProperties::every_field_invalid);
        names_agree(OperationStatus::every_field_invalid);
        names_agree(OperationError::every_field_invalid);
    }

    #[test]
    fn renamed_and_multi_word_names() {
        let vm: VirtualMachine = serde_json::from_str(
            r#"{"type":"Microsoft.Compute/virtualMachines","properties":{"provisioningState":"Succeeded",
                "securityProfile":{"uefiSettings":{"secureBootEnabled":true}},
                "osProfile":{"linuxConfiguration":{"disablePasswordAuthentication":false}}}}"#,
        )
        .unwrap();
        assert_eq!(
            vm.resource_type.get().unwrap(),
            "Microsoft.Compute/virtualMachines"
        );
        let p = vm.properties.get().unwrap();
        assert_eq!(p.provisioning_state.get().unwrap(), "Succeeded");
        let uefi = p
            .security_profile
            .get()
            .unwrap()
            .uefi_settings
            .get()
            .unwrap();
        assert_eq!(uefi.secure_boot_enabled, Lenient::Value(true));
        let linux = p
            .os_profile
            .get()
            .unwrap()
            .linux_configuration
            .get()
            .unwrap();
        assert_eq!(linux.disable_password_authentication, Lenient::Value(false));
        let d: DirectoryObject =
            serde_json::from_str(r##"{"@odata.type":"#microsoft.graph.group"}"##).unwrap();
        assert_eq!(d.odata_type.get().unwrap(), "#microsoft.graph.group");
        // Near misses are other members, not the field.
        let d: BootDiagnostics =
            serde_json::from_str(r#"{"Enabled":true,"storage_uri":"x","storageUri_":"y"}"#)
                .unwrap();
        assert!(d.enabled.is_absent() && d.storage_uri.is_absent());
    }

    #[test]
    fn a_key_with_escapes_is_the_same_key() {
        let d: BootDiagnostics =
            serde_json::from_str(r#"{"en\u0061bled":true,"storageUri":"https:\/\/a"}"#).unwrap();
        assert_eq!(d.enabled, Lenient::Value(true));
        assert_eq!(d.storage_uri.get().unwrap(), "https://a");
    }

    #[test]
    fn a_field_named_twice_is_invalid_and_the_rest_is_read() {
        let d: BootDiagnostics =
            serde_json::from_str(r#"{"enabled":true,"storageUri":"a","enabled":false}"#).unwrap();
        assert_eq!(d.enabled.invalid(), Some(&json!(false)));
        assert_eq!(d.storage_uri.get().unwrap(), "a");
    }

    #[test]
    fn an_object_where_a_scalar_belongs_and_the_reverse_are_kept_verbatim() {
        let vm: VirtualMachine = serde_json::from_str(
            r#"{"name":{"a":[1,"b",null]},"properties":"oops","tags":{"env":"prod","n":1},
                "location":"westeurope"}"#,
        )
        .unwrap();
        assert_eq!(vm.name.invalid(), Some(&json!({"a": [1, "b", null]})));
        assert_eq!(vm.properties.invalid(), Some(&json!("oops")));
        assert_eq!(vm.tags.invalid(), Some(&json!({"env": "prod", "n": 1})));
        assert_eq!(vm.location.get().unwrap(), "westeurope");
    }

    #[test]
    fn a_list_with_one_ill_typed_element_is_kept_whole() {
        let v: InstanceView = serde_json::from_str(
            r#"{"statuses":[{"code":"PowerState/running"},"odd"],"bootDiagnostics":{}}"#,
        )
        .unwrap();
        assert_eq!(
            v.statuses.invalid(),
            Some(&json!([{"code": "PowerState/running"}, "odd"]))
        );
        assert!(v.boot_diagnostics.get().is_some());
        let v: InstanceView = serde_json::from_str(
            r#"{"statuses":[{"code":"PowerState/running","level":"Info"},{"code":7}]}"#,
        )
        .unwrap();
        let statuses = v.statuses.get().unwrap();
        assert_eq!(statuses[0].code.get().unwrap(), "PowerState/running");
        assert_eq!(statuses[1].code.invalid(), Some(&json!(7)));
    }

    #[test]
    fn numbers_outside_the_type_are_invalid() {
        let s: Sku = serde_json::from_str(r#"{"capacity":18446744073709551615}"#).unwrap();
        assert_eq!(s.capacity.invalid(), Some(&json!(18446744073709551615u64)));
        let s: Sku = serde_json::from_str(r#"{"capacity":2.0}"#).unwrap();
        assert_eq!(s.capacity.invalid(), Some(&json!(2.0)));
        let s: Sku = serde_json::from_str(r#"{"capacity":-3,"name":null}"#).unwrap();
        assert_eq!(s.capacity, Lenient::Value(-3));
        assert!(s.name.is_absent());
    }

    #[test]
    fn a_page_item_that_is_not_an_object_is_kept_and_the_page_is_read() {
        let page: Page<SubResource> =
            serde_json::from_str(r#"{"value":[{"id":"a"},7,null,{"id":"b"}],"nextLink":null}"#)
                .unwrap();
        assert_eq!(page.value.len(), 4);
        assert_eq!(page.value[0].get().unwrap().id.get().unwrap(), "a");
        assert_eq!(page.value[1].invalid(), Some(&json!(7)));
        assert!(page.value[2].is_absent());
        assert_eq!(page.value[3].get().unwrap().id.get().unwrap(), "b");
    }

    #[test]
    fn malformed_json_is_still_an_error() {
        assert!(serde_json::from_str::<Page<SubResource>>(r#"{"value":[{"id":"a"}"#).is_err());
        assert!(serde_json::from_str::<VirtualMachine>(r#"{"properties":{"vmId":}}"#).is_err());
    }
}
