//! The hello exchange (RFC 6241 section 8.1, RFC 6242 section 4.1): parse
//! the peer's capabilities and session-id, build netaudit's hello, and
//! negotiate the base version, hence the framing.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::NetconfError;
use crate::framing::Framing;
use crate::xml::{escape_text, parse_document};

/// The NETCONF base namespace.
pub const BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
/// Capability: NETCONF 1.0 (end-of-message framing).
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// Capability: NETCONF 1.1 (chunked framing).
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// Capability: RFC 5277 notifications.
pub const NOTIFICATION: &str = "urn:ietf:params:netconf:capability:notification:1.0";
/// Capability: RFC 5277 interleave (other RPCs during a subscription).
pub const INTERLEAVE: &str = "urn:ietf:params:netconf:capability:interleave:1.0";

/// The most capabilities accepted in one hello.
pub const MAX_CAPABILITIES: usize = 10_000;

/// A parsed `<hello>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello<'a> {
    /// The capability URIs, trimmed, in order.
    pub capabilities: Vec<Cow<'a, str>>,
    /// The session-id (a server's hello has one, a client's must not).
    pub session_id: Option<u32>,
}

/// Which side of the session sent a hello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sender {
    /// The NETCONF server (the device, or netaudit's exporter).
    Server,
    /// The NETCONF client (netaudit's collector, or a client of the exporter).
    Client,
}

impl Hello<'_> {
    /// Whether the hello offers `capability` (compared without the query
    /// part, so `...:base:1.1?x=y` still counts as base:1.1).
    pub fn offers(&self, capability: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.split('?').next() == Some(capability))
    }
}

/// Parses a `<hello>` message sent by `sender`.
///
/// # Errors
///
/// Malformed XML; a root other than `hello`; no `<capabilities>`; a
/// session-id that is missing from a server's hello, present in a client's,
/// or not a number 1..=4294967295 (RFC 6241 section 8.1).
pub fn parse_hello(message: &[u8], sender: Sender) -> Result<Hello<'_>, NetconfError> {
    let root = parse_document(message)?;
    if root.name != "hello" {
        return Err(NetconfError::unexpected(
            root.offset,
            format!("expected <hello>, found <{}>", root.name),
        ));
    }
    let caps = root
        .child("capabilities")
        .ok_or_else(|| NetconfError::unexpected(root.offset, "<hello> without <capabilities>"))?;
    let mut capabilities = Vec::new();
    for cap in caps.children.iter().filter(|c| c.name == "capability") {
        if capabilities.len() == MAX_CAPABILITIES {
            return Err(NetconfError::unexpected(
                cap.offset,
                format!("more than {MAX_CAPABILITIES} capabilities"),
            ));
        }
        let text = cap.trimmed_text();
        capabilities.push(match &cap.text {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim_matches(crate::xml::is_xml_space)),
            Cow::Owned(_) => Cow::Owned(text.to_string()),
        });
    }
    let session_id = match root.child("session-id") {
        None => None,
        Some(id) => {
            let value = id
                .trimmed_text()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    NetconfError::unexpected(
                        id.offset,
                        format!(
                            "session-id {:?} is not a number 1..=4294967295",
                            id.trimmed_text()
                        ),
                    )
                })?;
            Some(value)
        }
    };
    match (sender, session_id) {
        (Sender::Server, None) => Err(NetconfError::unexpected(
            root.offset,
            "the server's <hello> has no <session-id>",
        )),
        (Sender::Client, Some(_)) => Err(NetconfError::unexpected(
            root.offset,
            "a client's <hello> must not carry a <session-id>",
        )),
        _ => Ok(Hello {
            capabilities,
            session_id,
        }),
    }
}

/// Builds a `<hello>` offering `capabilities`, with `session_id` when
/// netaudit is the server.
pub fn build_hello(capabilities: &[&str], session_id: Option<u32>) -> String {
    let mut out =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE_NS}"><capabilities>"#);
    for cap in capabilities {
        let _ = write!(out, "<capability>{}</capability>", escape_text(cap));
    }
    out.push_str("</capabilities>");
    if let Some(id) = session_id {
        let _ = write!(out, "<session-id>{id}</session-id>");
    }
    out.push_str("</hello>");
    out
}

/// The framing both sides use after the hellos: chunked when both offer
/// base:1.1, end-of-message when both offer base:1.0 (RFC 6242 section 4.1).
///
/// # Errors
///
/// [`NetconfError::NoCommonBase`] when the peer offers no base capability
/// netaudit offered too (a hello without base capabilities included); the
/// session must then be closed.
pub fn negotiate(
    ours: &[&str],
    peer: &Hello<'_>,
    peer_offset: u64,
) -> Result<Framing, NetconfError> {
    let both = |cap: &str| ours.contains(&cap) && peer.offers(cap);
    if both(BASE_1_1) {
        return Ok(Framing::Chunked);
    }
    if both(BASE_1_0) {
        return Ok(Framing::EndOfMessage);
    }
    let offered: Vec<&str> = peer
        .capabilities
        .iter()
        .map(|c| c.as_ref())
        .filter(|c| c.starts_with("urn:ietf:params:netconf:base:"))
        .collect();
    Err(NetconfError::NoCommonBase {
        offset: peer_offset,
        offered: if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUNOS_HELLO: &str = r#"<!-- No zombies were killed during the creation of this user interface -->
<!-- user audit, class j-trace -->
<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <capabilities>
    <capability>urn:ietf:params:netconf:base:1.0</capability>
    <capability>urn:ietf:params:netconf:capability:candidate:1.0</capability>
    <capability>urn:ietf:params:netconf:base:1.1</capability>
    <capability>urn:ietf:params:netconf:capability:notification:1.0</capability>
    <capability>http://xml.juniper.net/netconf/junos/1.0</capability>
  </capabilities>
  <session-id>27700</session-id>
</hello>"#;

    #[test]
    fn parses_a_device_hello_and_negotiates_1_1() {
        let hello = parse_hello(JUNOS_HELLO.as_bytes(), Sender::Server).unwrap();
        assert_eq!(hello.session_id, Some(27700));
        assert_eq!(hello.capabilities.len(), 5);
        assert!(matches!(hello.capabilities[0], Cow::Borrowed(_)));
        assert!(hello.offers(NOTIFICATION));
        assert_eq!(
            negotiate(&[BASE_1_0, BASE_1_1], &hello, 0).unwrap(),
            Framing::Chunked
        );
        assert_eq!(
            negotiate(&[BASE_1_0], &hello, 0).unwrap(),
            Framing::EndOfMessage
        );
    }

    #[test]
    fn round_trip() {
        let text = build_hello(&[BASE_1_0, BASE_1_1, "urn:x?a=1&b=<2>"], Some(9));
        let hello = parse_hello(text.as_bytes(), Sender::Server).unwrap();
        assert_eq!(
            hello.capabilities,
            vec![BASE_1_0, BASE_1_1, "urn:x?a=1&b=<2>"]
        );
        assert_eq!(hello.session_id, Some(9));
        let client = build_hello(&[BASE_1_0], None);
        assert!(parse_hello(client.as_bytes(), Sender::Client).is_ok());
        assert!(parse_hello(client.as_bytes(), Sender::Server).is_err());
        assert!(parse_hello(text.as_bytes(), Sender::Client).is_err());
    }

    #[test]
    fn a_hello_without_base_capability_is_an_error() {
        let text = build_hello(&[NOTIFICATION], Some(1));
        let hello = parse_hello(text.as_bytes(), Sender::Server).unwrap();
        let err = negotiate(&[BASE_1_0, BASE_1_1], &hello, 120).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hello at offset 120 offers no NETCONF base capability netaudit speaks (none)"
        );
        let text = build_hello(&["urn:ietf:params:netconf:base:2.0"], Some(1));
        let hello = parse_hello(text.as_bytes(), Sender::Server).unwrap();
        let err = negotiate(&[BASE_1_0, BASE_1_1], &hello, 0).unwrap_err();
        assert!(err.to_string().contains("base:2.0"), "{err}");
    }

    #[test]
    fn bad_hellos() {
        for msg in [
            "<rpc/>",
            "<hello/>",
            "<hello><capabilities/><session-id>0</session-id></hello>",
            "<hello><capabilities/><session-id>x</session-id></hello>",
            "<hello><capabilities/></hello>",
            "<hello><capabilities>",
        ] {
            assert!(
                parse_hello(msg.as_bytes(), Sender::Server).is_err(),
                "{msg}"
            );
        }
    }
}
