//! Every error of the HTTP port answers `{"error": "..."}`: unknown routes
//! (404), methods a route does not have (405), the limits on the request
//! line and head (414, 431), bodies that are not JSON (415), and the
//! rejections of axum's extractors (a bad path parameter or query, 413),
//! which come as plain text or with an empty body and are rewritten here.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The longest request target (path and query) accepted, in bytes.
pub(super) const URI_MAX: usize = 8 * 1024;
/// The most header bytes (names and values) accepted in one request.
pub(super) const HEADERS_MAX: usize = 16 * 1024;

/// The fallback of the whole port: 404 for a path no route has.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not found: no such route")
}

/// Outermost layer: refuses an overlong request target (414) or head
/// (431), and gives every error without a JSON body one.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > URI_MAX {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("request target: {target} bytes, at most {URI_MAX} allowed"),
        )
        .into_response();
    }
    let head = header_bytes(request.headers());
    if head > HEADERS_MAX {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("request headers: {head} bytes, at most {HEADERS_MAX} allowed"),
        )
        .into_response();
    }
    let response = next.run(request).await;
    let status = response.status();
    // The console's pages (text/html) carry their own error pages.
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || is_html(response.headers())
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Rejection texts are short; anything longer is not one.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|t| !t.is_empty() && !t.chars().any(char::is_control))
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    let json = serde_json::json!({ "error": text }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// API layer: a body sent with a `Content-Type` that is not JSON is
/// refused with 415 (every body the API takes is JSON; no header is read
/// as JSON).
pub(super) async fn json_bodies(request: Request, next: Next) -> Response {
    let sends_body = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    );
    if sends_body {
        if let Some(value) = request.headers().get(header::CONTENT_TYPE) {
            if !is_json_type(value.to_str().unwrap_or("")) {
                return ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type: the API takes application/json",
                )
                .into_response();
            }
        }
    }
    next.run(request).await
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_type)
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// `application/json` or `application/<something>+json`, parameters allowed.
fn is_json_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::is_json_type;

    #[test]
    fn json_media_types() {
        assert!(is_json_type("application/json"));
        assert!(is_json_type("Application/JSON; charset=utf-8"));
        assert!(is_json_type("application/problem+json"));
        assert!(!is_json_type("text/plain"));
        assert!(!is_json_type("application/x-www-form-urlencoded"));
        assert!(!is_json_type(""));
    }
}
