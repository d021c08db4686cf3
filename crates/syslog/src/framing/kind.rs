//! Which framing a stream uses, and the limits every codec shares.

use std::fmt;

use bytes::BytesMut;

/// Largest frame a codec built with `Default` delivers. Junos messages are a
/// few hundred bytes; RFC 5425 asks receivers to take at least 2,048 and
/// recommends 8,192.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Largest oversized octet-counted frame a codec built with `Default` skips
/// instead of giving up on the stream. A larger count almost certainly means
/// the stream lost its framing, and skipping it would silently eat the
/// messages that follow.
pub const DEFAULT_MAX_SKIP: u64 = 16 * 1024 * 1024;

/// Longest octet count accepted, in digits (RFC 6587 sets no limit; ten digits
/// is already far above any skip limit).
pub const MAX_COUNT_DIGITS: usize = 10;

/// The two RFC 6587 framings; `octet-counting` or `lf` in a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// `MSG-LEN SP SYSLOG-MSG`.
    OctetCounting,
    /// One message per line (non-transparent framing).
    #[serde(rename = "lf")]
    LfDelimited,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framing::OctetCounting => "octet-counted",
            Framing::LfDelimited => "LF-delimited",
        })
    }
}

/// Drops one trailing LF, and a CR before it, from an octet-counted frame.
pub(crate) fn strip_line_end(frame: &mut BytesMut) {
    if frame.last() == Some(&b'\n') {
        frame.truncate(frame.len() - 1);
        if frame.last() == Some(&b'\r') {
            frame.truncate(frame.len() - 1);
        }
    }
}
