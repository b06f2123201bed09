//! Sharded scans and `scready merge`, as a nightly Indexed Job runs them: one fleet scanned
//! once whole and in 4 shards by 4 separate `scready` processes against one simulator; the
//! merged shards equal the whole scan instance by instance and finding by finding (the CSV
//! exports), a missing shard makes the merged run partial, and inputs that cannot be one result
//! are refused.

mod common;

use common::*;
use scready_sim::generate::{self, GenerateOptions};
use scready_sim::SimConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

const SHARDS: u32 = 4;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The rows of a CSV export (header excluded), as a set: the order of rows is not part of the
/// comparison, every cell is.
fn rows(path: &Path) -> BTreeSet<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out = BTreeSet::new();
    for r in reader.records() {
        let r = r.unwrap();
        assert!(
            out.insert(r.iter().map(str::to_string).collect::<Vec<_>>()),
            "{path:?}: a row appears twice"
        );
    }
    out
}

/// The value of a column in every row of a CSV export.
fn column(path: &Path, name: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let i = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{path:?} has no column {name}"));
    reader
        .records()
        .map(|r| r.unwrap().get(i).unwrap().to_string())
        .collect()
}

/// The top-level object `key` of a result's report.json.
fn report(dir: &Path, key: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v[key].clone()
}

/// The verdict counts of the summary printed on stdout (`  blocked   123   4.5%`).
fn verdict_counts(stdout: &str) -> BTreeMap<String, u64> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let verdict = words.next()?;
            let n = words.next()?.parse().ok()?;
            let pct = words.next()?;
            (l.starts_with("  ")
                && pct.ends_with('%')
                && ["ready", "ready_with_warnings", "blocked", "unknown"].contains(&verdict))
            .then(|| (verdict.to_string(), n))
        })
        .collect()
}

struct Setup {
    sim: common::Sim,
    dir: tempfile::TempDir,
    ca: String,
    token: String,
    graph_token: String,
    oncall: String,
}

impl Setup {
    async fn new() -> Setup {
        // S-like, smaller for debug builds: 20 subscriptions of 150 instances (100 VMs and a
        // scale set of 50), the default mix: shared boot-diagnostics accounts in the first
        // subscription that VMs of every subscription use, access and probe on.
        let fleet = generate::generate(&GenerateOptions {
            subscriptions: 20,
            vms_per_subscription: 100,
            scale_sets: 1,
            instances_per_scale_set: 50,
            seed: 7,
            ..Default::default()
        });
        let scanner = generate::scanner_principal(&fleet).unwrap().id.clone();
        let oncall = fleet
            .principals
            .iter()
            .find(|p| p.display_name.as_deref() == Some(generate::ONCALL_USER_NAME))
            .unwrap()
            .id
            .to_ascii_lowercase();
        let sim = common::start(&fleet, SimConfig::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, sim.ca_pem()).unwrap();
        Setup {
            token: sim.issue_token(&scanner).unwrap(),
            graph_token: sim.issue_graph_token(&scanner).unwrap(),
            ca: ca.display().to_string(),
            oncall,
            sim,
            dir,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    async fn scan(&self, out: &str, extra: &[&str]) -> Output {
        let endpoint = self
            .sim
            .base_url()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string();
        let mut args = strings(&[
            "scan",
            "--cloud",
            "custom",
            "--arm-endpoint",
            &self.sim.base_url(),
            "--ca-cert",
            &self.ca,
            "--auth",
            "token",
            "--principal",
            &self.oncall,
            "--serial-console-endpoint",
            &endpoint,
            "--format",
            "csv,json",
            "--no-history",
            "--out",
            out,
        ]);
        args.extend(strings(extra));
        common::run_scready(
            &args,
            &[
                ("SCREADY_ACCESS_TOKEN", self.token.as_str()),
                ("SCREADY_GRAPH_TOKEN", self.graph_token.as_str()),
            ],
            self.dir.path(),
        )
        .await
    }

    async fn merge(&self, inputs: &[&str], extra: &[&str]) -> Output {
        let mut args = strings(&["merge"]);
        args.extend(strings(inputs));
        args.extend(strings(extra));
        common::run_scready(&args, &[], self.dir.path()).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_merged_equal_one_scan_and_bad_merges_are_refused() {
    let s = Setup::new().await;

    // The whole estate in one scan, and in 4 shards by 4 processes at once.
    let whole = s.scan("whole", &[]).await;
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole.stderr));
    let shard_dirs: Vec<String> = (0..SHARDS).map(|k| format!("shard-{k}")).collect();
    let shard_args: Vec<String> = (0..SHARDS).map(|k| format!("{k}/{SHARDS}")).collect();
    let shard_extra: Vec<[&str; 2]> = shard_args.iter().map(|a| ["--shard", a.as_str()]).collect();
    let outputs = futures::future::join_all(
        (0..SHARDS as usize).map(|k| s.scan(&shard_dirs[k], &shard_extra[k])),
    )
    .await;
    for (k, o) in outputs.iter().enumerate() {
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "shard {k}: {:?} {}",
            o.status,
            text(&o.stderr)
        );
    }

    // Each shard read the subscriptions that hash to it, and recorded which shard it is.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (k, d) in shard_dirs.iter().enumerate() {
        let dir = s.path(d);
        assert_eq!(
            report(&dir, "run")["shard"],
            serde_json::json!({"index": k, "count": SHARDS}),
            "{d}"
        );
        let subs: BTreeSet<String> = column(&dir.join("instances.csv"), "subscription_id")
            .into_iter()
            .collect();
        assert!(!subs.is_empty(), "every shard holds instances: {d}");
        for sub in &subs {
            assert_eq!(
                scready::discover::shard::shard_of(sub, SHARDS),
                k as u32,
                "{sub} in {d}"
            );
            assert!(seen.insert(sub.clone()), "{sub} in two shards");
        }
    }
    assert_eq!(
        report(&s.path("whole"), "run")["shard"],
        serde_json::Value::Null
    );

    // On its own, a shard misjudges VMs whose boot-diagnostics account is in another shard's
    // subscription (the account is in no subscription it read): the merge must re-evaluate.
    let rg_unknown = |dir: &Path| {
        column(&dir.join("findings.csv"), "check_id")
            .iter()
            .filter(|c| *c == "storage-resource-group-unknown")
            .count()
    };
    let in_shards: usize = shard_dirs.iter().map(|d| rg_unknown(&s.path(d))).sum();
    assert!(
        in_shards > rg_unknown(&s.path("whole")),
        "the fleet has boot-diagnostics accounts shared across shards ({in_shards})"
    );

    // The access checks were evaluated (the on-call user's role assignments, read per shard,
    // with group memberships from Graph).
    let checks: BTreeSet<String> = column(&s.path("whole").join("findings.csv"), "check_id")
        .into_iter()
        .collect();
    assert!(
        checks.contains("rbac-storage-access") && checks.contains("storage-firewall"),
        "{checks:?}"
    );

    // Merged, with one history run: equal to the whole scan.
    let all: Vec<&str> = shard_dirs.iter().map(String::as_str).collect();
    let merged = s
        .merge(&all, &["--out", "merged", "--history", "h.sqlite"])
        .await;
    assert_eq!(
        merged.status.code(),
        whole.status.code(),
        "{}",
        text(&merged.stderr)
    );
    for csv in ["instances.csv", "findings.csv"] {
        let (w, m) = (
            rows(&s.path("whole").join(csv)),
            rows(&s.path("merged").join(csv)),
        );
        assert!(w.len() > 100, "{csv}: {}", w.len());
        let missing: Vec<_> = w.difference(&m).take(3).collect();
        let extra: Vec<_> = m.difference(&w).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{csv}: only in the whole scan {missing:?}, only in the merge {extra:?}"
        );
    }
    assert_eq!(rows(&s.path("whole").join("instances.csv")).len(), 3000);
    let counts = verdict_counts(&text(&whole.stdout));
    assert_eq!(counts.len(), 4, "{}", text(&whole.stdout));
    assert_eq!(counts, verdict_counts(&text(&merged.stdout)));
    assert!(text(&merged.stdout).contains("merged 4 results"));
    let (wc, mc) = (
        report(&s.path("whole"), "coverage"),
        report(&s.path("merged"), "coverage"),
    );
    for key in ["subscriptions", "instances", "storage_accounts"] {
        assert_eq!(wc[key], mc[key], "coverage.{key}");
    }
    assert_eq!(mc["gaps"], serde_json::json!([]));
    let shard_requests: u64 = shard_dirs
        .iter()
        .map(|d| {
            report(&s.path(d), "coverage")["calls"]["requests"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(mc["calls"]["requests"].as_u64(), Some(shard_requests));
    let run = report(&s.path("merged"), "run");
    assert_eq!(run["status"], "complete");
    assert_eq!(run["partial"], false);
    assert_eq!(run["shard"], serde_json::Value::Null);
    let earliest = shard_dirs
        .iter()
        .map(|d| {
            report(&s.path(d), "run")["started_at"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .min()
        .unwrap();
    assert_eq!(run["started_at"].as_str(), Some(earliest.as_str()));
    let fingerprint = report(&s.path("whole"), "policy")["fingerprint"].clone();
    assert_eq!(fingerprint.as_str().map(str::len), Some(64));
    assert_eq!(
        report(&s.path("merged"), "policy")["fingerprint"],
        fingerprint
    );
    let history = scready::history::History::open(&s.path("h.sqlite")).unwrap();
    let runs = history.runs(10).unwrap();
    assert_eq!(runs.len(), 1, "one history run for the merge");
    assert_eq!(runs[0].scope, "all subscriptions");
    assert_eq!(runs[0].instances, 3000);

    // A missing shard: partial, with a gap naming it, exit code 2.
    let three = [all[0], all[1], all[3]];
    let partial = s.merge(&three, &["--out", "partial", "--no-history"]).await;
    assert_eq!(partial.status.code(), Some(2), "{}", text(&partial.stderr));
    assert!(
        text(&partial.stderr).contains("shard 2/4 missing"),
        "{}",
        text(&partial.stderr)
    );
    let run = report(&s.path("partial"), "run");
    assert_eq!(
        (run["partial"].clone(), run["status"].clone()),
        (true.into(), "partial".into())
    );
    let gaps = report(&s.path("partial"), "coverage")["gaps"].clone();
    assert_eq!(
        gaps,
        serde_json::json!([{
            "subscription_id": null,
            "what": "shard",
            "status": null,
            "code": "ShardMissing",
            "message": "shard 2/4 missing: its subscriptions were not scanned"
        }])
    );
    let present: usize = three
        .iter()
        .map(|d| rows(&s.path(d).join("instances.csv")).len())
        .sum();
    assert_eq!(
        rows(&s.path("partial").join("instances.csv")).len(),
        present
    );

    // The same shard twice: refused, naming both directories.
    let copy = s.path("shard-1-copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(s.path("shard-1/report.json"), copy.join("report.json")).unwrap();
    let twice = s
        .merge(&["shard-0", "shard-1", "shard-1-copy"], &["--out", "twice"])
        .await;
    assert_eq!(twice.status.code(), Some(2));
    let e = text(&twice.stderr);
    assert!(
        e.contains("shard-1 and shard-1-copy are both shard 1/4"),
        "{e}"
    );
    assert!(!s.path("twice").exists(), "nothing written");

    // A shard of a scan that selected by management group, merged with shards that did not:
    // refused (the selection is read from each report.json's run).
    let grouped = s.path("shard-3-grouped");
    std::fs::create_dir(&grouped).unwrap();
    let mut r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("shard-3/report.json")).unwrap()).unwrap();
    r["run"]["management_groups"] = serde_json::json!(["contoso-prod"]);
    std::fs::write(grouped.join("report.json"), r.to_string()).unwrap();
    let regrouped = s
        .merge(
            &["shard-0", "shard-1", "shard-2", "shard-3-grouped"],
            &["--out", "regrouped"],
        )
        .await;
    assert_eq!(regrouped.status.code(), Some(2));
    let e = text(&regrouped.stderr);
    assert!(
        e.contains("shard-3-grouped") && e.contains("--management-group"),
        "{e}"
    );
    assert!(!s.path("regrouped").exists(), "nothing written");

    // A subscription in two inputs (the whole scan and a shard): refused.
    let overlap = s.merge(&["whole", "shard-2"], &["--out", "overlap"]).await;
    assert_eq!(overlap.status.code(), Some(2));
    assert!(
        text(&overlap.stderr).contains("is in both whole and shard-2"),
        "{}",
        text(&overlap.stderr)
    );

    // Different policies: a shard scanned with another policy, and a merge given another one.
    let policy = fixture("policies/config-only.toml").display().to_string();
    let other = s
        .scan("shard-3-other", &["--shard", "3/4", "--policy", &policy])
        .await;
    assert!(
        matches!(other.status.code(), Some(0 | 1)),
        "{}",
        text(&other.stderr)
    );
    let mixed = s
        .merge(
            &["shard-0", "shard-1", "shard-2", "shard-3-other"],
            &["--out", "mixed"],
        )
        .await;
    assert_eq!(mixed.status.code(), Some(2));
    let e = text(&mixed.stderr);
    assert!(
        e.contains("different policies") && e.contains("shard-0") && e.contains("shard-3-other"),
        "{e}"
    );
    let wrong = s
        .merge(&all, &["--out", "wrong", "--policy", &policy])
        .await;
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("--policy"),
        "{}",
        text(&wrong.stderr)
    );

    // The merged result does not overwrite an input.
    let onto = s.merge(&all, &["--out", "shard-0"]).await;
    assert_eq!(onto.status.code(), Some(2));
    assert!(text(&onto.stderr).contains("directory of its own"));
}
