//! `store copy`: an embedded (SQLite) store moved into PostgreSQL as one
//! node's chain, in one transaction (a failed copy leaves nothing). Rows
//! keep their sequence numbers, epochs and chain values, and the
//! checkpoints are copied with them, so the chain verifies in PostgreSQL
//! with the embedded store's verify key. The copy holds the store's writer
//! lock from start to commit, so no `serve` appends to (or starts on) the
//! store while it is read: the copy is the whole store.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use netaudit_store::{Checkpoint, Reader, RetentionRecord, StoreConfig, WriterLock};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::Client;

use crate::checkpoints::{insert_checkpoint, to_i64};
use crate::error::{PgStoreError, Result};
use crate::event_rows::{copy_statement, write_row, EVENT_TYPES};
use crate::node::{find_node, insert_node, lock_node, NodeInfo};
use crate::row_value::RowValues;
use crate::schema::{check_schema, query_error};

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY: u64 = 10_000;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    /// The node the chain became.
    pub node_id: String,
    /// Events copied.
    pub events: u64,
    /// Checkpoints copied.
    pub checkpoints: u64,
    /// The first sequence number copied: above 1 when retention had
    /// dropped the first events (the chain starts at its retention anchor).
    pub first_seq: u64,
    /// The last sequence number copied (0 for an empty store).
    pub last_seq: u64,
    /// How long the copy took, commit included.
    pub elapsed: Duration,
}

/// Copies the embedded store whose catalog is `source` into a new node
/// `node_id`. `progress(done, total)` is called every few thousand events.
/// A store whose writer lock is held (a running `serve`) is refused with
/// `StoreError::Locked` naming the store.
pub fn copy_sqlite_store(
    source: &Path,
    client: &mut Client,
    target: &str,
    node_id: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<CopySummary> {
    let started = Instant::now();
    let _writer_lock = WriterLock::acquire(&StoreConfig::new(source.to_path_buf()))?;
    check_schema(client, target)?;
    lock_node(client, target, node_id)?;
    let mut reader = Reader::open(source)?;
    let store_id = reader.store_id()?;
    let public_key = reader.public_key()?.ok_or_else(|| PgStoreError::Source {
        path: source.to_path_buf(),
        detail: "the store has no checkpoint signing key recorded (not a finished store)".into(),
    })?;
    // A store retention has cut starts at its first kept event; the
    // checkpoint before it (kept in the catalog) anchors the copied chain,
    // and the retention records say what was dropped.
    let first_seq = reader.partitions()?.first().map_or(1, |p| p.first_seq);
    let retention = reader.retention_log()?;
    let total = reader.last_seq()?.saturating_sub(first_seq - 1);
    if let Some(node) = find_node(client, target, node_id)? {
        let events: i64 = client
            .query_one(
                "SELECT count(*) FROM netaudit.events WHERE node_id = $1",
                &[&node.node_id],
            )
            .map_err(|e| query_error(target, "count the node's events", &e))?
            .get(0);
        return Err(PgStoreError::NodeExists {
            node: node_id.to_string(),
            target: target.to_string(),
            events,
        });
    }
    let already: Option<String> = client
        .query_opt(
            "SELECT node_id FROM netaudit.nodes WHERE store_id = $1",
            &[&store_id.as_slice()],
        )
        .map_err(|e| query_error(target, "look for the store", &e))?
        .map(|r| RowValues::new(&r, target, "nodes", "the node of this store".into()).get(0))
        .transpose()?;
    if let Some(other) = already {
        return Err(PgStoreError::Source {
            path: source.to_path_buf(),
            detail: format!(
                "this store (id {}) is already in the database as node \"{other}\"",
                hex::encode(store_id)
            ),
        });
    }
    // Both copies of each checkpoint: the catalog's, and the partition's
    // for an epoch the catalog has not copied yet (a crash between them).
    let mut checkpoints: BTreeMap<u64, Checkpoint> = reader
        .catalog_checkpoints()?
        .into_iter()
        .map(|c| (c.epoch, c))
        .collect();
    for (_, c) in reader.partition_checkpoints()? {
        checkpoints.entry(c.epoch).or_insert(c);
    }

    let mut tx = client
        .transaction()
        .map_err(|e| query_error(target, "begin the copy", &e))?;
    insert_node(
        &mut tx,
        target,
        &NodeInfo {
            node_id: node_id.to_string(),
            store_id,
            public_key,
            created_ns: now_ns(),
            copied_from: Some(format!("sqlite:{}", source.display())),
        },
    )?;
    if first_seq > 1 {
        record_retention(&mut tx, target, node_id, first_seq, &retention)?;
    }
    let sink = tx
        .copy_in(copy_statement().as_str())
        .map_err(|e| query_error(target, "start copying events", &e))?;
    let mut writer = BinaryCopyInWriter::new(sink, &EVENT_TYPES);
    let mut copied = 0u64;
    let mut last_seq = 0u64;
    let mut failed = None;
    reader.scan(0, u64::MAX, |row| {
        if let Err(e) = write_row(&mut writer, node_id, row.seq, row.epoch, &row, &row.chain) {
            failed = Some(query_error(target, "copy events", &e));
            return Ok(false);
        }
        copied += 1;
        last_seq = row.seq;
        if copied.is_multiple_of(PROGRESS_EVERY) {
            progress(copied, total);
        }
        Ok(true)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    writer
        .finish()
        .map_err(|e| query_error(target, "finish copying events", &e))?;
    for c in checkpoints.values() {
        insert_checkpoint(&mut tx, target, node_id, c)?;
    }
    tx.commit()
        .map_err(|e| query_error(target, "commit the copy", &e))?;
    progress(copied, total);
    Ok(CopySummary {
        node_id: node_id.to_string(),
        events: copied,
        checkpoints: checkpoints.len() as u64,
        first_seq,
        last_seq,
        elapsed: started.elapsed(),
    })
}

/// Where the copied chain starts, and the store's retention records.
fn record_retention(
    tx: &mut postgres::Transaction<'_>,
    target: &str,
    node_id: &str,
    first_seq: u64,
    records: &[RetentionRecord],
) -> Result<()> {
    tx.execute(
        "UPDATE netaudit.nodes SET first_seq = $2 WHERE node_id = $1",
        &[&node_id, &to_i64(first_seq)],
    )
    .map_err(|e| query_error(target, "record where the chain starts", &e))?;
    for r in records {
        tx.execute(
            "INSERT INTO netaudit.retention (node_id, first_seq, last_seq, anchor_epoch, time_ns, reason) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &node_id,
                &to_i64(r.first_seq),
                &to_i64(r.last_seq),
                &to_i64(r.anchor_epoch),
                &r.time_ns,
                &r.reason,
            ],
        )
        .map_err(|e| query_error(target, "copy the retention records", &e))?;
    }
    Ok(())
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
