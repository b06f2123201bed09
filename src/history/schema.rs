//! The history's schema versions and the migrations between them.
//!
//! Version 1 kept a row per instance per run with every string spelled out, and every finding's
//! text: about 120 MB per 100,000-instance run. Version 2 keeps per run what a diff reads, with
//! every repeated string stored once per database:
//!
//! - `strings`: subscription ids and names, resource groups, kinds, states, each once;
//! - `checks`: each check id once, with its texts (title, severity, portal error, mitigation,
//!   docs) as the latest run saw them;
//! - `instances`: each instance once (one row per resource id, compared case-insensitively, as
//!   first seen: resource id, name, and its subscription, resource group and kind as `strings`);
//! - `run_instances`: one row per run, its instances' verdicts and checks packed in one blob
//!   (see [`super::compact`]);
//! - `run_instance_names`: the rare instance whose spelling in a run differs from its
//!   `instances` row (a resource group's case, a VM joining a Flexible scale set);
//! - `run_subscriptions`: per run, the subscriptions read (interned);
//! - `runs` and `run_gaps` as in version 1.

use super::store::{write_instances, InstanceSource};
use super::InstanceRecord;
use crate::findings::Verdict;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// One schema step.
pub(super) enum Migration {
    /// SQL run as is.
    Sql(&'static str),
    /// Code that reads the old tables and writes the new ones.
    Code(fn(&Connection) -> rusqlite::Result<()>),
}

/// Migrations in order; migration `n` (1-based) brings the schema to version `n`.
pub(super) const MIGRATIONS: &[Migration] = &[Migration::Sql(V1), Migration::Code(to_v2)];

/// The tables of schema version 1.
pub(super) const V1_TABLES: &[&str] = &[
    "runs",
    "run_subscriptions",
    "run_gaps",
    "instance_verdicts",
    "findings",
];

/// The tables of schema version 2.
pub(super) const V2_TABLES: &[&str] = &[
    "runs",
    "run_subscriptions",
    "run_gaps",
    "strings",
    "checks",
    "instances",
    "run_instances",
    "run_instance_names",
];

/// 1: runs, subscriptions, gaps, instance verdicts, findings.
const V1: &str = "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        tool_version TEXT NOT NULL,
        cloud TEXT NOT NULL,
        scope TEXT NOT NULL,
        status TEXT NOT NULL,
        partial INTEGER NOT NULL,
        subscriptions INTEGER NOT NULL,
        instances INTEGER NOT NULL,
        ready INTEGER NOT NULL,
        ready_with_warnings INTEGER NOT NULL,
        unknown INTEGER NOT NULL,
        blocked INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        retries INTEGER NOT NULL,
        throttled INTEGER NOT NULL,
        gaps INTEGER NOT NULL
    );
    CREATE TABLE run_subscriptions (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        subscription_id TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT,
        PRIMARY KEY (run_id, subscription_id)
    );
    CREATE TABLE run_gaps (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        subscription_id TEXT,
        what TEXT NOT NULL,
        status INTEGER,
        code TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE TABLE instance_verdicts (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        resource_key TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        resource_group TEXT NOT NULL,
        kind TEXT NOT NULL,
        verdict TEXT NOT NULL,
        blockers TEXT NOT NULL,
        warnings TEXT NOT NULL,
        unknowns TEXT NOT NULL,
        PRIMARY KEY (run_id, resource_key)
    );
    CREATE TABLE findings (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        resource_id TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        principal_id TEXT
    );
    CREATE INDEX findings_run ON findings(run_id);
    CREATE INDEX runs_scope ON runs(cloud, scope, id);";

/// The tables version 2 adds.
const V2_TABLES_SQL: &str = "CREATE TABLE strings (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        check_id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        severity TEXT NOT NULL DEFAULT '',
        portal_error TEXT NOT NULL DEFAULT '',
        mitigation TEXT NOT NULL DEFAULT '',
        docs TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE instances (
        id INTEGER PRIMARY KEY,
        resource_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subscription INTEGER NOT NULL,
        resource_group INTEGER NOT NULL,
        kind INTEGER NOT NULL
    );
    CREATE TABLE run_instances (
        run_id INTEGER PRIMARY KEY,
        instances INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE run_instance_names (
        run_id INTEGER NOT NULL,
        instance INTEGER NOT NULL,
        resource_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        resource_group TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (run_id, instance)
    ) WITHOUT ROWID;
    CREATE TABLE run_subscriptions_v2 (
        run_id INTEGER NOT NULL,
        subscription INTEGER NOT NULL,
        name INTEGER NOT NULL,
        state INTEGER,
        PRIMARY KEY (run_id, subscription)
    ) WITHOUT ROWID;";

/// Version 1 rows of one run, as records.
struct V1Run(Vec<InstanceRecord>);

impl InstanceSource for V1Run {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn identity(&self, i: usize) -> super::store::Identity<'_> {
        let r = &self.0[i];
        super::store::Identity {
            resource_id: &r.resource_id,
            name: &r.name,
            subscription_id: std::borrow::Cow::Borrowed(&r.subscription_id),
            resource_group: &r.resource_group,
            kind: &r.kind,
        }
    }

    fn verdict(&self, i: usize) -> Verdict {
        self.0[i].verdict
    }

    fn checks<'s>(&'s self, i: usize, out: &mut Vec<(&'s str, super::compact::CheckList)>) {
        use super::compact::CheckList;
        let r = &self.0[i];
        for (list, kind) in [
            (&r.blockers, CheckList::Blocker),
            (&r.warnings, CheckList::Warning),
            (&r.unknowns, CheckList::Unknown),
        ] {
            out.extend(list.iter().map(|c| (c.as_str(), kind)));
        }
    }
}

fn list(s: String) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(';').map(str::to_string).collect()
    }
}

/// 2: every run's instances move from `instance_verdicts` (a row per instance, strings spelled
/// out) into the interned tables and one blob per run; the subscriptions of each run are
/// interned; per-finding texts (`findings`) are dropped (no report or diff reads them; each
/// run's `report.json` keeps them).
fn to_v2(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(V2_TABLES_SQL)?;
    conn.execute_batch(
        "INSERT OR IGNORE INTO strings (text)
             SELECT subscription_id FROM run_subscriptions
             UNION SELECT name FROM run_subscriptions
             UNION SELECT state FROM run_subscriptions WHERE state IS NOT NULL;
         INSERT INTO run_subscriptions_v2 (run_id, subscription, name, state)
             SELECT v.run_id, s.id, n.id, t.id FROM run_subscriptions v
             JOIN strings s ON s.text = v.subscription_id
             JOIN strings n ON n.text = v.name
             LEFT JOIN strings t ON t.text = v.state;
         DROP TABLE run_subscriptions;
         ALTER TABLE run_subscriptions_v2 RENAME TO run_subscriptions;",
    )?;
    let runs: Vec<i64> = conn
        .prepare("SELECT id FROM runs ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare(
        "SELECT resource_id, name, subscription_id, resource_group, kind, verdict, blockers, \
         warnings, unknowns FROM instance_verdicts WHERE run_id = ?1 ORDER BY resource_key",
    )?;
    for run in runs {
        let records: Vec<InstanceRecord> = st
            .query_map(params![run], |r| {
                Ok(InstanceRecord {
                    resource_id: r.get(0)?,
                    name: r.get(1)?,
                    subscription_id: r.get(2)?,
                    resource_group: r.get(3)?,
                    kind: r.get(4)?,
                    verdict: super::store::verdict_of(&r.get::<_, String>(5)?),
                    blockers: list(r.get(6)?),
                    warnings: list(r.get(7)?),
                    unknowns: list(r.get(8)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        write_instances(conn, run, &V1Run(records), &BTreeMap::new())?;
    }
    drop(st);
    conn.execute_batch(
        "DROP TABLE findings;
         DROP TABLE instance_verdicts;",
    )
}
