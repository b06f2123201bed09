//! The history database (SQLite): runs, their subscriptions and gaps, per-instance verdicts and
//! findings. The schema is versioned (`PRAGMA user_version`) and migrated forward on open; a
//! database newer than this build understands is refused.

use super::{diff, InstanceRecord, RunRecord, RunSnapshot, TrendPoint};
use crate::findings::Verdict;
use crate::inventory::CoverageGap;
use crate::result::{RunInfo, ScanResult};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The default database, relative to the working directory.
pub const DEFAULT_HISTORY_FILE: &str = "reports/history.sqlite";

/// Migrations in order; migration `n` (1-based) brings the schema to version `n`.
const MIGRATIONS: &[&str] = &[
    // 1: runs, subscriptions, gaps, instance verdicts, findings.
    "CREATE TABLE runs (
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
    CREATE INDEX runs_scope ON runs(cloud, scope, id);",
];

/// The schema version this build writes and understands.
pub const HISTORY_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// SQLite's `application_id` of a scready history (`PRAGMA application_id`, the 32-bit number
/// at offset 68 of the database header that says which application a file belongs to): the
/// ASCII bytes `scRd`. A database with another id, or with id 0 and tables that are not
/// scready's, is refused instead of getting scready's tables added to it.
pub const HISTORY_APPLICATION_ID: i32 = 0x7363_5264;

/// The tables of a scready history (schema version 1 onwards).
const HISTORY_TABLES: &[&str] = &[
    "runs",
    "run_subscriptions",
    "run_gaps",
    "instance_verdicts",
    "findings",
];

/// Why the history could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The database is newer than this build.
    #[error("{path}: history schema version {found} is newer than this scready understands ({supported}); use a newer scready or another --history file")]
    TooNew {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The file is a SQLite database of another application.
    #[error("{path}: not a scready history database ({why}); choose another --history file")]
    Foreign {
        /// The file.
        path: String,
        /// What it holds instead.
        why: String,
    },
    /// A run id that is not recorded.
    #[error("{path}: no run {id} (see `scready history`)")]
    NoSuchRun {
        /// The file.
        path: String,
        /// The id asked for.
        id: i64,
    },
    /// Fewer runs than a diff needs.
    #[error("{path}: {found} run(s) recorded; a diff needs two")]
    NotEnoughRuns {
        /// The file.
        path: String,
        /// Runs recorded.
        found: usize,
    },
    /// SQLite or the file system failed.
    #[error("{path}: {message}")]
    Database {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// `all subscriptions`, or the named ones, and the excluded ones.
pub fn scope_of(run: &RunInfo) -> String {
    let mut requested = run.requested_subscriptions.clone();
    requested.sort();
    requested.dedup();
    let mut excluded = run.excluded_subscriptions.clone();
    excluded.sort();
    excluded.dedup();
    let mut s = if requested.is_empty() {
        "all subscriptions".to_string()
    } else {
        format!("subscriptions {}", requested.join(","))
    };
    let mut groups = run.management_groups.clone();
    groups.sort();
    groups.dedup();
    if !groups.is_empty() {
        s = if requested.is_empty() {
            format!("management groups {}", groups.join(","))
        } else {
            format!("{s} and management groups {}", groups.join(","))
        };
    }
    if !excluded.is_empty() {
        s.push_str(&format!(" excluding {}", excluded.join(",")));
    }
    let mut excluded_groups = run.excluded_management_groups.clone();
    excluded_groups.sort();
    excluded_groups.dedup();
    if !excluded_groups.is_empty() {
        s.push_str(&format!(
            " excluding management groups {}",
            excluded_groups.join(",")
        ));
    }
    s
}

fn verdict_of(s: &str) -> Verdict {
    match s {
        "ready" => Verdict::Ready,
        "ready_with_warnings" => Verdict::ReadyWithWarnings,
        "blocked" => Verdict::Blocked,
        _ => Verdict::Unknown,
    }
}

fn list(s: String) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(';').map(str::to_string).collect()
    }
}

const RUN_COLUMNS: &str = "id, started_at, finished_at, duration_ms, tool_version, cloud, scope, \
    status, partial, subscriptions, instances, ready, ready_with_warnings, unknown, blocked, \
    requests, retries, throttled, gaps";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        duration_ms: r.get::<_, i64>(3)? as u64,
        tool_version: r.get(4)?,
        cloud: r.get(5)?,
        scope: r.get(6)?,
        status: r.get(7)?,
        partial: r.get(8)?,
        subscriptions: r.get::<_, i64>(9)? as usize,
        instances: r.get::<_, i64>(10)? as usize,
        ready: r.get::<_, i64>(11)? as usize,
        ready_with_warnings: r.get::<_, i64>(12)? as usize,
        unknown: r.get::<_, i64>(13)? as usize,
        blocked: r.get::<_, i64>(14)? as usize,
        requests: r.get::<_, i64>(15)? as u64,
        retries: r.get::<_, i64>(16)? as u64,
        throttled: r.get::<_, i64>(17)? as u64,
        gaps: r.get::<_, i64>(18)? as usize,
    })
}

/// Accepts a database that is scready's (its application id), empty (a new file), or a history
/// written before the application id was stamped (id 0 with scready's tables and nothing
/// else); refuses any other.
fn check_application(conn: &Connection, path: &str) -> Result<(), HistoryError> {
    let db = |e: rusqlite::Error| HistoryError::Database {
        path: path.to_string(),
        message: e.to_string(),
    };
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(db)?;
    if id == HISTORY_APPLICATION_ID {
        return Ok(());
    }
    if id != 0 {
        let tag: String = id
            .to_be_bytes()
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        return Err(HistoryError::Foreign {
            path: path.to_string(),
            why: format!("its SQLite application_id is {id:#010x} ({tag}), not scready's"),
        });
    }
    let mut st = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .map_err(db)?;
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let foreign: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|t| !HISTORY_TABLES.contains(t))
        .collect();
    let ours = HISTORY_TABLES.iter().all(|t| tables.iter().any(|x| x == t));
    if tables.is_empty() || (ours && foreign.is_empty()) {
        return Ok(());
    }
    let listed: Vec<String> = foreign
        .iter()
        .take(5)
        .map(|t| crate::text::display_safe(t).into_owned())
        .collect();
    Err(HistoryError::Foreign {
        path: path.to_string(),
        why: if foreign.is_empty() {
            "it holds only some of scready's tables".to_string()
        } else {
            format!(
                "it holds other tables: {}{}",
                listed.join(", "),
                if foreign.len() > 5 { ", …" } else { "" }
            )
        },
    })
}

impl History {
    /// Opens (creating it and its directory when needed) and migrates the database. A file that
    /// is not a regular file, or a SQLite database of another application, is refused (see
    /// [`HISTORY_APPLICATION_ID`]).
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let shown = path.display().to_string();
        let db = |e: &dyn std::fmt::Display| HistoryError::Database {
            path: shown.clone(),
            message: e.to_string(),
        };
        // SQLite would block forever reading a FIFO, and read a device without end.
        crate::config_file::refuse_special(
            path,
            "--history",
            crate::config_file::Expect::FileOrAbsent,
        )
        .map_err(|message| HistoryError::Database {
            path: shown.clone(),
            message,
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| db(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| db(&e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| db(&e))?;
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| db(&format!("not a history database: {e}")))?;
        check_application(&conn, &shown)?;
        if version > HISTORY_SCHEMA_VERSION {
            return Err(HistoryError::TooNew {
                path: shown,
                found: version,
                supported: HISTORY_SCHEMA_VERSION,
            });
        }
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| db(&e))?;
        let mut history = History {
            conn,
            path: path.to_path_buf(),
        };
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = history.conn.transaction().map_err(|e| db(&e))?;
            tx.execute_batch(sql).map_err(|e| db(&e))?;
            tx.execute_batch(&format!(
                "PRAGMA user_version = {}; PRAGMA application_id = {HISTORY_APPLICATION_ID};",
                i + 1
            ))
            .map_err(|e| db(&e))?;
            tx.commit().map_err(|e| db(&e))?;
        }
        // A history written before scready stamped its databases: stamp it now.
        let id: i32 = history
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| db(&e))?;
        if id != HISTORY_APPLICATION_ID {
            history
                .conn
                .execute_batch(&format!(
                    "PRAGMA application_id = {HISTORY_APPLICATION_ID};"
                ))
                .map_err(|e| db(&e))?;
        }
        Ok(history)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: impl std::fmt::Display) -> HistoryError {
        HistoryError::Database {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Records a run: its metadata, subscriptions, gaps, verdicts and findings; returns its id.
    pub fn record(&mut self, r: &ScanResult) -> Result<i64, HistoryError> {
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| HistoryError::Database {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO runs (started_at, finished_at, duration_ms, tool_version, cloud, scope, \
             status, partial, subscriptions, instances, ready, ready_with_warnings, unknown, \
             blocked, calls, requests, retries, throttled, gaps) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            params![
                r.run.started_at,
                r.run.finished_at,
                r.run.duration_ms as i64,
                r.run.version,
                r.run.cloud,
                scope_of(&r.run),
                r.run.status,
                r.run.partial,
                r.coverage.subscriptions as i64,
                r.coverage.instances as i64,
                r.count(Verdict::Ready) as i64,
                r.count(Verdict::ReadyWithWarnings) as i64,
                r.count(Verdict::Unknown) as i64,
                r.count(Verdict::Blocked) as i64,
                r.coverage.calls.calls as i64,
                r.coverage.calls.requests as i64,
                r.coverage.calls.retries as i64,
                r.coverage.calls.throttled as i64,
                r.coverage.gaps.len() as i64,
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO run_subscriptions (run_id, subscription_id, name, state) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err)?;
            for s in &r.inventory.subscriptions {
                st.execute(params![id, s.id.to_ascii_lowercase(), s.name, s.state])
                    .map_err(err)?;
            }
            let mut st = tx
                .prepare(
                    "INSERT INTO run_gaps (run_id, subscription_id, what, status, code, message) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for g in &r.coverage.gaps {
                st.execute(params![
                    id,
                    g.subscription_id,
                    g.what,
                    g.status,
                    g.code,
                    g.message
                ])
                .map_err(err)?;
            }
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO instance_verdicts (run_id, resource_key, resource_id, \
                     name, subscription_id, resource_group, kind, verdict, blockers, warnings, \
                     unknowns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(err)?;
            for (i, v) in r.inventory.instances.iter().zip(&r.verdicts) {
                st.execute(params![
                    id,
                    i.id.to_ascii_lowercase(),
                    i.id.as_str(),
                    i.name,
                    i.subscription_id.to_ascii_lowercase(),
                    i.resource_group,
                    i.kind.as_str(),
                    v.verdict.as_str(),
                    v.blockers.join(";"),
                    v.warnings.join(";"),
                    v.unknowns.join(";"),
                ])
                .map_err(err)?;
            }
            let mut st = tx
                .prepare(
                    "INSERT INTO findings (run_id, resource_id, subscription_id, check_id, status, \
                     severity, message, principal_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err)?;
            for f in &r.findings {
                st.execute(params![
                    id,
                    f.resource_id.as_str(),
                    f.subscription_id.as_str(),
                    f.check_id.as_str(),
                    f.status.as_str(),
                    f.severity.as_str(),
                    f.message.as_str(),
                    f.principal_id.as_deref(),
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// The last `limit` runs, oldest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, HistoryError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(|e| self.err(e))?;
        let mut out: Vec<RunRecord> = st
            .query_map([limit as i64], run_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        out.reverse();
        Ok(out)
    }

    /// One run.
    pub fn run(&self, id: i64) -> Result<RunRecord, HistoryError> {
        self.conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                run_row,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| HistoryError::NoSuchRun {
                path: self.path.display().to_string(),
                id,
            })
    }

    /// The run recorded before `id` with the same cloud and scope.
    pub fn previous_same_scope(&self, id: i64) -> Result<Option<i64>, HistoryError> {
        let run = self.run(id)?;
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE cloud = ?1 AND scope = ?2 AND id < ?3 \
                 ORDER BY id DESC LIMIT 1",
                params![run.cloud, run.scope, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Readiness of the last `n` runs of the same cloud and scope up to `id`, oldest first.
    pub fn trend(&self, id: i64, n: usize) -> Result<Vec<TrendPoint>, HistoryError> {
        let run = self.run(id)?;
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE cloud = ?1 AND scope = ?2 AND id <= ?3 \
                 ORDER BY id DESC LIMIT ?4"
            ))
            .map_err(|e| self.err(e))?;
        let mut out: Vec<TrendPoint> = st
            .query_map(params![run.cloud, run.scope, id, n as i64], run_row)
            .map_err(|e| self.err(e))?
            .map(|r| {
                r.map(|r| TrendPoint {
                    run_id: r.id,
                    started_at: r.started_at,
                    instances: r.instances,
                    ready: r.ready,
                    ready_with_warnings: r.ready_with_warnings,
                    unknown: r.unknown,
                    blocked: r.blocked,
                    partial: r.partial,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        out.reverse();
        Ok(out)
    }

    /// A run with its subscriptions and gaps, without its instances.
    fn snapshot_meta(&self, id: i64) -> Result<RunSnapshot, HistoryError> {
        let run = self.run(id)?;
        let e = |e: rusqlite::Error| self.err(e);
        let mut st = self
            .conn
            .prepare("SELECT subscription_id, name FROM run_subscriptions WHERE run_id = ?1")
            .map_err(e)?;
        let subscriptions: BTreeMap<String, String> = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let mut st = self
            .conn
            .prepare(
                "SELECT subscription_id, what, status, code, message FROM run_gaps \
                 WHERE run_id = ?1 ORDER BY rowid",
            )
            .map_err(e)?;
        let gaps: Vec<CoverageGap> = st
            .query_map([id], |r| {
                Ok(CoverageGap {
                    subscription_id: r.get(0)?,
                    what: r.get(1)?,
                    status: r.get(2)?,
                    code: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        Ok(RunSnapshot {
            run,
            subscriptions,
            gaps,
            instances: Vec::new(),
        })
    }

    /// The statement that reads a run's instances in key order.
    fn instances_statement(&self) -> Result<rusqlite::Statement<'_>, HistoryError> {
        self.conn
            .prepare(
                "SELECT resource_key, resource_id, name, subscription_id, resource_group, kind, \
                 verdict, blockers, warnings, unknowns FROM instance_verdicts WHERE run_id = ?1 \
                 ORDER BY resource_key",
            )
            .map_err(|e| self.err(e))
    }

    /// The diff from run `from` to run `to`: both runs' instances are read as two streams in
    /// key order and merged, so neither is held in memory whole.
    pub fn diff(&self, from: i64, to: i64) -> Result<diff::RunDiff, HistoryError> {
        let mut differ = diff::Differ::new(&self.snapshot_meta(from)?, &self.snapshot_meta(to)?);
        let e = |e: rusqlite::Error| self.err(e);
        let (mut older, mut newer) = (self.instances_statement()?, self.instances_statement()?);
        let mut older = older.query_map([from], instance_row).map_err(e)?;
        let mut newer = newer.query_map([to], instance_row).map_err(e)?;
        let mut a = older.next().transpose().map_err(e)?;
        let mut b = newer.next().transpose().map_err(e)?;
        loop {
            let order = match (&a, &b) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
            };
            match order {
                std::cmp::Ordering::Less => {
                    differ.pair(a.as_ref().map(|x| &x.1), None);
                    a = older.next().transpose().map_err(e)?;
                }
                std::cmp::Ordering::Greater => {
                    differ.pair(None, b.as_ref().map(|x| &x.1));
                    b = newer.next().transpose().map_err(e)?;
                }
                std::cmp::Ordering::Equal => {
                    differ.pair(a.as_ref().map(|x| &x.1), b.as_ref().map(|x| &x.1));
                    a = older.next().transpose().map_err(e)?;
                    b = newer.next().transpose().map_err(e)?;
                }
            }
        }
        Ok(differ.finish())
    }

    /// The two runs `scready diff` compares: both given; `a` and the last run; or the last two.
    pub fn pick_pair(&self, a: Option<i64>, b: Option<i64>) -> Result<(i64, i64), HistoryError> {
        match (a, b) {
            (Some(a), Some(b)) => {
                self.run(a)?;
                self.run(b)?;
                Ok((a, b))
            }
            (a, _) => {
                let runs = self.runs(2)?;
                match (a, runs.as_slice()) {
                    (Some(a), [.., last]) => {
                        self.run(a)?;
                        Ok((a, last.id))
                    }
                    (None, [prev, last]) => Ok((prev.id, last.id)),
                    _ => Err(HistoryError::NotEnoughRuns {
                        path: self.path.display().to_string(),
                        found: runs.len(),
                    }),
                }
            }
        }
    }

    /// What the reports of run `id` show: the trend and the diff against the previous run of
    /// the same scope.
    pub fn summary(&self, id: i64) -> Result<super::HistorySummary, HistoryError> {
        let diff = match self.previous_same_scope(id)? {
            Some(prev) => Some(self.diff(prev, id)?),
            None => None,
        };
        Ok(super::HistorySummary {
            database: self.path.display().to_string(),
            run_id: id,
            trend: self.trend(id, super::TREND_RUNS)?,
            diff,
        })
    }
}

/// One `instance_verdicts` row: its key and the record.
fn instance_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, InstanceRecord)> {
    Ok((
        r.get(0)?,
        InstanceRecord {
            resource_id: r.get(1)?,
            name: r.get(2)?,
            subscription_id: r.get(3)?,
            resource_group: r.get(4)?,
            kind: r.get(5)?,
            verdict: verdict_of(&r.get::<_, String>(6)?),
            blockers: list(r.get(7)?),
            warnings: list(r.get(8)?),
            unknowns: list(r.get(9)?),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        History::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA user_version = {}",
            HISTORY_SCHEMA_VERSION + 1
        ))
        .unwrap();
        drop(conn);
        let e = History::open(&path).unwrap_err().to_string();
        assert!(
            e.contains("history schema version 2 is newer than this scready understands (1)"),
            "{e}"
        );
    }

    #[test]
    fn migrations_are_applied_once_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/h.sqlite");
        let h = History::open(&path).unwrap();
        assert!(h.runs(10).unwrap().is_empty());
        drop(h);
        let h = History::open(&path).unwrap();
        let v: u32 = h
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, HISTORY_SCHEMA_VERSION);
        assert!(matches!(
            h.pick_pair(None, None),
            Err(HistoryError::NotEnoughRuns { found: 0, .. })
        ));
    }

    #[test]
    fn a_file_that_is_not_a_database_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite");
        std::fs::write(
            &path,
            "this is not sqlite, just some text long enough to matter",
        )
        .unwrap();
        let e = History::open(&path).unwrap_err().to_string();
        assert!(e.contains("not a history database"), "{e}");
    }
}
