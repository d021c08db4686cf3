//! The console's one error type: a status and a message for the page. API
//! errors keep their status and their client-safe message; their hidden
//! cause is logged here with the page's path.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::error_page;
use crate::api::error::ApiError;

/// A page that could not be shown, and why.
#[derive(Debug)]
pub(super) struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
        }
    }
    pub(super) fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, message)
    }
    pub(super) fn forbidden(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, message)
    }
    pub(super) fn not_found(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> PageError {
        if err.status.is_server_error() {
            // The Display of an API error has its hidden cause: log only.
            tracing::error!(status = err.status.as_u16(), error = %err, "console page failed");
        }
        PageError::new(err.status, err.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        (self.status, error_page(self.status, &self.message)).into_response()
    }
}
