//! Real recorded Azure traffic (Azure CLI serial-console test cassettes, see
//! `tests/fixtures/arm/SOURCES.md`) through the same models, conversion and checks a scan uses.

mod common;

use common::fixture;
use scready::arm::models::{ConsoleStatus, Page, StorageAccount, VirtualMachine};
use scready::checks::evaluate;
use scready::discover::convert;
use scready::findings::{FindingStatus, Verdict};
use scready::inventory::{Inventory, SubscriptionInfo, INVENTORY_SCHEMA_VERSION};
use scready::policy::Policy;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn read<T: serde::de::DeserializeOwned>(rel: &str) -> T {
    serde_json::from_slice(&std::fs::read(fixture(&format!("arm/recordings/{rel}"))).unwrap())
        .unwrap()
}

fn policy() -> Policy {
    Policy::load(Some(&fixture("policies/config-only.toml"))).unwrap()
}

/// An inventory with the recorded VM, the recorded storage accounts and a console switch.
fn inventory(vm_file: &str, console: &str) -> Inventory {
    let vm: VirtualMachine = read(&format!("decoded/{vm_file}"));
    let console: ConsoleStatus = read(&format!("decoded/{console}"));
    let accounts: Page<StorageAccount> = read("real_StorageAccounts_List_2021-04-01.SUBSET.json");
    Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        cloud: "public".into(),
        subscriptions: vec![SubscriptionInfo {
            id: SUB.into(),
            name: "recorded".into(),
            tenant_id: String::new(),
            state: Some("Enabled".into()),
            console_disabled: console.properties.get().unwrap().disabled.get().copied(),
            unregistered: Vec::new(),
            managed_by_tenants: Vec::new(),
        }],
        instances: vec![convert::vm(&vm, SUB).unwrap()],
        storage_accounts: accounts
            .value
            .iter()
            .filter_map(|a| convert::storage(a.get()?, SUB))
            .collect(),
        ..Default::default()
    }
}

fn checks_of(inv: &Inventory) -> (Verdict, Vec<(String, FindingStatus)>) {
    let e = evaluate(inv, &policy(), "2026-01-01");
    let findings = e
        .findings
        .iter()
        .map(|f| (f.check_id.to_string(), f.status))
        .collect();
    (e.verdicts[0].verdict, findings)
}

const CONSOLE_ON: &str = "01_GET_consoleServices_default_disabled-false.json";
const CONSOLE_OFF: &str = "07_GET_consoleServices_default_disabled-true.json";

#[test]
fn running_vm_without_boot_diagnostics_is_blocked_by_boot_diagnostics_disabled() {
    let inv = inventory(
        "02_GET_vm_expand-instanceView_running_NO-bootDiagnostics.json",
        CONSOLE_ON,
    );
    let (verdict, findings) = checks_of(&inv);
    assert_eq!(verdict, Verdict::Blocked);
    assert!(findings.contains(&("boot-diagnostics-disabled".into(), FindingStatus::Fail)));
    assert!(
        !findings.iter().any(|(c, _)| c == "vm-not-running"),
        "it is running"
    );
}

#[test]
fn deallocated_and_stopped_vms_are_blocked_by_vm_not_running() {
    for file in [
        "03_GET_vm_expand-instanceView_deallocated_NO-bootDiagnostics.json",
        "04_GET_vm_expand-instanceView_stopped_agent-NotReady.json",
    ] {
        let inv = inventory(file, CONSOLE_ON);
        let (verdict, findings) = checks_of(&inv);
        assert_eq!(verdict, Verdict::Blocked, "{file}");
        assert!(
            findings.contains(&("vm-not-running".into(), FindingStatus::Fail)),
            "{file}"
        );
    }
}

#[test]
fn the_vm_with_a_storage_uri_passes_boot_diagnostics_and_warns_on_the_unset_minimum_tls() {
    let inv = inventory(
        "06_GET_vm_expand-instanceView_running_bootDiagnostics-storageUri.json",
        CONSOLE_ON,
    );
    let (verdict, findings) = checks_of(&inv);
    // The recorded account cli000002 is found among the recorded storage accounts, in the VM's
    // region, without firewall: every boot-diagnostics and storage check passes, nothing blocks,
    // except that the recorded account sets no minimumTlsVersion, which Azure reads as TLS 1.0.
    for (check, _) in &findings {
        assert!(
            (!check.starts_with("storage-") || check == "storage-min-tls")
                && check != "boot-diagnostics-disabled",
            "{check}"
        );
    }
    // The recorded VM is SSH-key only, which the console's login warning rightly reports.
    assert_eq!(
        findings,
        vec![
            ("storage-min-tls".into(), FindingStatus::Warn),
            ("linux-no-password-user".into(), FindingStatus::Warn)
        ]
    );
    let e = evaluate(&inv, &policy(), "2026-01-01");
    let tls = e
        .findings
        .iter()
        .find(|f| f.check_id.as_str() == "storage-min-tls")
        .unwrap();
    assert!(
        tls.message.contains("cli000002") && tls.message.contains("sets no minimum TLS version"),
        "{}",
        tls.message
    );
    assert_eq!(verdict, Verdict::ReadyWithWarnings);
}

#[test]
fn the_recorded_console_switch_off_blocks_with_subscription_console_disabled() {
    let inv = inventory(
        "06_GET_vm_expand-instanceView_running_bootDiagnostics-storageUri.json",
        CONSOLE_OFF,
    );
    let (verdict, findings) = checks_of(&inv);
    assert_eq!(verdict, Verdict::Blocked);
    assert!(findings.contains(&("subscription-console-disabled".into(), FindingStatus::Fail)));
}
