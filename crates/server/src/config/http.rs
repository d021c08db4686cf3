//! `[http]`: `/health`, `/metrics` and the API.

use std::net::SocketAddr;

use serde::Deserialize;

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    address: Option<SocketAddr>,
}

/// `[http]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub address: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: SocketAddr::from(([127, 0, 0, 1], 8514)),
        }
    }
}

impl RawHttp {
    pub(crate) fn resolve(self) -> HttpConfig {
        HttpConfig {
            address: self.address.unwrap_or(HttpConfig::default().address),
        }
    }
}
