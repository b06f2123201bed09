//! The history database (SQLite): runs, their subscriptions and gaps, per-instance verdicts and
//! the checks behind them (see [`super::schema`] for the layout). The schema is versioned (`PRAGMA user_version`) and migrated forward on open; a
//! database newer than this build understands is refused.

use super::compact::{self, CheckList, Decoder, Encoder};
use super::schema::{Migration, MIGRATIONS, V1_TABLES, V2_TABLES};
use super::{diff, InstanceRecord, RunRecord, RunSnapshot, TrendPoint};
use crate::findings::Verdict;
use crate::inventory::CoverageGap;
use crate::result::{CheckText, RunInfo, ScanResult};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The default database, relative to the working directory.
pub const DEFAULT_HISTORY_FILE: &str = "reports/history.sqlite";

/// The schema version this build writes and understands.
pub const HISTORY_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// SQLite's `application_id` of a scready history (`PRAGMA application_id`, the 32-bit number
/// at offset 68 of the database header that says which application a file belongs to): the
/// ASCII bytes `scRd`. A database with another id, or with id 0 and tables that are not
/// scready's, is refused instead of getting scready's tables added to it.
pub const HISTORY_APPLICATION_ID: i32 = 0x7363_5264;

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

/// `all subscriptions`, or the named ones, and the excluded ones, and the shard of a sharded
/// scan (a merged result is the whole scope again).
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
    if let Some(shard) = run.shard {
        s.push_str(&format!(" shard {shard}"));
    }
    s
}

/// The verdict of its report spelling (schema version 1 stored verdicts as text).
pub(super) fn verdict_of(s: &str) -> Verdict {
    match s {
        "ready" => Verdict::Ready,
        "ready_with_warnings" => Verdict::ReadyWithWarnings,
        "blocked" => Verdict::Blocked,
        _ => Verdict::Unknown,
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
        .filter(|t| !V1_TABLES.contains(t) && !V2_TABLES.contains(t))
        .collect();
    let ours = [V1_TABLES, V2_TABLES]
        .iter()
        .any(|set| set.iter().all(|t| tables.iter().any(|x| x == t)));
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

/// How a prune went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    /// The runs removed, oldest first.
    pub removed: Vec<i64>,
    /// Runs left.
    pub kept: usize,
    /// Instances no remaining run mentions, removed.
    pub instances_removed: usize,
    /// Strings and checks no remaining row mentions, removed.
    pub strings_removed: usize,
    /// The file's size before, in bytes.
    pub bytes_before: u64,
    /// The file's size after, in bytes.
    pub bytes_after: u64,
}

/// One instance's identity: what a run recorded of it besides its verdict and checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Identity<'a> {
    /// Resource id as ARM returned it.
    pub resource_id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Subscription GUID, lower case.
    pub subscription_id: Cow<'a, str>,
    /// Resource group.
    pub resource_group: &'a str,
    /// `vm`, `vmss_instance`, `vmss_flex_vm`.
    pub kind: &'a str,
}

/// A run's instances as the store writes them: from a scan result, or from an older schema.
pub(super) trait InstanceSource {
    /// How many.
    fn len(&self) -> usize;
    /// The identity of instance `i`.
    fn identity(&self, i: usize) -> Identity<'_>;
    /// Its verdict.
    fn verdict(&self, i: usize) -> Verdict;
    /// Its blockers, warnings and undecided checks, in this order.
    fn checks<'s>(&'s self, i: usize, out: &mut Vec<(&'s str, CheckList)>);
}

impl InstanceSource for ScanResult {
    fn len(&self) -> usize {
        self.inventory.instances.len().min(self.verdicts.len())
    }

    fn identity(&self, i: usize) -> Identity<'_> {
        let x = &self.inventory.instances[i];
        let sub = x.subscription_id.as_str();
        Identity {
            resource_id: x.id.as_str(),
            name: &x.name,
            subscription_id: if sub.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(sub.to_ascii_lowercase())
            } else {
                Cow::Borrowed(sub)
            },
            resource_group: &x.resource_group,
            kind: x.kind.as_str(),
        }
    }

    fn verdict(&self, i: usize) -> Verdict {
        self.verdicts[i].verdict
    }

    fn checks<'s>(&'s self, i: usize, out: &mut Vec<(&'s str, CheckList)>) {
        let v = &self.verdicts[i];
        for (list, kind) in [
            (&v.blockers, CheckList::Blocker),
            (&v.warnings, CheckList::Warning),
            (&v.unknowns, CheckList::Unknown),
        ] {
            out.extend(list.iter().map(|c| (c.as_str(), kind)));
        }
    }
}

/// A resource id compared and hashed without regard to ASCII case (as runs pair instances).
#[derive(Clone, Copy, Debug)]
struct NoCase<'a>(&'a str);

impl PartialEq for NoCase<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for NoCase<'_> {}

impl Hash for NoCase<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // In slices, lower-cased by the standard library: a hash per byte would cost more than
        // the rest of recording a run.
        let mut buf = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let part = &mut buf[..chunk.len()];
            part.copy_from_slice(chunk);
            part.make_ascii_lowercase();
            h.write(part);
        }
        h.write_u8(0xff);
    }
}

/// The `strings` table, read and extended through a cache.
#[derive(Default)]
struct Strings {
    ids: HashMap<String, i64>,
}

impl Strings {
    /// The id of `text`, added when new.
    fn id(&mut self, conn: &Connection, text: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.ids.get(text) {
            return Ok(id);
        }
        let found: Option<i64> = conn
            .prepare_cached("SELECT id FROM strings WHERE text = ?1")?
            .query_row([text], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                conn.prepare_cached("INSERT INTO strings (text) VALUES (?1)")?
                    .execute([text])?;
                conn.last_insert_rowid()
            }
        };
        self.ids.insert(text.to_string(), id);
        Ok(id)
    }
}

/// The numbers of the checks in the `checks` table, by check id.
fn check_numbers(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    conn.prepare("SELECT check_id, id FROM checks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// The number of check `id`, added when new.
fn check_number(
    conn: &Connection,
    numbers: &mut HashMap<String, i64>,
    id: &str,
) -> rusqlite::Result<i64> {
    if let Some(&n) = numbers.get(id) {
        return Ok(n);
    }
    conn.prepare_cached("INSERT INTO checks (check_id) VALUES (?1)")?
        .execute([id])?;
    let n = conn.last_insert_rowid();
    numbers.insert(id.to_string(), n);
    Ok(n)
}

/// Writes run `run`'s instances: each instance not yet in `instances` is added once, the run's
/// verdicts and checks go into one `run_instances` blob, and an instance spelled differently
/// from its `instances` row gets a `run_instance_names` row. Instances with the same resource
/// id (case aside) are one instance; the last one listed wins, as it always did. The texts of
/// the checks in `texts` replace the stored ones.
pub(super) fn write_instances(
    conn: &Connection,
    run: i64,
    src: &dyn InstanceSource,
    texts: &BTreeMap<String, CheckText>,
) -> rusqlite::Result<()> {
    let n = src.len();
    let mut by_key: HashMap<NoCase<'_>, usize> = HashMap::with_capacity(n);
    for i in 0..n {
        by_key.insert(NoCase(src.identity(i).resource_id), i);
    }
    let mut kept: Vec<usize> = by_key.values().copied().collect();
    kept.sort_unstable();
    // Subscription, resource group and kind of each instance, interned.
    let mut strings = Strings::default();
    let mut interned = vec![[0i64; 3]; n];
    for &i in &kept {
        let x = src.identity(i);
        interned[i] = [
            strings.id(conn, &x.subscription_id)?,
            strings.id(conn, x.resource_group)?,
            strings.id(conn, x.kind)?,
        ];
    }
    // The instances already known, found in one pass over the table.
    let mut assigned = vec![0i64; n];
    let mut renamed = vec![false; n];
    let mut last_id = 0i64;
    {
        let mut st = conn.prepare(
            "SELECT id, resource_id, name, subscription, resource_group, kind FROM instances",
        )?;
        let mut rows = st.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            last_id = last_id.max(id);
            let Ok(rid) = row.get_ref(1)?.as_str() else {
                continue;
            };
            let Some(&i) = by_key.get(&NoCase(rid)) else {
                continue;
            };
            let x = src.identity(i);
            let same = rid == x.resource_id
                && row.get_ref(2)?.as_str().ok() == Some(x.name)
                && [
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                ] == interned[i];
            assigned[i] = id;
            renamed[i] = !same;
        }
    }
    {
        let mut add = conn.prepare(
            "INSERT INTO instances (id, resource_id, name, subscription, resource_group, kind) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for &i in &kept {
            if assigned[i] == 0 {
                let x = src.identity(i);
                last_id += 1;
                let [s, g, k] = interned[i];
                add.execute(params![last_id, x.resource_id, x.name, s, g, k])?;
                assigned[i] = last_id;
            }
        }
    }
    // Checks: their numbers, and the texts this run knows.
    let mut numbers = check_numbers(conn)?;
    for (id, t) in texts {
        let n = check_number(conn, &mut numbers, id)?;
        conn.prepare_cached(
            "UPDATE checks SET title = ?2, severity = ?3, portal_error = ?4, mitigation = ?5, \
             docs = ?6 WHERE id = ?1",
        )?
        .execute(params![
            n,
            t.title,
            t.severity,
            t.portal_error,
            t.mitigation,
            t.docs
        ])?;
    }
    let mut order: Vec<(i64, usize)> = kept.iter().map(|&i| (assigned[i], i)).collect();
    order.sort_unstable();
    let mut blob = Encoder::default();
    let mut names = Vec::new();
    let mut checks = Vec::new();
    let mut spelled = conn.prepare(
        "INSERT INTO run_instance_names (run_id, instance, resource_id, name, subscription_id, \
         resource_group, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (id, i) in order {
        names.clear();
        src.checks(i, &mut names);
        checks.clear();
        for &(c, list) in &names {
            checks.push((check_number(conn, &mut numbers, c)?, list));
        }
        blob.push(id, src.verdict(i), &checks);
        if renamed[i] {
            let x = src.identity(i);
            spelled.execute(params![
                run,
                id,
                x.resource_id,
                x.name,
                x.subscription_id,
                x.resource_group,
                x.kind
            ])?;
        }
    }
    let count = blob.count() as i64;
    conn.prepare_cached("INSERT INTO run_instances (run_id, instances, data) VALUES (?1, ?2, ?3)")?
        .execute(params![run, count, blob.finish()])?;
    Ok(())
}

impl History {
    /// Opens (creating it and its directory when needed) and migrates the database. A file that
    /// is not a regular file, or a SQLite database of another application, is refused (see
    /// [`HISTORY_APPLICATION_ID`]). Every pending migration runs in one transaction: a
    /// database is at its old version or at this build's, never in between; a database
    /// migrated from version 1 is then compacted (`VACUUM`), which gives the space its
    /// per-finding rows took back to the file system.
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
        let too_new = |found: u32| HistoryError::TooNew {
            path: shown.clone(),
            found,
            supported: HISTORY_SCHEMA_VERSION,
        };
        if version > HISTORY_SCHEMA_VERSION {
            return Err(too_new(version));
        }
        let mut history = History {
            conn,
            path: path.to_path_buf(),
        };
        if version < HISTORY_SCHEMA_VERSION {
            let tables: i64 = history
                .conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| db(&e))?;
            if tables == 0 {
                // Only an empty database takes a new auto_vacuum mode without a VACUUM.
                history
                    .conn
                    .execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")
                    .map_err(|e| db(&e))?;
            }
            let tx = history
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db(&e))?;
            // Another process may have migrated it while this one waited for the lock.
            let version: u32 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| db(&e))?;
            if version > HISTORY_SCHEMA_VERSION {
                return Err(too_new(version));
            }
            for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                match step {
                    Migration::Sql(sql) => tx.execute_batch(sql),
                    Migration::Code(f) => f(&tx),
                }
                .map_err(|e| {
                    db(&format!(
                        "migrating to history schema version {}: {e}",
                        i + 1
                    ))
                })?;
            }
            tx.execute_batch(&format!(
                "PRAGMA user_version = {HISTORY_SCHEMA_VERSION}; \
                 PRAGMA application_id = {HISTORY_APPLICATION_ID};"
            ))
            .map_err(|e| db(&e))?;
            tx.commit().map_err(|e| db(&e))?;
            if version >= 1 && tables > 0 {
                // The old rows' pages are free now: give them back, and switch the file to
                // incremental auto_vacuum so that later prunes can shrink it without a rewrite.
                if let Err(e) = history
                    .conn
                    .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                {
                    tracing::warn!(path = %shown, error = %e, "history migrated but not compacted");
                }
            }
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
        history
            .conn
            .execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| db(&e))?;
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

    /// Records a run: its metadata, subscriptions, gaps, and per instance its verdict and the
    /// checks it fails or leaves undecided (the findings' texts stay in the reports; each
    /// check's texts are kept once); returns its id.
    pub fn record(&mut self, r: &ScanResult) -> Result<i64, HistoryError> {
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| HistoryError::Database {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
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
            let mut strings = Strings::default();
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO run_subscriptions (run_id, subscription, name, state) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(err)?;
            for s in &r.inventory.subscriptions {
                let sub = strings.id(&tx, &s.id.to_ascii_lowercase()).map_err(err)?;
                let name = strings.id(&tx, &s.name).map_err(err)?;
                let state = match &s.state {
                    Some(x) => Some(strings.id(&tx, x).map_err(err)?),
                    None => None,
                };
                st.execute(params![id, sub, name, state]).map_err(err)?;
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
        }
        write_instances(&tx, id, r, &r.checks).map_err(err)?;
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
            .prepare(
                "SELECT s.text, n.text FROM run_subscriptions r \
                 JOIN strings s ON s.id = r.subscription JOIN strings n ON n.id = r.name \
                 WHERE r.run_id = ?1",
            )
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

    /// Run `id`'s blob and its differently spelled instances.
    fn run_data(&self, id: i64) -> rusqlite::Result<(Vec<u8>, HashMap<i64, InstanceRecord>)> {
        let blob: Vec<u8> = self
            .conn
            .query_row(
                "SELECT data FROM run_instances WHERE run_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default();
        let spelled = self
            .conn
            .prepare(
                "SELECT instance, resource_id, name, subscription_id, resource_group, kind \
                 FROM run_instance_names WHERE run_id = ?1",
            )?
            .query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    InstanceRecord {
                        resource_id: r.get(1)?,
                        name: r.get(2)?,
                        subscription_id: r.get(3)?,
                        resource_group: r.get(4)?,
                        kind: r.get(5)?,
                        verdict: Verdict::Unknown,
                        blockers: Vec::new(),
                        warnings: Vec::new(),
                        unknowns: Vec::new(),
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        Ok((blob, spelled))
    }

    /// Walks the instances of `runs` together, in instance order, without holding any run's
    /// records whole: `visit` gets each instance as each run recorded it (`None` where a run
    /// does not have it).
    fn walk(
        &self,
        runs: &[i64],
        visit: &mut dyn FnMut(&[Option<InstanceRecord>]),
    ) -> Result<(), HistoryError> {
        let e = |e: rusqlite::Error| self.err(e);
        let data: Vec<(Vec<u8>, HashMap<i64, InstanceRecord>)> = runs
            .iter()
            .map(|&id| self.run_data(id))
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let checks: HashMap<i64, String> = self
            .conn
            .prepare("SELECT id, check_id FROM checks")
            .map_err(e)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(e)?
            .collect::<Result<_, _>>()
            .map_err(e)?;
        let mut text: HashMap<i64, String> = HashMap::new();
        let mut decoders: Vec<std::iter::Peekable<Decoder<'_>>> = data
            .iter()
            .map(|(blob, _)| Decoder::new(blob).peekable())
            .collect();
        let mut st = self
            .conn
            .prepare(
                "SELECT id, resource_id, name, subscription, resource_group, kind FROM instances \
                 ORDER BY id",
            )
            .map_err(e)?;
        let mut rows = st.query([]).map_err(e)?;
        let damaged = |what: String| self.err(format!("history damaged: {what}"));
        let mut out: Vec<Option<InstanceRecord>> = vec![None; runs.len()];
        loop {
            let mut next: Option<i64> = None;
            for d in &mut decoders {
                match d.peek() {
                    Some(Ok(x)) => next = Some(next.map_or(x.instance, |n| n.min(x.instance))),
                    Some(Err(m)) => return Err(damaged(m.clone())),
                    None => {}
                }
            }
            let Some(id) = next else { break };
            let identity = loop {
                let Some(row) = rows.next().map_err(e)? else {
                    return Err(damaged(format!(
                        "instance {id} is not in the instances table"
                    )));
                };
                let at: i64 = row.get(0).map_err(e)?;
                if at < id {
                    continue;
                }
                if at > id {
                    return Err(damaged(format!(
                        "instance {id} is not in the instances table"
                    )));
                }
                let mut name = |col: usize| -> Result<String, HistoryError> {
                    let sid: i64 = row.get(col).map_err(e)?;
                    if let Some(t) = text.get(&sid) {
                        return Ok(t.clone());
                    }
                    let t: String = self
                        .conn
                        .prepare_cached("SELECT text FROM strings WHERE id = ?1")
                        .map_err(e)?
                        .query_row([sid], |r| r.get(0))
                        .map_err(e)?;
                    text.insert(sid, t.clone());
                    Ok(t)
                };
                break InstanceRecord {
                    subscription_id: name(3)?,
                    resource_group: name(4)?,
                    kind: name(5)?,
                    resource_id: row.get(1).map_err(e)?,
                    name: row.get(2).map_err(e)?,
                    verdict: Verdict::Unknown,
                    blockers: Vec::new(),
                    warnings: Vec::new(),
                    unknowns: Vec::new(),
                };
            };
            for (k, d) in decoders.iter_mut().enumerate() {
                out[k] = None;
                if !matches!(d.peek(), Some(Ok(x)) if x.instance == id) {
                    continue;
                }
                let Some(Ok(entry)) = d.next() else { continue };
                let mut r = match data[k].1.get(&id) {
                    Some(spelled) => spelled.clone(),
                    None => identity.clone(),
                };
                r.verdict = compact::verdict_of_code(entry.verdict);
                for (number, list) in entry.checks {
                    let Some(c) = checks.get(&number) else {
                        return Err(damaged(format!(
                            "check {number} is not in the checks table"
                        )));
                    };
                    match list {
                        CheckList::Blocker => r.blockers.push(c.clone()),
                        CheckList::Warning => r.warnings.push(c.clone()),
                        CheckList::Unknown => r.unknowns.push(c.clone()),
                    }
                }
                out[k] = Some(r);
            }
            visit(&out);
        }
        Ok(())
    }

    /// The diff from run `from` to run `to`: both runs' instances are read together in
    /// instance order and paired, so neither is held in memory whole.
    pub fn diff(&self, from: i64, to: i64) -> Result<diff::RunDiff, HistoryError> {
        let mut differ = diff::Differ::new(&self.snapshot_meta(from)?, &self.snapshot_meta(to)?);
        self.walk(&[from, to], &mut |pair| {
            differ.pair(pair[0].as_ref(), pair[1].as_ref())
        })?;
        Ok(differ.finish())
    }

    /// Run `id` whole: its metadata, subscriptions, gaps and instances (in the order the
    /// database first saw them).
    pub fn snapshot(&self, id: i64) -> Result<RunSnapshot, HistoryError> {
        let mut snapshot = self.snapshot_meta(id)?;
        let mut instances = Vec::new();
        self.walk(&[id], &mut |one| instances.extend(one[0].clone()))?;
        snapshot.instances = instances;
        Ok(snapshot)
    }

    /// Removes runs: all but the `keep` newest, and those that started more than `older_than`
    /// before `now` (a run whose start time cannot be read is kept by age). Instances, strings
    /// and checks that no remaining run mentions go too, and the file shrinks: freed pages are
    /// given back with `PRAGMA incremental_vacuum` (a file created or migrated by this build
    /// uses incremental auto_vacuum), or with `VACUUM` in a file that does not.
    pub fn prune(
        &mut self,
        keep: Option<usize>,
        older_than: Option<std::time::Duration>,
        now: time::OffsetDateTime,
    ) -> Result<PruneOutcome, HistoryError> {
        let bytes = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut outcome = PruneOutcome {
            bytes_before: bytes(&self.path),
            ..Default::default()
        };
        let path = self.path.display().to_string();
        let err = |e: rusqlite::Error| HistoryError::Database {
            path: path.clone(),
            message: e.to_string(),
        };
        let cutoff = older_than.map(|d| now - d);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let runs: Vec<(i64, String)> = tx
            .prepare("SELECT id, started_at FROM runs ORDER BY id DESC")
            .map_err(err)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        for (rank, (id, started)) in runs.iter().enumerate() {
            let surplus = keep.is_some_and(|k| rank >= k);
            let old = cutoff.is_some_and(|c| {
                time::OffsetDateTime::parse(started, &time::format_description::well_known::Rfc3339)
                    .is_ok_and(|t| t < c)
            });
            if surplus || old {
                outcome.removed.push(*id);
            }
        }
        outcome.removed.reverse();
        outcome.kept = runs.len() - outcome.removed.len();
        if outcome.removed.is_empty() {
            drop(tx);
            outcome.bytes_after = outcome.bytes_before;
            return Ok(outcome);
        }
        for id in &outcome.removed {
            for table in [
                "run_instances",
                "run_instance_names",
                "run_subscriptions",
                "run_gaps",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE run_id = ?1"))
                    .map_err(err)?
                    .execute([id])
                    .map_err(err)?;
            }
            tx.execute("DELETE FROM runs WHERE id = ?1", [id])
                .map_err(err)?;
        }
        // What the remaining runs mention.
        let last: i64 = tx
            .query_row("SELECT coalesce(max(id), 0) FROM instances", [], |r| {
                r.get(0)
            })
            .map_err(err)?;
        let mut used = vec![false; usize::try_from(last).unwrap_or(0) + 1];
        let mut used_checks: HashSet<i64> = HashSet::new();
        {
            let mut st = tx
                .prepare("SELECT run_id, data FROM run_instances")
                .map_err(err)?;
            let mut rows = st.query([]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let run: i64 = row.get(0).map_err(err)?;
                let blob = row.get_ref(1).map_err(err)?.as_blob().unwrap_or_default();
                for entry in Decoder::new(blob) {
                    let entry = entry.map_err(|m| HistoryError::Database {
                        path: path.clone(),
                        message: format!("history damaged: run {run}: {m}"),
                    })?;
                    if let Some(u) = usize::try_from(entry.instance)
                        .ok()
                        .and_then(|i| used.get_mut(i))
                    {
                        *u = true;
                    }
                    used_checks.extend(entry.checks.iter().map(|c| c.0));
                }
            }
        }
        let unused: Vec<i64> = tx
            .prepare("SELECT id FROM instances")
            .map_err(err)?
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(err)?
            .filter_map(|r| match r {
                Ok(id) if usize::try_from(id).ok().and_then(|i| used.get(i)) == Some(&true) => None,
                other => Some(other),
            })
            .collect::<Result<_, _>>()
            .map_err(err)?;
        {
            let mut st = tx
                .prepare("DELETE FROM instances WHERE id = ?1")
                .map_err(err)?;
            for id in &unused {
                st.execute([id]).map_err(err)?;
            }
        }
        outcome.instances_removed = unused.len();
        let checks: Vec<i64> = tx
            .prepare("SELECT id FROM checks")
            .map_err(err)?
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?
            .into_iter()
            .filter(|id| !used_checks.contains(id))
            .collect();
        for id in &checks {
            tx.execute("DELETE FROM checks WHERE id = ?1", [id])
                .map_err(err)?;
        }
        let strings = tx
            .execute(
                "DELETE FROM strings WHERE id NOT IN (
                     SELECT subscription FROM instances
                     UNION SELECT resource_group FROM instances
                     UNION SELECT kind FROM instances
                     UNION SELECT subscription FROM run_subscriptions
                     UNION SELECT name FROM run_subscriptions
                     UNION SELECT state FROM run_subscriptions WHERE state IS NOT NULL)",
                [],
            )
            .map_err(err)?;
        outcome.strings_removed = strings + checks.len();
        tx.commit().map_err(err)?;
        let mode: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(err)?;
        if mode == 2 {
            // The pragma frees one page per step: step it to the end.
            let mut st = self
                .conn
                .prepare("PRAGMA incremental_vacuum")
                .map_err(err)?;
            let mut rows = st.query([]).map_err(err)?;
            while rows.next().map_err(err)?.is_some() {}
        } else {
            self.conn
                .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
                .map_err(err)?;
        }
        outcome.bytes_after = bytes(&self.path);
        Ok(outcome)
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
            e.contains("history schema version 3 is newer than this scready understands (2)"),
            "{e}"
        );
        assert!(
            e.starts_with(&path.display().to_string()),
            "names the file: {e}"
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
