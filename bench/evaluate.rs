//! Times `checks::evaluate` on 1,000,000 instances against the full catalogue.
//!
//! `cargo bench --bench evaluate` generates (seeded) a fleet of 10,000 subscriptions × 100
//! instances, turns it into an inventory exactly as a scan would (the simulator's ARM models
//! through discovery's conversion), with the scanning identity's permissions read as Reader, so
//! every instance also gets the access checks. `--inventory FILE` evaluates an inventory file
//! (`scready scan --save-inventory`, or the generated one, written there first when the file
//! does not exist); `--save FILE` writes the inventory evaluated. Prints one line per run and,
//! with `--json`, a JSON summary on the last line.
//!
//! Under `cargo test` (no `--bench` argument) it only evaluates a small inventory, so that the
//! test suite never runs the benchmark.

use scready::checks;
use scready::discover::{convert, hosts};
use scready::inventory::*;
use scready::policy::Policy;
use scready::sim::generate::{self, GenerateOptions, Mix};
use scready::sim::world::{self, World};
use std::time::Instant;

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
    let world = World::build(&fleet);
    let scanner = generate::scanner_principal(&fleet)
        .expect("generated fleets have a scanner")
        .id
        .to_ascii_lowercase();
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
    for sub in &world.subs {
        let sid = sub.spec.id.to_ascii_lowercase();
        let model = world::subscription_model(sub);
        inv.subscriptions.push(SubscriptionInfo {
            id: sid.clone(),
            name: model.display_name.get().cloned().unwrap_or_default(),
            tenant_id: sub.tenant.clone(),
            state: model.state.get().cloned(),
            console_disabled: Some(sub.spec.console_disabled),
            unregistered: Vec::new(),
        });
        for vm in &sub.spec.vms {
            inv.instances
                .extend(convert::vm(&world::vm_model(&sid, vm, true), &sid));
        }
        for ss in &sub.spec.scale_sets {
            for i in &ss.instances {
                inv.instances.extend(convert::scale_set_instance(
                    &world::instance_model(&sid, ss, i, true),
                    &sid,
                    &ss.name,
                    &ss.location,
                ));
            }
        }
        for sa in &sub.spec.storage_accounts {
            inv.storage_accounts
                .extend(convert::storage(&world::storage_model(&sid, sa), &sid));
        }
        for l in &sub.spec.locks {
            inv.locks.extend(convert::lock(&world::lock_model(&sid, l)));
        }
        let scope = format!("/subscriptions/{sid}");
        access
            .caller_permissions
            .insert(scope.clone(), world.permission_blocks(&scanner, &scope));
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
                    let e = if world.blob_hosts.contains(&h) {
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
    let t0 = Instant::now();
    // With --inventory FILE: that inventory file, generated and written first when it does not
    // exist yet (so that every run evaluates an inventory loaded from a file, as
    // `scready evaluate` does); without it, a generated inventory kept in memory.
    let inventory = match value("--inventory") {
        Some(path) => {
            if !std::path::Path::new(&path).exists() {
                let generated = generated(if bench { 10_000 } else { 10 });
                let tmp = format!("{path}.tmp");
                let file = std::fs::File::create(&tmp).unwrap_or_else(|e| panic!("{tmp}: {e}"));
                serde_json::to_writer(std::io::BufWriter::new(file), &generated).expect("written");
                std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{path}: {e}"));
            }
            let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
        }
        None => generated(if bench { 10_000 } else { 10 }),
    };
    if let Some(path) = value("--save") {
        let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::to_writer(std::io::BufWriter::new(file), &inventory).expect("written");
    }
    let prepared = t0.elapsed().as_secs_f64();
    let policy = Policy::builtin();
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
