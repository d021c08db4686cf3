//! Who is calling: API tokens (submission only) and login sessions (bearer
//! token or HttpOnly cookie), with the idle timeout. [`Principal`] is the
//! extractor; the role check is applied per route group in `routes`.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

use super::error::ApiError;
use super::session::{Session, Touched, SESSION_COOKIE, SESSION_PREFIX};
use super::state::{ApiState, COMMIT_WAIT};
use crate::auth::{token_digest, AuthDb, AuthError, Role, TOKEN_PREFIX};

/// How often a request waiting for the users' database tries again.
const USERS_RETRY: Duration = Duration::from_millis(250);

/// The authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub user: String,
    pub role: Role,
    /// True for an API token (submission only).
    pub token: bool,
    /// The caller's address (no port).
    pub client: String,
    /// The session's key, for logout.
    pub session: Option<String>,
}

/// Authenticates once per request: a route guard that already did so left
/// the principal in the request's extensions.
#[axum::async_trait]
impl FromRequestParts<Arc<ApiState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Principal, ApiError> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::internal(format!("no peer address: {e}")))?;
        authenticate(state, &parts.headers, peer).await
    }
}

/// The peer address as the API reports it (no port: JUNOScope's client
/// address is the host).
pub(crate) fn client_address(peer: SocketAddr) -> String {
    peer.ip().to_string()
}

/// Role check: 403 naming what is needed.
pub(super) fn check_role(
    principal: &Principal,
    allowed: &[Role],
    what: &str,
) -> Result<(), ApiError> {
    if principal.token && !allowed.contains(&Role::Reporter) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{what}: API tokens may only submit events and operations"),
        ));
    }
    if allowed.contains(&principal.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{what} needs the role {}; {} has the role {}",
                names.join(" or "),
                principal.user,
                principal.role
            ),
        ))
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// The bearer token or the session cookie of a request.
fn credential(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(token.trim().to_string());
        }
        return None;
    }
    for cookies in headers.get_all(header::COOKIE) {
        let Ok(cookies) = cookies.to_str() else {
            continue;
        };
        for pair in cookies.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == SESSION_COOKIE {
                    return Some(value.to_string());
                }
            }
        }
    }
    None
}

/// 401 without a valid credential; an expired session ends here with
/// JUNOSCOPE_SESSION_TIMEOUT.
async fn authenticate(
    state: &ApiState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Principal, ApiError> {
    let client = client_address(peer);
    let Some(secret) = credential(headers) else {
        return Err(unauthorized(
            "authentication required: Authorization: Bearer <token> or the session cookie",
        ));
    };
    if secret.starts_with(TOKEN_PREFIX) {
        let user = read_users(state, move |auth| auth.token_user(&secret)).await?;
        return match user {
            Some(user) => Ok(Principal {
                user: user.name,
                role: user.role,
                token: true,
                client,
                session: None,
            }),
            None => Err(unauthorized("invalid API token")),
        };
    }
    if !secret.starts_with(SESSION_PREFIX) {
        return Err(unauthorized("invalid token"));
    }
    session_principal(state, &secret, client).await
}

/// The principal of the login session whose secret is `secret` (the API's
/// bearer or cookie, or the console's cookie): 401 when unknown; an expired
/// session ends here with JUNOSCOPE_SESSION_TIMEOUT.
pub(crate) async fn session_principal(
    state: &ApiState,
    secret: &str,
    client: String,
) -> Result<Principal, ApiError> {
    let key = token_digest(secret);
    match state.sessions.touch(&key, state.idle_timeout()) {
        Touched::Live {
            user,
            role,
            credentials,
        } => {
            let role = match shared_session_role(state, &key, &user, credentials).await? {
                Some(current) => current,
                None if state.auth.shared().is_some() => {
                    return Err(unauthorized("invalid or expired session"))
                }
                None => role,
            };
            Ok(Principal {
                user,
                role,
                token: false,
                client,
                session: Some(key),
            })
        }
        Touched::Unknown => Err(unauthorized("invalid or expired session")),
        Touched::Expired(session) => {
            end_by_timeout(state, session).await;
            Err(unauthorized("session timed out"))
        }
    }
}

/// Reads the users' database to authenticate a request. On a PostgreSQL
/// store, while the database is away the request waits for it, as its
/// events would wait for their commit, up to [`COMMIT_WAIT`], rather than
/// fail at once (a node rides out a failover); then 503.
async fn read_users<T: Send + 'static>(
    state: &ApiState,
    work: impl Fn(&AuthDb) -> Result<T, AuthError> + Clone + Send + 'static,
) -> Result<T, ApiError> {
    let deadline = Instant::now() + COMMIT_WAIT;
    loop {
        let attempt = work.clone();
        match state.db(move |auth| attempt(auth)).await {
            Err(err)
                if err.status == StatusCode::SERVICE_UNAVAILABLE
                    && state.auth.shared().is_some()
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(USERS_RETRY).await;
            }
            answer => return answer,
        }
    }
}

/// On a PostgreSQL store, where another node may have locked or deleted
/// the user or changed their password: the user's role while the session
/// may go on, `None` (and the session ended) when it may not. Always
/// `None` on `auth.db`, where this node ends such sessions itself.
async fn shared_session_role(
    state: &ApiState,
    key: &str,
    user: &str,
    credentials: i64,
) -> Result<Option<Role>, ApiError> {
    if state.auth.shared().is_none() {
        return Ok(None);
    }
    let name = user.to_string();
    let current = read_users(state, move |auth| auth.user(&name)).await?;
    match current {
        Some(u) if !u.locked && u.credentials == credentials => Ok(Some(u.role)),
        _ => {
            state.sessions.close(key);
            Ok(None)
        }
    }
}

async fn end_by_timeout(state: &ApiState, session: Session) {
    let result = state
        .audit(
            "JUNOSCOPE_SESSION_TIMEOUT",
            &[
                ("username", &session.user),
                ("client-address", &session.client),
            ],
        )
        .await;
    if let Err(err) = result {
        tracing::error!(user = %session.user, error = %err, "session timeout not recorded");
    }
}

/// Ends idle sessions in the background so that their timeout is recorded
/// even when the client never comes back. Stops with the API state.
pub(super) fn spawn_session_sweeper(state: Weak<ApiState>) {
    tokio::spawn(async move {
        loop {
            let period = match state.upgrade() {
                Some(state) => (state.idle_timeout() / 4)
                    .clamp(Duration::from_millis(200), Duration::from_secs(5)),
                None => return,
            };
            tokio::time::sleep(period).await;
            let Some(state) = state.upgrade() else {
                return;
            };
            for session in state.sessions.take_expired(state.idle_timeout()) {
                end_by_timeout(&state, session).await;
            }
        }
    });
}
