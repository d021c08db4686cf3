//! Requests no page answers, for a person in a browser: a path no route
//! has (404) and a method a page does not take (405) get the console's
//! error page, with its headers and a link back. The machines' paths
//! (`/api`, `/health`, `/metrics`) keep the API's JSON errors.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::page_error::PageError;
use super::security::set_headers;

/// Whether `path` belongs to the API or the machine endpoints rather than
/// to the console.
fn machines_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/health" || path == "/metrics"
}

/// The port's fallback when the console is on: the console's 404 page, or
/// the API's JSON 404 under the machines' paths.
pub(crate) async fn not_found(method: Method, uri: Uri) -> Response {
    if machines_path(uri.path()) {
        return crate::api::not_found().await.into_response();
    }
    // HEAD and the rest get the same status; the page is for GET.
    let mut response =
        PageError::not_found(format!("There is no page at {}.", uri.path())).into_response();
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    set_headers(response.headers_mut());
    response
}

/// Layer on the console's routes: the empty 405 of a method a page does
/// not take becomes the console's page (its `Allow` header kept).
pub(super) async fn method_not_allowed(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let takes = allow
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" (it takes {v})"))
        .unwrap_or_default();
    let mut page = PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("This page does not take {method}{takes}."),
    )
    .into_response();
    if let Some(allow) = allow {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    if method == Method::HEAD {
        *page.body_mut() = Body::empty();
        page.headers_mut().remove(header::CONTENT_LENGTH);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_paths_are_the_api_health_and_metrics() {
        for path in ["/api", "/api/", "/api/v1/nothing", "/health", "/metrics"] {
            assert!(machines_path(path), "{path}");
        }
        for path in [
            "/",
            "/apis",
            "/events/1/x",
            "/healthz",
            "/metrics/x",
            "/nope",
        ] {
            assert!(!machines_path(path), "{path}");
        }
    }
}
