//! The RFC 5277 stream list: the `<get>` that asks for it and the `<data>`
//! that answers (section 3.4, namespace `urn:ietf:params:xml:ns:netmod:notification`).

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::datetime::{format_time, parse_time};
use crate::error::NetconfError;
use crate::xml::{escape_text, Element};

/// The namespace of the stream list.
pub const STREAMS_NS: &str = "urn:ietf:params:xml:ns:netmod:notification";

/// The `<get>` operation asking for the stream list, to wrap in an `<rpc>`.
pub fn get_streams_xml() -> String {
    format!(
        r#"<get><filter type="subtree"><netconf xmlns="{STREAMS_NS}"><streams/></netconf></filter></get>"#
    )
}

/// Whether a `<get>` operation asks for the stream list: no filter, or a
/// subtree filter selecting `<netconf>` or `<netconf><streams/>`.
pub fn asks_for_streams(get: &Element<'_>) -> bool {
    let Some(filter) = get.child("filter") else {
        return true;
    };
    if filter.attribute("type").is_some_and(|t| t != "subtree") {
        return false;
    }
    matches!(filter.children.as_slice(), [netconf] if netconf.name == "netconf"
        && netconf.children.iter().all(|c| c.name == "streams"))
}

/// One stream of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// Its name (`NETCONF`, `syslog`).
    pub name: String,
    /// What it carries.
    pub description: String,
    /// Whether `startTime` replay is supported.
    pub replay_support: bool,
    /// The oldest time replay can reach, when it is supported.
    pub replay_log_creation_time: Option<OffsetDateTime>,
}

/// The `<data>` answering the stream list.
pub fn streams_data_xml(streams: &[StreamInfo]) -> String {
    let mut out = format!(r#"<data><netconf xmlns="{STREAMS_NS}"><streams>"#);
    for s in streams {
        let _ = write!(
            out,
            "<stream><name>{}</name><description>{}</description><replaySupport>{}</replaySupport>",
            escape_text(&s.name),
            escape_text(&s.description),
            s.replay_support
        );
        if let Some(t) = s.replay_log_creation_time {
            let _ = write!(
                out,
                "<replayLogCreationTime>{}</replayLogCreationTime>",
                format_time(t)
            );
        }
        out.push_str("</stream>");
    }
    out.push_str("</streams></netconf></data>");
    out
}

/// Reads the stream list from a reply's `<data>` element.
///
/// # Errors
///
/// A missing `<netconf><streams>`, a stream without a name, a
/// `replaySupport` other than `true`/`false`, a time that is not RFC 3339.
pub fn parse_streams(data: &Element<'_>) -> Result<Vec<StreamInfo>, NetconfError> {
    let streams = data
        .child("netconf")
        .and_then(|n| n.child("streams"))
        .ok_or_else(|| NetconfError::unexpected(data.offset, "no <netconf><streams> in <data>"))?;
    let mut out = Vec::new();
    for s in streams.children.iter().filter(|c| c.name == "stream") {
        let name = s
            .child("name")
            .map(|n| n.trimmed_text())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| NetconfError::unexpected(s.offset, "<stream> without <name>"))?;
        let replay_support = match s.child("replaySupport").map(|r| r.trimmed_text()) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(NetconfError::unexpected(
                    s.offset,
                    format!("replaySupport {other:?} is not true or false"),
                ))
            }
        };
        out.push(StreamInfo {
            name: name.to_string(),
            description: s
                .child("description")
                .map(|d| d.trimmed_text().to_string())
                .unwrap_or_default(),
            replay_support,
            replay_log_creation_time: s
                .child("replayLogCreationTime")
                .map(parse_time)
                .transpose()?,
        });
    }
    Ok(out)
}
