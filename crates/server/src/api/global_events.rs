//! `GET /api/v1/events` on a PostgreSQL store (`store.backend =
//! "postgres"`): every node's events in the global order (received time,
//! node, sequence: docs/cluster.md), the same filters as on the embedded
//! store plus `node`, one keyset page at a time: `next` is a page key
//! (`RECEIVED_NS.SEQ.NODE`), given back as `page=` for the next page.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use netaudit_pgstore::{GlobalKey, GlobalQuery, GlobalReader, NodeEvent};

use super::error::ApiError;
use crate::display::json_of;

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
