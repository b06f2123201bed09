//! Nightly history over three scans of a changing simulator estate: one VM deallocated, one
//! fixed, one deleted and one created between the first two nights, a subscription forbidden on
//! the third. `scready diff` and `scready history` print exactly what changed, the partial run is
//! called partial instead of reporting its unseen instances as gone, and the reports of each run
//! carry the diff and the trend.

mod common;

use common::*;
use scready::history::render::short_time;
use scready::history::History;
use scready_sim::faults::{FaultKind, FaultRule};
use scready_sim::fleet::{BootDiagnosticsSpec, Fleet};
use scready_sim::SimConfig;
use std::path::Path;

/// The estate on the second night.
fn second_night() -> Fleet {
    let mut fleet = scready_sim::demo::demo_fleet();
    let prod = fleet
        .subscriptions
        .iter_mut()
        .find(|s| s.display_name == "Contoso Production")
        .unwrap();
    fn vm(vms: &[scready_sim::fleet::VmSpec], name: &str) -> usize {
        vms.iter().position(|v| v.name == name).unwrap()
    }
    let i = vm(&prod.vms, "vm-web-prod-01");
    prod.vms[i].power_state = "deallocated".into();
    let i = vm(&prod.vms, "vm-web-nobootdiag");
    prod.vms[i].boot_diagnostics = Some(BootDiagnosticsSpec {
        enabled: true,
        storage_uri: None,
    });
    let i = vm(&prod.vms, "vm-sql-prod-01");
    prod.vms.remove(i);
    let mut new = prod.vms[vm(&prod.vms, "vm-web-prod-02")].clone();
    new.name = "vm-web-prod-03".into();
    prod.vms.push(new);
    fleet.validate("second night").unwrap();
    fleet
}

async fn scready(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_scready"))
        .args(args)
        .current_dir(cwd)
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn three_nights_give_the_expected_diffs_history_and_trend() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let fleet = scready_sim::demo::demo_fleet();
    let dev = fleet
        .subscriptions
        .iter()
        .find(|s| s.display_name == "Contoso Development")
        .unwrap()
        .id
        .clone();
    let sim = common::start(&fleet, SimConfig::default()).await;
    let night = |n: u32| {
        let mut o = demo_scan_options(
            &sim,
            &dir.path().join(format!("night-{n}")),
            Some("policies/config-only.toml"),
        );
        o.history = Some(db.clone());
        o
    };

    let first = scan_demo(&sim, &night(1)).await.result;
    let h = first.history.as_ref().expect("the run is recorded");
    assert_eq!((h.run_id, h.trend.len()), (1, 1));
    assert!(h.diff.is_none(), "nothing to compare the first night with");

    sim.replace_fleet(&second_night());
    let second = scan_demo(&sim, &night(2)).await.result;
    let d = second.history.as_ref().unwrap().diff.as_ref().unwrap();
    assert_eq!(
        d.counts_line(),
        "1 newly blocked, 1 fixed, 1 appeared, 1 disappeared"
    );

    sim.add_fault(FaultRule::always(FaultKind::Forbidden).on_subscription(&dev))
        .unwrap();
    let third = scan_demo(&sim, &night(3)).await;
    assert_eq!(third.exit_code, 2, "a partial scan");
    let third = third.result;
    assert!(third.run.partial);

    let runs = History::open(&db).unwrap().runs(10).unwrap();
    assert_eq!(runs.len(), 3);
    let t: Vec<String> = runs.iter().map(|r| short_time(&r.started_at)).collect();

    let (code, out, err) = scready(
        &["diff", "1", "2", "--history", db.to_str().unwrap()],
        dir.path(),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "diff: run 1 → run 2
  run 1  {}  complete  42 instances: 20 ready, 5 with warnings (59.5% can connect), 17 blocked, 0 unknown
  run 2  {}  complete  42 instances: 20 ready, 5 with warnings (59.5% can connect), 17 blocked, 0 unknown
since run 1: 1 newly blocked, 1 fixed, 1 appeared, 1 disappeared
newly blocked (1):
  Contoso Production/rg-web-prod/vm-web-prod-01  ready → blocked  (vm-not-running)
fixed (1):
  Contoso Production/rg-web-prod/vm-web-nobootdiag  blocked → ready  (was: boot-diagnostics-disabled)
appeared (1):
  Contoso Production/rg-web-prod/vm-web-prod-03  absent → ready
disappeared (1):
  Contoso Production/rg-data-prod/vm-sql-prod-01  ready → absent
checks whose counts moved (instances failing, run 1 → run 2):
  boot-diagnostics-disabled  2 → 1  (-1)
  vm-not-running  2 → 3  (+1)
",
            t[0], t[1]
        )
    );

    // The default: the last two runs. The partial one says so; the account of vm-app-extdiag might
    // be in the subscription it could not list, so that check is now undecided, not failed.
    let (code, out, err) = scready(&["diff", "--history", db.to_str().unwrap()], dir.path()).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "diff: run 2 → run 3
  run 2  {}  complete  42 instances: 20 ready, 5 with warnings (59.5% can connect), 17 blocked, 0 unknown
  run 3  {}  PARTIAL  39 instances: 20 ready, 5 with warnings (64.1% can connect), 13 blocked, 1 unknown
since run 2: 0 newly blocked, 0 fixed, 0 appeared, 0 disappeared, 1 now undecided, 3 not seen (partial run)
caveat: run 3 is partial: 6 listing(s) failed; not fully listed: Contoso Development (scale sets: HTTP 403 AuthorizationFailed, virtual machines: HTTP 403 AuthorizationFailed); 3 instance(s) it could not see are not reported as disappeared
newly blocked: none
fixed: none
now undecided (1):
  Contoso Production/rg-app-prod/vm-app-extdiag  blocked → unknown  (storage-firewall, storage-account-not-found, storage-resource-group-unknown, storage-hns-enabled, storage-shared-key-disabled, storage-region-mismatch, storage-min-tls)
appeared: none
disappeared: none
not seen in run 3, which is partial (3):
  Contoso Development/rg-app-dev/vm-app-dev-01  blocked → absent  (subscription-console-disabled)
  Contoso Development/rg-app-dev/vm-test-dev-01  blocked → absent  (subscription-console-disabled)
  Contoso Development/rg-app-dev/vm-web-dev-01  blocked → absent  (subscription-console-disabled)
checks whose counts moved (instances failing, run 2 → run 3):
  storage-resource-group-unknown  1 → 0  (-1)
",
            t[1], t[2]
        )
    );

    let (code, out, err) =
        scready(&["history", "--history", db.to_str().unwrap()], dir.path()).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with(" run  started"), "{out}");
    for (line, (id, status, instances, blocked, readiness)) in lines[1..].iter().zip([
        (1, "complete", 42, 17, "59.5%"),
        (2, "complete", 42, 17, "59.5%"),
        (3, "PARTIAL", 39, 13, "64.1%"),
    ]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], id.to_string(), "{line}");
        assert_eq!(cols[2], status, "{line}");
        assert_eq!(cols[3], instances.to_string(), "{line}");
        assert_eq!(cols[6], blocked.to_string(), "{line}");
        assert_eq!(cols[8], readiness, "{line}");
    }

    // The third night's reports carry the diff, its caveat and a three-point trend.
    let html = std::fs::read_to_string(dir.path().join("night-3/report.html")).unwrap();
    assert!(html.contains("data-points=\"3\""));
    assert_eq!(html.matches("<circle class=\"trend-point").count(), 3);
    assert_eq!(
        html.matches("<circle class=\"trend-point partial\"")
            .count(),
        1
    );
    assert!(html.contains("data-run=\"3\" data-readiness=\"64.1\""));
    assert!(html.contains(
        "<b>0 newly blocked</b>, <b>0 fixed</b>, 0 appeared, 0 disappeared, 1 now undecided."
    ));
    assert!(html.contains("<p class=\"caveat\">run 3 is partial: 6 listing(s) failed;"));
    let html2 = std::fs::read_to_string(dir.path().join("night-2/report.html")).unwrap();
    assert!(html2.contains("<b>1 newly blocked</b>, <b>1 fixed</b>, 1 appeared, 1 disappeared."));
    assert_eq!(html2.matches("<circle class=\"trend-point").count(), 2);

    let md = std::fs::read_to_string(dir.path().join("night-3/summary.md")).unwrap();
    assert!(
        md.contains(&format!(
            "**Since run 2 ({}):** 0 newly blocked, 0 fixed, 0 appeared, 0 disappeared, 1 now undecided, 3 not seen (partial run).",
            t[1]
        )),
        "{md}"
    );
    assert!(
        md.contains("> ⚠ run 3 is partial: 6 listing(s) failed;"),
        "{md}"
    );
    let md2 = std::fs::read_to_string(dir.path().join("night-2/summary.md")).unwrap();
    assert!(
        md2.contains(
            "Newly blocked:\n\n- Contoso Production/rg-web-prod/vm-web-prod-01 — vm-not-running\n"
        ),
        "{md2}"
    );
    assert!(md2.contains("Fixed:\n\n- Contoso Production/rg-web-prod/vm-web-nobootdiag — boot-diagnostics-disabled\n"), "{md2}");

    let json = common::report::raw(&dir.path().join("night-3"));
    assert_eq!(json["history"]["run_id"], 3);
    assert_eq!(json["history"]["trend"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["history"]["diff"]["not_seen_in_to"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(json["schema_version"], 2);
}

#[tokio::test]
async fn a_database_newer_than_this_build_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    History::open(&db).unwrap();
    // A later scready would have migrated it further.
    set_user_version(&db, scready::history::HISTORY_SCHEMA_VERSION + 1);
    let sim = common::start(&scready_sim::demo::demo_fleet(), SimConfig::default()).await;
    let mut options = demo_scan_options(&sim, &dir.path().join("out"), None);
    options.history = Some(db.clone());
    let token = sim.issue_token(DEMO_SCANNER).unwrap();
    let env: scready::auth::EnvLookup =
        std::sync::Arc::new(move |k: &str| (k == "SCREADY_ACCESS_TOKEN").then(|| token.clone()));
    let err = scready::scan::run(&options, env).await.unwrap_err();
    let expected = format!(
        "history schema version {} is newer than this scready understands ({}); use a newer scready or another --history file",
        scready::history::HISTORY_SCHEMA_VERSION + 1,
        scready::history::HISTORY_SCHEMA_VERSION
    );
    assert!(err.to_string().contains(&expected), "{err}");
    assert_eq!(sim.request_count(), 0, "refused before the first request");

    let (code, _, err) = scready(&["diff", "--history", db.to_str().unwrap()], dir.path()).await;
    assert_eq!(code, 2);
    assert!(err.contains(&expected), "{err}");
    let (code, _, err) = scready(&["history", "--history", "missing.sqlite"], dir.path()).await;
    assert_eq!(code, 2);
    assert!(err.contains("missing.sqlite: no history database"), "{err}");
}

/// Sets `PRAGMA user_version` the way a newer build's migration would.
fn set_user_version(db: &Path, version: u32) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {version}"))
        .unwrap();
}

/// The fixture of schema version 1: the three nights above, recorded by the scready that wrote
/// that schema, with what its `history` and `diff` printed.
const V1_FIXTURE: &str = "tests/fixtures/history/v1.sqlite";

/// Runs `scready` and returns its stdout, asserting exit code 0.
async fn stdout_of(args: &[&str], cwd: &Path) -> String {
    let (code, out, err) = scready(args, cwd).await;
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// The instances of a version 1 run, read with the old schema's SQL.
fn v1_instances(db: &Path, run: i64) -> Vec<scready::history::InstanceRecord> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let list = |s: String| -> Vec<String> {
        if s.is_empty() {
            vec![]
        } else {
            s.split(';').map(str::to_string).collect()
        }
    };
    let mut st = conn
        .prepare(
            "SELECT resource_id, name, subscription_id, resource_group, kind, verdict, blockers, \
             warnings, unknowns FROM instance_verdicts WHERE run_id = ?1 ORDER BY resource_key",
        )
        .unwrap();
    let rows = st
        .query_map([run], |r| {
            let verdict: String = r.get(5)?;
            Ok(scready::history::InstanceRecord {
                resource_id: r.get(0)?,
                name: r.get(1)?,
                subscription_id: r.get(2)?,
                resource_group: r.get(3)?,
                kind: r.get(4)?,
                verdict: serde_json::from_value(serde_json::Value::String(verdict)).unwrap(),
                blockers: list(r.get(6)?),
                warnings: list(r.get(7)?),
                unknowns: list(r.get(8)?),
            })
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn pragma(db: &Path, name: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

fn tables(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    let names = st.query_map([], |r| r.get(0)).unwrap();
    names.collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn a_schema_1_database_migrates_in_place_and_reads_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    std::fs::copy(V1_FIXTURE, &db).unwrap();
    assert_eq!(pragma(&db, "user_version"), 1);
    assert_eq!(pragma(&db, "application_id"), 0x7363_5264);
    let before: Vec<_> = (1..=3).map(|run| v1_instances(&db, run)).collect();
    assert_eq!(before[0].len(), 42);
    let size_before = std::fs::metadata(&db).unwrap().len();
    let path = db.to_str().unwrap();

    // What the scready of schema 1 printed for this file.
    let expected = |name: &str| {
        std::fs::read_to_string(format!("tests/fixtures/history/v1-{name}.txt")).unwrap()
    };
    assert_eq!(
        stdout_of(&["history", "--history", path], dir.path()).await,
        expected("history")
    );
    assert_eq!(pragma(&db, "user_version"), 2, "migrated on open");
    assert_eq!(
        stdout_of(&["diff", "1", "2", "--history", path], dir.path()).await,
        expected("diff-1-2")
    );
    assert_eq!(
        stdout_of(&["diff", "--history", path], dir.path()).await,
        expected("diff-2-3")
    );
    assert_eq!(
        stdout_of(&["diff", "1", "3", "--history", path], dir.path()).await,
        expected("diff-1-3")
    );

    // Every run's instances, verdicts and checks came across; the per-finding rows did not.
    let h = History::open(&db).unwrap();
    for (run, old) in (1..=3).zip(&before) {
        let mut now = h.snapshot(run).unwrap().instances;
        now.sort_by_key(|i| i.resource_id.to_ascii_lowercase());
        assert_eq!(&now, old, "run {run}");
    }
    assert_eq!(
        tables(&db),
        [
            "checks",
            "instances",
            "run_gaps",
            "run_instance_names",
            "run_instances",
            "run_subscriptions",
            "runs",
            "strings"
        ]
    );
    assert_eq!(pragma(&db, "auto_vacuum"), 2, "incremental from now on");
    let size_after = std::fs::metadata(&db).unwrap().len();
    assert!(
        size_after * 2 < size_before,
        "{size_before} → {size_after} bytes"
    );
}

/// The demo fleet's scan result (its reports written under `dir/out`), the template of
/// [`night`]'s runs.
async fn demo_template(dir: &Path) -> scready::result::ScanResult {
    let sim = common::start(&scready_sim::demo::demo_fleet(), SimConfig::default()).await;
    scan_demo(&sim, &demo_scan_options(&sim, &dir.join("out"), None))
        .await
        .result
}

/// A copy of `template` as run `night`: started `age` ago, with the template's instances
/// repeated `copies` times, each copy's names ending in `-{group}-{copy}` (runs of the same
/// group share their instances).
fn night(
    template: &scready::result::ScanResult,
    age: time::Duration,
    group: usize,
    copies: usize,
) -> scready::result::ScanResult {
    let mut r = template.clone();
    let started = time::OffsetDateTime::now_utc() - age;
    r.run.started_at = started
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    r.inventory.instances.clear();
    r.verdicts.clear();
    for copy in 0..copies {
        for (i, v) in template.inventory.instances.iter().zip(&template.verdicts) {
            let mut i = i.clone();
            let mut v = v.clone();
            let suffix = format!("-{group}-{copy}");
            i.name.push_str(&suffix);
            i.id = format!("{}{suffix}", i.id.as_str()).into();
            v.resource_id = i.id.clone();
            r.inventory.instances.push(i);
            r.verdicts.push(v);
        }
    }
    r.coverage.instances = r.inventory.instances.len();
    r
}

#[tokio::test]
async fn prune_by_count_and_by_age_keeps_the_right_runs_and_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let template = demo_template(dir.path()).await;
    let db = dir.path().join("history.sqlite");
    let hours = time::Duration::hours;
    let mut h = History::open(&db).unwrap();
    // Six nights, one a day; every two nights share their instances (3 groups of 42 × 20).
    for k in 1..=6usize {
        let mut r = night(&template, hours(24 * (6 - k as i64) + 1), k.div_ceil(2), 20);
        if k % 2 == 0 {
            // The second night of a group: its first instance is blocked now.
            r.verdicts[0].verdict = scready::findings::Verdict::Blocked;
            r.verdicts[0].blockers = vec!["vm-not-running".into()];
        }
        assert_eq!(h.record(&r).unwrap(), k as i64);
    }
    let diff_5_6 = h.diff(5, 6).unwrap();
    assert!(!diff_5_6.newly_blocked.is_empty() || !diff_5_6.checks.is_empty());
    let instances = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM instances", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(instances(&db), 3 * 42 * 20);
    drop(h);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    let full = size(&db);
    let path = db.to_str().unwrap();

    // By count: the four newest stay; the first group's instances go with runs 1 and 2.
    let out = stdout_of(
        &["history", "prune", "--keep", "4", "--history", path],
        dir.path(),
    )
    .await;
    assert!(out.contains("removed 2 run(s) (1-2), kept 4"), "{out}");
    let runs = History::open(&db).unwrap().runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 4, 5, 6]);
    assert_eq!(instances(&db), 2 * 42 * 20);
    let by_count = size(&db);
    assert!(by_count < full, "{full} → {by_count} bytes");
    assert_eq!(
        pragma(&db, "freelist_count"),
        0,
        "every freed page given back"
    );

    // By age: runs 3 and 4 started more than two days ago.
    let out = stdout_of(
        &["history", "prune", "--older-than", "2", "--history", path],
        dir.path(),
    )
    .await;
    assert!(out.contains("removed 2 run(s) (3-4), kept 2"), "{out}");
    let h = History::open(&db).unwrap();
    assert_eq!(
        h.runs(10).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(),
        [5, 6]
    );
    assert_eq!(instances(&db), 42 * 20);
    let by_age = size(&db);
    assert!(by_age < by_count, "{by_count} → {by_age} bytes");
    assert_eq!(
        pragma(&db, "freelist_count"),
        0,
        "every freed page given back"
    );
    // The remaining runs diff as before, and nothing is left that no run mentions.
    assert_eq!(h.diff(5, 6).unwrap(), diff_5_6);
    let orphans: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM strings WHERE id NOT IN (SELECT subscription FROM instances \
             UNION SELECT resource_group FROM instances UNION SELECT kind FROM instances \
             UNION SELECT subscription FROM run_subscriptions UNION SELECT name FROM run_subscriptions \
             UNION SELECT state FROM run_subscriptions WHERE state IS NOT NULL)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    // A deleted run is gone for diff.
    let (code, _, err) = scready(&["diff", "4", "6", "--history", path], dir.path()).await;
    assert_eq!(code, 2);
    assert!(err.contains("no run 4"), "{err}");
    // Nothing to do: nothing removed.
    let out = stdout_of(
        &["history", "prune", "--keep", "5", "--history", path],
        dir.path(),
    )
    .await;
    assert!(out.contains("nothing to prune (2 run(s) kept)"), "{out}");
    // Prune needs to be told what to remove.
    let (code, _, err) = scready(&["history", "prune", "--history", path], dir.path()).await;
    assert_eq!(code, 2);
    assert!(err.contains("--keep"), "{err}");
}

#[tokio::test]
async fn scan_history_keep_prunes_after_recording() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let sim = common::start(&scready_sim::demo::demo_fleet(), SimConfig::default()).await;
    for n in 1..=3 {
        let mut o = demo_scan_options(&sim, &dir.path().join(format!("night-{n}")), None);
        o.formats = vec!["md".into()];
        o.history = Some(db.clone());
        o.history_keep = Some(2);
        let r = scan_demo(&sim, &o).await.result;
        let h = r.history.as_ref().expect("recorded");
        assert_eq!(h.run_id, n);
        // The reports still show the diff against the run before, pruned or not.
        assert_eq!(h.diff.is_some(), n > 1);
    }
    let runs = History::open(&db).unwrap().runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 3]);
}

#[tokio::test]
async fn an_instance_spelled_differently_in_a_later_run_is_the_same_instance_spelled_as_seen() {
    let dir = tempfile::tempdir().unwrap();
    let template = demo_template(dir.path()).await;
    let mut h = History::open(&dir.path().join("history.sqlite")).unwrap();
    let first = night(&template, time::Duration::hours(25), 1, 1);
    let mut second = night(&template, time::Duration::hours(1), 1, 1);
    // ARM spells a resource group in capitals one night.
    let i = &mut second.inventory.instances[0];
    let rg = i.resource_group.clone();
    i.resource_group = rg.to_ascii_uppercase();
    i.id = i.id.as_str().replace(&rg, &i.resource_group).into();
    let spelled = (i.id.as_str().to_string(), i.resource_group.clone());
    assert_ne!(spelled.0, first.inventory.instances[0].id.as_str());
    h.record(&first).unwrap();
    h.record(&second).unwrap();
    let find = |run: i64, name: &str| {
        h.snapshot(run)
            .unwrap()
            .instances
            .into_iter()
            .find(|x| x.name == name)
            .unwrap()
    };
    let name = &first.inventory.instances[0].name;
    assert_eq!(
        find(1, name).resource_id,
        first.inventory.instances[0].id.as_str()
    );
    assert_eq!(find(1, name).resource_group, rg);
    let now = find(2, name);
    assert_eq!((now.resource_id, now.resource_group), spelled);
    assert_eq!(h.snapshot(2).unwrap().instances.len(), 42);
    let d = h.diff(1, 2).unwrap();
    assert_eq!(
        d.counts_line(),
        "0 newly blocked, 0 fixed, 0 appeared, 0 disappeared"
    );
}
