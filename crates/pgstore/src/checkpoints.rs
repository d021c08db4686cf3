//! A node's signed checkpoints in `netaudit.checkpoints` (the layout of
//! docs/store.md, "Checkpoints", with the node id).

use netaudit_store::Checkpoint;
use postgres::GenericClient;

use crate::error::{PgStoreError, Result};
use crate::schema::query_error;

/// Stores one checkpoint of `node`.
pub(crate) fn insert_checkpoint(
    client: &mut impl GenericClient,
    target: &str,
    node: &str,
    c: &Checkpoint,
) -> Result<()> {
    insert_checkpoint_raw(client, node, c)
        .map_err(|e| query_error(target, "store a checkpoint", &e))?;
    Ok(())
}

/// [`insert_checkpoint`] with the client's own error, for callers that
/// tell a lost session from a refused statement.
pub(crate) fn insert_checkpoint_raw(
    client: &mut impl GenericClient,
    node: &str,
    c: &Checkpoint,
) -> std::result::Result<u64, postgres::Error> {
    let (epoch, last_seq) = (to_i64(c.epoch), to_i64(c.last_seq));
    client.execute(
        "INSERT INTO netaudit.checkpoints (node_id, epoch, last_seq, chain, time_ns, mac, signature) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &node,
            &epoch,
            &last_seq,
            &c.chain.as_slice(),
            &c.time_ns,
            &c.mac.as_slice(),
            &c.signature.as_slice(),
        ],
    )
}

/// Every checkpoint of `node`, by epoch.
pub(crate) fn load_checkpoints(
    client: &mut impl GenericClient,
    target: &str,
    node: &str,
) -> Result<Vec<Checkpoint>> {
    let rows = client
        .query(
            "SELECT epoch, last_seq, chain, time_ns, mac, signature FROM netaudit.checkpoints \
             WHERE node_id = $1 ORDER BY epoch",
            &[&node],
        )
        .map_err(|e| query_error(target, "read the checkpoints", &e))?;
    rows.iter()
        .map(|r| {
            let epoch: i64 = r.get(0);
            let bad = |what: &str| PgStoreError::Query {
                target: target.to_string(),
                op: "read the checkpoints",
                detail: format!("node \"{node}\", checkpoint of epoch {epoch}: {what}"),
            };
            let bytes = |i: usize| -> &[u8] { r.get(i) };
            Ok(Checkpoint {
                epoch: u64::try_from(epoch).map_err(|_| bad("negative epoch"))?,
                last_seq: u64::try_from(r.get::<_, i64>(1))
                    .map_err(|_| bad("negative sequence"))?,
                chain: bytes(2)
                    .try_into()
                    .map_err(|_| bad("chain is not 32 bytes"))?,
                time_ns: r.get(3),
                mac: bytes(4)
                    .try_into()
                    .map_err(|_| bad("MAC is not 32 bytes"))?,
                signature: bytes(5)
                    .try_into()
                    .map_err(|_| bad("signature is not 64 bytes"))?,
            })
        })
        .collect()
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
