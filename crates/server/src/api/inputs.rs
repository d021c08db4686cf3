//! `GET /api/v1/inputs/netconf`: the status of each `[[input.netconf]]`
//! device (docs/netconf.md): connected, events received, the last one's
//! time, sessions, reconnects, failures and the last error.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::state::ApiState;

/// `GET /api/v1/inputs/netconf` (admin or auditor).
pub(super) async fn netconf(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    Ok(Json(serde_json::json!({ "devices": state.metrics.netconf_status() })).into_response())
}
