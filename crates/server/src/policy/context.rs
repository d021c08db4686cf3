//! What every policy task shares with the server, and how it stores the
//! events it makes: straight to the store writer, waiting for the commit,
//! so that a policy moves its cursor only past what it has recorded.

use std::sync::Arc;
use std::time::Duration;

use netaudit_event::Event;
use netaudit_store::Store;
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::AuthDb;
use crate::metrics::Metrics;
use crate::output::consumer::sleep_or_cancel;
use crate::pipeline::batcher::BatchHandle;

/// The origin the pipeline names the policy engine's events by.
const POLICY_ORIGIN: &str = "policy";
/// Wait between attempts when the store writer does not commit.
const COMMIT_RETRY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(crate) struct PolicyContext {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// The store writer (acknowledged batches).
    pub writer: mpsc::WeakSender<BatchHandle>,
    /// netaudit's users, for `lock-user`.
    pub auth: Option<Arc<AuthDb>>,
}

impl PolicyContext {
    /// Stores `events` as one batch and waits for the commit; retried until
    /// it commits. `false` when cancelled or the writer has stopped first
    /// (the caller then stops without moving its cursor).
    pub(crate) async fn commit(&self, events: Vec<Event>, cancel: &CancellationToken) -> bool {
        if events.is_empty() {
            return true;
        }
        loop {
            let Some(writer) = self.writer.upgrade() else {
                return false;
            };
            let batch: Vec<RawBackedEvent> = events.iter().cloned().map(Into::into).collect();
            let (batch, ack) = BatchHandle::acknowledged_from(POLICY_ORIGIN, batch);
            if writer.send(batch).await.is_err() {
                return false;
            }
            drop(writer);
            tokio::select! {
                _ = cancel.cancelled() => return false,
                acked = ack => {
                    if acked.is_ok() {
                        return true;
                    }
                }
            }
            tracing::warn!("policy: the store writer dropped a batch; retrying");
            if !sleep_or_cancel(COMMIT_RETRY, cancel).await {
                return false;
            }
        }
    }
}
