//! A node appending to its own chain in PostgreSQL: the chain rules of the
//! embedded store (docs/store.md: HMAC chain under a key that evolves one
//! way at each epoch, a signed checkpoint in the same transaction as the
//! epoch's last event, the key file advanced only after the commit), with
//! the node id's lock held for the session: no lock shared with other
//! nodes sits on this path.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use netaudit_store::{
    chain_value, decode_event, derive, encode_event, evolve, genesis, AppendEvent, Checkpoint,
    KeyFile, KeyState, PreparedBatch, SecretKey, VerifyKey,
};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::Client;

use crate::checkpoints::insert_checkpoint;
use crate::connection::ConnectionSpec;
use crate::copy::now_ns;
use crate::error::{PgStoreError, Result};
use crate::event_rows::{copy_statement, write_columns, write_row, EVENT_TYPES};
use crate::node::{find_node, insert_node, lock_node, NodeInfo};
use crate::schema::{check_schema, query_error};

/// Events per epoch unless told otherwise (the embedded store's default).
pub const DEFAULT_EPOCH_EVENTS: u64 = 100_000;

/// The writer of one node's chain.
pub struct NodeWriter {
    client: Client,
    target: String,
    node_id: String,
    key_file: KeyFile,
    store_id: [u8; 16],
    signing: SigningKey,
    state: ChainHead,
    epoch_limit: u64,
    /// An epoch with events ends at the first batch after this long
    /// (`set_epoch_interval`; by count only when unset).
    epoch_interval_ns: Option<i64>,
    buf: Vec<u8>,
}

/// The writer's place in its chain; cloned for a batch and kept only once
/// the batch has committed.
#[derive(Clone)]
struct ChainHead {
    epoch: u64,
    epoch_started_ns: i64,
    key: SecretKey,
    head: [u8; 32],
    next_seq: u64,
    epoch_events: u64,
}

/// The verify key file written beside a new node's key file
/// (`node.key` -> `node.verify-key`).
pub fn verify_key_path(key_path: &Path) -> PathBuf {
    key_path.with_extension("verify-key")
}

impl NodeWriter {
    /// Opens node `node_id` for appending: takes its lock (refused while
    /// another live process holds it), then either creates the node with a
    /// new key file at `key_path` (and its verify key beside it), or
    /// continues its chain with the key file it already has.
    pub fn open(
        spec: &ConnectionSpec,
        node_id: &str,
        key_path: &Path,
        epoch_events: u64,
    ) -> Result<NodeWriter> {
        let target = spec.target().to_string();
        let mut client = spec.connect()?;
        check_schema(&mut client, &target)?;
        lock_node(&mut client, &target, node_id)?;
        let (key_file, keys, state) = match find_node(&mut client, &target, node_id)? {
            None => create_node(&mut client, &target, node_id, key_path)?,
            Some(node) => resume_node(&mut client, &target, &node, key_path)?,
        };
        key_file.lock_exclusive()?;
        Ok(NodeWriter {
            client,
            target,
            node_id: node_id.to_string(),
            key_file,
            store_id: keys.store_id,
            signing: keys.signing,
            state,
            epoch_limit: epoch_events.max(1),
            epoch_interval_ns: None,
            buf: Vec::with_capacity(4096),
        })
    }

    /// The node id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The last sequence number stored (0 before the first event).
    pub fn last_seq(&self) -> u64 {
        self.state.next_seq - 1
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.state.epoch
    }

    /// Appends `events` in one transaction; returns their sequence numbers
    /// (first, last). An epoch that fills up is sealed in the same
    /// transaction; the key file follows after the commit.
    pub fn append_batch<E: AppendEvent>(&mut self, events: &[E]) -> Result<(u64, u64)> {
        let mut next = self.state.clone();
        let first = next.next_seq;
        if events.is_empty() {
            return Ok((first, first - 1));
        }
        let target = self.target.clone();
        let mut sealed = Vec::new();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| query_error(&target, "begin a batch", &e))?;
        let sink = tx
            .copy_in(copy_statement().as_str())
            .map_err(|e| query_error(&target, "start a batch", &e))?;
        let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
        for event in events {
            self.buf.clear();
            encode_event(event, &mut self.buf);
            let seq = next.next_seq;
            let chain = chain_value(&next.key, &next.head, seq, next.epoch, &self.buf);
            write_row(&mut writer, &self.node_id, seq, next.epoch, event, &chain)
                .map_err(|e| query_error(&target, "write a batch", &e))?;
            next.head = chain;
            next.next_seq += 1;
            next.epoch_events += 1;
            if next.epoch_events >= self.epoch_limit {
                sealed.push(seal(&mut next, &self.store_id, &self.signing));
            }
        }
        writer
            .finish()
            .map_err(|e| query_error(&target, "finish a batch", &e))?;
        for c in &sealed {
            insert_checkpoint(&mut tx, &target, &self.node_id, c)?;
        }
        tx.commit()
            .map_err(|e| query_error(&target, "commit a batch", &e))?;
        let last = next.next_seq - 1;
        self.commit_state(next, !sealed.is_empty())?;
        Ok((first, last))
    }

    /// Ends an epoch also by time, as the embedded store does: the first
    /// batch after `interval` since the epoch began seals it first, in the
    /// batch's transaction.
    pub fn set_epoch_interval(&mut self, interval: std::time::Duration) {
        self.epoch_interval_ns = Some(i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX));
    }

    /// Appends a prepared batch in one transaction (as [`append_batch`],
    /// the columns and the chain from the batch's canonical encodings, the
    /// very bytes the chain covers); returns (first, last) sequence numbers.
    /// Nothing is kept of a batch that fails: the caller may send it again.
    ///
    /// [`append_batch`]: NodeWriter::append_batch
    pub fn append_prepared(&mut self, batch: &PreparedBatch) -> Result<(u64, u64)> {
        let mut next = self.state.clone();
        if batch.is_empty() {
            return Ok((next.next_seq, next.next_seq - 1));
        }
        let target = self.target.clone();
        let mut sealed = Vec::new();
        if let Some(interval) = self.epoch_interval_ns {
            if next.epoch_events > 0 && now_ns().saturating_sub(next.epoch_started_ns) >= interval {
                sealed.push(seal(&mut next, &self.store_id, &self.signing));
            }
        }
        let first = next.next_seq;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| query_error(&target, "begin a batch", &e))?;
        let sink = tx
            .copy_in(copy_statement().as_str())
            .map_err(|e| query_error(&target, "start a batch", &e))?;
        let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
        for i in 0..batch.len() {
            let (encoding, params) = batch.encoding(i);
            let event = decode_event(encoding).map_err(|e| PgStoreError::BadBatch {
                index: i,
                detail: e.to_string(),
            })?;
            let seq = next.next_seq;
            let chain = chain_value(&next.key, &next.head, seq, next.epoch, encoding);
            write_columns(
                &mut writer,
                &self.node_id,
                seq,
                next.epoch,
                &event,
                params,
                &chain,
            )
            .map_err(|e| query_error(&target, "write a batch", &e))?;
            next.head = chain;
            next.next_seq += 1;
            next.epoch_events += 1;
            if next.epoch_events >= self.epoch_limit {
                sealed.push(seal(&mut next, &self.store_id, &self.signing));
            }
        }
        writer
            .finish()
            .map_err(|e| query_error(&target, "finish a batch", &e))?;
        for c in &sealed {
            insert_checkpoint(&mut tx, &target, &self.node_id, c)?;
        }
        tx.commit()
            .map_err(|e| query_error(&target, "commit a batch", &e))?;
        let last = next.next_seq - 1;
        self.commit_state(next, !sealed.is_empty())?;
        Ok((first, last))
    }

    /// Ends the current epoch now if it has events and its time
    /// (`set_epoch_interval`) is up: the idle writer's timer.
    pub fn seal_if_due(&mut self) -> Result<Option<Checkpoint>> {
        let Some(interval) = self.epoch_interval_ns else {
            return Ok(None);
        };
        if now_ns().saturating_sub(self.state.epoch_started_ns) < interval {
            return Ok(None);
        }
        self.seal_epoch()
    }

    /// Ends the current epoch with a checkpoint now (nothing when it has no
    /// event yet), as a clean shutdown does.
    pub fn seal_epoch(&mut self) -> Result<Option<Checkpoint>> {
        if self.state.epoch_events == 0 {
            return Ok(None);
        }
        let mut next = self.state.clone();
        let c = seal(&mut next, &self.store_id, &self.signing);
        let target = self.target.clone();
        insert_checkpoint(&mut self.client, &target, &self.node_id, &c)?;
        self.commit_state(next, true)?;
        Ok(Some(c))
    }

    fn commit_state(&mut self, next: ChainHead, evolved: bool) -> Result<()> {
        self.state = next;
        if evolved {
            self.key_file
                .write_both(&key_state(&self.store_id, &self.state, &self.signing))?;
        }
        Ok(())
    }
}

/// Ends `head`'s epoch at its head: the checkpoint, then the next key.
fn seal(head: &mut ChainHead, store_id: &[u8; 16], signing: &SigningKey) -> Checkpoint {
    let now = now_ns();
    let c = Checkpoint::seal(
        store_id,
        head.epoch,
        head.next_seq - 1,
        &head.head,
        now,
        &head.key,
        signing,
    );
    head.epoch += 1;
    head.key = evolve(&head.key, head.epoch);
    head.epoch_events = 0;
    head.epoch_started_ns = now;
    c
}

fn key_state(store_id: &[u8; 16], head: &ChainHead, signing: &SigningKey) -> KeyState {
    KeyState {
        store_id: *store_id,
        epoch: head.epoch,
        epoch_started_ns: head.epoch_started_ns,
        chain_key: head.key.clone(),
        signing: signing.clone(),
    }
}

fn create_node(
    client: &mut Client,
    target: &str,
    node_id: &str,
    key_path: &Path,
) -> Result<(KeyFile, KeyState, ChainHead)> {
    let mut store_id = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut store_id);
    let now = now_ns();
    let keys = KeyState::generate(store_id, now);
    let key_file = KeyFile::create(key_path, &keys)?;
    VerifyKey {
        store_id,
        epoch0_key: keys.chain_key.clone(),
        public_key: keys.signing.verifying_key(),
    }
    .write_new(&verify_key_path(key_path))?;
    insert_node(
        client,
        target,
        &NodeInfo {
            node_id: node_id.to_string(),
            store_id,
            public_key: keys.signing.verifying_key().to_bytes(),
            created_ns: now,
            copied_from: None,
        },
    )?;
    let head = ChainHead {
        epoch: 0,
        epoch_started_ns: now,
        key: keys.chain_key.clone(),
        head: genesis(&store_id),
        next_seq: 1,
        epoch_events: 0,
    };
    Ok((key_file, keys, head))
}

fn resume_node(
    client: &mut Client,
    target: &str,
    node: &NodeInfo,
    key_path: &Path,
) -> Result<(KeyFile, KeyState, ChainHead)> {
    let (mut key_file, mut keys) = KeyFile::open(key_path)?;
    let key_error = |detail: String| PgStoreError::NodeKey {
        path: key_path.to_path_buf(),
        detail,
    };
    if keys.store_id != node.store_id || keys.signing.verifying_key().to_bytes() != node.public_key
    {
        return Err(key_error(format!(
            "it is not the key of node \"{}\"'s chain (store id {} in the file, {} in the database)",
            node.node_id,
            hex::encode(keys.store_id),
            hex::encode(node.store_id)
        )));
    }
    let q = |op, e: postgres::Error| query_error(target, op, &e);
    let last_event = client
        .query_opt(
            "SELECT seq, chain FROM netaudit.events WHERE node_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&node.node_id],
        )
        .map_err(|e| q("read the node's head", e))?;
    let last_checkpoint = client
        .query_opt(
            "SELECT epoch, last_seq FROM netaudit.checkpoints WHERE node_id = $1 \
             ORDER BY epoch DESC LIMIT 1",
            &[&node.node_id],
        )
        .map_err(|e| q("read the node's last checkpoint", e))?;
    let (last_seq, head) = match &last_event {
        None => (0, genesis(&node.store_id)),
        Some(r) => {
            let chain: &[u8] = r.get(1);
            let chain: [u8; 32] = chain.try_into().map_err(|_| PgStoreError::BadRow {
                target: target.to_string(),
                node: node.node_id.clone(),
                seq: r.get(0),
                detail: "chain value is not 32 bytes".into(),
            })?;
            (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), chain)
        }
    };
    let (epoch, sealed_through) = match &last_checkpoint {
        None => (0, 0),
        Some(r) => (
            u64::try_from(r.get::<_, i64>(0)).unwrap_or(0) + 1,
            u64::try_from(r.get::<_, i64>(1)).unwrap_or(0),
        ),
    };
    if keys.epoch > epoch {
        return Err(key_error(format!(
            "the key file is at epoch {} but node \"{}\"'s checkpoints end with epoch {}: events \
             or checkpoints were removed from the database (run `netaudit verify --store ...`)",
            keys.epoch,
            node.node_id,
            i128::from(epoch) - 1
        )));
    }
    if keys.epoch < epoch {
        // A crash between the commit and the key file's update: derive forward.
        keys.chain_key = derive(&keys.chain_key, keys.epoch, epoch);
        keys.epoch = epoch;
        keys.epoch_started_ns = now_ns();
        key_file.write_both(&keys)?;
    }
    let head = ChainHead {
        epoch,
        epoch_started_ns: keys.epoch_started_ns,
        key: keys.chain_key.clone(),
        head,
        next_seq: last_seq + 1,
        epoch_events: last_seq.saturating_sub(sealed_through),
    };
    Ok((key_file, keys, head))
}
