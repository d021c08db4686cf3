//! Formatting stored events for an output: the configured format and the
//! output's facility; the rest (the RFC 5424 `meta sequenceId` that lets a
//! receiver drop the duplicates at-least-once delivery allows, how a
//! message that did not parse is sent) is the syslog crate's forwarded
//! form (`netaudit_syslog::write_forwarded`), which signed archives write
//! too.

use netaudit_event::{Event, Facility};
use netaudit_syslog::{write_forwarded, ForwardFormat};

use crate::config::{OutputFormat, SyslogOutputConfig};

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
    pub(crate) fn write(&self, seq: u64, event: &mut Event, out: &mut Vec<u8>) {
        if let Some(facility) = self.facility {
            event.facility = Some(facility);
        }
        let format = match self.format {
            OutputFormat::Standard => ForwardFormat::Standard {
                with_pri: self.standard_pri,
            },
            OutputFormat::Structured => ForwardFormat::Structured,
            OutputFormat::Brief => ForwardFormat::Brief,
        };
        write_forwarded(seq, event, format, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_event::{Param, Severity};

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
}
