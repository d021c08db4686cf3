//! `format = ...` of the syslog and file outputs.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OutputFormat {
    /// The JUNOScope standard (BSD-style) line.
    #[default]
    Standard,
    /// Junos RFC 5424 structured-data.
    Structured,
    /// The brief form: code and message only.
    Brief,
}
