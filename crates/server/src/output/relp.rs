//! `[[output.syslog]] transport = "relp"`: forwards stored events to a RELP
//! server (rsyslog's imrelp) and moves the durable cursor only over events
//! the server answered `rsp 200`.
//!
//! A session opens with `open` (offers `relp_version`, `relp_software`,
//! `commands=syslog`) and needs a `200` answer that grants `syslog`. Then up
//! to `window` `syslog` frames are sent unanswered; answers come in command
//! order, and each `200` lets the cursor pass its event (filtered events in
//! between pass with it). An answer other than 200, a `serverclose` hint, a
//! broken connection or no answer within `relp_timeout_secs` ends the
//! session: the output reconnects (with backoff) and sends again every
//! event after the cursor, so nothing is lost; what the server had stored
//! but not yet answered is sent twice (`netaudit_output_resent_total`;
//! structured formats carry `meta sequenceId`). On shutdown the output
//! waits (bounded) for the open answers, sends `close` and waits for its
//! answer.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use netaudit_syslog::framing::{
    next_txnr, Offers, RelpCodec, RelpCommand, RelpError, RelpFrame, RelpResponse, RELP_VERSION,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;

use crate::config::SyslogOutputConfig;
use crate::output::backoff::Backoff;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind};
use crate::output::context::OutputContext;
use crate::output::filter::Filter;
use crate::output::format::OutputFormatter;
use crate::output::transport::{Connection, Target};

/// How long shutdown waits for the open answers and the `close` answer.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Transport(#[from] crate::output::transport::TransportError),
    #[error(transparent)]
    Relp(#[from] RelpError),
    #[error("{0}")]
    Refused(String),
    #[error("no answer within {0} s (relp_timeout_secs)")]
    Timeout(u64),
    #[error("the server closed the session")]
    Closed,
}

/// A frame sent and not answered yet.
struct Unanswered {
    txnr: u32,
    /// The cursor may pass this once answered.
    seq: u64,
}

/// One open RELP session.
struct Session {
    connection: Connection,
    codec: RelpCodec,
    read: BytesMut,
    next_txnr: u32,
    unanswered: VecDeque<Unanswered>,
}

impl Session {
    async fn write(&mut self, frames: &[RelpFrame]) -> Result<(), SessionError> {
        let mut bytes = BytesMut::new();
        for frame in frames {
            self.codec.encode(frame, &mut bytes)?;
        }
        let address = self.connection.address;
        let stream = self
            .connection
            .stream_mut()
            .ok_or_else(|| SessionError::Refused("RELP needs a stream connection".into()))?;
        let send = |source| crate::output::transport::TransportError::Send { address, source };
        stream.write_all(&bytes).await.map_err(send)?;
        stream.flush().await.map_err(send)?;
        Ok(())
    }

    /// The next frame from the server, waiting at most `limit`.
    async fn next_frame(&mut self, limit: Duration) -> Result<Option<RelpFrame>, SessionError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(frame) = self.codec.decode(&mut self.read)? {
                return Ok(Some(frame));
            }
            let address = self.connection.address;
            let Some(stream) = self.connection.stream_mut() else {
                return Err(SessionError::Closed);
            };
            self.read.reserve(16 * 1024);
            match tokio::time::timeout_at(deadline, stream.read_buf(&mut self.read)).await {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => {
                    return Err(
                        crate::output::transport::TransportError::PeerClosed { address }.into(),
                    )
                }
                Ok(Ok(_)) => {}
                Ok(Err(source)) => {
                    return Err(
                        crate::output::transport::TransportError::Send { address, source }.into(),
                    )
                }
            }
        }
    }

    fn take_txnr(&mut self) -> u32 {
        let txnr = self.next_txnr;
        self.next_txnr = next_txnr(txnr);
        txnr
    }
}

struct RelpForwarder {
    name: String,
    target: Target,
    filter: Filter,
    formatter: OutputFormatter,
    consumer: Consumer,
    backoff: Backoff,
    window: usize,
    timeout: Duration,
    /// Every event up to here was sent (or filtered out).
    sent_seq: u64,
    /// Filtered events after the last sent one: the cursor passes them once
    /// everything before is answered.
    filtered_through: Option<u64>,
    message: Vec<u8>,
}

pub(super) async fn run(config: SyslogOutputConfig, ctx: OutputContext, cancel: CancellationToken) {
    let Some(consumer) = Consumer::open(OutputKind::Syslog, &config.name, &ctx, &cancel).await
    else {
        return;
    };
    let mut forwarder = RelpForwarder {
        name: config.name.clone(),
        target: Target::from_config(&config),
        filter: Filter::of_syslog_output(&config),
        formatter: OutputFormatter::of_syslog_output(&config),
        sent_seq: consumer.cursor(),
        consumer,
        backoff: Backoff::of_syslog_output(&config),
        window: config.window,
        timeout: Duration::from_secs(config.relp_timeout_secs),
        filtered_through: None,
        message: Vec::with_capacity(1024),
    };
    forwarder.run(&cancel).await;
}

impl RelpForwarder {
    async fn run(&mut self, cancel: &CancellationToken) {
        while !cancel.is_cancelled() {
            let Some(mut session) = self.open_session(cancel).await else {
                break;
            };
            let result = self.serve(&mut session, cancel).await;
            match result {
                Ok(()) => {
                    self.finish(&mut session).await;
                    break;
                }
                Err(err) => self.broken(session, &err),
            }
        }
        self.consumer.metrics.connected.store(0, Relaxed);
    }

    /// Connects and opens a session (with backoff); `None` when cancelled.
    async fn open_session(&mut self, cancel: &CancellationToken) -> Option<Session> {
        loop {
            let attempt = tokio::select! {
                _ = cancel.cancelled() => return None,
                result = self.try_open() => result,
            };
            match attempt {
                Ok(session) => {
                    tracing::info!(output = %self.name, peer = %session.connection.address, resume_after = self.consumer.cursor(), "RELP session open");
                    self.consumer.metrics.connects.fetch_add(1, Relaxed);
                    self.consumer.metrics.connected.store(1, Relaxed);
                    self.backoff.reset();
                    return Some(session);
                }
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    let delay = self.backoff.next_delay();
                    tracing::warn!(output = %self.name, error = %err, retry_in_ms = delay.as_millis() as u64, "cannot open a RELP session");
                    if !sleep_or_cancel(delay, cancel).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn try_open(&mut self) -> Result<Session, SessionError> {
        let connection = self.target.connect().await?;
        let mut session = Session {
            connection,
            codec: RelpCodec::default(),
            read: BytesMut::new(),
            next_txnr: 1,
            unanswered: VecDeque::new(),
        };
        let offers = Offers::netaudit(RELP_VERSION, &["syslog"]);
        let txnr = session.take_txnr();
        session
            .write(&[RelpFrame::new(txnr, RelpCommand::Open, offers.encode())])
            .await?;
        let answer = session
            .next_frame(self.timeout)
            .await?
            .ok_or(SessionError::Timeout(self.timeout.as_secs()))?;
        if answer.command != RelpCommand::Rsp || answer.txnr != txnr {
            return Err(SessionError::Refused(format!(
                "expected the answer to open (txnr {txnr}), got '{}' txnr {}",
                answer.command, answer.txnr
            )));
        }
        let response = RelpResponse::parse(answer.txnr, &answer.data)?;
        if !response.is_ok() {
            return Err(SessionError::Refused(format!(
                "open refused: {} {}",
                response.status, response.message
            )));
        }
        let granted = Offers::parse(&response.cmddata).map_err(SessionError::Refused)?;
        if granted.version().is_none() {
            return Err(SessionError::Refused(
                "the answer to open has no relp_version".into(),
            ));
        }
        if !granted.commands.iter().any(|c| c == "syslog") {
            return Err(SessionError::Refused(
                "the server does not grant the syslog command".into(),
            ));
        }
        Ok(session)
    }

    /// Sends and takes answers until cancelled (`Ok`) or the session breaks.
    async fn serve(
        &mut self,
        session: &mut Session,
        cancel: &CancellationToken,
    ) -> Result<(), SessionError> {
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let room = self.window.saturating_sub(session.unanswered.len());
            let mut sent_any = false;
            if room > 0 {
                sent_any = self.send_more(session, room).await?;
            }
            if sent_any {
                // Take whatever answers are already there, then go on sending.
                self.take_answers(session, Duration::ZERO).await?;
                continue;
            }
            if session.unanswered.is_empty() {
                self.advance_filtered().await;
                if !self
                    .consumer
                    .wait_for_events(self.sent_seq, Duration::from_secs(1), cancel)
                    .await
                {
                    return Ok(());
                }
                continue;
            }
            // Wait for an answer (or new events, when the window has room).
            let waited = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                answered = self.take_answers_until(session, self.timeout) => answered?,
            };
            if !waited {
                return Err(SessionError::Timeout(self.timeout.as_secs()));
            }
        }
    }

    /// Reads, filters, formats and sends up to `room` events; `true` when
    /// anything was read from the store.
    async fn send_more(
        &mut self,
        session: &mut Session,
        room: usize,
    ) -> Result<bool, SessionError> {
        let events = match self.consumer.read_after(self.sent_seq, room).await {
            Ok(events) => events,
            Err(err) => {
                self.consumer.metrics.errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, error = %err, "store read failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(false);
            }
        };
        if events.is_empty() {
            return Ok(false);
        }
        let mut frames = Vec::with_capacity(events.len());
        let mut filtered = 0u64;
        for mut stored in events {
            self.sent_seq = stored.seq;
            if !self.filter.accepts(&stored.event) {
                filtered += 1;
                if session.unanswered.is_empty() && frames.is_empty() {
                    self.filtered_through = Some(stored.seq);
                } else if let Some(last) =
                    session.unanswered.back_mut().filter(|_| frames.is_empty())
                {
                    last.seq = stored.seq;
                } else if let Some(last) =
                    frames.last_mut().map(|(_, seq): &mut (RelpFrame, u64)| seq)
                {
                    *last = stored.seq;
                }
                continue;
            }
            self.message.clear();
            self.formatter
                .write(stored.seq, &mut stored.event, &mut self.message);
            let txnr = session.take_txnr();
            frames.push((
                RelpFrame::new(
                    txnr,
                    RelpCommand::Syslog,
                    Bytes::copy_from_slice(&self.message),
                ),
                stored.seq,
            ));
        }
        self.consumer.metrics.filtered.fetch_add(filtered, Relaxed);
        if frames.is_empty() {
            return Ok(true);
        }
        let (to_send, seqs): (Vec<RelpFrame>, Vec<u64>) = frames.into_iter().unzip();
        session.write(&to_send).await?;
        self.consumer
            .metrics
            .forwarded
            .fetch_add(to_send.len() as u64, Relaxed);
        for (frame, seq) in to_send.iter().zip(seqs) {
            session.unanswered.push_back(Unanswered {
                txnr: frame.txnr,
                seq,
            });
        }
        Ok(true)
    }

    /// Waits up to `limit` for at least one answer, then takes all that
    /// are there; `false` when none came in time.
    async fn take_answers_until(
        &mut self,
        session: &mut Session,
        limit: Duration,
    ) -> Result<bool, SessionError> {
        let answered = self.take_answers(session, limit).await?;
        Ok(answered > 0)
    }

    /// Takes answers (waiting up to `limit` for the first); moves the cursor
    /// over the events answered 200. Returns how many were answered.
    async fn take_answers(
        &mut self,
        session: &mut Session,
        limit: Duration,
    ) -> Result<usize, SessionError> {
        let mut answered = 0;
        let mut through = None;
        let mut wait = limit;
        let outcome = loop {
            let frame = match session.next_frame(wait).await {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ok(()),
                Err(err) => break Err(err),
            };
            wait = Duration::ZERO;
            match frame.command {
                RelpCommand::ServerClose => break Err(SessionError::Closed),
                RelpCommand::Rsp => {}
                other => {
                    break Err(SessionError::Refused(format!(
                        "unexpected command '{other}' from the server"
                    )))
                }
            }
            let Some(front) = session.unanswered.front() else {
                break Err(SessionError::Refused(format!(
                    "answer to txnr {} that was not sent",
                    frame.txnr
                )));
            };
            if front.txnr != frame.txnr {
                break Err(SessionError::Refused(format!(
                    "answer to txnr {}, expected {}",
                    frame.txnr, front.txnr
                )));
            }
            let response = match RelpResponse::parse(frame.txnr, &frame.data) {
                Ok(response) => response,
                Err(err) => break Err(err.into()),
            };
            if !response.is_ok() {
                break Err(SessionError::Refused(format!(
                    "txnr {} answered {} {}",
                    frame.txnr, response.status, response.message
                )));
            }
            through = session.unanswered.pop_front().map(|u| u.seq);
            answered += 1;
        };
        if let Some(seq) = through {
            if let Err(err) = self.consumer.advance(seq).await {
                self.consumer.metrics.errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, error = %err, "cannot advance the cursor; the events will be sent again");
            }
        }
        outcome.map(|()| answered)
    }

    /// Everything sent is answered: the cursor passes filtered events too.
    async fn advance_filtered(&mut self) {
        if let Some(seq) = self.filtered_through.take() {
            if seq > self.consumer.cursor() {
                let _ = self.consumer.advance(seq).await;
            }
        }
    }

    /// The session broke: everything after the cursor is sent again.
    fn broken(&mut self, session: Session, err: &SessionError) {
        self.consumer.metrics.errors.fetch_add(1, Relaxed);
        let resent = session.unanswered.len() as u64;
        self.consumer.metrics.resent.fetch_add(resent, Relaxed);
        tracing::warn!(
            output = %self.name,
            error = %err,
            resend_from = self.consumer.cursor(),
            resend_events = resent,
            "RELP session lost; events after the cursor will be sent again"
        );
        self.sent_seq = self.consumer.cursor();
        self.filtered_through = None;
        self.consumer.metrics.connected.store(0, Relaxed);
    }

    /// Shutdown: take the open answers (bounded), send `close`, wait for
    /// its answer, close the connection.
    async fn finish(&mut self, session: &mut Session) {
        let deadline = tokio::time::Instant::now() + FINISH_WAIT;
        while !session.unanswered.is_empty() && tokio::time::Instant::now() < deadline {
            let left = deadline - tokio::time::Instant::now();
            if !matches!(self.take_answers(session, left).await, Ok(n) if n > 0) {
                break;
            }
        }
        if session.unanswered.is_empty() {
            self.advance_filtered().await;
            let txnr = session.take_txnr();
            if session
                .write(&[RelpFrame::new(txnr, RelpCommand::Close, Bytes::new())])
                .await
                .is_ok()
            {
                // The answer to close, then perhaps serverclose: bounded.
                let _ = session.next_frame(FINISH_WAIT).await;
            }
        }
        if let Some(stream) = session.connection.stream_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
        }
    }
}
