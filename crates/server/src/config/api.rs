//! `[api]`: the HTTP API on `http.address` (users, sessions, policy).

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ConfigError;
use super::store::StoreConfig;

/// `[api]` as written; absent keys take the defaults of [`ApiConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    auth_db: Option<PathBuf>,
    session_idle_timeout_secs: Option<u64>,
    max_login_attempts: Option<u32>,
    access_window_secs: Option<u64>,
    lockout_secs: Option<u64>,
    client_max_login_failures: Option<u32>,
    client_login_window_secs: Option<u64>,
    body_limit_bytes: Option<usize>,
}

/// `[api]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiConfig {
    /// Users, API tokens and operations; default `auth.db` beside the store.
    pub auth_db: Option<PathBuf>,
    /// A session unused for this many seconds ends (JUNOSCOPE_SESSION_TIMEOUT).
    pub session_idle_timeout_secs: u64,
    /// Failed logins within `access_window_secs` that lock the account.
    pub max_login_attempts: u32,
    pub access_window_secs: u64,
    /// How long a lock by the policy lasts; `None` (the default): until an
    /// administrator unlocks (NDcPP FIA_AFL.1 allows either).
    pub lockout_secs: Option<u64>,
    /// Failed logins from one client address within
    /// `client_login_window_secs` after which that address's logins are
    /// refused (429) until the window ends.
    pub client_max_login_failures: u32,
    pub client_login_window_secs: u64,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth_db: None,
            session_idle_timeout_secs: 900,
            max_login_attempts: 5,
            access_window_secs: 300,
            lockout_secs: None,
            client_max_login_failures: 20,
            client_login_window_secs: 60,
            body_limit_bytes: 8 * 1024 * 1024,
        }
    }
}

impl RawApi {
    pub(crate) fn resolve(self) -> Result<ApiConfig, ConfigError> {
        let default = ApiConfig::default();
        let api = ApiConfig {
            auth_db: self.auth_db,
            session_idle_timeout_secs: self
                .session_idle_timeout_secs
                .unwrap_or(default.session_idle_timeout_secs),
            max_login_attempts: self
                .max_login_attempts
                .unwrap_or(default.max_login_attempts),
            access_window_secs: self
                .access_window_secs
                .unwrap_or(default.access_window_secs),
            lockout_secs: self.lockout_secs,
            client_max_login_failures: self
                .client_max_login_failures
                .unwrap_or(default.client_max_login_failures),
            client_login_window_secs: self
                .client_login_window_secs
                .unwrap_or(default.client_login_window_secs),
            body_limit_bytes: self.body_limit_bytes.unwrap_or(default.body_limit_bytes),
        };
        for (key, zero) in [
            (
                "api.session_idle_timeout_secs",
                api.session_idle_timeout_secs == 0,
            ),
            ("api.max_login_attempts", api.max_login_attempts == 0),
            ("api.access_window_secs", api.access_window_secs == 0),
            ("api.body_limit_bytes", api.body_limit_bytes == 0),
            ("api.lockout_secs", api.lockout_secs == Some(0)),
            (
                "api.client_max_login_failures",
                api.client_max_login_failures == 0,
            ),
            (
                "api.client_login_window_secs",
                api.client_login_window_secs == 0,
            ),
        ] {
            if zero {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        Ok(api)
    }
}

impl ApiConfig {
    /// `api.auth_db`, or `auth.db` in the store's directory.
    pub(crate) fn auth_db_path(&self, store: &StoreConfig) -> PathBuf {
        match &self.auth_db {
            Some(path) => path.clone(),
            None => store
                .path
                .parent()
                .map(|dir| dir.join("auth.db"))
                .unwrap_or_else(|| PathBuf::from("auth.db")),
        }
    }
}
