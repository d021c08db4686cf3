//! Where committed batches go: the [`EventSink`] the store writer thread
//! appends to, and [`StoreSink`], the durable store as that sink.

use std::sync::Arc;

use netaudit_store::{PreparedBatch, Store, StoreError};

use crate::metrics::store_link::StoreLinkMetrics;

/// Why a batch was not committed (the writer logs it and retries).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AppendError {
    #[error("appending a batch of {events} event(s) to the store: {source}")]
    Store {
        events: usize,
        #[source]
        source: StoreError,
    },
    #[error("appending a batch of {events} event(s) to the PostgreSQL store: {source}")]
    Postgres {
        events: usize,
        #[source]
        source: netaudit_pgstore::PgStoreError,
    },
}

/// Where committed batches go: the store, in the server.
pub(crate) trait EventSink: Send + 'static {
    /// Append the batch's events in one transaction and commit it; returns
    /// the sequence number of the last event.
    fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError>;

    /// The sequence number of the last event already stored (0 when empty).
    fn last_seq(&self) -> u64;

    /// Whether `/health` starts healthy (false: the store could not be
    /// reached at start; the first commit makes it healthy).
    fn healthy_at_start(&self) -> bool {
        true
    }

    /// The counters of the sink's database sessions, for `/metrics`, when
    /// the store is reached over the network.
    fn link_metrics(&self) -> Option<Arc<StoreLinkMetrics>> {
        None
    }

    /// Called by the writer thread when no batch came for a second (the
    /// embedded store has its own background thread for this).
    fn idle(&mut self) {}
}

/// The durable store as the batcher's sink.
pub(crate) struct StoreSink {
    store: Arc<Store>,
}

impl StoreSink {
    pub(crate) fn new(store: Store) -> Self {
        StoreSink {
            store: Arc::new(store),
        }
    }

    /// The store, shared with the outputs that read it.
    pub(crate) fn store(&self) -> Arc<Store> {
        self.store.clone()
    }
}

impl EventSink for StoreSink {
    fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError> {
        match self.store.append_prepared(batch) {
            Ok(seqs) => Ok(seqs
                .last()
                .copied()
                .unwrap_or_else(|| self.store.last_seq())),
            Err(source) => Err(AppendError::Store {
                events: batch.len(),
                source,
            }),
        }
    }

    fn last_seq(&self) -> u64 {
        self.store.last_seq()
    }
}
