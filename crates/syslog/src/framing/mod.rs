//! RFC 6587 stream framing as tokio-util codecs.
//!
//! Three decoders, all `Decoder<Item = Bytes, Error = FramingError>`:
//!
//! * [`OctetCountingCodec`]: `MSG-LEN SP SYSLOG-MSG` (RFC 6587 3.4.1, RFC 5425).
//! * [`LfDelimitedCodec`]: non-transparent framing, one message per line
//!   (RFC 6587 3.4.2).
//! * [`SyslogStreamCodec`]: picks one of the two per stream from its first
//!   byte: a digit `1`-`9` means octet counting, `<` (the start of a PRI) means
//!   LF-delimited, anything else is [`FramingError::UnrecognisedFraming`].
//!
//! # What the decoders accept
//!
//! * LF-delimited: a frame ends at LF or at NUL (RFC 6587 3.4.2 names NUL as a
//!   trailer some senders use; no syslog message contains one). A CR before
//!   the LF is dropped, so CR LF works. Empty lines are skipped. At the end of
//!   the stream an unterminated last line is delivered as a frame: losing a
//!   sender's last audit message because its newline was missing is worse
//!   than accepting it.
//! * Octet counting: the count is 1 to 10 digits without a leading zero,
//!   followed by exactly one SP. One trailing LF (or CR LF) *inside* the
//!   counted bytes is stripped: syslog-ng's `loggen -d` sends such frames. CR
//!   and LF bytes *between* frames are skipped, because some senders put a
//!   newline after each counted frame. A frame left empty is skipped.
//!
//! The maximum frame size bounds what is delivered: an LF-delimited line
//! without its terminator and CR, an octet-counted frame by its count (the
//! stripped LF included, since the count is all that is known up front).
//! At most one partial frame is ever buffered.
//!
//! # Errors and recovery
//!
//! Every error names the stream byte offset where the problem is.
//! [`FramingError::is_recoverable`] says whether decoding can go on:
//!
//! * An oversized LF-delimited line is reported once; the decoder then
//!   discards bytes up to the next terminator without buffering them and
//!   resumes there.
//! * An oversized octet-counted frame is reported once; the decoder then
//!   counts down its bytes as they arrive, never buffering them, and resumes
//!   after it. A count over the codec's skip limit
//!   ([`DEFAULT_MAX_SKIP`] unless set) is taken as a desynchronised stream:
//!   [`FramingError::BadOctetCount`], not recoverable.
//! * Anything else read from the stream (a bad count, an unrecognised first
//!   byte, a truncated frame at EOF) is not recoverable: close the connection.
//!   A decoder that is called again after such an error discards its input
//!   and answers [`FramingError::Stopped`].
//!
//! A recoverable error is returned when the buffer holds no further complete
//! frame, so frames that follow the bad one in the same read come first.
//! This matters with `FramedRead`: after yielding an error it yields `None`
//! once and then reads from the socket before decoding again, so an error
//! returned earlier would hold back frames already received until the
//! sender writes again. Errors keep stream order among themselves.
//!
//! With `FramedRead`, keep polling after a recoverable error; the single
//! `None` that follows it is not the end of the stream:
//!
//! ```
//! # async fn read_all<R: tokio::io::AsyncRead + Unpin>(reader: R) {
//! use futures::StreamExt;
//! use netaudit_syslog::framing::SyslogStreamCodec;
//! use tokio_util::codec::FramedRead;
//!
//! let mut frames = FramedRead::new(reader, SyslogStreamCodec::default());
//! while let Some(item) = frames.next().await {
//!     match item {
//!         Ok(frame) => println!("{} bytes", frame.len()),
//!         Err(error) if error.is_recoverable() => {
//!             eprintln!("{error}");
//!             // FramedRead answers `None` once after any error: not the end.
//!             let paused = frames.next().await;
//!             debug_assert!(paused.is_none());
//!         }
//!         Err(error) => {
//!             eprintln!("{error}"); // and close the connection
//!             break;
//!         }
//!     }
//! }
//! # }
//! ```

mod error;
mod kind;
mod lf;
mod octet;
mod relp;
mod relp_error;
mod relp_session;
mod stream;

pub use error::{FramingError, OctetCountProblem};
pub use kind::{Framing, DEFAULT_MAX_FRAME, DEFAULT_MAX_SKIP, MAX_COUNT_DIGITS};
pub use lf::LfDelimitedCodec;
pub use octet::OctetCountingCodec;
pub use relp::{
    next_txnr, RelpCodec, RelpCommand, RelpFrame, DEFAULT_MAX_RELP_DATA, MAX_COMMAND_LEN,
    MAX_DATALEN, MAX_TXNR,
};
pub use relp_error::RelpError;
pub use relp_session::{Offers, RelpResponse, ServerSession, ServerStep, RELP_VERSION};
pub use stream::SyslogStreamCodec;

#[cfg(test)]
pub(crate) mod test_support {
    //! Drives a decoder the way a reader would, over given chunks.

    use bytes::{Bytes, BytesMut};
    use tokio_util::codec::Decoder;

    use super::FramingError;

    /// What a decoder made of a stream: frames and error messages, each in
    /// order, and whether it stopped on an unrecoverable error.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub(crate) struct Outcome {
        pub frames: Vec<Bytes>,
        pub errors: Vec<String>,
        pub stopped: bool,
    }

    fn drain<D>(decoder: &mut D, buf: &mut BytesMut, at_eof: bool, out: &mut Outcome) -> bool
    where
        D: Decoder<Item = Bytes, Error = FramingError>,
    {
        // A decoder makes progress on every call, so a stream of n bytes
        // yields well under 2n + 8 results.
        for _ in 0..(2 * buf.len() + 8) {
            let result = if at_eof {
                decoder.decode_eof(buf)
            } else {
                decoder.decode(buf)
            };
            match result {
                Ok(Some(frame)) => out.frames.push(frame),
                Ok(None) => return true,
                Err(error) => {
                    let recoverable = error.is_recoverable();
                    out.errors.push(error.to_string());
                    if !recoverable {
                        out.stopped = true;
                        return false;
                    }
                }
            }
        }
        panic!("decoder made no progress");
    }

    /// Feeds `chunks` one after the other, then signals EOF.
    pub(crate) fn decode_chunks<'a, D>(
        mut decoder: D,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Outcome
    where
        D: Decoder<Item = Bytes, Error = FramingError>,
    {
        let mut out = Outcome::default();
        let mut buf = BytesMut::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            if !drain(&mut decoder, &mut buf, false, &mut out) {
                return out;
            }
        }
        drain(&mut decoder, &mut buf, true, &mut out);
        out
    }

    /// Splits `data` into chunks of the given sizes (cycled; zero counts as 1).
    pub(crate) fn split_by<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = data;
        let mut i = 0;
        while !rest.is_empty() {
            let size = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .max(1);
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            chunks.push(chunk);
            rest = tail;
            i += 1;
        }
        chunks
    }

    pub(crate) fn frames(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::kind::strip_line_end;
    use super::*;

    #[test]
    fn error_messages_name_the_offset_and_the_problem() {
        let tls = FramingError::UnrecognisedFraming {
            byte: 0x16,
            offset: 0,
        };
        let text = tls.to_string();
        assert!(text.contains("stream offset 0"), "{text}");
        assert!(text.contains("0x16"), "{text}");
        assert!(text.contains("looks like a TLS handshake"), "{text}");

        let count = FramingError::BadOctetCount {
            offset: 1234,
            detail: OctetCountProblem::NotADigit { found: b'x' },
        };
        assert_eq!(
            count.to_string(),
            "bad octet count at stream offset 1234: expected a digit 1-9 starting an octet \
             count, found 'x' (0x78)"
        );

        let truncated = FramingError::TruncatedFrame {
            received: 3,
            expected: 10,
            offset: 77,
        };
        assert_eq!(
            truncated.to_string(),
            "truncated frame: 3 of 10 bytes at stream offset 77"
        );

        let large = FramingError::FrameTooLarge {
            framing: Framing::OctetCounting,
            len: 5000,
            max: 4096,
            offset: 9,
        };
        assert!(large.to_string().contains("declares 5000 bytes"));
        assert!(large.to_string().contains("maximum of 4096"));
        assert!(large.to_string().contains("offset 9"));
    }

    #[test]
    fn recoverability() {
        let large = FramingError::FrameTooLarge {
            framing: Framing::LfDelimited,
            len: 10,
            max: 5,
            offset: 0,
        };
        assert!(large.is_recoverable());
        assert!(FramingError::EmptyMessage.is_recoverable());
        for fatal in [
            FramingError::BadOctetCount {
                offset: 0,
                detail: OctetCountProblem::LeadingZero,
            },
            FramingError::UnrecognisedFraming {
                byte: 0x16,
                offset: 0,
            },
            FramingError::TruncatedFrame {
                received: 1,
                expected: 2,
                offset: 0,
            },
            FramingError::TruncatedOctetCount { offset: 0 },
            FramingError::Stopped { offset: 0 },
            FramingError::Io(std::io::Error::other("reset")),
        ] {
            assert!(!fatal.is_recoverable(), "{fatal}");
        }
    }

    #[test]
    fn strip_line_end_drops_one_lf_and_its_cr() {
        for (input, expected) in [
            (&b"abc\n"[..], &b"abc"[..]),
            (b"abc\r\n", b"abc"),
            (b"abc\n\n", b"abc\n"),
            (b"abc\r", b"abc\r"),
            (b"abc", b"abc"),
            (b"\n", b""),
        ] {
            let mut frame = BytesMut::from(input);
            strip_line_end(&mut frame);
            assert_eq!(&frame[..], expected);
        }
    }
}
