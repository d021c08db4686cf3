//! Building the secondary indexes of sealed partitions: the idle-priority
//! indexer thread, and the maintenance thread for partitions that waited
//! too long (docs/store.md, "Indexing runs at idle priority").

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use rusqlite::{params, OptionalExtension};

use crate::error::{Context, Result, StoreError};
use crate::partitions::{load_partitions, PartitionInfo, PartitionState};
use crate::schema::{self, PARTITION_APP_ID, PARTITION_MIGRATIONS};
use crate::shared::{lock, wait_round, Shared};
use crate::sqlite::open_rw;

/// How long a sealed partition may wait for the indexer thread, which runs
/// at idle priority (it only gets CPU that ingest and everything else leave
/// unused), before the maintenance thread builds its indexes at normal
/// priority. A burst shorter than this is taken in at full speed and
/// indexed afterwards; under longer overload, indexing takes its share
/// again. Queries stay correct meanwhile (an unindexed partition is
/// scanned).
pub(crate) const MAX_INDEX_WAIT: Duration = Duration::from_secs(30);

/// When the maintenance thread first saw each sealed partition: which ones
/// have waited too long for the idle indexer.
#[derive(Debug, Default)]
pub(crate) struct IndexWait {
    pub(crate) first_seen: std::collections::HashMap<i64, Instant>,
}

impl IndexWait {
    fn overdue(&mut self, partition: &PartitionInfo) -> bool {
        let first = *self
            .first_seen
            .entry(partition.id)
            .or_insert_with(Instant::now);
        first.elapsed() >= MAX_INDEX_WAIT
    }
}

/// Who builds indexes: the idle-priority indexer thread (every sealed
/// partition, interruptible), the maintenance thread (only those that
/// waited too long), or a caller of `Store::index_sealed` (all, now).
pub(crate) enum IndexBuilder<'a> {
    Idle,
    Overdue(&'a mut IndexWait),
    Now,
}

/// Builds indexes of sealed partitions, oldest first, as `builder` may;
/// returns how many were indexed.
pub(crate) fn index_sealed(shared: &Shared, mut builder: IndexBuilder<'_>) -> Result<u64> {
    let path = &shared.config.path;
    let sealed: Vec<PartitionInfo> = {
        let conn = lock(&shared.cursors);
        load_partitions(&conn, path)?
            .into_iter()
            .filter(|p| p.state == PartitionState::Sealed)
            .collect()
    };
    shared.unindexed.store(sealed.len() as u64, Relaxed);
    if let IndexBuilder::Overdue(wait) = &mut builder {
        wait.first_seen
            .retain(|id, _| sealed.iter().any(|p| p.id == *id));
    }
    let idle = matches!(builder, IndexBuilder::Idle);
    let mut done = 0;
    for p in sealed {
        if *lock(&shared.stop) {
            break;
        }
        if let IndexBuilder::Overdue(wait) = &mut builder {
            if !wait.overdue(&p) {
                continue;
            }
        }
        if !idle {
            // The idle indexer may be starved on this very partition:
            // its build is rolled back and this one goes ahead.
            if let Some((id, build)) = lock(&shared.indexing).as_ref() {
                if *id == p.id {
                    build.interrupt();
                }
            }
            // Closing the sealed writer connections folds their WALs
            // into the files, which the index scans then read.
            lock(&shared.retired).clear();
        }
        match build_indexes(shared, &p, idle) {
            Ok(true) => {
                done += 1;
                let _ = shared
                    .unindexed
                    .fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(1)));
            }
            Ok(false) => {}
            // Interrupted: taken over by another builder, or stopping.
            Err(StoreError::Sqlite { source, .. })
                if idle
                    && source.sqlite_error_code()
                        == Some(rusqlite::ErrorCode::OperationInterrupted) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Builds one sealed partition's indexes and marks it indexed; `false`
/// when another builder got there first. An `interruptible` build can be
/// interrupted through `Shared::indexing`.
fn build_indexes(shared: &Shared, p: &PartitionInfo, interruptible: bool) -> Result<bool> {
    let path = &shared.config.path;
    let state: Option<String> = lock(&shared.cursors)
        .query_row("SELECT state FROM partitions WHERE id = ?1", [p.id], |r| {
            r.get(0)
        })
        .optional()
        .at(path, "read partition state")?;
    if state.as_deref() != Some("sealed") {
        return Ok(false);
    }
    let conn = open_rw(
        &p.path,
        shared.config.synchronous,
        PARTITION_APP_ID,
        PARTITION_MIGRATIONS,
    )?;
    if interruptible {
        *lock(&shared.indexing) = Some((p.id, conn.get_interrupt_handle()));
    }
    let built = (|| {
        // Each index scans the whole table: fold the WAL into the file
        // first, so that the scans do not look every page up in the WAL
        // index. (Not memory-mapped: mapped pages would count in the
        // server's resident size, which must stay bounded under load.)
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .at(&p.path, "checkpoint before indexing")?;
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {} COMMIT;", schema::INDEX_SQL))
            .at(&p.path, "build indexes")?;
        conn.query_row(
            "SELECT (SELECT min(ts) FROM events), (SELECT max(ts) FROM events), \
             (SELECT received_ns FROM events ORDER BY seq DESC LIMIT 1), (SELECT count(*) FROM events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .at(&p.path, "read partition bounds")
    })();
    if interruptible {
        *lock(&shared.indexing) = None;
    }
    // Dropping the connection rolls back an interrupted build.
    drop(conn);
    let (min_ts, max_ts, max_rx, rows): (Option<i64>, Option<i64>, Option<i64>, i64) = built?;
    let changed = lock(&shared.cursors)
        .execute(
            "UPDATE partitions SET state = 'indexed', min_ts = ?1, max_ts = ?2, max_received_ns = ?3, rows = ?4 \
             WHERE id = ?5 AND state = 'sealed'",
            params![min_ts, max_ts, max_rx, rows, p.id],
        )
        .at(path, "mark partition indexed")?;
    Ok(changed == 1)
}

/// The indexer thread: closes sealed partitions' writer connections and
/// builds their indexes, at idle priority (see [`MAX_INDEX_WAIT`]).
pub(crate) fn indexer_loop(shared: &Shared) {
    lower_thread_priority();
    while wait_round(shared, Duration::from_millis(250)) {
        let retired = std::mem::take(&mut *lock(&shared.retired));
        drop(retired);
        let result = index_sealed(shared, IndexBuilder::Idle);
        *lock(&shared.index_error) = result.err().map(|e| e.to_string());
    }
}

/// Puts the calling thread in the idle scheduling class (Linux
/// `SCHED_IDLE`): it runs only when a CPU has nothing else to do. Where
/// that is not available the thread keeps its priority.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        #[allow(unsafe_code)]
        // SAFETY: sched_setscheduler with pid 0 changes only the calling
        // thread; `param` is a valid, initialised struct for the call.
        // Failure is not fatal: the indexer then runs at normal priority.
        let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn partition(id: i64) -> PartitionInfo {
        PartitionInfo {
            id,
            first_seq: 1,
            last_seq: Some(10),
            state: PartitionState::Sealed,
            rows: Some(10),
            min_ts: None,
            max_ts: None,
            max_received_ns: None,
            path: PathBuf::from("p.db"),
        }
    }

    #[test]
    fn sealed_partitions_are_overdue_after_the_longest_wait() {
        let mut wait = IndexWait::default();
        assert!(!wait.overdue(&partition(1)), "just sealed: the indexer's");
        assert!(!wait.overdue(&partition(2)));
        // Seen sealed longer ago than the bound: built at normal priority.
        let long_ago = Instant::now()
            .checked_sub(MAX_INDEX_WAIT + Duration::from_millis(1))
            .unwrap();
        wait.first_seen.insert(1, long_ago);
        assert!(wait.overdue(&partition(1)));
        assert!(!wait.overdue(&partition(2)));
    }
}
