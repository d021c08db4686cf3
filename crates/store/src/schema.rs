//! Numbered migrations for the catalog and partition databases, applied in
//! one transaction keyed on `PRAGMA user_version`; `application_id` marks
//! the files as netaudit's so a foreign SQLite file is refused.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{at_first_read, Context, ForeignReason, Result, StoreError};

/// 'NAUC': netaudit catalog.
pub(crate) const CATALOG_APP_ID: i64 = 0x4E41_5543;
/// 'NAUP': netaudit partition.
pub(crate) const PARTITION_APP_ID: i64 = 0x4E41_5550;

pub(crate) const CATALOG_MIGRATIONS: &[&str] = &[
    // 1: the catalog.
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE partitions(
        id INTEGER PRIMARY KEY,
        first_seq INTEGER NOT NULL UNIQUE,
        last_seq INTEGER,
        state TEXT NOT NULL CHECK (state IN ('open', 'sealed', 'indexed')),
        rows INTEGER,
        min_ts INTEGER,
        max_ts INTEGER,
        max_received_ns INTEGER);
     CREATE TABLE checkpoints(
        epoch INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        chain BLOB NOT NULL,
        time_ns INTEGER NOT NULL,
        mac BLOB NOT NULL,
        signature BLOB NOT NULL);
     CREATE TABLE cursors(
        name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        updated_ns INTEGER NOT NULL);
     CREATE TABLE retention(
        id INTEGER PRIMARY KEY,
        time_ns INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        anchor_epoch INTEGER NOT NULL,
        reason TEXT NOT NULL);",
];

pub(crate) const PARTITION_MIGRATIONS: &[&str] = &[
    // 1: events with no secondary index (indexes come when the partition is
    // sealed, see INDEX_SQL), the checkpoints sealed in this partition, and
    // where the partition starts in the chain.
    "CREATE TABLE meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
     CREATE TABLE events(
        seq INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        received_ns INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        time_ns INTEGER,
        severity INTEGER,
        facility INTEGER,
        code TEXT,
        user TEXT,
        host TEXT,
        device TEXT,
        app TEXT,
        pid TEXT,
        client_addr TEXT,
        operation TEXT,
        params TEXT,
        message TEXT,
        parse_error TEXT,
        raw BLOB NOT NULL,
        chain BLOB NOT NULL);
     CREATE TABLE checkpoints(
        epoch INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        chain BLOB NOT NULL,
        time_ns INTEGER NOT NULL,
        mac BLOB NOT NULL,
        signature BLOB NOT NULL);",
];

/// The secondary indexes a sealed partition gets, built in bulk.
///
/// `user` and `device` are absent from most events (flow and system
/// messages): their indexes are partial, so that the build sorts and
/// writes only the rows that have them. Queries filter with `column = ?`,
/// which implies `IS NOT NULL`, so SQLite uses the partial index. Partitions
/// indexed before have full `events_user` / `events_device` indexes, which
/// serve the same queries.
pub(crate) const INDEX_SQL: &str = "
    CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
    CREATE INDEX IF NOT EXISTS events_code ON events(code, ts);
    CREATE INDEX IF NOT EXISTS events_user_set ON events(user, ts) WHERE user IS NOT NULL;
    CREATE INDEX IF NOT EXISTS events_host ON events(host, ts);
    CREATE INDEX IF NOT EXISTS events_device_set ON events(device, ts) WHERE device IS NOT NULL;";

fn pragma_i64(conn: &Connection, path: &Path, name: &'static str) -> Result<i64> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .map_err(|e| at_first_read(path, name, e))
}

/// Checks the file is ours (or empty) and brings its schema up to date.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    app_id: i64,
    migrations: &[&str],
) -> Result<()> {
    let found_id = pragma_i64(conn, path, "application_id")?;
    let version = pragma_i64(conn, path, "user_version")?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| at_first_read(path, "read schema", e))?;
    if found_id != app_id && (found_id != 0 || tables != 0) {
        let reason = if found_id == CATALOG_APP_ID || found_id == PARTITION_APP_ID {
            ForeignReason::OtherKind
        } else {
            ForeignReason::ApplicationId {
                found: found_id,
                objects: tables,
            }
        };
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            reason,
        });
    }
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if version > supported {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported,
        });
    }
    if version == supported {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .at(path, "begin migration")?;
    for (number, sql) in migrations.iter().enumerate() {
        if i64::try_from(number).unwrap_or(i64::MAX) >= version {
            tx.execute_batch(sql).at(path, "apply migration")?;
        }
    }
    tx.execute_batch(&format!(
        "PRAGMA application_id = {app_id}; PRAGMA user_version = {supported};"
    ))
    .at(path, "set schema version")?;
    tx.commit().at(path, "commit migration")
}
