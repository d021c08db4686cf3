//! What [`Store::append_batch`](crate::Store::append_batch) takes: an event
//! and whether its parameters are kept only in its raw bytes.

use netaudit_event::Event;
use netaudit_syslog::RawBackedEvent;

/// An event on its way into the store, with the store's one storage
/// decision about it: whether its parameters live only in its raw bytes
/// (encoding version 2, the `params` column `raw`; docs/store.md) or in
/// the encoding and the column (version 1).
///
/// Implemented for a plain [`Event`] (parameters held by the event), for
/// the syslog crate's [`RawBackedEvent`] (a received line) and for a
/// [`StoredEvent`](crate::StoredEvent) read back (as it was stored, which
/// is what verify re-encodes).
pub trait AppendEvent {
    /// The event's fields.
    fn event(&self) -> &Event;
    /// `true`: the parameters are those `netaudit_syslog::params_of` reads
    /// from the event's raw bytes, and `event().params` is not stored.
    fn params_in_raw(&self) -> bool;
}

impl AppendEvent for Event {
    fn event(&self) -> &Event {
        self
    }

    fn params_in_raw(&self) -> bool {
        false
    }
}

impl AppendEvent for RawBackedEvent {
    fn event(&self) -> &Event {
        &self.event
    }

    fn params_in_raw(&self) -> bool {
        self.params_in_raw
    }
}
