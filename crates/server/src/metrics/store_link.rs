//! The link to a store that is reached over the network (PostgreSQL):
//! sessions opened again after one was lost, and how each batch whose
//! commit was in doubt was resolved.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::prometheus;

/// Counters of the writer's database sessions (`store.backend = "postgres"`).
#[derive(Debug, Default)]
pub(crate) struct StoreLinkMetrics {
    /// Sessions opened again after one was lost (or the node opened late,
    /// after a start without the database).
    pub reconnects: AtomicU64,
    /// Batches in doubt found committed when the head was read back.
    pub resolved_committed: AtomicU64,
    /// Batches in doubt found not committed, and written again.
    pub resolved_lost: AtomicU64,
}

impl StoreLinkMetrics {
    pub(crate) fn render(&self, out: &mut String) {
        prometheus::single(
            out,
            "netaudit_store_reconnects_total",
            "counter",
            "Sessions to the PostgreSQL store opened again after one was lost.",
            self.reconnects.load(Relaxed),
        );
        let name = "netaudit_store_batches_in_doubt_total";
        prometheus::header(
            out,
            name,
            "counter",
            "Batches whose commit was in doubt when the session was lost, by what reading the chain's head back found (committed: acknowledged, not written again; lost: written again).",
        );
        for (outcome, value) in [
            ("committed", &self.resolved_committed),
            ("lost", &self.resolved_lost),
        ] {
            prometheus::sample(out, name, &[("outcome", outcome)], value.load(Relaxed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_reconnects_and_batches_in_doubt_by_outcome() {
        let link = StoreLinkMetrics::default();
        link.reconnects.fetch_add(2, Relaxed);
        link.resolved_committed.fetch_add(1, Relaxed);
        let mut out = String::new();
        link.render(&mut out);
        assert!(
            out.contains("# TYPE netaudit_store_reconnects_total counter"),
            "{out}"
        );
        assert!(
            out.contains("\nnetaudit_store_reconnects_total 2\n"),
            "{out}"
        );
        assert!(
            out.contains("netaudit_store_batches_in_doubt_total{outcome=\"committed\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("netaudit_store_batches_in_doubt_total{outcome=\"lost\"} 0\n"),
            "{out}"
        );
    }
}
