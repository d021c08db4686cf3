//! In front of every console page but login and the assets: the viewer
//! from the session cookie (none: to the login page), the role (without
//! it: a 403 page), and for every POST the form's CSRF token.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;

use super::page_error::PageError;
use super::security::{cookie_value, same_secret};
use super::state::ConsoleState;
use super::viewer::{csrf_token, Viewer, CSRF_FIELD, SESSION_COOKIE};
use crate::api::principal::{client_address, session_principal};
use crate::auth::Role;

/// The largest form body a page takes.
pub(super) const FORM_MAX: usize = 64 * 1024;

/// Every role: pages any signed-in user may open.
pub(super) const ANY_ROLE: &[Role] = &[Role::Admin, Role::Auditor, Role::Reporter];

/// What the guard of one route checks.
#[derive(Clone)]
struct Need {
    state: Arc<ConsoleState>,
    roles: &'static [Role],
    /// What the page does, as its 403 page names it.
    what: &'static str,
}

/// `route` behind the guard for `roles`.
pub(super) fn guarded(
    state: &Arc<ConsoleState>,
    roles: &'static [Role],
    what: &'static str,
    route: MethodRouter<Arc<ConsoleState>>,
) -> MethodRouter<Arc<ConsoleState>> {
    let need = Need {
        state: state.clone(),
        roles,
        what,
    };
    route.route_layer(from_fn_with_state(need, guard))
}

async fn guard(State(need): State<Need>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let viewer = match viewer_of(&need.state, &parts).await {
        Ok(Some(viewer)) => viewer,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(Ended::Idle) => return Redirect::to("/login?ended=idle").into_response(),
        Err(Ended::Failed(err)) => return err.into_response(),
    };
    if !viewer.has(need.roles) {
        let names: Vec<&str> = need.roles.iter().map(|r| r.as_str()).collect();
        return PageError::forbidden(format!(
            "{} needs the role {}; {} has the role {}",
            need.what,
            names.join(" or "),
            viewer.user,
            viewer.role
        ))
        .into_response();
    }
    let body = if parts.method == Method::POST {
        match checked_form(body, &viewer).await {
            Ok(body) => body,
            Err(err) => return err.into_response(),
        }
    } else {
        body
    };
    parts.extensions.insert(viewer);
    next.run(Request::from_parts(parts, body)).await
}

/// Why there is no viewer although a cookie came.
enum Ended {
    /// The session timed out (recorded as JUNOSCOPE_SESSION_TIMEOUT).
    Idle,
    Failed(PageError),
}

/// The signed-in user of a request, if any.
async fn viewer_of(state: &ConsoleState, parts: &Parts) -> Result<Option<Viewer>, Ended> {
    let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
        return Err(Ended::Failed(PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error (see the server log)",
        )));
    };
    match session_principal(&state.api, &secret, client_address(*peer)).await {
        Ok(principal) => Ok(Some(Viewer {
            csrf: csrf_token(&secret),
            user: principal.user,
            role: principal.role,
            client: principal.client,
            session_key: principal.session.unwrap_or_default(),
            idle_timeout_secs: state.api.config.session_idle_timeout_secs,
        })),
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            if err.message.contains("timed out") {
                Err(Ended::Idle)
            } else {
                Ok(None)
            }
        }
        Err(err) => Err(Ended::Failed(err.into())),
    }
}

/// The body of a POST, once its `csrf` field is the viewer's token.
async fn checked_form(body: Body, viewer: &Viewer) -> Result<Body, PageError> {
    let bytes = axum::body::to_bytes(body, FORM_MAX).await.map_err(|_| {
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the form is larger than {FORM_MAX} bytes"),
        )
    })?;
    let token = form_field(&bytes, CSRF_FIELD);
    match token {
        Some(token) if same_secret(&token, &viewer.csrf) => Ok(Body::from(bytes)),
        _ => Err(PageError::forbidden(
            "the form's CSRF token is missing or wrong (reload the page and try again)",
        )),
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body.
pub(super) fn form_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Refuses a query string with a parameter outside `known` (a page's
/// settings), naming it, as the search pages do.
pub(super) fn only_parameters(raw: Option<&str>, known: &[&str]) -> Result<(), PageError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| PageError::bad_request("the query string cannot be read"))?;
    match pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        Some((key, _)) => Err(PageError::bad_request(format!(
            "'{}' is not a setting of this page",
            key.chars().take(64).collect::<String>()
        ))),
        None => Ok(()),
    }
}

/// A `303 See Other` to `path` (after a form).
pub(super) fn see_other(path: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, path.to_string())],
    )
        .into_response()
}
