//! A node appending to its own chain in PostgreSQL: the chain rules of the
//! embedded store (docs/store.md: HMAC chain under a key that evolves one
//! way at each epoch, a signed checkpoint in the same transaction as the
//! epoch's last event, the key file advanced only after the commit), with
//! the node id's lock held for the session: no lock shared with other
//! nodes sits on this path.
//!
//! When the session is lost (the primary died and a standby was promoted),
//! the writer connects again with a bounded backoff, takes its lock again
//! and reads its chain's head back: a batch whose COMMIT outcome was in
//! doubt is acknowledged if the head is the batch's last event, written
//! again if the head is where the batch began, and anything else is an
//! error (never appended twice, never acknowledged if lost). Each commit
//! notifies [`EVENTS_CHANNEL`] (`node_id last_seq`, delivered on commit).

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use netaudit_store::{
    derive, genesis, AppendEvent, Checkpoint, KeyFile, KeyState, PreparedBatch, VerifyKey,
};
use postgres::Client;

pub use crate::batch_write::EVENTS_CHANNEL;
use crate::batch_write::{
    chain_only, chain_only_prepared, key_state, seal, time_seal_due, write_batch, write_prepared,
    Attempt, ChainHead, ChainKeys,
};
use crate::checkpoints::{insert_checkpoint, insert_checkpoint_raw};
use crate::connection::ConnectionSpec;
use crate::copy::now_ns;
use crate::error::{PgStoreError, Result};
use crate::node::{find_node, insert_node, lock_node, NodeInfo};
use crate::reconnect::{is_session_lost, reconnect, ReconnectPolicy};
use crate::row_value::RowValues;
use crate::schema::{check_schema, query_error};

/// How many times one call may lose its session before it reports the
/// error (each reconnection is itself bounded by the [`ReconnectPolicy`]).
const MAX_SESSIONS_PER_CALL: u32 = 8;

/// What a writer went through (for metrics and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Sessions opened again after one was lost.
    pub reconnects: u64,
    /// Batches in doubt found committed when the head was read back.
    pub resolved_committed: u64,
    /// Batches in doubt found not committed, and written again.
    pub resolved_lost: u64,
    /// Events of a batch in doubt that was committed although its call
    /// had reported an error (the caller may have sent them again).
    pub committed_after_error: u64,
}

/// Events per epoch unless told otherwise (the embedded store's default).
pub const DEFAULT_EPOCH_EVENTS: u64 = 100_000;

/// The writer of one node's chain.
pub struct NodeWriter {
    spec: ConnectionSpec,
    /// `None` once the session is lost, until it is opened again.
    client: Option<Client>,
    policy: ReconnectPolicy,
    /// The state a batch whose outcome is in doubt would leave (it was
    /// chained from `state`, which has not moved since).
    pending: Option<ChainHead>,
    /// Whether the prepared batch in doubt ended the epoch by time first
    /// (a decision that depends on the clock, so kept, not taken again).
    pending_time_seal: bool,
    /// The epoch whose checkpoint was being stored when the session was
    /// lost (read back by the next session).
    seal_in_doubt: Option<u64>,
    stats: WriterStats,
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
            spec: spec.clone(),
            client: Some(client),
            policy: ReconnectPolicy::default(),
            pending: None,
            pending_time_seal: false,
            seal_in_doubt: None,
            stats: WriterStats::default(),
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

    /// How the writer reconnects after losing its session (default
    /// [`ReconnectPolicy::default`]).
    pub fn with_reconnect(mut self, policy: ReconnectPolicy) -> NodeWriter {
        self.policy = policy;
        self
    }

    /// What the writer went through.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// Appends `events` in one transaction; returns their sequence numbers
    /// (first, last) once committed. An epoch that fills up is sealed in the
    /// same transaction; the key file follows after the commit. A lost
    /// session is opened again (bounded, [`ReconnectPolicy`]) and a batch in
    /// doubt resolved from the chain's head in the database (module docs).
    /// An error means the events are not acknowledged; giving the same
    /// events again is safe (a batch that did commit is recognised).
    pub fn append_batch<E: AppendEvent>(&mut self, events: &[E]) -> Result<(u64, u64)> {
        let first = self.state.next_seq;
        if events.is_empty() {
            return Ok((first, first - 1));
        }
        let mut sessions = 0;
        loop {
            if self.client.is_none() {
                sessions += 1;
                self.open_session()?;
            }
            let again = |buf: &mut Vec<u8>, keys: ChainKeys<'_>, next: &mut ChainHead| {
                chain_only(buf, keys, next, events);
            };
            if let Some(done) = self.resolve_pending(again)? {
                return Ok(done);
            }
            let first = self.state.next_seq;
            let mut next = self.state.clone();
            let Some(client) = self.client.as_mut() else {
                continue;
            };
            let written = write_batch(
                client,
                &self.target,
                &self.node_id,
                &mut self.buf,
                (&self.store_id, &self.signing, self.epoch_limit),
                &mut next,
                events,
            );
            match written {
                Ok(sealed) => {
                    let last = next.next_seq - 1;
                    self.commit_state(next, sealed)?;
                    return Ok((first, last));
                }
                Err(Attempt::Refused(e)) => return Err(e),
                Err(Attempt::SessionLost(e)) => {
                    self.client = None;
                    self.pending = Some(next);
                    self.pending_time_seal = false;
                    if sessions >= MAX_SESSIONS_PER_CALL {
                        return Err(e);
                    }
                }
            }
        }
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
    /// A lost session is opened again and a batch in doubt resolved, as
    /// [`append_batch`] does; an error means not acknowledged, and the same
    /// batch may be given again.
    ///
    /// [`append_batch`]: NodeWriter::append_batch
    pub fn append_prepared(&mut self, batch: &PreparedBatch) -> Result<(u64, u64)> {
        if batch.is_empty() {
            let next = self.state.next_seq;
            return Ok((next, next - 1));
        }
        let interval = self.epoch_interval_ns;
        let mut sessions = 0;
        loop {
            if self.client.is_none() {
                sessions += 1;
                self.open_session()?;
            }
            let in_doubt_sealed = self.pending_time_seal;
            let again = |_: &mut Vec<u8>, keys: ChainKeys<'_>, next: &mut ChainHead| {
                chain_only_prepared(keys, in_doubt_sealed, next, batch);
            };
            if let Some(done) = self.resolve_pending(again)? {
                return Ok(done);
            }
            let first = self.state.next_seq;
            let mut next = self.state.clone();
            let time_seal = time_seal_due(&next, interval);
            let Some(client) = self.client.as_mut() else {
                continue;
            };
            let written = write_prepared(
                client,
                &self.target,
                &self.node_id,
                (&self.store_id, &self.signing, self.epoch_limit),
                time_seal,
                &mut next,
                batch,
            );
            match written {
                Ok(sealed) => {
                    let last = next.next_seq - 1;
                    self.commit_state(next, sealed)?;
                    return Ok((first, last));
                }
                Err(Attempt::Refused(e)) => return Err(e),
                Err(Attempt::SessionLost(e)) => {
                    self.client = None;
                    self.pending = Some(next);
                    self.pending_time_seal = time_seal;
                    if sessions >= MAX_SESSIONS_PER_CALL {
                        return Err(e);
                    }
                }
            }
        }
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
        if self.client.is_none() {
            self.open_session()?;
        }
        if self.pending.is_some() {
            self.resolve_pending(|_: &mut Vec<u8>, _: ChainKeys<'_>, _: &mut ChainHead| {})?;
        }
        let mut next = self.state.clone();
        let c = seal(&mut next, &self.store_id, &self.signing);
        let target = self.target.clone();
        let Some(client) = self.client.as_mut() else {
            return Err(self.lost("seal the epoch"));
        };
        if let Err(e) = insert_checkpoint_raw(client, &self.node_id, &c) {
            if !is_session_lost(&e) {
                return Err(query_error(&target, "store a checkpoint", &e));
            }
            // In doubt: the next session reads the checkpoint back (this
            // call's, or the next operation's if this one cannot connect).
            self.client = None;
            self.seal_in_doubt = Some(c.epoch);
            self.open_session()?;
            if self.state.epoch > c.epoch {
                return Ok(Some(c));
            }
            let Some(client) = self.client.as_mut() else {
                return Err(self.lost("seal the epoch"));
            };
            insert_checkpoint(client, &target, &self.node_id, &c)?;
        }
        self.commit_state(next, true)?;
        Ok(Some(c))
    }

    /// Opens a new session (bounded backoff) and takes the node's lock
    /// again; while the old session still holds it on the server, waits.
    fn open_session(&mut self) -> Result<()> {
        let (target, node) = (self.target.clone(), self.node_id.clone());
        let (client, _failed) = reconnect(&self.spec, &self.policy, |client| {
            match lock_node(client, &target, &node) {
                Ok(()) => Ok(true),
                Err(PgStoreError::NodeInUse { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })?;
        self.client = Some(client);
        self.stats.reconnects += 1;
        if let Some(epoch) = self.seal_in_doubt.take() {
            if self.checkpoint_stored(epoch)? {
                // The seal committed before its answer was lost.
                let mut next = self.state.clone();
                seal(&mut next, &self.store_id, &self.signing);
                self.commit_state(next, true)?;
            }
        }
        if self.pending.is_none() {
            // Nothing in doubt: the database must end where this writer
            // does (else an asynchronous standby lost committed events,
            // or the rows were changed).
            let (stored, chain) = self.read_head()?;
            let before = self.state.next_seq - 1;
            if stored != before || chain != self.state.head {
                self.client = None;
                return Err(PgStoreError::NodeHead {
                    target: self.target.clone(),
                    node: self.node_id.clone(),
                    stored,
                    committed: before,
                    pending: String::new(),
                });
            }
        }
        Ok(())
    }
    fn lost(&self, op: &'static str) -> PgStoreError {
        PgStoreError::Query {
            target: self.target.clone(),
            op,
            detail: "the session to the database is lost".into(),
        }
    }

    /// With a batch in doubt, reads the chain's head back: `Some` when the
    /// batch given now (`again` chains it onto a state) is that batch and
    /// it committed (acknowledge it), `None` when the given batch is still
    /// to be written (after the state has taken up a different batch that
    /// did commit).
    fn resolve_pending(
        &mut self,
        again: impl FnOnce(&mut Vec<u8>, ChainKeys<'_>, &mut ChainHead),
    ) -> Result<Option<(u64, u64)>> {
        let Some(pending) = self.pending.clone() else {
            return Ok(None);
        };
        let (stored, chain) = self.read_head()?;
        let before = self.state.next_seq - 1;
        let after = pending.next_seq - 1;
        if stored == before && chain == self.state.head {
            self.pending = None;
            self.stats.resolved_lost += 1;
            return Ok(None);
        }
        if stored == after && chain == pending.head {
            self.pending = None;
            self.stats.resolved_committed += 1;
            let first = self.state.next_seq;
            // An empty batch (a seal) chains nothing, so is never the same.
            let mut given = self.state.clone();
            again(
                &mut self.buf,
                (&self.store_id, &self.signing, self.epoch_limit),
                &mut given,
            );
            let same = given.next_seq == pending.next_seq && given.head == pending.head;
            let sealed = pending.epoch != self.state.epoch;
            if !same {
                self.stats.committed_after_error += after - before;
            }
            self.commit_state(pending, sealed)?;
            return Ok(same.then_some((first, after)));
        }
        Err(PgStoreError::NodeHead {
            target: self.target.clone(),
            node: self.node_id.clone(),
            stored,
            committed: before,
            pending: format!(" (a batch through {after} was in doubt)"),
        })
    }

    /// The last sequence number and chain value of the node in the
    /// database (0 and the genesis before the first event).
    fn read_head(&mut self) -> Result<(u64, Vec<u8>)> {
        let Some(client) = self.client.as_mut() else {
            return Err(self.lost("read the node's head"));
        };
        let head = client
            .query_opt(
                "SELECT seq, chain FROM netaudit.events WHERE node_id = $1 ORDER BY seq DESC LIMIT 1",
                &[&self.node_id],
            )
            .map_err(|e| query_error(&self.target, "read the node's head", &e))?;
        Ok(match &head {
            None => (0, genesis(&self.store_id).to_vec()),
            Some(r) => (
                u64::try_from(
                    r.try_get::<_, i64>(0)
                        .map_err(|e| query_error(&self.target, "read the node's head", &e))?,
                )
                .unwrap_or(0),
                r.try_get::<_, &[u8]>(1)
                    .map_err(|e| query_error(&self.target, "read the node's head", &e))?
                    .to_vec(),
            ),
        })
    }

    fn checkpoint_stored(&mut self, epoch: u64) -> Result<bool> {
        let Some(client) = self.client.as_mut() else {
            return Err(self.lost("read the node's checkpoints"));
        };
        let epoch = i64::try_from(epoch).unwrap_or(i64::MAX);
        Ok(client
            .query_opt(
                "SELECT 1 FROM netaudit.checkpoints WHERE node_id = $1 AND epoch = $2",
                &[&self.node_id, &epoch],
            )
            .map_err(|e| query_error(&self.target, "read the node's checkpoints", &e))?
            .is_some())
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
            let mut values =
                RowValues::new(r, target, "events", format!("node \"{}\"", node.node_id));
            let seq: i64 = values.get(0)?;
            values.set_place(format!("node \"{}\", sequence {seq}", node.node_id));
            let chain: &[u8] = values.get(1)?;
            let chain: [u8; 32] = chain.try_into().map_err(|_| PgStoreError::BadRow {
                target: target.to_string(),
                node: node.node_id.clone(),
                seq,
                detail: "chain value is not 32 bytes".into(),
            })?;
            (u64::try_from(seq).unwrap_or(0), chain)
        }
    };
    let (epoch, sealed_through) = match &last_checkpoint {
        None => (0, 0),
        Some(r) => {
            let values = RowValues::new(
                r,
                target,
                "checkpoints",
                format!("node \"{}\"", node.node_id),
            );
            (
                u64::try_from(values.get::<i64>(0)?).unwrap_or(0) + 1,
                u64::try_from(values.get::<i64>(1)?).unwrap_or(0),
            )
        }
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
