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
    /// The last sequence number known committed.
    last_seq: u64,
}

impl PgSink {
    /// Opens the node (refused when the database cannot be reached, is not
    /// migrated, or another live process holds the node id).
    pub(crate) fn open(config: PgNodeConfig) -> Result<PgSink, PgStoreError> {
        let writer = open_writer(&config)?;
        Ok(PgSink {
            last_seq: writer.last_seq(),
            config,
            writer: Some(writer),
        })
    }

    /// The database as messages name it.
    pub(crate) fn target(&self) -> &str {
        self.config.spec.target()
    }

    /// A clean shutdown's last step: seal the open epoch.
    pub(crate) fn seal(&mut self) -> Result<Option<netaudit_store::Checkpoint>, PgStoreError> {
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
        let before = self.last_seq;
        let len = batch.len() as u64;
        let writer = self.writer()?;
        let head = writer.last_seq();
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
    let mut writer = NodeWriter::open(
        &config.spec,
        &config.node,
        &config.key_path,
        config.epoch_events,
    )?;
    writer.set_epoch_interval(config.epoch_interval);
    Ok(writer)
}

impl EventSink for PgSink {
    fn append(&mut self, batch: &PreparedBatch) -> Result<u64, AppendError> {
        match self.try_append(batch) {
            Ok(last) => {
                self.last_seq = last;
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
        self.last_seq
    }
}
