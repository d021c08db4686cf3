//! Opening the store's SQLite files (pragmas, WAL, migrations; read-only
//! for readers), their WAL checkpoints and their `meta` tables.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::config::Synchronous;
use crate::error::{at_first_read, Context, Inconsistency, Result, StoreError};
use crate::file_mode::prepare_db_file;
use crate::schema;

pub(crate) fn configure(conn: &Connection, path: &Path, sync: Synchronous) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))
        .at(path, "set busy timeout")?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| at_first_read(path, "enable WAL", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Inconsistent {
            path: path.to_path_buf(),
            reason: Inconsistency::NoWal { mode },
        });
    }
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
    ))
    .at(path, "set pragmas")
}

/// Opens a catalog or partition file for writing, its schema brought up to date.
pub(crate) fn open_rw(
    path: &Path,
    sync: Synchronous,
    app_id: i64,
    migrations: &[&str],
) -> Result<Connection> {
    prepare_db_file(path)?;
    let mut conn = Connection::open(path).at(path, "open database")?;
    configure(&conn, path, sync)?;
    schema::migrate(&mut conn, path, app_id, migrations)?;
    Ok(conn)
}

/// Opens an existing database file read-only.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection> {
    open_read_only_mapped(path, DEFAULT_READER_MMAP_BYTES)
}

/// How much of a file a read-only connection maps by default (1 GiB: the
/// whole of any partition); the command-line readers (`query`, `verify`)
/// keep it. `serve`'s shared reader takes `StoreConfig::reader_mmap_bytes`.
pub(crate) const DEFAULT_READER_MMAP_BYTES: u64 = 1 << 30;

/// [`open_read_only`] mapping at most `mmap_bytes` of the file (0: read
/// every page through read(2) into the connection's page cache).
pub(crate) fn open_read_only_mapped(path: &Path, mmap_bytes: u64) -> Result<Connection> {
    if !path.exists() {
        return Err(StoreError::Io {
            path: path.to_path_buf(),
            op: "open database",
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .at(path, "open database read-only")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .at(path, "set busy timeout")?;
    // Scans of the unindexed open partition read every page: mapping the
    // file spares copying each page through read(2), but every mapped page
    // a query touched stays in the process's RSS while the connection is
    // open (the reader keeps one per partition); the page cache is bounded.
    conn.execute_batch(&format!(
        "PRAGMA mmap_size={mmap_bytes}; PRAGMA cache_size=-4096;"
    ))
    .map_err(|e| at_first_read(path, "set read pragmas", e))?;
    Ok(conn)
}

/// Copies a partition's WAL into its database file (the open one's, from
/// the maintenance thread).
pub(crate) fn checkpoint_wal(path: &Path) -> Result<()> {
    // Never creates the file: a missing partition is verify's to report.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .at(path, "open for WAL checkpoint")?;
    conn.busy_timeout(Duration::from_secs(1))
        .at(path, "set busy timeout")?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .at(path, "WAL checkpoint")
}

/// Whether `err` is SQLite's or the file system's "no space left"
/// (`SQLITE_FULL`, `ENOSPC`, `EDQUOT`).
pub(crate) fn is_disk_full(err: &StoreError) -> bool {
    match err {
        StoreError::Sqlite { source, .. } => matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull)
        ),
        StoreError::Io { source, .. } => {
            matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        }
        _ => false,
    }
}

/// After an append failed for lack of space (its transaction rolled back):
/// copy the WAL into the database file and truncate it to zero bytes
/// (`wal_checkpoint(TRUNCATE)`), so that the WAL gives its space back and a
/// retry starts from an empty WAL instead of growing it. A reader in the
/// middle of a query may keep it from completing: it waits at most a
/// second. Whether it completed is returned; one that did not is simply
/// tried again at the next failure (the append's own error is what the
/// caller reports).
pub(crate) fn truncate_wal_after_full(conn: &Connection) -> bool {
    let _ = conn.busy_timeout(Duration::from_secs(1));
    let result: rusqlite::Result<i64> =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
    let _ = conn.busy_timeout(Duration::from_secs(10));
    matches!(result, Ok(0))
}

/// A value of the file's `meta` table.
pub(crate) fn meta_get(conn: &Connection, path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .at(path, "read meta")
}

pub(crate) fn meta_set(conn: &Connection, path: &Path, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta(name, value) VALUES (?1, ?2)",
        params![name, value],
    )
    .at(path, "write meta")?;
    Ok(())
}
