//! `netaudit query --store CONNECTION`: every node's events of a PostgreSQL
//! store in the global order (received time, node, sequence: docs/cluster.md),
//! with the same filters as on the embedded store, one page at a time.

use std::io::{self, Write};

use anyhow::Context;
use netaudit_pgstore::{query_global, GlobalKey, GlobalPage, GlobalQuery, NodeEvent};
use netaudit_store::Query;

use crate::display::{format_ns, json_of, write_events, EventFormat};

/// Reads one page of `filter` from the database `connection` names.
pub(crate) fn run(
    connection: &str,
    filter: Query,
    node: Option<String>,
    page: Option<&str>,
) -> anyhow::Result<GlobalPage> {
    if let Some(node) = &node {
        netaudit_pgstore::check_node_id(node).context("--node")?;
    }
    let after = page
        .map(str::parse::<GlobalKey>)
        .transpose()
        .context("--page")?;
    let (spec, mut client) = super::store_target::connect(connection)?;
    netaudit_pgstore::check_schema(&mut client, spec.target())?;
    let query = GlobalQuery {
        filter,
        node,
        after,
    };
    Ok(query_global(&mut client, spec.target(), &query)?)
}

/// Writes events of several nodes: the table (its header first when
/// `header`) and JSON name each event's node; the syslog formats are the
/// lines as stored.
pub(crate) fn write_node_events(
    out: &mut impl Write,
    events: &[NodeEvent],
    format: EventFormat,
    header: bool,
) -> io::Result<()> {
    match format {
        EventFormat::Table => {
            if header {
                writeln!(
                    out,
                    "{:<16}  {:>10}  {:<30}  {:<9}  {:<20}  {:<28}  {:<12}  MESSAGE",
                    "NODE", "SEQ", "TIME", "SEVERITY", "HOST", "CODE", "USER"
                )?;
            }
            for e in events {
                let ev = &e.event.event;
                writeln!(
                    out,
                    "{:<16}  {:>10}  {:<30}  {:<9}  {:<20}  {:<28}  {:<12}  {}",
                    e.node,
                    e.event.seq,
                    format_ns(e.event.ts),
                    ev.severity.map_or("-", |s| s.name()),
                    ev.host.as_deref().unwrap_or("-"),
                    ev.code.as_deref().unwrap_or("-"),
                    ev.user.as_deref().unwrap_or("-"),
                    ev.message
                        .as_deref()
                        .unwrap_or("")
                        .replace(['\n', '\r'], " ")
                )?;
            }
            Ok(())
        }
        EventFormat::Json => {
            for e in events {
                let mut json = json_of(&e.event);
                if let Some(object) = json.as_object_mut() {
                    object.insert("node".into(), serde_json::Value::from(e.node.clone()));
                }
                serde_json::to_writer(&mut *out, &json)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        other => {
            let events: Vec<_> = events.iter().map(|e| e.event.clone()).collect();
            write_events(out, &events, other, false)
        }
    }
}
