//! A RELP session on a listener's connection (plain TCP or TLS): frames
//! decoded by the syslog crate's `RelpCodec`, checked by its
//! `ServerSession`, each `syslog` message stored, and its `rsp 200` sent
//! only once the store has committed it, so that "acknowledged" means
//! "stored".
//!
//! The reading half hands each read's messages to the store writer as one
//! acknowledged batch and queues their answers; the answering half waits
//! for each commit in order and writes the answers in the order the
//! commands came (RELP requires it). The queue is the window: at most
//! `ANSWER_QUEUE` reads wait for their commit before reading stops.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use bytes::BytesMut;
use netaudit_syslog::framing::{RelpCodec, RelpError, RelpFrame, ServerSession, ServerStep};
use netaudit_syslog::ParseOptions;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{Decoder, Encoder};

use crate::clock::now_ns;
use crate::config::ListenerConfig;
use crate::pipeline::batcher::BatchHandle;
use crate::pipeline::ingest::Ingest;
use crate::serve::stops::{Read, Stops};

/// Reads whose answers may wait for their commit at once.
const ANSWER_QUEUE: usize = 16;

const READ_BUFFER: usize = 64 * 1024;

/// The answers to one read's frames, sent once its messages committed.
struct Answers {
    commit: Option<oneshot::Receiver<u64>>,
    frames: Vec<RelpFrame>,
    /// Close the connection after these (close, serverclose, or an error).
    last: bool,
}

/// Why the reading half stopped.
enum End {
    Closed,
    Eof,
    Idle,
    Quiet,
    Stopped,
    Protocol(RelpError),
    ReadFailed(std::io::Error),
    WriterGone,
}

/// Serves one RELP session until the client closes it, it breaks the
/// protocol, or the listener stops.
#[allow(clippy::too_many_arguments)]
pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: S,
    peer: SocketAddr,
    name: &str,
    config: &ListenerConfig,
    ingest: &Ingest,
    writer: &mpsc::WeakSender<BatchHandle>,
    stops: &Stops,
) {
    let (mut reader, mut out) = tokio::io::split(stream);
    let (answers_tx, mut answers_rx) = mpsc::channel::<Answers>(ANSWER_QUEUE);
    let reading = read_session(&mut reader, config, ingest, writer, stops, answers_tx);
    let answering = async {
        let mut codec = RelpCodec::default();
        let mut bytes = BytesMut::new();
        let mut acknowledged = 0u64;
        while let Some(answers) = answers_rx.recv().await {
            if let Some(commit) = answers.commit {
                if commit.await.is_err() {
                    tracing::error!(listener = %name, %peer, "RELP: the store writer stopped before committing; session closed without acknowledging");
                    return acknowledged;
                }
            }
            bytes.clear();
            for frame in &answers.frames {
                if codec.encode(frame, &mut bytes).is_err() {
                    return acknowledged;
                }
            }
            if out.write_all(&bytes).await.is_err() || out.flush().await.is_err() {
                tracing::info!(listener = %name, %peer, "RELP: writing answers failed; session closed");
                return acknowledged;
            }
            acknowledged += answers.frames.len() as u64;
            if answers.last {
                break;
            }
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), out.shutdown()).await;
        acknowledged
    };
    let (end, _acknowledged) = tokio::join!(reading, answering);
    match end {
        End::Closed => {
            tracing::debug!(listener = %name, %peer, "RELP session closed by the client")
        }
        End::Eof => {
            tracing::debug!(listener = %name, %peer, "RELP connection closed by the client without 'close'")
        }
        End::Idle => {
            ingest.metrics.idle_timeouts.fetch_add(1, Relaxed);
            tracing::info!(listener = %name, %peer, "idle RELP session closed (serverclose sent)");
        }
        End::Quiet => {
            tracing::debug!(listener = %name, %peer, "RELP session closed at shutdown (serverclose sent)")
        }
        End::Stopped => {
            tracing::debug!(listener = %name, %peer, "RELP session closed: listener stopping")
        }
        End::Protocol(err) => {
            ingest.metrics.framing_errors.fetch_add(1, Relaxed);
            tracing::warn!(listener = %name, %peer, error = %err, "RELP protocol error; session closed (the frames before it were stored and answered)");
        }
        End::ReadFailed(err) => {
            tracing::info!(listener = %name, %peer, error = %err, "RELP connection read failed")
        }
        End::WriterGone => {
            tracing::warn!(listener = %name, %peer, "RELP: the store writer has stopped; session closed")
        }
    }
}

async fn read_session<R: AsyncRead + Unpin>(
    reader: &mut R,
    config: &ListenerConfig,
    ingest: &Ingest,
    writer: &mpsc::WeakSender<BatchHandle>,
    stops: &Stops,
    answers: mpsc::Sender<Answers>,
) -> End {
    let mut codec = RelpCodec::new(config.max_message_bytes);
    let mut session = ServerSession::default();
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let idle = config.idle_timeout();
    let quiet = config
        .stream()
        .map_or(std::time::Duration::from_millis(500), |s| s.shutdown_quiet);
    loop {
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(READ_BUFFER);
        }
        let (eof, end_without_read) = match stops.read(reader, &mut buf, idle, quiet).await {
            Read::Bytes(0) => (true, None),
            Read::Bytes(_) => (false, None),
            Read::Idle => (false, Some(End::Idle)),
            Read::Quiet => (false, Some(End::Quiet)),
            Read::Stopped => return End::Stopped,
            Read::Failed(err) => return End::ReadFailed(err),
        };
        if let Some(end) = end_without_read {
            // A hint that the server closes; the client resends what it
            // has not had answered.
            let _ = answers
                .send(Answers {
                    commit: None,
                    frames: vec![RelpFrame::serverclose()],
                    last: true,
                })
                .await;
            return end;
        }
        let received_ns = now_ns();
        let opts = ParseOptions::with_reference_time(received_ns.div_euclid(1_000_000_000));
        let mut events = Vec::new();
        let mut frames = Vec::new();
        let mut end = None;
        loop {
            let decoded = if eof {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            let frame = match decoded {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => {
                    end = Some(End::Protocol(err));
                    break;
                }
            };
            match session.check(frame, codec.frame_offset()) {
                Ok(ServerStep::Open(answer)) => frames.push(answer),
                Ok(ServerStep::Syslog { txnr, message }) => {
                    if let Some(event) = ingest.event(&message, received_ns, &opts) {
                        events.push(event);
                    }
                    frames.push(RelpFrame::ok(txnr, b""));
                }
                Ok(ServerStep::Close { txnr }) => {
                    frames.push(RelpFrame::ok(txnr, b""));
                    frames.push(RelpFrame::serverclose());
                    end = Some(End::Closed);
                    break;
                }
                Ok(_) => {}
                Err(err) => {
                    end = Some(End::Protocol(err));
                    break;
                }
            }
        }
        if matches!(end, Some(End::Protocol(_))) {
            frames.push(RelpFrame::serverclose());
        }
        if eof && end.is_none() {
            end = Some(End::Eof);
        }
        let commit = if events.is_empty() {
            None
        } else {
            let Some(writer) = writer.upgrade() else {
                return End::WriterGone;
            };
            let count = events.len() as u64;
            let (batch, commit) = BatchHandle::acknowledged(events);
            ingest.global.pending.fetch_add(count, Relaxed);
            if writer.send(batch).await.is_err() {
                ingest.global.pending.fetch_sub(count, Relaxed);
                return End::WriterGone;
            }
            Some(commit)
        };
        if !frames.is_empty() || commit.is_some() || end.is_some() {
            let last = end.is_some();
            if answers
                .send(Answers {
                    commit,
                    frames,
                    last,
                })
                .await
                .is_err()
            {
                // The answering half gave up (write failed): stop reading.
                return end.unwrap_or(End::Eof);
            }
        }
        if let Some(end) = end {
            return end;
        }
    }
}
