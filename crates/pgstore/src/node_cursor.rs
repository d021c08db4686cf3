//! An output's cursor per node in `netaudit.output_node_cursors`: for each
//! node, the last sequence number of its chain the output has delivered
//! (`seq`) and the last it has read (`read_seq`).
//!
//! Why per node rather than one position in the global order
//! (`output_cursors`): a node may still commit an event received before
//! one another node has already committed, so a single position would skip
//! it; each node's own sequence numbers grow with its commits and a batch
//! commits whole, so "everything of node N up to S" is exact. The reader
//! follows each node after its cursor, merged in the global order, as the
//! live tail does (`events_after`).
//!
//! Every write names the lease (node and generation) and happens only
//! while the lease row says so, so a node whose output was taken over
//! cannot move the new owner's cursors. `read_seq` lets a new owner count
//! the events it delivers again: those the old owner had read past its
//! cursor (it may have delivered them).

use postgres::types::ToSql;
use postgres::GenericClient;

use crate::checkpoints::to_i64;
use crate::error::Result;
use crate::lease::OutputLease;
use crate::query::NodeHeads;

/// Where an output is, per node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeCursors {
    /// Each node's last sequence number delivered (a node not listed: none).
    pub delivered: NodeHeads,
    /// Each node's last sequence number read by the owner that wrote it
    /// (at least `delivered`).
    pub read: NodeHeads,
}

/// The lease's output's cursors.
pub fn read_node_cursors(lease: &mut OutputLease) -> Result<NodeCursors> {
    let output = lease.output().to_string();
    let rows = lease.with_session("read an output's node cursors", |client, _| {
        client.query(
            "SELECT node_id, seq, read_seq FROM netaudit.output_node_cursors WHERE output = $1",
            &[&output],
        )
    })?;
    let mut cursors = NodeCursors::default();
    for row in rows {
        let node: String = row.get(0);
        let seq = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
        let read = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
        cursors.delivered.insert(node.clone(), seq);
        cursors.read.insert(node, read.max(seq));
    }
    Ok(cursors)
}

/// `output`'s delivered cursor per node, read without its lease (a
/// listing: `GET /api/v1/outputs`).
pub fn output_node_cursors(
    client: &mut impl GenericClient,
    target: &str,
    output: &str,
) -> Result<NodeHeads> {
    let rows = client
        .query(
            "SELECT node_id, seq FROM netaudit.output_node_cursors WHERE output = $1",
            &[&output],
        )
        .map_err(|e| crate::schema::query_error(target, "read an output's node cursors", &e))?;
    Ok(rows
        .iter()
        .map(|row| {
            let seq = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
            (row.get::<_, String>(0), seq)
        })
        .collect())
}

/// Which column [`write`] moves.
#[derive(Clone, Copy)]
enum Column {
    Delivered,
    Read,
}

/// Moves the delivered cursor of each node in `to` forward (a node's
/// cursor never moves back), in one transaction that first renews the
/// lease for this node and generation: [`crate::PgStoreError::LeaseLost`]
/// when another node has taken the output.
pub fn advance_node_cursors(lease: &mut OutputLease, to: &NodeHeads) -> Result<()> {
    write(lease, to, Column::Delivered)
}

/// Records how far the owner has read (what a take-over may deliver again),
/// fenced by the lease as [`advance_node_cursors`] is.
pub fn record_read_heads(lease: &mut OutputLease, read: &NodeHeads) -> Result<()> {
    write(lease, read, Column::Read)
}

fn write(lease: &mut OutputLease, heads: &NodeHeads, column: Column) -> Result<()> {
    if heads.is_empty() {
        return Ok(());
    }
    let ttl = lease.ttl().as_secs_f64();
    let nodes: Vec<String> = heads.keys().cloned().collect();
    let seqs: Vec<i64> = heads.values().map(|s| to_i64(*s)).collect();
    let (op, sql) = match column {
        Column::Delivered => (
            "advance an output's node cursors",
            "INSERT INTO netaudit.output_node_cursors AS c (output, node_id, seq, read_seq, generation, updated_at) \
             SELECT $1, p.node, p.seq, p.seq, $2, clock_timestamp() FROM unnest($3::text[], $4::int8[]) AS p(node, seq) \
             ON CONFLICT (output, node_id) DO UPDATE SET seq = greatest(c.seq, EXCLUDED.seq), \
                 read_seq = greatest(c.read_seq, EXCLUDED.seq), generation = EXCLUDED.generation, \
                 updated_at = EXCLUDED.updated_at",
        ),
        Column::Read => (
            "record an output's read position",
            "INSERT INTO netaudit.output_node_cursors AS c (output, node_id, seq, read_seq, generation, updated_at) \
             SELECT $1, p.node, 0, p.seq, $2, clock_timestamp() FROM unnest($3::text[], $4::int8[]) AS p(node, seq) \
             ON CONFLICT (output, node_id) DO UPDATE SET read_seq = greatest(c.read_seq, EXCLUDED.read_seq), \
                 generation = EXCLUDED.generation, updated_at = EXCLUDED.updated_at",
        ),
    };
    let held = lease.with_session(op, |client, id| {
        let mut tx = client.transaction()?;
        let held = tx.execute(
            "UPDATE netaudit.output_leases SET expires_at = clock_timestamp() + make_interval(secs => $4) \
             WHERE output = $1 AND node_id = $2 AND generation = $3",
            &[&id.output, &id.node_id, &id.generation, &ttl],
        )?;
        if held != 1 {
            return Ok(false);
        }
        let params: [&(dyn ToSql + Sync); 4] = [&id.output, &id.generation, &nodes, &seqs];
        tx.execute(sql, &params)?;
        tx.commit()?;
        Ok(true)
    })?;
    if held {
        Ok(())
    } else {
        Err(lease.lost_error())
    }
}
