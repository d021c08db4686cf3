//! From raw messages to owned events, in the listener's own task: parse
//! (borrowing the frame), convert, and hand over chunks of events to the
//! batcher through the bounded pipeline channel.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use netaudit_syslog::{ParseOptions, RawBackedEvent};
use tokio::sync::mpsc;

use crate::config::OnParseError;
use crate::metrics::{ListenerMetrics, Metrics};
use crate::pipeline::origin::{Chunk, Origin};
use crate::self_events::unparsed_event;

/// What a listener needs to turn messages into stored events.
#[derive(Clone)]
pub(crate) struct Ingest {
    pub tx: mpsc::Sender<Chunk>,
    /// The listener, as the chunks name it.
    pub origin: Origin,
    pub metrics: Arc<ListenerMetrics>,
    pub global: Arc<Metrics>,
    pub on_parse_error: OnParseError,
    pub chunk_max_events: usize,
}

/// A message without the line ends and NULs that senders put after it
/// (loggen's octet-counted frames end with LF inside the count).
pub(crate) fn trim_message(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0'))
        .map_or(0, |i| i + 1);
    raw.get(..end).unwrap_or(raw)
}

impl Ingest {
    /// Parses one message; `None` when it is unparsable and configured to be
    /// dropped. Counts it either way.
    pub(crate) fn event(
        &self,
        raw: &[u8],
        received_ns: i64,
        opts: &ParseOptions,
    ) -> Option<RawBackedEvent> {
        self.metrics.received.fetch_add(1, Relaxed);
        self.metrics
            .received_bytes
            .fetch_add(raw.len() as u64, Relaxed);
        let raw = trim_message(raw);
        match netaudit_syslog::parse(raw, opts) {
            Ok(message) => Some(message.to_raw_backed_event(received_ns, raw)),
            Err(err) => {
                self.metrics.parse_errors.fetch_add(1, Relaxed);
                match self.on_parse_error {
                    OnParseError::Store => {
                        Some(unparsed_event(raw, received_ns, err.to_string()).into())
                    }
                    OnParseError::Drop => {
                        self.metrics.dropped.fetch_add(1, Relaxed);
                        None
                    }
                }
            }
        }
    }

    fn chunk(&self, events: Vec<RawBackedEvent>) -> Chunk {
        Chunk {
            origin: self.origin.clone(),
            events,
        }
    }

    /// Hands a chunk to the batcher, waiting while the pipeline is full
    /// (this is the back-pressure of stream listeners). `false` when the
    /// pipeline has shut down.
    pub(crate) async fn send(&self, chunk: Vec<RawBackedEvent>) -> bool {
        if chunk.is_empty() {
            return true;
        }
        let count = chunk.len() as u64;
        self.global.pending.fetch_add(count, Relaxed);
        if self.tx.send(self.chunk(chunk)).await.is_err() {
            self.global.pending.fetch_sub(count, Relaxed);
            return false;
        }
        true
    }

    /// Hands a chunk over only if there is room now (UDP: the reader never
    /// waits on storage). Returns how many events were dropped.
    pub(crate) fn try_send(&self, chunk: Vec<RawBackedEvent>) -> u64 {
        if chunk.is_empty() {
            return 0;
        }
        let count = chunk.len() as u64;
        self.global.pending.fetch_add(count, Relaxed);
        match self.tx.try_send(self.chunk(chunk)) {
            Ok(()) => 0,
            Err(_) => {
                self.global.pending.fetch_sub(count, Relaxed);
                self.metrics.dropped.fetch_add(count, Relaxed);
                count
            }
        }
    }
}

/// Hands one of netaudit's own events to the pipeline from a blocking
/// thread (the integrity check, retention), while the pipeline is open: a
/// weak sender never keeps it open at shutdown.
pub(crate) fn send_internal_blocking(
    events: &mpsc::WeakSender<Chunk>,
    metrics: &Metrics,
    event: netaudit_event::Event,
) {
    let Some(tx) = events.upgrade() else {
        return;
    };
    if tx
        .blocking_send(Chunk::internal(vec![event.into()]))
        .is_ok()
    {
        metrics.internal_events.fetch_add(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingest(on_parse_error: OnParseError) -> (Ingest, mpsc::Receiver<Chunk>) {
        let (tx, rx) = mpsc::channel(1);
        let global = Arc::new(Metrics::new());
        let metrics = global.listener("t", "tcp");
        (
            Ingest {
                tx,
                origin: crate::pipeline::origin::listener_origin("t"),
                metrics,
                global,
                on_parse_error,
                chunk_max_events: 16,
            },
            rx,
        )
    }

    #[test]
    fn trims_line_ends() {
        assert_eq!(trim_message(b"<13>x\r\n\0"), b"<13>x");
        assert_eq!(trim_message(b"\n\n"), b"");
        assert_eq!(trim_message(b"a\nb"), b"a\nb");
    }

    #[test]
    fn parses_or_keeps_raw_bytes() {
        let (ingest, _rx) = ingest(OnParseError::Store);
        let opts = ParseOptions::with_reference_time(1_700_000_000);
        let good = ingest
            .event(
                b"<165>1 2026-11-20T10:00:00Z host app - JUNOSCOPE_X - hello\n",
                7,
                &opts,
            )
            .unwrap()
            .event;
        assert_eq!(good.host.as_deref(), Some("host"));
        assert_eq!(good.code.as_deref(), Some("JUNOSCOPE_X"));
        assert_eq!(
            good.raw,
            b"<165>1 2026-11-20T10:00:00Z host app - JUNOSCOPE_X - hello"
        );
        let bad = ingest
            .event(b"\x00\xff\xfe garbage", 8, &opts)
            .unwrap()
            .event;
        assert!(bad.parse_error.is_some());
        assert_eq!(bad.raw, b"\x00\xff\xfe garbage");
        assert_eq!(ingest.metrics.parse_errors.load(Relaxed), 1);
        assert_eq!(ingest.metrics.received.load(Relaxed), 2);
    }

    #[test]
    fn drops_unparsable_when_configured() {
        let (ingest, _rx) = ingest(OnParseError::Drop);
        let opts = ParseOptions::with_reference_time(1_700_000_000);
        assert!(ingest.event(b"\xff", 1, &opts).is_none());
        assert_eq!(ingest.metrics.dropped.load(Relaxed), 1);
    }

    #[tokio::test]
    async fn try_send_counts_drops_when_full() {
        let (ingest, mut rx) = ingest(OnParseError::Store);
        let event = RawBackedEvent::default;
        assert_eq!(ingest.try_send(vec![event()]), 0);
        assert_eq!(ingest.try_send(vec![event(), event()]), 2);
        assert_eq!(ingest.metrics.dropped.load(Relaxed), 2);
        assert_eq!(ingest.global.pending.load(Relaxed), 1);
        let chunk = rx.recv().await.unwrap();
        assert_eq!(chunk.events.len(), 1);
        assert_eq!(&*chunk.origin, "listener t");
    }
}
