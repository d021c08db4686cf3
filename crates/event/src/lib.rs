//! The netaudit event model.
//!
//! Pure data: no I/O, no async. [`Severity`], [`Facility`] and [`Priority`]
//! follow RFC 5424 section 6.2.1 (and Junos' names for severities);
//! [`Event`] is the owned record that the store keeps; [`catalog`] holds every
//! JUNOScope message of the seed chapter, compiled in.

pub mod catalog;
mod event;
mod priority;
mod radius_spec;
pub mod text_value;
pub mod user_name;

pub use catalog::{catalog, Catalog, CatalogEntry, CatalogError, EventContext, RenderedEvent};
pub use event::{CompactString, Event, Param, ToCompactString};
pub use priority::{Facility, Priority, PriorityError, Severity};
pub use user_name::{is_user_name, recorded_user_name};
