//! The listeners: UDP (RFC 5426), TCP (RFC 6587) and TLS (RFC 5425).
//!
//! Each listener runs in its own task and stops when its cancellation token
//! fires; its connection tasks are tracked so that a stop waits for them to
//! hand over what they have read.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use netaudit_event::Severity;
use netaudit_syslog::framing::{FramingError, SyslogStreamCodec};
use netaudit_syslog::ParseOptions;
use netaudit_syslog::RawBackedEvent;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::now_ns;
use crate::config::{ListenerConfig, ListenerTransport, StreamConfig};
use crate::pipeline::batcher::BatchHandle;
use crate::pipeline::ingest::Ingest;
use crate::self_events::{internal_event, unparsed_event};
use crate::serve::stops::Stops;
use crate::serve::{relp, tls};

/// The first byte of a TLS record carrying a handshake (a ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// How often a UDP listener reports its drops as a stored internal event.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Read buffer of a stream connection; grows for larger frames.
const STREAM_READ_BUFFER: usize = 64 * 1024;

/// A read that brought less than this is followed by the listener's
/// `read_pause_ms` before the next read, so that a busy sender's messages
/// are taken a few hundred at a time instead of a few per wake-up (a sender
/// writing one message per system call otherwise costs netaudit a wake-up,
/// a poll and a read for every few messages). Adds at most the pause to the
/// latency; the kernel buffers meanwhile.
const SMALL_READ: usize = STREAM_READ_BUFFER / 4;

/// A running listener.
pub(crate) struct RunningListener {
    pub config: ListenerConfig,
    cancel: CancellationToken,
    /// Fired on SIGTERM: stop accepting, read open connections until they
    /// close or go quiet (`shutdown_quiet_ms`).
    draining: CancellationToken,
    tasks: TaskTracker,
    /// TLS listeners: the acceptor new connections use, replaceable so that
    /// SIGHUP picks up renewed certificate files without a restart.
    acceptor: Option<SharedAcceptor>,
}

/// The TLS acceptor of a listener, swapped in place on reload.
type SharedAcceptor = Arc<std::sync::RwLock<TlsAcceptor>>;

/// What the accept loop of a TLS listener needs beyond a TCP one.
struct TlsSetup {
    acceptor: SharedAcceptor,
    handshake_timeout: Duration,
}

impl RunningListener {
    /// Binds the socket (errors here are reported to the caller) and starts
    /// serving in the background.
    /// RELP listeners hand their messages to `writer` (the store writer) as
    /// acknowledged batches, to answer each only once it is stored.
    pub(crate) async fn start(
        config: ListenerConfig,
        ingest: Ingest,
        writer: mpsc::WeakSender<BatchHandle>,
    ) -> anyhow::Result<RunningListener> {
        let cancel = CancellationToken::new();
        let draining = CancellationToken::new();
        let tasks = TaskTracker::new();
        let name = config.display_name();
        let mut shared_acceptor = None;
        match &config.transport {
            ListenerTransport::Udp { recv_buffer_bytes } => {
                let socket = bind_udp(config.address, *recv_buffer_bytes).map_err(|e| {
                    anyhow::anyhow!("listener {name}: cannot bind UDP {}: {e}", config.address)
                })?;
                let dropped = Arc::new(AtomicU64::new(0));
                tasks.spawn(run_udp(
                    socket,
                    config.clone(),
                    ingest.clone(),
                    cancel.clone(),
                    dropped.clone(),
                ));
                tasks.spawn(report_udp_drops(name, ingest, cancel.clone(), dropped));
            }
            ListenerTransport::Tcp(stream) | ListenerTransport::Tls { stream, .. } => {
                let tls = match &config.transport {
                    ListenerTransport::Tls {
                        tls: tls_config,
                        handshake_timeout,
                        ..
                    } => Some(TlsSetup {
                        acceptor: Arc::new(std::sync::RwLock::new(
                            tls::acceptor(tls_config)
                                .map_err(|e| anyhow::anyhow!("listener {name}: {e}"))?,
                        )),
                        handshake_timeout: *handshake_timeout,
                    }),
                    _ => None,
                };
                shared_acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());
                let listener = TcpListener::bind(config.address).await.map_err(|e| {
                    anyhow::anyhow!("listener {name}: cannot bind TCP {}: {e}", config.address)
                })?;
                tasks.spawn(run_stream_listener(
                    listener,
                    config.clone(),
                    stream.clone(),
                    tls,
                    (ingest, writer),
                    Stops {
                        cancel: cancel.clone(),
                        draining: draining.clone(),
                    },
                    tasks.clone(),
                ));
            }
        }
        tracing::info!(listener = %config.display_name(), protocol = %config.protocol(), address = %config.address, "listening");
        Ok(RunningListener {
            config,
            cancel,
            draining,
            tasks,
            acceptor: shared_acceptor,
        })
    }

    /// TLS listeners: re-reads the certificate, key and CA files for new
    /// connections (open ones keep their session). `Ok(false)` for other
    /// listeners; on error the running acceptor is kept.
    pub(crate) fn reload_tls(&self) -> anyhow::Result<bool> {
        let (Some(shared), Some(tls_config)) = (&self.acceptor, self.config.tls()) else {
            return Ok(false);
        };
        let fresh = tls::acceptor(tls_config)
            .map_err(|e| anyhow::anyhow!("listener {}: {e}", self.config.display_name()))?;
        *shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        Ok(true)
    }

    /// Stops accepting and reading; returns once every connection task has
    /// handed over what it read.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!(listener = %self.config.display_name(), "listener stopped");
    }

    /// SIGTERM: stops accepting, then reads every open connection until its
    /// peer closes it or nothing arrives for `shutdown_quiet_ms`, so that
    /// what senders wrote before the signal is stored. Bounded by
    /// `shutdown_drain_secs`; connections still open then are closed (and
    /// counted in the log). UDP listeners stop at once.
    pub(crate) async fn drain(self) {
        let Some(stream) = self.config.stream() else {
            return self.stop().await;
        };
        let name = self.config.display_name();
        let limit = stream.shutdown_drain;
        self.draining.cancel();
        self.tasks.close();
        if tokio::time::timeout(limit, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                listener = %name,
                connections = self.tasks.len(),
                shutdown_drain_secs = limit.as_secs(),
                "shutdown: connections still sending after shutdown_drain_secs; closed"
            );
            self.cancel.cancel();
            self.tasks.wait().await;
        }
        tracing::info!(listener = %name, "listener stopped: open connections read to their end");
    }
}

fn bind_udp(address: SocketAddr, recv_buffer_bytes: usize) -> io::Result<UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if socket.set_recv_buffer_size(recv_buffer_bytes).is_ok() {
        // Linux halves nothing here but caps at net.core.rmem_max; as root,
        // SO_RCVBUFFORCE goes past the cap.
        let got = socket.recv_buffer_size().unwrap_or(0);
        if got < recv_buffer_bytes {
            force_recv_buffer(&socket, recv_buffer_bytes);
        }
    }
    let got = socket.recv_buffer_size().unwrap_or(0);
    if got < recv_buffer_bytes {
        tracing::warn!(
            %address,
            requested = recv_buffer_bytes,
            granted = got,
            "UDP receive buffer smaller than configured (raise net.core.rmem_max)"
        );
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// SO_RCVBUFFORCE (Linux, needs CAP_NET_ADMIN); failure is reported by the caller.
#[cfg(target_os = "linux")]
fn force_recv_buffer(socket: &socket2::Socket, bytes: usize) {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt on a valid fd with a pointer to a c_int and its size.
    #[allow(unsafe_code)]
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn force_recv_buffer(_socket: &socket2::Socket, _bytes: usize) {}

fn parse_options(received_ns: i64) -> ParseOptions {
    ParseOptions::with_reference_time(received_ns.div_euclid(1_000_000_000))
}

/// Reads datagrams as long as the socket has some, one chunk at a time, and
/// never waits for the pipeline: a chunk that finds it full is dropped.
async fn run_udp(
    socket: UdpSocket,
    config: ListenerConfig,
    ingest: Ingest,
    cancel: CancellationToken,
    dropped: Arc<AtomicU64>,
) {
    let name = config.display_name();
    let max = config.max_message_bytes;
    // The largest UDP payload, so that an oversized datagram is seen whole.
    let mut buf = vec![0u8; 65_536];
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            ready = socket.readable() => {
                if let Err(err) = ready {
                    tracing::error!(listener = %name, error = %err, "UDP socket failed");
                    break;
                }
            }
        }
        let received_ns = now_ns();
        let opts = parse_options(received_ns);
        let mut chunk = Vec::with_capacity(64);
        while chunk.len() < ingest.chunk_max_events {
            match socket.try_recv_from(&mut buf) {
                Ok((len, peer)) => {
                    let datagram = buf.get(..len).unwrap_or_default();
                    if len > max {
                        ingest.metrics.received.fetch_add(1, Relaxed);
                        ingest.metrics.oversized.fetch_add(1, Relaxed);
                        ingest.metrics.parse_errors.fetch_add(1, Relaxed);
                        tracing::warn!(listener = %name, %peer, len, max, "datagram longer than max_message_bytes; cut");
                        let error = format!(
                            "datagram of {len} bytes is longer than max_message_bytes = {max}; cut"
                        );
                        match ingest.on_parse_error {
                            crate::config::OnParseError::Store => chunk.push(
                                unparsed_event(
                                    datagram.get(..max).unwrap_or(datagram),
                                    received_ns,
                                    error,
                                )
                                .into(),
                            ),
                            crate::config::OnParseError::Drop => {
                                ingest.metrics.dropped.fetch_add(1, Relaxed);
                            }
                        }
                    } else if let Some(event) = ingest.event(datagram, received_ns, &opts) {
                        chunk.push(event);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) => {
                    // ICMP errors and the like: nothing to do but go on.
                    tracing::debug!(listener = %name, error = %err, "UDP receive error");
                    break;
                }
            }
        }
        let lost = ingest.try_send(chunk);
        if lost > 0 {
            dropped.fetch_add(lost, Relaxed);
        }
    }
}

/// Every few seconds, stores an internal event saying how many datagrams
/// the listener had to drop since the last report.
async fn report_udp_drops(
    name: String,
    ingest: Ingest,
    cancel: CancellationToken,
    dropped: Arc<AtomicU64>,
) {
    let mut reported = 0u64;
    let mut ticker = tokio::time::interval(DROP_REPORT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            () = cancel.cancelled() => true,
            _ = ticker.tick() => false,
        };
        let total = dropped.load(Relaxed);
        if total > reported {
            let since = total - reported;
            reported = total;
            tracing::warn!(listener = %name, dropped = since, total, "UDP datagrams dropped: pipeline full");
            let event = internal_event(
                "NETAUDIT_UDP_DROPPED",
                Severity::Warning,
                format!("listener {name}: {since} UDP datagrams dropped because the pipeline was full ({total} since start)"),
            );
            if ingest.send(vec![event.into()]).await {
                ingest.global.internal_events.fetch_add(1, Relaxed);
            }
        }
        if stopping {
            break;
        }
    }
}

async fn run_stream_listener(
    listener: TcpListener,
    config: ListenerConfig,
    stream_config: StreamConfig,
    tls: Option<TlsSetup>,
    (ingest, writer): (Ingest, mpsc::WeakSender<BatchHandle>),
    stops: Stops,
    tasks: TaskTracker,
) {
    let name: Arc<str> = config.display_name().into();
    let slots = Arc::new(Semaphore::new(stream_config.max_connections));
    let config = Arc::new(config);
    loop {
        let accepted = if stops.draining.is_cancelled() {
            // SIGTERM: a connection the kernel completed before it may hold
            // everything its sender wrote (and closed): take in the backlog
            // without waiting, then stop accepting.
            if stops.cancel.is_cancelled() {
                break;
            }
            match accept_waiting(&listener) {
                Some(Ok(pair)) => Ok(pair),
                Some(Err(_)) | None => break,
            }
        } else {
            tokio::select! {
                biased;
                () = stops.cancel.cancelled() => break,
                () = stops.draining.cancelled() => continue,
                accepted = listener.accept() => accepted,
            }
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // EMFILE and friends: wait a little instead of spinning.
                tracing::warn!(listener = %name, error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            ingest.metrics.connections_refused.fetch_add(1, Relaxed);
            tracing::warn!(
                listener = %name,
                %peer,
                max_connections = stream_config.max_connections,
                "connection refused: max_connections reached"
            );
            drop(stream);
            continue;
        };
        ingest.metrics.connections_accepted.fetch_add(1, Relaxed);
        ingest.metrics.connections_active.fetch_add(1, Relaxed);
        let ingest = ingest.clone();
        let writer = writer.clone();
        let stops = stops.clone();
        let acceptor = tls.as_ref().map(|tls| {
            let acceptor = tls
                .acceptor
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            (acceptor, tls.handshake_timeout)
        });
        let name = name.clone();
        let config = config.clone();
        tasks.spawn(async move {
            let _permit = permit;
            tracing::debug!(listener = %name, %peer, "connection accepted");
            match acceptor {
                None if config.relp => {
                    relp::serve(stream, peer, &name, &config, &ingest, &writer, &stops).await
                }
                None => serve_stream(stream, peer, &name, &config, &ingest, &stops, true).await,
                Some((acceptor, handshake_timeout)) => {
                    let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
                    let handshake = tokio::select! {
                        () = stops.cancel.cancelled() => None,
                        result = handshake => Some(result),
                    };
                    match handshake {
                        None => {}
                        Some(Ok(Ok(tls_stream))) if config.relp => {
                            relp::serve(tls_stream, peer, &name, &config, &ingest, &writer, &stops)
                                .await;
                        }
                        Some(Ok(Ok(tls_stream))) => {
                            serve_stream(tls_stream, peer, &name, &config, &ingest, &stops, false).await;
                        }
                        Some(Ok(Err(err))) => {
                            ingest.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                            tracing::warn!(listener = %name, %peer, error = %err, "TLS handshake failed; connection closed");
                        }
                        Some(Err(_elapsed)) => {
                            ingest.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
                            tracing::warn!(
                                listener = %name,
                                %peer,
                                timeout_secs = handshake_timeout.as_secs(),
                                "TLS handshake timed out; connection closed"
                            );
                        }
                    }
                }
            }
            ingest.metrics.connections_active.fetch_sub(1, Relaxed);
        });
    }
    tracing::debug!(listener = %name, "accept loop stopped");
}

/// A connection waiting in `listener`'s backlog, taken without waiting: a
/// direct accept(2), since the reactor may not have seen it arrive yet.
/// `None` when the backlog is empty.
fn accept_waiting(listener: &TcpListener) -> Option<io::Result<(TcpStream, SocketAddr)>> {
    let (socket, peer) = match socket2::SockRef::from(listener).accept() {
        Ok(accepted) => accepted,
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => return None,
        Err(err) => return Some(Err(err)),
    };
    let taken = (|| {
        let peer = peer
            .as_socket()
            .ok_or_else(|| io::Error::other("accepted a connection without an IP peer"))?;
        let stream = std::net::TcpStream::from(socket);
        stream.set_nonblocking(true)?;
        Ok((TcpStream::from_std(stream)?, peer))
    })();
    Some(taken)
}

/// Why a stream connection ended.
enum End {
    Eof,
    Idle,
    /// Shutting down: nothing arrived for `shutdown_quiet_ms`.
    Quiet,
    Stopped,
    Framing,
    ReadError(io::Error),
    PipelineClosed,
}

/// Hands over the events gathered so far and leaves room for as many:
/// growing a chunk from nothing again would move every event several times.
fn drain_chunk(chunk: &mut Vec<RawBackedEvent>) -> Vec<RawBackedEvent> {
    if chunk.is_empty() {
        return Vec::new();
    }
    let capacity = chunk.capacity();
    std::mem::replace(chunk, Vec::with_capacity(capacity))
}

/// Reads one TCP or TLS stream: frames, parses, and hands over each read's
/// events before reading again, so that a full pipeline stops the reading.
async fn serve_stream<R: AsyncRead + AsyncWrite + Unpin>(
    mut reader: R,
    peer: SocketAddr,
    name: &str,
    config: &ListenerConfig,
    ingest: &Ingest,
    stops: &Stops,
    plain_tcp: bool,
) {
    let cancel = &stops.cancel;
    let draining = &stops.draining;
    let quiet = config
        .stream()
        .map_or(Duration::from_millis(500), |s| s.shutdown_quiet);
    let mut codec = SyslogStreamCodec::new(config.max_message_bytes);
    let mut buf = BytesMut::with_capacity(STREAM_READ_BUFFER);
    let idle = config.idle_timeout();
    let pause = config.read_pause();
    let mut chunk = Vec::with_capacity(ingest.chunk_max_events.min(1024));
    let end = 'conn: loop {
        if buf.capacity() - buf.len() < STREAM_READ_BUFFER / 4 {
            buf.reserve(STREAM_READ_BUFFER);
        }
        // Once shutting down, a read waits only `shutdown_quiet_ms`.
        let drain_now = draining.is_cancelled();
        let wait = if drain_now { Some(quiet) } else { idle };
        let read = async {
            match wait {
                Some(idle) => tokio::time::timeout(idle, reader.read_buf(&mut buf))
                    .await
                    .ok(),
                None => Some(reader.read_buf(&mut buf).await),
            }
        };
        let read = tokio::select! {
            biased;
            () = cancel.cancelled() => break End::Stopped,
            // The signal came while waiting: wait again, with the quiet limit.
            () = draining.cancelled(), if !drain_now => continue,
            read = read => read,
        };
        let (eof, small) = match read {
            None if drain_now => break End::Quiet,
            None => break End::Idle,
            Some(Ok(0)) => (true, false),
            Some(Ok(n)) => (false, n < SMALL_READ),
            Some(Err(err)) => break End::ReadError(err),
        };
        let received_ns = now_ns();
        let opts = parse_options(received_ns);
        loop {
            let item = if eof {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            match item {
                Ok(Some(frame)) => {
                    if let Some(event) = ingest.event(&frame, received_ns, &opts) {
                        chunk.push(event);
                        if chunk.len() >= ingest.chunk_max_events
                            && !ingest.send(drain_chunk(&mut chunk)).await
                        {
                            break 'conn End::PipelineClosed;
                        }
                    }
                }
                Ok(None) => break,
                Err(err) if err.is_recoverable() => {
                    ingest.metrics.framing_errors.fetch_add(1, Relaxed);
                    tracing::warn!(listener = %name, %peer, error = %err, "frame skipped");
                }
                Err(err) => {
                    ingest.metrics.framing_errors.fetch_add(1, Relaxed);
                    if plain_tcp
                        && matches!(
                            err,
                            FramingError::UnrecognisedFraming {
                                byte: TLS_HANDSHAKE_RECORD,
                                ..
                            }
                        )
                    {
                        ingest.metrics.tls_on_plain_tcp.fetch_add(1, Relaxed);
                        tracing::warn!(listener = %name, %peer, "TLS handshake on a plain TCP listener; connection closed");
                    } else {
                        tracing::warn!(listener = %name, %peer, error = %err, "framing error; connection closed");
                    }
                    if !ingest.send(drain_chunk(&mut chunk)).await {
                        break 'conn End::PipelineClosed;
                    }
                    break 'conn End::Framing;
                }
            }
        }
        if !ingest.send(drain_chunk(&mut chunk)).await {
            break End::PipelineClosed;
        }
        if eof {
            break End::Eof;
        }
        if let (true, Some(pause)) = (small, pause) {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break End::Stopped,
                () = draining.cancelled() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    };
    // A clean close (TLS: close_notify); bounded, the peer may be gone.
    let _ = tokio::time::timeout(Duration::from_secs(1), reader.shutdown()).await;
    match end {
        End::Eof => tracing::debug!(listener = %name, %peer, "connection closed by peer"),
        End::Idle => {
            ingest.metrics.idle_timeouts.fetch_add(1, Relaxed);
            tracing::info!(
                listener = %name,
                %peer,
                idle_timeout_secs = idle.map_or(0, |d| d.as_secs()),
                "idle connection closed"
            );
        }
        End::Quiet => tracing::debug!(
            listener = %name,
            %peer,
            shutdown_quiet_ms = quiet.as_millis() as u64,
            "connection closed at shutdown: nothing more arrived"
        ),
        End::Stopped => {
            tracing::debug!(listener = %name, %peer, "connection closed: listener stopping")
        }
        End::Framing => {}
        End::ReadError(err) => {
            tracing::info!(listener = %name, %peer, error = %err, "connection read failed")
        }
        End::PipelineClosed => {
            tracing::warn!(listener = %name, %peer, "pipeline closed; connection dropped")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::config::{ListenerConfig, ListenerTransport, OnParseError, StreamConfig};
    use crate::metrics::{ListenerMetrics, Metrics};
    use crate::pipeline::origin::listener_origin;

    /// Connections the kernel completed while the accept loop had not taken
    /// them yet when SIGTERM came: what their senders wrote, then closed,
    /// is read and handed on, not dropped with the backlog.
    #[tokio::test(flavor = "current_thread")]
    async fn drain_reads_the_connections_still_in_the_backlog() {
        const CONNECTIONS: usize = 3;
        const LINES: usize = 100;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let config = ListenerConfig {
            name: Some("drain".into()),
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            max_message_bytes: 8192,
            on_parse_error: OnParseError::Store,
            transport: ListenerTransport::Tcp(StreamConfig::default()),
            relp: false,
        };
        let (tx, mut rx) = mpsc::channel(10_000);
        let ingest = Ingest {
            tx,
            origin: listener_origin("drain"),
            metrics: Arc::new(ListenerMetrics::default()),
            global: Arc::new(Metrics::new()),
            on_parse_error: OnParseError::Store,
            chunk_max_events: 64,
        };
        let (writer, _writer_rx) = mpsc::channel(1);
        let running = RunningListener::start(config, ingest, writer.downgrade())
            .await
            .expect("listener starts");
        // The runtime has one thread and this test holds it: the accept loop
        // cannot run before the drain, so every connection waits in the
        // kernel's backlog, its data written and its write side closed.
        for c in 0..CONNECTIONS {
            let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            for i in 0..LINES {
                writeln!(
                    stream,
                    "<13>1 2026-12-07T00:00:00Z h app - - - conn {c} line {i}"
                )
                .expect("write");
            }
            stream
                .shutdown(std::net::Shutdown::Write)
                .expect("shutdown");
        }
        running.drain().await;
        let mut received = 0;
        while let Ok(chunk) = rx.try_recv() {
            received += chunk.events.len();
        }
        assert_eq!(received, CONNECTIONS * LINES);
    }
}
