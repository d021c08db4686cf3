//! One reader of the store for all policies: it reads each new chunk once
//! and hands it to every policy (a broadcast of shared chunks), so that a
//! hundred policies do not read and decode every event a hundred times.
//! Each policy still has its own durable cursor; one that is behind the
//! feed (at start, after a restart, after it lagged) reads the store itself
//! until it has caught up (`engine.rs`).

use std::sync::Arc;
use std::time::Duration;

use netaudit_store::StoredEvent;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::context::PolicyContext;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, CHUNK_EVENTS};

/// A chunk of stored events in sequence order (never empty).
pub(crate) type FeedChunk = Arc<Vec<StoredEvent>>;

/// Chunks a slow policy may fall behind before it reads the store itself.
const CAPACITY: usize = 16;
const READ_RETRY: Duration = Duration::from_secs(1);
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The running feed; policies subscribe to it.
pub(crate) struct Feed {
    sender: broadcast::Sender<FeedChunk>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Feed {
    /// Starts reading after the end of the store as it is now.
    pub(crate) fn start(ctx: &PolicyContext) -> Feed {
        let (sender, _) = broadcast::channel(CAPACITY);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(ctx.clone(), sender.clone(), cancel.clone()));
        Feed {
            sender,
            cancel,
            task,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<FeedChunk> {
        self.sender.subscribe()
    }

    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

async fn run(ctx: PolicyContext, sender: broadcast::Sender<FeedChunk>, cancel: CancellationToken) {
    // A reader without a durable cursor (its position lives only here;
    // each policy keeps its own) and outside /metrics.
    let metrics = Arc::default();
    let consumer = match Consumer::try_open(
        OutputKind::Policy,
        "(feed)",
        ctx.store.clone(),
        Some(ctx.metrics.committed.clone()),
        metrics,
    )
    .await
    {
        Ok(consumer) => consumer,
        Err(err) => {
            tracing::error!(error = %err, "policy feed: cannot open; policies read the store themselves");
            return;
        }
    };
    let mut position = consumer.store_last_seq();
    while !cancel.is_cancelled() {
        match consumer.read_after(position, CHUNK_EVENTS).await {
            Ok(events) if events.is_empty() => {
                if !consumer.wait_for_events(position, IDLE_WAIT, &cancel).await {
                    return;
                }
            }
            Ok(events) => {
                position = events.last().map_or(position, |e| e.seq);
                // No subscriber is not an error: the chunk is just dropped.
                let _ = sender.send(Arc::new(events));
            }
            Err(err) => {
                tracing::error!(error = %err, "policy feed: store read failed; retrying");
                if !sleep_or_cancel(READ_RETRY, &cancel).await {
                    return;
                }
            }
        }
    }
}
