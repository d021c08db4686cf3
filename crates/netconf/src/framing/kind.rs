//! What the framing decoders deliver, the two framings and their limits.

use bytes::Bytes;

/// The delimiter of NETCONF 1.0 end-of-message framing (RFC 6242 section 4.3).
pub const END_OF_MESSAGE: &[u8] = b"]]>]]>";

/// The largest chunk size RFC 6242 allows (section 4.2: 4294967295).
pub const RFC_MAX_CHUNK: u64 = 4_294_967_295;

/// Default maximum chunk size netaudit accepts: 1 MiB. RFC 6242 allows up
/// to 4 GB; a peer that announces more than this is refused as soon as the
/// size is read, before any of its data is buffered.
pub const DEFAULT_MAX_CHUNK: usize = 1 << 20;

/// Default maximum size of one assembled message: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// How messages are delimited on the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Framing {
    /// NETCONF 1.0: each message ends with `]]>]]>`. Always used for the
    /// hello exchange.
    EndOfMessage,
    /// NETCONF 1.1: `\n#<size>\n<data>` chunks, the message ends with `\n##\n`.
    Chunked,
}

/// One piece of a framed stream: data of the current message, or its end.
///
/// The concatenation of the `Data` pieces between two `End`s is one message,
/// whatever the reads were; the pieces themselves follow the reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Bytes of the current message (never empty).
    Data(Bytes),
    /// The current message is complete.
    End,
}
