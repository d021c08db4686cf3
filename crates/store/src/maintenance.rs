//! The maintenance thread: time-based epochs, partition rolls, WAL
//! checkpoints of the open partition, overdue indexes and retention.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crate::clock::now_ns;
use crate::error::Result;
use crate::indexer::{index_sealed, IndexBuilder, IndexWait};
use crate::retention::apply_retention;
use crate::shared::{lock, wait_round, Shared};
use crate::sqlite::checkpoint_wal;

/// While appends keep the writer busier than this share of the time, the
/// background thread defers the open partition's WAL checkpoint, so that
/// the CPU goes to ingest during a burst.
pub(crate) const BUSY_WRITER_SHARE: f64 = 0.2;

/// After an archive could not be written (folder full or not writable),
/// the background thread tries again this much later, not every round.
pub(crate) const ARCHIVE_RETRY: Duration = Duration::from_secs(10);

pub(crate) fn background_loop(shared: &Shared) {
    let mut last = (Instant::now(), shared.append_busy_ns.load(Relaxed));
    let mut wait = IndexWait::default();
    let mut retention_retry_at: Option<Instant> = None;
    while wait_round(shared, Duration::from_millis(500)) {
        // Errors here are retried on the next round and kept for
        // `background_error`; the writer reports its own errors to callers.
        let now = (Instant::now(), shared.append_busy_ns.load(Relaxed));
        let wall = now.0.duration_since(last.0).as_nanos() as f64;
        let busy = now.1.saturating_sub(last.1) as f64;
        last = now;
        let ingest_busy = wall > 0.0 && busy / wall > BUSY_WRITER_SHARE;
        let result = background_round(shared, ingest_busy, &mut wait, &mut retention_retry_at);
        *lock(&shared.background_error) = result.err().map(|e| e.to_string());
    }
}

fn background_round(
    shared: &Shared,
    ingest_busy: bool,
    wait: &mut IndexWait,
    retention_retry_at: &mut Option<Instant>,
) -> Result<()> {
    let (open_path, retired) = {
        let mut w = lock(&shared.writer);
        let interval = i64::try_from(shared.config.epoch_interval.as_nanos()).unwrap_or(i64::MAX);
        if now_ns().saturating_sub(w.chain.epoch_started_ns) >= interval {
            w.close_epoch_now(&shared.store_id)?;
        }
        if w.part.rows >= shared.config.partition_events {
            w.roll(&shared.store_id, &shared.config)?;
        }
        (w.part.path.clone(), std::mem::take(&mut w.retired))
    };
    if !retired.is_empty() {
        // Their page caches go now (memory stays bounded however long the
        // indexer waits); closing them, which checkpoints, is left to it.
        for conn in &retired {
            let _ = conn.execute_batch("PRAGMA shrink_memory;");
        }
        lock(&shared.retired).extend(retired);
        shared.wake.notify_all();
    }
    // The open partition's WAL is bounded by the partition size, so its
    // checkpoint can wait for a quieter moment.
    if !ingest_busy {
        checkpoint_wal(&open_path)?;
    }
    index_sealed(shared, IndexBuilder::Overdue(wait))?;
    if retention_retry_at.is_none_or(|at| Instant::now() >= at) {
        let report = apply_retention(shared, &shared.config.retention, 1)?;
        *retention_retry_at = report.waiting.map(|_| Instant::now() + ARCHIVE_RETRY);
    }
    Ok(())
}
