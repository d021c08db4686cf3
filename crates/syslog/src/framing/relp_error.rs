//! What can go wrong in a RELP session: a frame that breaks the grammar, a
//! response that cannot be read, a frame out of order. Every variant says
//! where (the stream byte offset, or the transaction number).

/// A byte shown for a log line: printable ASCII as itself, anything else in hex.
pub(crate) fn byte_name(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}' (0x{byte:02x})", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

/// Everything that can go wrong decoding, encoding or checking RELP frames.
/// None is recoverable: RELP's answer to a broken frame is closing the
/// session (librelp's doc/relp.html, "Error handling").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelpError {
    /// A byte that the frame grammar does not allow where it is.
    #[error("RELP frame at stream offset {frame_offset}: expected {expected} at offset {offset}, found {}", byte_name(*.found))]
    Unexpected {
        frame_offset: u64,
        offset: u64,
        expected: &'static str,
        found: u8,
    },
    /// TXNR or DATALEN with more than 9 digits.
    #[error("RELP frame at stream offset {frame_offset}: {field} at offset {offset} has more than 9 digits")]
    NumberTooLong {
        frame_offset: u64,
        offset: u64,
        field: &'static str,
    },
    /// A command name longer than 32 letters.
    #[error("RELP frame at stream offset {frame_offset}: command at offset {offset} is longer than 32 letters")]
    CommandTooLong { frame_offset: u64, offset: u64 },
    /// DATALEN above what this side takes.
    #[error("RELP frame at stream offset {frame_offset}: DATALEN {len} is over the maximum of {max} bytes")]
    DataTooLarge {
        frame_offset: u64,
        len: u64,
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("RELP stream ended inside the frame at stream offset {frame_offset} ({buffered} bytes of it received)")]
    Truncated { frame_offset: u64, buffered: usize },
    /// The decoder was called again after an error.
    #[error("RELP decoder stopped after an earlier error")]
    Stopped,
    /// A frame that cannot be encoded.
    #[error("RELP frame cannot be encoded: {reason}")]
    Unencodable { reason: String },
    /// The data of an `rsp` that does not start with a 3-digit status.
    #[error("RELP response to txnr {txnr}: {reason}")]
    BadResponse { txnr: u32, reason: String },
    /// An `open` without a usable `relp_version` offer, or one that cannot
    /// be read.
    #[error("RELP open (txnr {txnr}): {reason}")]
    BadOpen { txnr: u32, reason: String },
    /// A command sent before the session was opened.
    #[error(
        "RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} before 'open'"
    )]
    BeforeOpen {
        command: String,
        txnr: u32,
        frame_offset: u64,
    },
    /// A transaction number that does not follow the one before it.
    #[error("RELP txnr {found} at stream offset {frame_offset}: expected {expected} (transaction numbers go up by one)")]
    TxnrOutOfOrder {
        expected: u32,
        found: u32,
        frame_offset: u64,
    },
    /// A command this side does not take.
    #[error("RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} is not supported here")]
    UnsupportedCommand {
        command: String,
        txnr: u32,
        frame_offset: u64,
    },
    /// The stream under a `Framed` failed (tokio-util's codecs carry it).
    #[error("RELP stream read or write failed: {message}")]
    Io {
        kind: std::io::ErrorKind,
        message: String,
    },
    /// A command after `close`.
    #[error(
        "RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} after 'close'"
    )]
    AfterClose {
        command: String,
        txnr: u32,
        frame_offset: u64,
    },
}

impl From<std::io::Error> for RelpError {
    fn from(error: std::io::Error) -> Self {
        RelpError::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}
