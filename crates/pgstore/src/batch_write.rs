//! One batch of a node's chain in one transaction, and the chain state it
//! moves: the binary COPY of the chained rows, the checkpoints of the
//! epochs the batch ends, the commit notification; and the same chain
//! computed without writing, to recognise a batch given again after its
//! commit was in doubt (`NodeWriter`, node_writer.rs, keeps the state).

use ed25519_dalek::SigningKey;
use netaudit_store::{
    chain_value, decode_event, encode_event, evolve, AppendEvent, Checkpoint, KeyState,
    PreparedBatch, SecretKey,
};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::Client;

use crate::checkpoints::insert_checkpoint_raw;
use crate::copy::now_ns;
use crate::error::PgStoreError;
use crate::event_rows::{copy_statement, write_columns, write_row, EVENT_TYPES};
use crate::reconnect::is_session_lost;
use crate::schema::query_error;

/// The LISTEN/NOTIFY channel a node notifies in each batch's transaction
/// (payload `node_id last_seq`), so consumers wake on commit.
pub const EVENTS_CHANNEL: &str = "netaudit_events";

/// The writer's place in its chain; cloned for a batch and kept only once
/// the batch has committed.
#[derive(Clone)]
pub(crate) struct ChainHead {
    pub(crate) epoch: u64,
    pub(crate) epoch_started_ns: i64,
    pub(crate) key: SecretKey,
    pub(crate) head: [u8; 32],
    pub(crate) next_seq: u64,
    pub(crate) epoch_events: u64,
}

/// Ends `head`'s epoch at its head: the checkpoint, then the next key.
pub(crate) fn seal(head: &mut ChainHead, store_id: &[u8; 16], signing: &SigningKey) -> Checkpoint {
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

/// Why a batch's transaction did not commit.
pub(crate) enum Attempt {
    /// The session is gone: the outcome is in doubt.
    SessionLost(PgStoreError),
    /// The server refused a statement (nothing committed).
    Refused(PgStoreError),
}

pub(crate) fn attempt_error(target: &str, op: &'static str, e: &postgres::Error) -> Attempt {
    if is_session_lost(e) {
        Attempt::SessionLost(query_error(target, op, e))
    } else {
        Attempt::Refused(query_error(target, op, e))
    }
}

/// The chain's keys and how long an epoch is.
pub(crate) type ChainKeys<'a> = (&'a [u8; 16], &'a SigningKey, u64);

/// One batch in one transaction: binary COPY of the chained rows, the
/// checkpoints of epochs it fills, the commit notification. `next` ends as
/// the state after the batch; returns whether an epoch was sealed.
pub(crate) fn write_batch<E: AppendEvent>(
    client: &mut Client,
    target: &str,
    node_id: &str,
    buf: &mut Vec<u8>,
    (store_id, signing, epoch_limit): ChainKeys<'_>,
    next: &mut ChainHead,
    events: &[E],
) -> std::result::Result<bool, Attempt> {
    let mut sealed = Vec::new();
    let mut tx = client
        .transaction()
        .map_err(|e| attempt_error(target, "begin a batch", &e))?;
    let sink = tx
        .copy_in(copy_statement().as_str())
        .map_err(|e| attempt_error(target, "start a batch", &e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
    for event in events {
        buf.clear();
        encode_event(event, buf);
        let seq = next.next_seq;
        let chain = chain_value(&next.key, &next.head, seq, next.epoch, buf);
        write_row(&mut writer, node_id, seq, next.epoch, event, &chain)
            .map_err(|e| attempt_error(target, "write a batch", &e))?;
        next.head = chain;
        next.next_seq += 1;
        next.epoch_events += 1;
        if next.epoch_events >= epoch_limit {
            sealed.push(seal(next, store_id, signing));
        }
    }
    writer
        .finish()
        .map_err(|e| attempt_error(target, "finish a batch", &e))?;
    commit_batch(tx, target, node_id, next, &sealed)
}

/// The state `events` would leave, without writing them (to recognise a
/// batch given again after its commit was in doubt).
pub(crate) fn chain_only<E: AppendEvent>(
    buf: &mut Vec<u8>,
    (store_id, signing, epoch_limit): ChainKeys<'_>,
    next: &mut ChainHead,
    events: &[E],
) {
    for event in events {
        buf.clear();
        encode_event(event, buf);
        next.head = chain_value(&next.key, &next.head, next.next_seq, next.epoch, buf);
        next.next_seq += 1;
        next.epoch_events += 1;
        if next.epoch_events >= epoch_limit {
            seal(next, store_id, signing);
        }
    }
}

pub(crate) fn key_state(store_id: &[u8; 16], head: &ChainHead, signing: &SigningKey) -> KeyState {
    KeyState {
        store_id: *store_id,
        epoch: head.epoch,
        epoch_started_ns: head.epoch_started_ns,
        chain_key: head.key.clone(),
        signing: signing.clone(),
    }
}

/// A prepared batch's chain (its canonical encodings, the very bytes the
/// chain covers) and where it goes: the open epoch ended first when
/// `time_seal` (its time is up, [`time_seal_due`]).
pub(crate) fn write_prepared(
    client: &mut Client,
    target: &str,
    node_id: &str,
    (store_id, signing, epoch_limit): ChainKeys<'_>,
    time_seal: bool,
    next: &mut ChainHead,
    batch: &PreparedBatch,
) -> std::result::Result<bool, Attempt> {
    let mut sealed = Vec::new();
    if time_seal && next.epoch_events > 0 {
        sealed.push(seal(next, store_id, signing));
    }
    let mut tx = client
        .transaction()
        .map_err(|e| attempt_error(target, "begin a batch", &e))?;
    let sink = tx
        .copy_in(copy_statement().as_str())
        .map_err(|e| attempt_error(target, "start a batch", &e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
    for i in 0..batch.len() {
        let (encoding, params) = batch.encoding(i);
        let event = decode_event(encoding).map_err(|e| {
            Attempt::Refused(PgStoreError::BadBatch {
                index: i,
                detail: e.to_string(),
            })
        })?;
        let seq = next.next_seq;
        let chain = chain_value(&next.key, &next.head, seq, next.epoch, encoding);
        write_columns(
            &mut writer,
            node_id,
            seq,
            next.epoch,
            &event,
            params,
            &chain,
        )
        .map_err(|e| attempt_error(target, "write a batch", &e))?;
        next.head = chain;
        next.next_seq += 1;
        next.epoch_events += 1;
        if next.epoch_events >= epoch_limit {
            sealed.push(seal(next, store_id, signing));
        }
    }
    writer
        .finish()
        .map_err(|e| attempt_error(target, "finish a batch", &e))?;
    commit_batch(tx, target, node_id, next, &sealed)
}

/// [`chain_only`] for a prepared batch, the epoch ended first when
/// `time_seal`, as [`write_prepared`] did (the caller gives the decision
/// of the attempt in doubt: time has moved on since).
pub(crate) fn chain_only_prepared(
    (store_id, signing, epoch_limit): ChainKeys<'_>,
    time_seal: bool,
    next: &mut ChainHead,
    batch: &PreparedBatch,
) {
    if time_seal && next.epoch_events > 0 {
        seal(next, store_id, signing);
    }
    for i in 0..batch.len() {
        let (encoding, _) = batch.encoding(i);
        next.head = chain_value(&next.key, &next.head, next.next_seq, next.epoch, encoding);
        next.next_seq += 1;
        next.epoch_events += 1;
        if next.epoch_events >= epoch_limit {
            seal(next, store_id, signing);
        }
    }
}

/// Whether the epoch `head` is in has events and `interval_ns` has passed
/// since it began (the next batch ends it first).
pub(crate) fn time_seal_due(head: &ChainHead, interval_ns: Option<i64>) -> bool {
    interval_ns.is_some_and(|interval| {
        head.epoch_events > 0 && now_ns().saturating_sub(head.epoch_started_ns) >= interval
    })
}

/// The end of a batch's transaction, once its rows are copied: the
/// checkpoints of the epochs it ends, the commit notification, the commit.
/// Returns whether an epoch was sealed.
fn commit_batch(
    mut tx: postgres::Transaction<'_>,
    target: &str,
    node_id: &str,
    next: &ChainHead,
    sealed: &[Checkpoint],
) -> std::result::Result<bool, Attempt> {
    for c in sealed {
        insert_checkpoint_raw(&mut tx, node_id, c)
            .map_err(|e| attempt_error(target, "store a checkpoint", &e))?;
    }
    let payload = format!("{node_id} {}", next.next_seq - 1);
    tx.execute("SELECT pg_notify($1, $2)", &[&EVENTS_CHANNEL, &payload])
        .map_err(|e| attempt_error(target, "notify the batch", &e))?;
    tx.commit()
        .map_err(|e| attempt_error(target, "commit a batch", &e))?;
    Ok(!sealed.is_empty())
}
