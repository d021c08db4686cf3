//! A node's chain in PostgreSQL as the batcher's sink (`store.backend =
//! "postgres"`, docs/cluster.md).
//!
//! One reconnect layer, the node writer's own (`NodeWriter` with a
//! [`ReconnectPolicy`]): a lost session is opened again with a backoff
//! (50 ms doubling to 1 s), the node's lock taken again and the chain's
//! head read back, so a batch whose commit was in doubt is acknowledged
//! if it committed and written again if not, never twice. Each append
//! tries for a few seconds ([`SERVE_RECONNECT`]), then reports the error:
//! the writer thread marks the store failing (`/health` 503, nothing
//! acknowledged, back-pressure) and gives the same batch again a second
//! later, without end while the server runs, so ingest resumes by itself
//! when the database (or a promoted standby) takes writes again.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use netaudit_pgstore::{ConnectionSpec, NodeWriter, PgStoreError, ReconnectPolicy, WriterStats};
use netaudit_store::PreparedBatch;

use super::sink::{AppendError, EventSink};
use crate::metrics::store_link::StoreLinkMetrics;

/// How one append reconnects before it reports the database unreachable
/// (the writer thread then tries again, without end): short enough that
/// `/health` says so within seconds, long enough for a promotion or a
/// restart to pass unnoticed by the senders.
pub(crate) const SERVE_RECONNECT: ReconnectPolicy = ReconnectPolicy {
    first_delay: Duration::from_millis(50),
    max_delay: Duration::from_secs(1),
    give_up_after: Duration::from_secs(3),
};

/// What opening the node needs, kept for opening it late.
pub(crate) struct PgNodeConfig {
    pub spec: ConnectionSpec,
    pub node: String,
    pub key_path: PathBuf,
    pub epoch_events: u64,
    pub epoch_interval: Duration,
}

/// The node's writer, opened at start or, when the database could not be
/// reached then, at the first append that finds it.
pub(crate) struct PgSink {
    config: PgNodeConfig,
    writer: Option<NodeWriter>,
    link: Arc<StoreLinkMetrics>,
    /// The writer's stats as last published to `link`.
    seen: WriterStats,
    /// Opens after a start without the database (0 or 1).
    late_opens: u64,
}

impl PgSink {
    /// Opens the node. Refused when the database is not migrated, refuses
    /// the login, or another live process holds the node id; a database
    /// that cannot be reached at all is waited for instead (the node opens
    /// at the first append that finds it; until then nothing is
    /// acknowledged and `/health` answers 503).
    pub(crate) fn open(config: PgNodeConfig) -> Result<PgSink, PgStoreError> {
        let writer = match open_writer(&config) {
            Ok(writer) => Some(writer),
            Err(err @ PgStoreError::Unreachable { .. }) => {
                tracing::warn!(
                    error = %err,
                    "PostgreSQL store: the database cannot be reached; starting without it, nothing is acknowledged until it answers"
                );
                None
            }
            Err(err) => return Err(err),
        };
        Ok(PgSink {
            config,
            writer,
            link: Arc::new(StoreLinkMetrics::default()),
            seen: WriterStats::default(),
            late_opens: 0,
        })
    }

    /// Whether the node is open (false after a start without the database).
    pub(crate) fn is_open(&self) -> bool {
        self.writer.is_some()
    }

    /// The database as messages name it.
    pub(crate) fn target(&self) -> &str {
        self.config.spec.target()
    }

    /// A clean shutdown's last step: seal the open epoch.
    pub(crate) fn seal(&mut self) -> Result<Option<netaudit_store::Checkpoint>, PgStoreError> {
        match self.writer.as_mut() {
            // Never opened: this process appended nothing to seal.
            None => Ok(None),
            Some(writer) => writer.seal_epoch(),
        }
    }

    fn writer(&mut self) -> Result<&mut NodeWriter, PgStoreError> {
        if self.writer.is_none() {
            let writer = open_writer(&self.config)?;
            tracing::info!(
                database = %self.config.spec.target(),
                node = %self.config.node,
                last_seq = writer.last_seq(),
                "PostgreSQL store: node reopened (opened late: the database was away at start)"
            );
            self.late_opens += 1;
            self.link.reconnects.fetch_add(1, Relaxed);
            self.writer = Some(writer);
        }
        match self.writer.as_mut() {
            Some(writer) => Ok(writer),
            None => unreachable!("opened above"),
        }
    }

    /// Publishes what the writer went through since the last call, and
    /// logs a session opened again.
    fn publish_stats(&mut self) {
        let Some(stats) = self.writer.as_ref().map(NodeWriter::stats) else {
            return;
        };
        if stats == self.seen {
            return;
        }
        if stats.reconnects > self.seen.reconnects {
            tracing::warn!(
                database = %self.config.spec.target(),
                node = %self.config.node,
                reconnects = stats.reconnects,
                in_doubt_committed = stats.resolved_committed,
                in_doubt_lost = stats.resolved_lost,
                "PostgreSQL store: node reopened (the session was lost and opened again)"
            );
        }
        if stats.committed_after_error > self.seen.committed_after_error {
            tracing::warn!(
                events = stats.committed_after_error - self.seen.committed_after_error,
                "PostgreSQL store: a batch reported failed had committed (given up on at shutdown, stored nevertheless)"
            );
        }
        self.link
            .reconnects
            .store(stats.reconnects + self.late_opens, Relaxed);
        self.link
            .resolved_committed
            .store(stats.resolved_committed, Relaxed);
        self.link.resolved_lost.store(stats.resolved_lost, Relaxed);
        self.seen = stats;
    }
}

fn open_writer(config: &PgNodeConfig) -> Result<NodeWriter, PgStoreError> {
    let mut writer = NodeWriter::open(
        &config.spec,
        &config.node,
        &config.key_path,
        config.epoch_events,
    )?
    .with_reconnect(SERVE_RECONNECT);
    writer.set_epoch_interval(config.epoch_interval);
    Ok(writer)
}

impl EventSink for PgSink {
    fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError> {
        let result = self
            .writer()
            .and_then(|writer| writer.append_prepared(batch));
        self.publish_stats();
        match result {
            Ok((_, last)) => Ok(last),
            // The writer keeps a batch in doubt: the same batch given
            // again is recognised if it did commit.
            Err(source) => Err(AppendError::Postgres {
                events: batch.len(),
                source,
            }),
        }
    }

    fn last_seq(&self) -> u64 {
        self.writer.as_ref().map_or(0, NodeWriter::last_seq)
    }

    fn healthy_at_start(&self) -> bool {
        self.is_open()
    }

    fn link_metrics(&self) -> Option<Arc<StoreLinkMetrics>> {
        Some(self.link.clone())
    }

    /// An epoch ends by time without traffic too, as the embedded store's
    /// background thread does it.
    fn idle(&mut self) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let sealed = writer.seal_if_due();
        self.publish_stats();
        match sealed {
            Ok(Some(c)) => tracing::debug!(
                epoch = c.epoch,
                sealed_through = c.last_seq,
                "PostgreSQL store: epoch ended by time"
            ),
            Ok(None) => {}
            // Tried again at the next idle turn (the writer reconnects).
            Err(err) => {
                tracing::warn!(error = %err, "PostgreSQL store: cannot end the epoch by time")
            }
        }
    }
}
