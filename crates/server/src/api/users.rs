//! Login, logout, users and the authentication policy's lock/unlock. Every
//! change is a catalog event carrying the acting user and client address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::input::{check_text, parse_json};
use super::principal::{client_address, Principal};
use super::session::SESSION_COOKIE;
use super::sign_in::{sign_in, sign_out};
use super::state::ApiState;
use super::user_admin::{
    change_password, checked_name, create_user, delete_user, list_users, make_token, set_locked,
};
use crate::auth::Role;

type St = State<Arc<ApiState>>;
type Peer = ConnectInfo<SocketAddr>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/login`: 200 with a session token and cookie, or 401.
pub(super) async fn login(
    State(state): St,
    ConnectInfo(peer): Peer,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: LoginRequest = parse_json(&body)?;
    check_text("username", &request.username, crate::auth::NAME_MAX)?;
    if request.password.len() > 1024 {
        return Err(ApiError::bad_request("password: at most 1024 bytes"));
    }
    let client = client_address(peer);
    let signed = sign_in(&state, &request.username, request.password, &client).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        signed.secret, state.config.session_idle_timeout_secs
    );
    let body = serde_json::json!({
        "token": signed.secret,
        "username": signed.user,
        "role": signed.role,
        "idle_timeout_secs": state.config.session_idle_timeout_secs,
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/v1/logout`: ends the calling session (204).
pub(super) async fn logout(State(state): St, principal: Principal) -> Result<Response, ApiError> {
    let Some(key) = principal.session else {
        return Err(ApiError::bad_request(
            "an API token has no session to log out of",
        ));
    };
    sign_out(&state, &key, &principal.user, &principal.client).await?;
    let cookie =
        format!("{SESSION_COOKIE}=; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `GET /api/v1/users` (admin).
pub(super) async fn list(State(state): St) -> Result<Response, ApiError> {
    let users = list_users(&state).await?;
    Ok(Json(serde_json::json!({ "users": users })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// `POST /api/v1/users` (admin): JUNOSCOPE_USER_CREATED.
pub(super) async fn create(
    State(state): St,
    principal: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateUser = parse_json(&body)?;
    let user = create_user(
        &state,
        &principal,
        request.name,
        request.role,
        request.password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// `DELETE /api/v1/users/{name}` (admin): JUNOSCOPE_USER_DELETED.
pub(super) async fn delete(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    delete_user(&state, &principal, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetPassword {
    pub password: String,
}

/// `PUT /api/v1/users/{name}/password` (admin): JUNOSCOPE_USER_PASSWORD_CHANGED.
pub(super) async fn set_password(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    checked_name(&name)?;
    let request: SetPassword = parse_json(&body)?;
    change_password(&state, &principal, &name, request.password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/users/{name}/lock` (admin): JUNOSCOPE_USER_LOCKED_BY_ADMIN.
pub(super) async fn lock(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    set_locked(&state, &principal, &name, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/users/{name}/unlock` (admin): JUNOSCOPE_USER_UNLOCKED_BY_ADMIN.
pub(super) async fn unlock(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    set_locked(&state, &principal, &name, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/users/{name}/tokens` (admin): a new API token, shown once.
pub(super) async fn token(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let token = make_token(&state, &principal, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "token": token, "username": name })),
    )
        .into_response())
}
