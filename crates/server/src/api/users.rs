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
use crate::auth::{validate_name, Role};

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
    let users = state.db(|auth| auth.users()).await?;
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
    validate_name(&request.name)?;
    let user = state
        .passwords
        .run(state.db(move |auth| auth.add_user(&request.name, request.role, &request.password)))
        .await?;
    state
        .audit(
            "JUNOSCOPE_USER_CREATED",
            &[
                ("new-user", &user.name),
                ("username", &principal.user),
                ("client-address", &principal.client),
            ],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

fn checked_name(name: &str) -> Result<(), ApiError> {
    validate_name(name).map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e.to_string()))
}

/// `DELETE /api/v1/users/{name}` (admin): JUNOSCOPE_USER_DELETED.
pub(super) async fn delete(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    checked_name(&name)?;
    if name == principal.user {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "an administrator cannot delete their own account",
        ));
    }
    {
        let name = name.clone();
        state.db(move |auth| auth.delete_user(&name)).await?;
    }
    state.sessions.close_all_of(&name);
    state
        .audit(
            "JUNOSCOPE_USER_DELETED",
            &[
                ("deleted-user", &name),
                ("username", &principal.user),
                ("client-address", &principal.client),
            ],
        )
        .await?;
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
    {
        let name = name.clone();
        state
            .passwords
            .run(state.db(move |auth| auth.set_password(&name, &request.password)))
            .await?;
    }
    // Whoever knew the old password is out.
    state
        .sessions
        .close_others_of(&name, principal.session.as_deref());
    state
        .audit(
            "JUNOSCOPE_USER_PASSWORD_CHANGED",
            &[
                ("target-user", &name),
                ("username", &principal.user),
                ("client-address", &principal.client),
            ],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_locked(
    state: Arc<ApiState>,
    principal: Principal,
    name: String,
    locked: bool,
) -> Result<Response, ApiError> {
    checked_name(&name)?;
    if locked && name == principal.user {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "an administrator cannot lock their own account",
        ));
    }
    {
        let name = name.clone();
        state.db(move |auth| auth.set_locked(&name, locked)).await?;
    }
    if locked {
        state.sessions.close_all_of(&name);
    }
    state
        .audit(
            if locked {
                "JUNOSCOPE_USER_LOCKED_BY_ADMIN"
            } else {
                "JUNOSCOPE_USER_UNLOCKED_BY_ADMIN"
            },
            &[
                ("username", &name),
                ("client-address", &principal.client),
                ("admin-username", &principal.user),
            ],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/users/{name}/lock` (admin): JUNOSCOPE_USER_LOCKED_BY_ADMIN.
pub(super) async fn lock(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    set_locked(state, principal, name, true).await
}

/// `POST /api/v1/users/{name}/unlock` (admin): JUNOSCOPE_USER_UNLOCKED_BY_ADMIN.
pub(super) async fn unlock(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    set_locked(state, principal, name, false).await
}

/// `POST /api/v1/users/{name}/tokens` (admin): a new API token, shown once.
/// The catalog has no message for token creation, so it goes to netaudit's
/// own log rather than into the store as a catalog event.
pub(super) async fn token(
    State(state): St,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    checked_name(&name)?;
    let token = {
        let name = name.clone();
        state.db(move |auth| auth.create_token(&name)).await?
    };
    tracing::info!(user = %name, by = %principal.user, client = %principal.client, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "token": token, "username": name })),
    )
        .into_response())
}
