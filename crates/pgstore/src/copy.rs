//! `store copy`: an embedded (SQLite) store moved into PostgreSQL as one
//! node's chain, in one transaction (a failed copy leaves nothing). Rows
//! keep their sequence numbers, epochs and chain values, and the
//! checkpoints are copied with them, so the chain verifies in PostgreSQL
//! with the embedded store's verify key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use netaudit_store::{Checkpoint, Reader};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::Client;

use crate::checkpoints::insert_checkpoint;
use crate::error::{PgStoreError, Result};
use crate::event_rows::{copy_statement, write_row, EVENT_TYPES};
use crate::node::{find_node, insert_node, lock_node, NodeInfo};
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
    /// The last sequence number copied (0 for an empty store).
    pub last_seq: u64,
    /// How long the copy took, commit included.
    pub elapsed: Duration,
}

/// Copies the embedded store whose catalog is `source` into a new node
/// `node_id`. `progress(done, total)` is called every few thousand events.
pub fn copy_sqlite_store(
    source: &Path,
    client: &mut Client,
    target: &str,
    node_id: &str,
    mut progress: impl FnMut(u64, u64),
) -> Result<CopySummary> {
    let started = Instant::now();
    check_schema(client, target)?;
    lock_node(client, target, node_id)?;
    let mut reader = Reader::open(source)?;
    let store_id = reader.store_id()?;
    let public_key = reader.public_key()?.ok_or_else(|| PgStoreError::Source {
        path: source.to_path_buf(),
        detail: "the store has no checkpoint signing key recorded (not a finished store)".into(),
    })?;
    let parts = reader.partitions()?;
    if let Some(first) = parts.first().map(|p| p.first_seq).filter(|f| *f > 1) {
        return Err(PgStoreError::Source {
            path: source.to_path_buf(),
            detail: format!(
                "retention has removed events 1..={}; copying a store with a retention anchor is \
                 not supported yet",
                first - 1
            ),
        });
    }
    let total = reader.last_seq()?;
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
        .map(|r| r.get(0));
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
        last_seq,
        elapsed: started.elapsed(),
    })
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
