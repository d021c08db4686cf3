//! The framing codecs behind tokio-util's `FramedRead`, over in-memory
//! readers: what a TCP listener sees, without a socket.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use netaudit_syslog::framing::{
    Framing, FramingError, LfDelimitedCodec, OctetCountingCodec, SyslogStreamCodec,
};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio_util::codec::{Decoder, FramedRead};

const GIB: u64 = 1 << 30;

/// One piece of a generated stream.
enum Piece {
    Bytes(&'static [u8]),
    /// `count` copies of `byte`, produced as they are read.
    Repeat {
        byte: u8,
        count: u64,
    },
}

/// A reader that produces its stream piece by piece, so a gigabyte line
/// costs no gigabyte of memory. Reads return at most `max_read` bytes.
struct GeneratedStream {
    pieces: std::vec::IntoIter<Piece>,
    current: Option<Piece>,
    max_read: usize,
    produced: u64,
}

impl GeneratedStream {
    fn new(pieces: Vec<Piece>, max_read: usize) -> Self {
        let mut pieces = pieces.into_iter();
        let current = pieces.next();
        GeneratedStream {
            pieces,
            current,
            max_read,
            produced: 0,
        }
    }
}

impl AsyncRead for GeneratedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        const FILL: usize = 64 * 1024;
        let this = self.get_mut();
        let room = buf.remaining().min(this.max_read);
        let written = match &mut this.current {
            None => 0,
            Some(Piece::Bytes(bytes)) => {
                let n = room.min(bytes.len());
                let (now, later) = bytes.split_at(n);
                buf.put_slice(now);
                *bytes = later;
                n
            }
            Some(Piece::Repeat { byte, count }) => {
                let n = room.min(FILL).min(usize::try_from(*count).unwrap_or(FILL));
                let fill = [*byte; FILL];
                buf.put_slice(&fill[..n]);
                *count -= n as u64;
                n
            }
        };
        this.produced += written as u64;
        let exhausted = match &this.current {
            Some(Piece::Bytes(bytes)) => bytes.is_empty(),
            Some(Piece::Repeat { count, .. }) => *count == 0,
            None => false,
        };
        if exhausted {
            this.current = this.pieces.next();
        }
        Poll::Ready(Ok(()))
    }
}

/// Passes decoding through and records the largest decode buffer seen, to
/// check that memory stays bounded.
struct BufferWatch<D> {
    inner: D,
    max_capacity: usize,
    calls: u64,
}

impl<D> BufferWatch<D> {
    fn new(inner: D) -> Self {
        BufferWatch {
            inner,
            max_capacity: 0,
            calls: 0,
        }
    }
}

impl<D: Decoder<Item = Bytes, Error = FramingError>> Decoder for BufferWatch<D> {
    type Item = Bytes;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        self.max_capacity = self.max_capacity.max(buf.capacity());
        self.calls += 1;
        self.inner.decode(buf)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FramingError> {
        self.max_capacity = self.max_capacity.max(buf.capacity());
        self.calls += 1;
        self.inner.decode_eof(buf)
    }
}

/// Everything a `FramedRead` yields until the end of the stream, continuing
/// past recoverable errors (and the `None` that follows each).
async fn collect<R, D>(frames: &mut FramedRead<R, D>) -> (Vec<Bytes>, Vec<FramingError>)
where
    R: AsyncRead + Unpin,
    D: Decoder<Item = Bytes, Error = FramingError>,
{
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    // Bounded: every test stream holds fewer than 1000 frames and errors.
    for _ in 0..1000 {
        match frames.next().await {
            Some(Ok(frame)) => ok.push(frame),
            Some(Err(error)) => {
                let recoverable = error.is_recoverable();
                errors.push(error);
                if !recoverable {
                    break;
                }
                assert!(
                    frames.next().await.is_none(),
                    "FramedRead pauses after an error"
                );
            }
            None => break,
        }
    }
    (ok, errors)
}

const MAX_FRAME: usize = 64 * 1024;

#[tokio::test]
async fn gigabyte_line_is_reported_once_in_bounded_memory_then_the_next_frame_decodes() {
    let started = Instant::now();
    let stream = GeneratedStream::new(
        vec![
            Piece::Bytes(b"<13>first\n"),
            Piece::Bytes(b"<13>"),
            Piece::Repeat {
                byte: b'a',
                count: GIB,
            },
            Piece::Bytes(b"\r\n<13>after\n"),
        ],
        usize::MAX,
    );
    let codec = BufferWatch::new(SyslogStreamCodec::new(MAX_FRAME));
    let mut frames = FramedRead::new(stream, codec);
    let (ok, errors) = collect(&mut frames).await;

    assert_eq!(ok, [&b"<13>first"[..], b"<13>after"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(
        errors[0],
        FramingError::FrameTooLarge {
            framing: Framing::LfDelimited,
            max: MAX_FRAME,
            offset: 10,
            ..
        }
    ));
    let total = 10 + 4 + GIB + 12;
    assert_eq!(
        frames.get_ref().produced,
        total,
        "the whole stream was read"
    );
    assert_eq!(frames.decoder().inner.stream_offset(), total);
    let watch = frames.decoder();
    assert!(
        watch.max_capacity <= 2 * (MAX_FRAME + 2),
        "decode buffer grew to {} bytes",
        watch.max_capacity
    );
    eprintln!(
        "1 GiB line: {:?}, {} decode calls, largest buffer {} bytes",
        started.elapsed(),
        watch.calls,
        watch.max_capacity
    );
}

#[tokio::test]
async fn gigabyte_octet_counted_frame_is_skipped_without_buffering() {
    let started = Instant::now();
    let stream = GeneratedStream::new(
        vec![
            Piece::Bytes(b"5 first1073741824 "),
            Piece::Repeat {
                byte: b'z',
                count: GIB,
            },
            Piece::Bytes(b"5 after"),
        ],
        usize::MAX,
    );
    let codec = SyslogStreamCodec::new(MAX_FRAME).with_max_skip(2 * GIB);
    let mut frames = FramedRead::new(stream, BufferWatch::new(codec));
    let (ok, errors) = collect(&mut frames).await;

    assert_eq!(ok, [&b"first"[..], b"after"]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(
        errors[0],
        FramingError::FrameTooLarge {
            framing: Framing::OctetCounting,
            len: 1_073_741_824,
            offset: 7,
            ..
        }
    ));
    assert!(errors[0].to_string().contains("declares 1073741824 bytes"));
    let watch = frames.decoder();
    assert!(
        watch.max_capacity <= 2 * (MAX_FRAME + 2),
        "{}",
        watch.max_capacity
    );
    eprintln!("1 GiB octet-counted frame: {:?}", started.elapsed());
}

#[tokio::test]
async fn count_beyond_the_skip_limit_closes_the_stream() {
    let stream = GeneratedStream::new(vec![Piece::Bytes(b"3 abc999999999 xyz3 def")], 4);
    let mut frames = FramedRead::new(stream, SyslogStreamCodec::new(100));
    let (ok, errors) = collect(&mut frames).await;
    assert_eq!(ok, [&b"abc"[..]]);
    assert_eq!(errors.len(), 1);
    assert!(!errors[0].is_recoverable());
    assert!(errors[0]
        .to_string()
        .starts_with("bad octet count at stream offset 5:"));
}

/// A frame that arrives in the same read as an oversized one is delivered
/// at once, not held until the sender writes again.
#[tokio::test]
async fn frame_after_an_oversized_one_is_not_held_back_by_an_idle_sender() {
    for wire in [
        &b"<13>this line is too long for the limit\n<13>next\n"[..],
        b"37 this frame is too long for the limit!4 next",
    ] {
        let (mut client, server) = tokio::io::duplex(4096);
        client.write_all(wire).await.unwrap();
        // `client` stays open and silent.
        let mut frames = FramedRead::new(server, SyslogStreamCodec::new(16));
        let first = tokio::time::timeout(Duration::from_secs(5), frames.next())
            .await
            .expect("the frame after the oversized one arrives without more input");
        let first = first.unwrap().unwrap();
        assert!(first.ends_with(b"next"), "{first:?}");
        let error = frames.next().await.unwrap().unwrap_err();
        assert!(matches!(
            error,
            FramingError::FrameTooLarge { offset: 0, .. }
        ));
        drop(client);
        assert!(frames.next().await.is_none());
        assert!(frames.next().await.is_none());
    }
}

#[tokio::test]
async fn tls_handshake_on_a_plain_port_is_named_and_closes_the_stream() {
    let (mut client, server) = tokio::io::duplex(4096);
    // The start of a TLS 1.2 ClientHello record.
    client
        .write_all(b"\x16\x03\x01\x00\xf8\x01\x00\x00\xf4\x03\x03")
        .await
        .unwrap();
    let mut frames = FramedRead::new(server, SyslogStreamCodec::default());
    let error = frames.next().await.unwrap().unwrap_err();
    assert!(!error.is_recoverable());
    assert!(matches!(
        error,
        FramingError::UnrecognisedFraming {
            byte: 0x16,
            offset: 0
        }
    ));
    assert!(
        error.to_string().contains("looks like a TLS handshake"),
        "{error}"
    );
}

#[tokio::test]
async fn truncated_octet_frame_at_eof_is_reported() {
    let (mut client, server) = tokio::io::duplex(4096);
    client.write_all(b"4 <13>20 <13>only part").await.unwrap();
    drop(client);
    let mut frames = FramedRead::new(server, SyslogStreamCodec::default());
    let (ok, errors) = collect(&mut frames).await;
    assert_eq!(ok, [&b"<13>"[..]]);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "truncated frame: 13 of 20 bytes at stream offset 6"
    );
}

/// Both framings written by a task in small, uneven writes, read back whole.
#[tokio::test]
async fn frames_written_in_pieces_over_a_duplex_read_back_in_order() {
    let messages: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "<{}>netaudit message {i} {}",
                8 + i % 180,
                "x".repeat(i % 97)
            )
        })
        .collect();
    for framing in [Framing::OctetCounting, Framing::LfDelimited] {
        let mut wire = BytesMut::new();
        for message in &messages {
            match framing {
                Framing::OctetCounting => {
                    tokio_util::codec::Encoder::encode(
                        &mut OctetCountingCodec::default(),
                        message.as_bytes(),
                        &mut wire,
                    )
                    .unwrap();
                }
                Framing::LfDelimited => {
                    tokio_util::codec::Encoder::encode(
                        &mut LfDelimitedCodec::default(),
                        message.as_bytes(),
                        &mut wire,
                    )
                    .unwrap();
                }
            }
        }
        let wire = wire.freeze();
        let (mut client, server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            let mut rest = &wire[..];
            let mut size = 1;
            while !rest.is_empty() {
                let (now, later) = rest.split_at(size.min(rest.len()));
                client.write_all(now).await.unwrap();
                rest = later;
                size = size % 37 + 1;
            }
        });
        let mut frames = FramedRead::new(server, SyslogStreamCodec::default());
        let (ok, errors) = collect(&mut frames).await;
        writer.await.unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(ok.len(), messages.len());
        for (frame, message) in ok.iter().zip(&messages) {
            assert_eq!(&frame[..], message.as_bytes());
        }
        assert_eq!(frames.decoder().framing(), Some(framing));
    }
}
