//! `[[input.netconf]]`: one Junos device netaudit connects to over SSH
//! (NETCONF, RFC 6242) to collect its syslog stream (docs/netconf.md).

use std::path::PathBuf;
use std::time::Duration;

use netaudit_event::Severity;
use netaudit_netconf::filter::{EventFilter, EventMatch};
use netaudit_netconf::subscription::CreateSubscription;
use netaudit_netconf::syslog_events::{GetSyslogEvents, DEFAULT_SYSLOG_STREAM};
use russh::keys::PublicKey;
use serde::Deserialize;

use super::duration::parse_duration;
use crate::config::error::ConfigError;

/// The IANA port of NETCONF over SSH (RFC 6242 section 3).
pub(crate) const DEFAULT_NETCONF_PORT: u16 = 830;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const DEFAULT_RECONNECT_MIN: Duration = Duration::from_secs(1);
const DEFAULT_RECONNECT_MAX: Duration = Duration::from_secs(60);
/// RFC 4253 section 9's advice: new keys after 1 GiB or one hour.
const DEFAULT_REKEY_BYTES: u64 = 1 << 30;
const DEFAULT_REKEY_INTERVAL: Duration = Duration::from_secs(3600);
/// Below this a session would spend more on key exchanges than on data.
const MIN_REKEY_BYTES: u64 = 64 * 1024;
/// russh refuses limits above 1 GiB (the counters' nonce bound).
const MAX_REKEY_BYTES: u64 = 1 << 30;

/// How the device is asked for its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StreamMode {
    /// Junos `<get-syslog-events>` (seed 004): one reply left open.
    #[default]
    GetSyslogEvents,
    /// RFC 5277 `<create-subscription>`: one notification per line.
    CreateSubscription,
}

/// One alternative of `filter` as written: the fields that must all match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilterMatch {
    code: Option<String>,
    severity: Option<String>,
    host: Option<String>,
}

/// One `[[input.netconf]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetconfDevice {
    name: String,
    address: String,
    port: Option<u16>,
    user: String,
    private_key: PathBuf,
    host_key: Option<String>,
    known_hosts: Option<PathBuf>,
    trust_on_first_use: Option<bool>,
    mode: Option<StreamMode>,
    stream: Option<String>,
    filter: Option<Vec<RawFilterMatch>>,
    catch_up: Option<bool>,
    connect_timeout: Option<String>,
    handshake_timeout: Option<String>,
    idle_timeout: Option<String>,
    reconnect_min: Option<String>,
    reconnect_max: Option<String>,
    rekey_bytes: Option<u64>,
    rekey_interval: Option<String>,
}

/// How the device's SSH host key is checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HostKeyCheck {
    /// The one key configured in `host_key`.
    Pinned(PublicKey),
    /// A key `known_hosts` names for `[address]:port`; with
    /// `learn`, a host the file does not name yet is added to it (trust on
    /// first use), a changed key is still refused.
    KnownHosts { path: PathBuf, learn: bool },
}

/// One `[[input.netconf]]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NetconfDeviceConfig {
    /// Unique among inputs; recorded with every event from the device.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub private_key: PathBuf,
    pub host_key: HostKeyCheck,
    pub mode: StreamMode,
    /// The stream asked for: the Junos syslog file (`messages`) or the
    /// RFC 5277 stream (`NETCONF` when unset).
    pub stream: Option<String>,
    pub filter: Option<EventFilter>,
    /// `create-subscription` only: after a reconnect, ask for the events
    /// since the last one received (startTime), when the device replays.
    pub catch_up: bool,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// New SSH keys after this many bytes in either direction.
    pub rekey_bytes: usize,
    /// New SSH keys after this long, whatever the traffic.
    pub rekey_interval: Duration,
}

fn duration(key: &str, value: Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => parse_duration(&text).map_err(|message| ConfigError::invalid(key, message)),
    }
}

impl RawFilterMatch {
    fn resolve(self, index: usize) -> Result<EventMatch, ConfigError> {
        let key = |field: &str| format!("filter[{index}].{field}");
        let severity = match self.severity {
            None => None,
            Some(name) => Some(name.parse::<Severity>().map_err(|_| {
                ConfigError::invalid(
                    key("severity"),
                    format!("{name:?} is not a syslog severity (emergency ... debug)"),
                )
            })?),
        };
        if self.code.is_none() && severity.is_none() && self.host.is_none() {
            return Err(ConfigError::invalid(
                format!("filter[{index}]"),
                "an alternative needs at least one of code, severity, host",
            ));
        }
        Ok(EventMatch {
            code: self.code,
            severity,
            host: self.host,
        })
    }
}

impl RawNetconfDevice {
    /// Checks the table; key paths are relative to it.
    pub(crate) fn resolve(self) -> Result<NetconfDeviceConfig, ConfigError> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "name",
                "must be a non-empty name without control characters",
            ));
        }
        if self.address.is_empty() || self.address.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                "address",
                "must be a host name or an IP address (the port goes in `port`)",
            ));
        }
        if self.user.is_empty() {
            return Err(ConfigError::invalid("user", "must not be empty"));
        }
        let port = self.port.unwrap_or(DEFAULT_NETCONF_PORT);
        if port == 0 {
            return Err(ConfigError::invalid("port", "must be 1..=65535"));
        }
        let learn = self.trust_on_first_use.unwrap_or(false);
        let host_key = match (self.host_key, self.known_hosts) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::invalid(
                    "known_hosts",
                    "set either host_key or known_hosts, not both",
                ))
            }
            (None, None) => {
                return Err(ConfigError::invalid(
                    "host_key",
                    "the device's host key must be known: set host_key (\"ssh-ed25519 AAAA...\") or known_hosts (a file); netaudit never trusts an unknown key unless trust_on_first_use = true with known_hosts",
                ))
            }
            (Some(text), None) => {
                if learn {
                    return Err(ConfigError::invalid(
                        "trust_on_first_use",
                        "needs known_hosts (the file the first key is written to), not host_key",
                    ));
                }
                let key = PublicKey::from_openssh(text.trim()).map_err(|err| {
                    ConfigError::invalid(
                        "host_key",
                        format!("not an OpenSSH public key (\"TYPE BASE64 [comment]\"): {err}"),
                    )
                })?;
                HostKeyCheck::Pinned(key)
            }
            (None, Some(path)) => HostKeyCheck::KnownHosts { path, learn },
        };
        let mode = self.mode.unwrap_or_default();
        let stream = match (mode, self.stream) {
            (_, Some(s)) if s.trim().is_empty() => {
                return Err(ConfigError::invalid("stream", "must not be empty"))
            }
            (_, Some(s)) => Some(s),
            (StreamMode::GetSyslogEvents, None) => Some(DEFAULT_SYSLOG_STREAM.to_string()),
            (StreamMode::CreateSubscription, None) => None,
        };
        let filter = match self.filter {
            None => None,
            Some(raw) => {
                let alternatives = raw
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| m.resolve(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(
                    EventFilter::new(alternatives)
                        .map_err(|err| ConfigError::invalid("filter", err.to_string()))?,
                )
            }
        };
        let catch_up = self.catch_up.unwrap_or(false);
        if catch_up && mode != StreamMode::CreateSubscription {
            return Err(ConfigError::invalid(
                "catch_up",
                "needs mode = \"create-subscription\" (get-syslog-events has no start time)",
            ));
        }
        let reconnect_min = duration("reconnect_min", self.reconnect_min, DEFAULT_RECONNECT_MIN)?;
        let reconnect_max = duration("reconnect_max", self.reconnect_max, DEFAULT_RECONNECT_MAX)?;
        if reconnect_max < reconnect_min {
            return Err(ConfigError::invalid(
                "reconnect_max",
                "must be at least reconnect_min",
            ));
        }
        let rekey_bytes = self.rekey_bytes.unwrap_or(DEFAULT_REKEY_BYTES);
        if !(MIN_REKEY_BYTES..=MAX_REKEY_BYTES).contains(&rekey_bytes) {
            return Err(ConfigError::invalid(
                "rekey_bytes",
                format!("must be {MIN_REKEY_BYTES} (64 KiB) to {MAX_REKEY_BYTES} (1 GiB), not {rekey_bytes}"),
            ));
        }
        let rekey_interval = duration(
            "rekey_interval",
            self.rekey_interval,
            DEFAULT_REKEY_INTERVAL,
        )?;
        if rekey_interval < Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                "rekey_interval",
                "must be at least 1s",
            ));
        }
        Ok(NetconfDeviceConfig {
            name: self.name,
            address: self.address,
            port,
            user: self.user,
            private_key: self.private_key,
            host_key,
            mode,
            stream,
            filter,
            catch_up,
            connect_timeout: duration(
                "connect_timeout",
                self.connect_timeout,
                DEFAULT_CONNECT_TIMEOUT,
            )?,
            handshake_timeout: duration(
                "handshake_timeout",
                self.handshake_timeout,
                DEFAULT_HANDSHAKE_TIMEOUT,
            )?,
            idle_timeout: duration("idle_timeout", self.idle_timeout, DEFAULT_IDLE_TIMEOUT)?,
            reconnect_min,
            reconnect_max,
            rekey_bytes: usize::try_from(rekey_bytes).unwrap_or(usize::MAX),
            rekey_interval,
        })
    }
}

impl NetconfDeviceConfig {
    /// The operation element of the request that opens the stream; with
    /// `since`, a subscription asks for the events from then on (replay).
    pub(crate) fn stream_request(&self, since: Option<time::OffsetDateTime>) -> String {
        match self.mode {
            StreamMode::GetSyslogEvents => GetSyslogEvents {
                stream: self
                    .stream
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SYSLOG_STREAM.to_string()),
                filter: self.filter.clone(),
            }
            .to_xml(),
            StreamMode::CreateSubscription => CreateSubscription {
                stream: self.stream.clone(),
                filter: self.filter.clone(),
                start_time: since.filter(|_| self.catch_up),
                stop_time: None,
            }
            .to_xml(),
        }
    }

    /// `address:port` as connected to and shown in events (IPv6 in brackets).
    pub(crate) fn peer(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVz netaudit-test";

    fn parse(text: &str) -> Result<NetconfDeviceConfig, ConfigError> {
        let raw: RawNetconfDevice = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: "t".into(),
            location: String::new(),
            message: e.to_string(),
        })?;
        raw.resolve()
    }

    const BASE: &str =
        "name = \"r1\"\naddress = \"192.0.2.1\"\nuser = \"audit\"\nprivate_key = \"/k\"\n";

    #[test]
    fn defaults() {
        let config = parse(&format!("{BASE}known_hosts = \"/kh\"\n")).unwrap();
        assert_eq!(config.port, 830);
        assert_eq!(config.mode, StreamMode::GetSyslogEvents);
        assert_eq!(config.stream.as_deref(), Some("messages"));
        assert_eq!(
            config.host_key,
            HostKeyCheck::KnownHosts {
                path: "/kh".into(),
                learn: false
            }
        );
        assert_eq!(config.peer(), "192.0.2.1:830");
        assert_eq!(config.rekey_bytes, 1 << 30);
        assert_eq!(config.rekey_interval, Duration::from_secs(3600));
        let config = parse(&format!(
            "{BASE}known_hosts = \"/kh\"\nrekey_bytes = 65536\nrekey_interval = \"10m\"\n"
        ))
        .unwrap();
        assert_eq!(config.rekey_bytes, 65536);
        assert_eq!(config.rekey_interval, Duration::from_secs(600));
        assert!(config
            .stream_request(None)
            .starts_with("<get-syslog-events><stream>messages</stream>"));
        let config = parse(&format!("{BASE}host_key = \"{KEY}\"\n")).unwrap();
        assert!(matches!(config.host_key, HostKeyCheck::Pinned(_)));
    }

    #[test]
    fn subscription_with_filter_and_catch_up() {
        let text = format!(
            "{BASE}known_hosts = \"/kh\"\nmode = \"create-subscription\"\ncatch_up = true\nfilter = [{{ code = \"UI_LOGIN_EVENT\", severity = \"notice\" }}, {{ host = \"r1\" }}]\n"
        );
        let config = parse(&text).unwrap();
        assert_eq!(config.stream, None);
        assert_eq!(config.filter.as_ref().unwrap().alternatives().len(), 2);
        let since = time::macros::datetime!(2026-12-06 10:00 UTC);
        let xml = config.stream_request(Some(since));
        assert!(xml.contains("<startTime>2026-12-06T10:00:00"), "{xml}");
        assert!(xml.contains("<code>UI_LOGIN_EVENT</code>"), "{xml}");
    }

    #[test]
    fn bad_tables_name_the_key() {
        let cases = [
            (BASE.to_string(), "host_key"),
            (
                format!("{BASE}host_key = \"{KEY}\"\nknown_hosts = \"/kh\"\n"),
                "known_hosts",
            ),
            (
                format!("{BASE}host_key = \"{KEY}\"\ntrust_on_first_use = true\n"),
                "trust_on_first_use",
            ),
            (format!("{BASE}host_key = \"ssh-ed25519 nope\"\n"), "host_key"),
            (format!("{BASE}known_hosts = \"/kh\"\nport = 0\n"), "port"),
            (
                format!("{BASE}known_hosts = \"/kh\"\ncatch_up = true\n"),
                "catch_up",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nidle_timeout = \"soon\"\n"),
                "idle_timeout",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nreconnect_min = \"2m\"\nreconnect_max = \"1m\"\n"),
                "reconnect_max",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nrekey_bytes = 1024\n"),
                "rekey_bytes",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nrekey_bytes = 2147483648\n"),
                "rekey_bytes",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nrekey_interval = \"0s\"\n"),
                "rekey_interval",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nfilter = [{{ severity = \"loud\" }}]\n"),
                "filter[0].severity",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nfilter = [{{}}]\n"),
                "filter[0]",
            ),
            (
                format!("{BASE}known_hosts = \"/kh\"\nfilter = []\n"),
                "filter",
            ),
            (
                "name = \"r1\"\naddress = \"a b\"\nuser = \"u\"\nprivate_key = \"/k\"\nknown_hosts = \"/kh\"\n".to_string(),
                "address",
            ),
        ];
        for (text, key) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(key), "{key} expected in: {err}");
        }
    }
}
