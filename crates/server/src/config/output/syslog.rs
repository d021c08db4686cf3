//! `[[output.syslog]]`: a remote syslog server fed from the store.

use std::path::PathBuf;

use netaudit_event::{Facility, Severity};
use netaudit_syslog::framing::Framing;
use serde::Deserialize;

use super::format::OutputFormat;
use crate::config::error::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Transport {
    Udp,
    Tcp,
    Tls,
    /// RELP (rsyslog's imrelp, librelp servers); over TLS with a
    /// `[output.syslog.tls]` table.
    Relp,
}

const DEFAULT_FACILITY: Facility = Facility::Local2;
const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_BACKOFF_INITIAL_MS: u64 = 500;
const DEFAULT_BACKOFF_MAX_MS: u64 = 30_000;
/// rsyslog omrelp's default window.
pub(crate) const DEFAULT_RELP_WINDOW: usize = 128;
const MAX_RELP_WINDOW: usize = 10_000;
const DEFAULT_RELP_TIMEOUT_SECS: u64 = 90;

/// One `[[output.syslog]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSyslogOutput {
    name: String,
    transport: Transport,
    address: String,
    format: Option<OutputFormat>,
    facility: Option<Facility>,
    min_severity: Option<Severity>,
    codes: Option<Vec<String>>,
    hosts: Option<Vec<String>>,
    framing: Option<Framing>,
    tls: Option<RawOutputTls>,
    connect_timeout_secs: Option<u64>,
    handshake_timeout_secs: Option<u64>,
    backoff_initial_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
    window: Option<usize>,
    relp_timeout_secs: Option<u64>,
}

/// `[output.syslog.tls]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutputTls {
    ca: PathBuf,
    server_name: Option<String>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

/// One `[[output.syslog]]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyslogOutputConfig {
    /// Unique; names the output's durable cursor, logs and metrics.
    pub name: String,
    pub transport: Transport,
    /// `HOST:PORT` of the remote server.
    pub address: String,
    pub format: OutputFormat,
    /// Facility written in the PRI of forwarded events (local0..local7).
    pub facility: Facility,
    /// Only events at least this severe are forwarded (events without a
    /// severity are always forwarded).
    pub min_severity: Option<Severity>,
    /// Only events whose code matches one of these globs (`*`, `?`); empty = all.
    pub codes: Vec<String>,
    /// Only events from one of these hosts (globs); empty = all.
    pub hosts: Vec<String>,
    /// TCP only: `octet-counting` (RFC 6587 3.4.1) or `lf`.
    pub framing: Framing,
    /// Present exactly when `transport` is TLS.
    pub tls: Option<OutputTlsConfig>,
    pub connect_timeout_secs: u64,
    pub handshake_timeout_secs: u64,
    /// First reconnect delay after a failure; doubles up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// RELP: frames sent and not yet answered, at most.
    pub window: usize,
    /// RELP: the longest wait for an answer (or for the open's answer)
    /// before the session is taken as broken and reopened.
    pub relp_timeout_secs: u64,
}

/// `[output.syslog.tls]`: the client side of RFC 5425.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputTlsConfig {
    /// PEM file of CA certificates the server certificate must chain to.
    pub ca: PathBuf,
    /// Name checked against the server certificate; defaults to the host of `address`.
    pub server_name: Option<String>,
    /// PEM files for mutual authentication; both or neither.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl RawSyslogOutput {
    /// Checks the table; key paths are relative to it.
    pub(crate) fn resolve(self) -> Result<SyslogOutputConfig, ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::invalid("name", "must not be empty"));
        }
        if !has_port(&self.address) {
            return Err(ConfigError::invalid("address", "must be HOST:PORT"));
        }
        let facility = self.facility.unwrap_or(DEFAULT_FACILITY);
        if !facility.is_local() {
            return Err(ConfigError::invalid(
                "facility",
                "must be one of local0 .. local7",
            ));
        }
        let tls = match (self.transport, self.tls) {
            (Transport::Tls, None) => {
                return Err(ConfigError::invalid(
                    "tls",
                    "required when transport = \"tls\"",
                ))
            }
            (Transport::Udp | Transport::Tcp, Some(_)) => {
                return Err(ConfigError::invalid(
                    "tls",
                    "applies to transport = \"tls\" only",
                ))
            }
            (Transport::Tls | Transport::Relp, Some(tls)) => {
                if tls.client_cert.is_some() != tls.client_key.is_some() {
                    return Err(ConfigError::invalid(
                        "tls.client_key",
                        "client_cert and client_key go together",
                    ));
                }
                Some(OutputTlsConfig {
                    ca: tls.ca,
                    server_name: tls.server_name,
                    client_cert: tls.client_cert,
                    client_key: tls.client_key,
                })
            }
            (Transport::Udp | Transport::Tcp | Transport::Relp, None) => None,
        };
        if self.transport != Transport::Relp {
            for (set, key) in [
                (self.window.is_some(), "window"),
                (self.relp_timeout_secs.is_some(), "relp_timeout_secs"),
            ] {
                if set {
                    return Err(ConfigError::invalid(
                        key,
                        "applies to transport = \"relp\" only",
                    ));
                }
            }
        } else if self.framing.is_some() {
            return Err(ConfigError::invalid(
                "framing",
                "does not apply to transport = \"relp\" (RELP has its own frames)",
            ));
        }
        let window = self.window.unwrap_or(DEFAULT_RELP_WINDOW);
        if window == 0 || window > MAX_RELP_WINDOW {
            return Err(ConfigError::invalid(
                "window",
                format!("must be between 1 and {MAX_RELP_WINDOW}"),
            ));
        }
        let relp_timeout_secs = self.relp_timeout_secs.unwrap_or(DEFAULT_RELP_TIMEOUT_SECS);
        if relp_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "relp_timeout_secs",
                "must be at least 1",
            ));
        }
        let backoff_initial_ms = self
            .backoff_initial_ms
            .unwrap_or(DEFAULT_BACKOFF_INITIAL_MS);
        let backoff_max_ms = self.backoff_max_ms.unwrap_or(DEFAULT_BACKOFF_MAX_MS);
        if backoff_initial_ms == 0 || backoff_max_ms < backoff_initial_ms {
            return Err(ConfigError::invalid(
                "backoff_max_ms",
                "backoff_initial_ms must be at least 1 and at most backoff_max_ms",
            ));
        }
        Ok(SyslogOutputConfig {
            name: self.name,
            transport: self.transport,
            address: self.address,
            format: self.format.unwrap_or_default(),
            facility,
            min_severity: self.min_severity,
            codes: self.codes.unwrap_or_default(),
            hosts: self.hosts.unwrap_or_default(),
            framing: self.framing.unwrap_or(Framing::OctetCounting),
            tls,
            connect_timeout_secs: self
                .connect_timeout_secs
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
            handshake_timeout_secs: self
                .handshake_timeout_secs
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT_SECS),
            backoff_initial_ms,
            backoff_max_ms,
            window,
            relp_timeout_secs,
        })
    }
}

/// `HOST:PORT` with a non-empty host and a port from 1 to 65535.
fn has_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_port_wants_a_host_and_a_nonzero_port() {
        assert!(has_port("h:514"));
        assert!(has_port("[::1]:6514"));
        assert!(!has_port("nohost"));
        assert!(!has_port(":514"));
        assert!(!has_port("h:0"));
    }
}
