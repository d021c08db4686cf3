//! How long a shutdown waits for a failing store, and what it gave up on.
//!
//! While running, a failed append is retried every second, for as long as
//! it takes. Once a shutdown has begun (SIGTERM, SIGINT) and
//! `pipeline.shutdown_store_wait_secs` have passed, an append that fails is
//! not retried: its events are counted as not stored, by origin, and the
//! writer goes on to the next batch (each gets one attempt), so that the
//! pipeline drains and the process can exit, non-zero, saying what it lost.
//! A store that commits is never given up on.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::origin::{Origin, OriginRuns};

#[derive(Default)]
pub(crate) struct StoreWait {
    /// Set when the shutdown begins: from then on, a failing append is
    /// retried only until this instant.
    deadline: Mutex<Option<Instant>>,
    /// Events given up on, by origin.
    lost: Mutex<BTreeMap<Origin, u64>>,
}

impl StoreWait {
    /// The shutdown has begun: failing appends are retried for `wait` more.
    pub(crate) fn begin(&self, wait: Duration) {
        let mut deadline = lock(&self.deadline);
        if deadline.is_none() {
            // A wait beyond what an instant holds: retried without end.
            *deadline = Instant::now().checked_add(wait);
        }
    }

    /// How long the writer may sleep before its next attempt: `retry`, or
    /// less when the deadline comes first; `None` once the deadline has
    /// passed (give up on the batch).
    pub(crate) fn retry_after(&self, retry: Duration) -> Option<Duration> {
        match *lock(&self.deadline) {
            None => Some(retry),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(retry))
            }
        }
    }

    /// A batch given up on.
    pub(crate) fn record_lost(&self, runs: &OriginRuns) {
        runs.add_to(&mut lock(&self.lost));
    }

    /// Events given up on, by origin (empty when everything was stored).
    pub(crate) fn lost(&self) -> BTreeMap<Origin, u64> {
        lock(&self.lost).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain values: a panic elsewhere leaves them usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn retries_without_end_until_a_shutdown_then_until_its_deadline() {
        let wait = StoreWait::default();
        let second = Duration::from_secs(1);
        assert_eq!(wait.retry_after(second), Some(second));
        assert!(wait.retry_after(second).is_some());
        wait.begin(Duration::from_secs(3600));
        assert_eq!(wait.retry_after(second), Some(second));
        // A second signal does not move the deadline.
        wait.begin(Duration::ZERO);
        assert!(wait.retry_after(second).is_some());
        let now = StoreWait::default();
        now.begin(Duration::ZERO);
        assert_eq!(now.retry_after(second), None);
        now.record_lost(&OriginRuns::of(Arc::from("api"), 3));
        now.record_lost(&OriginRuns::of(Arc::from("api"), 2));
        assert_eq!(now.lost().get("api"), Some(&5));
    }
}
