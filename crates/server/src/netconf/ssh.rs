//! The SSH side of a NETCONF session with a device (russh, pure-Rust
//! crypto): TCP connect, the host-key check against the configured key or
//! known_hosts file, public-key authentication, and the `netconf`
//! subsystem channel (RFC 6242 section 3), handed on as a byte stream.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelStream};

use super::error::{SessionError, Stage};
use crate::config::netconf_device::{HostKeyCheck, NetconfDeviceConfig};

/// The SSH subsystem of NETCONF.
pub(crate) const SUBSYSTEM: &str = "netconf";

/// What the host-key check saw, kept for the events and the error.
#[derive(Debug, Default)]
struct HostKeySeen {
    /// SHA-256 fingerprint of the key the device presented.
    fingerprint: Option<String>,
    /// Why it was refused, when it was.
    refusal: Option<String>,
}

/// The russh client handler: checks the device's host key.
pub(crate) struct DeviceHandler {
    check: HostKeyCheck,
    host: String,
    port: u16,
    seen: Arc<Mutex<HostKeySeen>>,
}

impl DeviceHandler {
    fn decide(&self, key: &PublicKey) -> Result<(), String> {
        match &self.check {
            HostKeyCheck::Pinned(expected) => {
                if expected.key_data() == key.key_data() {
                    Ok(())
                } else {
                    Err(format!(
                        "the device presented {}, the configured host_key is {}",
                        key.fingerprint(HashAlg::Sha256),
                        expected.fingerprint(HashAlg::Sha256)
                    ))
                }
            }
            HostKeyCheck::KnownHosts { path, learn } => {
                match russh::keys::check_known_hosts_path(&self.host, self.port, key, path) {
                    Ok(true) => Ok(()),
                    Ok(false) if *learn => {
                        russh::keys::known_hosts::learn_known_hosts_path(
                            &self.host, self.port, key, path,
                        )
                        .map_err(|err| {
                            format!(
                                "trust_on_first_use: cannot add the key to {}: {err}",
                                path.display()
                            )
                        })?;
                        tracing::warn!(
                            host = %self.host,
                            port = self.port,
                            fingerprint = %key.fingerprint(HashAlg::Sha256),
                            known_hosts = %path.display(),
                            "trust_on_first_use: an unknown host key was accepted and recorded"
                        );
                        Ok(())
                    }
                    Ok(false) => Err(format!(
                        "{} names no key of this type for [{}]:{} (trust_on_first_use is off)",
                        path.display(),
                        self.host,
                        self.port
                    )),
                    Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                        "the device's key differs from the one at {} line {line}: possible man-in-the-middle",
                        path.display()
                    )),
                    Err(err) => Err(format!("cannot check {}: {err}", path.display())),
                }
            }
        }
    }
}

impl client::Handler for DeviceHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            seen.refusal = Some(
                "the device presented a host certificate; netaudit checks plain host keys".into(),
            );
            return Ok(false);
        };
        let verdict = self.decide(key);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.fingerprint = Some(key.fingerprint(HashAlg::Sha256).to_string());
        match verdict {
            Ok(()) => Ok(true),
            Err(reason) => {
                seen.refusal = Some(reason);
                Ok(false)
            }
        }
    }
}

/// An authenticated SSH connection with its `netconf` channel.
pub(crate) struct SshChannel {
    /// Kept so that the connection lives as long as the channel.
    pub handle: Handle<DeviceHandler>,
    pub stream: ChannelStream<client::Msg>,
    /// Bytes the device sent before the subsystem request was answered.
    pub early: Vec<u8>,
    /// SHA-256 fingerprint of the device's host key.
    pub fingerprint: String,
}

/// What a failed attempt knew of the host key (for the failure event).
pub(crate) struct Attempt {
    seen: Arc<Mutex<HostKeySeen>>,
}

impl Attempt {
    pub(crate) fn new() -> Attempt {
        Attempt {
            seen: Arc::default(),
        }
    }

    /// The fingerprint of the key the device presented, once it has.
    pub(crate) fn fingerprint(&self) -> Option<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fingerprint
            .clone()
    }

    /// Connects, checks the host key, authenticates and opens the
    /// `netconf` subsystem; the caller bounds the whole by the handshake
    /// timeout.
    pub(crate) async fn open(
        &self,
        device: &NetconfDeviceConfig,
    ) -> Result<SshChannel, SessionError> {
        let key = russh::keys::load_secret_key(&device.private_key, None).map_err(|err| {
            SessionError::PrivateKey {
                path: device.private_key.display().to_string(),
                detail: err.to_string(),
            }
        })?;
        let tcp = tokio::time::timeout(
            device.connect_timeout,
            tokio::net::TcpStream::connect((device.address.as_str(), device.port)),
        )
        .await
        .map_err(|_| SessionError::Timeout(Stage::Connect, device.connect_timeout.as_secs()))?
        .map_err(SessionError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let config = Arc::new(client::Config {
            // A dead peer is found by keepalives: three unanswered ones
            // within the idle timeout end the session.
            keepalive_interval: Some(keepalive_interval(device.idle_timeout)),
            keepalive_max: 3,
            inactivity_timeout: Some(device.idle_timeout),
            nodelay: true,
            // Long sessions get new keys (RFC 4253 section 9), counted in
            // both directions: the device's stream is what grows.
            limits: russh::Limits::new(
                device.rekey_bytes,
                device.rekey_bytes,
                device.rekey_interval,
            ),
            ..client::Config::default()
        });
        let handler = DeviceHandler {
            check: device.host_key.clone(),
            host: device.address.clone(),
            port: device.port,
            seen: self.seen.clone(),
        };
        let mut handle = match client::connect_stream(config, tcp, handler).await {
            Ok(handle) => handle,
            Err(err) => {
                let refusal = self
                    .seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .refusal
                    .clone();
                return Err(match refusal {
                    Some(reason) => SessionError::HostKey(reason),
                    None => SessionError::ssh(Stage::Ssh, err),
                });
            }
        };
        let hash = if key.algorithm().is_rsa() {
            handle
                .best_supported_rsa_hash()
                .await
                .map_err(|e| SessionError::ssh(Stage::Auth, e))?
                .flatten()
        } else {
            None
        };
        let auth = handle
            .authenticate_publickey(
                device.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| SessionError::ssh(Stage::Auth, e))?;
        if !auth.success() {
            return Err(SessionError::Auth(device.user.clone()));
        }
        let mut channel = handle
            .channel_open_session()
            .await
            .map_err(|e| SessionError::ssh(Stage::Subsystem, e))?;
        channel
            .request_subsystem(true, SUBSYSTEM)
            .await
            .map_err(|e| SessionError::ssh(Stage::Subsystem, e))?;
        // Wait for the answer to the request; data the device sends first
        // (its hello) is kept for the session.
        let mut early = Vec::new();
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => break,
                Some(ChannelMsg::Failure) => {
                    return Err(SessionError::Ssh {
                        stage: Stage::Subsystem,
                        detail: format!("the device refused the {SUBSYSTEM:?} subsystem"),
                    })
                }
                Some(ChannelMsg::Data { data }) => early.extend_from_slice(&data),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                    return Err(SessionError::Ssh {
                        stage: Stage::Subsystem,
                        detail: "the channel closed before the subsystem started".into(),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(SshChannel {
            handle,
            stream: channel.into_stream(),
            early,
            fingerprint: self.fingerprint().unwrap_or_default(),
        })
    }
}

fn keepalive_interval(idle: Duration) -> Duration {
    (idle / 3).max(Duration::from_secs(1))
}
