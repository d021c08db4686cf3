//! Following every node's new events (a live tail): each node is read
//! after its own last sequence number seen, since a node may commit an
//! event received earlier than one another node has already committed (a
//! position in the global order would skip it). A node's batch commits
//! whole, so reading after a sequence number never misses part of one.

use netaudit_store::Query;
use postgres::types::ToSql;
use postgres::Client;

use crate::error::{PgStoreError, Result};
use crate::event_rows::{read_row_with_params, EVENT_COLUMNS};
use crate::query::{bind, filter_clauses, seq_param, NodeEvent, NodeHeads};
use crate::schema::query_error;

/// A tail's position as text, `NODE:SEQ,NODE:SEQ` (node ids hold neither
/// `:` nor `,`): the SSE id a stream is resumed from (`Last-Event-ID`).
pub fn heads_to_text(heads: &NodeHeads) -> String {
    let parts: Vec<String> = heads.iter().map(|(n, s)| format!("{n}:{s}")).collect();
    parts.join(",")
}

/// Reads [`heads_to_text`]'s text back.
pub fn heads_from_text(text: &str) -> Result<NodeHeads> {
    let bad = |detail: &str| PgStoreError::BadPosition {
        position: text.chars().take(200).collect(),
        detail: detail.to_string(),
    };
    let mut heads = NodeHeads::new();
    for part in text.split(',') {
        let (node, seq) = part
            .split_once(':')
            .ok_or_else(|| bad("each node is NODE:SEQ"))?;
        crate::node::check_node_id(node).map_err(|_| bad("a node id is not one"))?;
        let seq: u64 = seq
            .parse()
            .map_err(|_| bad("a sequence number is not a number"))?;
        if heads.insert(node.to_string(), seq).is_some() {
            return Err(bad("a node is named twice"));
        }
    }
    Ok(heads)
}

/// Up to `per_node` of each node's events after `heads` that match
/// `filter` (its `after_seq`/`before_seq`/`order`/`limit` are not used),
/// in the global order; `heads` moves past every event returned.
pub fn events_after(
    client: &mut Client,
    target: &str,
    filter: &Query,
    heads: &mut NodeHeads,
    per_node: usize,
) -> Result<Vec<NodeEvent>> {
    let filter = Query {
        after_seq: None,
        before_seq: None,
        ..filter.clone()
    };
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let nodes = bind(
        &mut params,
        Box::new(heads.keys().cloned().collect::<Vec<_>>()),
    );
    let seqs = bind(
        &mut params,
        Box::new(heads.values().map(|s| seq_param(*s)).collect::<Vec<i64>>()),
    );
    let mut wheres = filter_clauses(&filter, None, &mut params)?;
    wheres.push("node_id = n.node_id".into());
    wheres.push("seq > COALESCE(p.seq, 0)".into());
    let limit = bind(
        &mut params,
        Box::new(i64::try_from(per_node.clamp(1, 100_000)).unwrap_or(1)),
    );
    let sql = format!(
        "SELECT e.* FROM netaudit.nodes n \
         LEFT JOIN unnest({nodes}::text[], {seqs}::int8[]) AS p(node, seq) ON p.node = n.node_id \
         CROSS JOIN LATERAL (SELECT {EVENT_COLUMNS} FROM netaudit.events WHERE {} \
         ORDER BY seq LIMIT {limit}) e \
         ORDER BY e.received_ns, e.node_id, e.seq",
        wheres.join(" AND ")
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let rows = client
        .query(sql.as_str(), &refs)
        .map_err(|e| query_error(target, "follow new events", &e))?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let event = NodeEvent {
            node: row.get(0),
            event: read_row_with_params(row, target)?,
        };
        let head = heads.entry(event.node.clone()).or_insert(0);
        *head = (*head).max(event.event.seq);
        events.push(event);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_bad_ones_are_refused() {
        let heads: NodeHeads = [("dc1.n-1".to_string(), 42), ("n2".to_string(), 0)].into();
        assert_eq!(heads_to_text(&heads), "dc1.n-1:42,n2:0");
        assert_eq!(heads_from_text("dc1.n-1:42,n2:0").unwrap(), heads);
        for bad in [
            "",
            "n1",
            "n1:",
            "n1:x",
            "n1:-1",
            "bad node:1",
            "n1:1,n1:2",
            "n1:1,",
        ] {
            let err = heads_from_text(bad).unwrap_err().to_string();
            assert!(err.contains("NODE:SEQ"), "{bad}: {err}");
        }
    }
}
