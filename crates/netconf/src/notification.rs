//! RFC 5277 `<notification>`: eventTime and content, including the
//! `replayComplete` and `notificationComplete` markers, and netaudit's own
//! event content (the Junos structured line with its store sequence number
//! and chain value, so a client can resume and drop duplicates).

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::datetime::{format_time, parse_time};
use crate::error::NetconfError;
use crate::filter::EVENT_NS;
use crate::subscription::NOTIFICATION_NS;
use crate::xml::{escape_text, parse_document, Element};

/// What a notification carries after its eventTime.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotificationContent<'a> {
    /// `<replayComplete/>`: the replay asked with startTime is over; live
    /// notifications follow.
    ReplayComplete,
    /// `<notificationComplete/>`: stopTime is reached; the subscription ends.
    NotificationComplete,
    /// netaudit's `<syslog-event>` content.
    SyslogEvent(SyslogEventContent<'a>),
    /// Any other content: its element's local name and its XML as received.
    Other {
        /// Local name of the content element.
        name: &'a str,
        /// The element as written in the message.
        raw: &'a str,
    },
}

/// netaudit's event content: one stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogEventContent<'a> {
    /// The event's sequence number in the store.
    pub sequence: u64,
    /// The event's chain value (hex), which a client compares to drop duplicates.
    pub chain: std::borrow::Cow<'a, str>,
    /// The event code.
    pub code: std::borrow::Cow<'a, str>,
    /// The severity name.
    pub severity: std::borrow::Cow<'a, str>,
    /// The host name.
    pub host: std::borrow::Cow<'a, str>,
    /// The event as a Junos structured-data syslog line.
    pub line: std::borrow::Cow<'a, str>,
}

impl SyslogEventContent<'_> {
    /// The content element.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(self.line.len() + 256);
        let _ = write!(
            out,
            r#"<syslog-event xmlns="{EVENT_NS}"><sequence>{}</sequence><chain>{}</chain><code>{}</code><severity>{}</severity><host>{}</host><line>{}</line></syslog-event>"#,
            self.sequence,
            escape_text(&self.chain),
            escape_text(&self.code),
            escape_text(&self.severity),
            escape_text(&self.host),
            escape_text(&self.line),
        );
        out
    }
}

/// A parsed `<notification>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification<'a> {
    /// When the event happened.
    pub event_time: OffsetDateTime,
    /// What it carries.
    pub content: NotificationContent<'a>,
}

/// A `<notification>` message with `content` (XML written by the caller,
/// already escaped, e.g. [`SyslogEventContent::to_xml`]).
pub fn notification_xml(event_time: OffsetDateTime, content: &str) -> String {
    format!(
        r#"<notification xmlns="{NOTIFICATION_NS}"><eventTime>{}</eventTime>{content}</notification>"#,
        format_time(event_time)
    )
}

/// The `replayComplete` notification.
pub fn replay_complete_xml(event_time: OffsetDateTime) -> String {
    notification_xml(event_time, r#"<replayComplete/>"#)
}

/// The `notificationComplete` notification.
pub fn notification_complete_xml(event_time: OffsetDateTime) -> String {
    notification_xml(event_time, r#"<notificationComplete/>"#)
}

/// Parses a `<notification>` message. On an interleaved session, where
/// replies and notifications mix, parse with [`parse_document`] once and
/// call [`notification_from_element`] when the root is `notification`.
///
/// # Errors
///
/// Malformed XML, and as [`notification_from_element`].
pub fn parse_notification(message: &[u8]) -> Result<Notification<'_>, NetconfError> {
    let root = parse_document(message)?;
    notification_from_element(&root)
}

/// Reads a `<notification>` element.
///
/// # Errors
///
/// A root other than `notification`, a missing or bad `eventTime`, no
/// content or more than one content element, a `<syslog-event>` with a
/// missing field or a sequence that is not a number.
pub fn notification_from_element<'a>(root: &Element<'a>) -> Result<Notification<'a>, NetconfError> {
    if root.name != "notification" {
        return Err(NetconfError::unexpected(
            root.offset,
            format!("expected <notification>, found <{}>", root.name),
        ));
    }
    let mut children = root.children.iter();
    let time = children
        .next()
        .filter(|c| c.name == "eventTime")
        .ok_or_else(|| {
            NetconfError::unexpected(root.offset, "<notification> must start with <eventTime>")
        })?;
    let event_time = parse_time(time)?;
    let content = children
        .next()
        .ok_or_else(|| NetconfError::unexpected(root.offset, "<notification> without content"))?;
    if let Some(extra) = children.next() {
        return Err(NetconfError::unexpected(
            extra.offset,
            format!("second content element <{}> in <notification>", extra.name),
        ));
    }
    let content = match content.name {
        "replayComplete" => NotificationContent::ReplayComplete,
        "notificationComplete" => NotificationContent::NotificationComplete,
        "syslog-event" if content.child("sequence").is_some() => {
            NotificationContent::SyslogEvent(syslog_event_content(content)?)
        }
        name => NotificationContent::Other {
            name,
            raw: content.raw,
        },
    };
    Ok(Notification {
        event_time,
        content,
    })
}

fn syslog_event_content<'a>(el: &Element<'a>) -> Result<SyslogEventContent<'a>, NetconfError> {
    let field = |name: &str| {
        el.child(name).map(|c| c.text.clone()).ok_or_else(|| {
            NetconfError::unexpected(el.offset, format!("<syslog-event> without <{name}>"))
        })
    };
    let seq = el
        .child("sequence")
        .map(|s| s.trimmed_text())
        .unwrap_or_default();
    let sequence = seq.parse::<u64>().map_err(|_| {
        NetconfError::unexpected(el.offset, format!("<sequence> {seq:?} is not a number"))
    })?;
    Ok(SyslogEventContent {
        sequence,
        chain: field("chain")?,
        code: field("code")?,
        severity: field("severity")?,
        host: field("host")?,
        line: field("line")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use time::macros::datetime;

    #[test]
    fn event_round_trip_escapes_the_text() {
        let content = SyslogEventContent {
            sequence: 42,
            chain: Cow::Borrowed("00ff"),
            code: Cow::Borrowed("UI_CMDLINE_READ_LINE"),
            severity: Cow::Borrowed("info"),
            host: Cow::Borrowed("r1"),
            line: Cow::Borrowed(r#"<14>1 ... [junos@2636 command="</line><x>]]>]]>"] x"#),
        };
        let msg = notification_xml(datetime!(2026-12-06 10:00:00.5 UTC), &content.to_xml());
        let n = parse_notification(msg.as_bytes()).unwrap();
        assert_eq!(n.event_time, datetime!(2026-12-06 10:00:00.5 UTC));
        assert_eq!(n.content, NotificationContent::SyslogEvent(content));
    }

    #[test]
    fn markers_and_other_content() {
        let t = datetime!(2026-12-06 10:00 UTC);
        let msg = replay_complete_xml(t);
        let n = parse_notification(msg.as_bytes()).unwrap();
        assert_eq!(n.content, NotificationContent::ReplayComplete);
        let msg = notification_complete_xml(t);
        let n = parse_notification(msg.as_bytes()).unwrap();
        assert_eq!(n.content, NotificationContent::NotificationComplete);
        let msg = notification_xml(t, "<netconf-config-change><x/></netconf-config-change>");
        let n = parse_notification(msg.as_bytes()).unwrap();
        assert!(
            matches!(n.content, NotificationContent::Other { name: "netconf-config-change", raw } if raw.ends_with("</netconf-config-change>"))
        );
    }

    #[test]
    fn bad_notifications() {
        for msg in [
            "<notification><eventTime>yesterday</eventTime><x/></notification>",
            "<notification><x/></notification>",
            "<notification><eventTime>2026-12-06T10:00:00Z</eventTime></notification>",
            "<notification><eventTime>2026-12-06T10:00:00Z</eventTime><a/><b/></notification>",
            "<notification><eventTime>2026-12-06T10:00:00Z</eventTime><syslog-event><sequence>x</sequence></syslog-event></notification>",
            "<rpc-reply/>",
        ] {
            assert!(parse_notification(msg.as_bytes()).is_err(), "{msg}");
        }
    }
}
