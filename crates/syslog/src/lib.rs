//! Junos syslog, both ways: a zero-copy parser for what devices and
//! applications send, byte-exact writers for the JUNOScope standard format and
//! the Junos RFC 5424 structured-data format, and RFC 6587 stream framing.
//!
//! No I/O and no async here; the framing codecs implement tokio-util's
//! `Decoder`/`Encoder` traits over byte buffers only.

pub mod format;

pub use format::{write_standard, write_structured, StandardOptions, StructuredOptions};
