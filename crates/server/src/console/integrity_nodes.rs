//! The Integrity page on a PostgreSQL store: each node's chain (its last
//! sequence number), the last run of `verify` reported per node (every
//! node's chain walked with the verify keys in this node's folder:
//! `api::node_verify`), and the button to run it again.

use std::sync::Arc;

use maud::{html, Markup};
use serde_json::Value;

use super::page_error::PageError;
use super::verify_run::{run_state, VerifyRun};
use super::viewer::{Viewer, CSRF_FIELD};
use crate::api::error::ApiError;
use crate::display::format_ns;

/// The page's body: the nodes now, the last run per node.
pub(super) async fn body(
    reader: Arc<netaudit_pgstore::GlobalReader>,
    run: &VerifyRun,
    viewer: &Viewer,
) -> Result<Markup, PageError> {
    let heads = tokio::task::spawn_blocking(move || reader.heads())
        .await
        .map_err(|e| PageError::from(ApiError::internal(e)))?
        .map_err(|e| {
            PageError::from(ApiError::hiding(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "integrity: the PostgreSQL store cannot be read (see the server log)",
                e,
            ))
        })?;
    let running = matches!(run, VerifyRun::Running { .. });
    Ok(html! {
        h1 { "Integrity" }
        p.count { "A PostgreSQL store: each node appends its own chain, verified on its own with that node's verify key." }
        div.cards {
            section.card id="chain-now" {
                h2 { "The chains now" }
                table.fields id="nodes" {
                    @for (node, last) in &heads {
                        tr { th { (node) } td { "last sequence " (last) } }
                    }
                    @if heads.is_empty() { tr { td { "No node has stored an event yet." } } }
                }
            }
            section.card id="verify" {
                h2 { "Verification" }
                (run_summary(run))
                form method="post" action="/integrity/verify" {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    button id="run-verify" type="submit" disabled[running] { "Verify now" }
                }
            }
        }
    })
}

fn run_summary(run: &VerifyRun) -> Markup {
    run_state(run, |report, by, finished_ns, took_ms| {
        let ok = report.get("ok").and_then(Value::as_bool).unwrap_or(false);
        let nodes = report
            .get("nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        html! {
            p id="verify-state" class=(if ok { "notice" } else { "message" }) {
                @if ok { "Verified: every node's chain is intact." } @else { "Verification FAILED or incomplete: see each node." }
            }
            p.count { "Run by " (by) " at " (format_ns(finished_ns)) " (" (took_ms) " ms)" }
            table.events id="verify-report" {
                thead { tr { th { "Node" } th { "Result" } th { "Events verified" } th { "Checkpoints" } th { "Sealed through" } th { "Unsealed" } } }
                tbody {
                    @for n in &nodes {
                        tr {
                            td { (text(n.get("node"))) }
                            td { (node_result(n)) }
                            td { (text(n.pointer("/report/events_verified"))) }
                            td { (text(n.pointer("/report/checkpoints_verified"))) }
                            td { (text(n.pointer("/report/sealed_through"))) }
                            td { (text(n.pointer("/report/unsealed"))) }
                        }
                    }
                }
            }
        }
    })
}

/// OK, BROKEN (where and why) or NOT VERIFIED (no verify key here).
fn node_result(n: &Value) -> String {
    match n.get("report") {
        None | Some(Value::Null) => {
            "NOT VERIFIED: this node's verify key is not in the server's folder".into()
        }
        Some(report) => match report.get("break") {
            Some(b) if !b.is_null() => format!(
                "BROKEN at sequence {} ({}): {}",
                text(b.get("seq")),
                text(b.get("kind")),
                text(b.get("detail"))
            ),
            _ => "OK".into(),
        },
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "none".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(range)) if range.len() == 2 => format!("{} to {}", range[0], range[1]),
        Some(v) => v.to_string(),
    }
}
