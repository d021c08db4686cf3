//! Batcher and store writer: chunks of events from the listeners become
//! batches (size or time, whichever first), and one thread that owns the
//! store appends them.
//!
//! Between the batcher and the writer, a preparing thread encodes each
//! batch (canonical encodings, parameter text), hands the encodings over
//! and frees the events while the writer inserts them: the single writer
//! only chains and inserts (binding every column from the encoding), since
//! its speed bounds ingest. Each channel holds one batch, so the next
//! batch fills and is prepared while the previous one commits; when the
//! store falls behind, the batcher waits, the listener channel fills up,
//! and TCP/TLS readers stop reading. An event counts as stored only once
//! its batch has committed. Each batch keeps the origins of its events
//! (`origin.rs`) for the report of a shutdown that gives up on a failing
//! store (`store_wait.rs`).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netaudit_store::PreparedBatch;
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::pipeline::origin::{Chunk, OriginRuns, API_ORIGIN};
use crate::pipeline::sink::EventSink;
use crate::pipeline::store_wait::StoreWait;

/// One batch on its way to the writer thread.
struct Batch {
    events: Vec<RawBackedEvent>,
    /// Where they came from, in order.
    origins: OriginRuns,
    /// When its first event reached the batcher.
    started: Instant,
    /// Told the last sequence number once the batch has committed (API
    /// submissions answer only then).
    ack: Option<tokio::sync::oneshot::Sender<u64>>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub max_events: usize,
    pub max_delay: Duration,
}

/// Buffers of batches done with: the batcher's event vectors (emptied by
/// the preparing thread once it has encoded them) and the encoding buffers
/// (handed back by the writer after the commit) are reused rather than
/// asked anew from the system for every batch (which made the allocator
/// return and re-fault megabytes each time).
#[derive(Default)]
pub(crate) struct BatchPool {
    events: std::sync::Mutex<Vec<Vec<RawBackedEvent>>>,
    prepared: std::sync::Mutex<Vec<PreparedBatch>>,
}

/// Buffers of each kind the pool keeps, at most.
const POOL_KEEPS: usize = 2;

impl BatchPool {
    fn take_events(&self, capacity: usize) -> Vec<RawBackedEvent> {
        let mut events = lock(&self.events).pop().unwrap_or_default();
        events.reserve(capacity);
        events
    }

    fn take_prepared(&self) -> PreparedBatch {
        lock(&self.prepared).pop().unwrap_or_default()
    }

    /// Frees the events (here: on the thread that just encoded them, while
    /// they are in its cache) and keeps the vector.
    fn give_events(&self, mut events: Vec<RawBackedEvent>) {
        events.clear();
        let mut pool = lock(&self.events);
        if pool.len() < POOL_KEEPS {
            pool.push(events);
        }
    }

    /// Keeps a committed batch's encoding buffers.
    fn give_prepared(&self, batch: PreparedBatch) {
        let mut pool = lock(&self.prepared);
        if pool.len() < POOL_KEEPS {
            pool.push(batch);
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The pools hold plain buffers: a panic elsewhere leaves them usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pause between two attempts at a failing append.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How long the writer waits for a batch before giving the sink its idle
/// turn (`EventSink::idle`: a PostgreSQL node ends an epoch by time).
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Events a batch has room for when it starts (it grows beyond if the
/// configured batch size is larger).
const BATCH_PREALLOCATION: usize = 16_384;

/// Collects chunks from `chunks` into batches until every sender is gone,
/// then hands over the open batch and returns.
pub(crate) async fn run_batcher(
    mut chunks: mpsc::Receiver<Chunk>,
    writer: mpsc::Sender<BatchHandle>,
    limits: BatchLimits,
    pool: Arc<BatchPool>,
) {
    let mut carry: Vec<RawBackedEvent> = Vec::new();
    let mut carry_origins = OriginRuns::default();
    let mut closed = false;
    while !closed || !carry.is_empty() {
        // Room for a whole batch from the start: growing it by doubling
        // would move every event several times.
        let mut batch = pool.take_events(limits.max_events.min(BATCH_PREALLOCATION));
        let mut origins = OriginRuns::default();
        if carry.is_empty() {
            match chunks.recv().await {
                Some(chunk) => take(&mut batch, &mut origins, chunk),
                None => break,
            }
        } else {
            batch.append(&mut carry);
            origins.append(&mut carry_origins);
        }
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + limits.max_delay;
        while !closed && batch.len() < limits.max_events {
            match tokio::time::timeout_at(deadline, chunks.recv()).await {
                Ok(Some(chunk)) => take(&mut batch, &mut origins, chunk),
                Ok(None) => closed = true,
                Err(_) => break,
            }
        }
        if batch.len() > limits.max_events {
            carry = batch.split_off(limits.max_events);
            carry_origins = origins.split_off(limits.max_events);
        }
        if batch.is_empty() {
            continue;
        }
        let handle = BatchHandle(Batch {
            events: batch,
            origins,
            started,
            ack: None,
        });
        if writer.send(handle).await.is_err() {
            tracing::error!("store writer has stopped; batcher exits");
            return;
        }
    }
}

/// Adds a chunk's events, and their origin, to the batch being gathered.
fn take(batch: &mut Vec<RawBackedEvent>, origins: &mut OriginRuns, mut chunk: Chunk) {
    origins.push(chunk.origin, chunk.events.len());
    batch.append(&mut chunk.events);
}

/// A batch, opaque outside this module.
pub(crate) struct BatchHandle(Batch);

impl BatchHandle {
    /// A batch sent straight to the writer (API submissions): the receiver
    /// gets the sequence number of its last event once it has committed.
    /// Its events are numbered consecutively; their origin is the API.
    pub(crate) fn acknowledged(
        events: Vec<RawBackedEvent>,
    ) -> (BatchHandle, tokio::sync::oneshot::Receiver<u64>) {
        BatchHandle::acknowledged_from(API_ORIGIN, events)
    }

    /// [`BatchHandle::acknowledged`] for events of another `origin`
    /// (netaudit's policy engine).
    pub(crate) fn acknowledged_from(
        origin: &str,
        events: Vec<RawBackedEvent>,
    ) -> (BatchHandle, tokio::sync::oneshot::Receiver<u64>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = BatchHandle(Batch {
            origins: OriginRuns::of(Arc::from(origin), events.len()),
            events,
            started: Instant::now(),
            ack: Some(tx),
        });
        (handle, rx)
    }
}

/// A prepared batch on its way from the preparing thread to the writer.
struct Prepared {
    batch: PreparedBatch,
    origins: OriginRuns,
    started: Instant,
    ack: Option<tokio::sync::oneshot::Sender<u64>>,
}

/// Starts the thread that owns `sink` and commits every batch it is given
/// (with its preparing thread, see the module documentation).
///
/// A failed append is retried every second (the batch is kept, back-pressure
/// builds up) until `wait` says to give up (a shutdown's deadline has
/// passed): then the batch is dropped and counted there, by origin, and its
/// submitter (the API) is told nothing. Once `batches` is closed and the
/// last batch is committed or given up on, the thread returns the sink.
pub(crate) fn spawn_writer<S: EventSink>(
    mut sink: S,
    mut batches: mpsc::Receiver<BatchHandle>,
    metrics: Arc<Metrics>,
    pool: Arc<BatchPool>,
    wait: Arc<StoreWait>,
) -> std::io::Result<std::thread::JoinHandle<S>> {
    let prep_pool = pool.clone();
    let (prepared_tx, prepared_rx) = std::sync::mpsc::sync_channel::<Prepared>(0);
    std::thread::Builder::new()
        .name("netaudit-prep".into())
        .spawn(move || {
            while let Some(BatchHandle(batch)) = batches.blocking_recv() {
                let prepared = Prepared {
                    batch: PreparedBatch::new_in(&batch.events, prep_pool.take_prepared()),
                    origins: batch.origins,
                    started: batch.started,
                    ack: batch.ack,
                };
                if prepared_tx.send(prepared).is_err() {
                    return;
                }
                // The writer needs only the encodings: the events are freed
                // here, while it inserts them.
                prep_pool.give_events(batch.events);
            }
        })?;
    std::thread::Builder::new()
        .name("netaudit-store".into())
        .spawn(move || {
            loop {
                let mut prepared = match prepared_rx.recv_timeout(IDLE_TICK) {
                    Ok(prepared) => prepared,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        sink.idle();
                        continue;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let count = prepared.batch.len() as u64;
                let mut attempt: u32 = 0;
                loop {
                    let commit_started = Instant::now();
                    match sink.append(&prepared.batch) {
                        Ok(last_seq) => {
                            let now = Instant::now();
                            metrics.observe_commit(now - commit_started, now - prepared.started);
                            metrics.stored.fetch_add(count, Relaxed);
                            metrics.batches.fetch_add(1, Relaxed);
                            metrics.committed.publish(last_seq);
                            metrics.store_healthy.store(true, Relaxed);
                            metrics
                                .pending
                                .fetch_sub(count.min(metrics.pending.load(Relaxed)), Relaxed);
                            tracing::debug!(events = count, last_seq, "batch committed");
                            if let Some(ack) = prepared.ack.take() {
                                // The submitter may have gone; the batch is stored anyway.
                                let _ = ack.send(last_seq);
                            }
                            break;
                        }
                        Err(err) => {
                            attempt += 1;
                            metrics.store_errors.fetch_add(1, Relaxed);
                            metrics.store_healthy.store(false, Relaxed);
                            let Some(pause) = wait.retry_after(RETRY_AFTER) else {
                                tracing::error!(
                                    events = count,
                                    attempt,
                                    error = %err,
                                    "store append failed and the shutdown's store wait (pipeline.shutdown_store_wait_secs) is over; these events are not stored"
                                );
                                wait.record_lost(&prepared.origins);
                                metrics
                                    .pending
                                    .fetch_sub(count.min(metrics.pending.load(Relaxed)), Relaxed);
                                // The submitter's acknowledgement is dropped: it
                                // hears that the batch was not stored.
                                prepared.ack = None;
                                break;
                            };
                            tracing::error!(
                                events = count,
                                attempt,
                                error = %err,
                                "store append failed; retrying in {} ms",
                                pause.as_millis()
                            );
                            std::thread::sleep(pause);
                        }
                    }
                }
                pool.give_prepared(prepared.batch);
            }
            sink
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::sink::AppendError;
    use netaudit_event::Event;

    /// A sink that keeps everything in memory and numbers events from 1.
    struct Collect {
        committed: Vec<Vec<Event>>,
        fail_first: usize,
    }

    impl EventSink for Collect {
        fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError> {
            if self.fail_first > 0 {
                self.fail_first -= 1;
                return Err(AppendError::Store {
                    events: batch.len(),
                    source: netaudit_store::StoreError::Io {
                        path: "test".into(),
                        op: "append",
                        source: std::io::Error::other("disk full"),
                    },
                });
            }
            self.committed
                .push(batch.decode_events().expect("test batches decode"));
            Ok(self.last_seq())
        }

        fn last_seq(&self) -> u64 {
            self.committed.iter().map(Vec::len).sum::<usize>() as u64
        }
    }

    fn event(n: i64) -> RawBackedEvent {
        Event {
            received_ns: n,
            ..Event::default()
        }
        .into()
    }

    fn chunk(origin: &str, events: Vec<RawBackedEvent>) -> Chunk {
        Chunk {
            origin: Arc::from(origin),
            events,
        }
    }

    fn chunk_of(events: Vec<RawBackedEvent>) -> Chunk {
        chunk("listener t", events)
    }

    async fn run(
        chunks: Vec<Vec<RawBackedEvent>>,
        limits: BatchLimits,
        fail_first: usize,
    ) -> (Collect, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let (tx, rx) = mpsc::channel(4);
        let (wtx, wrx) = mpsc::channel(1);
        let writer = spawn_writer(
            Collect {
                committed: Vec::new(),
                fail_first,
            },
            wrx,
            metrics.clone(),
            Arc::default(),
            Arc::default(),
        )
        .unwrap();
        let batcher = tokio::spawn(run_batcher(rx, wtx, limits, Arc::default()));
        for chunk in chunks {
            metrics.pending.fetch_add(chunk.len() as u64, Relaxed);
            tx.send(chunk_of(chunk)).await.unwrap();
        }
        drop(tx);
        batcher.await.unwrap();
        let sink = tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        (sink, metrics)
    }

    #[test]
    fn the_pool_hands_back_emptied_buffers_and_keeps_few() {
        let pool = BatchPool::default();
        let events: Vec<RawBackedEvent> = (0..100).map(event).collect();
        let batch = PreparedBatch::new(&events);
        pool.give_events(events);
        pool.give_prepared(batch);
        let reused = pool.take_events(10);
        assert!(reused.is_empty());
        assert!(reused.capacity() >= 100, "the event vector kept its room");
        let prepared = pool.take_prepared();
        assert_eq!(prepared.len(), 100);
        // Preparing in reused buffers gives the same batch as fresh ones.
        let again = PreparedBatch::new_in(&[event(0), event(1), event(2)], prepared);
        assert_eq!(
            again.decode_events().unwrap(),
            [event(0).event, event(1).event, event(2).event]
        );
        for _ in 0..5 {
            pool.give_events(vec![event(1)]);
            pool.give_prepared(PreparedBatch::new(&[event(1)]));
        }
        assert_eq!(lock(&pool.events).len(), POOL_KEEPS);
        assert_eq!(lock(&pool.prepared).len(), POOL_KEEPS);
    }

    #[tokio::test]
    async fn batches_by_size_and_keeps_order() {
        let chunks: Vec<Vec<RawBackedEvent>> = (0..10)
            .map(|c| (0..7).map(|i| event(c * 7 + i)).collect())
            .collect();
        let limits = BatchLimits {
            max_events: 20,
            max_delay: Duration::from_secs(60),
        };
        let (sink, metrics) = run(chunks, limits, 0).await;
        let sizes: Vec<usize> = sink.committed.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![20, 20, 20, 10]);
        let all: Vec<i64> = sink
            .committed
            .concat()
            .iter()
            .map(|e| e.received_ns)
            .collect();
        assert_eq!(all, (0..70).collect::<Vec<_>>());
        assert_eq!(metrics.stored.load(Relaxed), 70);
        assert_eq!(metrics.committed.last_seq(), 70);
        assert_eq!(metrics.pending.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn commits_an_open_batch_after_the_delay() {
        let metrics = Arc::new(Metrics::new());
        let (tx, rx) = mpsc::channel(4);
        let (wtx, wrx) = mpsc::channel(1);
        let writer = spawn_writer(
            Collect {
                committed: Vec::new(),
                fail_first: 0,
            },
            wrx,
            metrics.clone(),
            Arc::default(),
            Arc::default(),
        )
        .unwrap();
        let limits = BatchLimits {
            max_events: 1000,
            max_delay: Duration::from_millis(20),
        };
        let batcher = tokio::spawn(run_batcher(rx, wtx, limits, Arc::default()));
        tx.send(chunk("listener t", vec![event(1)])).await.unwrap();
        // Bounded wait: the batch must commit although the channel stays open.
        let mut waited = 0;
        while metrics.stored.load(Relaxed) < 1 && waited < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(metrics.stored.load(Relaxed), 1);
        drop(tx);
        batcher.await.unwrap();
        let sink = tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        assert_eq!(sink.committed.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_append_is_retried_with_the_same_batch() {
        let limits = BatchLimits {
            max_events: 10,
            max_delay: Duration::from_millis(1),
        };
        let (sink, metrics) = run(vec![vec![event(1), event(2)]], limits, 1).await;
        assert_eq!(sink.committed.concat().len(), 2);
        assert_eq!(metrics.store_errors.load(Relaxed), 1);
        assert_eq!(metrics.stored.load(Relaxed), 2);
    }

    #[tokio::test]
    async fn after_the_shutdown_deadline_a_failing_store_is_given_up_on_by_origin() {
        let metrics = Arc::new(Metrics::new());
        let wait = Arc::new(StoreWait::default());
        let (tx, rx) = mpsc::channel(4);
        let (wtx, wrx) = mpsc::channel(1);
        let writer = spawn_writer(
            Collect {
                committed: Vec::new(),
                fail_first: usize::MAX,
            },
            wrx,
            metrics.clone(),
            Arc::default(),
            wait.clone(),
        )
        .unwrap();
        // Batches of 4: the carry splits the second chunk across batches.
        let limits = BatchLimits {
            max_events: 4,
            max_delay: Duration::from_millis(1),
        };
        let batcher = tokio::spawn(run_batcher(rx, wtx.clone(), limits, Arc::default()));
        tx.send(chunk("listener a", (0..3).map(event).collect()))
            .await
            .unwrap();
        tx.send(chunk("listener b", (0..6).map(event).collect()))
            .await
            .unwrap();
        let (api_batch, api_ack) = BatchHandle::acknowledged(vec![event(1), event(2)]);
        // The writer's channel is full while the store fails: sent from a task.
        let api_send = tokio::spawn(async move { wtx.send(api_batch).await.is_ok() });
        // Still running: the failing batch is retried, nothing is given up.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(wait.lost().is_empty());
        assert!(metrics.store_errors.load(Relaxed) >= 1);
        wait.begin(Duration::ZERO);
        drop(tx);
        batcher.await.unwrap();
        assert!(api_send.await.unwrap());
        let sink = tokio::task::spawn_blocking(move || writer.join().unwrap())
            .await
            .unwrap();
        assert!(sink.committed.is_empty());
        let lost = wait.lost();
        assert_eq!(lost.get("listener a"), Some(&3));
        assert_eq!(lost.get("listener b"), Some(&6));
        assert_eq!(lost.get(API_ORIGIN), Some(&2));
        assert_eq!(lost.len(), 3);
        assert!(
            api_ack.await.is_err(),
            "the API hears the batch was not stored"
        );
        assert_eq!(metrics.stored.load(Relaxed), 0);
    }
}
