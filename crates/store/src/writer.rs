//! The append path: one writer, one transaction per batch, in the open
//! partition; epochs closed with their checkpoints, partitions rolled.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use rusqlite::{params, Connection};

use crate::batch::Encoded;
use crate::chain::{ChainHasher, ChainState, Checkpoint, KeyFile, KeyState};
use crate::clock::now_ns;
use crate::config::StoreConfig;
use crate::encoding::decode_fields;
use crate::error::{Context, Inconsistency, Result, StoreError};
use crate::event_insert::{EventInsert, EventRow};
use crate::partitions::create_partition_file;
use crate::paths::partition_file;
use crate::rows::to_i64;
use crate::sqlite::{is_disk_full, truncate_wal_after_full};

pub(crate) struct OpenPartition {
    pub(crate) first_seq: u64,
    pub(crate) path: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) rows: u64,
}

pub(crate) struct Writer {
    /// Connections of partitions just sealed: closing one checkpoints its
    /// whole WAL, so the background thread closes them, not the appender.
    pub(crate) retired: Vec<Connection>,
    pub(crate) catalog: Connection,
    pub(crate) part: OpenPartition,
    pub(crate) chain: ChainState,
    pub(crate) key_file: KeyFile,
    pub(crate) signing: ed25519_dalek::SigningKey,
    /// Checkpoints committed to a partition but not yet copied to the catalog.
    pub(crate) unsynced: Vec<Checkpoint>,
    /// The key file could not be advanced after a commit; retried first.
    pub(crate) key_file_behind: bool,
    /// An append failed for lack of space and the WAL could not be
    /// truncated then (its frames need the database file to grow): tried
    /// again after the next commit, once space is there.
    pub(crate) wal_after_full: bool,
    /// `Shared::unindexed`, counted up when a partition is sealed.
    pub(crate) unindexed: Arc<AtomicU64>,
}

impl Writer {
    pub(crate) fn write_key_file(&mut self, store_id: &[u8; 16]) -> Result<()> {
        let state = KeyState {
            store_id: *store_id,
            epoch: self.chain.epoch,
            epoch_started_ns: self.chain.epoch_started_ns,
            chain_key: self.chain.key.clone(),
            signing: self.signing.clone(),
        };
        match self.key_file.write_both(&state) {
            Ok(()) => {
                self.key_file_behind = false;
                Ok(())
            }
            Err(e) => {
                self.key_file_behind = true;
                Err(e)
            }
        }
    }

    pub(crate) fn sync_checkpoints(&mut self) -> Result<()> {
        if self.unsynced.is_empty() {
            return Ok(());
        }
        let path = self.catalog.path().map(PathBuf::from).unwrap_or_default();
        let tx = self.catalog.transaction().at(&path, "begin")?;
        for c in &self.unsynced {
            c.insert(&tx, &path)?;
        }
        tx.commit().at(&path, "commit checkpoints")?;
        self.unsynced.clear();
        Ok(())
    }

    /// Work left over from a previous call that failed after its commit.
    fn catch_up(&mut self, store_id: &[u8; 16]) -> Result<()> {
        if self.key_file_behind {
            self.write_key_file(store_id)?;
        }
        self.sync_checkpoints()
    }

    pub(crate) fn close_epoch_now(&mut self, store_id: &[u8; 16]) -> Result<Checkpoint> {
        self.catch_up(store_id)?;
        let now = now_ns();
        let ckpt = self.chain.checkpoint(store_id, &self.signing, now);
        let path = self.part.path.clone();
        let tx = self.part.conn.unchecked_transaction().at(&path, "begin")?;
        ckpt.insert(&tx, &path)?;
        tx.commit().at(&path, "commit checkpoint")?;
        self.chain.next_epoch(now);
        self.unsynced.push(ckpt.clone());
        self.write_key_file(store_id)?;
        self.sync_checkpoints()?;
        Ok(ckpt)
    }

    /// Closes the epoch and starts a new partition file.
    pub(crate) fn roll(&mut self, store_id: &[u8; 16], config: &StoreConfig) -> Result<()> {
        // A partition starts right after a checkpoint (retention relies on it).
        if self.chain.epoch_events > 0 {
            self.close_epoch_now(store_id)?;
        }
        let catalog_path = self.catalog.path().map(PathBuf::from).unwrap_or_default();
        let first_seq = self.chain.next_seq;
        let last_seq = first_seq - 1;
        let tx = self.catalog.transaction().at(&catalog_path, "begin")?;
        tx.execute(
            "UPDATE partitions SET state = 'sealed', last_seq = ?1, rows = ?2 WHERE first_seq = ?3",
            params![
                to_i64("sequence", last_seq)?,
                to_i64("rows", self.part.rows)?,
                to_i64("sequence", self.part.first_seq)?
            ],
        )
        .at(&catalog_path, "seal partition")?;
        tx.execute(
            "INSERT INTO partitions(first_seq, state) VALUES (?1, 'open')",
            [to_i64("sequence", first_seq)?],
        )
        .at(&catalog_path, "create partition")?;
        tx.commit().at(&catalog_path, "commit partition roll")?;
        let path = partition_file(&catalog_path, first_seq);
        let conn = create_partition_file(&path, config, store_id, first_seq, &self.chain.head)?;
        let old = std::mem::replace(
            &mut self.part,
            OpenPartition {
                first_seq,
                path,
                conn,
                rows: 0,
            },
        );
        if config.background {
            self.retired.push(old.conn);
        }
        self.unindexed.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Appends one batch in one transaction. When it fails for lack of
    /// space, the open partition's WAL (and the catalog's) is checkpointed
    /// and truncated: the failed transaction is rolled back by then, so its
    /// frames and those of the commits before it leave the WAL, and retries
    /// start from an empty WAL. Frames that need the database file to grow
    /// cannot be copied while the disk is full: then the truncation is
    /// done after the first commit that finds space again, so the WAL's
    /// space is given back as soon as the disk has room.
    pub(crate) fn append(
        &mut self,
        config: &StoreConfig,
        store_id: &[u8; 16],
        encoded: &Encoded,
    ) -> Result<Vec<u64>> {
        let result = self.append_batch(config, store_id, encoded);
        match &result {
            Err(err) if is_disk_full(err) => self.truncate_wals(),
            Ok(_) if self.wal_after_full => self.truncate_wals(),
            _ => {}
        }
        result
    }

    fn truncate_wals(&mut self) {
        let part = truncate_wal_after_full(&self.part.conn);
        let catalog = truncate_wal_after_full(&self.catalog);
        self.wal_after_full = !(part && catalog);
    }

    fn append_batch(
        &mut self,
        config: &StoreConfig,
        store_id: &[u8; 16],
        encoded: &Encoded,
    ) -> Result<Vec<u64>> {
        if encoded.is_empty() {
            return Ok(Vec::new());
        }
        self.catch_up(store_id)?;
        let now = now_ns();
        let interval = i64::try_from(config.epoch_interval.as_nanos()).unwrap_or(i64::MAX);
        let len = u64::try_from(encoded.len()).unwrap_or(u64::MAX);
        if self.part.rows > 0 && self.part.rows.saturating_add(len) > config.partition_events {
            self.roll(store_id, config)?;
        } else if now.saturating_sub(self.chain.epoch_started_ns) >= interval {
            self.close_epoch_now(store_id)?;
        }
        let mut chain = self.chain.clone();
        let mut hasher = ChainHasher::new(&chain.key);
        let mut ckpts = Vec::new();
        let mut seqs = Vec::with_capacity(encoded.len());
        let path = self.part.path.clone();
        let tx = self
            .part
            .conn
            .unchecked_transaction()
            .at(&path, "begin batch")?;
        {
            let mut insert = EventInsert::new(&tx, &path);
            for i in 0..encoded.len() {
                let seq = chain.next_seq;
                let (encoding, params) = encoded.get(i);
                // The columns come from the bytes the chain covers.
                let fields = decode_fields(encoding).map_err(|e| StoreError::Inconsistent {
                    path: path.clone(),
                    reason: Inconsistency::BatchEvent { index: i, cause: e },
                })?;
                let value = hasher.value(&chain.head, seq, chain.epoch, encoding);
                insert.push(EventRow {
                    seq: to_i64("sequence", seq)?,
                    epoch: to_i64("epoch", chain.epoch)?,
                    fields,
                    params,
                    chain: value,
                })?;
                chain.head = value;
                chain.next_seq += 1;
                chain.epoch_events += 1;
                seqs.push(seq);
                // The epoch ends with its last event, in the same transaction,
                // so the key evolves as early as possible (its rows may be
                // inserted after the checkpoint: the transaction is one).
                if chain.epoch_events >= config.epoch_events {
                    let ckpt = chain.checkpoint(store_id, &self.signing, now);
                    ckpt.insert(&tx, &path)?;
                    ckpts.push(ckpt);
                    chain.next_epoch(now);
                    hasher = ChainHasher::new(&chain.key);
                }
            }
            insert.finish()?;
        }
        tx.commit().at(&path, "commit batch")?;
        let epoch_changed = chain.epoch != self.chain.epoch;
        self.chain = chain;
        self.part.rows += len;
        if epoch_changed {
            self.unsynced.extend(ckpts);
            // The batch is committed: report key-file trouble at the next
            // call (which retries) rather than make the caller resend it.
            let _ = self.write_key_file(store_id);
            let _ = self.sync_checkpoints();
        }
        Ok(seqs)
    }
}
