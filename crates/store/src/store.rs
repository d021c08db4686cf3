//! The `Store`: the handle tying the writer, the cursors, a reader and the
//! background threads (maintenance, indexer) together.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::append_event::AppendEvent;
use crate::batch::{Encoded, PreparedBatch};
use crate::chain::Checkpoint;
use crate::config::{RetentionPolicy, StoreConfig};
use crate::cursors;
use crate::error::{Result, StoreError};
use crate::indexer::{index_sealed, indexer_loop, IndexBuilder};
use crate::maintenance::background_loop;
use crate::partitions::{load_partitions, PartitionInfo};
use crate::query::{Page, Query, Reader};
use crate::recovery::open_writer;
use crate::retention::{apply_retention, RetentionReport};
use crate::schema::{CATALOG_APP_ID, CATALOG_MIGRATIONS};
use crate::shared::{lock, Shared};
use crate::sqlite::open_rw;

/// The store. `append_batch` is serialized internally; queries and cursor
/// operations may run from other threads at the same time.
pub struct Store {
    shared: Arc<Shared>,
    background: Option<JoinHandle<()>>,
    indexer: Option<JoinHandle<()>>,
}

impl Store {
    /// Opens (creating on first start) the store at `config.path`.
    pub fn open(config: StoreConfig) -> Result<Store> {
        let (writer, store_id) = open_writer(&config)?;
        let path = config.path.clone();
        let cursors = open_rw(
            &path,
            config.synchronous,
            CATALOG_APP_ID,
            CATALOG_MIGRATIONS,
        )?;
        let mut reader = Reader::open(&path)?;
        reader.set_mmap_bytes(config.reader_mmap_bytes);
        let unindexed = Arc::clone(&writer.unindexed);
        let shared = Arc::new(Shared {
            config,
            store_id,
            writer: Mutex::new(writer),
            cursors: Mutex::new(cursors),
            reader: Mutex::new(reader),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            background_error: Mutex::new(None),
            append_busy_ns: AtomicU64::new(0),
            retired: Mutex::new(Vec::new()),
            indexing: Mutex::new(None),
            index_error: Mutex::new(None),
            unindexed,
            retention_waiting: Mutex::new(None),
        });
        let mut store = Store {
            shared,
            background: None,
            indexer: None,
        };
        if store.shared.config.background {
            let spawn = |name: &str, f: fn(&Shared)| {
                let bg = Arc::clone(&store.shared);
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || f(&bg))
                    .map_err(|e| StoreError::Io {
                        path: path.clone(),
                        op: "start background thread",
                        source: e,
                    })
            };
            store.background = Some(spawn("netaudit-maint", background_loop)?);
            store.indexer = Some(spawn("netaudit-index", indexer_loop)?);
        }
        Ok(store)
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    /// The store's identity (16 random bytes chosen at creation).
    pub fn store_id(&self) -> [u8; 16] {
        self.shared.store_id
    }

    /// Appends a batch in one transaction and returns its sequence numbers.
    /// When this returns `Ok`, the batch is committed (and, with
    /// [`Synchronous::Full`](crate::Synchronous::Full), on disk). Takes
    /// plain [`Event`](netaudit_event::Event)s or events whose parameters stay in their raw bytes
    /// (see [`AppendEvent`]).
    pub fn append_batch<E: AppendEvent>(&self, events: &[E]) -> Result<Vec<u64>> {
        self.append_encoded(&Encoded::of(events))
    }

    /// Like [`Store::append_batch`], with the encoding work already done
    /// (see [`PreparedBatch`]).
    pub fn append_prepared(&self, batch: &PreparedBatch) -> Result<Vec<u64>> {
        self.append_encoded(&batch.encoded)
    }

    fn append_encoded(&self, encoded: &Encoded) -> Result<Vec<u64>> {
        let mut w = lock(&self.shared.writer);
        let started = Instant::now();
        let result = w.append(&self.shared.config, &self.shared.store_id, encoded);
        let busy = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.shared.append_busy_ns.fetch_add(busy, Relaxed);
        let seqs = result?;
        let roll = w.part.rows >= self.shared.config.partition_events;
        drop(w);
        if roll {
            self.shared.wake.notify_all();
        }
        Ok(seqs)
    }

    /// Ends the current epoch now: writes its checkpoint and evolves the key.
    pub fn seal_epoch(&self) -> Result<Checkpoint> {
        let mut w = lock(&self.shared.writer);
        w.close_epoch_now(&self.shared.store_id)
    }

    /// The sequence number of the last stored event (0 when empty).
    pub fn last_seq(&self) -> u64 {
        lock(&self.shared.writer).chain.next_seq - 1
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        lock(&self.shared.writer).chain.epoch
    }

    /// One page of `query`'s results (see [`Reader::query`]).
    pub fn query(&self, query: &Query) -> Result<Page> {
        lock(&self.shared.reader).query(query)
    }

    /// [`Store::query`] with the parameters left in the raw bytes (see
    /// [`Reader::query_params_unparsed`]).
    pub fn query_params_unparsed(&self, query: &Query) -> Result<Page> {
        lock(&self.shared.reader).query_params_unparsed(query)
    }

    /// The summaries of partition `part`'s events after `after_seq` with a
    /// query time at or after `since_ns` (see [`Reader::summaries`]);
    /// returns the sequence number read through.
    pub fn summaries(
        &self,
        part: &PartitionInfo,
        after_seq: u64,
        since_ns: i64,
        f: impl FnMut(&crate::summary::EventSummary<'_>),
    ) -> Result<u64> {
        lock(&self.shared.reader).summaries(part, after_seq, since_ns, f)
    }

    /// The position of a named consumer cursor (0 when it has never advanced).
    pub fn cursor(&self, name: &str) -> Result<u64> {
        let conn = lock(&self.shared.cursors);
        cursors::read(&conn, &self.shared.config.path, name)
    }

    /// Moves cursor `name` from `from` to `to` atomically; fails with
    /// [`StoreError::CursorConflict`] if it is not at `from`.
    pub fn advance_cursor(&self, name: &str, from: u64, to: u64) -> Result<()> {
        let last = self.last_seq();
        let mut conn = lock(&self.shared.cursors);
        cursors::advance(&mut conn, &self.shared.config.path, name, from, to, last)
    }

    /// All cursors and their positions.
    pub fn cursors(&self) -> Result<Vec<(String, u64)>> {
        let conn = lock(&self.shared.cursors);
        cursors::list(&conn, &self.shared.config.path)
    }

    /// Builds the indexes of every sealed partition now (the background
    /// thread does this by itself; tests and benchmarks call it to wait).
    pub fn index_sealed(&self) -> Result<u64> {
        index_sealed(&self.shared, IndexBuilder::Now)
    }

    /// Drops whole sealed partitions as the policy says, at most
    /// `max_partitions` of them in this call (retention works in bounded steps).
    pub fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        max_partitions: u64,
    ) -> Result<RetentionReport> {
        apply_retention(&self.shared, policy, max_partitions)
    }

    /// Why retention is waiting rather than dropping a partition (with
    /// `RetentionPolicy::archive_to`, its archive could not be written or
    /// verified); `None` when it is not waiting. Retried every round.
    pub fn retention_waiting(&self) -> Option<String> {
        lock(&self.shared.retention_waiting).clone()
    }

    /// The retention log: every drop, oldest first.
    pub fn retention_log(&self) -> Result<Vec<crate::query::RetentionRecord>> {
        lock(&self.shared.reader).retention_log()
    }

    /// How many sealed partitions wait for their indexes, as last seen by
    /// the background threads (a gauge for metrics: it grows during a burst,
    /// while the idle-priority indexer waits, and falls back to 0 after).
    pub fn unindexed_partitions(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.unindexed)
    }

    /// The last error of the background work, if its latest round failed
    /// (it retries every half second); for health checks.
    pub fn background_error(&self) -> Option<String> {
        lock(&self.shared.background_error)
            .clone()
            .or_else(|| lock(&self.shared.index_error).clone())
    }

    /// Stops the background thread and seals the current epoch if it holds
    /// events, so that a clean shutdown leaves no unsealed tail.
    pub fn close(mut self) -> Result<()> {
        self.stop_background();
        self.seal_tail().map(|_| ())
    }

    /// Seals the current epoch (checkpoint, signature, key evolution) if it
    /// holds events; `None` when there was nothing to seal. For a shared
    /// handle that cannot be [closed](Store::close): call it after the last
    /// append, as the last step of a clean shutdown.
    pub fn seal_tail(&self) -> Result<Option<Checkpoint>> {
        let mut w = lock(&self.shared.writer);
        if w.chain.epoch_events == 0 {
            return Ok(None);
        }
        w.close_epoch_now(&self.shared.store_id).map(Some)
    }

    fn stop_background(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        // A build under way is rolled back; the next start does it again.
        if let Some((_, build)) = lock(&self.shared.indexing).as_ref() {
            build.interrupt();
        }
        for handle in [self.background.take(), self.indexer.take()]
            .into_iter()
            .flatten()
        {
            let _ = handle.join();
        }
        lock(&self.shared.retired).clear();
    }

    /// The partitions, oldest first.
    pub fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        let conn = lock(&self.shared.cursors);
        load_partitions(&conn, &self.shared.config.path)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop_background();
    }
}
