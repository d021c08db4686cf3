//! What a parsed line is: [`SyslogMessage`] and its structured data, all
//! borrowing from the input.

use std::borrow::Cow;
use std::fmt;

use netaudit_event::Priority;

use crate::timestamp::Timestamp;

/// Which wire format a line was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    Junoscope,
}

impl Format {
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
    pub format: Format,
    pub priority: Option<Priority>,
    /// RFC 5424 VERSION; `None` for BSD lines and headerless bodies.
    pub version: Option<u16>,
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    pub app_name: Option<&'a str>,
    pub proc_id: Option<&'a str>,
    /// RFC 5424 MSGID, or the Junos / JUNOScope TAG taken from a BSD MSG.
    pub msg_id: Option<&'a str>,
    pub structured_data: Vec<SdElement<'a>>,
    /// `None` when absent or empty.
    pub message: Option<&'a str>,
}

/// One SD-ELEMENT: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a str,
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
    pub name: &'a str,
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
