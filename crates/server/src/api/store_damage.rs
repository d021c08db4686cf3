//! `POST /api/v1/store/damage/ack` (admin): the operator has seen the damage
//! the start-up check found (the server was started with
//! `--accept-damaged-store`); `/health` goes back to `ok`. Audited.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use netaudit_event::{Param, Severity};

use super::error::ApiError;
use super::principal::Principal;
use super::state::ApiState;
use crate::self_events::{internal_event, API_APP, NETAUDIT_SD_ID};

/// The code of the audit event of an acknowledgement.
pub(super) const CODE_DAMAGE_ACKNOWLEDGED: &str = "NETAUDIT_STORE_DAMAGE_ACKNOWLEDGED";

/// 200 `{"acknowledged":true,"events":[seq]}` once the audit event is
/// stored; 409 when the store is not marked damaged (nothing to
/// acknowledge, or another administrator was first).
pub(super) async fn acknowledge(
    State(state): State<Arc<ApiState>>,
    principal: Principal,
) -> Result<Response, ApiError> {
    let damaged = &state.metrics.store_damaged;
    if damaged
        .compare_exchange(true, false, SeqCst, SeqCst)
        .is_err()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "the store is not marked damaged: nothing to acknowledge",
        ));
    }
    let mut event = internal_event(
        CODE_DAMAGE_ACKNOWLEDGED,
        Severity::Notice,
        format!(
            "Store damage acknowledged: user: '{}' client address: '{}'",
            principal.user, principal.client
        ),
    );
    event.app = Some(API_APP.into());
    event.user = Some(principal.user.as_str().into());
    event.client_addr = Some(principal.client.as_str().into());
    for (name, value) in [
        ("username", principal.user.as_str()),
        ("client-address", principal.client.as_str()),
    ] {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.into(),
        });
    }
    match state.commit(vec![event]).await {
        Ok(seqs) => {
            tracing::warn!(user = %principal.user, client = %principal.client, "store damage acknowledged; /health is ok again");
            Ok(Json(serde_json::json!({ "acknowledged": true, "events": seqs })).into_response())
        }
        Err(err) => {
            // Not audited, so not acknowledged.
            damaged.store(true, SeqCst);
            Err(err)
        }
    }
}
