//! The mapping from a parsed line to the owned [`Event`] the store keeps.

use netaudit_event::{CompactString, Event, Param};

use super::message::SyslogMessage;

/// An event mapped from a parsed line, and where its parameters are: in
/// `event.params`, or only in `event.raw` (what the store keeps of a
/// received line; the flag is a storage decision, not part of the event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBackedEvent {
    /// The event; `params` is empty when `params_in_raw` is set.
    pub event: Event,
    /// The parameters are those [`params_of`](super::params_of) reads from
    /// `event.raw`, and `event.params` is empty. `false` for an event that
    /// holds all its parameters itself (or has none).
    pub params_in_raw: bool,
}

impl From<Event> for RawBackedEvent {
    /// An event that holds its parameters itself (catalog and API events,
    /// unparsable lines).
    fn from(event: Event) -> RawBackedEvent {
        RawBackedEvent {
            event,
            params_in_raw: false,
        }
    }
}

impl SyslogMessage<'_> {
    /// The owned event for the store.
    ///
    /// Mapping: host/app/pid/facility/severity/message as parsed, `code` =
    /// `msg_id`, `time_ns` = timestamp; every SD param goes to `params` in
    /// order. The first param named `username` or `user` fills `user`,
    /// `client-address` or `source-address` fills `client_addr`, and
    /// `device`, `device-name` or `device_name` fills `device` (first match
    /// wins, in SD order).
    pub fn to_event(&self, received_ns: i64, raw: &[u8]) -> Event {
        let mut event = self.to_raw_backed_event(received_ns, raw).event;
        event.params = self.params();
        event
    }

    /// As [`SyslogMessage::to_event`], but the parameters stay in `raw`
    /// ([`RawBackedEvent::params_in_raw`] set, `params` empty) when there
    /// are any: the store keeps them only there and reads them back with
    /// [`params_of`](super::params_of). The fields `to_event` takes from
    /// parameters (`user`, `client_addr`, `device`) are filled the same
    /// way; no parameter is copied.
    pub fn to_raw_backed_event(&self, received_ns: i64, raw: &[u8]) -> RawBackedEvent {
        let first = |names: &[&str]| {
            self.structured_data
                .iter()
                .flat_map(|element| element.params.iter())
                .find(|p| names.contains(&p.name))
                .map(|p| CompactString::new(&p.value))
        };
        let event = Event {
            received_ns,
            time_ns: self.timestamp.map(|t| t.unix_nanos()),
            host: self.hostname.map(CompactString::new),
            app: self.app_name.map(CompactString::new),
            pid: self.proc_id.map(CompactString::new),
            facility: self.priority.map(|p| p.facility),
            severity: self.priority.map(|p| p.severity),
            code: self.msg_id.map(CompactString::new),
            user: first(&["username", "user"]),
            client_addr: first(&["client-address", "source-address"]),
            device: first(&["device", "device-name", "device_name"]),
            operation: None,
            params: Vec::new(),
            message: self.message.map(CompactString::new),
            raw: raw.to_vec(),
            parse_error: None,
        };
        RawBackedEvent {
            event,
            params_in_raw: self.structured_data.iter().any(|e| !e.params.is_empty()),
        }
    }

    /// Every SD parameter, owned, in order.
    pub fn params(&self) -> Vec<Param> {
        let mut params = Vec::new();
        for element in &self.structured_data {
            for p in &element.params {
                params.push(Param {
                    sd_id: CompactString::new(element.id),
                    name: CompactString::new(p.name),
                    value: CompactString::new(&p.value),
                });
            }
        }
        params
    }
}
