//! Every node's events in the global order (docs/cluster.md): by
//! `(received_ns, node_id, seq)`, with the filters of the embedded store's
//! `netaudit_store::Query`, one keyset page at a time (the index
//! `events_global_order` serves the order; a page never counts or skips).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use netaudit_store::{like_pattern, Order, Query, StoredEvent};
use postgres::types::ToSql;
use postgres::Client;

use crate::connection::ConnectionSpec;
use crate::error::{PgStoreError, Result};
use crate::event_rows::{read_row_with_params, EVENT_COLUMNS};
use crate::pattern::glob_regex;
use crate::schema::{check_schema, query_error};
use crate::window_counts::{count_window, WindowCounts, WindowSpec};

/// An event's place in the global order; a page's `next` and the key the
/// following page starts after. Written `RECEIVED_NS.SEQ.NODE` (the node id
/// last: it may hold dots itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalKey {
    /// When its node received it, Unix ns.
    pub received_ns: i64,
    /// Its sequence number in its node's chain.
    pub seq: u64,
    /// The node that stored it.
    pub node: String,
}

impl fmt::Display for GlobalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.received_ns, self.seq, self.node)
    }
}

impl FromStr for GlobalKey {
    type Err = PgStoreError;

    fn from_str(text: &str) -> Result<GlobalKey> {
        let bad = || PgStoreError::BadPageKey {
            key: text.chars().take(200).collect(),
        };
        let mut parts = text.splitn(3, '.');
        let received_ns = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let node = parts.next().ok_or_else(bad)?;
        crate::node::check_node_id(node).map_err(|_| bad())?;
        Ok(GlobalKey {
            received_ns,
            seq,
            node: node.to_string(),
        })
    }
}

/// Each node's last sequence number: where a tail is (a node not listed
/// is read from its first event: it appeared after the tail began), or
/// how far an export reads (a node not listed is not read).
pub type NodeHeads = BTreeMap<String, u64>;

/// One stored event and the node whose chain holds it.
#[derive(Debug, Clone)]
pub struct NodeEvent {
    /// The node id.
    pub node: String,
    /// The event, its sequence number, epoch and chain value in that chain.
    pub event: StoredEvent,
}

impl NodeEvent {
    /// Its place in the global order.
    pub fn key(&self) -> GlobalKey {
        GlobalKey {
            received_ns: self.event.event.received_ns,
            seq: self.event.seq,
            node: self.node.clone(),
        }
    }
}

/// One page of a global-order query.
#[derive(Debug, Clone, Default)]
pub struct GlobalPage {
    /// The events, in the query's order.
    pub events: Vec<NodeEvent>,
    /// Where the next page starts (after this key), when the page is full.
    pub next: Option<GlobalKey>,
}

/// What to read: the embedded store's filters (`since_ns`, `until_ns`,
/// `code` glob, `min_severity`, `user`, `host`, `device`, `operation`,
/// `text`, `order`, `limit`), optionally one node, and the page to start
/// after. `after_seq`/`before_seq` bound each node's own sequence numbers
/// (they are per chain), most useful with `node`.
#[derive(Debug, Clone, Default)]
pub struct GlobalQuery {
    /// The filters, order and page size.
    pub filter: Query,
    /// Only this node's events.
    pub node: Option<String>,
    /// Start after this key (a previous page's `next`), in the query's order.
    pub after: Option<GlobalKey>,
    /// Only the events up to each node's sequence number here (what was
    /// stored when an export began); a node not listed is left out.
    pub upto: Option<NodeHeads>,
}

/// Reads one page of `query` in the global order.
pub fn query_global(client: &mut Client, target: &str, query: &GlobalQuery) -> Result<GlobalPage> {
    let f = &query.filter;
    let limit = f.limit.clamp(1, 100_000);
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut wheres = filter_clauses(f, query.node.as_ref(), &mut params)?;
    let (cmp, dir) = match f.order {
        Order::Descending => ("<", "DESC"),
        _ => (">", "ASC"),
    };
    if let Some(upto) = &query.upto {
        let nodes = bind(
            &mut params,
            Box::new(upto.keys().cloned().collect::<Vec<_>>()),
        );
        let seqs = bind(
            &mut params,
            Box::new(upto.values().map(|s| seq_param(*s)).collect::<Vec<i64>>()),
        );
        wheres.push(format!(
            "seq <= COALESCE((SELECT h.last FROM unnest({nodes}::text[], {seqs}::int8[]) \
             AS h(node, last) WHERE h.node = node_id), 0)"
        ));
    }
    if let Some(key) = &query.after {
        let a = bind(&mut params, Box::new(key.received_ns));
        let b = bind(&mut params, Box::new(key.node.clone()));
        let c = bind(&mut params, Box::new(seq_param(key.seq)));
        wheres.push(format!("(received_ns, node_id, seq) {cmp} ({a}, {b}, {c})"));
    }
    let limit_param = bind(
        &mut params,
        Box::new(i64::try_from(limit + 1).unwrap_or(i64::MAX)),
    );
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM netaudit.events {} \
         ORDER BY received_ns {dir}, node_id {dir}, seq {dir} LIMIT {limit_param}",
        if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        }
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let rows = client
        .query(sql.as_str(), &refs)
        .map_err(|e| query_error(target, "query events", &e))?;
    let mut events = Vec::with_capacity(rows.len().min(limit));
    for row in rows.iter().take(limit) {
        events.push(NodeEvent {
            node: row.get(0),
            event: read_row_with_params(row, target)?,
        });
    }
    let next = (rows.len() > limit)
        .then(|| events.last().map(NodeEvent::key))
        .flatten();
    Ok(GlobalPage { events, next })
}

/// Adds `value` to `params`; its placeholder (`$N`).
pub(crate) fn bind(
    params: &mut Vec<Box<dyn ToSql + Sync>>,
    value: Box<dyn ToSql + Sync>,
) -> String {
    params.push(value);
    format!("${}", params.len())
}

/// The WHERE conditions of `f`'s filters (and `node`), their values bound
/// into `params`; the column names are the events table's, unqualified.
pub(crate) fn filter_clauses(
    f: &Query,
    node: Option<&String>,
    params: &mut Vec<Box<dyn ToSql + Sync>>,
) -> Result<Vec<String>> {
    let mut wheres: Vec<String> = Vec::new();
    if let Some(since) = f.since_ns {
        let p = bind(params, Box::new(since));
        wheres.push(format!("ts >= {p}"));
    }
    if let Some(until) = f.until_ns {
        let p = bind(params, Box::new(until));
        wheres.push(format!("ts < {p}"));
    }
    if let Some(code) = &f.code {
        let p = bind(params, Box::new(glob_regex(code)?));
        wheres.push(format!("code ~ {p}"));
    }
    if let Some(severity) = f.min_severity {
        let p = bind(params, Box::new(i16::from(severity.code())));
        wheres.push(format!("severity <= {p}"));
    }
    for (column, value) in [
        ("\"user\"", &f.user),
        ("host", &f.host),
        ("device", &f.device),
        ("operation", &f.operation),
        ("node_id", &node.cloned()),
    ] {
        if let Some(v) = value {
            let p = bind(params, Box::new(v.clone()));
            wheres.push(format!("{column} = {p}"));
        }
    }
    if let Some(text) = &f.text {
        let p = bind(params, Box::new(like_pattern(text)));
        wheres.push(format!("message ILIKE {p} ESCAPE '\\'"));
    }
    if let Some(after) = f.after_seq {
        let p = bind(params, Box::new(seq_param(after)));
        wheres.push(format!("seq > {p}"));
    }
    if let Some(before) = f.before_seq {
        let p = bind(params, Box::new(seq_param(before)));
        wheres.push(format!("seq < {p}"));
    }
    Ok(wheres)
}

/// Each node's last sequence number (a live tail starts after them).
pub fn node_heads(client: &mut Client, target: &str) -> Result<Vec<(String, u64)>> {
    let rows = client
        .query(
            "SELECT n.node_id, COALESCE((SELECT max(seq) FROM netaudit.events e \
             WHERE e.node_id = n.node_id), 0) FROM netaudit.nodes n ORDER BY n.node_id",
            &[],
        )
        .map_err(|e| query_error(target, "read the nodes' heads", &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)))
        .collect())
}

/// A connection for reading, opened when first needed and again after it
/// broke (the database restarted): queries from several threads take
/// turns on it.
pub struct GlobalReader {
    spec: ConnectionSpec,
    client: Mutex<Option<Client>>,
}

impl GlobalReader {
    /// A reader of the database `spec` names (nothing is connected yet).
    pub fn new(spec: ConnectionSpec) -> GlobalReader {
        GlobalReader {
            spec,
            client: Mutex::new(None),
        }
    }

    /// The database as errors name it (never the password).
    pub fn target(&self) -> &str {
        self.spec.target()
    }

    /// One page of `query` (connecting first when needed).
    pub fn query(&self, query: &GlobalQuery) -> Result<GlobalPage> {
        self.with_client(|client, target| query_global(client, target, query))
    }

    /// The counts of every node's events in `spec`'s window.
    pub fn count_window(&self, spec: &WindowSpec<'_>) -> Result<WindowCounts> {
        self.with_client(|client, target| count_window(client, target, spec))
    }

    /// Each node's last sequence number.
    pub fn heads(&self) -> Result<Vec<(String, u64)>> {
        self.with_client(node_heads)
    }

    /// Runs `work` on the connection, opening one when there is none. A
    /// connection that served before may have been cut since (the
    /// database restarted): when `work` fails on it, it is dropped and
    /// `work` runs once more on a new one.
    pub fn with_client<T>(
        &self,
        mut work: impl FnMut(&mut Client, &str) -> Result<T>,
    ) -> Result<T> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let target = self.spec.target().to_string();
        if let Some(client) = slot.as_mut() {
            if let Ok(value) = work(client, &target) {
                return Ok(value);
            }
            // Its error is not shown: the retry's is, if it fails too.
            *slot = None;
        }
        let mut client = self.spec.connect()?;
        check_schema(&mut client, &target)?;
        let result = work(&mut client, &target);
        if result.is_ok() {
            *slot = Some(client);
        }
        result
    }
}

impl Drop for GlobalReader {
    /// The blocking client closes its connection on a runtime of its own,
    /// which cannot start on a thread that drives async tasks (the reader
    /// may be dropped by one, e.g. with the HTTP API's state): it is closed
    /// on a thread of its own.
    fn drop(&mut self) {
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(client) = client {
            let _ = std::thread::spawn(move || drop(client)).join();
        }
    }
}

pub(crate) fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_keys_round_trip_and_bad_ones_are_refused() {
        let key = GlobalKey {
            received_ns: 1_700_000_000_000_000_000,
            seq: 42,
            node: "dc1.node-2".into(),
        };
        assert_eq!(key.to_string(), "1700000000000000000.42.dc1.node-2");
        assert_eq!(key.to_string().parse::<GlobalKey>().unwrap(), key);
        for bad in ["", "1", "1.2", "x.2.n", "1.x.n", "1.2.bad node", "1.-2.n"] {
            let err = bad.parse::<GlobalKey>().unwrap_err().to_string();
            assert!(err.contains("RECEIVED_NS.SEQ.NODE"), "{err}");
        }
    }
}
