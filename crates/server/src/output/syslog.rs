//! `[[output.syslog]]`: forwards stored events to a remote syslog server.
//!
//! Delivery is at-least-once and in store order. Over TCP and TLS a chunk
//! counts as delivered only when
//!
//! 1. its bytes were written and flushed to the socket,
//! 2. the peer's TCP acknowledged them (the socket's unsent queue, SIOCOUTQ,
//!    no longer holds them), and
//! 3. the connection then stayed open for [`CONFIRM_HOLD`] more.
//!
//! Only then does the durable cursor move. A peer that stops (even
//! gracefully) discards what it had acknowledged but not yet read; such a
//! close shows up as end-of-stream or a reset within that time, and every
//! event after the cursor is sent again on the next connection. The price
//! is duplicates: up to `CONFIRM_HOLD` worth of events after a reconnect or
//! a restart, counted in `netaudit_output_resent_total`; structured messages
//! carry `meta sequenceId` so that receivers can drop them. UDP has no
//! acknowledgement: a datagram counts as delivered once sent.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netaudit_syslog::framing::Framing;
use netaudit_syslog::{LfDelimitedCodec, OctetCountingCodec};
use tokio_util::codec::Encoder;
use tokio_util::sync::CancellationToken;

use crate::config::{SyslogOutputConfig, Transport};
use crate::output::backoff::Backoff;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, CHUNK_EVENTS};
use crate::output::context::OutputContext;
use crate::output::filter::Filter;
use crate::output::format::OutputFormatter;
use crate::output::transport::{Connection, Target, UDP_MAX_PAYLOAD};

/// How long a chunk's acknowledged bytes must stay on an open connection
/// before the cursor passes it (see the module documentation).
pub(crate) const CONFIRM_HOLD: Duration = Duration::from_secs(1);

/// How often an output with unconfirmed chunks looks at the connection.
const CONFIRM_POLL: Duration = Duration::from_millis(50);

/// At most this many bytes written but not yet acknowledged: beyond it the
/// output waits for the peer instead of reading more from the store.
const MAX_UNACKNOWLEDGED: u64 = 8 * 1024 * 1024;

/// A chunk written on the current connection, not yet behind the cursor.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    /// The chunk's last store sequence number.
    last_seq: u64,
    /// The connection's byte offset at which the chunk ends.
    end: u64,
    /// Events of the chunk that were sent (the others were filtered out).
    sent: u64,
    acknowledged_at: Option<Instant>,
}

struct Forwarder {
    name: String,
    target: Target,
    framing: Framing,
    filter: Filter,
    formatter: OutputFormatter,
    consumer: Consumer,
    backoff: Backoff,
    connection: Option<Connection>,
    in_flight: VecDeque<InFlight>,
    /// Every event up to here was written (or filtered out): the next read
    /// starts after it. Falls back to the cursor when a connection breaks.
    sent_seq: u64,
    message: Vec<u8>,
    frames: BytesMut,
}

pub(crate) async fn run(config: SyslogOutputConfig, ctx: OutputContext, cancel: CancellationToken) {
    if config.transport == Transport::Relp {
        return crate::output::relp::run(config, ctx, cancel).await;
    }
    let Some(consumer) = Consumer::open(OutputKind::Syslog, &config.name, &ctx, &cancel).await
    else {
        return;
    };
    let mut forwarder = Forwarder {
        name: config.name.clone(),
        target: Target::from_config(&config),
        framing: config.framing,
        filter: Filter::of_syslog_output(&config),
        formatter: OutputFormatter::of_syslog_output(&config),
        sent_seq: consumer.cursor(),
        consumer,
        backoff: Backoff::of_syslog_output(&config),
        connection: None,
        in_flight: VecDeque::new(),
        message: Vec::with_capacity(1024),
        frames: BytesMut::with_capacity(CHUNK_EVENTS * 300),
    };
    forwarder.run(&cancel).await;
}

impl Forwarder {
    async fn run(&mut self, cancel: &CancellationToken) {
        while !cancel.is_cancelled() {
            if let Err(err) = self.confirm().await {
                self.broken(&err);
                continue;
            }
            let unacknowledged = self.unacknowledged_bytes();
            if unacknowledged > MAX_UNACKNOWLEDGED {
                if !sleep_or_cancel(CONFIRM_POLL, cancel).await {
                    break;
                }
                continue;
            }
            let events = match self.consumer.read_after(self.sent_seq, CHUNK_EVENTS).await {
                Ok(events) => events,
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, error = %err, "store read failed; retrying in 1 s");
                    if !sleep_or_cancel(Duration::from_secs(1), cancel).await {
                        break;
                    }
                    continue;
                }
            };
            let Some(last_seq) = events.last().map(|e| e.seq) else {
                let wait = if self.in_flight.is_empty() {
                    Duration::from_secs(1)
                } else {
                    CONFIRM_POLL
                };
                if !self
                    .consumer
                    .wait_for_events(self.sent_seq, wait, cancel)
                    .await
                {
                    break;
                }
                continue;
            };
            // Filter and format the chunk.
            self.frames.clear();
            let mut datagrams: Vec<(usize, usize)> = Vec::new();
            let mut sent = 0u64;
            let mut filtered = 0u64;
            for mut stored in events {
                if !self.filter.accepts(&stored.event) {
                    filtered += 1;
                    continue;
                }
                self.message.clear();
                self.formatter
                    .write(stored.seq, &mut stored.event, &mut self.message);
                match (self.target.transport, self.framing) {
                    (Transport::Udp, _) => {
                        if self.message.len() > UDP_MAX_PAYLOAD {
                            self.consumer.metrics.errors.fetch_add(1, Relaxed);
                            tracing::error!(
                                output = %self.name,
                                seq = stored.seq,
                                bytes = self.message.len(),
                                "message longer than one UDP datagram can carry (65,507 bytes); skipped"
                            );
                            continue;
                        }
                        let start = self.frames.len();
                        self.frames.extend_from_slice(&self.message);
                        datagrams.push((start, self.frames.len()));
                    }
                    (_, framing) => {
                        // The formatter escapes control bytes (LF is `#012`,
                        // CR `#015`), so the LF encoder's refusal of a
                        // terminator inside a message is a last guard: such
                        // a frame is skipped, never split into two records.
                        let encoded = match framing {
                            Framing::LfDelimited => LfDelimitedCodec::new(usize::MAX)
                                .encode(&self.message[..], &mut self.frames),
                            Framing::OctetCounting => OctetCountingCodec::new(usize::MAX)
                                .encode(&self.message[..], &mut self.frames),
                        };
                        if let Err(error) = encoded {
                            self.consumer.metrics.errors.fetch_add(1, Relaxed);
                            tracing::error!(output = %self.name, seq = stored.seq, %error, "message cannot be framed; skipped");
                            continue;
                        }
                    }
                }
                sent += 1;
            }
            self.consumer.metrics.filtered.fetch_add(filtered, Relaxed);
            if sent == 0 {
                // Nothing to send: the chunk is done once what precedes it is.
                self.push_done(last_seq, 0).await;
                continue;
            }
            if !self.ensure_connected(cancel).await {
                break;
            }
            let Some(connection) = self.connection.as_mut() else {
                continue;
            };
            let written = if connection.is_datagram() {
                let mut result = Ok(u64::MAX);
                for (start, end) in &datagrams {
                    let datagram = self.frames.get(*start..*end).unwrap_or_default();
                    if let Err(err) = connection.send_datagram(datagram).await {
                        result = Err(err);
                        break;
                    }
                }
                result
            } else {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    result = connection.write_stream(&self.frames) => result,
                }
            };
            match written {
                Ok(end) => {
                    self.consumer.metrics.forwarded.fetch_add(sent, Relaxed);
                    self.in_flight.push_back(InFlight {
                        last_seq,
                        end,
                        sent,
                        acknowledged_at: None,
                    });
                    self.sent_seq = last_seq;
                }
                Err(err) => self.broken(&err),
            }
        }
        self.finish().await;
    }

    /// A chunk with nothing to send.
    async fn push_done(&mut self, last_seq: u64, sent: u64) {
        if self.in_flight.is_empty() {
            if let Err(err) = self.consumer.advance(last_seq).await {
                self.consumer.metrics.errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, error = %err, "cannot advance the cursor");
                return;
            }
        } else {
            let end = self.in_flight.back().map_or(0, |f| f.end);
            self.in_flight.push_back(InFlight {
                last_seq,
                end,
                sent,
                acknowledged_at: None,
            });
        }
        self.sent_seq = last_seq;
    }

    fn unacknowledged_bytes(&self) -> u64 {
        match (&self.connection, self.in_flight.back()) {
            (Some(connection), Some(last)) => last.end.saturating_sub(connection.acknowledged()),
            _ => 0,
        }
    }

    /// Marks acknowledged chunks and moves the cursor past those held long
    /// enough; an error means the connection is gone.
    async fn confirm(&mut self) -> Result<(), crate::output::transport::TransportError> {
        if self.in_flight.is_empty() {
            if let Some(connection) = self.connection.as_mut() {
                connection.check_open()?;
            }
            return Ok(());
        }
        let now = Instant::now();
        if let Some(connection) = self.connection.as_mut() {
            connection.check_open()?;
            let acknowledged = connection.acknowledged();
            // A reset may have emptied the send queue between the two
            // looks: only trust the acknowledgement if the connection is
            // still open after reading it.
            connection.check_open()?;
            for chunk in self.in_flight.iter_mut() {
                if chunk.acknowledged_at.is_some() {
                    continue;
                }
                if chunk.end <= acknowledged {
                    chunk.acknowledged_at = Some(now);
                } else {
                    break;
                }
            }
        }
        // UDP: nothing comes back, so there is nothing to wait for.
        let hold = match &self.connection {
            Some(connection) if connection.is_datagram() => Duration::ZERO,
            _ => CONFIRM_HOLD,
        };
        let mut through = None;
        while let Some(chunk) = self.in_flight.front() {
            match chunk.acknowledged_at {
                Some(at) if now.duration_since(at) >= hold => {
                    through = Some(chunk.last_seq);
                    self.in_flight.pop_front();
                }
                _ => break,
            }
        }
        if let Some(seq) = through {
            if let Err(err) = self.consumer.advance(seq).await {
                self.consumer.metrics.errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, error = %err, "cannot advance the cursor; the events will be sent again");
                // Resend from wherever the store says the cursor is.
                self.in_flight.clear();
                self.sent_seq = self.consumer.cursor();
            }
        }
        Ok(())
    }

    /// The connection failed: drop it, and send everything after the cursor
    /// again on the next one.
    fn broken(&mut self, err: &crate::output::transport::TransportError) {
        self.consumer.metrics.errors.fetch_add(1, Relaxed);
        let resent: u64 = self.in_flight.iter().map(|f| f.sent).sum();
        self.consumer.metrics.resent.fetch_add(resent, Relaxed);
        tracing::warn!(
            output = %self.name,
            error = %err,
            resend_from = self.consumer.cursor(),
            resend_events = resent,
            "connection lost; events after the cursor will be sent again"
        );
        self.in_flight.clear();
        self.sent_seq = self.consumer.cursor();
        self.connection = None;
        self.consumer.metrics.connected.store(0, Relaxed);
    }

    /// Connects (with backoff between attempts) unless connected; `false`
    /// when cancelled.
    async fn ensure_connected(&mut self, cancel: &CancellationToken) -> bool {
        if self.connection.is_some() {
            return true;
        }
        loop {
            let attempt = tokio::select! {
                _ = cancel.cancelled() => return false,
                result = self.target.connect() => result,
            };
            match attempt {
                Ok(connection) => {
                    tracing::info!(output = %self.name, peer = %connection.address, resume_after = self.consumer.cursor(), "connected");
                    self.consumer.metrics.connects.fetch_add(1, Relaxed);
                    self.consumer.metrics.connected.store(1, Relaxed);
                    self.backoff.reset();
                    self.connection = Some(connection);
                    return true;
                }
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    let delay = self.backoff.next_delay();
                    tracing::warn!(output = %self.name, error = %err, retry_in_ms = delay.as_millis() as u64, "cannot connect");
                    if !sleep_or_cancel(delay, cancel).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Stopping: wait (bounded) for the peer to acknowledge what was sent,
    /// move the cursor over it, and close the connection in order. A chunk
    /// the peer acknowledged before an orderly close is in its socket and
    /// will be read, so the hold does not apply here.
    async fn finish(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.in_flight.is_empty() && Instant::now() < deadline {
            let Some(connection) = self.connection.as_mut() else {
                break;
            };
            if connection.check_open().is_err() {
                break;
            }
            let acknowledged = connection.acknowledged();
            let mut through = None;
            while let Some(chunk) = self.in_flight.front() {
                if chunk.end <= acknowledged {
                    through = Some(chunk.last_seq);
                    self.in_flight.pop_front();
                } else {
                    break;
                }
            }
            if let Some(seq) = through {
                if self.consumer.advance(seq).await.is_err() {
                    break;
                }
            }
            if !self.in_flight.is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if let Some(connection) = self.connection.take() {
            connection.close(Duration::from_secs(1)).await;
        }
        self.consumer.metrics.connected.store(0, Relaxed);
    }
}
