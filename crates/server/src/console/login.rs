//! The login page, logout, and `/`: the same users, sessions, lockout
//! policy and events as `POST /api/v1/login` (api/sign_in.rs).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use maud::html;
use serde::Deserialize;

use super::guard::{form_field, see_other};
use super::layout::{bare, page, MENU};
use super::security::{cookie, cookie_value, same_secret};
use super::state::ConsoleState;
use super::viewer::{Viewer, CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE};
use crate::api::principal::client_address;
use crate::api::sign_in::{sign_in, sign_out};
use crate::auth::random_secret;

type St = State<Arc<ConsoleState>>;

/// How long the login form's cookie lives.
const LOGIN_FORM_SECS: u64 = 3600;

/// Why the login page is shown (`?ended=`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct LoginQuery {
    ended: Option<String>,
}

/// `GET /login`.
pub(super) async fn form(
    State(state): St,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let note = match query.ok().and_then(|Query(q)| q.ended).as_deref() {
        Some("idle") => Some("Your session ended after its idle timeout. Sign in again."),
        Some("logout") => Some("You are signed out."),
        _ => None,
    };
    login_page(&state, &headers, StatusCode::OK, note, None, "")
}

/// The login page with `message` (a refusal) or `note`, and the form's
/// token cookie (kept when the browser already has a sane one).
fn login_page(
    state: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    note: Option<&str>,
    message: Option<&str>,
    username: &str,
) -> Response {
    let token = cookie_value(headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| random_secret(""));
    let body = html! {
        section.login {
            h1 { "Sign in" }
            @if let Some(note) = note { p.note { (note) } }
            @if let Some(message) = message { p.message role="alert" { (message) } }
            form method="post" action="/login" {
                input type="hidden" name=(CSRF_FIELD) value=(token);
                label for="username" { "User name" }
                input id="username" type="text" name="username" value=(username) maxlength="64" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input id="password" type="password" name="password" maxlength="1024" autocomplete="current-password" required;
                button id="sign-in" type="submit" { "Sign in" }
            }
        }
    };
    let set = cookie(
        LOGIN_COOKIE,
        &token,
        Some(LOGIN_FORM_SECS),
        state.secure_cookies,
    );
    (status, [(header::SET_COOKIE, set)], bare("Sign in", body)).into_response()
}

/// `POST /login`: a session cookie and `/`, or the page again with the
/// one refusal message.
pub(super) async fn submit(
    State(state): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > super::guard::FORM_MAX {
        return refused(
            &state,
            &headers,
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is too large",
            "",
        );
    }
    let username = form_field(&body, "username").unwrap_or_default();
    let password = form_field(&body, "password").unwrap_or_default();
    let shown_name: String = username.chars().take(64).collect();
    let token_ok = match (
        form_field(&body, CSRF_FIELD),
        cookie_value(&headers, LOGIN_COOKIE),
    ) {
        (Some(sent), Some(kept)) => same_secret(&sent, &kept),
        _ => false,
    };
    if !token_ok {
        return refused(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong (reload the page and try again)",
            &shown_name,
        );
    }
    if username.is_empty() || username.len() > crate::auth::NAME_MAX {
        return refused(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "user name: 1 to 64 characters",
            "",
        );
    }
    if username.chars().any(char::is_control) {
        return refused(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "user name: control characters are not allowed",
            "",
        );
    }
    if password.len() > 1024 {
        return refused(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "password: at most 1024 bytes",
            &shown_name,
        );
    }
    let client = client_address(peer);
    match sign_in(&state.api, &username, password, &client).await {
        Ok(signed) => {
            let session = cookie(SESSION_COOKIE, &signed.secret, None, state.secure_cookies);
            let forget = cookie(LOGIN_COOKIE, "", Some(0), state.secure_cookies);
            let mut response = see_other("/");
            let headers = response.headers_mut();
            for value in [session, forget] {
                if let Ok(value) = header::HeaderValue::from_str(&value) {
                    headers.append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(err) => {
            if err.status.is_server_error() {
                tracing::error!(error = %err, "console login failed");
            }
            refused(&state, &headers, err.status, &err.message, &shown_name)
        }
    }
}

fn refused(
    state: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
    username: &str,
) -> Response {
    login_page(state, headers, status, None, Some(message), username)
}

/// `POST /logout` (any role): ends the session (JUNOSCOPE_LOGOUT).
pub(super) async fn logout(State(state): St, Extension(viewer): Extension<Viewer>) -> Response {
    if let Err(err) = sign_out(
        &state.api,
        &viewer.session_key,
        &viewer.user,
        &viewer.client,
    )
    .await
    {
        return super::page_error::PageError::from(err).into_response();
    }
    let mut response = see_other("/login?ended=logout");
    if let Ok(value) =
        header::HeaderValue::from_str(&cookie(SESSION_COOKIE, "", Some(0), state.secure_cookies))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /` (any role): the first page of the viewer's role, or, for a
/// role without pages, what the console offers it.
pub(super) async fn home(Extension(viewer): Extension<Viewer>) -> Response {
    if let Some(first) = MENU.iter().find(|item| viewer.has(item.roles)) {
        return Redirect::to(first.path).into_response();
    }
    page(
        "Home",
        &viewer,
        "/",
        html! {
            h1 { "Nothing to show for the role " (viewer.role) }
            p { "Reporters submit events and operations through the HTTP API (docs/api.md); the console's pages are for auditors and administrators." }
        },
    )
    .into_response()
}
