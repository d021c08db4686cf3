//! `netaudit tail --store CONNECTION [-f]`: the newest events of every node
//! of a PostgreSQL store in the global order, and with -f each node's new
//! ones as they commit (each node followed after its own last sequence
//! number, docs/cluster.md).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use netaudit_pgstore::{events_after, node_heads, query_global, GlobalQuery, NodeHeads};
use netaudit_store::{Order, Query};

use crate::display::EventFormat;
use crate::node_display::write_node_events;

/// Prints the newest `lines` events, then with `follow` the new ones,
/// looking every `interval`.
pub(crate) fn run(
    connection: &str,
    lines: usize,
    follow: bool,
    interval: Duration,
    format: EventFormat,
) -> anyhow::Result<ExitCode> {
    let (spec, mut client) = super::store_target::connect(connection)?;
    let target = spec.target().to_string();
    netaudit_pgstore::check_schema(&mut client, &target)?;
    // Where each node is before the newest page is read: what commits in
    // between is printed by the follow, not twice.
    let mut heads: NodeHeads = node_heads(&mut client, &target)?.into_iter().collect();
    let stdout = io::stdout();
    if lines > 0 {
        let mut query = GlobalQuery::default();
        query.filter.order = Order::Descending;
        query.filter.limit = lines;
        let mut events = query_global(&mut client, &target, &query)?.events;
        events.retain(|e| heads.get(&e.node).is_some_and(|h| e.event.seq <= *h));
        events.reverse();
        let mut out = stdout.lock();
        write_node_events(&mut out, &events, format, true)
            .and_then(|()| out.flush())
            .context("writing to standard output")?;
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        let events = events_after(&mut client, &target, &Query::default(), &mut heads, 1000)?;
        if events.is_empty() {
            std::thread::sleep(interval);
            continue;
        }
        let mut out = stdout.lock();
        match write_node_events(&mut out, &events, format, false).and_then(|()| out.flush()) {
            Ok(()) => {}
            // The reader went away (`| head`): a normal end.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("writing to standard output"),
        }
    }
}
