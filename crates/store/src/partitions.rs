//! Partitions: the catalog's list of partition files, the open one's
//! writer connection, and making a new partition file.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::config::StoreConfig;
use crate::error::{Context, Inconsistency, Result, StoreError};
use crate::file_mode::prepare_db_file;
use crate::paths::{partition_file, remove_with_suffixes, sync_dir, with_suffix};
use crate::schema::{self, PARTITION_APP_ID, PARTITION_MIGRATIONS};
use crate::sqlite::{configure, meta_set, open_read_only_mapped, open_rw};

/// One partition as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The catalog's id of the partition.
    pub id: i64,
    /// The sequence number of its first event (also its file name).
    pub first_seq: u64,
    /// The sequence number of its last event, once sealed.
    pub last_seq: Option<u64>,
    /// Open, sealed or indexed.
    pub state: PartitionState,
    /// How many events it holds, once sealed.
    pub rows: Option<u64>,
    /// The smallest query time (`ts`) in it, once sealed.
    pub min_ts: Option<i64>,
    /// The largest query time (`ts`) in it, once sealed.
    pub max_ts: Option<i64>,
    /// The latest received time in it, once sealed (retention by age).
    pub max_received_ns: Option<i64>,
    /// The partition's SQLite file.
    pub path: PathBuf,
}

/// Where a partition is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionState {
    /// Being appended to; no secondary index.
    Open,
    /// Complete, waiting for its indexes.
    Sealed,
    /// Complete and indexed.
    Indexed,
}

pub(crate) fn load_partitions(catalog: &Connection, path: &Path) -> Result<Vec<PartitionInfo>> {
    let mut st = catalog
        .prepare_cached(
            "SELECT id, first_seq, last_seq, state, rows, min_ts, max_ts, max_received_ns \
             FROM partitions ORDER BY first_seq",
        )
        .at(path, "read partitions")?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })
        .at(path, "read partitions")?;
    let mut out = Vec::new();
    for row in rows {
        let (id, first, last, state, count, min_ts, max_ts, max_rx) =
            row.at(path, "read partition")?;
        let bad = |reason| StoreError::Inconsistent {
            path: path.to_path_buf(),
            reason,
        };
        let first_seq =
            u64::try_from(first).map_err(|_| bad(Inconsistency::PartitionFirstSeq { id }))?;
        out.push(PartitionInfo {
            id,
            first_seq,
            last_seq: last.and_then(|l| u64::try_from(l).ok()),
            state: match state.as_str() {
                "open" => PartitionState::Open,
                "sealed" => PartitionState::Sealed,
                "indexed" => PartitionState::Indexed,
                other => {
                    return Err(bad(Inconsistency::PartitionState {
                        id,
                        state: other.to_string(),
                    }))
                }
            },
            rows: count.and_then(|c| u64::try_from(c).ok()),
            min_ts,
            max_ts,
            max_received_ns: max_rx,
            path: partition_file(path, first_seq),
        });
    }
    Ok(out)
}

/// The appending connection of a partition. With the background thread,
/// WAL checkpoints (copying the log into the database file) happen there,
/// off the append path.
pub(crate) fn open_partition_writer(path: &Path, config: &StoreConfig) -> Result<Connection> {
    let conn = open_rw(
        path,
        config.synchronous,
        PARTITION_APP_ID,
        PARTITION_MIGRATIONS,
    )?;
    if config.background {
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")
            .at(path, "set checkpointing")?;
    }
    Ok(conn)
}

/// Page size of new partition files (existing ones keep theirs).
pub(crate) const PARTITION_PAGE_SIZE: u32 = 65_536;

/// Creates a partition file completely under a temporary name and renames
/// it into place, so that a partition file either does not exist or has its
/// schema and chain position (a crash cannot leave a half-made one).
pub(crate) fn create_partition_file(
    path: &Path,
    config: &StoreConfig,
    store_id: &[u8; 16],
    first_seq: u64,
    prev_chain: &[u8; 32],
) -> Result<Connection> {
    let tmp = with_suffix(path, ".tmp");
    remove_with_suffixes(
        &tmp,
        &["", "-wal", "-shm", "-journal"],
        "remove leftover temporary partition",
    )?;
    {
        // Large pages: a batch commit writes a tenth as many WAL frames
        // (each with its header, checksum and page-cache work), which is
        // most of the append cost; events are never updated in place.
        // Must be set before the file gets its first page (and WAL mode).
        prepare_db_file(&tmp)?;
        let conn = Connection::open(&tmp).at(&tmp, "create partition")?;
        conn.execute_batch(&format!("PRAGMA page_size={PARTITION_PAGE_SIZE};"))
            .at(&tmp, "set page size")?;
        configure(&conn, &tmp, config.synchronous)?;
        let mut conn = conn;
        schema::migrate(&mut conn, &tmp, PARTITION_APP_ID, PARTITION_MIGRATIONS)?;
        let tx = conn.unchecked_transaction().at(&tmp, "begin")?;
        meta_set(&tx, &tmp, "store_id", store_id)?;
        meta_set(&tx, &tmp, "first_seq", &first_seq.to_be_bytes())?;
        meta_set(&tx, &tmp, "prev_chain", prev_chain)?;
        tx.commit().at(&tmp, "commit partition meta")?;
        // Fold the WAL into the file before the rename.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .at(&tmp, "checkpoint new partition")?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .at(&tmp, "sync new partition")?;
    std::fs::rename(&tmp, path).at(path, "rename new partition into place")?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    open_partition_writer(path, config)
}

/// A partition opened read-only, or `None` for an open partition whose
/// file a crash kept from being created (it holds no event yet).
pub(crate) fn open_partition(part: &PartitionInfo, mmap_bytes: u64) -> Result<Option<Connection>> {
    if part.state == PartitionState::Open && !part.path.exists() {
        return Ok(None);
    }
    let conn = open_read_only_mapped(&part.path, mmap_bytes)?;
    let has_events: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'",
            [],
            |r| r.get(0),
        )
        .at(&part.path, "read schema")?;
    if has_events == 0 {
        return Err(StoreError::Inconsistent {
            path: part.path.clone(),
            reason: Inconsistency::NoEventsTable,
        });
    }
    Ok(Some(conn))
}
