//! How the events and verify reports of several nodes (a PostgreSQL
//! store, docs/cluster.md) are shown, shared by the CLI and the API: each
//! event names its node.

use std::io::{self, Write};

use netaudit_pgstore::{NodeEvent, NodeOutcome, NodeVerification};

use crate::display::{json_of, write_events, write_table_row, EventFormat};

/// An event as the embedded store's query shows it, with its node.
pub(crate) fn node_json(e: &NodeEvent) -> serde_json::Value {
    let mut json = json_of(&e.event);
    if let Some(object) = json.as_object_mut() {
        object.insert("node".into(), serde_json::Value::from(e.node.clone()));
    }
    json
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
                write!(out, "{:<16}  ", e.node)?;
                write_table_row(out, &e.event)?;
            }
            Ok(())
        }
        EventFormat::Json => {
            for e in events {
                serde_json::to_writer(&mut *out, &node_json(e))?;
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

/// The JSON of a per-node verification.
pub(crate) fn node_reports_json(found: &[NodeVerification]) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = found
        .iter()
        .map(|n| {
            let report = match &n.outcome {
                NodeOutcome::Walked(r) => crate::display::verify_report_json(r, r.ok()),
                _ => serde_json::Value::Null,
            };
            serde_json::json!({
                "node": n.node.node_id,
                "store_id": hex::encode(n.node.store_id),
                "copied_from": n.node.copied_from,
                "ok": n.ok(),
                "report": report,
            })
        })
        .collect();
    serde_json::json!({
        "ok": found.iter().all(NodeVerification::ok),
        "nodes": nodes,
    })
}
