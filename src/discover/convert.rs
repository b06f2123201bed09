//! From ARM models to inventory records. Ill-typed fields are noted as anomalies, never guessed.
//!
//! A field a payload did not carry stays absent (`None`, or an "unknown"/"not read" state) unless
//! ARM's contract gives its absence a meaning; each such reading names its source here or in the
//! check that relies on it. No model field is taken from a `statusOnly=true` listing item: use
//! [`vm_status`] for those.

use crate::arm::models::*;
use crate::arm::Lenient;
use crate::inventory::{BootDiagnostics, Instance, InstanceKind, LockInfo, StorageInfo};

/// Collects the paths of fields that held values of unexpected types.
#[derive(Default)]
pub struct Anomalies(pub Vec<String>);

impl Anomalies {
    /// The value of a field, noting it when ill-typed.
    pub fn take<'a, T>(&mut self, path: &str, field: &'a Lenient<T>) -> Option<&'a T> {
        if let Some(raw) = field.invalid() {
            let mut text = raw.to_string();
            if text.len() > 80 {
                let mut cut = 80;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push('…');
            }
            self.0.push(format!("{path}={text}"));
        }
        field.get()
    }
}

/// The segment after `key` in a resource id (case-insensitive key).
pub fn id_segment<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut segs = id.split('/');
    while let Some(s) = segs.next() {
        if s.eq_ignore_ascii_case(key) {
            return segs.next();
        }
    }
    None
}

/// The `PowerState/…` code of an instance view, lower case; absent when the view has none
/// (Microsoft documents that a statusOnly listing may lack it: tests/fixtures/arm/FIELDS.md §2).
fn power_state(view: Option<&InstanceView>, a: &mut Anomalies) -> Option<String> {
    let statuses = a.take("instanceView.statuses", &view?.statuses)?;
    statuses.iter().find_map(|s| {
        let code = s.code.get()?;
        let rest = code.strip_prefix("PowerState/").or_else(|| {
            code.to_ascii_lowercase()
                .starts_with("powerstate/")
                .then(|| &code["PowerState/".len()..])
        })?;
        Some(rest.to_ascii_lowercase())
    })
}

fn boot_diagnostics(profile: &Lenient<DiagnosticsProfile>, a: &mut Anomalies) -> BootDiagnostics {
    if profile.invalid().is_some() {
        a.take("diagnosticsProfile", profile);
        return BootDiagnostics::Invalid {
            reason: "diagnosticsProfile has an unexpected type".into(),
        };
    }
    // No diagnosticsProfile in a model: never configured (recorded GETs of a VM created without
    // boot diagnostics, tests/fixtures/arm/recordings/decoded/02–04). Only a model read says
    // so; callers mark instances whose model was not read (`Instance::model_not_read`).
    let Some(p) = profile.get() else {
        return BootDiagnostics::Absent;
    };
    if p.boot_diagnostics.invalid().is_some() {
        a.take("diagnosticsProfile.bootDiagnostics", &p.boot_diagnostics);
        return BootDiagnostics::Invalid {
            reason: "bootDiagnostics has an unexpected type".into(),
        };
    }
    // bootDiagnostics is the only member of DiagnosticsProfile (Compute spec): an empty
    // profile configures nothing, as an absent one.
    let Some(bd) = p.boot_diagnostics.get() else {
        return BootDiagnostics::Absent;
    };
    if bd.enabled.invalid().is_some() {
        a.take("bootDiagnostics.enabled", &bd.enabled);
        return BootDiagnostics::Invalid {
            reason: format!(
                "bootDiagnostics.enabled is {} instead of true or false",
                bd.enabled
                    .invalid()
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ),
        };
    }
    match bd.enabled.get() {
        Some(true) => {}
        Some(false) => return BootDiagnostics::Disabled,
        // The Compute spec documents no default for bootDiagnostics.enabled: a bootDiagnostics
        // object without it says neither enabled nor disabled.
        None => {
            return BootDiagnostics::Invalid {
                reason: "bootDiagnostics has no `enabled` field".into(),
            }
        }
    }
    if bd.storage_uri.invalid().is_some() {
        a.take("bootDiagnostics.storageUri", &bd.storage_uri);
        return BootDiagnostics::Invalid {
            reason: "bootDiagnostics.storageUri is not a string".into(),
        };
    }
    // "If storageUri is not specified while enabling boot diagnostics, managed storage will be
    // used" (Compute spec, BootDiagnostics.storageUri; tests/fixtures/arm/FIELDS.md §1).
    match bd
        .storage_uri
        .get()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        None => BootDiagnostics::Managed,
        Some(uri) => BootDiagnostics::Custom {
            storage_uri: uri.to_string(),
        },
    }
}

/// An error-level `bootDiagnostics.status` of an instance view. The status "will be set only if
/// there are errors encountered in enabling boot diagnostics" (Compute spec,
/// BootDiagnosticsInstanceView.status), so its absence in a returned view means no error.
fn boot_diagnostics_error(view: Option<&InstanceView>) -> Option<String> {
    let bd = view?.boot_diagnostics.get()?;
    let status = bd.status.get()?;
    if status.level.get()?.eq_ignore_ascii_case("error") {
        Some(
            status
                .message
                .get()
                .or(status.display_status.get())
                .or(status.code.get())
                .cloned()
                .unwrap_or_else(|| "boot diagnostics reported an error".into()),
        )
    } else {
        None
    }
}

fn os_type(storage: &Lenient<StorageProfile>, a: &mut Anomalies) -> Option<String> {
    let disk = storage.get()?.os_disk.get()?;
    a.take("storageProfile.osDisk.osType", &disk.os_type)
        .cloned()
}

fn password_auth(os: &Lenient<OsProfile>, a: &mut Anomalies) -> Option<bool> {
    let linux = os.get()?.linux_configuration.get()?;
    a.take(
        "osProfile.linuxConfiguration.disablePasswordAuthentication",
        &linux.disable_password_authentication,
    )
    .copied()
}

/// Security type and secure boot. No `securityProfile`/`securityType` stays `None`, which the
/// check reads as Standard (documented there); no `secureBootEnabled` stays `None` (unknown).
fn security(sec: &Lenient<SecurityProfile>, a: &mut Anomalies) -> (Option<String>, Option<bool>) {
    let Some(s) = sec.get() else {
        return (None, None);
    };
    let t = a
        .take("securityProfile.securityType", &s.security_type)
        .cloned();
    let sb = s
        .uefi_settings
        .get()
        .and_then(|u| {
            a.take(
                "securityProfile.uefiSettings.secureBootEnabled",
                &u.secure_boot_enabled,
            )
        })
        .copied();
    (t, sb)
}

fn text(l: &Lenient<String>) -> String {
    l.get().cloned().unwrap_or_default()
}

/// The properties VMs and scale-set instances share.
struct Shared<'a> {
    provisioning_state: &'a Lenient<String>,
    storage_profile: &'a Lenient<StorageProfile>,
    os_profile: &'a Lenient<OsProfile>,
    diagnostics_profile: &'a Lenient<DiagnosticsProfile>,
    security_profile: &'a Lenient<SecurityProfile>,
    instance_view: &'a Lenient<InstanceView>,
}

/// Who an instance is: id, name, kind, where.
struct Identity<'a> {
    id: String,
    name: String,
    subscription_id: &'a str,
    kind: InstanceKind,
    location: String,
    tags: &'a Lenient<Tags>,
}

/// An instance with its identity set and the shared properties read from `shared`.
fn instance(who: Identity, shared: Option<Shared>, a: &mut Anomalies) -> Instance {
    let Identity {
        id,
        name,
        subscription_id,
        kind,
        location,
        tags,
    } = who;
    let view = shared.as_ref().and_then(|s| s.instance_view.get());
    let (security_type, secure_boot) = shared
        .as_ref()
        .map(|s| security(s.security_profile, a))
        .unwrap_or((None, None));
    Instance {
        name,
        resource_group: id_segment(&id, "resourceGroups").unwrap_or("").to_string(),
        subscription_id: subscription_id.to_ascii_lowercase(),
        kind,
        scale_set: None,
        instance_id: None,
        location,
        os_type: shared.as_ref().and_then(|s| os_type(s.storage_profile, a)),
        tags: tags
            .get()
            .cloned()
            .map(crate::inventory::Tags::from)
            .unwrap_or_default(),
        power_state: power_state(view, a),
        instance_view: view.is_some(),
        provisioning_state: shared
            .as_ref()
            .and_then(|s| a.take("properties.provisioningState", s.provisioning_state))
            .cloned(),
        boot_diagnostics: shared
            .as_ref()
            .map(|s| boot_diagnostics(s.diagnostics_profile, a))
            .unwrap_or(BootDiagnostics::Absent),
        boot_diagnostics_error: boot_diagnostics_error(view),
        security_type,
        secure_boot,
        disable_password_authentication: shared
            .as_ref()
            .and_then(|s| password_auth(s.os_profile, a)),
        latest_model_applied: None,
        anomalies: Vec::new(),
        // A payload without `properties` carries no model (MinimumSet examples return objects
        // with only id and location: tests/fixtures/arm/FIELDS.md §5); it is not a VM without boot diagnostics.
        model_not_read: shared
            .is_none()
            .then(|| "the payload has no properties".to_string()),
        status_not_read: None,
        id: id.into(),
    }
}

/// A VM (standalone or Flexible member) from a payload that carries its model: the plain VM
/// listing, or a GET (with `$expand=instanceView`, which carries the run-time status too). Not
/// for `statusOnly=true` listing items, which carry no model: see [`vm_status`].
pub fn vm(model: &VirtualMachine, subscription_id: &str) -> Option<Instance> {
    let id = model.id.get()?.clone();
    let mut a = Anomalies::default();
    if model.properties.invalid().is_some() {
        a.take("properties", &model.properties);
    }
    let props = model.properties.get();
    let scale_set = props
        .and_then(|p| p.virtual_machine_scale_set.get())
        .and_then(|s| s.id.get())
        .and_then(|sid| sid.rsplit('/').find(|s| !s.is_empty()))
        .map(str::to_string);
    let name = model
        .name
        .get()
        .cloned()
        .unwrap_or_else(|| id.rsplit('/').next().unwrap_or("").to_string());
    let kind = if scale_set.is_some() {
        InstanceKind::VmssFlexVm
    } else {
        InstanceKind::Vm
    };
    let shared = props.map(|p| Shared {
        provisioning_state: &p.provisioning_state,
        storage_profile: &p.storage_profile,
        os_profile: &p.os_profile,
        diagnostics_profile: &p.diagnostics_profile,
        security_profile: &p.security_profile,
        instance_view: &p.instance_view,
    });
    let who = Identity {
        id,
        name,
        subscription_id,
        kind,
        location: text(&model.location),
        tags: &model.tags,
    };
    let mut i = instance(who, shared, &mut a);
    i.scale_set = scale_set;
    i.anomalies = a.0;
    Some(i)
}

/// A Uniform scale-set instance.
pub fn scale_set_instance(
    model: &ScaleSetVm,
    subscription_id: &str,
    scale_set: &str,
    scale_set_location: &str,
) -> Option<Instance> {
    let id = model.id.get()?.clone();
    let mut a = Anomalies::default();
    let props = model.properties.get();
    let instance_id = model
        .instance_id
        .get()
        .cloned()
        .or_else(|| id.rsplit('/').next().map(str::to_string));
    let name = model
        .name
        .get()
        .cloned()
        .unwrap_or_else(|| format!("{scale_set}_{}", instance_id.clone().unwrap_or_default()));
    let location = model
        .location
        .get()
        .cloned()
        .unwrap_or_else(|| scale_set_location.to_string());
    let shared = props.map(|p| Shared {
        provisioning_state: &p.provisioning_state,
        storage_profile: &p.storage_profile,
        os_profile: &p.os_profile,
        diagnostics_profile: &p.diagnostics_profile,
        security_profile: &p.security_profile,
        instance_view: &p.instance_view,
    });
    let who = Identity {
        id,
        name,
        subscription_id,
        kind: InstanceKind::VmssInstance,
        location,
        tags: &model.tags,
    };
    let mut i = instance(who, shared, &mut a);
    i.scale_set = Some(scale_set.to_string());
    i.instance_id = instance_id;
    i.latest_model_applied = props
        .and_then(|p| a.take("properties.latestModelApplied", &p.latest_model_applied))
        .copied();
    i.anomalies = a.0;
    Some(i)
}

/// The run-time status of a VM, from an item of the `statusOnly=true` listing: identity,
/// location and instance view. It carries no model field (no tags, no profiles).
#[derive(Clone, Debug, PartialEq)]
pub struct VmStatus {
    /// Resource id as ARM returned it.
    pub id: String,
    /// Name (the last id segment when absent).
    pub name: String,
    /// Region (`location` is part of the resource envelope; empty when absent).
    pub location: String,
    /// Power state (`running`, `deallocated`, …); absent when the instance view has none.
    pub power_state: Option<String>,
    /// Whether an instance view was returned at all.
    pub instance_view: bool,
    /// An error-level boot-diagnostics status from the instance view.
    pub boot_diagnostics_error: Option<String>,
    /// Fields that held values of unexpected types.
    pub anomalies: Vec<String>,
}

/// Reads the run-time status of a `statusOnly=true` listing item (power state and instance
/// view only; the model is ignored even when present).
pub fn vm_status(item: &VirtualMachine) -> Option<VmStatus> {
    let id = item.id.get()?.clone();
    let mut a = Anomalies::default();
    let view = item.properties.get().and_then(|p| p.instance_view.get());
    Some(VmStatus {
        name: item
            .name
            .get()
            .cloned()
            .unwrap_or_else(|| id.rsplit('/').next().unwrap_or("").to_string()),
        location: text(&item.location),
        power_state: power_state(view, &mut a),
        instance_view: view.is_some(),
        boot_diagnostics_error: boot_diagnostics_error(view),
        anomalies: a.0,
        id,
    })
}

/// Joins a VM's run-time status onto the instance read from its model: sets the power state,
/// the instance view and its boot-diagnostics error, and marks the status as read.
pub fn apply_status(i: &mut Instance, status: VmStatus) {
    i.power_state = status.power_state;
    i.instance_view = status.instance_view;
    i.boot_diagnostics_error = status.boot_diagnostics_error;
    i.anomalies.extend(status.anomalies);
    i.status_not_read = None;
}

/// Marks an instance's run-time status as not read, and why (e.g. the VM was missing from the
/// status listing, or that listing failed): clears whatever status fields it held.
pub fn mark_status_not_read(i: &mut Instance, why: impl Into<String>) {
    i.power_state = None;
    i.instance_view = false;
    i.boot_diagnostics_error = None;
    i.status_not_read = Some(why.into());
}

/// An instance known only from the status listing (its model could not be read, and why):
/// identity, location and run-time status; every model-based check says `unknown` with `why`.
pub fn vm_without_model(
    status: VmStatus,
    subscription_id: &str,
    why: impl Into<String>,
) -> Instance {
    let VmStatus {
        id,
        name,
        location,
        power_state,
        instance_view,
        boot_diagnostics_error,
        anomalies,
    } = status;
    Instance {
        name,
        resource_group: id_segment(&id, "resourceGroups").unwrap_or("").to_string(),
        subscription_id: subscription_id.to_ascii_lowercase(),
        // Flexible membership is a model field (properties.virtualMachineScaleSet): unknown here.
        kind: InstanceKind::Vm,
        scale_set: None,
        instance_id: None,
        location,
        os_type: None,
        tags: Default::default(),
        power_state,
        instance_view,
        provisioning_state: None,
        // Not `Absent` ("never configured"): the profile was not read.
        boot_diagnostics: BootDiagnostics::Invalid {
            reason: "the model was not read".into(),
        },
        boot_diagnostics_error,
        security_type: None,
        secure_boot: None,
        disable_password_authentication: None,
        latest_model_applied: None,
        anomalies,
        model_not_read: Some(why.into()),
        status_not_read: None,
        id: id.into(),
    }
}

/// A storage account. Absent properties stay `None`; the storage checks document what ARM's
/// contract says their absence means.
pub fn storage(model: &StorageAccount, subscription_id: &str) -> Option<StorageInfo> {
    let id = model.id.get()?.clone();
    let name = model.name.get().cloned().unwrap_or_default();
    let props = model.properties.get();
    let blob_host = props
        .and_then(|p| p.primary_endpoints.get())
        .and_then(|e| e.blob.get())
        .and_then(|b| url::Url::parse(b).ok())
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
        .unwrap_or_else(|| format!("{}.blob.core.windows.net", name.to_ascii_lowercase()));
    Some(StorageInfo {
        resource_group: id_segment(&id, "resourceGroups").unwrap_or("").to_string(),
        subscription_id: subscription_id.to_ascii_lowercase(),
        location: text(&model.location),
        kind: model.kind.get().cloned(),
        blob_host,
        is_hns_enabled: props.and_then(|p| p.is_hns_enabled.get().copied()),
        network_default_action: props
            .and_then(|p| p.network_acls.get())
            .and_then(|n| n.default_action.get().cloned()),
        allow_shared_key_access: props.and_then(|p| p.allow_shared_key_access.get().copied()),
        minimum_tls_version: props.and_then(|p| p.minimum_tls_version.get().cloned()),
        name,
        id,
    })
}

/// A management lock; its scope is the part of its id before `/providers/Microsoft.Authorization/locks/`.
pub fn lock(model: &ManagementLock) -> Option<LockInfo> {
    let id = model.id.get()?.to_ascii_lowercase();
    let scope = id
        .split("/providers/microsoft.authorization/locks/")
        .next()?
        .to_string();
    let props = model.properties.get();
    Some(LockInfo {
        scope,
        name: model.name.get().cloned().unwrap_or_default(),
        level: props
            .and_then(|p| p.level.get().cloned())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_vm(json: &str) -> Instance {
        let m: VirtualMachine = serde_json::from_str(json).unwrap();
        vm(&m, "S").unwrap()
    }

    #[test]
    fn boot_diagnostics_shapes() {
        let base = r#"{"id":"/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/v","name":"v","properties":{PROPS}}"#;
        let cases = [
            ("", BootDiagnostics::Absent),
            (r#""diagnosticsProfile":{}"#, BootDiagnostics::Absent),
            (
                r#""diagnosticsProfile":{"bootDiagnostics":{"enabled":false}}"#,
                BootDiagnostics::Disabled,
            ),
            (
                r#""diagnosticsProfile":{"bootDiagnostics":{"enabled":true}}"#,
                BootDiagnostics::Managed,
            ),
            (
                r#""diagnosticsProfile":{"bootDiagnostics":{"enabled":true,"storageUri":""}}"#,
                BootDiagnostics::Managed,
            ),
            (
                r#""diagnosticsProfile":{"bootDiagnostics":{"enabled":true,"storageUri":"https://a.blob.core.windows.net/"}}"#,
                BootDiagnostics::Custom {
                    storage_uri: "https://a.blob.core.windows.net/".into(),
                },
            ),
        ];
        for (props, want) in cases {
            let i = parse_vm(&base.replace("PROPS", props));
            assert_eq!(i.boot_diagnostics, want, "{props}");
            assert_eq!(i.resource_group, "RG");
            assert_eq!(i.subscription_id, "s");
        }
        let i = parse_vm(&base.replace(
            "PROPS",
            r#""diagnosticsProfile":{"bootDiagnostics":{"enabled":"yes"}}"#,
        ));
        assert!(matches!(
            i.boot_diagnostics,
            BootDiagnostics::Invalid { .. }
        ));
        assert_eq!(i.anomalies, vec!["bootDiagnostics.enabled=\"yes\""]);
    }

    #[test]
    fn power_state_and_flexible_membership() {
        let i = parse_vm(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
                "properties":{"virtualMachineScaleSet":{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/flex"},
                "instanceView":{"statuses":[{"code":"ProvisioningState/succeeded"},{"code":"PowerState/Deallocated"}]}}}"#,
        );
        assert_eq!(i.power_state.as_deref(), Some("deallocated"));
        assert_eq!(i.kind, InstanceKind::VmssFlexVm);
        assert_eq!(i.scale_set.as_deref(), Some("flex"));
        assert_eq!(i.name, "v");
        assert!(i.instance_view);
        let no_view = parse_vm(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/w"}"#,
        );
        assert_eq!((no_view.power_state, no_view.instance_view), (None, false));
    }

    #[test]
    fn boot_diagnostics_without_enabled_is_not_disabled() {
        let i = parse_vm(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
                "properties":{"diagnosticsProfile":{"bootDiagnostics":{"storageUri":"https://a.blob.core.windows.net/"}}}}"#,
        );
        assert!(
            matches!(&i.boot_diagnostics, BootDiagnostics::Invalid { reason } if reason.contains("no `enabled`")),
            "{:?}",
            i.boot_diagnostics
        );
        assert_eq!(i.model_not_read, None);
    }

    #[test]
    fn a_payload_without_properties_has_no_model() {
        let i = parse_vm(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v","location":"westeurope"}"#,
        );
        assert_eq!(
            i.model_not_read.as_deref(),
            Some("the payload has no properties")
        );
        assert_eq!(i.boot_diagnostics_label(), "unknown");
        assert_eq!(i.location, "westeurope");
    }

    #[test]
    fn a_status_item_yields_status_only_and_joins_onto_a_model() {
        // The conservative statusOnly shape: identity, location and instance view; even when a
        // model field is present, none is taken.
        let item: VirtualMachine = serde_json::from_str(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v","name":"v",
                "type":"Microsoft.Compute/virtualMachines","location":"westeurope",
                "properties":{"vmId":"x","diagnosticsProfile":{"bootDiagnostics":{"enabled":true}},
                  "instanceView":{"statuses":[{"code":"ProvisioningState/succeeded"},{"code":"PowerState/running"}]}}}"#,
        )
        .unwrap();
        let status = vm_status(&item).unwrap();
        assert_eq!(status.power_state.as_deref(), Some("running"));
        assert!(status.instance_view);
        assert_eq!(status.location, "westeurope");

        // Seen only in the status listing: status decided, model not read.
        let only = vm_without_model(status.clone(), "S", "the VM was only in the status listing");
        assert_eq!(only.subscription_id, "s");
        assert_eq!(only.resource_group, "rg");
        assert_eq!(only.power_state.as_deref(), Some("running"));
        assert_eq!(
            only.model_not_read.as_deref(),
            Some("the VM was only in the status listing")
        );
        assert_eq!(only.status_not_read, None);
        assert_eq!(only.boot_diagnostics_label(), "unknown");
        assert_eq!(only.tags.len(), 0);

        // Joined onto the model read from the plain listing (which carries no instance view).
        let mut joined = parse_vm(
            r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v",
                "tags":{"env":"lab"},"properties":{"provisioningState":"Succeeded"}}"#,
        );
        assert_eq!(
            (joined.power_state.as_deref(), joined.instance_view),
            (None, false)
        );
        mark_status_not_read(&mut joined, "the VM was not in the status listing");
        assert_eq!(
            joined.status_not_read.as_deref(),
            Some("the VM was not in the status listing")
        );
        apply_status(&mut joined, status);
        assert_eq!(joined.power_state.as_deref(), Some("running"));
        assert!(joined.instance_view);
        assert_eq!(joined.status_not_read, None);
        assert_eq!(joined.tags.get("env"), Some("lab"));
        assert_eq!(joined.boot_diagnostics, BootDiagnostics::Absent);
        assert_eq!(joined.boot_diagnostics_label(), "disabled");
    }

    #[test]
    fn absent_storage_properties_stay_absent() {
        let m: StorageAccount = serde_json::from_str(
            r#"{"id":"/subscriptions/S/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct","name":"acct",
                "location":"westeurope","properties":{"primaryEndpoints":{"blob":"https://acct.blob.core.windows.net/"}}}"#,
        )
        .unwrap();
        let sa = storage(&m, "S").unwrap();
        assert_eq!(
            (
                sa.is_hns_enabled,
                sa.network_default_action,
                sa.allow_shared_key_access,
                sa.minimum_tls_version
            ),
            (None, None, None, None)
        );
    }

    #[test]
    fn lock_scope_is_the_id_prefix() {
        let m: ManagementLock = serde_json::from_str(
            r#"{"id":"/subscriptions/S/resourceGroups/RG/providers/Microsoft.Authorization/locks/l","name":"l","properties":{"level":"ReadOnly"}}"#,
        )
        .unwrap();
        let l = lock(&m).unwrap();
        assert_eq!(l.scope, "/subscriptions/s/resourcegroups/rg");
        assert_eq!(l.level, "ReadOnly");
    }
}
