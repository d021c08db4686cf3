//! `GET /api/v1/events` on a PostgreSQL store (`store.backend =
//! "postgres"`): every node's events in the global order (received time,
//! node, sequence: docs/cluster.md), the same filters as on the embedded
//! store plus `node`, one keyset page at a time: `next` is a page key
//! (`RECEIVED_NS.SEQ.NODE`), given back as `page=` for the next page.
//! `GET /api/v1/export` there streams every node's events in that order.
//! `GET /api/v1/events/stream` there follows every node's new events
//! (each node after its own last sequence number: `netaudit_pgstore::
//! events_after`), from now or from `Last-Event-ID`; the `id` of each is
//! every node's position after it (`NODE:SEQ,...`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use netaudit_pgstore::{
    events_after, heads_from_text, heads_to_text, GlobalKey, GlobalQuery, GlobalReader, NodeEvent,
    NodeHeads,
};

use super::error::ApiError;
use crate::display::EventFormat;
use crate::metrics::Metrics;
use crate::node_display::{node_json, write_node_events};

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
    check_filter(&filter)?;
    let query = GlobalQuery {
        filter,
        node,
        after,
        upto: None,
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

/// The filters PostgreSQL could refuse, checked first so that the client
/// hears which parameter is wrong (400) rather than a 503.
pub(crate) fn check_filter(filter: &netaudit_store::Query) -> Result<(), ApiError> {
    if let Some(code) = &filter.code {
        netaudit_pgstore::check_code_glob(code)
            .map_err(|e| ApiError::bad_request(format!("code: {e}")))?;
    }
    Ok(())
}

/// Every node's events matching `filter` (and `node`) in the global order,
/// up to each node's last sequence number when the export began (so it
/// ends under load), streamed in `format` one keyset page at a time: never
/// the whole result in memory. The JSON lines name each event's node.
pub(crate) async fn export(
    reader: Arc<GlobalReader>,
    mut filter: netaudit_store::Query,
    node: Option<String>,
    format: EventFormat,
    content_type: &'static str,
) -> Result<Response, ApiError> {
    if let Some(node) = &node {
        netaudit_pgstore::check_node_id(node)
            .map_err(|e| ApiError::bad_request(format!("node: {e}")))?;
    }
    check_filter(&filter)?;
    filter.order = netaudit_store::Order::Ascending;
    let heads_reader = reader.clone();
    let upto: NodeHeads = tokio::task::spawn_blocking(move || heads_reader.heads())
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "export: the PostgreSQL store cannot be read (see the server log)",
                e,
            )
        })?
        .into_iter()
        .collect();
    let first = GlobalQuery {
        filter,
        node,
        after: None,
        upto: Some(upto),
    };
    let chunks = futures::stream::unfold(Some(first), move |query| {
        let reader = reader.clone();
        async move {
            let query = query?;
            let q = query.clone();
            let page = match tokio::task::spawn_blocking(move || reader.query(&q)).await {
                Ok(Ok(page)) => page,
                // The body is cut short; the client sees an aborted
                // transfer, the cause goes to the log only.
                Ok(Err(e)) => return Some((Err(export_stopped(&e)), None)),
                Err(e) => return Some((Err(export_stopped(&e)), None)),
            };
            if page.events.is_empty() {
                return None;
            }
            let mut out = Vec::with_capacity(page.events.len() * 300);
            if let Err(e) = write_node_events(&mut out, &page.events, format, false) {
                return Some((Err(e), None));
            }
            let next = page.next.map(|after| GlobalQuery {
                after: Some(after),
                ..query
            });
            Some((Ok(Bytes::from(out)), next))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(chunks),
    )
        .into_response())
}

fn export_stopped(cause: &dyn std::fmt::Display) -> std::io::Error {
    tracing::error!(route = "/api/v1/export", cause = %cause, "export stopped (PostgreSQL store)");
    std::io::Error::other("export stopped")
}

/// Events each node's poll reads at most.
const FOLLOW_CHUNK: usize = 500;

/// The server-sent events of every node's new events matching `filter`,
/// from `resume` (a `Last-Event-ID`: each node's last sequence number
/// sent; a node it does not name is read from its first event) or from
/// now, for as long as `alive` says (the caller's login session). Each
/// event's SSE id is the position after it, every node's
/// (`NODE:SEQ,...`), so a resumed stream misses and repeats nothing. While
/// the database is away the stream stays open and tries again every
/// second.
pub(super) fn stream(
    reader: Arc<GlobalReader>,
    metrics: Arc<Metrics>,
    filter: netaudit_store::Query,
    resume: Option<NodeHeads>,
    alive: impl Fn() -> bool + Clone + Send + Sync + 'static,
) -> Response {
    let start = (resume, VecDeque::<NodeEvent>::new());
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
                    let id = heads_to_text(&sent_through(heads.as_ref(), &buffer));
                    let event = SseEvent::default()
                        .id(id)
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

/// Each node's position once every event before those still `buffered`
/// has been sent: the read position, or just before a node's lowest
/// sequence number still waiting (the global order may send a node's
/// events out of its own sequence order: received time comes first).
fn sent_through(read: Option<&NodeHeads>, buffered: &VecDeque<NodeEvent>) -> NodeHeads {
    let mut at = read.cloned().unwrap_or_default();
    for e in buffered {
        let before = e.event.seq.saturating_sub(1);
        at.entry(e.node.clone())
            .and_modify(|s| *s = (*s).min(before))
            .or_insert(before);
    }
    at
}

/// The position a stream resumes from: `Last-Event-ID` as this store's
/// stream gives it; anything else is the client's error, naming the header.
pub(super) fn resume_position(
    headers: &axum::http::HeaderMap,
) -> Result<Option<NodeHeads>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Last-Event-ID: not text"))?;
    heads_from_text(text)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("Last-Event-ID: {e}")))
}
