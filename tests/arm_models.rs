//! The ARM models against official example payloads and recorded real traffic (see
//! `tests/fixtures/arm/SOURCES.md`), and the simulator's responses for an equivalent fleet
//! through the same models.

mod common;

use common::*;
use scready::arm::models::*;
use scready::arm::Lenient;
use scready_sim::fleet::{BootDiagnosticsSpec, Fleet};
use scready_sim::SimConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Parses a model from the JSON text of `v`: ARM models are read from a page's bytes, and their
/// lenient fields borrow the raw text of each field from it (so they do not parse from a
/// `serde_json::Value`).
fn from_json_text<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> serde_json::Result<T> {
    serde_json::from_str(&v.to_string())
}

fn read(rel: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(&format!("arm/{rel}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The body of an x-ms-example response.
fn example(rel: &str, status: &str) -> serde_json::Value {
    read(rel)["responses"][status]["body"].clone()
}

/// Parses, and checks that serialising and parsing again gives the same model.
fn parse<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(v: serde_json::Value) -> T {
    let model: T = from_json_text(v).expect("payload parses");
    let again: T = from_json_text(serde_json::to_value(&model).unwrap()).unwrap();
    assert_eq!(model, again, "model round-trips");
    model
}

fn s(l: &Lenient<String>) -> &str {
    l.get().map(String::as_str).unwrap_or("<absent>")
}

fn codes(view: &InstanceView) -> Vec<String> {
    view.statuses
        .get()
        .unwrap()
        .iter()
        .map(|st| s(&st.code).to_string())
        .collect()
}

#[test]
fn vm_examples_parse() {
    let vm: VirtualMachine = parse(example("compute-vm/VirtualMachine_Get.json", "200"));
    let props = vm.properties.get().unwrap();
    let bd = props
        .diagnostics_profile
        .get()
        .unwrap()
        .boot_diagnostics
        .get()
        .unwrap();
    assert_eq!(bd.enabled, Lenient::Value(true));
    assert!(
        s(&bd.storage_uri).starts_with("http://"),
        "the spec example uses http"
    );
    assert_eq!(s(&props.provisioning_state), "Succeeded");
    assert_eq!(
        s(&props
            .storage_profile
            .get()
            .unwrap()
            .os_disk
            .get()
            .unwrap()
            .os_type),
        "Windows"
    );

    let view: InstanceView = parse(example(
        "compute-vm/VirtualMachine_Get_InstanceView.json",
        "200",
    ));
    assert_eq!(
        codes(&view),
        vec!["ProvisioningState/succeeded", "PowerState/running"]
    );
    assert!(view
        .boot_diagnostics
        .get()
        .unwrap()
        .serial_console_log_blob_uri
        .get()
        .is_some());

    for code in ["200", "201"] {
        let vm: VirtualMachine = parse(example(
            "compute-vm/VirtualMachine_Create_WithManagedBootDiagnostics.json",
            code,
        ));
        let bd = vm
            .properties
            .get()
            .unwrap()
            .diagnostics_profile
            .get()
            .unwrap()
            .boot_diagnostics
            .get()
            .unwrap()
            .clone();
        assert_eq!(bd.enabled, Lenient::Value(true));
        assert!(
            bd.storage_uri.is_absent(),
            "managed boot diagnostics has no storageUri"
        );
    }

    let vm: VirtualMachine = parse(example(
        "compute-vm/VirtualMachine_Create_WithUefiSettings.json",
        "200",
    ));
    let sec = vm
        .properties
        .get()
        .unwrap()
        .security_profile
        .get()
        .unwrap()
        .clone();
    assert_eq!(s(&sec.security_type), "TrustedLaunch");
    assert_eq!(
        sec.uefi_settings.get().unwrap().secure_boot_enabled,
        Lenient::Value(true)
    );

    let page: Page<VirtualMachine> = parse(example(
        "compute-vm/VirtualMachine_ListAll_MaximumSet_Gen.json",
        "200",
    ));
    assert_eq!(page.value.len(), 2);
    assert_eq!(page.next_link.as_deref(), Some("a"));
    assert!(page.value[0]
        .get()
        .unwrap()
        .properties
        .get()
        .unwrap()
        .virtual_machine_scale_set
        .get()
        .is_some());

    let page: Page<VirtualMachine> = parse(example(
        "compute-vm/VirtualMachine_ListBySubscription_ByLocation.json",
        "200",
    ));
    assert_eq!(page.value.len(), 2);
    assert!(page.value.iter().all(|v| v
        .get()
        .unwrap()
        .properties
        .get()
        .unwrap()
        .diagnostics_profile
        .is_absent()));
}

#[test]
fn scale_set_examples_parse_including_sparse_ones() {
    let page: Page<VirtualMachineScaleSet> = parse(example(
        "compute-vmss/VirtualMachineScaleSet_ListAll_MinimumSet_Gen.json",
        "200",
    ));
    let ss = page.value[0].get().unwrap();
    assert!(
        ss.properties.is_absent(),
        "MinimumSet has only id and location"
    );
    assert_eq!(s(&ss.location), "westus");

    let page: Page<VirtualMachineScaleSet> = parse(example(
        "compute-vmss/VirtualMachineScaleSet_ListAll_MaximumSet_Gen.json",
        "200",
    ));
    let props = page.value[0].get().unwrap().properties.get().unwrap();
    assert_eq!(s(&props.orchestration_mode), "Uniform");
    let model = props.virtual_machine_profile.get().unwrap();
    assert_eq!(
        s(&model
            .diagnostics_profile
            .get()
            .unwrap()
            .boot_diagnostics
            .get()
            .unwrap()
            .storage_uri),
        "aaaaaaaaaaaaaaaaaaa"
    );

    let flex: VirtualMachineScaleSet = parse(example(
        "compute-vmss/VirtualMachineScaleSet_Create_WithPriorityMixPolicy_Flexible.json",
        "200",
    ));
    assert_eq!(
        s(&flex.properties.get().unwrap().orchestration_mode),
        "Flexible"
    );

    let page: Page<ScaleSetVm> = parse(example(
        "compute-vmss/VirtualMachineScaleSetVM_List_MinimumSet_Gen.json",
        "200",
    ));
    assert!(page.value[0].get().unwrap().properties.is_absent());

    let page: Page<ScaleSetVm> = parse(example(
        "compute-vmss/VirtualMachineScaleSetVM_List_MaximumSet_Gen.json",
        "200",
    ));
    let vm = page.value[0].get().unwrap();
    assert_eq!(
        vm.properties.get().unwrap().latest_model_applied,
        Lenient::Value(true)
    );

    let view: InstanceView = parse(example(
        "compute-vmss/VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.json",
        "200",
    ));
    assert!(
        view.boot_diagnostics.is_absent(),
        "bootDiagnostics: null is absent"
    );
    assert_eq!(
        codes(&view),
        vec!["ProvisioningState/succeeded", "PowerState/running"]
    );

    let vm: ScaleSetVm = parse(example(
        "compute-vmss/VirtualMachineScaleSetVM_Get_WithUserData.json",
        "200",
    ));
    let bd = vm
        .properties
        .get()
        .unwrap()
        .diagnostics_profile
        .get()
        .unwrap()
        .boot_diagnostics
        .get()
        .unwrap()
        .clone();
    assert_eq!(
        (bd.enabled, bd.storage_uri),
        (Lenient::Value(true), Lenient::Absent)
    );
}

#[test]
fn storage_subscription_console_and_authorization_examples_parse() {
    let page: Page<StorageAccount> = parse(example("storage/StorageAccountList.json", "200"));
    assert_eq!(page.value.len(), 6);
    let first = page.value[0].get().unwrap().properties.get().unwrap();
    assert_eq!(first.is_hns_enabled, Lenient::Value(true));
    assert_eq!(
        s(&first.primary_endpoints.get().unwrap().blob),
        "https://sto1125.blob.core.windows.net/"
    );

    let sa: StorageAccount = parse(example("storage/StorageAccountUpdate.json", "200"));
    let p = sa.properties.get().unwrap();
    assert_eq!(s(&p.minimum_tls_version), "TLS1_2");
    assert_eq!(p.allow_shared_key_access, Lenient::Value(true));
    let _: StorageAccount = parse(example("storage/StorageAccountGetProperties.json", "200"));

    let real: Page<StorageAccount> = parse(read(
        "recordings/real_StorageAccounts_List_2021-04-01.SUBSET.json",
    ));
    let firewalled = real
        .value
        .iter()
        .map(|v| v.get().unwrap())
        .find(|a| s(&a.name) == "eastus2bootdiagfirewall")
        .unwrap();
    let acls = firewalled
        .properties
        .get()
        .unwrap()
        .network_acls
        .get()
        .unwrap();
    assert_eq!(s(&acls.default_action), "Deny");

    let subs: Page<Subscription> = parse(example("subscriptions/GetSubscriptions.json", "200"));
    assert_eq!(subs.value.len(), 2);
    assert_eq!(s(&subs.value[0].get().unwrap().state), "Enabled");
    assert_eq!(subs.next_link.as_deref(), Some("http://nextlink"));
    // Azure Lighthouse: `tenantId` is the subscription's own tenant, `managedByTenants` the
    // tenants managing it; the inventory keeps both.
    let first = subs.value[0].get().unwrap();
    let info = scready::discover::scope::subscription_info(
        "291bba3f-e0a5-47bc-a099-3bdcb2a50a05".into(),
        first,
    );
    assert_eq!(info.tenant_id, "31c75423-32d6-4322-88b7-c478bdde4858");
    assert_eq!(
        info.managed_by_tenants,
        ["8f70baf1-1f6e-46a2-a1ff-238dac1ebfb7"]
    );
    assert_eq!(
        info.tenant_label(),
        "31c75423-32d6-4322-88b7-c478bdde4858 (managed by 8f70baf1-1f6e-46a2-a1ff-238dac1ebfb7)"
    );

    let descendants: Page<ManagementGroupDescendant> =
        parse(example("managementgroups/GetDescendants.json", "200"));
    assert_eq!(descendants.value.len(), 2);
    assert_eq!(descendants.next_link, None);
    let group = descendants.value[0].get().unwrap();
    assert_eq!(
        s(&group.resource_type),
        "Microsoft.Management/managementGroups"
    );
    let sub = descendants.value[1].get().unwrap();
    assert_eq!(
        s(&sub.resource_type),
        "Microsoft.Management/managementGroups/subscriptions"
    );
    assert_eq!(s(&sub.name), "20000000-0004-0000-0000-000000000000");
    let props = sub.properties.get().unwrap();
    assert_eq!(s(&props.display_name), "Subscription 4");
    assert_eq!(
        s(&props.parent.get().unwrap().id),
        "/providers/Microsoft.Management/managementGroups/20000000-0000-0000-0000-000000000000"
    );

    let on: ConsoleStatus = parse(example("serialconsole/SerialConsoleStatus.json", "200"));
    assert_eq!(on.properties.get().unwrap().disabled, Lenient::Value(true));
    let missing: ErrorDetail =
        from_json_text(example("serialconsole/SerialConsoleStatus.json", "404")).unwrap();
    assert_eq!(missing.code, "SubscriptionNotFound");
    for f in ["DisableConsoleExamples.json", "EnableConsoleExamples.json"] {
        let _: ConsoleStatus = parse(example(&format!("serialconsole/{f}"), "200"));
    }

    let ra: Page<RoleAssignment> = parse(example(
        "authorization/RoleAssignments_ListForScope.json",
        "200",
    ));
    let p = ra.value[0].get().unwrap().properties.get().unwrap();
    assert_eq!(s(&p.principal_type), "User");
    assert!(s(&p.role_definition_id).ends_with("0b5fe924-9a61-425c-96af-cfe6e287ca2d"));
    let rd: RoleDefinition = parse(example("authorization/GetRoleDefinitionByName.json", "200"));
    assert_eq!(
        rd.properties.get().unwrap().permissions.get().unwrap()[0].actions,
        Lenient::Value(vec!["action".to_string()])
    );
    let perms: Page<Permission> =
        parse(example("authorization/GetResourcePermissions.json", "200"));
    assert_eq!(perms.value.len(), 1);
}

#[test]
fn recorded_real_traffic_parses() {
    let dir = "recordings/decoded";
    for (file, disabled) in [
        ("01_GET_consoleServices_default_disabled-false.json", false),
        ("07_GET_consoleServices_default_disabled-true.json", true),
        ("08_POST_disableConsole_disabled-true.json", true),
        ("09_POST_enableConsole_disabled-false.json", false),
    ] {
        let c: ConsoleStatus = parse(read(&format!("{dir}/{file}")));
        assert_eq!(
            c.properties.get().unwrap().disabled,
            Lenient::Value(disabled),
            "{file}"
        );
    }
    for (file, power, has_boot_diag) in [
        (
            "02_GET_vm_expand-instanceView_running_NO-bootDiagnostics.json",
            "PowerState/running",
            false,
        ),
        (
            "03_GET_vm_expand-instanceView_deallocated_NO-bootDiagnostics.json",
            "PowerState/deallocated",
            false,
        ),
        (
            "04_GET_vm_expand-instanceView_stopped_agent-NotReady.json",
            "PowerState/stopped",
            false,
        ),
        (
            "06_GET_vm_expand-instanceView_running_bootDiagnostics-storageUri.json",
            "PowerState/running",
            true,
        ),
    ] {
        let vm: VirtualMachine = parse(read(&format!("{dir}/{file}")));
        let p = vm.properties.get().unwrap();
        assert_eq!(
            p.diagnostics_profile.get().is_some(),
            has_boot_diag,
            "{file}"
        );
        assert!(
            codes(p.instance_view.get().unwrap()).contains(&power.to_string()),
            "{file}"
        );
    }
    let updating: VirtualMachine = parse(read(&format!(
        "{dir}/05_PUT_vm_enable-bootDiagnostics_storageUri_response_Updating.json"
    )));
    assert_eq!(
        s(&updating.properties.get().unwrap().provisioning_state),
        "Updating"
    );
}

#[test]
fn unexpected_types_are_kept_not_fatal() {
    let page: Page<VirtualMachine> = serde_json::from_str(
        r#"{"value":[
            {"name":"ok","properties":{"diagnosticsProfile":{"bootDiagnostics":{"enabled":"yes"}}}},
            "not an object",
            {"name":"unknown-enum","properties":{"provisioningState":"Hibernating"}}
        ]}"#,
    )
    .unwrap();
    assert_eq!(page.value.len(), 3, "no item is dropped");
    let bd = page.value[0]
        .get()
        .unwrap()
        .properties
        .get()
        .unwrap()
        .diagnostics_profile
        .get()
        .unwrap()
        .boot_diagnostics
        .get()
        .unwrap()
        .clone();
    assert_eq!(bd.enabled.invalid(), Some(&serde_json::json!("yes")));
    assert!(page.value[1].invalid().is_some());
    assert_eq!(
        s(&page.value[2]
            .get()
            .unwrap()
            .properties
            .get()
            .unwrap()
            .provisioning_state),
        "Hibernating"
    );
}

/// A fleet holding the VM of the recordings (cli000003 in westus2, Linux, running, no boot
/// diagnostics) and, as a second VM, its state after `vm boot-diagnostics enable --storage`.
fn recorded_fleet() -> Fleet {
    let mut f = fleet("small.toml");
    let sub = &mut f.subscriptions[0];
    let mut vm = sub.vms[0].clone();
    vm.name = "cli000003".into();
    vm.resource_group = "cli_test_serialconsole000001".into();
    vm.location = "westus2".into();
    vm.boot_diagnostics = None;
    sub.vms.push(vm.clone());
    vm.name = "cli000003-enabled".into();
    vm.boot_diagnostics = Some(BootDiagnosticsSpec {
        enabled: true,
        storage_uri: Some("https://cli000002.blob.core.windows.net/".into()),
    });
    sub.vms.push(vm);
    f.validate("test").unwrap();
    f
}

/// Every field of `parsed` (a model serialised back) is in `sent` with the same value: the
/// scanner lost or changed nothing of what it reads. The simulator writes ARM's JSON with its
/// own types, so it may send more than the scanner's models hold, as ARM does.
fn assert_within(parsed: &serde_json::Value, sent: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (parsed, sent) {
        (Value::Object(p), Value::Object(s)) => {
            for (k, v) in p {
                match s.get(k) {
                    Some(sv) => assert_within(v, sv, &format!("{at}.{k}")),
                    None => panic!("{at}.{k}: parsed but not sent"),
                }
            }
        }
        (Value::Array(p), Value::Array(s)) => {
            assert_eq!(p.len(), s.len(), "{at}: items lost in parsing");
            for (i, (a, b)) in p.iter().zip(s).enumerate() {
                assert_within(a, b, &format!("{at}[{i}]"));
            }
        }
        (p, s) => assert_eq!(p, s, "{at}"),
    }
}

#[tokio::test]
async fn simulator_responses_match_the_recorded_shapes() {
    let f = recorded_fleet();
    let sim = start(&f, SimConfig::default()).await;
    let client = client(&sim);
    let token = sim.issue_token(SCANNER).unwrap();
    let url = |name: &str| {
        format!(
            "{}/subscriptions/{SUB_PROD}/resourceGroups/cli_test_serialconsole000001/providers/Microsoft.Compute/virtualMachines/{name}?api-version=2025-04-01&$expand=instanceView",
            sim.base_url()
        )
    };
    for (name, recording) in [
        (
            "cli000003",
            "02_GET_vm_expand-instanceView_running_NO-bootDiagnostics.json",
        ),
        (
            "cli000003-enabled",
            "06_GET_vm_expand-instanceView_running_bootDiagnostics-storageUri.json",
        ),
    ] {
        let (status, _, body) = get(&client, &url(name), Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
        let served: VirtualMachine = parse(raw.clone());
        // Everything the model holds is what the simulator sent: nothing read is lost or
        // changed in parsing (the simulator may send fields the scanner does not read).
        assert_within(&serde_json::to_value(&served).unwrap(), &raw, name);
        let recorded: VirtualMachine = parse(read(&format!("recordings/decoded/{recording}")));
        let (sp, rp) = (
            served.properties.get().unwrap(),
            recorded.properties.get().unwrap(),
        );
        assert_eq!(s(&served.location), s(&recorded.location));
        assert_eq!(s(&served.resource_type), s(&recorded.resource_type));
        assert_eq!(sp.provisioning_state, rp.provisioning_state);
        assert_eq!(sp.diagnostics_profile, rp.diagnostics_profile, "{name}");
        assert_eq!(
            sp.storage_profile
                .get()
                .unwrap()
                .os_disk
                .get()
                .unwrap()
                .os_type,
            rp.storage_profile
                .get()
                .unwrap()
                .os_disk
                .get()
                .unwrap()
                .os_type
        );
        assert_eq!(
            codes(sp.instance_view.get().unwrap()),
            codes(rp.instance_view.get().unwrap())
        );
        let served_log = sp
            .instance_view
            .get()
            .unwrap()
            .boot_diagnostics
            .get()
            .map(|b| s(&b.serial_console_log_blob_uri).to_string());
        let recorded_log = rp
            .instance_view
            .get()
            .unwrap()
            .boot_diagnostics
            .get()
            .map(|b| s(&b.serial_console_log_blob_uri).to_string());
        assert_eq!(served_log.is_some(), recorded_log.is_some());
        if let (Some(a), Some(b)) = (served_log, recorded_log) {
            assert!(
                a.starts_with("https://cli000002.blob.core.windows.net/bootdiagnostics-"),
                "{a}"
            );
            assert!(
                b.starts_with("https://cli000002.blob.core.windows.net/bootdiagnostics-"),
                "{b}"
            );
            assert!(a.ends_with(".serialconsole.log") && b.ends_with(".serialconsole.log"));
        }
    }

    // Every list the simulator serves parses, and what the models hold of it is what was sent.
    let lists = [
        format!("{}/subscriptions?api-version=2022-12-01", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachines?api-version=2025-04-01&statusOnly=true", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version=2025-04-01", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/api-uniform/virtualMachines?api-version=2025-04-01&$expand=instanceView", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Storage/storageAccounts?api-version=2025-01-01", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/locks?api-version=2020-05-01", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", sim.base_url()),
        format!("{}/subscriptions/{SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", sim.base_url()),
    ];
    for url in &lists {
        let (status, _, body) = get(&client, url, Some(&token)).await;
        assert_eq!(status, 200, "{url}: {body}");
        let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
        macro_rules! check {
            ($t:ty) => {{
                let page: Page<$t> = parse(raw.clone());
                assert_within(&serde_json::to_value(&page).unwrap(), &raw, url);
                assert!(page.value.iter().all(|v| v.get().is_some()), "{url}");
            }};
        }
        if url.contains("/locks") {
            check!(ManagementLock)
        } else if url.contains("roleAssignments") {
            check!(RoleAssignment)
        } else if url.contains("roleDefinitions") {
            check!(RoleDefinition)
        } else if url.contains("storageAccounts") {
            check!(StorageAccount)
        } else if url.contains("/virtualMachineScaleSets/api-uniform/") {
            check!(ScaleSetVm)
        } else if url.contains("virtualMachineScaleSets") {
            check!(VirtualMachineScaleSet)
        } else if url.contains("virtualMachines") {
            check!(VirtualMachine)
        } else {
            check!(Subscription)
        }
    }
}
