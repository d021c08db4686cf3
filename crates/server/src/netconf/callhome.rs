//! `[[input.netconf_callhome]]`: the TCP listener devices connect to
//! (device-initiated NETCONF). Each connection is identified before it is
//! handed to its device's task (`callhome_device.rs`), which runs the same
//! session code as the collector that dials:
//!
//! * Junos outbound-ssh: the clear-text `DEVICE-CONN-INFO` header (bounded
//!   in size by its decoder and in time by `header_timeout`) names the
//!   device; its HMAC is checked when the device has a `secret_file`; the
//!   SSH handshake then accepts only that device's key (configured, or
//!   announced in a header whose HMAC verified).
//! * RFC 8071: SSH at once; the host key the device presents names it.
//!
//! Only a connection whose host key was accepted reaches a device's task,
//! so a connection that merely claims a device id cannot replace that
//! device's session. Connections not yet handed on are at most
//! `max_pending`; more are closed at once.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use netaudit_netconf::outbound_ssh::{DeviceConnInfo, OutboundHeaderDecoder};
use russh::keys::{HashAlg, PublicKey};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::callhome_device::{self, Accepted};
use super::collector::DeviceCollector;
use super::error::{SessionError, Stage};
use super::events::{self, Channel};
use super::ssh::{Attempt, DeviceHandler, KeyCheck};
use crate::config::netconf_callhome::{CallhomeConfig, CallhomeDevice, CallhomeProtocol};
use crate::config::netconf_device::{HostKeyCheck, DEFAULT_REKEY_BYTES, DEFAULT_REKEY_INTERVAL};
use crate::metrics::CallhomeListenerMetrics;
use crate::pipeline::ingest::Ingest;

/// A header that has stopped arriving this long, with its mandatory lines
/// read, is complete (a device that waits for the client to speak first).
const HEADER_QUIET: Duration = Duration::from_millis(500);

/// One device of the listener: its configuration, collector and task.
struct Entry {
    config: CallhomeDevice,
    collector: Arc<DeviceCollector>,
    tx: mpsc::Sender<Accepted>,
}

/// What every connection of the listener shares.
struct Shared {
    config: CallhomeConfig,
    devices: Vec<Entry>,
    /// For the events of connections no device is known for.
    ingest: Ingest,
    status: Arc<CallhomeListenerMetrics>,
}

/// Why a connection was refused, and which device it was for if known.
struct Refusal {
    err: SessionError,
    device: Option<usize>,
    /// The DEVICE-ID the header claimed (outbound-ssh).
    claimed: Option<String>,
}

impl Refusal {
    fn new(err: SessionError) -> Refusal {
        Refusal {
            err,
            device: None,
            claimed: None,
        }
    }
}

/// Binds the listener and starts it and its devices' tasks.
///
/// # Errors
///
/// The address cannot be bound.
pub(crate) async fn start(
    config: CallhomeConfig,
    collectors: Vec<DeviceCollector>,
    ingest: Ingest,
    status: Arc<CallhomeListenerMetrics>,
    cancel: CancellationToken,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let listener = TcpListener::bind(config.address).await?;
    let mut tasks = Vec::new();
    let mut devices = Vec::new();
    for (device, collector) in config.devices.iter().zip(collectors) {
        let (tx, rx) = mpsc::channel(4);
        let collector = Arc::new(collector);
        tasks.push(tokio::spawn(callhome_device::run(
            collector.clone(),
            rx,
            cancel.clone(),
        )));
        devices.push(Entry {
            config: device.clone(),
            collector,
            tx,
        });
    }
    tracing::info!(
        listener = %config.name,
        address = %config.address,
        protocol = config.protocol.as_str(),
        devices = devices.len(),
        "NETCONF call-home listener started"
    );
    let pending = Arc::new(Semaphore::new(config.max_pending));
    let shared = Arc::new(Shared {
        config,
        devices,
        ingest,
        status,
    });
    tasks.push(tokio::spawn(accept_loop(listener, shared, pending, cancel)));
    Ok(tasks)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    pending: Arc<Semaphore>,
    cancel: CancellationToken,
) {
    // The connections' tasks hold senders of the pipeline: the listener
    // stops only once they have.
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of descriptors and the like: pause rather than spin.
                tracing::warn!(listener = %shared.config.name, error = %err, "call-home accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            shared.status.over_limit.fetch_add(1, Relaxed);
            tracing::warn!(
                listener = %shared.config.name,
                peer = %peer,
                max_pending = shared.config.max_pending,
                "call-home connection closed: max_pending connections are already being identified"
            );
            continue;
        };
        let _ = tcp.set_nodelay(true);
        connections.spawn(connection(
            shared.clone(),
            tcp,
            peer,
            permit,
            cancel.clone(),
        ));
    }
    connections.close();
    connections.wait().await;
}

/// Identifies one connection and hands it to its device, or refuses it.
async fn connection(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    cancel: CancellationToken,
) {
    let attempt = Attempt::new();
    let identified = tokio::select! {
        _ = cancel.cancelled() => return,
        identified = identify(&shared, tcp, peer, &attempt) => identified,
    };
    match identified {
        Ok((index, ssh)) => {
            let entry = &shared.devices[index];
            shared.status.accepted.fetch_add(1, Relaxed);
            let accepted = Accepted {
                peer,
                ssh,
                attempt,
                permit,
            };
            // Fails only when the device's task has stopped (netaudit stops).
            let _ = entry.tx.send(accepted).await;
        }
        Err(refusal) => {
            // The slot is free before the refusal is told.
            drop(permit);
            shared.status.refused.fetch_add(1, Relaxed);
            let peer = peer.to_string();
            match refusal.device {
                Some(index) => {
                    shared.devices[index]
                        .collector
                        .attempt_failed(&refusal.err, &peer, &attempt)
                        .await
                }
                None => unknown_refused(&shared, &refusal, &peer, &attempt).await,
            }
        }
    }
}

/// A connection no configured device is known for: log line and event.
async fn unknown_refused(shared: &Shared, refusal: &Refusal, peer: &str, attempt: &Attempt) {
    let err = &refusal.err;
    let device = refusal.claimed.as_deref().unwrap_or("-");
    tracing::warn!(
        listener = %shared.config.name,
        peer = %peer,
        device = %device,
        stage = err.stage().as_str(),
        error = %err,
        "call-home connection refused"
    );
    let fingerprint = attempt.fingerprint();
    let event = events::failed(
        &Channel {
            device,
            peer,
            user: "-",
            fingerprint: fingerprint.as_deref(),
        },
        err.stage().as_str(),
        &err.to_string(),
    );
    if shared.ingest.send(vec![event.into()]).await {
        shared.ingest.global.internal_events.fetch_add(1, Relaxed);
    }
}

/// Which device the connection is, with its SSH handshake done.
async fn identify(
    shared: &Shared,
    tcp: TcpStream,
    peer: SocketAddr,
    attempt: &Attempt,
) -> Result<(usize, russh::client::Handle<DeviceHandler>), Refusal> {
    let config = &shared.config;
    match config.protocol {
        CallhomeProtocol::Rfc8071 => {
            let keys: Vec<PublicKey> = shared
                .devices
                .iter()
                .filter_map(|d| d.config.host_key.clone())
                .collect();
            let handle = handshake(config, attempt, tcp, KeyCheck::OneOf(keys), peer)
                .await
                .map_err(Refusal::new)?;
            let fingerprint = attempt.fingerprint().unwrap_or_default();
            let index = shared
                .devices
                .iter()
                .position(|d| {
                    d.config
                        .host_key
                        .as_ref()
                        .is_some_and(|k| k.fingerprint(HashAlg::Sha256).to_string() == fingerprint)
                })
                .ok_or_else(|| {
                    Refusal::new(SessionError::Identity(format!(
                        "no device has the host key {fingerprint}"
                    )))
                })?;
            Ok((index, handle))
        }
        CallhomeProtocol::OutboundSsh => {
            let mut tcp = tcp;
            let mut buf = BytesMut::new();
            let header =
                tokio::time::timeout(config.header_timeout, read_header(&mut tcp, &mut buf))
                    .await
                    .unwrap_or(Err(SessionError::Timeout(
                        Stage::Header,
                        config.header_timeout.as_secs(),
                    )))
                    .map_err(Refusal::new)?;
            let refuse = |index: Option<usize>, err: SessionError| Refusal {
                err,
                device: index,
                claimed: Some(header.device_id.clone()),
            };
            let index = shared
                .devices
                .iter()
                .position(|d| d.config.device_id == header.device_id)
                .ok_or_else(|| {
                    refuse(
                        None,
                        SessionError::Identity(format!(
                            "DEVICE-ID {:?} is not a device of this listener",
                            header.device_id
                        )),
                    )
                })?;
            let device = &shared.devices[index].config;
            let expected = expected_key(device, &header)
                .await
                .map_err(|err| refuse(Some(index), err))?;
            // The bytes read after the header (the device's SSH
            // identification) go to the SSH client first.
            let (read, write) = tcp.into_split();
            let stream = tokio::io::join(Cursor::new(buf.to_vec()).chain(read), write);
            let check = KeyCheck::Device(HostKeyCheck::Pinned(expected));
            let handle = handshake(config, attempt, stream, check, peer)
                .await
                .map_err(|err| refuse(Some(index), err))?;
            Ok((index, handle))
        }
    }
}

/// The SSH handshake within `handshake_timeout`.
async fn handshake<S>(
    config: &CallhomeConfig,
    attempt: &Attempt,
    stream: S,
    check: KeyCheck,
    peer: SocketAddr,
) -> Result<russh::client::Handle<DeviceHandler>, SessionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let host = peer.ip().to_string();
    tokio::time::timeout(
        config.handshake_timeout,
        attempt.handshake(
            stream,
            check,
            (&host, peer.port()),
            config.idle_timeout,
            // RFC 4253's advice, as [[input.netconf]]'s defaults.
            (
                usize::try_from(DEFAULT_REKEY_BYTES).unwrap_or(usize::MAX),
                DEFAULT_REKEY_INTERVAL,
            ),
        ),
    )
    .await
    .unwrap_or(Err(SessionError::Timeout(
        Stage::Ssh,
        config.handshake_timeout.as_secs(),
    )))
}

/// Reads the outbound-ssh header; what follows it stays in `buf`.
async fn read_header(
    tcp: &mut TcpStream,
    buf: &mut BytesMut,
) -> Result<DeviceConnInfo, SessionError> {
    let mut decoder = OutboundHeaderDecoder::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(header) = decoder.decode(buf).map_err(SessionError::Header)? {
            return Ok(header);
        }
        match tokio::time::timeout(HEADER_QUIET, tcp.read(&mut chunk)).await {
            Err(_) => {
                if let Ok(header) = decoder.finish() {
                    return Ok(header);
                }
            }
            Ok(Ok(0)) => {
                return Err(SessionError::Header(decoder.finish().err().unwrap_or(
                    netaudit_netconf::NetconfError::OutboundHeader {
                        offset: 0,
                        what: "the device closed the connection after its header".into(),
                    },
                )))
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(err)) => return Err(SessionError::Connect(err)),
        }
    }
}

/// The host key the device's SSH server must present: the configured one,
/// or the one its header announces under a verified HMAC (both, when both
/// are there, must be the same key).
async fn expected_key(
    device: &CallhomeDevice,
    header: &DeviceConnInfo,
) -> Result<PublicKey, SessionError> {
    let Some(secret_file) = &device.secret_file else {
        // Without a secret the header's HOST-KEY proves nothing: only the
        // configured key counts (the configuration requires one).
        return device.host_key.clone().ok_or_else(|| {
            SessionError::Identity("no host_key and no secret_file configured".into())
        });
    };
    let secret = tokio::fs::read(secret_file).await.map_err(|err| {
        SessionError::Identity(format!(
            "cannot read secret_file {}: {err}",
            secret_file.display()
        ))
    })?;
    // A secret written with `echo` ends in a line end that is not part of it.
    let secret = secret.trim_ascii_end();
    header
        .verify_hmac(secret)
        .map_err(|err| SessionError::Identity(format!("HMAC refused: {err}")))?;
    let announced = header
        .host_key
        .as_deref()
        .map(PublicKey::from_openssh)
        .transpose()
        .map_err(|err| SessionError::Identity(format!("HOST-KEY does not parse: {err}")))?
        .ok_or_else(|| SessionError::Identity("the header has no HOST-KEY".into()))?;
    match &device.host_key {
        Some(configured) if configured.key_data() != announced.key_data() => {
            Err(SessionError::Identity(format!(
                "the header's HOST-KEY {} is not the configured host_key {}",
                announced.fingerprint(HashAlg::Sha256),
                configured.fingerprint(HashAlg::Sha256)
            )))
        }
        _ => Ok(announced),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::netconf_callhome::RawCallhome;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq0lSMVyBfcEyq7NqF1Uq9Ah3m3EAOhXUyb2sBNR5xZ";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5dGVz";

    fn device(extra: &str) -> CallhomeDevice {
        let text = format!(
            "name = \"ch\"\naddress = \"127.0.0.1:4334\"\n[[device]]\nname = \"r1\"\nuser = \"audit\"\nprivate_key = \"/k\"\n{extra}"
        );
        let raw: RawCallhome = toml::from_str(&text).unwrap();
        raw.resolve().unwrap().devices.remove(0)
    }

    fn reason(result: Result<PublicKey, SessionError>) -> String {
        match result {
            Err(SessionError::Identity(reason)) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_trusted_key_is_the_configured_one_or_the_announced_one_under_a_good_hmac() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let with_secret = format!("secret_file = \"{}\"\n", secret.display());
        let signed = |key: &str, secret: &[u8]| DeviceConnInfo::with_host_key("r1", key, secret);
        let key = PublicKey::from_openssh(KEY).unwrap();

        // No secret: the header's HOST-KEY is ignored, the configured key counts.
        let pinned = device(&format!("host_key = \"{KEY}\"\n"));
        let got = expected_key(&pinned, &signed(OTHER, b"any")).await.unwrap();
        assert_eq!(got.key_data(), key.key_data());

        // A secret only: the announced key, once the HMAC verifies (the
        // file's line end is not part of the secret).
        let announced = device(&with_secret);
        let got = expected_key(&announced, &signed(KEY, b"s3cret"))
            .await
            .unwrap();
        assert_eq!(got.key_data(), key.key_data());
        assert!(reason(expected_key(&announced, &signed(KEY, b"wrong")).await).contains("HMAC"));
        assert!(
            reason(expected_key(&announced, &DeviceConnInfo::new("r1")).await)
                .contains("no HOST-KEY")
        );

        // Both: the announced key must be the configured one.
        let both = device(&format!("host_key = \"{KEY}\"\n{with_secret}"));
        assert!(expected_key(&both, &signed(KEY, b"s3cret")).await.is_ok());
        assert!(reason(expected_key(&both, &signed(OTHER, b"s3cret")).await)
            .contains("is not the configured host_key"));

        // An unreadable secret file says which.
        let missing = device("secret_file = \"/nonexistent/secret\"\n");
        assert!(
            reason(expected_key(&missing, &signed(KEY, b"s3cret")).await)
                .contains("/nonexistent/secret")
        );
    }
}
