//! Junos syslog, both ways: a zero-copy parser for what devices and
//! applications send, byte-exact writers for the JUNOScope standard format and
//! the Junos RFC 5424 structured-data format, and RFC 6587 stream framing.
//!
//! No I/O and no async here; the framing codecs implement tokio-util's
//! `Decoder`/`Encoder` traits over byte buffers only.

pub mod format;
pub mod forward;
pub mod framing;
pub mod parse;
pub mod timestamp;

pub use format::{write_standard, write_structured, StandardOptions, StructuredOptions};
pub use forward::{
    raw_text, sequence_id, write_forwarded, ForwardFormat, NETAUDIT_SD_ID, SEQUENCE_ID_MAX,
    UNPARSED_PARAM,
};
pub use framing::{Framing, FramingError, LfDelimitedCodec, OctetCountingCodec, SyslogStreamCodec};
pub use parse::{
    params_of, parse, Format, ParseError, ParseErrorKind, ParseOptions, RawBackedEvent, SdElement,
    SdParam, SyslogMessage,
};
pub use timestamp::{Timestamp, YearRule};
