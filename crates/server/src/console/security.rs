//! The console's response headers (a strict Content-Security-Policy: no
//! inline script, no `eval`, nothing from another host; no framing; no
//! caching of audit data) and its cookies (HttpOnly, SameSite=Strict,
//! Secure unless on plain HTTP).

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// Scripts, styles and images only from this server's own `/assets`; no
/// inline script or style, no `eval`; forms post only here; never framed.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Layer on every console route.
pub(super) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_headers(response.headers_mut());
    response
}

/// The console's headers on one response (also the pages answered
/// outside its routes: `not_found.rs`).
pub(super) fn set_headers(headers: &mut HeaderMap) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages show audit data: never kept by a browser or proxy. The assets
    // may be kept (they are compiled in and change only with the binary).
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// A `Set-Cookie` value: path `/`, HttpOnly, SameSite=Strict, Secure
/// when `secure`; without `max_age` it lasts until the browser closes,
/// `Some(0)` removes it.
pub(super) fn cookie(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{}{}",
        max_age
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default(),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a request's headers.
pub(super) fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

/// Compares two secrets in time independent of where they differ.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_and_strict_and_secure_when_asked() {
        let c = cookie("n", "v", Some(60), true);
        assert_eq!(
            c,
            "n=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!cookie("n", "v", None, false).contains("Secure"));
    }

    #[test]
    fn cookie_values_are_found_among_others() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie_value(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie_value(&headers, "c").as_deref(), Some("3"));
        assert_eq!(cookie_value(&headers, "d"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
