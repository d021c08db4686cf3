//! How one output reads a PostgreSQL store while this node owns it
//! (`output/ownership.rs`): every node's events after the output's cursor
//! per node (`netaudit.output_node_cursors`), merged in the global order.
//!
//! The outputs count in one sequence of positions (the embedded store's
//! sequence numbers). Here a position is an **ordinal**: the n-th event
//! this owner has read, counted from its durable cursor. The source keeps,
//! for every event read but not yet behind the cursor, its node and
//! sequence number, so moving the cursor to an ordinal moves each node's
//! cursor to exactly the events delivered. Reading again from an earlier
//! ordinal (a connection broke: the output sends everything after the
//! cursor again) forgets what was read past it and reads from each node's
//! position there.
//!
//! Why per-node cursors rather than one position in the global order: a
//! node may still commit an event received before one another node has
//! already committed (its batch was in flight), and a single position
//! would skip it. A node's batch commits whole and its sequence numbers
//! grow with its commits, so "node N up to S" is exact: nothing to guess.
//! Within a read, events are in the global order up to the first node
//! whose chunk was cut by the read limit (the rest comes in the next read).

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use netaudit_pgstore::{
    advance_node_cursors, events_after, read_node_cursors, record_read_heads, ConnectionSpec,
    NodeEvent, NodeHeads, OutputLease, PgStoreError,
};
use netaudit_store::{Query, StoredEvent};
use postgres::Client;
use tokio_util::sync::CancellationToken;

use crate::metrics::OutputMetrics;

/// This node's hold on one output: its lease (renewed by the ownership
/// loop, used here for the fenced cursor writes) and the token cancelled
/// the moment the lease is lost.
pub(crate) struct OwnedOutput {
    pub spec: ConnectionSpec,
    /// The lease's time to live.
    pub ttl: std::time::Duration,
    /// `None` once the ownership loop has taken it back (to release it).
    pub lease: Arc<Mutex<Option<OutputLease>>>,
    pub lost: CancellationToken,
}

/// The reading state of one owned output (used on a blocking thread).
struct PgState {
    spec: ConnectionSpec,
    client: Option<Client>,
    lease: Arc<Mutex<Option<OutputLease>>>,
    /// Each node's last sequence number delivered (the database's cursor).
    durable: NodeHeads,
    /// The ordinal of `durable` (the outputs' cursor).
    durable_ord: u64,
    /// Node and sequence number of ordinals `durable_ord + 1 ..`.
    pending: VecDeque<(Arc<str>, u64)>,
    /// How far the previous owner (or this node before a restart) had
    /// read: what is delivered up to there may be delivered again.
    previous_read: NodeHeads,
}

/// Reads for one output on PostgreSQL; see the module documentation.
pub(crate) struct PgSource {
    state: Arc<Mutex<PgState>>,
    lost: CancellationToken,
}

/// A PostgreSQL operation of an output failed (the lease lost included).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct PgSourceError(#[from] PgStoreError);

impl PgSource {
    /// Reads the output's cursors through its lease; the outputs' cursor
    /// starts at ordinal 0.
    pub(crate) async fn open(owned: &OwnedOutput) -> Result<PgSource, PgSourceError> {
        let lease = owned.lease.clone();
        let spec = owned.spec.clone();
        let state = tokio::task::spawn_blocking(move || {
            let cursors = with_lease(&lease, read_node_cursors)?;
            Ok::<_, PgStoreError>(PgState {
                spec,
                client: None,
                lease,
                previous_read: cursors
                    .read
                    .into_iter()
                    .filter(|(node, read)| cursors.delivered.get(node) < Some(read))
                    .collect(),
                durable: cursors.delivered,
                durable_ord: 0,
                pending: VecDeque::new(),
            })
        })
        .await
        .map_err(task_failed)??;
        Ok(PgSource {
            state: Arc::new(Mutex::new(state)),
            lost: owned.lost.clone(),
        })
    }

    /// Up to `limit` events after ordinal `after`, numbered by ordinal.
    pub(crate) async fn read_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, PgSourceError> {
        let state = self.state.clone();
        let read = tokio::task::spawn_blocking(move || lock(&state).read_after(after, limit))
            .await
            .map_err(task_failed)?;
        self.lost_if(read)
    }

    /// Moves each node's cursor to where ordinal `to` is; returns how many
    /// of the events now behind it a previous owner had read (they may
    /// have been delivered twice).
    pub(crate) async fn advance(&self, to: u64) -> Result<u64, PgSourceError> {
        let state = self.state.clone();
        let moved = tokio::task::spawn_blocking(move || lock(&state).advance(to))
            .await
            .map_err(task_failed)?;
        self.lost_if(moved)
    }

    /// A lost lease stops the output at once (the ownership loop cancels it).
    fn lost_if<T>(&self, result: Result<T, PgStoreError>) -> Result<T, PgSourceError> {
        if let Err(PgStoreError::LeaseLost { .. }) = &result {
            self.lost.cancel();
        }
        Ok(result?)
    }

    /// Counts what [`advance`](Self::advance) found delivered again.
    pub(crate) fn count_again(metrics: &OutputMetrics, again: u64) {
        if again > 0 {
            metrics.takeover_resent.fetch_add(again, Relaxed);
        }
    }
}

impl Drop for PgSource {
    /// The reading session's blocking client closes its connection on a
    /// runtime of its own, which cannot start on an async thread.
    fn drop(&mut self) {
        if let Some(client) = lock(&self.state).client.take() {
            std::thread::spawn(move || drop(client));
        }
    }
}

impl PgState {
    fn read_after(&mut self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, PgStoreError> {
        // Reading again from an earlier ordinal: forget what was read past it.
        let keep = usize::try_from(after.saturating_sub(self.durable_ord)).unwrap_or(usize::MAX);
        self.pending.truncate(keep);
        let mut heads = self.durable.clone();
        for (node, seq) in &self.pending {
            heads.insert(node.to_string(), *seq);
        }
        let limit = limit.max(1);
        let mut events = self.with_client(|client, target| {
            events_after(client, target, &Query::default(), &mut heads.clone(), limit)
        })?;
        cut_to_global_order(&mut events, limit);
        let mut read = NodeHeads::new();
        for event in &events {
            read.insert(event.node.clone(), event.event.seq);
        }
        with_lease(&self.lease, |lease| record_read_heads(lease, &read))?;
        let mut next = self.durable_ord + self.pending.len() as u64;
        let mut out = Vec::with_capacity(events.len());
        for NodeEvent { node, mut event } in events {
            next += 1;
            self.pending
                .push_back((Arc::from(node.as_str()), event.seq));
            event.seq = next;
            out.push(event);
        }
        Ok(out)
    }

    fn advance(&mut self, to: u64) -> Result<u64, PgStoreError> {
        let count = usize::try_from(to.saturating_sub(self.durable_ord))
            .unwrap_or(usize::MAX)
            .min(self.pending.len());
        if count == 0 {
            return Ok(0);
        }
        let mut moved = NodeHeads::new();
        let mut again = 0;
        for (node, seq) in self.pending.iter().take(count) {
            if self
                .previous_read
                .get(&**node)
                .is_some_and(|read| seq <= read)
            {
                again += 1;
            }
            moved.insert(node.to_string(), *seq);
        }
        with_lease(&self.lease, |lease| advance_node_cursors(lease, &moved))?;
        self.pending.drain(..count);
        self.durable.extend(moved);
        self.durable_ord += count as u64;
        Ok(again)
    }

    /// Runs `work` on the reading session, connecting when there is none;
    /// a failed session is dropped (the next read connects again).
    fn with_client<T>(
        &mut self,
        work: impl FnOnce(&mut Client, &str) -> Result<T, PgStoreError>,
    ) -> Result<T, PgStoreError> {
        let client = match self.client.as_mut() {
            Some(client) => client,
            None => self.client.insert(self.spec.connect()?),
        };
        let result = work(client, self.spec.target());
        if result.is_err() {
            self.client = None;
        }
        result
    }
}

/// `events_after` gives each node's next `limit` events merged in the
/// global order; a node that filled its `limit` may have more events
/// earlier than another node's last, so the merge holds only up to the
/// first such node's last event: the rest is dropped (read again next
/// time). Then at most `limit` events are kept.
fn cut_to_global_order(events: &mut Vec<NodeEvent>, limit: usize) {
    let mut per_node: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (i, event) in events.iter().enumerate() {
        let entry = per_node.entry(event.node.as_str()).or_insert((0, i));
        entry.0 += 1;
        entry.1 = i;
    }
    let cut = per_node
        .values()
        .filter(|(count, _)| *count >= limit)
        .map(|(_, last)| *last)
        .min();
    if let Some(last) = cut {
        events.truncate(last + 1);
    }
    events.truncate(limit);
}

/// Runs `work` on the lease, if this node still holds it.
fn with_lease<T>(
    lease: &Mutex<Option<OutputLease>>,
    work: impl FnOnce(&mut OutputLease) -> Result<T, PgStoreError>,
) -> Result<T, PgStoreError> {
    match lock(lease).as_mut() {
        Some(lease) => work(lease),
        None => Err(PgStoreError::Query {
            target: String::new(),
            op: "use an output's lease",
            detail: "the output has stopped: its lease was handed back".into(),
        }),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn task_failed(error: tokio::task::JoinError) -> PgSourceError {
    PgSourceError(PgStoreError::Query {
        target: String::new(),
        op: "run a store task",
        detail: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: &str, seq: u64, received_ns: i64) -> NodeEvent {
        NodeEvent {
            node: node.into(),
            event: StoredEvent {
                seq,
                epoch: 0,
                ts: received_ns,
                chain: [0; 32],
                event: netaudit_event::Event {
                    received_ns,
                    ..Default::default()
                },
                params_in_raw: false,
            },
        }
    }

    fn places(events: &[NodeEvent]) -> Vec<(String, u64)> {
        events
            .iter()
            .map(|e| (e.node.clone(), e.event.seq))
            .collect()
    }

    #[test]
    fn a_read_holds_the_global_order_up_to_the_first_node_cut_by_the_limit() {
        // n1 filled its limit of 2 at t=20; n2's event at t=30 may come
        // after n1's next ones: cut there.
        let mut events = vec![
            event("n1", 1, 10),
            event("n2", 7, 15),
            event("n1", 2, 20),
            event("n2", 8, 30),
        ];
        cut_to_global_order(&mut events, 2);
        assert_eq!(places(&events), [("n1".into(), 1), ("n2".into(), 7)]);
        // No node cut: everything, then at most the limit.
        let mut events = vec![event("n1", 1, 10), event("n2", 7, 15)];
        cut_to_global_order(&mut events, 3);
        assert_eq!(events.len(), 2);
        let mut events = vec![event("n1", 1, 10), event("n2", 7, 15), event("n3", 1, 16)];
        cut_to_global_order(&mut events, 2);
        assert_eq!(events.len(), 2);
    }
}
