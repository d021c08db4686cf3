//! `[[listener]]`: where syslog comes in. The raw table is flat (one
//! `protocol` key, as in the file); the checked [`ListenerConfig`] holds the
//! settings of its transport only, so that TLS settings exist only on TLS
//! listeners and stream settings only on TCP and TLS ones.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;

pub(crate) const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub(crate) const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
pub(crate) const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
pub(crate) const DEFAULT_READ_PAUSE_MS: u64 = 1;
/// A longer pause would hold a steady sender back (its window fills).
pub(crate) const MAX_READ_PAUSE_MS: u64 = 100;
/// SIGTERM: a connection that brings nothing for this long is closed.
pub(crate) const DEFAULT_SHUTDOWN_QUIET_MS: u64 = 500;
/// SIGTERM: the longest a listener reads its open connections before it
/// closes the rest.
pub(crate) const DEFAULT_SHUTDOWN_DRAIN_SECS: u64 = 10;
/// A shutdown must stay short: a service manager kills a slow one.
const MAX_SHUTDOWN_QUIET_MS: u64 = 10_000;
const MAX_SHUTDOWN_DRAIN_SECS: u64 = 300;
pub(crate) const DEFAULT_RECV_BUFFER_BYTES: usize = 8 * 1024 * 1024;
/// RFC 5426 4.1 and RFC 5425 4.3.1: receivers must take 480 / 2048 octets.
const MIN_MESSAGE_BYTES: usize = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Protocol {
    Udp,
    Tcp,
    Tls,
    /// RELP sessions over TCP, or over TLS with `[listener.tls]`.
    Relp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Tls => "tls",
            Protocol::Relp => "relp",
        })
    }
}

/// What happens to a message that does not parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnParseError {
    /// Store it with its raw bytes and the parse error.
    #[default]
    Store,
    /// Count it and drop it.
    Drop,
}

/// One `[[listener]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawListener {
    name: Option<String>,
    protocol: Protocol,
    address: SocketAddr,
    max_message_bytes: Option<usize>,
    max_connections: Option<usize>,
    idle_timeout_secs: Option<u64>,
    handshake_timeout_secs: Option<u64>,
    read_pause_ms: Option<u64>,
    shutdown_quiet_ms: Option<u64>,
    shutdown_drain_secs: Option<u64>,
    on_parse_error: Option<OnParseError>,
    recv_buffer_bytes: Option<usize>,
    tls: Option<RawListenerTls>,
}

/// `[listener.tls]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListenerTls {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    require_client_cert: Option<bool>,
}

/// One `[[listener]]`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListenerConfig {
    /// Names the listener in logs and metrics; defaults to `PROTOCOL:ADDRESS`.
    pub name: Option<String>,
    pub address: SocketAddr,
    /// Longest message accepted; a longer TCP/TLS frame closes the
    /// connection, a longer datagram is cut and flagged.
    pub max_message_bytes: usize,
    pub on_parse_error: OnParseError,
    pub transport: ListenerTransport,
    /// RELP sessions (`protocol = "relp"`) on the TCP or TLS transport
    /// instead of RFC 6587 framing; `max_message_bytes` bounds DATALEN.
    pub relp: bool,
}

/// The settings that depend on the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum ListenerTransport {
    Udp {
        /// SO_RCVBUF requested for the socket.
        recv_buffer_bytes: usize,
    },
    Tcp(StreamConfig),
    Tls {
        stream: StreamConfig,
        /// How long a client has to complete the handshake.
        handshake_timeout: Duration,
        tls: ListenerTlsConfig,
    },
}

/// What TCP and TLS listeners have in common.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StreamConfig {
    /// Connections beyond this are accepted and closed at once.
    pub max_connections: usize,
    /// A connection silent for this long is closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// After a read that brought less than 16 KiB, wait this long before
    /// reading the connection again, so that a busy sender's messages are
    /// taken many at a time; `None`: read as soon as anything arrives.
    pub read_pause: Option<Duration>,
    /// On SIGTERM, after accepting stops: an open connection is read until
    /// the peer closes it or it brings nothing for this long.
    pub shutdown_quiet: Duration,
    /// On SIGTERM: the longest the listener reads its open connections;
    /// those still open then are closed. Zero: close them at once.
    pub shutdown_drain: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Some(Duration::from_secs(DEFAULT_IDLE_TIMEOUT_SECS)),
            read_pause: Some(Duration::from_millis(DEFAULT_READ_PAUSE_MS)),
            shutdown_quiet: Duration::from_millis(DEFAULT_SHUTDOWN_QUIET_MS),
            shutdown_drain: Duration::from_secs(DEFAULT_SHUTDOWN_DRAIN_SECS),
        }
    }
}

/// `[listener.tls]`: the server side of RFC 5425.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListenerTlsConfig {
    /// PEM file: the server certificate, then its chain.
    pub cert: PathBuf,
    /// PEM file: the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM file of CA certificates that client certificates are verified against.
    pub client_ca: Option<PathBuf>,
    /// Refuse clients that present no certificate signed by `client_ca`.
    pub require_client_cert: bool,
}

impl ListenerConfig {
    pub(crate) fn protocol(&self) -> Protocol {
        if self.relp {
            return Protocol::Relp;
        }
        match self.transport {
            ListenerTransport::Udp { .. } => Protocol::Udp,
            ListenerTransport::Tcp(_) => Protocol::Tcp,
            ListenerTransport::Tls { .. } => Protocol::Tls,
        }
    }

    /// The name used in logs and metric labels.
    pub(crate) fn display_name(&self) -> String {
        display_name(self.name.as_deref(), self.protocol(), self.address)
    }

    /// TCP and TLS listeners: their connection settings.
    pub(crate) fn stream(&self) -> Option<&StreamConfig> {
        match &self.transport {
            ListenerTransport::Udp { .. } => None,
            ListenerTransport::Tcp(stream) | ListenerTransport::Tls { stream, .. } => Some(stream),
        }
    }

    /// TLS listeners: their certificate settings.
    pub(crate) fn tls(&self) -> Option<&ListenerTlsConfig> {
        match &self.transport {
            ListenerTransport::Tls { tls, .. } => Some(tls),
            _ => None,
        }
    }

    /// `None` on UDP, or when idle connections are never closed (configured as 0).
    pub(crate) fn idle_timeout(&self) -> Option<Duration> {
        self.stream().and_then(|stream| stream.idle_timeout)
    }

    /// `None` on UDP, or when reads follow each other without a pause (configured as 0).
    pub(crate) fn read_pause(&self) -> Option<Duration> {
        self.stream().and_then(|stream| stream.read_pause)
    }

    fn with_defaults(transport: ListenerTransport, address: SocketAddr) -> Self {
        ListenerConfig {
            name: None,
            address,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            on_parse_error: OnParseError::Store,
            transport,
            relp: false,
        }
    }
}

fn display_name(name: Option<&str>, protocol: Protocol, address: SocketAddr) -> String {
    match name {
        Some(name) => name.to_owned(),
        None => format!("{protocol}:{address}"),
    }
}

/// The listeners of a file without any `[[listener]]`: TCP and UDP on
/// 127.0.0.1:5514.
pub(crate) fn default_listeners() -> Vec<ListenerConfig> {
    let address = SocketAddr::from(([127, 0, 0, 1], 5514));
    vec![
        ListenerConfig::with_defaults(ListenerTransport::Tcp(StreamConfig::default()), address),
        ListenerConfig::with_defaults(
            ListenerTransport::Udp {
                recv_buffer_bytes: DEFAULT_RECV_BUFFER_BYTES,
            },
            address,
        ),
    ]
}

/// Checks every `[[listener]]` and the names and addresses they share.
pub(crate) fn resolve_listeners(raw: Vec<RawListener>) -> Result<Vec<ListenerConfig>, ConfigError> {
    let mut names = HashSet::new();
    let mut bound = HashSet::new();
    let mut listeners = Vec::with_capacity(raw.len());
    for (i, listener) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("listener[{i}].{k}");
        let name = display_name(
            listener.name.as_deref(),
            listener.protocol,
            listener.address,
        );
        if !names.insert(name) {
            return Err(ConfigError::invalid(
                key("name"),
                "another listener has the same name",
            ));
        }
        // UDP and TCP may share a port number; two stream listeners may not.
        let socket_kind = if listener.protocol == Protocol::Udp {
            "udp"
        } else {
            "tcp"
        };
        if !bound.insert((socket_kind, listener.address)) {
            return Err(ConfigError::invalid(
                key("address"),
                "another listener already uses this address and transport",
            ));
        }
        listeners.push(
            listener
                .resolve()
                .map_err(|e| e.under(&format!("listener[{i}]")))?,
        );
    }
    Ok(listeners)
}

impl RawListener {
    fn resolve(self) -> Result<ListenerConfig, ConfigError> {
        let max_message_bytes = self.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if max_message_bytes < MIN_MESSAGE_BYTES {
            return Err(ConfigError::invalid(
                "max_message_bytes",
                format!("must be at least {MIN_MESSAGE_BYTES}"),
            ));
        }
        let transport = match self.protocol {
            Protocol::Udp => {
                for (set, k) in [
                    (self.max_connections.is_some(), "max_connections"),
                    (self.idle_timeout_secs.is_some(), "idle_timeout_secs"),
                    (self.read_pause_ms.is_some(), "read_pause_ms"),
                    (self.shutdown_quiet_ms.is_some(), "shutdown_quiet_ms"),
                    (self.shutdown_drain_secs.is_some(), "shutdown_drain_secs"),
                ] {
                    if set {
                        return Err(ConfigError::invalid(
                            k,
                            "applies to tcp and tls listeners only",
                        ));
                    }
                }
                for (set, k) in [
                    (
                        self.handshake_timeout_secs.is_some(),
                        "handshake_timeout_secs",
                    ),
                    (self.tls.is_some(), "tls"),
                ] {
                    if set {
                        return Err(ConfigError::invalid(k, "applies to tls listeners only"));
                    }
                }
                ListenerTransport::Udp {
                    recv_buffer_bytes: self.recv_buffer_bytes.unwrap_or(DEFAULT_RECV_BUFFER_BYTES),
                }
            }
            Protocol::Tcp | Protocol::Tls | Protocol::Relp => {
                let stream = self.stream()?;
                if self.handshake_timeout_secs == Some(0) {
                    return Err(ConfigError::invalid(
                        "handshake_timeout_secs",
                        "must be at least 1",
                    ));
                }
                match (self.protocol, self.tls) {
                    (Protocol::Tls | Protocol::Relp, Some(tls)) => ListenerTransport::Tls {
                        stream,
                        handshake_timeout: Duration::from_secs(
                            self.handshake_timeout_secs
                                .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
                        ),
                        tls: tls.resolve()?,
                    },
                    (Protocol::Tls, None) => {
                        return Err(ConfigError::invalid(
                            "tls",
                            "required when protocol = \"tls\"",
                        ))
                    }
                    (_, tls) => {
                        for (set, k) in [
                            (
                                self.handshake_timeout_secs.is_some(),
                                "handshake_timeout_secs",
                            ),
                            (tls.is_some(), "tls"),
                        ] {
                            if set {
                                return Err(ConfigError::invalid(
                                    k,
                                    "applies to tls listeners only",
                                ));
                            }
                        }
                        ListenerTransport::Tcp(stream)
                    }
                }
            }
        };
        Ok(ListenerConfig {
            name: self.name,
            address: self.address,
            max_message_bytes,
            on_parse_error: self.on_parse_error.unwrap_or_default(),
            transport,
            relp: self.protocol == Protocol::Relp,
        })
    }

    /// The TCP and TLS settings.
    fn stream(&self) -> Result<StreamConfig, ConfigError> {
        if self.recv_buffer_bytes.is_some() {
            return Err(ConfigError::invalid(
                "recv_buffer_bytes",
                "applies to udp listeners only",
            ));
        }
        if self.max_connections == Some(0) {
            return Err(ConfigError::invalid(
                "max_connections",
                "must be at least 1",
            ));
        }
        let read_pause_ms = self.read_pause_ms.unwrap_or(DEFAULT_READ_PAUSE_MS);
        if read_pause_ms > MAX_READ_PAUSE_MS {
            return Err(ConfigError::invalid(
                "read_pause_ms",
                format!("must be at most {MAX_READ_PAUSE_MS}"),
            ));
        }
        let shutdown_quiet_ms = self.shutdown_quiet_ms.unwrap_or(DEFAULT_SHUTDOWN_QUIET_MS);
        if shutdown_quiet_ms == 0 || shutdown_quiet_ms > MAX_SHUTDOWN_QUIET_MS {
            return Err(ConfigError::invalid(
                "shutdown_quiet_ms",
                format!("must be between 1 and {MAX_SHUTDOWN_QUIET_MS}"),
            ));
        }
        let shutdown_drain_secs = self
            .shutdown_drain_secs
            .unwrap_or(DEFAULT_SHUTDOWN_DRAIN_SECS);
        if shutdown_drain_secs > MAX_SHUTDOWN_DRAIN_SECS {
            return Err(ConfigError::invalid(
                "shutdown_drain_secs",
                format!("must be at most {MAX_SHUTDOWN_DRAIN_SECS}"),
            ));
        }
        Ok(StreamConfig {
            shutdown_quiet: Duration::from_millis(shutdown_quiet_ms),
            shutdown_drain: Duration::from_secs(shutdown_drain_secs),
            max_connections: self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            idle_timeout: match self.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS) {
                0 => None,
                secs => Some(Duration::from_secs(secs)),
            },
            read_pause: match read_pause_ms {
                0 => None,
                ms => Some(Duration::from_millis(ms)),
            },
        })
    }
}

impl RawListenerTls {
    fn resolve(self) -> Result<ListenerTlsConfig, ConfigError> {
        let require_client_cert = self.require_client_cert.unwrap_or(false);
        if require_client_cert && self.client_ca.is_none() {
            return Err(ConfigError::invalid(
                "tls.client_ca",
                "required when require_client_cert = true",
            ));
        }
        Ok(ListenerTlsConfig {
            cert: self.cert,
            key: self.key,
            client_ca: self.client_ca,
            require_client_cert,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listeners(text: &str) -> Result<Vec<ListenerConfig>, String> {
        #[derive(Deserialize)]
        struct File {
            listener: Vec<RawListener>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        resolve_listeners(file.listener).map_err(|e| e.to_string())
    }

    #[test]
    fn each_protocol_gets_only_its_own_settings() {
        let resolved = listeners(
            "[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\n\
             [[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nidle_timeout_secs = 0\n\
             [[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:2\"\n\
             [listener.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            resolved[0].transport,
            ListenerTransport::Udp {
                recv_buffer_bytes: DEFAULT_RECV_BUFFER_BYTES
            }
        );
        assert_eq!(resolved[1].protocol(), Protocol::Tcp);
        assert_eq!(resolved[1].idle_timeout(), None);
        assert!(resolved[1].tls().is_none());
        let ListenerTransport::Tls {
            handshake_timeout,
            tls,
            stream,
        } = &resolved[2].transport
        else {
            panic!("{:?}", resolved[2]);
        };
        assert_eq!(
            *handshake_timeout,
            Duration::from_secs(DEFAULT_HANDSHAKE_TIMEOUT_SECS)
        );
        assert_eq!(tls.cert, PathBuf::from("c.pem"));
        assert_eq!(stream, &StreamConfig::default());
        assert_eq!(resolved[2].display_name(), "tls:127.0.0.1:2");
    }

    #[test]
    fn settings_of_another_protocol_are_rejected_by_key() {
        for (extra, protocol, message) in [
            (
                "handshake_timeout_secs = 5\n",
                "tcp",
                "listener[0].handshake_timeout_secs: applies to tls listeners only",
            ),
            (
                "handshake_timeout_secs = 5\n",
                "udp",
                "listener[0].handshake_timeout_secs: applies to tls listeners only",
            ),
            (
                "idle_timeout_secs = 5\n",
                "udp",
                "listener[0].idle_timeout_secs: applies to tcp and tls listeners only",
            ),
            (
                "[listener.tls]\ncert = \"c\"\nkey = \"k\"\n",
                "tcp",
                "listener[0].tls: applies to tls listeners only",
            ),
            (
                "max_message_bytes = 479\n",
                "udp",
                "listener[0].max_message_bytes: must be at least 480",
            ),
        ] {
            let text = format!(
                "[[listener]]\nprotocol = \"{protocol}\"\naddress = \"127.0.0.1:1\"\n{extra}"
            );
            let error = listeners(&text).unwrap_err();
            assert!(error.contains(message), "{protocol} {extra}: {error}");
        }
    }
}
