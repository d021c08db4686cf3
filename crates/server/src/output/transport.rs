//! Connections of a syslog output: UDP (RFC 5426), TCP (RFC 6587) and TLS
//! (RFC 5425), with timeouts on connect and on the TLS handshake, and a view
//! of how much of what was written the peer's TCP has acknowledged.
//!
//! TLS never falls back to plain TCP: a handshake or verification failure is
//! a failed connection attempt like any other, retried with backoff.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;

use crate::config::{OutputTlsConfig, SyslogOutputConfig, Transport};
use crate::pem::{read_certs, read_key, PemError};

/// Largest UDP payload over IPv4 (65,535 - 8 - 20): a longer message cannot
/// be sent as one datagram and is skipped (counted as an error).
pub(crate) const UDP_MAX_PAYLOAD: usize = 65_507;

/// Why a connection could not be made or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TransportError {
    #[error("address {address}: cannot resolve: {source}")]
    Resolve {
        address: String,
        source: std::io::Error,
    },
    #[error("address {address}: resolves to no address")]
    NoAddress { address: String },
    #[error("connect to {address}: {source}")]
    Connect {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("connect to {address}: no answer within {timeout:?} (connect_timeout_secs)")]
    ConnectTimeout {
        address: SocketAddr,
        timeout: Duration,
    },
    #[error("TLS handshake with {address}: {source}")]
    Handshake {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "TLS handshake with {address}: not finished within {timeout:?} (handshake_timeout_secs)"
    )]
    HandshakeTimeout {
        address: SocketAddr,
        timeout: Duration,
    },
    #[error("tls.{key} {path}: {reason}")]
    TlsFile {
        key: &'static str,
        path: String,
        reason: String,
    },
    #[error(transparent)]
    Pem(#[from] PemError),
    /// `transport = "tls"` without its `[output.syslog.tls]` table.
    #[error("transport = \"tls\" needs a [output.syslog.tls] table")]
    TlsTableMissing,
    /// The name the server certificate is checked against is no DNS name
    /// or IP address.
    #[error("tls.server_name {name:?} (default: the host of address): not a DNS name or IP address: {source}")]
    TlsServerName {
        name: String,
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// The TLS library refused the protocol versions it was asked for.
    #[error("TLS client setup: protocol versions 1.2 and 1.3 refused: {source}")]
    TlsProtocols { source: rustls::Error },
    /// The client certificate and key load but do not make a client
    /// identity (e.g. the key is not the certificate's).
    #[error("tls.client_cert {cert} and tls.client_key {key}: not a usable certificate and key pair: {source}")]
    TlsClientIdentity {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("send to {address}: {source}")]
    Send {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("{address} closed the connection")]
    PeerClosed { address: SocketAddr },
}

/// Where and how one output connects.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub address: String,
    pub transport: Transport,
    pub tls: Option<OutputTlsConfig>,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
}

impl Target {
    pub(crate) fn from_config(config: &SyslogOutputConfig) -> Target {
        Target {
            address: config.address.clone(),
            transport: config.transport,
            tls: config.tls.clone(),
            connect_timeout: Duration::from_secs(config.connect_timeout_secs.max(1)),
            handshake_timeout: Duration::from_secs(config.handshake_timeout_secs.max(1)),
        }
    }

    /// The host part of `HOST:PORT` (without IPv6 brackets).
    fn host(&self) -> &str {
        let host = self
            .address
            .rsplit_once(':')
            .map_or(self.address.as_str(), |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    async fn resolve(&self) -> Result<SocketAddr, TransportError> {
        let mut addresses = tokio::net::lookup_host(self.address.as_str())
            .await
            .map_err(|source| TransportError::Resolve {
                address: self.address.clone(),
                source,
            })?;
        addresses.next().ok_or_else(|| TransportError::NoAddress {
            address: self.address.clone(),
        })
    }

    /// One connection attempt, bounded by the connect and handshake timeouts.
    pub(crate) async fn connect(&self) -> Result<Connection, TransportError> {
        let address = self.resolve().await?;
        if self.transport == Transport::Udp {
            let local: SocketAddr = if address.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let socket = UdpSocket::bind(local)
                .await
                .map_err(|source| TransportError::Connect { address, source })?;
            socket
                .connect(address)
                .await
                .map_err(|source| TransportError::Connect { address, source })?;
            return Ok(Connection {
                address,
                kind: Kind::Udp(socket),
            });
        }
        // Build the TLS configuration before connecting: a bad CA file is
        // reported as such, and nothing is ever sent in plain text.
        let tls = match (&self.transport, &self.tls) {
            (Transport::Tls | Transport::Relp, Some(tls)) => {
                Some((connector(tls)?, self.server_name(tls)?))
            }
            (Transport::Tls, None) => return Err(TransportError::TlsTableMissing),
            _ => None,
        };
        let tcp =
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
                Ok(Ok(tcp)) => tcp,
                Ok(Err(source)) => return Err(TransportError::Connect { address, source }),
                Err(_) => {
                    return Err(TransportError::ConnectTimeout {
                        address,
                        timeout: self.connect_timeout,
                    })
                }
            };
        let _ = tcp.set_nodelay(true);
        let fd = tcp.as_raw_fd();
        let written = Arc::new(AtomicU64::new(0));
        let counting = CountingStream {
            inner: tcp,
            written: written.clone(),
        };
        let stream: Box<dyn Stream> = match tls {
            None => Box::new(counting),
            Some((connector, name)) => {
                match tokio::time::timeout(
                    self.handshake_timeout,
                    connector.connect(name, counting),
                )
                .await
                {
                    Ok(Ok(tls)) => Box::new(tls),
                    Ok(Err(source)) => return Err(TransportError::Handshake { address, source }),
                    Err(_) => {
                        return Err(TransportError::HandshakeTimeout {
                            address,
                            timeout: self.handshake_timeout,
                        })
                    }
                }
            }
        };
        Ok(Connection {
            address,
            kind: Kind::Stream {
                stream,
                fd,
                written,
                // The handshake's bytes count as written (and are acknowledged
                // like the rest); application data starts after them.
            },
        })
    }

    fn server_name(&self, tls: &OutputTlsConfig) -> Result<ServerName<'static>, TransportError> {
        let name = tls
            .server_name
            .clone()
            .unwrap_or_else(|| self.host().to_owned());
        ServerName::try_from(name.clone())
            .map_err(|source| TransportError::TlsServerName { name, source })
    }
}

/// The client side of RFC 5425: the server certificate must chain to `ca`
/// and name the server; optional client certificate. Read at each
/// connection, so replaced certificate files take effect at the next one.
fn connector(tls: &OutputTlsConfig) -> Result<TlsConnector, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in read_certs("ca", &tls.ca)? {
        roots.add(cert).map_err(|e| TransportError::TlsFile {
            key: "ca",
            path: tls.ca.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TransportError::TlsProtocols { source })?
        .with_root_certificates(roots);
    let config = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                read_certs("client_cert", cert)?,
                read_key("client_key", key)?,
            )
            .map_err(|source| TransportError::TlsClientIdentity {
                cert: cert.clone(),
                key: key.clone(),
                source,
            })?,
        _ => builder.with_no_client_auth(),
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A byte stream to the peer (plain TCP or TLS over TCP).
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// TCP with a count of the bytes the kernel accepted, so that what the peer
/// acknowledged is `written - unsent` (SIOCOUTQ).
struct CountingStream {
    inner: TcpStream,
    written: Arc<AtomicU64>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            self.written.fetch_add(*n as u64, Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

enum Kind {
    Udp(UdpSocket),
    Stream {
        stream: Box<dyn Stream>,
        fd: RawFd,
        written: Arc<AtomicU64>,
    },
}

/// An open connection of a syslog output.
pub(crate) struct Connection {
    pub address: SocketAddr,
    kind: Kind,
}

impl Connection {
    pub(crate) fn is_datagram(&self) -> bool {
        matches!(self.kind, Kind::Udp(_))
    }

    /// Sends one datagram (UDP only).
    pub(crate) async fn send_datagram(&mut self, message: &[u8]) -> Result<(), TransportError> {
        match &self.kind {
            Kind::Udp(socket) => {
                socket
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|source| TransportError::Send {
                        address: self.address,
                        source,
                    })
            }
            Kind::Stream { .. } => Err(TransportError::Send {
                address: self.address,
                source: std::io::Error::other("not a datagram connection"),
            }),
        }
    }

    /// Writes `bytes` and flushes them to the kernel (TCP, TLS); returns the
    /// stream offset (bytes given to the kernel on this connection) at which
    /// they end.
    pub(crate) async fn write_stream(&mut self, bytes: &[u8]) -> Result<u64, TransportError> {
        let address = self.address;
        match &mut self.kind {
            Kind::Stream {
                stream, written, ..
            } => {
                let send = |source| TransportError::Send { address, source };
                stream.write_all(bytes).await.map_err(send)?;
                stream.flush().await.map_err(send)?;
                Ok(written.load(Relaxed))
            }
            Kind::Udp(_) => Err(TransportError::Send {
                address,
                source: std::io::Error::other("not a stream connection"),
            }),
        }
    }

    /// Bytes of this connection the peer's TCP has acknowledged (everything,
    /// for UDP: there is nothing to wait for).
    pub(crate) fn acknowledged(&self) -> u64 {
        match &self.kind {
            Kind::Udp(_) => u64::MAX,
            Kind::Stream { fd, written, .. } => {
                let total = written.load(Relaxed);
                let mut unsent: libc::c_int = 0;
                // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int for a TCP socket
                // that this connection owns and keeps open.
                #[allow(unsafe_code)]
                let rc = unsafe { libc::ioctl(*fd, libc::TIOCOUTQ, &mut unsent) };
                if rc != 0 || unsent < 0 {
                    return 0;
                }
                total.saturating_sub(unsent as u64)
            }
        }
    }

    /// Checks without waiting whether the peer closed or reset the
    /// connection. A syslog receiver sends nothing, so any end-of-stream or
    /// error means the connection is gone; stray bytes are read and ignored
    /// (TLS post-handshake messages are consumed by the TLS layer).
    pub(crate) fn check_open(&mut self) -> Result<(), TransportError> {
        let address = self.address;
        let Kind::Stream { stream, .. } = &mut self.kind else {
            return Ok(());
        };
        let mut scratch = [0u8; 512];
        for _ in 0..16 {
            match stream.read(&mut scratch).now_or_never() {
                None => return Ok(()),
                Some(Ok(0)) => return Err(TransportError::PeerClosed { address }),
                Some(Ok(_)) => continue,
                Some(Err(source)) => return Err(TransportError::Send { address, source }),
            }
        }
        Ok(())
    }

    /// The byte stream (TCP or TLS) for protocols that read answers
    /// (RELP); `None` for UDP.
    pub(crate) fn stream_mut(&mut self) -> Option<&mut dyn Stream> {
        match &mut self.kind {
            Kind::Stream { stream, .. } => Some(stream.as_mut()),
            Kind::Udp(_) => None,
        }
    }

    /// Orderly close (TLS close_notify, TCP FIN), bounded by `limit`.
    pub(crate) async fn close(mut self, limit: Duration) {
        if let Kind::Stream { stream, .. } = &mut self.kind {
            let _ = tokio::time::timeout(limit, stream.shutdown()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(address: &str, transport: Transport) -> Target {
        Target {
            address: address.into(),
            transport,
            tls: None,
            connect_timeout: Duration::from_secs(2),
            handshake_timeout: Duration::from_millis(300),
        }
    }

    #[test]
    fn host_of_address() {
        assert_eq!(target("127.0.0.1:514", Transport::Tcp).host(), "127.0.0.1");
        assert_eq!(target("[::1]:6514", Transport::Tcp).host(), "::1");
        assert_eq!(
            target("siem.example:6514", Transport::Tcp).host(),
            "siem.example"
        );
    }

    #[tokio::test]
    async fn tcp_bytes_are_acknowledged_and_a_close_is_seen() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let mut conn = target(&address, Transport::Tcp).connect().await.unwrap();
        let (mut peer, _) = listener.accept().await.unwrap();
        let end = conn.write_stream(b"5 hello").await.unwrap();
        assert_eq!(end, 7);
        let mut got = [0u8; 7];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"5 hello");
        // Bounded wait for the ACK.
        for _ in 0..200 {
            if conn.acknowledged() >= end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(conn.acknowledged() >= end);
        assert!(conn.check_open().is_ok());
        drop(peer);
        let mut closed = false;
        for _ in 0..200 {
            if conn.check_open().is_err() {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(closed, "the peer's close was not seen");
    }

    #[tokio::test]
    async fn a_stalled_tls_handshake_times_out() {
        // A peer that accepts TCP and then says nothing.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        let mut stalled = target(&address, Transport::Tls);
        stalled.tls = Some(OutputTlsConfig {
            ca: dir.path().join("ca.pem"),
            server_name: Some("localhost".into()),
            client_cert: None,
            client_key: None,
        });
        let accept = tokio::spawn(async move { listener.accept().await });
        let started = std::time::Instant::now();
        let result = stalled.connect().await;
        assert!(
            matches!(result, Err(TransportError::HandshakeTimeout { .. })),
            "{:?}",
            result.err()
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(accept);
    }

    #[tokio::test]
    async fn a_missing_ca_file_is_named() {
        let mut tls = target("127.0.0.1:1", Transport::Tls);
        tls.tls = Some(OutputTlsConfig {
            ca: "/nonexistent/ca.pem".into(),
            server_name: None,
            client_cert: None,
            client_key: None,
        });
        let err = tls.connect().await.err().unwrap().to_string();
        assert!(err.contains("tls.ca /nonexistent/ca.pem"), "{err}");
    }

    #[tokio::test]
    async fn tls_setup_errors_name_what_failed_and_which_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let other_key = rcgen::KeyPair::generate().unwrap();
        let ca = dir.path().join("ca.pem");
        let client_cert = dir.path().join("client.crt");
        let client_key = dir.path().join("other.key");
        std::fs::write(&ca, cert.pem()).unwrap();
        std::fs::write(&client_cert, cert.pem()).unwrap();
        std::fs::write(&client_key, other_key.serialize_pem()).unwrap();
        let mut mismatched = target("127.0.0.1:1", Transport::Tls);
        mismatched.tls = Some(OutputTlsConfig {
            ca: ca.clone(),
            server_name: Some("localhost".into()),
            client_cert: Some(client_cert.clone()),
            client_key: Some(client_key.clone()),
        });
        let err = mismatched.connect().await.err().unwrap();
        assert!(
            matches!(&err, TransportError::TlsClientIdentity { cert, key, .. }
                if cert == &client_cert && key == &client_key),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "tls.client_cert {} and tls.client_key {}: not a usable certificate and key pair",
                client_cert.display(),
                client_key.display()
            )),
            "{text}"
        );

        let mut bad_name = target("127.0.0.1:1", Transport::Tls);
        bad_name.tls = Some(OutputTlsConfig {
            ca,
            server_name: Some("not a name".into()),
            client_cert: None,
            client_key: None,
        });
        let err = bad_name.connect().await.err().unwrap();
        assert!(
            matches!(&err, TransportError::TlsServerName { name, .. } if name == "not a name"),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("tls.server_name \"not a name\""),
            "{err}"
        );

        let no_table = target("127.0.0.1:1", Transport::Tls);
        let err = no_table.connect().await.err().unwrap();
        assert!(matches!(err, TransportError::TlsTableMissing), "{err:?}");
    }

    #[tokio::test]
    async fn udp_sends_datagrams() {
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let address = peer.local_addr().unwrap().to_string();
        let mut conn = target(&address, Transport::Udp).connect().await.unwrap();
        assert!(conn.is_datagram());
        conn.send_datagram(b"<13>hello").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), peer.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"<13>hello");
    }
}
