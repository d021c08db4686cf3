//! Login sessions in memory, keyed by the digest of their secret (a
//! restart ends them). Knows nothing of requests or audit events. On a
//! PostgreSQL store a session is this node's too (docs/cluster.md: a load
//! balancer keeps a client on one node); it records the user's count of
//! password changes, which `principal` checks against the shared users.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::{token_digest, Role};

/// The session cookie's name.
pub(super) const SESSION_COOKIE: &str = "netaudit_session";
/// Session secrets start with this; API tokens with `auth::TOKEN_PREFIX`.
pub(super) const SESSION_PREFIX: &str = "na_ses_";

/// One logged-in session.
pub(super) struct Session {
    pub user: String,
    pub role: Role,
    pub client: String,
    pub last_seen: Instant,
    /// The user's count of password changes when it opened (0 in `auth.db`).
    pub credentials: i64,
}

/// What [`Sessions::touch`] found.
pub(super) enum Touched {
    /// In use: its user and role.
    Live {
        user: String,
        role: Role,
        credentials: i64,
    },
    /// Idle too long: removed, its timeout still to be recorded.
    Expired(Session),
    Unknown,
}

/// Every open session.
#[derive(Default)]
pub(super) struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere leaves the map consistent (single operations).
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new session; returns its secret.
    pub(super) fn open(&self, user: &str, role: Role, client: &str, credentials: i64) -> String {
        let secret = crate::auth::random_secret(SESSION_PREFIX);
        self.lock().insert(
            token_digest(&secret),
            Session {
                user: user.to_string(),
                role,
                client: client.to_string(),
                last_seen: Instant::now(),
                credentials,
            },
        );
        secret
    }

    /// Marks the session `key` as used now, unless idle beyond `timeout`.
    pub(super) fn touch(&self, key: &str, timeout: Duration) -> Touched {
        let mut sessions = self.lock();
        match sessions.get_mut(key) {
            None => Touched::Unknown,
            Some(session) if idle_since(session.last_seen) <= timeout => {
                session.last_seen = Instant::now();
                Touched::Live {
                    user: session.user.clone(),
                    role: session.role,
                    credentials: session.credentials,
                }
            }
            Some(_) => sessions
                .remove(key)
                .map_or(Touched::Unknown, Touched::Expired),
        }
    }

    /// Removes and returns the sessions idle beyond `timeout`.
    pub(super) fn take_expired(&self, timeout: Duration) -> Vec<Session> {
        let mut sessions = self.lock();
        let keys: Vec<String> = sessions
            .iter()
            .filter(|(_, s)| idle_since(s.last_seen) > timeout)
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| sessions.remove(k)).collect()
    }

    /// Whether the session `key` is still open (not logged out, ended by
    /// its idle timeout, or closed by a lock); does not count as a use.
    pub(super) fn is_open(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    /// Removes a session; true when it existed.
    pub(super) fn close(&self, key: &str) -> bool {
        self.lock().remove(key).is_some()
    }

    /// Ends every session of `user` (locked or deleted accounts).
    pub(super) fn close_all_of(&self, user: &str) {
        self.lock().retain(|_, s| s.user != user);
    }

    /// The session `key` goes on under the password change counted
    /// `credentials` (an administrator who changed their own password).
    pub(super) fn renew_credentials(&self, key: &str, credentials: i64) {
        if let Some(session) = self.lock().get_mut(key) {
            session.credentials = credentials;
        }
    }

    /// Ends every session of `user` but the one keyed `keep` (a password
    /// change: the administrator's own session goes on).
    pub(super) fn close_others_of(&self, user: &str, keep: Option<&str>) {
        self.lock()
            .retain(|key, s| s.user != user || Some(key.as_str()) == keep);
    }
}

/// Time elapsed since `since`, for idle checks.
fn idle_since(since: Instant) -> Duration {
    Instant::now().saturating_duration_since(since)
}
