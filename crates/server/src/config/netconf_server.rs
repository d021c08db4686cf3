//! `[netconf_server]`: netaudit as a NETCONF server over SSH, exporting its
//! own stream to NETCONF clients (docs/netconf.md, "The exporter"). Off
//! unless `enabled = true`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::duration::parse_duration;
use super::store::StoreConfig;
use crate::config::error::ConfigError;

const DEFAULT_MAX_SESSIONS: usize = 16;
const DEFAULT_MAX_SESSIONS_PER_USER: usize = 4;
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// The host key's file name in the store's directory when `host_key` is unset.
const DEFAULT_HOST_KEY: &str = "netconf_host_ed25519_key";
/// The authorized keys' directory in the store's directory when unset.
const DEFAULT_AUTHORIZED_KEYS_DIR: &str = "netconf_authorized_keys";

/// `[netconf_server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetconfServer {
    enabled: Option<bool>,
    address: Option<SocketAddr>,
    host_key: Option<PathBuf>,
    authorized_keys_dir: Option<PathBuf>,
    password_auth: Option<bool>,
    max_sessions: Option<usize>,
    max_sessions_per_user: Option<usize>,
    handshake_timeout: Option<String>,
    keepalive_interval: Option<String>,
}

/// `[netconf_server]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NetconfServerConfig {
    pub enabled: bool,
    /// Where SSH is accepted (RFC 6242's port is 830).
    pub address: SocketAddr,
    /// The SSH host key (OpenSSH format); created with mode 0600 on the
    /// first start when absent. `None`: in the store's directory.
    pub host_key: Option<PathBuf>,
    /// One file per user, named as the user, in OpenSSH authorized_keys
    /// format. `None`: in the store's directory.
    pub authorized_keys_dir: Option<PathBuf>,
    /// Whether SSH password authentication (against the users database and
    /// its lockout policy) is offered besides public keys.
    pub password_auth: bool,
    pub max_sessions: usize,
    pub max_sessions_per_user: usize,
    /// SSH handshake, authentication and the hellos together.
    pub handshake_timeout: Duration,
    /// SSH keepalives when the client is silent; three unanswered end the connection.
    pub keepalive_interval: Duration,
}

impl Default for NetconfServerConfig {
    fn default() -> Self {
        NetconfServerConfig {
            enabled: false,
            address: SocketAddr::from(([127, 0, 0, 1], 830)),
            host_key: None,
            authorized_keys_dir: None,
            password_auth: true,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
        }
    }
}

fn duration(key: &str, value: Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => parse_duration(&text)
            .map_err(|message| ConfigError::invalid(format!("netconf_server.{key}"), message)),
    }
}

impl RawNetconfServer {
    pub(crate) fn resolve(self) -> Result<NetconfServerConfig, ConfigError> {
        let default = NetconfServerConfig::default();
        let config = NetconfServerConfig {
            enabled: self.enabled.unwrap_or(default.enabled),
            address: self.address.unwrap_or(default.address),
            host_key: self.host_key,
            authorized_keys_dir: self.authorized_keys_dir,
            password_auth: self.password_auth.unwrap_or(default.password_auth),
            max_sessions: self.max_sessions.unwrap_or(default.max_sessions),
            max_sessions_per_user: self
                .max_sessions_per_user
                .unwrap_or(default.max_sessions_per_user),
            handshake_timeout: duration(
                "handshake_timeout",
                self.handshake_timeout,
                default.handshake_timeout,
            )?,
            keepalive_interval: duration(
                "keepalive_interval",
                self.keepalive_interval,
                default.keepalive_interval,
            )?,
        };
        for (key, zero) in [
            ("netconf_server.max_sessions", config.max_sessions == 0),
            (
                "netconf_server.max_sessions_per_user",
                config.max_sessions_per_user == 0,
            ),
        ] {
            if zero {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        if config.max_sessions_per_user > config.max_sessions {
            return Err(ConfigError::invalid(
                "netconf_server.max_sessions_per_user",
                format!(
                    "{} is more than netconf_server.max_sessions ({})",
                    config.max_sessions_per_user, config.max_sessions
                ),
            ));
        }
        if config.address.port() == 0 {
            return Err(ConfigError::invalid(
                "netconf_server.address",
                "needs a port (830 is NETCONF over SSH's)",
            ));
        }
        Ok(config)
    }
}

impl NetconfServerConfig {
    /// `host_key`, or [`DEFAULT_HOST_KEY`] in the store's directory.
    pub(crate) fn host_key_path(&self, store: &StoreConfig) -> PathBuf {
        self.host_key
            .clone()
            .unwrap_or_else(|| beside_store(store, DEFAULT_HOST_KEY))
    }

    /// `authorized_keys_dir`, or [`DEFAULT_AUTHORIZED_KEYS_DIR`] in the store's directory.
    pub(crate) fn authorized_keys_path(&self, store: &StoreConfig) -> PathBuf {
        self.authorized_keys_dir
            .clone()
            .unwrap_or_else(|| beside_store(store, DEFAULT_AUTHORIZED_KEYS_DIR))
    }
}

fn beside_store(store: &StoreConfig, name: &str) -> PathBuf {
    store.path.parent().unwrap_or(Path::new(".")).join(name)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn off_by_default_and_every_key_checked() {
        let config = Config::from_toml("[store]\npath = \"/tmp/x/events.db\"\n", "t").unwrap();
        assert!(!config.netconf_server.enabled);
        assert_eq!(
            config.netconf_server.host_key_path(&config.store).to_str(),
            Some("/tmp/x/netconf_host_ed25519_key")
        );
        let config = Config::from_toml(
            "[netconf_server]\nenabled = true\naddress = \"[::1]:8300\"\nmax_sessions = 2\nmax_sessions_per_user = 1\nkeepalive_interval = \"10s\"\n",
            "t",
        )
        .unwrap();
        assert!(config.netconf_server.enabled);
        assert_eq!(config.netconf_server.address.port(), 8300);
        for (text, wanted) in [
            (
                "[netconf_server]\nmax_sessions = 0\n",
                "t:2:16: netconf_server.max_sessions: must be at least 1",
            ),
            (
                "[netconf_server]\nmax_sessions = 2\nmax_sessions_per_user = 3\n",
                "netconf_server.max_sessions_per_user: 3 is more than",
            ),
            (
                "[netconf_server]\nkeepalive_interval = \"soon\"\n",
                "netconf_server.keepalive_interval: \"soon\" is not a duration",
            ),
            ("[netconf_server]\nport = 830\n", "unknown field `port`"),
            (
                "[netconf_server]\naddress = \"127.0.0.1:0\"\n",
                "netconf_server.address: needs a port",
            ),
        ] {
            let err = Config::from_toml(text, "t").unwrap_err().to_string();
            assert!(err.contains(wanted), "{text}: {err}");
        }
    }
}
