//! `[http]`: `/health`, `/metrics` and the API, and the limits of its port.

use std::net::SocketAddr;

use serde::Deserialize;

use super::error::ConfigError;

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    address: Option<SocketAddr>,
    header_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_client: Option<usize>,
}

/// `[http]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpConfig {
    pub address: SocketAddr,
    /// Time a connection has to send a complete request head, counted from
    /// when the server waits for one: on a new connection and between the
    /// requests of a kept-alive one (so it is the idle timeout too).
    pub header_timeout_secs: u64,
    /// Open connections on the port at most (lowered at start to a quarter
    /// of the open-file limit left after the reserve).
    pub max_connections: usize,
    /// Open connections from one client address at most.
    pub max_connections_per_client: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 8514)),
            header_timeout_secs: 10,
            max_connections: 512,
            max_connections_per_client: 64,
        }
    }
}

impl RawHttp {
    pub(crate) fn resolve(self) -> Result<HttpConfig, ConfigError> {
        let default = HttpConfig::default();
        let http = HttpConfig {
            address: self.address.unwrap_or(default.address),
            header_timeout_secs: self
                .header_timeout_secs
                .unwrap_or(default.header_timeout_secs),
            max_connections: self.max_connections.unwrap_or(default.max_connections),
            max_connections_per_client: self
                .max_connections_per_client
                .unwrap_or(default.max_connections_per_client),
        };
        for (key, zero) in [
            ("http.header_timeout_secs", http.header_timeout_secs == 0),
            ("http.max_connections", http.max_connections == 0),
            (
                "http.max_connections_per_client",
                http.max_connections_per_client == 0,
            ),
        ] {
            if zero {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        Ok(http)
    }
}
