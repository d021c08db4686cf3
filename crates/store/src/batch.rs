//! A batch prepared for the append: its canonical encodings and stored
//! parameter texts, computed before the writer's lock is taken.

use netaudit_event::Event;

use crate::append_event::AppendEvent;
use crate::encoding::{decode_event, encode_event, DecodeError};
use crate::params_column::{push_params_json, PARAMS_IN_RAW};

/// A batch's canonical encodings and stored parameter texts, computed
/// ahead of the append (on any thread) so that the store's single writer
/// only chains and inserts them. The events are not kept: the writer binds
/// every column from the encoding (the very bytes the chain covers), so the
/// events can be freed where they were encoded, while the writer works.
#[derive(Debug, Default)]
pub struct PreparedBatch {
    pub(crate) encoded: Encoded,
}

impl PreparedBatch {
    /// Encodes `events` into fresh buffers.
    pub fn new<E: AppendEvent>(events: &[E]) -> PreparedBatch {
        PreparedBatch::new_in(events, PreparedBatch::default())
    }

    /// Prepares `events` in the buffers of `spent` (a batch done with): a
    /// steady stream of batches then reuses the same memory instead of
    /// asking the system for more.
    pub fn new_in<E: AppendEvent>(events: &[E], spent: PreparedBatch) -> PreparedBatch {
        let mut encoded = spent.encoded;
        encoded.fill(events);
        PreparedBatch { encoded }
    }

    /// How many events the batch holds.
    pub fn len(&self) -> usize {
        self.encoded.len()
    }

    /// Whether the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// Event `i`'s canonical encoding (the bytes its chain value covers)
    /// and its parameters as the params column stores them; for a store
    /// that binds its columns from the encoding, as the embedded writer
    /// does (the PostgreSQL node writer). Panics when `i >= len()`.
    pub fn encoding(&self, i: usize) -> (&[u8], Option<&str>) {
        self.encoded.get(i)
    }

    /// The events back from their encodings, in order (for checks and
    /// tests; the store never needs them). Events whose parameters are in
    /// their raw bytes come back without them (see [`decode_event`]).
    ///
    /// [`decode_event`]: crate::decode_event
    pub fn decode_events(&self) -> Result<Vec<Event>, DecodeError> {
        (0..self.len())
            .map(|i| decode_event(self.encoded.get(i).0))
            .collect()
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
    pub(crate) fn of<E: AppendEvent>(events: &[E]) -> Encoded {
        let mut encoded = Encoded::default();
        encoded.fill(events);
        encoded
    }

    /// Replaces the contents with `events`' encodings, reserving all the
    /// room at once.
    fn fill<E: AppendEvent>(&mut self, events: &[E]) {
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
            let written = if event.params_in_raw() {
                self.text.push_str(PARAMS_IN_RAW);
                true
            } else {
                push_params_json(&mut self.text, &event.event().params)
            };
            self.params.push(written.then_some(start..self.text.len()));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
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
