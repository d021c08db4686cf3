//! `GET /api/v1/policies`: the event policies configured now
//! (docs/policies.md), with the cursors of their evaluation and actions.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::outputs::ask;
use super::state::ApiState;
use crate::config::PolicyConfig;
use crate::output::consumer::OutputKind;
use crate::output::control::ControlRequest;

/// One policy as the listing shows it: no program arguments, URLs or
/// secret paths (they may carry credentials).
fn describe(
    policy: &PolicyConfig,
    cursor: u64,
    actions_cursor: u64,
    last_seq: u64,
) -> serde_json::Value {
    serde_json::json!({
        "name": policy.name,
        "enabled": policy.enabled,
        "builtin": policy.builtin,
        "correlation": policy.correlation.kind(),
        "severity": policy.severity.name(),
        "max_per_minute": policy.max_per_minute,
        "actions": policy.actions.iter().map(|a| a.kind()).collect::<Vec<_>>(),
        "cursor_name": OutputKind::Policy.cursor_name(&policy.name),
        "cursor": cursor,
        "lag": if policy.enabled { last_seq.saturating_sub(cursor) } else { 0 },
        "actions_cursor": actions_cursor,
    })
}

/// `GET /api/v1/policies` (admin or auditor).
pub(super) async fn list(State(state): State<Arc<ApiState>>) -> Result<Response, ApiError> {
    let policies: Vec<PolicyConfig> = ask(&state, ControlRequest::Policies).await?;
    let store = state.store()?;
    let listed = tokio::task::spawn_blocking(move || {
        let last_seq = store.last_seq();
        policies
            .iter()
            .map(|policy| {
                let cursor = store.cursor(&OutputKind::Policy.cursor_name(&policy.name))?;
                let actions = store.cursor(&OutputKind::PolicyAction.cursor_name(&policy.name))?;
                Ok(describe(policy, cursor, actions, last_seq))
            })
            .collect::<Result<Vec<_>, netaudit_store::StoreError>>()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Json(serde_json::json!({ "policies": listed })).into_response())
}
