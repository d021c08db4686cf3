//! The outputs (`[[output.*]]` in the configuration file): listing them, and
//! reloading the file on an administrator's request with audit events that
//! carry the administrator and their client address (see
//! `crate::output::control`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::oneshot;

use super::error::ApiError;
use super::principal::Principal;
use super::state::ApiState;
use crate::config::{OutputConfig, Transport};
use crate::output::control::{self, Actor, ControlRequest, ReloadError};
use crate::output::OutputSpec;

type St = State<Arc<ApiState>>;

/// Asks the serve loop and waits for its answer.
pub(super) async fn ask<T>(
    state: &ApiState,
    request: impl FnOnce(oneshot::Sender<T>) -> ControlRequest,
) -> Result<T, ApiError> {
    let control = state
        .control
        .clone()
        .ok_or_else(|| ApiError::unavailable("this server cannot change its outputs"))?;
    let (reply, answer) = oneshot::channel();
    control
        .send(request(reply))
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))?;
    answer
        .await
        .map_err(|_| ApiError::unavailable("the server is shutting down"))
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Relp => "relp",
    }
}

/// One running output as the listing shows it: no secrets (not even where
/// the RADIUS secret is read from).
fn describe(spec: &OutputSpec, cursor: u64, last_seq: u64) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "name": spec.name(),
        "cursor_name": spec.cursor_name(),
        "cursor": cursor,
        "lag": last_seq.saturating_sub(cursor),
    });
    let details = match spec {
        OutputSpec::Syslog(c) => serde_json::json!({
            "kind": "syslog",
            "transport": transport_name(c.transport),
            "address": c.address,
        }),
        OutputSpec::File(c) => serde_json::json!({
            "kind": "file",
            "dir": c.dir,
        }),
        OutputSpec::Radius(c) => serde_json::json!({
            "kind": "radius",
            "servers": c.servers,
            "nas_identifier": c.nas_identifier,
        }),
    };
    if let (Some(entry), serde_json::Value::Object(details)) = (entry.as_object_mut(), details) {
        entry.extend(details);
    }
    entry
}

/// `GET /api/v1/outputs` (admin or auditor): the running outputs with their
/// durable cursor and lag (events committed but not yet behind the cursor).
pub(super) async fn list(State(state): St) -> Result<Response, ApiError> {
    let outputs = output_list(&state).await?;
    Ok(Json(serde_json::json!({ "outputs": outputs })).into_response())
}

/// The running outputs as `GET /api/v1/outputs` lists them (the console's
/// Outputs page too).
pub(crate) async fn output_list(state: &ApiState) -> Result<Vec<serde_json::Value>, ApiError> {
    let config: OutputConfig = ask(state, ControlRequest::Outputs).await?;
    if let Some(reader) = state.cluster() {
        return cluster_output_list(reader, config).await;
    }
    let store = state.store()?;
    let outputs = tokio::task::spawn_blocking(move || {
        let last_seq = store.last_seq();
        OutputSpec::all(&config)
            .iter()
            .map(|spec| {
                let cursor = store.cursor(&spec.cursor_name())?;
                Ok(describe(spec, cursor, last_seq))
            })
            .collect::<Result<Vec<_>, netaudit_store::StoreError>>()
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(outputs)
}

/// On a PostgreSQL store: each output with the node that owns it (its
/// lease: node, generation, time left) and its cursor per node (each
/// node's last sequence number delivered).
async fn cluster_output_list(
    reader: Arc<netaudit_pgstore::GlobalReader>,
    config: OutputConfig,
) -> Result<Vec<serde_json::Value>, ApiError> {
    tokio::task::spawn_blocking(move || {
        reader.with_client(|client, target| {
            OutputSpec::all(&config)
                .iter()
                .map(|spec| {
                    let name = spec.cursor_name();
                    let holder = netaudit_pgstore::lease_holder(client, target, &name)?;
                    let cursors = netaudit_pgstore::output_node_cursors(client, target, &name)?;
                    let mut entry = describe(spec, 0, 0);
                    if let Some(object) = entry.as_object_mut() {
                        object.remove("lag");
                        object.insert("cursor".into(), serde_json::json!(cursors));
                        object.insert(
                            "owner".into(),
                            match holder {
                                Some(h) => serde_json::json!({
                                    "node": h.node_id,
                                    "generation": h.generation,
                                    "expires_in_ms": h.expires_in.as_millis() as u64,
                                }),
                                None => serde_json::Value::Null,
                            },
                        );
                    }
                    Ok(entry)
                })
                .collect()
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// `POST /api/v1/outputs/reload` (admin): re-reads the configuration file
/// and applies it as SIGHUP does; 200 with what changed and the sequence
/// numbers of the audit events, 400 when the file is rejected (nothing
/// changed), 409 when the server runs without a configuration file.
pub(super) async fn reload(State(state): St, principal: Principal) -> Result<Response, ApiError> {
    Ok(Json(reload_outputs(&state, &principal).await?).into_response())
}

/// Re-reads the configuration file for `principal` and records what
/// changed; the summary `POST /api/v1/outputs/reload` answers.
pub(crate) async fn reload_outputs(
    state: &ApiState,
    principal: &Principal,
) -> Result<serde_json::Value, ApiError> {
    let applied = match ask(state, ControlRequest::Reload).await? {
        Ok(applied) => applied,
        Err(err @ ReloadError::NoConfigFile) => {
            return Err(ApiError::new(StatusCode::CONFLICT, err.to_string()))
        }
        Err(err @ ReloadError::Invalid(_)) => return Err(ApiError::bad_request(err.to_string())),
    };
    let actor = Actor {
        user: principal.user.clone(),
        client: principal.client.clone(),
    };
    let changes = control::diff(&applied.old, &applied.new);
    let events = control::audit_events(&applied.old, &applied.new, &actor);
    let seqs = state.commit(events).await?;
    let mut body = control::summary(&changes);
    if let Some(object) = body.as_object_mut() {
        object.insert("events".to_owned(), serde_json::json!(seqs));
    }
    Ok(body)
}
