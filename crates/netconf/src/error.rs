//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong while framing, parsing or building NETCONF
/// messages and the Junos outbound-ssh header.
///
/// Offsets are byte offsets: in the stream for the framing errors (counted
/// from the first byte the decoder was given), in the message for the XML
/// errors, in the header for the outbound-ssh errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NetconfError {
    /// A chunk header (RFC 6242 section 4.2) breaks the grammar.
    #[error("chunked framing at stream offset {offset}: {what}")]
    ChunkGrammar {
        /// Where the offending byte is.
        offset: u64,
        /// What was expected there.
        what: &'static str,
    },
    /// A chunk announces more bytes than the decoder accepts.
    #[error(
        "chunked framing at stream offset {offset}: chunk size of at least {size} is over the \
         maximum of {max}"
    )]
    ChunkTooLarge {
        /// Where the chunk header starts.
        offset: u64,
        /// The size read when it was refused: the digits up to the first
        /// one that took it over the maximum (the rest is never read).
        size: u64,
        /// The largest chunk accepted.
        max: usize,
    },
    /// A message grew past the maximum message size before it ended.
    #[error(
        "message starting at stream offset {offset} is over the maximum of {max} bytes \
         and not terminated"
    )]
    MessageTooLarge {
        /// Where the message starts.
        offset: u64,
        /// The largest message accepted.
        max: usize,
    },
    /// The stream ended inside a message.
    #[error("stream ended at offset {offset} inside a message that was never terminated")]
    Truncated {
        /// Where the stream ended.
        offset: u64,
        /// The bytes left undecoded (a partial delimiter or chunk header).
        pending: usize,
    },
    /// The stream around a codec failed to read or write.
    #[error("stream error ({kind:?}): {detail}")]
    Io {
        /// The kind of the I/O error.
        kind: std::io::ErrorKind,
        /// Its message.
        detail: String,
    },
    /// A message to send cannot be framed.
    #[error("cannot frame a message: {0}")]
    Unframeable(&'static str),
    /// A message is not well-formed XML.
    #[error("malformed XML at offset {offset}: {detail}")]
    Xml {
        /// Where the reader stopped.
        offset: u64,
        /// The XML reader's message.
        detail: String,
    },
    /// A message is well-formed XML but not the NETCONF message expected.
    #[error("unexpected NETCONF content at offset {offset}: {what}")]
    Unexpected {
        /// Where the offending element or text starts.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A hello offers neither base:1.0 nor base:1.1 in common with netaudit.
    #[error(
        "hello at offset {offset} offers no NETCONF base capability netaudit speaks ({offered})"
    )]
    NoCommonBase {
        /// Where the hello element starts.
        offset: u64,
        /// The base capabilities offered (may be empty).
        offered: String,
    },
    /// The outbound-ssh header breaks its grammar or limits.
    #[error("outbound-ssh header at offset {offset}: {what}")]
    OutboundHeader {
        /// Where the offending line or byte is.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The HMAC of the outbound-ssh header does not match the secret.
    #[error("outbound-ssh header at offset {offset}: HMAC does not match the configured secret")]
    HmacMismatch {
        /// Where the `HMAC:` line starts.
        offset: u64,
    },
    /// A subscription filter is outside the documented subset.
    #[error("subscription filter at offset {offset}: {what}")]
    Filter {
        /// Where the offending element starts, in the message.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

impl From<std::io::Error> for NetconfError {
    /// Only the session around the codecs reads sockets; the codecs take
    /// its read errors through this variant (tokio-util requires it).
    fn from(err: std::io::Error) -> Self {
        NetconfError::Io {
            kind: err.kind(),
            detail: err.to_string(),
        }
    }
}

impl NetconfError {
    /// An [`NetconfError::Unexpected`] at `offset`.
    pub(crate) fn unexpected(offset: u64, what: impl Into<String>) -> Self {
        NetconfError::Unexpected {
            offset,
            what: what.into(),
        }
    }
}
