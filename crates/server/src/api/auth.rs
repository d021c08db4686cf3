//! Who is calling: API tokens (submission only) and login sessions (bearer
//! token or HttpOnly cookie), with the idle timeout.

use std::net::SocketAddr;
use std::sync::Weak;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode};

use super::{client_address, idle_since, ApiError, ApiState};
use crate::auth::{token_digest, Role, TOKEN_PREFIX};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "netaudit_session";
/// Session secrets start with this; API tokens with [`TOKEN_PREFIX`].
pub const SESSION_PREFIX: &str = "na_ses_";

/// One logged-in session, keyed by the digest of its secret.
pub struct Session {
    pub user: String,
    pub role: Role,
    pub client: String,
    pub last_seen: Instant,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// True for an API token (submission only).
    pub token: bool,
    /// The caller's address (no port).
    pub client: String,
    /// The session's key, for logout.
    pub session: Option<String>,
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
pub async fn authenticate(
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
        let user = state.auth.token_user(&secret)?;
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
    let key = token_digest(&secret);
    let timeout = state.idle_timeout();
    let expired = {
        let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&key) {
            None => return Err(unauthorized("invalid or expired session")),
            Some(session) if idle_since(session.last_seen) <= timeout => {
                session.last_seen = Instant::now();
                return Ok(Principal {
                    user: session.user.clone(),
                    role: session.role,
                    token: false,
                    client,
                    session: Some(key),
                });
            }
            Some(_) => sessions.remove(&key),
        }
    };
    if let Some(session) = expired {
        end_by_timeout(state, session).await;
    }
    Err(unauthorized("session timed out"))
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
        tracing::error!(user = %session.user, error = %err.message, "session timeout not recorded");
    }
}

/// Ends idle sessions in the background so that their timeout is recorded
/// even when the client never comes back. Stops with the API state.
pub fn spawn_session_sweeper(state: Weak<ApiState>) {
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
            let timeout = state.idle_timeout();
            let expired: Vec<Session> = {
                let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
                let keys: Vec<String> = sessions
                    .iter()
                    .filter(|(_, s)| idle_since(s.last_seen) > timeout)
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.iter().filter_map(|k| sessions.remove(k)).collect()
            };
            for session in expired {
                end_by_timeout(&state, session).await;
            }
        }
    });
}

/// Registers a new session; returns its secret.
pub fn open_session(state: &ApiState, user: &str, role: Role, client: &str) -> String {
    let secret = crate::auth::random_secret(SESSION_PREFIX);
    let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
    sessions.insert(
        token_digest(&secret),
        Session {
            user: user.to_string(),
            role,
            client: client.to_string(),
            last_seen: Instant::now(),
        },
    );
    secret
}

/// Removes a session; true when it existed.
pub fn close_session(state: &ApiState, key: &str) -> bool {
    let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
    sessions.remove(key).is_some()
}

/// Ends every session of `user` (locked or deleted accounts).
pub fn close_sessions_of(state: &ApiState, user: &str) {
    let mut sessions = state.sessions.lock().unwrap_or_else(|p| p.into_inner());
    sessions.retain(|_, s| s.user != user);
}
