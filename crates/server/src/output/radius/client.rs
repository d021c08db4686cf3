//! The RADIUS accounting client (RFC 2866 over UDP).
//!
//! One UDP socket per server, in failover order. Each request holds one of
//! the socket's 256 identifiers until it is answered or given up, so at most
//! 256 are outstanding per socket (RFC 2865 section 3). A request is sent,
//! then sent again with the very same octets (same identifier and
//! authenticator) when no valid reply came within the timeout, which doubles
//! at each retransmission up to a ceiling. When a server has had all its
//! tries, the request is built again for the next server: its
//! Acct-Delay-Time has changed, so it is a new request with a new identifier
//! and authenticator (RFC 2866 section 5.2).
//!
//! Every datagram that arrives is checked: it must come from the server's
//! address, be at most 4096 octets, and verify as the Accounting-Response to
//! a request still waiting (code 5, that identifier, the length field, the
//! Response Authenticator under the shared secret). Anything else is counted
//! and discarded silently; the reason is kept to explain a failure.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use netaudit_radius::{
    encode_accounting_request, verify_accounting_response, Attribute, RadiusError, SharedSecret,
    MAX_PACKET_LEN,
};
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinHandle;

use crate::metrics::radius::RadiusMetrics;

/// Identifiers per socket: the one-octet Identifier field.
pub(crate) const MAX_OUTSTANDING: usize = 256;

/// One accounting server.
#[derive(Debug, Clone)]
pub(crate) struct ServerSpec {
    pub address: SocketAddr,
    pub secret: SharedSecret,
}

/// Timers of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientOptions {
    /// How long to wait for the first reply.
    pub timeout: Duration,
    /// The ceiling of the doubling timeout.
    pub max_timeout: Duration,
    /// Identical retransmissions to one server before failing over.
    pub retransmissions: u32,
    /// How long a server that did not answer is tried only after the others.
    pub dead_time: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(2),
            max_timeout: Duration::from_secs(16),
            retransmissions: 2,
            dead_time: Duration::from_secs(30),
        }
    }
}

/// Why one server did not acknowledge a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerFailure {
    /// No valid reply to any try.
    NoReply {
        address: SocketAddr,
        tries: u32,
        waited: Duration,
        /// How many datagrams were discarded while waiting, and the last reason.
        discarded: u32,
        last_discard: Option<String>,
    },
    /// The socket refused to send.
    Send { address: SocketAddr, error: String },
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerFailure::NoReply {
                address,
                tries,
                waited,
                discarded: 0,
                ..
            } => write!(
                f,
                "{address}: no reply to {tries} tries in {:.1}s (server down or unreachable, \
                 or the shared secret differs: FreeRADIUS drops such requests without answering)",
                waited.as_secs_f64()
            ),
            ServerFailure::NoReply {
                address,
                tries,
                waited,
                discarded,
                last_discard,
            } => write!(
                f,
                "{address}: no valid reply to {tries} tries in {:.1}s; {discarded} reply(ies) \
                 discarded, last because {}",
                waited.as_secs_f64(),
                last_discard.as_deref().unwrap_or("unknown")
            ),
            ServerFailure::Send { address, error } => write!(f, "{address}: cannot send: {error}"),
        }
    }
}

/// Errors of the accounting client.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("no RADIUS accounting server configured")]
    NoServers,
    #[error("cannot open a UDP socket for RADIUS server {address}: {source}")]
    Socket {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot encode the Accounting-Request: {0}")]
    Encode(#[from] RadiusError),
    #[error("no RADIUS accounting server acknowledged the request: {}", list(.0))]
    NotAcknowledged(Vec<ServerFailure>),
}

fn list(failures: &[ServerFailure]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A request a server acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acknowledged {
    pub server: SocketAddr,
    /// From the last (re)transmission to the reply.
    pub round_trip: Duration,
    /// Transmissions to that server (1 = no retransmission).
    pub tries: u32,
}

/// A request waiting for its reply.
struct Waiter {
    authenticator: [u8; 16],
    reply: Option<oneshot::Sender<()>>,
    discarded: u32,
    last_discard: Option<String>,
}

/// Identifier slots of one socket.
struct Slots {
    waiters: Vec<Option<Waiter>>,
    /// Where the search for a free identifier starts: identifiers are used
    /// in turn, so a late reply does not meet a new request with its id.
    next: usize,
}

struct Server {
    address: SocketAddr,
    secret: SharedSecret,
    socket: UdpSocket,
    slots: Mutex<Slots>,
    permits: Semaphore,
    dead_until: Mutex<Option<Instant>>,
    metrics: Arc<RadiusMetrics>,
}

/// Frees the identifier when the request ends, however it ends (a cancelled
/// future included).
struct SlotGuard<'a> {
    server: &'a Server,
    identifier: u8,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut slots = self.server.lock_slots();
        if let Some(slot) = slots.waiters.get_mut(usize::from(self.identifier)) {
            *slot = None;
        }
    }
}

impl Server {
    fn lock_slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_dead(&self, now: Instant) -> bool {
        self.dead_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| now < until)
    }

    fn set_dead_until(&self, until: Option<Instant>) {
        *self
            .dead_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = until;
    }

    /// Takes a free identifier, encodes the request with it and registers
    /// the waiter. The caller holds one of the 256 permits, so an identifier
    /// is free.
    fn register(
        &self,
        attributes: &[Attribute],
    ) -> Result<(SlotGuard<'_>, Vec<u8>, oneshot::Receiver<()>), ClientError> {
        let mut slots = self.lock_slots();
        let start = slots.next;
        let free = (0..MAX_OUTSTANDING)
            .map(|offset| (start + offset) % MAX_OUTSTANDING)
            .find(|&index| slots.waiters.get(index).is_some_and(Option::is_none));
        let Some(index) = free else {
            // Unreachable with the permits; reported rather than assumed.
            return Err(ClientError::NotAcknowledged(vec![ServerFailure::Send {
                address: self.address,
                error: "all 256 identifiers are in use".to_string(),
            }]));
        };
        let identifier = u8::try_from(index).unwrap_or(0);
        let packet = encode_accounting_request(identifier, attributes, &self.secret)?;
        let mut authenticator = [0u8; 16];
        if let Some(octets) = packet.get(4..20) {
            authenticator.copy_from_slice(octets);
        }
        let (sender, receiver) = oneshot::channel();
        if let Some(slot) = slots.waiters.get_mut(index) {
            *slot = Some(Waiter {
                authenticator,
                reply: Some(sender),
                discarded: 0,
                last_discard: None,
            });
        }
        slots.next = (index + 1) % MAX_OUTSTANDING;
        Ok((
            SlotGuard {
                server: self,
                identifier,
            },
            packet,
            receiver,
        ))
    }

    /// Checks one datagram and wakes the request it answers.
    fn receive(&self, datagram: &[u8], source: SocketAddr) {
        let discard = |reason: String| {
            self.metrics.invalid_replies.fetch_add(1, Relaxed);
            tracing::debug!(server = %self.address, %source, %reason, "RADIUS reply discarded");
        };
        if source != self.address {
            return discard("it came from an unknown address".to_string());
        }
        if datagram.len() > MAX_PACKET_LEN {
            return discard(format!("it is {} octets, more than 4096", datagram.len()));
        }
        let Some(&identifier) = datagram.get(1) else {
            return discard(format!("it is {} octet(s) long", datagram.len()));
        };
        let mut slots = self.lock_slots();
        let Some(waiter) = slots
            .waiters
            .get_mut(usize::from(identifier))
            .and_then(Option::as_mut)
        else {
            drop(slots);
            return discard(format!(
                "no request with identifier {identifier} is waiting (late or duplicate reply)"
            ));
        };
        match verify_accounting_response(datagram, &waiter.authenticator, identifier, &self.secret)
        {
            Ok(_) => {
                if let Some(reply) = waiter.reply.take() {
                    let _ = reply.send(());
                }
            }
            Err(error) => {
                waiter.discarded = waiter.discarded.saturating_add(1);
                waiter.last_discard = Some(error.to_string());
                drop(slots);
                discard(error.to_string());
            }
        }
    }

    /// Sends one request to this server, with identical retransmissions.
    async fn exchange(
        &self,
        attributes: &[Attribute],
        options: &ClientOptions,
    ) -> Result<Acknowledged, ServerFailureOrEncode> {
        let _permit = self.permits.acquire().await.map_err(|_| {
            ServerFailureOrEncode::Failure(ServerFailure::Send {
                address: self.address,
                error: "the client is shutting down".to_string(),
            })
        })?;
        let (guard, packet, mut reply) = self.register(attributes).map_err(|e| match e {
            ClientError::Encode(e) => ServerFailureOrEncode::Encode(e),
            other => ServerFailureOrEncode::Failure(ServerFailure::Send {
                address: self.address,
                error: other.to_string(),
            }),
        })?;
        self.metrics.requests.fetch_add(1, Relaxed);
        let began = Instant::now();
        let mut wait = options.timeout;
        let tries = options.retransmissions.saturating_add(1);
        for attempt in 1..=tries {
            if attempt > 1 {
                self.metrics.retransmissions.fetch_add(1, Relaxed);
            }
            let sent_at = Instant::now();
            if let Err(error) = self.socket.send_to(&packet, self.address).await {
                self.metrics.send_errors.fetch_add(1, Relaxed);
                return Err(ServerFailureOrEncode::Failure(ServerFailure::Send {
                    address: self.address,
                    error: error.to_string(),
                }));
            }
            match tokio::time::timeout(wait, &mut reply).await {
                Ok(Ok(())) => {
                    return Ok(Acknowledged {
                        server: self.address,
                        round_trip: sent_at.elapsed(),
                        tries: attempt,
                    })
                }
                Ok(Err(_)) | Err(_) => {
                    self.metrics.timeouts.fetch_add(1, Relaxed);
                }
            }
            wait = (wait * 2).min(options.max_timeout);
        }
        let (discarded, last_discard) = {
            let slots = self.lock_slots();
            match slots
                .waiters
                .get(usize::from(guard.identifier))
                .and_then(Option::as_ref)
            {
                Some(waiter) => (waiter.discarded, waiter.last_discard.clone()),
                None => (0, None),
            }
        };
        drop(guard);
        Err(ServerFailureOrEncode::Failure(ServerFailure::NoReply {
            address: self.address,
            tries,
            waited: began.elapsed(),
            discarded,
            last_discard,
        }))
    }
}

enum ServerFailureOrEncode {
    Failure(ServerFailure),
    Encode(RadiusError),
}

async fn receive_loop(server: Arc<Server>) {
    // One octet more than the largest packet, to tell oversized datagrams.
    let mut buffer = vec![0u8; MAX_PACKET_LEN + 1];
    loop {
        match server.socket.recv_from(&mut buffer).await {
            Ok((len, source)) => server.receive(buffer.get(..len).unwrap_or_default(), source),
            Err(error) => {
                // ICMP port unreachable surfaces here on Linux; the request
                // still times out normally. Pause so an error loop cannot spin.
                tracing::debug!(server = %server.address, %error, "RADIUS socket receive error");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The accounting client: servers in failover order.
pub(crate) struct AccountingClient {
    servers: Vec<Arc<Server>>,
    receivers: Vec<JoinHandle<()>>,
    options: ClientOptions,
    metrics: Arc<RadiusMetrics>,
}

impl fmt::Debug for AccountingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountingClient")
            .field(
                "servers",
                &self.servers.iter().map(|s| s.address).collect::<Vec<_>>(),
            )
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Drop for AccountingClient {
    fn drop(&mut self) {
        for receiver in &self.receivers {
            receiver.abort();
        }
    }
}

impl AccountingClient {
    /// Opens one socket per server (on the loopback address for a loopback
    /// server, else the unspecified address of its family). Must run inside
    /// a tokio runtime.
    pub(crate) async fn new(
        servers: Vec<ServerSpec>,
        options: ClientOptions,
        metrics: Arc<RadiusMetrics>,
    ) -> Result<AccountingClient, ClientError> {
        if servers.is_empty() {
            return Err(ClientError::NoServers);
        }
        let mut opened = Vec::with_capacity(servers.len());
        let mut receivers = Vec::with_capacity(servers.len());
        for spec in servers {
            let local = match spec.address.ip() {
                IpAddr::V4(ip) if ip.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(ip) if ip.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            let socket = UdpSocket::bind(SocketAddr::new(local, 0))
                .await
                .map_err(|source| ClientError::Socket {
                    address: spec.address,
                    source,
                })?;
            let server = Arc::new(Server {
                address: spec.address,
                secret: spec.secret,
                socket,
                slots: Mutex::new(Slots {
                    waiters: (0..MAX_OUTSTANDING).map(|_| None).collect(),
                    next: 0,
                }),
                permits: Semaphore::new(MAX_OUTSTANDING),
                dead_until: Mutex::new(None),
                metrics: metrics.clone(),
            });
            receivers.push(tokio::spawn(receive_loop(server.clone())));
            opened.push(server);
        }
        Ok(AccountingClient {
            servers: opened,
            receivers,
            options,
            metrics,
        })
    }

    #[cfg(test)]
    pub(crate) fn metrics(&self) -> &Arc<RadiusMetrics> {
        &self.metrics
    }

    /// Sends one Accounting-Request until a server acknowledges it.
    ///
    /// `build` gives the attributes; it is called again for each server
    /// tried, because the request then changes (Acct-Delay-Time) and gets
    /// a new identifier and authenticator. Servers that recently failed are
    /// tried after the others. Fails with every server's reason when none
    /// acknowledged, or at once if the attributes cannot be encoded.
    pub(crate) async fn send(
        &self,
        build: impl Fn() -> Vec<Attribute>,
    ) -> Result<Acknowledged, ClientError> {
        let now = Instant::now();
        let (live, dead): (Vec<&Arc<Server>>, Vec<&Arc<Server>>) =
            self.servers.iter().partition(|server| !server.is_dead(now));
        let mut failures = Vec::new();
        for (position, server) in live.into_iter().chain(dead).enumerate() {
            if position > 0 {
                self.metrics.failovers.fetch_add(1, Relaxed);
            }
            match server.exchange(&build(), &self.options).await {
                Ok(acknowledged) => {
                    server.set_dead_until(None);
                    self.metrics.acknowledged.fetch_add(1, Relaxed);
                    self.metrics.last_round_trip_micros.store(
                        u64::try_from(acknowledged.round_trip.as_micros()).unwrap_or(u64::MAX),
                        Relaxed,
                    );
                    return Ok(acknowledged);
                }
                Err(ServerFailureOrEncode::Encode(error)) => {
                    return Err(ClientError::Encode(error))
                }
                Err(ServerFailureOrEncode::Failure(failure)) => {
                    tracing::warn!(%failure, "RADIUS accounting server did not acknowledge");
                    server.set_dead_until(Some(Instant::now() + self.options.dead_time));
                    failures.push(failure);
                }
            }
        }
        self.metrics.failures.fetch_add(1, Relaxed);
        Err(ClientError::NotAcknowledged(failures))
    }
}

#[cfg(test)]
mod tests;
