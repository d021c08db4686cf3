//! Integrity (admin, auditor): the store's chain now (last sequence, the
//! live key's epoch, sealed through, the unsealed tail), the last run of
//! `verify` with who ran it, a button to run it again (in the background;
//! the page shows it running and reloads until it is done), and the latest
//! checkpoints.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use serde_json::Value;

use super::guard::see_other;
use super::layout::page_refreshed;
use super::page_error::PageError;
use super::state::ConsoleState;
use super::verify_run::{run_state, VerifyRun};
use super::viewer::{Viewer, CSRF_FIELD};
use crate::api::events::verify_report;
use crate::display::{format_ns, now_ns};

type St = State<Arc<ConsoleState>>;

/// Checkpoints shown, newest first.
const CHECKPOINTS_SHOWN: usize = 10;

/// `GET /integrity`.
pub(super) async fn view(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    super::guard::only_parameters(raw.as_deref(), &[])?;
    if let Some(reader) = state.api.cluster() {
        let run = state.verify_runs.get();
        let refresh = matches!(run, VerifyRun::Running { .. }).then_some(1);
        let body = super::integrity_nodes::body(reader, &run, &viewer).await?;
        return Ok(
            page_refreshed("Integrity", &viewer, "/integrity", body, refresh).into_response(),
        );
    }
    let store = state.api.store()?;
    let last_seq = store.last_seq();
    let live_epoch = store.epoch();
    let path = store.config().path.clone();
    let checkpoints = tokio::task::spawn_blocking(move || {
        netaudit_store::Reader::open(&path).and_then(|r| r.catalog_checkpoints())
    })
    .await
    .map_err(|e| PageError::from(crate::api::error::ApiError::internal(e)))?
    .map_err(|e| {
        PageError::from(crate::api::error::ApiError::internal(format!(
            "integrity page: reading checkpoints: {e}"
        )))
    })?;
    let sealed_through = checkpoints.iter().map(|c| c.last_seq).max().unwrap_or(0);
    let run = state.verify_runs.get();
    let running = matches!(run, VerifyRun::Running { .. });
    let body = html! {
        h1 { "Integrity" }
        div.cards {
            section.card id="chain-now" {
                h2 { "The chain now" }
                table.fields {
                    tr { th { "Last sequence" } td { (last_seq) } }
                    tr { th { "Sealed through" } td { (sealed_through) } }
                    tr { th { "Unsealed tail" } td {
                        @if last_seq > sealed_through { (sealed_through + 1) " to " (last_seq) " (" (last_seq - sealed_through) " events, sealed when epoch " (live_epoch) " closes)" }
                        @else { "none" }
                    } }
                    tr { th { "Live key epoch" } td { (live_epoch) } }
                }
            }
            section.card id="verify" {
                h2 { "Verification" }
                (run_summary(&run))
                form method="post" action="/integrity/verify" {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    button id="run-verify" type="submit" disabled[running] { "Verify now" }
                }
            }
        }
        h2 { "Latest checkpoints" }
        @if checkpoints.is_empty() {
            p.empty { "None yet: the first epoch is still open." }
        } @else {
            table.events id="checkpoints" {
                thead { tr { th { "Epoch" } th { "Last sequence" } th { "Written (UTC)" } th { "Chain value" } th { "Signature (Ed25519)" } } }
                tbody {
                    @for c in checkpoints.iter().rev().take(CHECKPOINTS_SHOWN) {
                        tr { td { (c.epoch) } td { (c.last_seq) } td { (format_ns(c.time_ns)) } td.hash { (hex::encode(c.chain)) } td.hash { (hex::encode(&c.signature[..16])) "…" } }
                    }
                }
            }
        }
    };
    let refresh = running.then_some(1);
    Ok(page_refreshed("Integrity", &viewer, "/integrity", body, refresh).into_response())
}

fn run_summary(run: &VerifyRun) -> Markup {
    run_state(run, |report, by, finished_ns, took_ms| {
        let ok = report.get("ok").and_then(Value::as_bool).unwrap_or(false);
        let field = |k: &str| match report.get(k) {
            None | Some(Value::Null) => "none".to_string(),
            Some(Value::Array(range)) if range.len() == 2 => {
                format!("{} to {}", range[0], range[1])
            }
            Some(v) => v.to_string(),
        };
        html! {
            p id="verify-state" class=(if ok { "notice" } else { "message" }) {
                @if ok { "Verified: the chain is intact." } @else { "Verification FAILED: " (field("break")) }
            }
            table.fields id="verify-report" {
                tr { th { "Run by" } td { (by) " at " (format_ns(finished_ns)) " (" (took_ms) " ms)" } }
                tr { th { "Events verified" } td { (field("events_verified")) } }
                tr { th { "Checkpoints verified" } td { (field("checkpoints_verified")) } }
                tr { th { "Sealed through" } td { (field("sealed_through")) } }
                tr { th { "Unsealed" } td { (field("unsealed")) } }
                tr { th { "Live key epoch" } td { (field("live_key_epoch")) } }
            }
        }
    })
}

/// `POST /integrity/verify`: starts a run in the background (one at a time).
pub(super) async fn run(State(state): St, Extension(viewer): Extension<Viewer>) -> Response {
    if state.verify_runs.start(&viewer.user) {
        tracing::info!(user = %viewer.user, client = %viewer.client, "console: verify started");
        let state = state.clone();
        let by = viewer.user.clone();
        tokio::spawn(async move {
            let started_ns = match state.verify_runs.get() {
                VerifyRun::Running { started_ns, .. } => started_ns,
                _ => now_ns(),
            };
            let outcome = verify_report(&state.api)
                .await
                .map_err(|e| PageError::from(e).message);
            state.verify_runs.set(VerifyRun::Done {
                started_ns,
                finished_ns: now_ns(),
                by,
                outcome,
            });
        });
    }
    see_other("/integrity")
}
