//! Formatting stored events for an output: the configured format, the
//! output's facility, and the RFC 5424 `meta sequenceId` that lets a receiver
//! drop the duplicates at-least-once delivery allows.
//!
//! A message that did not parse is stored with its raw bytes and the parse
//! error; it is forwarded with the raw content as its text (invalid UTF-8
//! bytes as `#` and three octal digits, control characters escaped by the
//! writers as for any text) and, in the structured and brief formats, the
//! SD element `[netaudit@32473 unparsed="<parse error>"]` that marks it.

use netaudit_event::{Event, Facility, Param, ToCompactString};
use netaudit_syslog::{write_standard, write_structured, StandardOptions, StructuredOptions};

use crate::config::{OutputFormat, SyslogOutputConfig};
use crate::self_events::NETAUDIT_SD_ID;

/// The SD-PARAM of [`NETAUDIT_SD_ID`] that marks a forwarded message that
/// did not parse; its value is the parse error.
pub(crate) const UNPARSED_PARAM: &str = "unparsed";

/// RFC 5424 section 7.3.1: sequenceId runs from 1 to 2147483647, then
/// starts again at 1.
pub(crate) const SEQUENCE_ID_MAX: u64 = 2_147_483_647;

/// The `meta sequenceId` written for store sequence number `seq` (>= 1):
/// equal to `seq` up to 2147483647, then wrapping as RFC 5424 asks.
pub(crate) fn sequence_id(seq: u64) -> u64 {
    (seq.saturating_sub(1) % SEQUENCE_ID_MAX) + 1
}

/// How one output writes its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputFormatter {
    pub format: OutputFormat,
    /// Written in the PRI of every event (syslog outputs); `None` keeps the
    /// event's own facility (audit files).
    pub facility: Option<Facility>,
    /// `<PRI>` before the standard format (network); files have none.
    pub standard_pri: bool,
}

impl OutputFormatter {
    /// How a syslog output writes: its format, its facility in every PRI.
    pub(crate) fn of_syslog_output(config: &SyslogOutputConfig) -> OutputFormatter {
        OutputFormatter {
            format: config.format,
            facility: Some(config.facility),
            standard_pri: true,
        }
    }

    /// Appends `event` (store sequence `seq`) to `out`, without framing or
    /// line end. The event is modified in place (facility, meta element):
    /// the caller owns a copy read from the store.
    ///
    /// Structured and brief messages carry `[meta sequenceId="N"]` as their
    /// last SD element; a `sequenceId` the original sender put in its own
    /// `meta` element is replaced (the store keeps it in the raw message), so
    /// that the element holds exactly one, ours. Other `meta` parameters
    /// (e.g. `sysUpTime`) are kept in that element.
    pub(crate) fn write(&self, seq: u64, event: &mut Event, out: &mut Vec<u8>) {
        if let Some(facility) = self.facility {
            event.facility = Some(facility);
        }
        if let Some(error) = event.parse_error.take() {
            if event.message.is_none() {
                event.message = Some(raw_text(&event.raw).into());
            }
            if self.format != OutputFormat::Standard {
                event.params.push(Param {
                    sd_id: NETAUDIT_SD_ID.into(),
                    name: UNPARSED_PARAM.into(),
                    value: error,
                });
            }
        }
        match self.format {
            OutputFormat::Standard => write_standard(
                event,
                &StandardOptions {
                    with_pri: self.standard_pri,
                },
                out,
            ),
            OutputFormat::Structured | OutputFormat::Brief => {
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
                        brief: self.format == OutputFormat::Brief,
                    },
                    out,
                );
            }
        }
    }
}

/// Raw bytes as text: valid UTF-8 kept, each byte of an invalid sequence
/// as `#` and its three octal digits (`0xFF` is `#377`), as rsyslog writes
/// the bytes it escapes. Control characters are left to the writers, which
/// escape them in every text.
pub(crate) fn raw_text(raw: &[u8]) -> String {
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
    use netaudit_event::Severity;

    fn junos_event() -> Event {
        Event {
            received_ns: 1_171_531_035_719_000_000,
            time_ns: Some(1_171_531_035_719_000_000),
            host: Some("router1".into()),
            app: Some("mgd".into()),
            pid: Some("3046".into()),
            facility: Some(Facility::Local0),
            severity: Some(Severity::Notice),
            code: Some("UI_DBASE_LOGOUT_EVENT".into()),
            params: vec![Param {
                sd_id: "junos@2636.1.1.1.2.18".into(),
                name: "username".into(),
                value: "regress".into(),
            }],
            message: Some("User 'regress' exiting configuration mode".into()),
            ..Event::default()
        }
    }

    fn render(format: OutputFormat, facility: Option<Facility>, seq: u64, event: Event) -> String {
        let mut event = event;
        let mut out = Vec::new();
        OutputFormatter {
            format,
            facility,
            standard_pri: true,
        }
        .write(seq, &mut event, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn structured_carries_meta_sequence_id_and_the_output_facility() {
        assert_eq!(
            render(
                OutputFormat::Structured,
                Some(Facility::Local2),
                42,
                junos_event()
            ),
            "<149>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT \
             [junos@2636.1.1.1.2.18 username=\"regress\"][meta sequenceId=\"42\"] \
             User 'regress' exiting configuration mode"
        );
        assert_eq!(
            render(OutputFormat::Brief, None, 7, junos_event()),
            "<133>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT \
             [junos@2636.1.1.1.2.18 username=\"regress\"][meta sequenceId=\"7\"]"
        );
    }

    #[test]
    fn standard_has_no_sequence_id() {
        assert_eq!(
            render(
                OutputFormat::Standard,
                Some(Facility::Local2),
                42,
                junos_event()
            ),
            "<149>Feb 15 09:17:15 router1 mgd[3046]: UI_DBASE_LOGOUT_EVENT: \
             User 'regress' exiting configuration mode"
        );
    }

    #[test]
    fn a_senders_own_sequence_id_is_replaced_other_meta_kept() {
        let mut event = junos_event();
        event.params.push(Param {
            sd_id: "meta".into(),
            name: "sequenceId".into(),
            value: "999".into(),
        });
        event.params.push(Param {
            sd_id: "meta".into(),
            name: "sysUpTime".into(),
            value: "37".into(),
        });
        let line = render(OutputFormat::Structured, None, 5, event);
        assert!(
            line.contains("[meta sysUpTime=\"37\" sequenceId=\"5\"]"),
            "{line}"
        );
        assert!(!line.contains("999"), "{line}");
    }

    #[test]
    fn an_event_without_params_gets_only_the_meta_element() {
        let event = Event {
            received_ns: 0,
            code: Some("X".into()),
            ..Event::default()
        };
        assert_eq!(
            render(OutputFormat::Structured, Some(Facility::Local2), 1, event),
            "<149>1 - - - - X [meta sequenceId=\"1\"]"
        );
    }

    #[test]
    fn raw_bytes_become_text_with_invalid_bytes_in_octal() {
        assert_eq!(raw_text(b"abc"), "abc");
        assert_eq!(raw_text(b"a\xffb\xc3"), "a#377b#303");
        assert_eq!(raw_text("é\n".as_bytes()), "é\n");
        assert_eq!(raw_text(b""), "");
    }

    #[test]
    fn unparsed_messages_carry_their_raw_content_and_a_mark() {
        let unparsed = || Event {
            received_ns: 1_171_531_035_719_000_000,
            raw: b"<13>1 - h a - - - bad\xff\nbyte".to_vec(),
            parse_error: Some("invalid UTF-8 at byte 21".into()),
            ..Event::default()
        };
        assert_eq!(
            render(
                OutputFormat::Standard,
                Some(Facility::Local2),
                3,
                unparsed()
            ),
            "<149>Feb 15 09:17:15 - -: <13>1 - h a - - - bad#377#012byte"
        );
        assert_eq!(
            render(
                OutputFormat::Structured,
                Some(Facility::Local2),
                3,
                unparsed()
            ),
            "<149>1 - - - - - [netaudit@32473 unparsed=\"invalid UTF-8 at byte 21\"]\
             [meta sequenceId=\"3\"] <13>1 - h a - - - bad#377#012byte"
        );
        assert_eq!(
            render(OutputFormat::Brief, Some(Facility::Local2), 3, unparsed()),
            "<149>1 - - - - - [netaudit@32473 unparsed=\"invalid UTF-8 at byte 21\"]\
             [meta sequenceId=\"3\"]"
        );
    }

    #[test]
    fn sequence_id_wraps_as_rfc5424_says() {
        assert_eq!(sequence_id(1), 1);
        assert_eq!(sequence_id(2_147_483_647), 2_147_483_647);
        assert_eq!(sequence_id(2_147_483_648), 1);
        assert_eq!(sequence_id(0), 1);
    }
}
