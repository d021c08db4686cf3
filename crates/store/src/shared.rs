//! What the store's handle and its background threads share.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

use crate::config::StoreConfig;
use crate::query::Reader;
use crate::writer::Writer;

/// Owned by the `Store` and its two background threads; each part has its
/// own lock, so queries and cursors do not wait for an append.
pub(crate) struct Shared {
    pub(crate) config: StoreConfig,
    pub(crate) store_id: [u8; 16],
    pub(crate) writer: Mutex<Writer>,
    /// A catalog connection apart from the writer's: cursors, the
    /// partition list, indexing and retention records.
    pub(crate) cursors: Mutex<Connection>,
    pub(crate) reader: Mutex<Reader>,
    pub(crate) stop: Mutex<bool>,
    pub(crate) wake: Condvar,
    /// The last error of the background thread (indexing, time-based epoch,
    /// WAL checkpoint, retention), cleared when a round succeeds.
    pub(crate) background_error: Mutex<Option<String>>,
    /// Nanoseconds spent in `append_batch` since opening: the background
    /// thread reads how busy ingest is from it.
    pub(crate) append_busy_ns: AtomicU64,
    /// Writer connections of sealed partitions, their page caches freed,
    /// left for the indexer to close (closing folds the WAL into the file).
    pub(crate) retired: Mutex<Vec<Connection>>,
    /// The partition the indexer thread is building indexes for, and how
    /// to interrupt that build.
    pub(crate) indexing: Mutex<Option<(i64, rusqlite::InterruptHandle)>>,
    /// The last error of the indexer thread, cleared when a round succeeds.
    pub(crate) index_error: Mutex<Option<String>>,
    /// Sealed partitions whose indexes are not built yet (the gauge
    /// `Store::unindexed_partitions` hands out).
    pub(crate) unindexed: Arc<AtomicU64>,
    /// Why retention is waiting instead of dropping a partition (its
    /// archive could not be written or verified); `None` when it is not.
    pub(crate) retention_waiting: Mutex<Option<String>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread while holding the lock leaves consistent
    // data (state is only swapped in after a commit), so poisoning is ignored.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits up to `timeout` for a wake-up; `false` when the store is stopping.
pub(crate) fn wait_round(shared: &Shared, timeout: Duration) -> bool {
    let stop = lock(&shared.stop);
    if *stop {
        return false;
    }
    let (stop, _) = shared
        .wake
        .wait_timeout(stop, timeout)
        .unwrap_or_else(|p| p.into_inner());
    !*stop
}
