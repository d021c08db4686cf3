//! `[[input.netconf_callhome]]`: a listener Junos devices connect to
//! (device-initiated NETCONF: Junos outbound-ssh, or RFC 8071 call home),
//! with the devices it accepts in `[[input.netconf_callhome.device]]`
//! (docs/netconf.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use netaudit_netconf::outbound_ssh::MAX_DEVICE_ID;
use russh::keys::PublicKey;
use serde::Deserialize;

use super::netconf_device::{
    duration, HostKeyCheck, NetconfDeviceConfig, RawFilterMatch, StreamMode, StreamSettings,
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_RECONNECT_MAX, DEFAULT_RECONNECT_MIN,
    DEFAULT_REKEY_BYTES, DEFAULT_REKEY_INTERVAL,
};
use crate::config::error::ConfigError;

/// The IANA port of NETCONF call home over SSH (RFC 8071 section 6).
pub(crate) const CALLHOME_PORT: u16 = 4334;
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_MAX_PENDING: usize = 16;

/// How a device announces itself on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum CallhomeProtocol {
    /// Junos outbound-ssh: the clear-text `DEVICE-CONN-INFO` header first.
    #[default]
    OutboundSsh,
    /// RFC 8071: SSH at once; the host key names the device.
    Rfc8071,
}

impl CallhomeProtocol {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallhomeProtocol::OutboundSsh => "outbound-ssh",
            CallhomeProtocol::Rfc8071 => "rfc8071",
        }
    }
}

/// One `[[input.netconf_callhome.device]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallhomeDevice {
    name: String,
    device_id: Option<String>,
    user: String,
    private_key: PathBuf,
    host_key: Option<String>,
    secret_file: Option<PathBuf>,
    mode: Option<StreamMode>,
    stream: Option<String>,
    filter: Option<Vec<RawFilterMatch>>,
    catch_up: Option<bool>,
}

/// One `[[input.netconf_callhome]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallhome {
    name: String,
    address: String,
    protocol: Option<CallhomeProtocol>,
    header_timeout: Option<String>,
    handshake_timeout: Option<String>,
    idle_timeout: Option<String>,
    max_pending: Option<usize>,
    #[serde(default)]
    device: Vec<RawCallhomeDevice>,
}

/// One device a call-home listener accepts, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallhomeDevice {
    /// The session settings the collector uses (`address` and `port` are
    /// the listener's; `host_key` is `Pinned` or `Announced`).
    pub session: NetconfDeviceConfig,
    /// The outbound-ssh `DEVICE-ID` that names it (outbound-ssh only).
    pub device_id: String,
    /// The key its SSH server must present, when configured.
    pub host_key: Option<PublicKey>,
    /// The outbound-ssh secret the header's HMAC is checked with.
    pub secret_file: Option<PathBuf>,
}

/// One `[[input.netconf_callhome]]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallhomeConfig {
    /// Unique among inputs; names the listener in logs and metrics.
    pub name: String,
    pub address: SocketAddr,
    pub protocol: CallhomeProtocol,
    /// How long the outbound-ssh header may take to arrive.
    pub header_timeout: Duration,
    /// Bounds the SSH handshake, and again the login, hello and stream request.
    pub handshake_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections not yet handed to a device's session, at most.
    pub max_pending: usize,
    pub devices: Vec<CallhomeDevice>,
}

fn parse_key(text: &str) -> Result<PublicKey, ConfigError> {
    PublicKey::from_openssh(text.trim()).map_err(|err| {
        ConfigError::invalid(
            "host_key",
            format!("not an OpenSSH public key (\"TYPE BASE64 [comment]\"): {err}"),
        )
    })
}

impl RawCallhomeDevice {
    fn resolve(self, listener: &RawCallhomeSettings) -> Result<CallhomeDevice, ConfigError> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "name",
                "must be a non-empty name without control characters",
            ));
        }
        if self.user.is_empty() {
            return Err(ConfigError::invalid("user", "must not be empty"));
        }
        let device_id = self.device_id.unwrap_or_else(|| self.name.clone());
        if device_id.is_empty()
            || device_id.len() > MAX_DEVICE_ID
            || !device_id.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        {
            return Err(ConfigError::invalid(
                "device_id",
                format!("must be 1 to {MAX_DEVICE_ID} printable characters without space or ':' (Junos `device-id`)"),
            ));
        }
        let host_key = self.host_key.as_deref().map(parse_key).transpose()?;
        match listener.protocol {
            CallhomeProtocol::Rfc8071 => {
                if self.secret_file.is_some() {
                    return Err(ConfigError::invalid(
                        "secret_file",
                        "only for protocol = \"outbound-ssh\" (RFC 8071 sends no header)",
                    ));
                }
                if host_key.is_none() {
                    return Err(ConfigError::invalid(
                        "host_key",
                        "RFC 8071 names the device by its host key: set host_key (\"ssh-ed25519 AAAA...\")",
                    ));
                }
            }
            CallhomeProtocol::OutboundSsh => {
                if host_key.is_none() && self.secret_file.is_none() {
                    return Err(ConfigError::invalid(
                        "host_key",
                        "the device's host key must be known: set host_key, or secret_file (the key the device announces in its header is then trusted once its HMAC verifies)",
                    ));
                }
            }
        }
        let streams = StreamSettings::resolve(self.mode, self.stream, self.filter, self.catch_up)?;
        let session = NetconfDeviceConfig {
            name: self.name,
            address: listener.address.ip().to_string(),
            port: listener.address.port(),
            user: self.user,
            private_key: self.private_key,
            host_key: match &host_key {
                Some(key) => HostKeyCheck::Pinned(key.clone()),
                None => HostKeyCheck::Announced,
            },
            mode: streams.mode,
            stream: streams.stream,
            filter: streams.filter,
            catch_up: streams.catch_up,
            connect_timeout: listener.header_timeout,
            handshake_timeout: listener.handshake_timeout,
            idle_timeout: listener.idle_timeout,
            reconnect_min: DEFAULT_RECONNECT_MIN,
            reconnect_max: DEFAULT_RECONNECT_MAX,
            rekey_bytes: usize::try_from(DEFAULT_REKEY_BYTES).unwrap_or(usize::MAX),
            rekey_interval: DEFAULT_REKEY_INTERVAL,
        };
        Ok(CallhomeDevice {
            session,
            device_id,
            host_key,
            secret_file: self.secret_file,
        })
    }
}

/// The listener's settings its devices need while they resolve.
struct RawCallhomeSettings {
    address: SocketAddr,
    protocol: CallhomeProtocol,
    header_timeout: Duration,
    handshake_timeout: Duration,
    idle_timeout: Duration,
}

impl RawCallhome {
    /// Checks the table; key paths are relative to it.
    pub(crate) fn resolve(self) -> Result<CallhomeConfig, ConfigError> {
        if self.name.is_empty() || self.name.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "name",
                "must be a non-empty name without control characters",
            ));
        }
        let address: SocketAddr = self.address.parse().map_err(|_| {
            ConfigError::invalid(
                "address",
                format!(
                    "{:?} is not IP:PORT (e.g. \"0.0.0.0:{CALLHOME_PORT}\", \"[::]:{CALLHOME_PORT}\")",
                    self.address
                ),
            )
        })?;
        if address.port() == 0 {
            return Err(ConfigError::invalid(
                "address",
                "the port must be 1..=65535",
            ));
        }
        let max_pending = self.max_pending.unwrap_or(DEFAULT_MAX_PENDING);
        if !(1..=10_000).contains(&max_pending) {
            return Err(ConfigError::invalid("max_pending", "must be 1..=10000"));
        }
        let settings = RawCallhomeSettings {
            address,
            protocol: self.protocol.unwrap_or_default(),
            header_timeout: duration(
                "header_timeout",
                self.header_timeout,
                DEFAULT_HEADER_TIMEOUT,
            )?,
            handshake_timeout: duration(
                "handshake_timeout",
                self.handshake_timeout,
                DEFAULT_HANDSHAKE_TIMEOUT,
            )?,
            idle_timeout: duration("idle_timeout", self.idle_timeout, DEFAULT_IDLE_TIMEOUT)?,
        };
        if self.device.is_empty() {
            return Err(ConfigError::invalid(
                "device",
                "a call-home listener needs at least one [[input.netconf_callhome.device]]",
            ));
        }
        let mut devices: Vec<CallhomeDevice> = Vec::new();
        for (i, raw) in self.device.into_iter().enumerate() {
            let key = format!("device[{i}]");
            let device = raw.resolve(&settings).map_err(|e| e.under(&key))?;
            let clash = devices.iter().find_map(|d| {
                if settings.protocol == CallhomeProtocol::OutboundSsh
                    && d.device_id == device.device_id
                {
                    Some(("device_id", "the device_id"))
                } else if settings.protocol == CallhomeProtocol::Rfc8071
                    && d.host_key.as_ref().map(PublicKey::key_data)
                        == device.host_key.as_ref().map(PublicKey::key_data)
                {
                    Some(("host_key", "the host_key"))
                } else {
                    None
                }
            });
            if let Some((field, what)) = clash {
                return Err(ConfigError::invalid(
                    format!("{key}.{field}"),
                    format!(
                        "is {what} of another device of this listener (it must name one device)"
                    ),
                ));
            }
            devices.push(device);
        }
        Ok(CallhomeConfig {
            name: self.name,
            address,
            protocol: settings.protocol,
            header_timeout: settings.header_timeout,
            handshake_timeout: settings.handshake_timeout,
            idle_timeout: settings.idle_timeout,
            max_pending,
            devices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVz netaudit-test";
    const KEY2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0lSMVyBfcEyq7NqF1Uq9Ah3m3EAOhXUyb2sBNR5xZ";

    fn parse(text: &str) -> Result<CallhomeConfig, ConfigError> {
        let raw: RawCallhome = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: "t".into(),
            location: String::new(),
            message: e.to_string(),
        })?;
        raw.resolve()
    }

    fn device(name: &str, extra: &str) -> String {
        format!("[[device]]\nname = \"{name}\"\nuser = \"audit\"\nprivate_key = \"/k\"\n{extra}")
    }

    #[test]
    fn defaults_and_both_protocols() {
        let text = format!(
            "name = \"ch\"\naddress = \"127.0.0.1:4334\"\n{}{}",
            device("r1", &format!("host_key = \"{KEY}\"\n")),
            device("r2", "device_id = \"r2.example\"\nsecret_file = \"/s\"\n")
        );
        let config = parse(&text).unwrap();
        assert_eq!(config.protocol, CallhomeProtocol::OutboundSsh);
        assert_eq!(config.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert_eq!(config.max_pending, DEFAULT_MAX_PENDING);
        assert_eq!(config.devices[0].device_id, "r1");
        assert!(matches!(
            config.devices[0].session.host_key,
            HostKeyCheck::Pinned(_)
        ));
        assert_eq!(config.devices[1].device_id, "r2.example");
        assert_eq!(config.devices[1].session.host_key, HostKeyCheck::Announced);
        assert_eq!(config.devices[1].session.port, 4334);
        let text = format!(
            "name = \"ch\"\naddress = \"[::1]:4334\"\nprotocol = \"rfc8071\"\nmax_pending = 2\n{}{}",
            device("r1", &format!("host_key = \"{KEY}\"\n")),
            device("r2", &format!("host_key = \"{KEY2}\"\nmode = \"create-subscription\"\n"))
        );
        let config = parse(&text).unwrap();
        assert_eq!(config.protocol, CallhomeProtocol::Rfc8071);
        assert_eq!(
            config.devices[1].session.mode,
            StreamMode::CreateSubscription
        );
    }

    #[test]
    fn bad_tables_name_the_key() {
        let base = "name = \"ch\"\naddress = \"127.0.0.1:4334\"\n";
        let rfc = "name = \"ch\"\naddress = \"127.0.0.1:4334\"\nprotocol = \"rfc8071\"\n";
        let key = format!("host_key = \"{KEY}\"\n");
        let cases = [
            (base.to_string(), "device"),
            (
                format!("name = \"ch\"\naddress = \"4334\"\n{}", device("r1", &key)),
                "address",
            ),
            (
                format!(
                    "name = \"ch\"\naddress = \"127.0.0.1:0\"\n{}",
                    device("r1", &key)
                ),
                "address",
            ),
            (
                format!("{base}max_pending = 0\n{}", device("r1", &key)),
                "max_pending",
            ),
            (
                format!("{base}header_timeout = \"soon\"\n{}", device("r1", &key)),
                "header_timeout",
            ),
            (format!("{base}{}", device("r1", "")), "device[0].host_key"),
            (
                format!(
                    "{base}{}",
                    device("r1", "host_key = \"ssh-ed25519 nope\"\n")
                ),
                "device[0].host_key",
            ),
            (
                format!(
                    "{base}{}",
                    device("r1", &format!("{key}device_id = \"a b\"\n"))
                ),
                "device[0].device_id",
            ),
            (
                format!(
                    "{base}{}{}",
                    device("r1", &key),
                    device("r2", &format!("{key}device_id = \"r1\"\n"))
                ),
                "device[1].device_id",
            ),
            (
                format!("{rfc}{}", device("r1", "secret_file = \"/s\"\n")),
                "device[0].secret_file",
            ),
            (format!("{rfc}{}", device("r1", "")), "device[0].host_key"),
            (
                format!("{rfc}{}{}", device("r1", &key), device("r2", &key)),
                "device[1].host_key",
            ),
            (
                format!("{base}{}", device("r1", &format!("{key}catch_up = true\n"))),
                "device[0].catch_up",
            ),
            (
                format!("{base}{}", device("r1", &format!("{key}port = 830\n"))),
                "port",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected} expected in: {err}");
        }
    }
}
