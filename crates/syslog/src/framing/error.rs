//! What can go wrong while framing, and how a codec reports it in stream
//! order.

use std::fmt;

use bytes::{Bytes, BytesMut};

use super::kind::{Framing, MAX_COUNT_DIGITS};

/// What was wrong with an octet count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OctetCountProblem {
    /// A frame must start with a digit 1-9.
    NotADigit {
        /// The byte found instead.
        found: u8,
    },
    /// `0` cannot start a count (RFC 6587: `NONZERO-DIGIT *DIGIT`).
    LeadingZero,
    /// More than [`MAX_COUNT_DIGITS`] digits.
    TooManyDigits,
    /// The digits must be followed by one SP.
    MissingSpace {
        /// The byte found instead.
        found: u8,
    },
    /// The count is above the codec's skip limit: the stream is taken to have
    /// lost its framing.
    BeyondSkipLimit {
        /// The declared count.
        len: u64,
        /// The most the codec skips before it gives up on the stream.
        limit: u64,
    },
}

impl fmt::Display for OctetCountProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OctetCountProblem::NotADigit { found } => {
                write!(
                    f,
                    "expected a digit 1-9 starting an octet count, found {}",
                    ByteName(found)
                )
            }
            OctetCountProblem::LeadingZero => f.write_str("an octet count cannot start with 0"),
            OctetCountProblem::TooManyDigits => {
                write!(f, "an octet count has at most {MAX_COUNT_DIGITS} digits")
            }
            OctetCountProblem::MissingSpace { found } => {
                write!(
                    f,
                    "expected SP after the octet count, found {}",
                    ByteName(found)
                )
            }
            OctetCountProblem::BeyondSkipLimit { len, limit } => write!(
                f,
                "count of {len} bytes is beyond the skip limit of {limit} bytes; \
                 the stream has probably lost its framing"
            ),
        }
    }
}

/// A byte shown for a log line: printable ASCII as itself, anything else in hex.
struct ByteName(u8);

impl fmt::Display for ByteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}' (0x{:02x})", char::from(self.0), self.0)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// Why a stream's first byte fits neither framing, when a guess is possible.
fn first_byte_hint(byte: u8) -> &'static str {
    match byte {
        // TLS record type 22 (handshake): a ClientHello.
        0x16 => "; this looks like a TLS handshake: is the client using TLS on a plain-TCP port?",
        // An SSLv2-compatible ClientHello starts with the high bit set.
        0x80 => "; this may be an SSLv2-style TLS ClientHello on a plain-TCP port",
        b'0' => "; an octet count cannot start with 0",
        b'G' | b'P' | b'H' => "; this may be an HTTP request on the syslog port",
        _ => "",
    }
}

fn too_large_message(framing: &Framing, len: &usize, max: &usize, offset: &u64) -> String {
    match framing {
        Framing::OctetCounting => format!(
            "octet-counted frame at stream offset {offset} declares {len} bytes, over the \
             maximum of {max}; its bytes are skipped"
        ),
        Framing::LfDelimited => format!(
            "LF-delimited line at stream offset {offset} is longer than the maximum of {max} \
             bytes; it is discarded up to the next LF"
        ),
    }
}

/// Everything that can go wrong framing or encoding a syslog stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// A frame longer than the codec's maximum. For octet counting `len` is
    /// the declared count; for an LF-delimited line it is the length known
    /// when the decoder gave up on it (exact when the line's terminator was
    /// in sight, otherwise a lower bound). `offset` is where the frame starts.
    #[error("{}", too_large_message(.framing, .len, .max, .offset))]
    FrameTooLarge {
        /// The framing the frame was read in.
        framing: Framing,
        /// Its length (declared, or known so far; see above).
        len: usize,
        /// The codec's maximum frame length.
        max: usize,
        /// Stream offset of the frame's first byte.
        offset: u64,
    },
    /// The octet count at `offset` (the offending byte) is malformed.
    #[error("bad octet count at stream offset {offset}: {detail}")]
    BadOctetCount {
        /// Stream offset of the offending byte.
        offset: u64,
        /// What was wrong.
        detail: OctetCountProblem,
    },
    /// The stream's first byte fits neither framing.
    #[error(
        "unrecognised stream framing at stream offset {offset}: first byte {}, expected a \
         digit 1-9 (octet counting) or '<' (LF-delimited){}",
        ByteName(*.byte),
        first_byte_hint(*.byte)
    )]
    UnrecognisedFraming {
        /// The first byte.
        byte: u8,
        /// Its stream offset.
        offset: u64,
    },
    /// The stream ended inside an octet-counted frame starting at `offset`.
    #[error("truncated frame: {received} of {expected} bytes at stream offset {offset}")]
    TruncatedFrame {
        /// Bytes of the frame that arrived.
        received: usize,
        /// Bytes its count declared.
        expected: usize,
        /// Stream offset of the frame's count.
        offset: u64,
    },
    /// The stream ended inside the octet count starting at `offset`.
    #[error("truncated frame: the stream ended inside the octet count at stream offset {offset}")]
    TruncatedOctetCount {
        /// Stream offset of the count's first digit.
        offset: u64,
    },
    /// The decoder was called again after an unrecoverable error.
    #[error(
        "framing stopped at stream offset {offset} after an unrecoverable error; the \
         connection should have been closed"
    )]
    Stopped {
        /// Stream offset where the decoder stopped.
        offset: u64,
    },
    /// Encoding: the message contains the LF-delimited framing's terminator
    /// (LF or NUL) or a CR at `position`, which would split it into two
    /// records.
    #[error(
        "cannot LF-frame a message containing {} at byte {position}",
        ByteName(*.byte)
    )]
    MessageContainsTerminator {
        /// The byte (LF, NUL or CR).
        byte: u8,
        /// Its offset in the message.
        position: usize,
    },
    /// Encoding: an empty message has no frame (octet counts start at 1, and
    /// an empty line is skipped).
    #[error("cannot frame an empty message")]
    EmptyMessage,
    /// Encoding: the message is longer than the codec's maximum frame.
    #[error("cannot frame a message of {len} bytes: the maximum is {max}")]
    MessageTooLarge {
        /// The message's length.
        len: usize,
        /// The codec's maximum frame length.
        max: usize,
    },
    /// Reading the stream failed.
    #[error("reading the stream failed: {0}")]
    Io(#[from] std::io::Error),
}

impl FramingError {
    /// Whether the codec can go on after this error. For decode errors: the
    /// stream stays usable and the decoder has skipped past the bad frame.
    /// For encode errors: nothing was written, the sink is intact. `false`
    /// means the connection should be closed.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            FramingError::FrameTooLarge { .. }
                | FramingError::MessageContainsTerminator { .. }
                | FramingError::EmptyMessage
                | FramingError::MessageTooLarge { .. }
        )
    }
}

/// Holds back a recoverable error until the buffer has no complete frame left
/// (see the module documentation for why).
#[derive(Debug, Default)]
pub(crate) struct DeferredError(Option<FramingError>);

impl DeferredError {
    /// Runs `step` (one frame, `None` for "need more input", or an error) until
    /// it yields a frame or needs input, reporting errors in stream order.
    pub(crate) fn drive(
        &mut self,
        buf: &mut BytesMut,
        mut step: impl FnMut(&mut BytesMut) -> Result<Option<Bytes>, FramingError>,
    ) -> Result<Option<Bytes>, FramingError> {
        // Each error consumes input and each frame returns, so this loop ends
        // within one pass over `buf`.
        loop {
            match step(buf) {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => return self.0.take().map_or(Ok(None), Err),
                Err(error) => {
                    if let Some(earlier) = self.0.replace(error) {
                        return Err(earlier);
                    }
                    if !self.0.as_ref().is_some_and(FramingError::is_recoverable) {
                        return self.0.take().map_or(Ok(None), Err);
                    }
                }
            }
        }
    }
}
