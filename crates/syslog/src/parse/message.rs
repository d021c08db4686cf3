//! What a parsed line is: [`SyslogMessage`] and its structured data, all
//! borrowing from the input.

use std::borrow::Cow;
use std::fmt;

use netaudit_event::Priority;

use crate::timestamp::Timestamp;

/// Which wire format a line was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME ...`), also without PRI or VERSION.
    Rfc5424,
    /// BSD syslog (RFC 3164, `<PRI>Mmm dd hh:mm:ss HOST TAG: MSG`).
    Rfc3164,
    /// The JUNOScope standard format.
    Junoscope,
}

impl Format {
    /// The format's name as configuration and the API spell it
    /// (`rfc5424`, `rfc3164`, `junoscope`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Junoscope => "junoscope",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed syslog message, borrowing from the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    /// The wire format the line was in.
    pub format: Format,
    /// Facility and severity from `<PRI>`; `None` without one.
    pub priority: Option<Priority>,
    /// RFC 5424 VERSION; `None` for BSD lines and headerless bodies.
    pub version: Option<u16>,
    /// When the event happened; `None` for a `-` (RFC 5424 NILVALUE).
    pub timestamp: Option<Timestamp>,
    /// RFC 5424 HOSTNAME or the BSD HOSTNAME; `None` when `-` or absent.
    pub hostname: Option<&'a str>,
    /// RFC 5424 APP-NAME, or the BSD TAG's program name.
    pub app_name: Option<&'a str>,
    /// RFC 5424 PROCID, or the BSD TAG's `[pid]`.
    pub proc_id: Option<&'a str>,
    /// RFC 5424 MSGID, or the Junos / JUNOScope TAG taken from a BSD MSG.
    pub msg_id: Option<&'a str>,
    /// The SD-ELEMENTs in order (empty for `-` and for BSD lines without
    /// a Junos structured-data body).
    pub structured_data: Vec<SdElement<'a>>,
    /// `None` when absent or empty.
    pub message: Option<&'a str>,
}

/// One SD-ELEMENT: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement<'a> {
    /// The SD-ID, e.g. `junos@2636.1.1.1.2.18`.
    pub id: &'a str,
    /// Its SD-PARAMs in order.
    pub params: Vec<SdParam<'a>>,
}

impl<'a> SdElement<'a> {
    /// The value of the first parameter with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_ref())
    }
}

/// One SD-PARAM; `value` is unescaped (`Borrowed` when it had no escape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParam<'a> {
    /// The PARAM-NAME.
    pub name: &'a str,
    /// The PARAM-VALUE, unescaped.
    pub value: Cow<'a, str>,
}

impl<'a> SyslogMessage<'a> {
    /// A message of `format` with nothing but its priority, for the
    /// dialects to fill in.
    pub(super) fn empty(format: Format, priority: Option<Priority>) -> Self {
        SyslogMessage {
            format,
            priority,
            version: None,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: Vec::new(),
            message: None,
        }
    }
}
