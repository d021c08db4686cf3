//! `verify` for the PostgreSQL store: each node's chain walked on its own,
//! with the verify key of that chain, by the same rules as the embedded
//! store (`netaudit_store::ChainWalk`), in one read-only snapshot.

use netaudit_store::{BreakKind, ChainWalk, VerifyKey, VerifyReport};
use postgres::{Client, IsolationLevel, Transaction};

use crate::checkpoints::{load_checkpoints, to_i64};
use crate::error::{PgStoreError, Result};
use crate::event_rows::{read_row, EVENT_COLUMNS};
use crate::node::{list_nodes, NodeInfo};
use crate::row_value::RowValues;
use crate::schema::query_error;

/// Rows fetched per round trip while walking.
const FETCH_ROWS: i32 = 10_000;

/// The outcome for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeOutcome {
    /// Its chain was walked.
    Walked(Box<VerifyReport>),
    /// No verify key given is this node's chain's (matched by store id).
    NoKey,
}

/// One node and what verifying it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeVerification {
    /// The node.
    pub node: NodeInfo,
    /// What its walk found.
    pub outcome: NodeOutcome,
}

impl NodeVerification {
    /// Whether the node's chain was walked without a break.
    pub fn ok(&self) -> bool {
        matches!(&self.outcome, NodeOutcome::Walked(r) if r.ok())
    }
}

/// Verifies every node (or only `only`), each with the key among `keys`
/// whose store id is its chain's.
pub fn verify_nodes(
    client: &mut Client,
    target: &str,
    keys: &[VerifyKey],
    only: Option<&str>,
) -> Result<Vec<NodeVerification>> {
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| query_error(target, "start a read-only snapshot", &e))?;
    let nodes = list_nodes(&mut tx, target)?;
    let mut out = Vec::new();
    for node in nodes {
        if only.is_some_and(|o| o != node.node_id) {
            continue;
        }
        let outcome = match keys.iter().find(|k| k.store_id == node.store_id) {
            Some(key) => NodeOutcome::Walked(Box::new(walk_node(&mut tx, target, &node, key)?)),
            None => NodeOutcome::NoKey,
        };
        out.push(NodeVerification { node, outcome });
    }
    tx.commit()
        .map_err(|e| query_error(target, "end the snapshot", &e))?;
    Ok(out)
}

fn walk_node(
    tx: &mut Transaction<'_>,
    target: &str,
    node: &NodeInfo,
    key: &VerifyKey,
) -> Result<VerifyReport> {
    let mut walk = ChainWalk::new(key);
    if node.public_key != key.public_key.to_bytes() {
        walk.fail_at(
            0,
            BreakKind::Checkpoint,
            "the node's checkpoint signing key is not the one in the verify key".into(),
        );
    }
    for c in load_checkpoints(tx, target, &node.node_id)? {
        walk.add_checkpoint(c);
    }
    let (first_seq, covered) = retention_start(tx, target, &node.node_id)?;
    walk.start_after_retention(first_seq, covered);
    if !walk.failed() {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM netaudit.events WHERE node_id = $1 ORDER BY seq");
        let portal = tx
            .bind(sql.as_str(), &[&node.node_id])
            .map_err(|e| query_error(target, "scan the node's events", &e))?;
        'scan: loop {
            let rows = tx
                .query_portal(&portal, FETCH_ROWS)
                .map_err(|e| query_error(target, "scan the node's events", &e))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                if !walk.row(read_row(row, target)?) {
                    break 'scan;
                }
            }
        }
    }
    if let Some(r) = walk.take_failed_row() {
        let rows = tx
            .query(
                format!(
                    "SELECT {EVENT_COLUMNS} FROM netaudit.events \
                     WHERE node_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"
                )
                .as_str(),
                &[
                    &node.node_id,
                    &to_i64(r.seq.saturating_sub(16)),
                    &to_i64(r.seq + 16),
                ],
            )
            .map_err(|e| query_error(target, "read the rows around a break", &e))?;
        let window = rows
            .iter()
            .map(|row| read_row(row, target))
            .collect::<Result<Vec<_>>>()?;
        walk.classify(&r, &window);
    }
    walk.check_end();
    Ok(walk.into_report())
}

/// Where the node's chain starts (above 1 for a store copied after
/// retention) and whether its retention records account for the events
/// before it, as `netaudit verify` checks them on the embedded store.
fn retention_start(tx: &mut Transaction<'_>, target: &str, node: &str) -> Result<(u64, bool)> {
    let row = tx
        .query_one(
            "SELECT n.first_seq, (SELECT max(r.last_seq) FROM netaudit.retention r \
                 WHERE r.node_id = n.node_id AND r.last_seq < n.first_seq) \
             FROM netaudit.nodes n WHERE n.node_id = $1",
            &[&node],
        )
        .map_err(|e| query_error(target, "read where the chain starts", &e))?;
    let values = RowValues::new(&row, target, "nodes", format!("node \"{node}\""));
    let first: i64 = values.get(0)?;
    let covered_through: Option<i64> = values.get(1)?;
    let first = u64::try_from(first).map_err(|_| PgStoreError::BadValue {
        target: target.to_string(),
        table: "nodes",
        column: "first_seq".into(),
        row: format!("node \"{node}\"").into(),
        detail: format!("{first} is not a sequence number").into(),
    })?;
    Ok((first, covered_through == Some(to_i64(first) - 1)))
}
