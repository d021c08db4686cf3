//! RFC 5277 `<create-subscription>`: stream, filter, startTime, stopTime.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::datetime::{format_time, parse_time};
use crate::error::NetconfError;
use crate::filter::{parse_filter, EventFilter};
use crate::xml::{escape_text, Element};

/// The RFC 5277 notification namespace (also of `<create-subscription>`).
pub const NOTIFICATION_NS: &str = "urn:ietf:params:xml:ns:netconf:notification:1.0";

/// The stream a subscription without `<stream>` gets (RFC 5277 section 3.2.3).
pub const DEFAULT_STREAM: &str = "NETCONF";

/// A checked `<create-subscription>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateSubscription {
    /// The stream; `None` means [`DEFAULT_STREAM`].
    pub stream: Option<String>,
    /// The event filter, in netaudit's subset.
    pub filter: Option<EventFilter>,
    /// Replay from this time (requires the stream to support replay).
    pub start_time: Option<OffsetDateTime>,
    /// End the subscription at this time (requires `start_time`).
    pub stop_time: Option<OffsetDateTime>,
}

impl CreateSubscription {
    /// The stream asked for, or the default.
    pub fn stream_name(&self) -> &str {
        self.stream.as_deref().unwrap_or(DEFAULT_STREAM)
    }

    /// The operation element, to wrap in an `<rpc>`.
    pub fn to_xml(&self) -> String {
        let mut out = format!(r#"<create-subscription xmlns="{NOTIFICATION_NS}">"#);
        if let Some(stream) = &self.stream {
            let _ = write!(out, "<stream>{}</stream>", escape_text(stream));
        }
        if let Some(filter) = &self.filter {
            out.push_str(&filter.to_xml());
        }
        if let Some(start) = self.start_time {
            let _ = write!(out, "<startTime>{}</startTime>", format_time(start));
        }
        if let Some(stop) = self.stop_time {
            let _ = write!(out, "<stopTime>{}</stopTime>", format_time(stop));
        }
        out.push_str("</create-subscription>");
        out
    }
}

/// Parses a `<create-subscription>` element.
///
/// # Errors
///
/// An unknown or repeated child, an empty stream name, a filter outside the
/// subset, a time that is not RFC 3339, a `stopTime` without `startTime` or
/// not later than it (RFC 5277 section 2.1.1).
pub fn parse_create_subscription(op: &Element<'_>) -> Result<CreateSubscription, NetconfError> {
    let mut sub = CreateSubscription::default();
    let mut seen: Vec<&str> = Vec::new();
    for child in &op.children {
        if seen.contains(&child.name) {
            return Err(NetconfError::unexpected(
                child.offset,
                format!("<{}> is repeated in <create-subscription>", child.name),
            ));
        }
        seen.push(child.name);
        match child.name {
            "stream" => {
                let name = child.trimmed_text();
                if name.is_empty() {
                    return Err(NetconfError::unexpected(child.offset, "empty <stream>"));
                }
                sub.stream = Some(name.to_string());
            }
            "filter" => sub.filter = Some(parse_filter(child)?),
            "startTime" => sub.start_time = Some(parse_time(child)?),
            "stopTime" => sub.stop_time = Some(parse_time(child)?),
            other => {
                return Err(NetconfError::unexpected(
                    child.offset,
                    format!("unknown element <{other}> in <create-subscription>"),
                ))
            }
        }
    }
    match (sub.start_time, sub.stop_time) {
        (None, Some(_)) => Err(NetconfError::unexpected(
            op.offset,
            "<stopTime> without <startTime> (RFC 5277 section 2.1.1)",
        )),
        (Some(start), Some(stop)) if stop <= start => Err(NetconfError::unexpected(
            op.offset,
            "<stopTime> is not later than <startTime>",
        )),
        _ => Ok(sub),
    }
}
