//! How the pipeline tells store consumers that a batch committed: the last
//! committed sequence number and a wake-up for those waiting on it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub(crate) struct CommitSignal {
    last_seq: AtomicU64,
    notify: Notify,
}

impl CommitSignal {
    /// The store's position before anything commits (at start-up).
    pub(crate) fn start_at(&self, last_seq: u64) {
        self.last_seq.store(last_seq, Relaxed);
    }

    /// A batch committed up to `last_seq`: wakes every waiter.
    pub(crate) fn publish(&self, last_seq: u64) {
        self.last_seq.store(last_seq, Relaxed);
        self.notify.notify_waiters();
    }

    /// The sequence number of the last committed event.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq.load(Relaxed)
    }

    /// Resolves at the next commit. Only commits after this call (or, once
    /// pinned, after `enable`) count, so check [`last_seq`](Self::last_seq)
    /// after enabling to miss none.
    pub(crate) fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}
