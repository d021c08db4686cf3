//! `[http]`: `/health`, `/metrics` and the API, and the limits of its port.

use std::net::SocketAddr;
use std::path::PathBuf;

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
    console: Option<bool>,
    console_plain_http: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
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
    /// The web console at `/` (docs/console.md).
    pub console: bool,
    /// The console over plain HTTP on an address that is not loopback:
    /// refused unless this says so explicitly (passwords and session
    /// cookies would cross the network in clear).
    pub console_plain_http: bool,
    /// HTTPS: the certificate (then its chain) and the private key, PEM.
    pub tls: Option<HttpTls>,
}

/// `http.tls_cert` and `http.tls_key`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 8514)),
            header_timeout_secs: 10,
            max_connections: 512,
            max_connections_per_client: 64,
            console: true,
            console_plain_http: false,
            tls: None,
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
            console: self.console.unwrap_or(default.console),
            console_plain_http: self
                .console_plain_http
                .unwrap_or(default.console_plain_http),
            tls: match (self.tls_cert, self.tls_key) {
                (Some(cert), Some(key)) => Some(HttpTls { cert, key }),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(ConfigError::invalid(
                        "http.tls_key",
                        "http.tls_cert is set: HTTPS needs the private key too",
                    ))
                }
                (None, Some(_)) => {
                    return Err(ConfigError::invalid(
                        "http.tls_cert",
                        "http.tls_key is set: HTTPS needs the certificate too",
                    ))
                }
            },
        };
        let plain = http.tls.is_none();
        if http.console && plain && !http.address.ip().is_loopback() && !http.console_plain_http {
            return Err(ConfigError::invalid(
                "http.console",
                format!(
                    "the console would serve passwords and session cookies over plain HTTP on {}, which is not a loopback address; set http.tls_cert and http.tls_key (HTTPS), or http.console = false, or http.console_plain_http = true to allow it explicitly (docs/console.md)",
                    http.address
                ),
            ));
        }
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
