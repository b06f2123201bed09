//! Absence is never a verdict: a VM whose model or run-time status was not read is `unknown`
//! for the checks built on it, with the reason, and inventories saved before instances said so
//! still read as fully read. Built from recorded Azure traffic (see
//! `tests/fixtures/arm/SOURCES.md`) through the same conversion and checks a scan uses.

mod common;

use common::fixture;
use scready::arm::models::{Page, StorageAccount, VirtualMachine};
use scready::checks::{evaluate, Evaluation};
use scready::discover::convert;
use scready::findings::{FindingStatus, Verdict};
use scready::inventory::{Instance, Inventory, SubscriptionInfo, INVENTORY_SCHEMA_VERSION};
use scready::policy::Policy;

/// Parses a model from the JSON text of `v`: ARM models are read from a page's bytes, and their
/// lenient fields borrow the raw text of each field from it (so they do not parse from a
/// `serde_json::Value`).
fn from_json_text<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> serde_json::Result<T> {
    serde_json::from_str(&v.to_string())
}

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const RUNNING_NO_BOOT_DIAGNOSTICS: &str =
    "decoded/02_GET_vm_expand-instanceView_running_NO-bootDiagnostics.json";

fn recorded_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture(&format!("arm/recordings/{rel}"))).unwrap())
        .unwrap()
}

fn inventory(instance: Instance) -> Inventory {
    let accounts: Page<StorageAccount> = from_json_text(recorded_json(
        "real_StorageAccounts_List_2021-04-01.SUBSET.json",
    ))
    .unwrap();
    Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        cloud: "public".into(),
        subscriptions: vec![SubscriptionInfo {
            id: SUB.into(),
            name: "recorded".into(),
            tenant_id: String::new(),
            state: Some("Enabled".into()),
            console_disabled: Some(false),
            unregistered: Vec::new(),
            managed_by_tenants: Vec::new(),
        }],
        instances: vec![instance],
        storage_accounts: accounts
            .value
            .iter()
            .filter_map(|a| convert::storage(a.get()?, SUB))
            .collect(),
        ..Default::default()
    }
}

fn status_of(e: &Evaluation, check: &str) -> Option<(FindingStatus, String)> {
    e.findings
        .iter()
        .find(|f| f.check_id.as_str() == check)
        .map(|f| (f.status, f.message.to_string()))
}

/// The recorded VM as the plain listing returns it: the model, no instance view.
fn model_listing_item() -> VirtualMachine {
    let mut vm = recorded_json(RUNNING_NO_BOOT_DIAGNOSTICS);
    vm["properties"]
        .as_object_mut()
        .unwrap()
        .remove("instanceView");
    from_json_text(vm).unwrap()
}

/// The recorded VM as a conservative `statusOnly=true` listing returns it: identity, location,
/// vmId and instance view, no model.
fn status_listing_item() -> VirtualMachine {
    let vm = recorded_json(RUNNING_NO_BOOT_DIAGNOSTICS);
    let item = serde_json::json!({
        "id": vm["id"],
        "name": vm["name"],
        "type": vm["type"],
        "location": vm["location"],
        "properties": {
            "vmId": vm["properties"]["vmId"],
            "instanceView": vm["properties"]["instanceView"],
        },
    });
    from_json_text(item).unwrap()
}

#[test]
fn a_vm_only_in_the_status_listing_is_unknown_not_blocked_by_boot_diagnostics() {
    let status = convert::vm_status(&status_listing_item()).unwrap();
    let why = "the VM was in the status listing only, and reading it failed: HTTP 404";
    let inv = inventory(convert::vm_without_model(status, SUB, why));
    let e = evaluate(&inv, &Policy::builtin(), "2026-01-01");
    let v = &e.verdicts[0];
    assert_eq!(v.verdict, Verdict::Unknown, "{v:?}");
    assert!(v.blockers.is_empty(), "nothing fails on absence: {v:?}");
    for check in [
        "boot-diagnostics-disabled",
        "provisioning-incomplete",
        "vm-failed-state",
        "linux-no-password-user",
        "trusted-launch-secure-boot",
    ] {
        let (status, message) = status_of(&e, check).unwrap_or_else(|| panic!("{check}"));
        assert_eq!(status, FindingStatus::Unknown, "{check}");
        assert!(message.contains(why), "{check}: {message}");
    }
    // What the status listing carried is decided: the VM runs, and its region is known.
    assert_eq!(status_of(&e, "vm-not-running"), None);
    assert_eq!(status_of(&e, "region-unsupported"), None);
    assert_eq!(inv.instances[0].boot_diagnostics_label(), "unknown");
}

#[test]
fn the_same_vm_from_its_model_is_blocked_by_boot_diagnostics_and_unknown_for_power() {
    let mut i = convert::vm(&model_listing_item(), SUB).unwrap();
    assert_eq!(i.model_not_read, None);
    let why = "the VM was not in the status listing (created between the two reads)";
    convert::mark_status_not_read(&mut i, why);
    let inv = inventory(i);
    let e = evaluate(&inv, &Policy::builtin(), "2026-01-01");
    // The model was read without diagnosticsProfile: never configured (decoded/02–04).
    assert_eq!(
        status_of(&e, "boot-diagnostics-disabled").map(|(s, _)| s),
        Some(FindingStatus::Fail)
    );
    let (status, message) = status_of(&e, "vm-not-running").unwrap();
    assert_eq!(status, FindingStatus::Unknown);
    assert!(message.contains(why), "{message}");
    assert_eq!(e.verdicts[0].verdict, Verdict::Blocked);
}

#[test]
fn model_and_status_joined_decide_like_one_get_with_the_instance_view() {
    let mut joined = convert::vm(&model_listing_item(), SUB).unwrap();
    convert::apply_status(
        &mut joined,
        convert::vm_status(&status_listing_item()).unwrap(),
    );
    let get: VirtualMachine = from_json_text(recorded_json(RUNNING_NO_BOOT_DIAGNOSTICS)).unwrap();
    let whole = convert::vm(&get, SUB).unwrap();
    assert_eq!(joined, whole);
    let a = evaluate(&inventory(joined), &Policy::builtin(), "2026-01-01");
    let b = evaluate(&inventory(whole), &Policy::builtin(), "2026-01-01");
    assert_eq!(a.verdicts, b.verdicts);
    assert_eq!(a.findings, b.findings);
}

/// One instance as `--save-inventory` wrote it before instances recorded what was read.
const SAVED_BEFORE: &str = r#"{
  "schema_version": 1,
  "scanned_at": "2025-11-02T03:00:00Z",
  "cloud": "public",
  "subscriptions": [{"id": "s1", "name": "one", "tenant_id": "t", "state": "Enabled", "console_disabled": false}],
  "instances": [{
    "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/old",
    "name": "old", "subscription_id": "s1", "resource_group": "rg", "kind": "vm",
    "scale_set": null, "instance_id": null, "location": "westeurope", "os_type": "Linux",
    "tags": {}, "power_state": "running", "instance_view": true, "provisioning_state": "Succeeded",
    "boot_diagnostics": {"mode": "absent"}, "boot_diagnostics_error": null,
    "security_type": null, "secure_boot": null, "disable_password_authentication": false,
    "latest_model_applied": null, "anomalies": []
  }],
  "storage_accounts": [], "locks": [], "gaps": []
}"#;

#[test]
fn an_inventory_saved_before_the_read_flags_reads_as_fully_read() {
    let inv: Inventory = serde_json::from_str(SAVED_BEFORE).unwrap();
    let i = &inv.instances[0];
    assert_eq!((&i.model_not_read, &i.status_not_read), (&None, &None));
    let e = evaluate(&inv, &Policy::builtin(), "2026-01-01");
    assert_eq!(
        status_of(&e, "boot-diagnostics-disabled").map(|(s, _)| s),
        Some(FindingStatus::Fail),
        "old inventories came from full reads: an absent profile still means never configured"
    );
    assert_eq!(status_of(&e, "vm-not-running"), None);

    // Written back, a fully read inventory has no flags: builds that predate them read it.
    let text = serde_json::to_string(&inv).unwrap();
    assert!(!text.contains("model_not_read") && !text.contains("status_not_read"));
    // Flags that are set survive a save and a re-evaluation.
    let mut flagged = inv.clone();
    flagged.instances[0].model_not_read = Some("model listing failed".into());
    flagged.instances[0].status_not_read = Some("status listing failed".into());
    let back: Inventory = serde_json::from_str(&serde_json::to_string(&flagged).unwrap()).unwrap();
    assert_eq!(back, flagged);
}

#[test]
fn scready_evaluate_reads_an_inventory_saved_before_the_read_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.json"), SAVED_BEFORE).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scready"))
        .args([
            "evaluate", "old.json", "--out", "offline", "--format", "csv",
        ])
        .current_dir(dir.path())
        .env_remove("SCREADY_ACCESS_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 1: findings at or above the default --fail-on (boot diagnostics are not configured).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let csv = std::fs::read_to_string(dir.path().join("offline/instances.csv")).unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(
        row.contains(",disabled,") && row.contains("boot-diagnostics-disabled"),
        "{row}"
    );
}
