//! The canonical, versioned, length-prefixed binary encoding of an event:
//! the bytes the chain's HMAC covers (docs/store.md, "Chain encoding").
//!
//! Every integer is big-endian; every string or byte string is a u32 length
//! followed by the bytes; every optional field is a one-byte tag (0 absent,
//! 1 present) followed by the value when present.

use netaudit_event::Event;

/// Version byte at the start of every encoding.
pub const ENCODING_VERSION: u8 = 1;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths above u32::MAX cannot be stored by SQLite either (its limit is
    // 1 GB by default), so saturating keeps this total without a panic path.
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
    }
}

fn put_opt_u8(out: &mut Vec<u8>, value: Option<u8>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.push(v);
        }
    }
}

/// Appends the canonical encoding of `event` to `out`.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    out.push(ENCODING_VERSION);
    out.extend_from_slice(&event.received_ns.to_be_bytes());
    match event.time_ns {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
    put_opt_str(out, event.host.as_deref());
    put_opt_str(out, event.app.as_deref());
    put_opt_str(out, event.pid.as_deref());
    put_opt_u8(out, event.facility.map(|f| f.code()));
    put_opt_u8(out, event.severity.map(|s| s.code()));
    put_opt_str(out, event.code.as_deref());
    put_opt_str(out, event.user.as_deref());
    put_opt_str(out, event.client_addr.as_deref());
    put_opt_str(out, event.device.as_deref());
    put_opt_str(out, event.operation.as_deref());
    let count = u32::try_from(event.params.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    for param in &event.params {
        put_bytes(out, param.sd_id.as_bytes());
        put_bytes(out, param.name.as_bytes());
        put_bytes(out, param.value.as_bytes());
    }
    put_opt_str(out, event.message.as_deref());
    put_bytes(out, &event.raw);
    put_opt_str(out, event.parse_error.as_deref());
}

/// Events with their canonical encodings and stored parameter text,
/// computed ahead of the append (on any thread) so that the store's single
/// writer only chains and inserts them.
#[derive(Debug, Default)]
pub struct PreparedBatch {
    events: Vec<Event>,
    pub(crate) encoded: Encoded,
}

impl PreparedBatch {
    pub fn new(events: Vec<Event>) -> PreparedBatch {
        PreparedBatch::new_in(events, PreparedBatch::default())
    }

    /// Prepares `events` in the buffers of `spent` (a batch done with, see
    /// [`PreparedBatch::take_events`]): a steady stream of batches then
    /// reuses the same memory instead of asking the system for more.
    pub fn new_in(events: Vec<Event>, spent: PreparedBatch) -> PreparedBatch {
        let mut encoded = spent.encoded;
        encoded.fill(&events);
        PreparedBatch { events, encoded }
    }

    /// Takes the events out, leaving the buffers for [`PreparedBatch::new_in`].
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// The encodings and parameter texts of a slice of events, each kind in
/// one buffer (kept across batches by [`PreparedBatch::new_in`]).
#[derive(Debug, Default)]
pub(crate) struct Encoded {
    bytes: Vec<u8>,
    /// Where each event's encoding ends in `bytes`.
    ends: Vec<usize>,
    text: String,
    /// Each event's parameters as stored, in `text` (none without any).
    params: Vec<Option<std::ops::Range<usize>>>,
}

impl Encoded {
    pub(crate) fn of(events: &[Event]) -> Encoded {
        let mut encoded = Encoded::default();
        encoded.fill(events);
        encoded
    }

    /// Replaces the contents with `events`' encodings, reserving all the
    /// room at once.
    fn fill(&mut self, events: &[Event]) {
        self.bytes.clear();
        self.ends.clear();
        self.text.clear();
        self.params.clear();
        // No sizing pass over the events (a walk over megabytes that costs
        // about what the encoding does): recycled buffers already have the
        // room, and a fresh one doubles a few times at most.
        self.ends.reserve(events.len());
        self.params.reserve(events.len());
        for event in events {
            encode_event(event, &mut self.bytes);
            self.ends.push(self.bytes.len());
            let start = self.text.len();
            let written = crate::rows::push_params_json(&mut self.text, &event.params);
            self.params.push(written.then_some(start..self.text.len()));
        }
    }

    /// Event `i`'s canonical encoding and its parameters as stored.
    pub(crate) fn get(&self, i: usize) -> (&[u8], Option<&str>) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let params = self.params[i]
            .as_ref()
            .and_then(|range| self.text.get(range.clone()));
        (&self.bytes[start..self.ends[i]], params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_event::{Facility, Param, Severity};

    #[test]
    fn absent_and_empty_fields_encode_differently() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        encode_event(&Event::default(), &mut a);
        encode_event(
            &Event {
                host: Some(String::new().into()),
                ..Event::default()
            },
            &mut b,
        );
        assert_ne!(a, b);
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        // "ab" + "c" and "a" + "bc" must not collide.
        let one = Event {
            host: Some("ab".into()),
            app: Some("c".into()),
            ..Event::default()
        };
        let two = Event {
            host: Some("a".into()),
            app: Some("bc".into()),
            ..Event::default()
        };
        let (mut a, mut b) = (Vec::new(), Vec::new());
        encode_event(&one, &mut a);
        encode_event(&two, &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn known_encoding_is_stable() {
        let event = Event {
            received_ns: 1,
            time_ns: Some(2),
            host: Some("h".into()),
            facility: Some(Facility::Local2),
            severity: Some(Severity::Error),
            params: vec![Param {
                sd_id: "s".into(),
                name: "n".into(),
                value: "v".into(),
            }],
            raw: b"r".to_vec(),
            ..Event::default()
        };
        let mut out = Vec::new();
        encode_event(&event, &mut out);
        let expected = hex::decode(concat!(
            "01",               // version
            "0000000000000001", // received_ns
            "01",
            "0000000000000002", // time_ns
            "01",
            "00000001",
            "68", // host "h"
            "00",
            "00", // app, pid
            "01",
            "12",
            "01",
            "03", // facility 18, severity 3
            "00",
            "00",
            "00",
            "00",
            "00", // code, user, client, device, operation
            "00000001",
            "00000001",
            "73",
            "00000001",
            "6e",
            "00000001",
            "76", // params
            "00", // message
            "00000001",
            "72", // raw
            "00"  // parse_error
        ))
        .unwrap();
        assert_eq!(out, expected);
    }
}
