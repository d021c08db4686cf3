//! Users > Local Authentication and Authentication Policy (admin): every
//! user with their role and lock, adding, deleting, passwords, locking,
//! unlocking and API tokens (shown once), and the policy's values. Each
//! change is the API's (api/user_admin.rs): the same catalog event, with
//! the administrator and their client address.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};

use super::guard::{form_field, see_other};
use super::layout::{minutes, page};
use super::page_error::PageError;
use super::state::ConsoleState;
use super::viewer::{Viewer, CSRF_FIELD};
use crate::api::error::ApiError;
use crate::api::principal::Principal;
use crate::api::user_admin::{
    change_password, create_user, delete_user, list_users, make_token, set_locked,
};
use crate::auth::{Role, User};
use crate::display::format_ns;

type St = State<Arc<ConsoleState>>;

/// What a change did, for the notice after its redirect (`?done=`): fixed
/// texts, the user's name is added escaped.
const DONE: [(&str, &str); 6] = [
    ("created", "User created"),
    ("deleted", "User deleted"),
    ("locked", "User locked"),
    ("unlocked", "User unlocked"),
    ("password", "Password changed"),
    ("token", "API token made"),
];

/// `GET /users` (admin).
pub(super) async fn list(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(err) = super::guard::only_parameters(raw.as_deref(), &["done", "user"]) {
        return err.into_response();
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let value = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let notice = value("done").and_then(|done| {
        DONE.iter()
            .find(|(k, _)| *k == done)
            .map(|(_, text)| format!("{text}: {}", value("user").unwrap_or_default()))
    });
    users_page(&state, &viewer, StatusCode::OK, notice.as_deref(), None).await
}

async fn users_page(
    state: &ConsoleState,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let users = match list_users(&state.api).await {
        Ok(users) => users,
        Err(err) => return PageError::from(err).into_response(),
    };
    let config = &state.api.config;
    let body = html! {
        h1 { "Users" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        @if let Some(problem) = problem { p.message role="alert" { (problem) } }
        h2 { "Local Authentication" }
        table.users id="users" {
            thead { tr { th { "User" } th { "Role" } th { "Status" } th { "Created (UTC)" } th { "Actions" } } }
            tbody {
                @for user in &users { (user_row(viewer, user)) }
            }
        }
        div.cards {
            section.card {
                h2 { "Add a user" }
                form id="add-user" method="post" action="/users" {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    input type="text" name="name" placeholder="name" maxlength="64" required;
                    select name="role" {
                        @for role in ["auditor", "admin", "reporter"] { option value=(role) { (role) } }
                    }
                    input type="password" name="password" placeholder="password (12 or more)" minlength="12" maxlength="1024" required autocomplete="new-password";
                    button type="submit" { "Add" }
                }
            }
            section.card id="policy" {
                h2 { "Authentication Policy" }
                table.fields {
                    tr { th { "Maximum Login Attempts" } td { (config.max_login_attempts) } }
                    tr { th { "Access Window" } td { (minutes(config.access_window_secs)) } }
                    tr { th { "Lockout" } td {
                        @match config.lockout_secs {
                            Some(secs) => { (minutes(secs)) " (then unlocked at the next attempt)" }
                            None => { "until an administrator unlocks" }
                        }
                    } }
                    tr { th { "Session idle timeout" } td { (minutes(config.session_idle_timeout_secs)) } }
                    tr { th { "Failed logins per client address" } td { (config.client_max_login_failures) " within " (minutes(config.client_login_window_secs)) } }
                }
                p.count { "Set in the [api] section of the configuration file (docs/api.md)." }
            }
        }
    };
    (status, page("Users", viewer, "/users", body)).into_response()
}

fn user_row(viewer: &Viewer, user: &User) -> Markup {
    let own = user.name == viewer.user;
    let action = |verb: &str| format!("/users/{}/{verb}", user.name);
    html! {
        tr data-user=(user.name) {
            td.name { (user.name) }
            td { (user.role) }
            td.status {
                @if user.locked { span.badge.locked { "locked" } } @else { span.badge.ok { "active" } }
            }
            td { (format_ns(user.created_ns / 1_000_000_000 * 1_000_000_000)) }
            td.actions {
                @if user.locked {
                    form method="post" action=(action("unlock")) {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                        button.quiet.unlock type="submit" { "Unlock" }
                    }
                } @else if !own {
                    form method="post" action=(action("lock")) {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                        button.quiet.lock type="submit" { "Lock" }
                    }
                }
                form method="post" action=(action("token")) {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    button.quiet type="submit" { "New API token" }
                }
                form method="post" action=(action("password")) {
                    input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                    input type="password" name="password" placeholder="new password" minlength="12" maxlength="1024" required autocomplete="new-password";
                    button.quiet type="submit" { "Set password" }
                }
                @if !own {
                    form method="post" action=(action("delete")) data-confirm={ "Delete the user " (user.name) "?" } {
                        input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                        button.danger type="submit" { "Delete" }
                    }
                }
            }
        }
    }
}

/// The administrator as the API's changes record them.
fn actor(viewer: &Viewer) -> Principal {
    Principal {
        user: viewer.user.clone(),
        role: viewer.role,
        token: false,
        client: viewer.client.clone(),
        session: Some(viewer.session_key.clone()),
    }
}

/// After a change: back to the list with its notice, or the list with the
/// problem and its status.
async fn outcome(
    state: &ConsoleState,
    viewer: &Viewer,
    result: Result<(), ApiError>,
    done: &str,
    name: &str,
) -> Response {
    match result {
        Ok(()) => {
            let query =
                serde_urlencoded::to_string([("done", done), ("user", name)]).unwrap_or_default();
            see_other(&format!("/users?{query}"))
        }
        Err(err) => {
            let err = PageError::from(err);
            users_page(state, viewer, err.status, None, Some(&err.message)).await
        }
    }
}

/// `POST /users` (admin): name, role, password.
pub(super) async fn create(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    body: Bytes,
) -> Response {
    let name = form_field(&body, "name").unwrap_or_default();
    let password = form_field(&body, "password").unwrap_or_default();
    let role = match form_field(&body, "role").as_deref().map(str::parse::<Role>) {
        Some(Ok(role)) => role,
        _ => {
            return users_page(
                &state,
                &viewer,
                StatusCode::BAD_REQUEST,
                None,
                Some("role: expected admin, auditor or reporter"),
            )
            .await
        }
    };
    let result = create_user(&state.api, &actor(&viewer), name.clone(), role, password)
        .await
        .map(|_| ());
    outcome(&state, &viewer, result, "created", &name).await
}

/// The user named in the path, or the page's answer to a bad one.
fn path_name(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(String, String), PageError> {
    path.map(|Path(p)| p)
        .map_err(|_| PageError::bad_request("the user name in the address cannot be read"))
}

/// `POST /users/{name}/{lock|unlock|delete|password|token}` (admin).
pub(super) async fn change(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Response {
    let (name, verb) = match path_name(path) {
        Ok(p) => p,
        Err(err) => return err.into_response(),
    };
    let actor = actor(&viewer);
    let api = &state.api;
    let result = match verb.as_str() {
        "lock" => set_locked(api, &actor, &name, true).await,
        "unlock" => set_locked(api, &actor, &name, false).await,
        "delete" => delete_user(api, &actor, &name).await,
        "password" => {
            let password = form_field(&body, "password").unwrap_or_default();
            change_password(api, &actor, &name, password).await
        }
        "token" => {
            return match make_token(api, &actor, &name).await {
                Ok(token) => token_page(&viewer, &name, &token),
                Err(err) => outcome(&state, &viewer, Err(err), "", &name).await,
            }
        }
        _ => return PageError::not_found(format!("no such action: {verb}")).into_response(),
    };
    let done = match verb.as_str() {
        "lock" => "locked",
        "unlock" => "unlocked",
        "delete" => "deleted",
        _ => "password",
    };
    outcome(&state, &viewer, result, done, &name).await
}

/// The new token, shown this once (the page is not cached, the token is
/// not in any address).
fn token_page(viewer: &Viewer, name: &str, token: &str) -> Response {
    page(
        "API token",
        viewer,
        "/users",
        html! {
            h1 { "API token for " (name) }
            p.note { "Copy it now: it is shown only this once; netaudit keeps only its digest. An API token may only submit events and operations (docs/api.md)." }
            p.secret id="token" { (token) }
            p { a href="/users" { "← Users" } }
        },
    )
    .into_response()
}
