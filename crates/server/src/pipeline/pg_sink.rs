//! A node's chain in PostgreSQL as the batcher's sink (`store.backend =
//! "postgres"`, docs/cluster.md).
//!
//! The writer thread retries a failed append every second (back-pressure,
//! `/health` 503) until it commits, as with the embedded store. A failure
//! drops the connection; the next attempt opens the node again (schema
//! check, the node id's lock, the chain's head read back from the
//! database). Only this process writes the node (it holds the node's lock),
//! so a head beyond the one before the failed attempt can only be that
//! batch, committed before its answer was lost: it is taken as stored,
//! never written twice.

use std::path::PathBuf;
use std::time::Duration;

use netaudit_pgstore::{ConnectionSpec, NodeWriter, PgStoreError};
use netaudit_store::PreparedBatch;

use super::sink::{AppendError, EventSink};

/// What opening the node needs, kept for reopening it.
pub(crate) struct PgNodeConfig {
    pub spec: ConnectionSpec,
    pub node: String,
    pub key_path: PathBuf,
    pub epoch_events: u64,
    pub epoch_interval: Duration,
}

/// The node's writer, reopened after a failure.
pub(crate) struct PgSink {
    config: PgNodeConfig,
    writer: Option<NodeWriter>,
    /// The last sequence number known committed; unknown until the node
    /// has been opened once (a start while the database was unreachable).
    last_seq: Option<u64>,
}

impl PgSink {
    /// Opens the node. Refused when the database is not migrated, refuses
    /// the login, or another live process holds the node id; a database
    /// that cannot be reached at all is waited for instead (the node opens
    /// at the first append that finds it; until then nothing is
    /// acknowledged and `/health` answers 503).
    pub(crate) fn open(config: PgNodeConfig) -> Result<PgSink, PgStoreError> {
        match open_writer(&config) {
            Ok(writer) => Ok(PgSink {
                last_seq: Some(writer.last_seq()),
                config,
                writer: Some(writer),
            }),
            Err(err @ PgStoreError::Unreachable { .. }) => {
                tracing::warn!(
                    error = %err,
                    "PostgreSQL store: the database cannot be reached; starting without it, nothing is acknowledged until it answers"
                );
                Ok(PgSink {
                    last_seq: None,
                    config,
                    writer: None,
                })
            }
            Err(err) => Err(err),
        }
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
        if self.last_seq.is_none() {
            // Never opened: this process appended nothing to seal.
            return Ok(None);
        }
        let writer = self.writer()?;
        writer.seal_epoch()
    }

    fn writer(&mut self) -> Result<&mut NodeWriter, PgStoreError> {
        if self.writer.is_none() {
            let writer = open_writer(&self.config)?;
            tracing::info!(
                database = %self.config.spec.target(),
                node = %self.config.node,
                last_seq = writer.last_seq(),
                "PostgreSQL store: node reopened"
            );
            self.writer = Some(writer);
        }
        match self.writer.as_mut() {
            Some(writer) => Ok(writer),
            None => unreachable!("opened above"),
        }
    }

    fn try_append(&mut self, batch: &PreparedBatch) -> Result<u64, PgStoreError> {
        let len = batch.len() as u64;
        let known = self.last_seq;
        let writer = self.writer()?;
        let head = writer.last_seq();
        // Never opened before: the database's head is where this process starts.
        let before = known.unwrap_or(head);
        self.last_seq = Some(before);
        let writer = self.writer()?;
        if head == before + len && len > 0 {
            // The batch committed before its answer was lost.
            tracing::warn!(
                last_seq = head,
                "PostgreSQL store: the batch of the failed attempt was committed; not written again"
            );
            return Ok(head);
        }
        if head != before {
            return Err(PgStoreError::NodeKey {
                path: self.config.key_path.clone(),
                detail: format!(
                    "node \"{}\"'s chain ends at {head} in the database but this process \
                     committed through {before}: another process wrote the node",
                    self.config.node
                ),
            });
        }
        let (_, last) = writer.append_prepared(batch)?;
        Ok(last)
    }
}

fn open_writer(config: &PgNodeConfig) -> Result<NodeWriter, PgStoreError> {
    // A lost session is reconnected briefly inside the writer (a sealing
    // checkpoint in doubt is read back); longer outages are the writer
    // thread's retry every second, which reopens the node.
    let mut writer = NodeWriter::open(
        &config.spec,
        &config.node,
        &config.key_path,
        config.epoch_events,
    )?
    .with_reconnect(netaudit_pgstore::ReconnectPolicy {
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
        give_up_after: Duration::from_secs(2),
    });
    writer.set_epoch_interval(config.epoch_interval);
    Ok(writer)
}

impl EventSink for PgSink {
    fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError> {
        match self.try_append(batch) {
            Ok(last) => {
                self.last_seq = Some(last);
                Ok(last)
            }
            Err(source) => {
                // The connection may be broken, or the transaction left
                // open: start again from a fresh session at the next try.
                self.writer = None;
                Err(AppendError::Postgres {
                    events: batch.len(),
                    source,
                })
            }
        }
    }

    fn last_seq(&self) -> u64 {
        self.last_seq.unwrap_or(0)
    }

    fn healthy_at_start(&self) -> bool {
        self.is_open()
    }

    /// An epoch ends by time without traffic too, as the embedded store's
    /// background thread does it.
    fn idle(&mut self) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        match writer.seal_if_due() {
            Ok(Some(c)) => tracing::debug!(
                epoch = c.epoch,
                sealed_through = c.last_seq,
                "PostgreSQL store: epoch ended by time"
            ),
            Ok(None) => {}
            Err(err) => {
                // Tried again at the next idle turn or append, reopened.
                tracing::warn!(error = %err, "PostgreSQL store: cannot end the epoch by time");
                self.writer = None;
            }
        }
    }
}
