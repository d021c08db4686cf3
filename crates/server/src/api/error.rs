//! The API's one error type: a status and a message for the client, and,
//! for failures inside the server, the real cause, which is logged with the
//! request's route and never sent (it may name files or SQLite internals).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What clients see instead of an internal cause.
pub(super) const INTERNAL_MESSAGE: &str = "internal error (see the server log)";

/// What clients see while the user database is locked by another process.
pub(super) const BUSY_MESSAGE: &str = "the user database is busy; try again shortly";

/// A 4xx/5xx answer with a JSON body `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    /// Sent to the client.
    pub message: String,
    /// Logged, never sent.
    cause: Option<String>,
    /// Seconds for a `Retry-After` header (503 while busy).
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            cause: None,
            retry_after: None,
        }
    }
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 500 with a generic message; `cause` goes to the log.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::hiding(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE, cause)
    }
    pub(crate) fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
    /// `status` and `message` for the client, `cause` for the log only.
    pub(crate) fn hiding(
        status: StatusCode,
        message: impl Into<String>,
        cause: impl std::fmt::Display,
    ) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            cause: Some(cause.to_string()),
            retry_after: None,
        }
    }
    /// The same error with a `Retry-After: secs` header.
    pub(crate) fn retry_after(self, secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(secs),
            ..self
        }
    }
    /// The same error with `prefix` before the client's message.
    pub(crate) fn prefixed(self, prefix: &str) -> ApiError {
        ApiError {
            message: format!("{prefix}{}", self.message),
            ..self
        }
    }
}

/// For the server's own log: the message and the hidden cause.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The hidden cause, carried from the handler to [`log_causes`], which
/// knows the route.
#[derive(Clone)]
struct Cause(String);

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
                HeaderValue::from_static("Bearer realm=\"netaudit\""),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(Cause(cause));
        }
        response
    }
}

/// Route layer: logs the cause of every failure that hid one, with the
/// method and route of its request.
pub(super) async fn log_causes(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let mut response = next.run(request).await;
    if let Some(Cause(cause)) = response.extensions_mut().remove::<Cause>() {
        tracing::error!(%method, %route, status = response.status().as_u16(), %cause, "API request failed");
    }
    response
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
            // Another process holds auth.db's lock: passing, and not the
            // client's business which file or process.
            // The shared users' database on a PostgreSQL store is away (or
            // failed): passing as far as the client can tell; the cause is
            // logged, not shown.
            E::Shared(_) => ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "the users database is unavailable; try again shortly",
                err,
            )
            .retry_after(1),
            _ if err.is_busy() => {
                ApiError::hiding(StatusCode::SERVICE_UNAVAILABLE, BUSY_MESSAGE, err).retry_after(1)
            }
            _ => ApiError::internal(err),
        }
    }
}
