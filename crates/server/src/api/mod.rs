//! The HTTP API under `/api/v1` (docs/api.md): event submission for
//! applications, sessions, users and the authentication policy, examination
//! of the store, operations and their leaves.
//!
//! Every event the API makes or accepts goes to the store writer as a batch
//! of its own and is answered only after it has committed; its sequence
//! numbers come from the writer's acknowledgement.

mod auth;
mod events;
mod openapi;
mod operations;
mod outputs;
mod users;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use netaudit_event::Event;
use tokio::sync::mpsc;

use crate::auth::{AuthDb, Policy, Role};
use crate::config::ApiConfig;
use crate::metrics::Metrics;
use crate::pipeline::batcher::BatchHandle;

pub use auth::Principal;

/// What the handlers share.
pub struct ApiState {
    pub auth: AuthDb,
    /// Weak, so that the writer thread ends at shutdown once the batcher
    /// has handed over its last batch.
    writer: mpsc::WeakSender<BatchHandle>,
    store: Option<Arc<netaudit_store::Store>>,
    metrics: Arc<Metrics>,
    sessions: Mutex<HashMap<String, auth::Session>>,
    config: ApiConfig,
    /// Requests to the serve loop (output reload and listing).
    control: Option<mpsc::Sender<crate::output::control::ControlRequest>>,
}

/// A 4xx/5xx answer with a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %message, "API request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message.to_string())
    }
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"netaudit\""),
            );
        }
        response
    }
}

impl From<netaudit_event::CatalogError> for ApiError {
    fn from(err: netaudit_event::CatalogError) -> ApiError {
        ApiError::internal(err)
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(err: crate::auth::AuthError) -> ApiError {
        use crate::auth::AuthError as E;
        match err {
            E::InvalidRole(_) | E::InvalidName(_) | E::WeakPassword => {
                ApiError::bad_request(err.to_string())
            }
            E::UserExists(_) => ApiError::new(StatusCode::CONFLICT, err.to_string()),
            E::NoSuchUser(_) => ApiError::new(StatusCode::NOT_FOUND, err.to_string()),
            _ => ApiError::internal(err),
        }
    }
}

/// Parses a JSON body with the path of the first bad field in the message.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid JSON body at {path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?;
    Ok(value)
}

/// The longest string accepted in any field that may reach an output.
pub const VALUE_MAX: usize = 4096;

/// Refuses control characters (line breaks would split syslog lines) and
/// overlong values; `]`, `"` and `\` are escaped by the formatters.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(ApiError::bad_request(format!(
            "{field}: {} bytes, at most {max} allowed",
            value.len()
        )));
    }
    if let Some(pos) = value.find(|c: char| c.is_control()) {
        return Err(ApiError::bad_request(format!(
            "{field}: control character at byte {pos} (line breaks and other control characters are not allowed)"
        )));
    }
    Ok(())
}

impl ApiState {
    pub fn new(
        auth: AuthDb,
        writer: mpsc::WeakSender<BatchHandle>,
        store: Option<Arc<netaudit_store::Store>>,
        metrics: Arc<Metrics>,
        config: ApiConfig,
    ) -> ApiState {
        ApiState {
            auth,
            writer,
            store,
            metrics,
            sessions: Mutex::new(HashMap::new()),
            config,
            control: None,
        }
    }

    /// Lets the API reload and list the outputs through the serve loop.
    pub fn with_control(
        mut self,
        control: mpsc::Sender<crate::output::control::ControlRequest>,
    ) -> ApiState {
        self.control = Some(control);
        self
    }

    fn policy(&self) -> Policy {
        Policy {
            max_login_attempts: self.config.max_login_attempts,
            access_window_ns: i64::try_from(self.config.access_window_secs)
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
        }
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.config.session_idle_timeout_secs)
    }

    fn store(&self) -> Result<Arc<netaudit_store::Store>, ApiError> {
        self.store
            .clone()
            .ok_or_else(|| ApiError::unavailable("this server runs without a store"))
    }

    /// Hands `events` to the store writer and waits for the commit; returns
    /// their sequence numbers (consecutive: one transaction).
    pub async fn commit(&self, events: Vec<Event>) -> Result<Vec<u64>, ApiError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let count = events.len() as u64;
        let writer = self
            .writer
            .upgrade()
            .ok_or_else(|| ApiError::unavailable("the server is shutting down"))?;
        let (batch, ack) = BatchHandle::acknowledged(events);
        self.metrics.pending.fetch_add(count, Relaxed);
        if writer.send(batch).await.is_err() {
            return Err(ApiError::unavailable("the store writer has stopped"));
        }
        drop(writer);
        let last = match tokio::time::timeout(COMMIT_WAIT, ack).await {
            Ok(Ok(last)) => last,
            Ok(Err(_)) => {
                return Err(ApiError::unavailable(
                    "the store writer stopped before committing",
                ))
            }
            // The batch stays queued and is committed once the store
            // recovers; the caller only stops waiting.
            Err(_) => {
                return Err(ApiError::unavailable(format!(
                    "the store has not committed within {} s (see /health); the events are queued and will be stored once it recovers",
                    COMMIT_WAIT.as_secs()
                )))
            }
        };
        let first = last.saturating_add(1).saturating_sub(count);
        Ok((first..=last).collect())
    }

    /// Records one catalog event made by netaudit itself (logins, user
    /// changes); waits for its commit.
    pub async fn audit(&self, code: &str, vars: &[(&str, &str)]) -> Result<u64, ApiError> {
        let event = audit_event(code, vars, &[], API_APP)?;
        let seqs = self.commit(vec![event]).await?;
        seqs.last()
            .copied()
            .ok_or_else(|| ApiError::internal("commit returned no sequence number"))
    }

    /// Like [`ApiState::audit`] with extra parameters in netaudit's own
    /// SD element (e.g. the login failure reason).
    pub async fn audit_with(
        &self,
        code: &str,
        vars: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Result<u64, ApiError> {
        let event = audit_event(code, vars, extra, API_APP)?;
        let seqs = self.commit(vec![event]).await?;
        seqs.last()
            .copied()
            .ok_or_else(|| ApiError::internal("commit returned no sequence number"))
    }
}

/// How often the server looks for audit events queued by `netaudit user`.
pub const OUTBOX_POLL: Duration = Duration::from_secs(2);

/// Moves audit events queued in the auth database's outbox (changes made
/// with `netaudit user`, see `auth`) into the store: at start, then every
/// [`OUTBOX_POLL`], until `cancel`. A row leaves the outbox only after its
/// event has committed; a crash between the two stores it twice (at least
/// once, never lost).
pub async fn drain_outbox(state: Arc<ApiState>, cancel: tokio_util::sync::CancellationToken) {
    loop {
        match drain_outbox_once(&state).await {
            Ok(0) => {}
            Ok(moved) => tracing::info!(events = moved, "audit events of `netaudit user` stored"),
            Err(err) => {
                tracing::warn!(error = %err.message, "cannot move queued audit events into the store; retrying")
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(OUTBOX_POLL) => {}
        }
    }
}

async fn drain_outbox_once(state: &Arc<ApiState>) -> Result<usize, ApiError> {
    let reader = state.clone();
    let rows = tokio::task::spawn_blocking(move || reader.auth.outbox(1000))
        .await
        .map_err(ApiError::internal)??;
    let Some(&(last_id, _)) = rows.last() else {
        return Ok(0);
    };
    let events: Vec<Event> = rows.into_iter().map(|(_, event)| event).collect();
    let moved = events.len();
    state.commit(events).await?;
    let remover = state.clone();
    tokio::task::spawn_blocking(move || remover.auth.remove_from_outbox(last_id))
        .await
        .map_err(ApiError::internal)??;
    Ok(moved)
}

/// How long a request waits for its events' commit before answering 503
/// (the store writer retries a failing append every second meanwhile).
pub const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) use crate::self_events::{audit_event, API_APP, NETAUDIT_SD_ID};

/// The `/api/v1` routes with their state; starts the session sweeper.
pub fn router(state: Arc<ApiState>) -> Router {
    let limit = state.config.body_limit_bytes;
    auth::spawn_session_sweeper(Arc::downgrade(&state));
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/login", post(users::login))
        .route("/api/v1/logout", post(users::logout))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/:name", axum::routing::delete(users::delete))
        .route("/api/v1/users/:name/password", put(users::set_password))
        .route("/api/v1/users/:name/lock", post(users::lock))
        .route("/api/v1/users/:name/unlock", post(users::unlock))
        .route("/api/v1/users/:name/tokens", post(users::token))
        .route("/api/v1/events", post(events::submit).get(events::query))
        .route("/api/v1/events/stream", get(events::stream))
        .route("/api/v1/verify", get(events::verify))
        .route("/api/v1/export", get(events::export))
        .route(
            "/api/v1/operations",
            post(operations::create).get(operations::list),
        )
        .route("/api/v1/outputs", get(outputs::list))
        .route("/api/v1/outputs/reload", post(outputs::reload))
        .route(
            "/api/v1/operations/:name/leaves/:device",
            put(operations::report_leaf),
        )
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The peer address as the API reports it (no port: JUNOScope's client
/// address is the host).
pub fn client_address(peer: SocketAddr) -> String {
    peer.ip().to_string()
}

/// Role check: 403 naming what is needed.
pub fn require(principal: &Principal, allowed: &[Role], what: &str) -> Result<(), ApiError> {
    if principal.token && !allowed.contains(&Role::Reporter) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{what}: API tokens may only submit events and operations"),
        ));
    }
    if allowed.contains(&principal.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{what} needs the role {}; {} has the role {}",
                names.join(" or "),
                principal.user,
                principal.role
            ),
        ))
    }
}

/// Seconds elapsed since `since`, for idle checks.
fn idle_since(since: Instant) -> Duration {
    Instant::now().saturating_duration_since(since)
}
