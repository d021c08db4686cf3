//! The owned event record: what the store keeps and the outputs format.

use serde::{Deserialize, Serialize};

use crate::{Facility, Severity};

pub use compact_str::{CompactString, ToCompactString};

/// One structured parameter: SD-ID, name and (unescaped) value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The SD-ID of the element the parameter is in.
    pub sd_id: CompactString,
    /// The PARAM-NAME.
    pub name: CompactString,
    /// The value, unescaped.
    pub value: CompactString,
}

/// An audit event as netaudit stores it.
///
/// Times are Unix nanoseconds (UTC) so that the record stays a plain value
/// type; `None` stands for "unknown" (a hyphen in the syslog formats).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When netaudit received the event (Unix nanoseconds, UTC).
    pub received_ns: i64,
    /// When the event happened, as the sender said (Unix nanoseconds, UTC).
    pub time_ns: Option<i64>,
    /// The sender's host name (RFC 5424 HOSTNAME).
    pub host: Option<CompactString>,
    /// The sending application (RFC 5424 APP-NAME).
    pub app: Option<CompactString>,
    /// The sender's process id (RFC 5424 PROCID).
    pub pid: Option<CompactString>,
    /// The syslog facility, where known.
    pub facility: Option<Facility>,
    /// The syslog severity, where known.
    pub severity: Option<Severity>,
    /// Catalog code or Junos tag (RFC 5424 MSGID), e.g. `JUNOSCOPE_LOGIN_FAILURE`.
    pub code: Option<CompactString>,
    /// The acting user, where known.
    pub user: Option<CompactString>,
    /// The client address the action came from, where known.
    pub client_addr: Option<CompactString>,
    /// The device the event concerns, where known.
    pub device: Option<CompactString>,
    /// The operation (archive, scan, restore ...) the event belongs to.
    pub operation: Option<CompactString>,
    /// Structured parameters in their original order.
    pub params: Vec<Param>,
    /// The English message text.
    pub message: Option<CompactString>,
    /// The raw bytes as received (empty for events submitted through the API).
    pub raw: Vec<u8>,
    /// Why the raw line could not be parsed, if it could not.
    pub parse_error: Option<CompactString>,
}

impl Event {
    /// The first parameter with this name, in any SD element.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}
