//! Output cursors in `netaudit.output_cursors`: for each output, the last
//! event it has delivered, as a position in the global order
//! `(received_ns, node_id, seq)` (docs/cluster.md). A cursor moves only
//! forward, and only in a transaction that holds the output's lease row
//! (checked and renewed in the same statement), so a node whose lease was
//! taken over cannot move the new owner's cursor.

use postgres::GenericClient;

use crate::checkpoints::to_i64;
use crate::error::{PgStoreError, Result};
use crate::lease::OutputLease;
use crate::schema::query_error;

/// A position in the global order: the last event delivered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CursorPosition {
    /// When the node received the event (Unix ns).
    pub received_ns: i64,
    /// The node that stored it.
    pub node_id: String,
    /// Its sequence number in that node's chain.
    pub seq: u64,
}

impl std::fmt::Display for CursorPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.received_ns, self.node_id, self.seq)
    }
}

/// Where `output`'s cursor is (`None` before its first delivery).
pub fn read_cursor(
    client: &mut impl GenericClient,
    target: &str,
    output: &str,
) -> Result<Option<CursorPosition>> {
    client
        .query_opt(
            "SELECT received_ns, node_id, seq FROM netaudit.output_cursors WHERE output = $1",
            &[&output],
        )
        .map_err(|e| query_error(target, "read an output's cursor", &e))?
        .map(|r| {
            Ok(CursorPosition {
                received_ns: r.get(0),
                node_id: r.get(1),
                seq: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
            })
        })
        .transpose()
}

/// Where the lease's output's cursor is.
pub fn lease_cursor(lease: &mut OutputLease) -> Result<Option<CursorPosition>> {
    let output = lease.output().to_string();
    let row = lease.with_session("read an output's cursor", |client, _| {
        client.query_opt(
            "SELECT received_ns, node_id, seq FROM netaudit.output_cursors WHERE output = $1",
            &[&output],
        )
    })?;
    Ok(row.map(|r| CursorPosition {
        received_ns: r.get(0),
        node_id: r.get(1),
        seq: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
    }))
}

/// What [`advance_cursor`]'s transaction found.
enum Advanced {
    Done,
    LeaseLost,
    Back(CursorPosition),
}

/// Moves the lease's output's cursor to `to`, in one transaction that
/// locks and renews the lease row for this node and generation:
/// [`PgStoreError::LeaseLost`] when another node has taken the output,
/// [`PgStoreError::CursorBack`] when `to` is before the cursor.
pub fn advance_cursor(lease: &mut OutputLease, to: &CursorPosition) -> Result<()> {
    let ttl = lease.ttl().as_secs_f64();
    let seq = to_i64(to.seq);
    let outcome = lease.with_session("advance an output's cursor", |client, id| {
        let mut tx = client.transaction()?;
        let held = tx.execute(
            "UPDATE netaudit.output_leases SET expires_at = clock_timestamp() + make_interval(secs => $4) \
             WHERE output = $1 AND node_id = $2 AND generation = $3",
            &[&id.output, &id.node_id, &id.generation, &ttl],
        )?;
        if held != 1 {
            return Ok(Advanced::LeaseLost);
        }
        let moved = tx.execute(
            "INSERT INTO netaudit.output_cursors AS c (output, received_ns, node_id, seq, generation, updated_at) \
             VALUES ($1, $2, $3, $4, $5, clock_timestamp()) \
             ON CONFLICT (output) DO UPDATE SET received_ns = EXCLUDED.received_ns, \
                 node_id = EXCLUDED.node_id, seq = EXCLUDED.seq, generation = EXCLUDED.generation, \
                 updated_at = EXCLUDED.updated_at \
             WHERE (c.received_ns, c.node_id, c.seq) <= (EXCLUDED.received_ns, EXCLUDED.node_id, EXCLUDED.seq)",
            &[&id.output, &to.received_ns, &to.node_id, &seq, &id.generation],
        )?;
        if moved != 1 {
            let r = tx.query_one(
                "SELECT received_ns, node_id, seq FROM netaudit.output_cursors WHERE output = $1",
                &[&id.output],
            )?;
            return Ok(Advanced::Back(CursorPosition {
                received_ns: r.get(0),
                node_id: r.get(1),
                seq: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
            }));
        }
        tx.commit()?;
        Ok(Advanced::Done)
    })?;
    match outcome {
        Advanced::Done => Ok(()),
        Advanced::LeaseLost => Err(lease.lost_error()),
        Advanced::Back(from) => Err(PgStoreError::CursorBack {
            target: lease.target().to_string(),
            output: lease.output().to_string(),
            from: from.to_string(),
            to: to.to_string(),
        }),
    }
}
