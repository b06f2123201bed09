//! Soak: repeated scans of a generated 20,000-instance fleet with 2% random faults, in one
//! long-lived process. Every run's verdicts match the fault-free run except where a run says
//! `unknown`, and memory does not grow from run to run.
//!
//! Bounded for `make test` (a few runs, a time cap); `make soak` raises the bounds through
//! `SCREADY_SOAK_RUNS` and `SCREADY_SOAK_SECONDS`.

mod common;

use scready::arm::ArmClientOptions;
use scready::scan::{self, AccessOptions, ScanOptions};
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::generate::{generate, scanner_principal, GenerateOptions};
use scready_sim::SimConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_scans_with_random_faults_agree_and_do_not_grow() {
    let runs = env_or("SCREADY_SOAK_RUNS", 3);
    let budget = Duration::from_secs(env_or("SCREADY_SOAK_SECONDS", 150));
    let fleet = generate(&GenerateOptions {
        subscriptions: 20,
        vms_per_subscription: 900,
        scale_sets: 2,
        instances_per_scale_set: 50,
        seed: 21,
        ..Default::default()
    });
    assert_eq!(fleet.instance_count(), 20_000);
    let sim = common::start(
        &fleet,
        SimConfig {
            page_size: Some(200),
            ..Default::default()
        },
    )
    .await;
    let scanner = scanner_principal(&fleet).unwrap().id.clone();
    let token = sim.issue_token(&scanner).unwrap();
    let out = tempfile::tempdir().unwrap();
    let options = ScanOptions {
        discover: common::parallelism(16),
        client: ArmClientOptions {
            retry_initial_delay: Duration::from_millis(20),
            retry_max_delay: Duration::from_millis(300),
            ..ArmClientOptions::default()
        },
        // The scanner's own access is named so that the access listings stay in the load.
        access: AccessOptions {
            network_probe: false,
            principals: vec![scready::inventory::PrincipalRef {
                object_id: scanner.to_ascii_lowercase(),
                label: "scanning identity".into(),
                scanner: true,
            }],
            ..Default::default()
        },
        ..common::scan_options(&sim, out.path())
    };
    let env: scready::auth::EnvLookup =
        Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let verdicts = |o: &scan::ScanOutcome| -> BTreeMap<String, String> {
        o.result
            .verdicts
            .iter()
            .map(|v| (v.resource_id.to_string(), v.verdict.as_str().to_string()))
            .collect()
    };

    let baseline = scan::run(&options, env.clone()).await.unwrap();
    assert!(!baseline.result.run.partial);
    let expected = verdicts(&baseline);
    assert_eq!(expected.len(), 20_000);
    drop(baseline);

    let t0 = Instant::now();
    let mut memory = Vec::new();
    for run in 0..runs {
        sim.clear_faults();
        for (kind, seed_shift) in [
            (
                FaultKind::Status {
                    status: 503,
                    retry_after: None,
                },
                0.006,
            ),
            (FaultKind::Throttle { retry_after: None }, 0.006),
            (FaultKind::Reset, 0.004),
            (FaultKind::Truncated, 0.004),
        ] {
            sim.add_fault(FaultRule::always(kind).at_rate(seed_shift))
                .unwrap();
        }
        let outcome = scan::run(&options, env.clone()).await.unwrap();
        let got = verdicts(&outcome);
        let mut unknown = 0;
        for (id, verdict) in &got {
            if verdict == "unknown" {
                unknown += 1;
                continue;
            }
            assert_eq!(Some(verdict), expected.get(id), "run {run}: {id}");
        }
        // Nothing lost: every instance is there, or its listing is a recorded gap.
        if got.len() != expected.len() {
            assert!(
                outcome.result.run.partial,
                "run {run}: {} of {} instances without a gap",
                got.len(),
                expected.len()
            );
        }
        let injected = sim.stats().faults_injected;
        eprintln!(
            "soak run {run}: {} instances, {unknown} unknown, {} gaps, {} retries, {injected} faults injected so far, rss {} MB",
            got.len(),
            outcome.result.coverage.gaps.len(),
            outcome.result.coverage.calls.retries,
            rss() / (1 << 20)
        );
        assert!(
            outcome.result.coverage.calls.retries > 0,
            "faults were injected and retried"
        );
        drop(outcome);
        memory.push(rss());
        if t0.elapsed() > budget {
            eprintln!("soak: time budget reached after {} runs", run + 1);
            break;
        }
    }
    // Memory settles after the first runs and does not keep growing.
    if memory.len() >= 3 {
        let settled = memory[1];
        let last = *memory.last().unwrap();
        assert!(
            last <= settled + settled / 5 + (32 << 20),
            "resident memory grew from {} MB to {} MB over {} runs",
            settled >> 20,
            last >> 20,
            memory.len()
        );
    }
}
