//! RFC 6241 `<rpc>`: the requests netaudit sends as a client and answers as
//! a server, with their message-id.

use std::borrow::Cow;

use crate::error::NetconfError;
use crate::hello::BASE_NS;
use crate::streams::asks_for_streams;
use crate::subscription::{parse_create_subscription, CreateSubscription};
use crate::syslog_events::{parse_get_syslog_events, GetSyslogEvents};
use crate::xml::{escape_text, parse_document};

/// The longest message-id accepted.
pub const MAX_MESSAGE_ID: usize = 256;

/// The operation an `<rpc>` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation<'a> {
    /// `<get>` of the RFC 5277 stream list.
    GetStreams,
    /// RFC 5277 `<create-subscription>`.
    CreateSubscription(CreateSubscription),
    /// Junos `<get-syslog-events>`.
    GetSyslogEvents(GetSyslogEvents),
    /// `<close-session/>`.
    CloseSession,
    /// Any other operation (answered `operation-not-supported`).
    Other {
        /// Its local name.
        name: &'a str,
    },
}

/// A parsed `<rpc>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc<'a> {
    /// Its message-id, echoed in the reply.
    pub message_id: Cow<'a, str>,
    /// What it asks for.
    pub operation: Operation<'a>,
}

/// Parses an `<rpc>` message.
///
/// # Errors
///
/// Malformed XML, a root other than `rpc`, a missing, empty or over-long
/// message-id (RFC 6241 section 4.1 requires one), not exactly one
/// operation element, and the errors of the operation's own parser.
pub fn parse_rpc(message: &[u8]) -> Result<Rpc<'_>, NetconfError> {
    let root = parse_document(message)?;
    if root.name != "rpc" {
        return Err(NetconfError::unexpected(
            root.offset,
            format!("expected <rpc>, found <{}>", root.name),
        ));
    }
    let message_id = root
        .attribute("message-id")
        .filter(|id| !id.is_empty() && id.len() <= MAX_MESSAGE_ID)
        .cloned()
        .ok_or_else(|| {
            NetconfError::unexpected(
                root.offset,
                format!("<rpc> without a message-id of 1 to {MAX_MESSAGE_ID} bytes"),
            )
        })?;
    let [op] = root.children.as_slice() else {
        return Err(NetconfError::unexpected(
            root.offset,
            format!(
                "<rpc> with {} operation elements, expected one",
                root.children.len()
            ),
        ));
    };
    let operation = match op.name {
        "get" if asks_for_streams(op) => Operation::GetStreams,
        "create-subscription" => Operation::CreateSubscription(parse_create_subscription(op)?),
        "get-syslog-events" => Operation::GetSyslogEvents(parse_get_syslog_events(op)?),
        "close-session" => Operation::CloseSession,
        name => Operation::Other { name },
    };
    Ok(Rpc {
        message_id,
        operation,
    })
}

/// An `<rpc>` message around `operation` (already escaped XML, e.g.
/// [`CreateSubscription::to_xml`]).
pub fn rpc_xml(message_id: &str, operation: &str) -> String {
    format!(
        r#"<rpc xmlns="{BASE_NS}" message-id="{}">{operation}</rpc>"#,
        escape_text(message_id)
    )
}

/// The `<close-session/>` operation.
pub const CLOSE_SESSION: &str = "<close-session/>";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{EventFilter, EventMatch};
    use crate::streams::get_streams_xml;
    use netaudit_event::Severity;
    use time::macros::datetime;

    #[test]
    fn operations_round_trip() {
        let sub = CreateSubscription {
            stream: Some("syslog".into()),
            filter: Some(
                EventFilter::new(vec![EventMatch {
                    code: Some("UI_LOGIN_EVENT".into()),
                    severity: Some(Severity::Info),
                    host: None,
                }])
                .unwrap(),
            ),
            start_time: Some(datetime!(2026-12-06 09:00 UTC)),
            stop_time: Some(datetime!(2026-12-06 10:00 +00:30)),
        };
        let msg = rpc_xml("101", &sub.to_xml());
        let rpc = parse_rpc(msg.as_bytes()).unwrap();
        assert_eq!(rpc.message_id, "101");
        assert_eq!(rpc.operation, Operation::CreateSubscription(sub));

        let get = GetSyslogEvents {
            stream: "messages".into(),
            filter: None,
        };
        let rpc_text = rpc_xml("2", &get.to_xml());
        assert_eq!(
            parse_rpc(rpc_text.as_bytes()).unwrap().operation,
            Operation::GetSyslogEvents(get)
        );
        let rpc_text = rpc_xml("3", &get_streams_xml());
        assert_eq!(
            parse_rpc(rpc_text.as_bytes()).unwrap().operation,
            Operation::GetStreams
        );
        let rpc_text = rpc_xml("4", CLOSE_SESSION);
        assert_eq!(
            parse_rpc(rpc_text.as_bytes()).unwrap().operation,
            Operation::CloseSession
        );
        let rpc_text = rpc_xml("5", "<get-config><source><running/></source></get-config>");
        assert_eq!(
            parse_rpc(rpc_text.as_bytes()).unwrap().operation,
            Operation::Other { name: "get-config" }
        );
    }

    #[test]
    fn bad_rpcs() {
        for msg in [
            "<rpc><close-session/></rpc>",
            r#"<rpc message-id=""><close-session/></rpc>"#,
            r#"<rpc message-id="1"/>"#,
            r#"<rpc message-id="1"><a/><b/></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><stopTime>2026-12-06T10:00:00Z</stopTime></create-subscription></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><startTime>2026-12-06T10:00:00Z</startTime><stopTime>2026-12-06T09:00:00Z</stopTime></create-subscription></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><startTime>now</startTime></create-subscription></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><filter type="xpath" select="/"/></create-subscription></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><stream>a</stream><stream>b</stream></create-subscription></rpc>"#,
            r#"<rpc message-id="1"><create-subscription><bogus/></create-subscription></rpc>"#,
            "<rpc-reply/>",
        ] {
            assert!(parse_rpc(msg.as_bytes()).is_err(), "{msg}");
        }
        let long = format!(
            r#"<rpc message-id="{}"><close-session/></rpc>"#,
            "9".repeat(300)
        );
        assert!(parse_rpc(long.as_bytes()).is_err());
    }
}
