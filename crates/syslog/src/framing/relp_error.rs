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
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
        /// Stream offset of the byte or field at fault.
        offset: u64,
        /// What the grammar allows there.
        expected: &'static str,
        /// The byte found instead.
        found: u8,
    },
    /// TXNR or DATALEN with more than 9 digits.
    #[error("RELP frame at stream offset {frame_offset}: {field} at offset {offset} has more than 9 digits")]
    NumberTooLong {
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
        /// Stream offset of the byte or field at fault.
        offset: u64,
        /// Which number: `TXNR` or `DATALEN`.
        field: &'static str,
    },
    /// A command name longer than 32 letters.
    #[error("RELP frame at stream offset {frame_offset}: command at offset {offset} is longer than 32 letters")]
    CommandTooLong {
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
        /// Stream offset of the byte or field at fault.
        offset: u64,
    },
    /// DATALEN above what this side takes.
    #[error("RELP frame at stream offset {frame_offset}: DATALEN {len} is over the maximum of {max} bytes")]
    DataTooLarge {
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
        /// The DATALEN the frame announced.
        len: u64,
        /// The largest DATALEN this side takes.
        max: usize,
    },
    /// The stream ended inside a frame.
    #[error("RELP stream ended inside the frame at stream offset {frame_offset} ({buffered} bytes of it received)")]
    Truncated {
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
        /// How many bytes of the frame had arrived.
        buffered: usize,
    },
    /// The decoder was called again after an error.
    #[error("RELP decoder stopped after an earlier error")]
    Stopped,
    /// A frame that cannot be encoded.
    #[error("RELP frame cannot be encoded: {reason}")]
    Unencodable {
        /// What is wrong with it.
        reason: String,
    },
    /// The data of an `rsp` that does not start with a 3-digit status.
    #[error("RELP response to txnr {txnr}: {reason}")]
    BadResponse {
        /// The transaction number of the frame.
        txnr: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// An `open` without a usable `relp_version` offer, or one that cannot
    /// be read.
    #[error("RELP open (txnr {txnr}): {reason}")]
    BadOpen {
        /// The transaction number of the frame.
        txnr: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// A command sent before the session was opened.
    #[error(
        "RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} before 'open'"
    )]
    BeforeOpen {
        /// The command name as received.
        command: String,
        /// The transaction number of the frame.
        txnr: u32,
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
    },
    /// A transaction number that does not follow the one before it.
    #[error("RELP txnr {found} at stream offset {frame_offset}: expected {expected} (transaction numbers go up by one)")]
    TxnrOutOfOrder {
        /// The transaction number that should have come.
        expected: u32,
        /// The transaction number that came.
        found: u32,
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
    },
    /// A command this side does not take.
    #[error("RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} is not supported here")]
    UnsupportedCommand {
        /// The command name as received.
        command: String,
        /// The transaction number of the frame.
        txnr: u32,
        /// Stream offset of the first byte of the frame.
        frame_offset: u64,
    },
    /// The stream under a `Framed` failed (tokio-util's codecs carry it).
    #[error("RELP stream read or write failed: {message}")]
    Io {
        /// The I/O error kind.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
    /// A command after `close`.
    #[error(
        "RELP command '{command}' (txnr {txnr}) at stream offset {frame_offset} after 'close'"
    )]
    AfterClose {
        /// The command name as received.
        command: String,
        /// The transaction number of the frame.
        txnr: u32,
        /// Stream offset of the first byte of the frame.
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
