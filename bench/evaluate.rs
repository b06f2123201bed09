//! Times `checks::evaluate` on 1,000,000 instances against the full catalogue.
//!
//! `cargo bench --bench evaluate` generates (seeded) a fleet of 10,000 subscriptions × 100
//! instances and turns it into an inventory the way a scan does, from ARM's JSON: the simulator
//! answers the ARM GETs in memory ([`scready_sim::offline::OfflineArm`], no network), and the
//! pages are parsed with the scanner's models and converted by discovery's conversion. The
//! scanning identity's permissions come from the permissions API as Reader, so every instance
//! also gets the access checks. Nothing of the simulator's internals reaches the scanner: only
//! the JSON bodies and the name service's yes/no for storage hosts. `--inventory FILE` evaluates
//! an inventory file (`scready scan --save-inventory`, or the generated one, written there first
//! when the file does not exist); `--save FILE` writes the inventory evaluated. Prints one line
//! per run and, with `--json`, a JSON summary on the last line.
//!
//! `--plan` times the rollout plan (`scready plan`: evaluation, grouping, ordering and the
//! projection of every step) instead; `--subscriptions N` sets the fleet's size (100 instances
//! each; default 10,000).
//!
//! Under `cargo test` (no `--bench` argument) it only evaluates a small inventory, so that the
//! test suite never runs the benchmark.

use scready::arm::lenient::LenientDecode;
use scready::arm::models::{
    ConsoleStatus, ManagementLock, Page, Permission, ScaleSetVm, StorageAccount, Subscription,
    VirtualMachine, VirtualMachineScaleSet,
};
use scready::checks;
use scready::discover::{api, convert, hosts};
use scready::inventory::*;
use scready::policy::Policy;
use scready::rbac::PermissionBlock;
use scready_sim::generate::{self, GenerateOptions, Mix};
use scready_sim::offline::OfflineArm;
use serde::de::DeserializeOwned;
use std::time::Instant;

/// Every item of an ARM listing, following `nextLink`, parsed with the scanner's models.
fn list<T: LenientDecode>(arm: &OfflineArm, principal: &str, first: &str) -> Vec<T> {
    let mut items = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let (status, body) = arm.get(principal, &url);
        assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
        let page: Page<T> = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{url}: {e}"));
        items.extend(page.value.into_iter().filter_map(|v| v.into_option()));
        next = page.next_link;
    }
    items
}

/// One ARM object, parsed with the scanner's models.
fn get<T: DeserializeOwned>(arm: &OfflineArm, principal: &str, url: &str) -> T {
    let (status, body) = arm.get(principal, url);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn generated(subscriptions: usize) -> Inventory {
    let mix = Mix {
        flexible_scale_set: 0.0,
        ..Mix::default()
    };
    let fleet = generate::generate(&GenerateOptions {
        subscriptions,
        vms_per_subscription: 80,
        scale_sets: 1,
        instances_per_scale_set: 20,
        seed: 7,
        mix,
    });
    let scanner = generate::scanner_principal(&fleet)
        .expect("generated fleets have a scanner")
        .id
        .to_ascii_lowercase();
    let sub_ids: Vec<String> = fleet.subscriptions.iter().map(|s| s.id.clone()).collect();
    let arm = OfflineArm::new(&fleet, 1000);
    drop(fleet);
    let mut inv = Inventory {
        schema_version: INVENTORY_SCHEMA_VERSION,
        scanned_at: "2026-01-01T00:00:00Z".into(),
        cloud: "custom".into(),
        principals: vec![PrincipalRef {
            object_id: scanner.clone(),
            label: "scanning identity".into(),
            scanner: true,
        }],
        ..Default::default()
    };
    let mut access = AccessInventory::default();
    for sid in sub_ids.iter().map(|s| s.to_ascii_lowercase()) {
        let base = format!("/subscriptions/{sid}");
        let s: Subscription = get(
            &arm,
            &scanner,
            &format!("{base}?api-version={}", api::SUBSCRIPTIONS),
        );
        let console: ConsoleStatus = get(
            &arm,
            &scanner,
            &format!(
                "{base}/providers/Microsoft.SerialConsole/consoleServices/default?api-version={}",
                api::SERIAL_CONSOLE
            ),
        );
        inv.subscriptions.push(SubscriptionInfo {
            id: sid.clone(),
            name: s.display_name.get().cloned().unwrap_or_default(),
            tenant_id: s.tenant_id.get().cloned().unwrap_or_default(),
            state: s.state.get().cloned(),
            console_disabled: Some(
                console
                    .properties
                    .get()
                    .and_then(|p| p.disabled.get().copied())
                    .unwrap_or(false),
            ),
            unregistered: Vec::new(),
            managed_by_tenants: Vec::new(),
        });
        let vms: Vec<VirtualMachine> = list(
            &arm,
            &scanner,
            &format!(
                "{base}/providers/Microsoft.Compute/virtualMachines?api-version={}&$expand=instanceView",
                api::COMPUTE
            ),
        );
        inv.instances
            .extend(vms.iter().filter_map(|m| convert::vm(m, &sid)));
        let sets: Vec<VirtualMachineScaleSet> = list(
            &arm,
            &scanner,
            &format!(
                "{base}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version={}",
                api::COMPUTE
            ),
        );
        for ss in &sets {
            let (Some(id), Some(name)) = (ss.id.get(), ss.name.get()) else {
                continue;
            };
            let location = ss.location.get().cloned().unwrap_or_default();
            let members: Vec<ScaleSetVm> = list(
                &arm,
                &scanner,
                &format!(
                    "{id}/virtualMachines?api-version={}&$expand=instanceView",
                    api::COMPUTE
                ),
            );
            inv.instances.extend(
                members
                    .iter()
                    .filter_map(|m| convert::scale_set_instance(m, &sid, name, &location)),
            );
        }
        let accounts: Vec<StorageAccount> = list(
            &arm,
            &scanner,
            &format!(
                "{base}/providers/Microsoft.Storage/storageAccounts?api-version={}",
                api::STORAGE
            ),
        );
        inv.storage_accounts
            .extend(accounts.iter().filter_map(|m| convert::storage(m, &sid)));
        let locks: Vec<ManagementLock> = list(
            &arm,
            &scanner,
            &format!(
                "{base}/providers/Microsoft.Authorization/locks?api-version={}",
                api::LOCKS
            ),
        );
        inv.locks.extend(locks.iter().filter_map(convert::lock));
        // The scanner's effective permissions, asked at one resource group and kept for the
        // whole subscription (no assignment in the generated fleets is below a subscription
        // for the scanner's Reader role at `/`).
        if let Some(rg) = inv.instances.last().map(|i| i.resource_group.clone()) {
            let perms: Vec<Permission> = list(
                &arm,
                &scanner,
                &format!(
                    "{base}/resourceGroups/{rg}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
                ),
            );
            let blocks = perms
                .iter()
                .map(|p| PermissionBlock {
                    actions: p.actions.get().cloned().unwrap_or_default(),
                    not_actions: p.not_actions.get().cloned().unwrap_or_default(),
                })
                .collect();
            access.caller_permissions.insert(base.clone(), blocks);
        }
    }
    let known: std::collections::HashSet<&str> = inv
        .storage_accounts
        .iter()
        .map(|s| s.blob_host.as_str())
        .collect();
    let mut lookups = std::collections::BTreeMap::new();
    for i in &inv.instances {
        if let BootDiagnostics::Custom { storage_uri } = &i.boot_diagnostics {
            if let Some(h) = hosts::blob_host(storage_uri) {
                if !known.contains(h.as_str()) {
                    let e = if arm.host_exists(&h) {
                        HostExistence::Exists
                    } else {
                        HostExistence::Missing
                    };
                    lookups.insert(h, e);
                }
            }
        }
    }
    inv.host_lookups = lookups;
    inv.access = Some(access);
    inv
}

/// The same allocator as the `scready` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU time (user + system) of this process so far, in seconds, where Linux reports it.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses): utime is the 14th, stime the 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let json = args.iter().any(|a| a == "--json");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|r| r.parse().ok()).unwrap_or(3);
    let subscriptions: usize = value("--subscriptions")
        .and_then(|r| r.parse().ok())
        .unwrap_or(10_000);
    let plan = args.iter().any(|a| a == "--plan");
    let t0 = Instant::now();
    // With --inventory FILE: that inventory file, generated and written first when it does not
    // exist yet (so that every run evaluates an inventory loaded from a file, as
    // `scready evaluate` does); without it, a generated inventory kept in memory.
    let inventory = match value("--inventory") {
        Some(path) => {
            if !std::path::Path::new(&path).exists() {
                let generated = generated(if bench { subscriptions } else { 10 });
                let tmp = format!("{path}.tmp");
                let file = std::fs::File::create(&tmp).unwrap_or_else(|e| panic!("{tmp}: {e}"));
                serde_json::to_writer(std::io::BufWriter::new(file), &generated).expect("written");
                std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
            let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        }
        None => generated(if bench { subscriptions } else { 10 }),
    };
    if let Some(path) = value("--save") {
        let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::to_writer(std::io::BufWriter::new(file), &inventory).expect("written");
    }
    let prepared = t0.elapsed().as_secs_f64();
    let policy = Policy::builtin();
    if plan {
        let t = Instant::now();
        let p = scready::plan::build(
            inventory.clone(),
            &policy,
            &scready::plan::PlanOptions {
                today: "2026-01-01".into(),
                ..Default::default()
            },
        );
        let secs = t.elapsed().as_secs_f64();
        let targets: usize = p.steps.iter().map(|s| s.targets.len()).sum();
        println!(
            "plan: {} instances, {} steps ({} targets), ready {} -> {}, {} left, {secs:.3} s on {} threads",
            p.instances,
            p.steps.len(),
            targets,
            p.ready_before,
            p.ready_after,
            p.remaining.len(),
            rayon::current_num_threads()
        );
        return;
    }
    let runs = if bench { runs.max(1) } else { 1 };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut findings = 0;
    for run in 1..=runs {
        let t = Instant::now();
        let c = cpu_seconds();
        let evaluation = checks::evaluate(&inventory, &policy, "2026-01-01");
        let secs = t.elapsed().as_secs_f64();
        let cpu_secs = c.zip(cpu_seconds()).map(|(a, b)| b - a);
        cpu.extend(cpu_secs);
        findings = evaluation.findings.len();
        assert_eq!(evaluation.verdicts.len(), inventory.instances.len());
        // Dropping a million verdicts is not part of the evaluation.
        drop(evaluation);
        times.push(secs);
        if bench {
            eprintln!(
                "run {run}: {} instances evaluated in {secs:.3} s ({} CPU-s)",
                inventory.instances.len(),
                cpu_secs.map_or("?".into(), |c| format!("{c:.2}"))
            );
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    cpu.sort_by(f64::total_cmp);
    let median_cpu = cpu.get(cpu.len() / 2).copied();
    let summary = serde_json::json!({
        "instances": inventory.instances.len(),
        "subscriptions": inventory.subscriptions.len(),
        "findings": findings,
        "runs": times.len(),
        "seconds": times,
        "median_seconds": median,
        "threads": rayon::current_num_threads(),
        "median_cpu_seconds": median_cpu,
        "inventory_prepared_seconds": prepared,
    });
    if json {
        println!("{summary}");
    } else {
        println!(
            "evaluate: {} instances, {} findings, median {median:.3} s of {} runs on {} threads",
            inventory.instances.len(),
            findings,
            times.len(),
            rayon::current_num_threads()
        );
    }
}
