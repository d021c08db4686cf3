//! `GET /api/v1/events` on a PostgreSQL store (`store.backend =
//! "postgres"`): every node's events in the global order (received time,
//! node, sequence: docs/cluster.md), the same filters as on the embedded
//! store plus `node`, one keyset page at a time: `next` is a page key
//! (`RECEIVED_NS.SEQ.NODE`), given back as `page=` for the next page.
//! `GET /api/v1/events/stream` there follows every node's new events
//! (each node after its own last sequence number: `netaudit_pgstore::
//! events_after`), from now; the `id` of each is its page key.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use netaudit_pgstore::{events_after, GlobalKey, GlobalQuery, GlobalReader, NodeEvent, NodeHeads};

use super::error::ApiError;
use crate::display::json_of;
use crate::metrics::Metrics;

/// One page of `filter` (the API's filters as the embedded store reads
/// them), of `node`'s events or every node's, after `page`.
pub(super) async fn query(
    reader: Arc<GlobalReader>,
    filter: netaudit_store::Query,
    node: Option<String>,
    page: Option<String>,
) -> Result<Response, ApiError> {
    let after = page
        .as_deref()
        .map(|p| {
            p.parse::<GlobalKey>()
                .map_err(|e| ApiError::bad_request(format!("page: {e}")))
        })
        .transpose()?;
    if let Some(node) = &node {
        netaudit_pgstore::check_node_id(node)
            .map_err(|e| ApiError::bad_request(format!("node: {e}")))?;
    }
    let query = GlobalQuery {
        filter,
        node,
        after,
    };
    let page = tokio::task::spawn_blocking(move || reader.query(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "query: the PostgreSQL store could not run it (see the server log)",
                e,
            )
        })?;
    let events: Vec<serde_json::Value> = page.events.iter().map(node_json).collect();
    let next = page.next.map(|k| k.to_string());
    Ok(Json(serde_json::json!({ "events": events, "next": next })).into_response())
}

/// An event as the embedded store's query shows it, with its node.
fn node_json(e: &NodeEvent) -> serde_json::Value {
    let mut json = json_of(&e.event);
    if let Some(object) = json.as_object_mut() {
        object.insert("node".into(), serde_json::Value::from(e.node.clone()));
    }
    json
}

/// Events each node's poll reads at most.
const FOLLOW_CHUNK: usize = 500;

/// The server-sent events of every node's new events matching `filter`,
/// from now, for as long as `alive` says (the caller's login session).
/// While the database is away the stream stays open and tries again every
/// second.
pub(super) fn stream(
    reader: Arc<GlobalReader>,
    metrics: Arc<Metrics>,
    filter: netaudit_store::Query,
    alive: impl Fn() -> bool + Clone + Send + Sync + 'static,
) -> Response {
    let start = (None::<NodeHeads>, VecDeque::<NodeEvent>::new());
    let events = futures::stream::unfold(start, move |(mut heads, mut buffer)| {
        let (reader, metrics, filter, alive) = (
            reader.clone(),
            metrics.clone(),
            filter.clone(),
            alive.clone(),
        );
        async move {
            loop {
                if !alive() {
                    return None;
                }
                if let Some(e) = buffer.pop_front() {
                    let event = SseEvent::default()
                        .id(e.key().to_string())
                        .event("event")
                        .data(node_json(&e).to_string());
                    return Some((Ok::<_, Infallible>(event), (heads, buffer)));
                }
                let (r, f, known) = (reader.clone(), filter.clone(), heads.clone());
                let read = tokio::task::spawn_blocking(move || {
                    let mut at: NodeHeads = match known {
                        Some(at) => at,
                        None => r.heads()?.into_iter().collect(),
                    };
                    let events = r.with_client(|client, target| {
                        events_after(client, target, &f, &mut at, FOLLOW_CHUNK)
                    })?;
                    Ok::<_, netaudit_pgstore::PgStoreError>((at, events))
                })
                .await;
                match read {
                    Ok(Ok((at, events))) => {
                        heads = Some(at);
                        if events.is_empty() {
                            // Woken by this node's commit, or polled once a
                            // second for the other nodes'.
                            let _ = tokio::time::timeout(
                                Duration::from_secs(1),
                                metrics.committed.notified(),
                            )
                            .await;
                        }
                        buffer.extend(events);
                    }
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, "event stream: the PostgreSQL store cannot be read; trying again in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(_) => return None,
                }
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
