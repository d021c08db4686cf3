//! A stored event as netaudit forwards it (syslog outputs, audit files,
//! signed archives): in the chosen format, RFC 5424 formats carrying
//! `[meta sequenceId="N"]` from the store's sequence number, and a message
//! that did not parse sent with its raw content as its text and, in the
//! RFC 5424 formats, the SD element `[netaudit@32473 unparsed="<error>"]`.

use netaudit_event::{Event, Param, ToCompactString};

use crate::format::{write_standard, write_structured, StandardOptions, StructuredOptions};

/// SD-ID of the parameters netaudit adds to events (private enterprise
/// number placeholder of RFC 5424's examples).
pub const NETAUDIT_SD_ID: &str = "netaudit@32473";

/// The SD-PARAM of [`NETAUDIT_SD_ID`] that marks a forwarded message that
/// did not parse; its value is the parse error.
pub const UNPARSED_PARAM: &str = "unparsed";

/// RFC 5424 section 7.3.1: sequenceId runs from 1 to 2147483647, then
/// starts again at 1.
pub const SEQUENCE_ID_MAX: u64 = 2_147_483_647;

/// The `meta sequenceId` written for store sequence number `seq` (>= 1):
/// equal to `seq` up to 2147483647, then wrapping as RFC 5424 asks.
pub fn sequence_id(seq: u64) -> u64 {
    (seq.saturating_sub(1) % SEQUENCE_ID_MAX) + 1
}

/// The format a stored event is forwarded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardFormat {
    /// The JUNOScope standard line.
    Standard {
        /// `<PRI>` first: the network form (files have none).
        with_pri: bool,
    },
    /// Junos RFC 5424 structured-data.
    Structured,
    /// Structured without the English text.
    Brief,
}

/// Appends `event` (store sequence `seq`) to `out` in `format`, without
/// framing or line end. The event is modified in place (meta element,
/// unparsed marker): the caller owns a copy read from the store.
///
/// RFC 5424 messages carry `[meta sequenceId="N"]` as their last SD
/// element; a `sequenceId` the original sender put in its own `meta`
/// element is replaced (the store keeps it in the raw message), so that
/// the element holds exactly one, ours. Other `meta` parameters (e.g.
/// `sysUpTime`) are kept in that element.
pub fn write_forwarded(seq: u64, event: &mut Event, format: ForwardFormat, out: &mut Vec<u8>) {
    if let Some(error) = event.parse_error.take() {
        if event.message.is_none() {
            event.message = Some(raw_text(&event.raw).into());
        }
        if !matches!(format, ForwardFormat::Standard { .. }) {
            event.params.push(Param {
                sd_id: NETAUDIT_SD_ID.into(),
                name: UNPARSED_PARAM.into(),
                value: error,
            });
        }
    }
    match format {
        ForwardFormat::Standard { with_pri } => {
            write_standard(event, &StandardOptions { with_pri }, out)
        }
        ForwardFormat::Structured | ForwardFormat::Brief => {
            event
                .params
                .retain(|p| !(p.sd_id == "meta" && p.name == "sequenceId"));
            event.params.push(Param {
                sd_id: "meta".into(),
                name: "sequenceId".into(),
                value: sequence_id(seq).to_compact_string(),
            });
            write_structured(
                event,
                &StructuredOptions {
                    brief: format == ForwardFormat::Brief,
                },
                out,
            );
        }
    }
}

/// Raw bytes as text: valid UTF-8 kept, each byte of an invalid sequence
/// as `#` and its three octal digits (`0xFF` is `#377`), as rsyslog writes
/// the bytes it escapes. Control characters are left to the writers, which
/// escape them in every text.
pub fn raw_text(raw: &[u8]) -> String {
    let mut text = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        text.push_str(chunk.valid());
        for &b in chunk.invalid() {
            text.push('#');
            for shift in [6, 3, 0] {
                text.push(char::from(b'0' + ((b >> shift) & 0o7)));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_become_text_with_invalid_bytes_in_octal() {
        assert_eq!(raw_text(b"abc"), "abc");
        assert_eq!(raw_text(b"a\xffb\xc3"), "a#377b#303");
        assert_eq!(raw_text("é\n".as_bytes()), "é\n");
        assert_eq!(raw_text(b""), "");
    }

    #[test]
    fn sequence_id_wraps_as_rfc5424_says() {
        assert_eq!(sequence_id(1), 1);
        assert_eq!(sequence_id(2_147_483_647), 2_147_483_647);
        assert_eq!(sequence_id(2_147_483_648), 1);
        assert_eq!(sequence_id(0), 1);
    }
}
