//! Nodes: each node id names one chain in the database (its store id,
//! signing public key). A node id is held by one live process at a time:
//! the holder keeps a session-level advisory lock derived from the id, which
//! PostgreSQL releases when the session ends (a crashed node's lock goes
//! with its connection), so a second process with the same id is refused.

use postgres::{Client, GenericClient};
use sha2::{Digest, Sha256};

use crate::error::{PgStoreError, Result};
use crate::row_value::RowValues;
use crate::schema::query_error;

/// One row of `netaudit.nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node id.
    pub node_id: String,
    /// The chain's identity (genesis and checkpoints are bound to it).
    pub store_id: [u8; 16],
    /// The checkpoint signing public key.
    pub public_key: [u8; 32],
    /// When the node was made (Unix ns).
    pub created_ns: i64,
    /// `sqlite:PATH` when the chain was copied from an embedded store.
    pub copied_from: Option<String>,
}

/// Checks a node id: 1 to 64 of `[A-Za-z0-9._-]` (the schema checks too).
pub fn check_node_id(node: &str) -> Result<()> {
    let ok = (1..=64).contains(&node.len())
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(PgStoreError::BadNodeId {
            node: node.to_string(),
        })
    }
}

/// The advisory lock key of a node id: the first 8 bytes of a
/// domain-separated SHA-256 (no other netaudit lock uses this domain).
fn lock_key(node: &str) -> i64 {
    let digest = Sha256::digest([b"netaudit/node-lock/v1/".as_slice(), node.as_bytes()].concat());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Takes the node's lock for this session, or says who holds it.
pub fn lock_node(client: &mut Client, target: &str, node: &str) -> Result<()> {
    check_node_id(node)?;
    let key = lock_key(node);
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .map_err(|e| query_error(target, "take the node's lock", &e))?
        .get(0);
    if got {
        return Ok(());
    }
    // A bigint advisory key shows in pg_locks as classid (high half) and
    // objid (low half), objsubid 1.
    let holder: Option<i32> = client
        .query_opt(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 \
             AND classid::bigint = (($1::bigint >> 32) & 4294967295) \
             AND objid::bigint = ($1::bigint & 4294967295) AND granted LIMIT 1",
            &[&key],
        )
        .map_err(|e| query_error(target, "find the node's holder", &e))?
        .map(|r| r.get(0));
    Err(PgStoreError::NodeInUse {
        node: node.to_string(),
        holder: holder.unwrap_or(0),
    })
}

/// Every node, by id.
pub fn list_nodes(client: &mut impl GenericClient, target: &str) -> Result<Vec<NodeInfo>> {
    let rows = client
        .query(
            "SELECT node_id, store_id, public_key, created_ns, copied_from \
             FROM netaudit.nodes ORDER BY node_id",
            &[],
        )
        .map_err(|e| query_error(target, "list the nodes", &e))?;
    rows.iter().map(|r| node_from_row(r, target)).collect()
}

/// One node, if it exists.
pub fn find_node(
    client: &mut impl GenericClient,
    target: &str,
    node: &str,
) -> Result<Option<NodeInfo>> {
    client
        .query_opt(
            "SELECT node_id, store_id, public_key, created_ns, copied_from \
             FROM netaudit.nodes WHERE node_id = $1",
            &[&node],
        )
        .map_err(|e| query_error(target, "read the node", &e))?
        .map(|r| node_from_row(&r, target))
        .transpose()
}

/// Records a new node.
pub(crate) fn insert_node(
    client: &mut impl GenericClient,
    target: &str,
    info: &NodeInfo,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO netaudit.nodes (node_id, store_id, public_key, created_ns, copied_from) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &info.node_id,
                &info.store_id.as_slice(),
                &info.public_key.as_slice(),
                &info.created_ns,
                &info.copied_from,
            ],
        )
        .map_err(|e| query_error(target, "record the node", &e))?;
    Ok(())
}

fn node_from_row(r: &postgres::Row, target: &str) -> Result<NodeInfo> {
    let mut values = RowValues::new(r, target, "nodes", "a node row".into());
    let node_id: String = values.get(0)?;
    values.set_place(format!("node \"{node_id}\""));
    let bad = |what: &str| PgStoreError::Query {
        target: target.to_string(),
        op: "read the node",
        detail: format!("node \"{node_id}\": {what}"),
    };
    let store_id: &[u8] = values.get(1)?;
    let public_key: &[u8] = values.get(2)?;
    Ok(NodeInfo {
        store_id: store_id
            .try_into()
            .map_err(|_| bad("store id is not 16 bytes"))?,
        public_key: public_key
            .try_into()
            .map_err(|_| bad("public key is not 32 bytes"))?,
        created_ns: values.get(3)?,
        copied_from: values.get(4)?,
        node_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids() {
        for good in ["n1", "dc-1.node_2", &"a".repeat(64)] {
            check_node_id(good).unwrap();
        }
        for bad in ["", "a b", "n/1", "é", &"a".repeat(65)] {
            assert!(check_node_id(bad).is_err(), "{bad}");
        }
        assert_ne!(lock_key("n1"), lock_key("n2"));
    }
}
