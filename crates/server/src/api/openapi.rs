//! The OpenAPI document, written by hand (docs/api.md describes the same
//! endpoints); a unit test checks that it lists exactly the router's paths.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, served at `/api/v1/openapi.json`.
pub(super) const DOCUMENT: &str = include_str!("openapi.json");

pub(super) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;

    /// The routes of `api::router` (routes.rs), in OpenAPI path syntax; keep in step.
    const ROUTES: &[(&str, &[&str])] = &[
        ("/api/v1/login", &["post"]),
        ("/api/v1/logout", &["post"]),
        ("/api/v1/users", &["get", "post"]),
        ("/api/v1/users/{name}", &["delete"]),
        ("/api/v1/users/{name}/password", &["put"]),
        ("/api/v1/users/{name}/lock", &["post"]),
        ("/api/v1/users/{name}/unlock", &["post"]),
        ("/api/v1/users/{name}/tokens", &["post"]),
        ("/api/v1/events", &["get", "post"]),
        ("/api/v1/events/stream", &["get"]),
        ("/api/v1/verify", &["get"]),
        ("/api/v1/export", &["get"]),
        ("/api/v1/operations", &["get", "post"]),
        ("/api/v1/operations/{name}/leaves/{device}", &["put"]),
        ("/api/v1/outputs", &["get"]),
        ("/api/v1/outputs/reload", &["post"]),
        ("/api/v1/policies", &["get"]),
        ("/api/v1/inputs/netconf", &["get"]),
        ("/api/v1/report/ndcpp", &["get"]),
        ("/api/v1/store/damage/ack", &["post"]),
    ];

    #[test]
    fn the_document_lists_exactly_the_routes_of_the_router() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), ROUTES.len());
        for (path, methods) in ROUTES {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} missing"));
            let mut listed: Vec<&str> = item
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            listed.sort_unstable();
            assert_eq!(&listed, methods, "{path}");
        }
        // The router source names the same paths (axum's `:param` syntax).
        let router = include_str!("routes.rs");
        for (path, _) in ROUTES {
            let axum_path = path
                .replace("{name}", ":name")
                .replace("{device}", ":device");
            assert!(
                router.contains(&format!("\"{axum_path}\"")),
                "{axum_path} not routed"
            );
        }
    }
}
