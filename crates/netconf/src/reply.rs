//! RFC 6241 `<rpc-reply>`: `<ok/>`, `<rpc-error>`s or `<data>`.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::NetconfError;
use crate::hello::BASE_NS;
use crate::xml::{escape_text, parse_document, Element};

/// One `<rpc-error>` (RFC 6241 section 4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError<'a> {
    /// `transport`, `rpc`, `protocol` or `application`.
    pub error_type: Cow<'a, str>,
    /// The error tag (`invalid-value`, `operation-not-supported`, ...).
    pub tag: Cow<'a, str>,
    /// `error` or `warning`.
    pub severity: Cow<'a, str>,
    /// The human-readable message, if any.
    pub message: Option<Cow<'a, str>>,
}

impl RpcError<'_> {
    /// The `<rpc-error>` element.
    pub fn to_xml(&self) -> String {
        let mut out = format!(
            "<rpc-error><error-type>{}</error-type><error-tag>{}</error-tag><error-severity>{}</error-severity>",
            escape_text(&self.error_type),
            escape_text(&self.tag),
            escape_text(&self.severity)
        );
        if let Some(message) = &self.message {
            let _ = write!(
                out,
                r#"<error-message xml:lang="en">{}</error-message>"#,
                escape_text(message)
            );
        }
        out.push_str("</rpc-error>");
        out
    }
}

/// What a reply carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyBody<'a> {
    /// `<ok/>`.
    Ok,
    /// One or more `<rpc-error>`s.
    Errors(Vec<RpcError<'a>>),
    /// `<data>`, as an element to read further (e.g. with
    /// [`crate::streams::parse_streams`]).
    Data(Element<'a>),
    /// Any other content (a Junos reply element such as `<syslog-events>`),
    /// as an element.
    Other(Element<'a>),
}

/// A parsed `<rpc-reply>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcReply<'a> {
    /// The message-id of the request it answers.
    pub message_id: Option<Cow<'a, str>>,
    /// What it carries.
    pub body: ReplyBody<'a>,
}

/// Parses an `<rpc-reply>` message.
///
/// # Errors
///
/// Malformed XML, a root other than `rpc-reply`, an empty reply, an
/// `<rpc-error>` without type, tag or severity, `<ok/>` mixed with other content.
pub fn parse_rpc_reply(message: &[u8]) -> Result<RpcReply<'_>, NetconfError> {
    let root = parse_document(message)?;
    reply_from_element(root)
}

/// Reads an `<rpc-reply>` element (see [`parse_rpc_reply`]).
///
/// # Errors
///
/// As [`parse_rpc_reply`], except malformed XML.
pub fn reply_from_element(root: Element<'_>) -> Result<RpcReply<'_>, NetconfError> {
    if root.name != "rpc-reply" {
        return Err(NetconfError::unexpected(
            root.offset,
            format!("expected <rpc-reply>, found <{}>", root.name),
        ));
    }
    let message_id = root.attribute("message-id").cloned();
    let offset = root.offset;
    let mut children = root.children;
    let body = if children.iter().any(|c| c.name == "rpc-error") {
        let mut errors = Vec::new();
        for e in children.iter().filter(|c| c.name == "rpc-error") {
            let field = |name: &str| {
                e.child(name)
                    .map(|c| Cow::Owned(c.trimmed_text().to_string()))
                    .ok_or_else(|| {
                        NetconfError::unexpected(e.offset, format!("<rpc-error> without <{name}>"))
                    })
            };
            errors.push(RpcError {
                error_type: field("error-type")?,
                tag: field("error-tag")?,
                severity: field("error-severity")?,
                message: e.child("error-message").map(|m| m.text.clone()),
            });
        }
        ReplyBody::Errors(errors)
    } else if children.len() == 1 && children[0].name == "ok" {
        ReplyBody::Ok
    } else if children.iter().any(|c| c.name == "ok") {
        return Err(NetconfError::unexpected(
            offset,
            "<ok/> mixed with other content",
        ));
    } else if children.len() == 1 {
        let only = children.remove(0);
        if only.name == "data" {
            ReplyBody::Data(only)
        } else {
            ReplyBody::Other(only)
        }
    } else {
        return Err(NetconfError::unexpected(
            offset,
            format!(
                "<rpc-reply> with {} content elements, expected one",
                children.len()
            ),
        ));
    };
    Ok(RpcReply { message_id, body })
}

/// An `<rpc-reply>` message around `content` (already escaped XML).
pub fn reply_xml(message_id: &str, content: &str) -> String {
    format!(
        r#"<rpc-reply xmlns="{BASE_NS}" message-id="{}">{content}</rpc-reply>"#,
        escape_text(message_id)
    )
}

/// An `<rpc-reply>` with `<ok/>`.
pub fn ok_reply_xml(message_id: &str) -> String {
    reply_xml(message_id, "<ok/>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_error_data() {
        let msg = ok_reply_xml("1");
        let r = parse_rpc_reply(msg.as_bytes()).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("1"));
        assert_eq!(r.body, ReplyBody::Ok);

        let error = RpcError {
            error_type: "protocol".into(),
            tag: "invalid-value".into(),
            severity: "error".into(),
            message: Some("filter: <host> is <bad> & wrong".into()),
        };
        let msg = reply_xml("a&b", &error.to_xml());
        let r = parse_rpc_reply(msg.as_bytes()).unwrap();
        assert_eq!(r.message_id.as_deref(), Some("a&b"));
        assert_eq!(r.body, ReplyBody::Errors(vec![error]));

        let msg = reply_xml("2", "<data><x/></data>");
        let r = parse_rpc_reply(msg.as_bytes()).unwrap();
        assert!(matches!(r.body, ReplyBody::Data(ref d) if d.child("x").is_some()));
    }

    #[test]
    fn bad_replies() {
        for msg in [
            "<rpc/>",
            "<rpc-reply/>",
            "<rpc-reply><ok/><data/></rpc-reply>",
            "<rpc-reply><rpc-error><error-tag>x</error-tag></rpc-error></rpc-reply>",
            "<rpc-reply><a/><b/></rpc-reply>",
        ] {
            assert!(parse_rpc_reply(msg.as_bytes()).is_err(), "{msg}");
        }
    }
}
