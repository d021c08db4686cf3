//! The subtree-filter subset netaudit accepts in subscriptions (RFC 5277
//! `<filter type="subtree">`, RFC 6241 section 6): content-match nodes on an
//! event's code, severity and host, parsed into a checked [`EventFilter`].
//!
//! ```xml
//! <filter type="subtree">
//!   <syslog-event xmlns="urn:netaudit:xml:ns:syslog-event:1">
//!     <code>UI_LOGIN_EVENT</code><severity>notice</severity>
//!   </syslog-event>
//!   <syslog-event xmlns="urn:netaudit:xml:ns:syslog-event:1"><host>r1</host></syslog-event>
//! </filter>
//! ```
//!
//! Each `<syslog-event>` is one alternative (subtree filtering ORs sibling
//! subtrees); within one, the content-match nodes are ANDed and match
//! exactly (the host without regard to ASCII case), as RFC 6241 section
//! 6.2.5 says. An empty `<syslog-event/>` selects every event.

use std::fmt::Write as _;

use netaudit_event::Severity;

use crate::error::NetconfError;
use crate::xml::{escape_text, Element};

/// The namespace of netaudit's event content in notifications and filters.
pub const EVENT_NS: &str = "urn:netaudit:xml:ns:syslog-event:1";

/// The most alternatives accepted in one filter.
pub const MAX_ALTERNATIVES: usize = 256;

/// One alternative: every field that is set must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventMatch {
    /// The event code (`UI_LOGIN_EVENT`), exact.
    pub code: Option<String>,
    /// The severity, exact.
    pub severity: Option<Severity>,
    /// The host name, ASCII case-insensitive.
    pub host: Option<String>,
}

/// A checked subscription filter: an event passes when any alternative matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    alternatives: Vec<EventMatch>,
}

impl EventFilter {
    /// A filter of the given alternatives.
    ///
    /// # Errors
    ///
    /// [`NetconfError::Filter`] for none (it would select nothing) or more
    /// than [`MAX_ALTERNATIVES`].
    pub fn new(alternatives: Vec<EventMatch>) -> Result<Self, NetconfError> {
        if alternatives.is_empty() || alternatives.len() > MAX_ALTERNATIVES {
            return Err(NetconfError::Filter {
                offset: 0,
                what: format!("a filter needs 1 to {MAX_ALTERNATIVES} <syslog-event> alternatives"),
            });
        }
        Ok(EventFilter { alternatives })
    }

    /// Its alternatives.
    pub fn alternatives(&self) -> &[EventMatch] {
        &self.alternatives
    }

    /// Whether an event with these fields passes.
    pub fn matches(&self, code: &str, severity: Severity, host: &str) -> bool {
        self.alternatives.iter().any(|m| {
            m.code.as_deref().is_none_or(|c| c == code)
                && m.severity.is_none_or(|s| s == severity)
                && m.host
                    .as_deref()
                    .is_none_or(|h| h.eq_ignore_ascii_case(host))
        })
    }

    /// The filter as `<filter type="subtree">...</filter>`.
    pub fn to_xml(&self) -> String {
        let mut out = String::from(r#"<filter type="subtree">"#);
        for m in &self.alternatives {
            let _ = write!(out, r#"<syslog-event xmlns="{EVENT_NS}">"#);
            if let Some(code) = &m.code {
                let _ = write!(out, "<code>{}</code>", escape_text(code));
            }
            if let Some(severity) = m.severity {
                let _ = write!(out, "<severity>{}</severity>", severity.name());
            }
            if let Some(host) = &m.host {
                let _ = write!(out, "<host>{}</host>", escape_text(host));
            }
            out.push_str("</syslog-event>");
        }
        out.push_str("</filter>");
        out
    }
}

fn filter_error(at: &Element<'_>, what: impl Into<String>) -> NetconfError {
    NetconfError::Filter {
        offset: at.offset,
        what: what.into(),
    }
}

/// Parses a `<filter>` element into an [`EventFilter`].
///
/// # Errors
///
/// [`NetconfError::Filter`], naming the offset of the offending element, for
/// a type other than `subtree` (XPath is not supported), an element other
/// than `<syslog-event>` at the top or other than `code`, `severity`, `host`
/// inside, a repeated or empty field, an unknown severity, or no alternative.
pub fn parse_filter(filter: &Element<'_>) -> Result<EventFilter, NetconfError> {
    if let Some(kind) = filter.attribute("type") {
        if kind != "subtree" {
            return Err(filter_error(
                filter,
                format!("filter type {kind:?} is not supported; use type=\"subtree\""),
            ));
        }
    }
    if !filter.trimmed_text().is_empty() {
        return Err(filter_error(filter, "text directly inside <filter>"));
    }
    let mut alternatives = Vec::new();
    for alt in &filter.children {
        if alt.name != "syslog-event" {
            return Err(filter_error(
                alt,
                format!(
                    "<{}> is not filterable; the top element must be <syslog-event>",
                    alt.name
                ),
            ));
        }
        if alternatives.len() == MAX_ALTERNATIVES {
            return Err(filter_error(
                alt,
                format!("more than {MAX_ALTERNATIVES} alternatives"),
            ));
        }
        let mut m = EventMatch::default();
        for field in &alt.children {
            let value = field.trimmed_text();
            if value.is_empty() || !field.children.is_empty() {
                return Err(filter_error(
                    field,
                    format!("<{}> must be a content-match node with a value", field.name),
                ));
            }
            let repeated = match field.name {
                "code" => m.code.replace(value.to_string()).is_some(),
                "severity" => {
                    let severity = value
                        .parse::<Severity>()
                        .map_err(|_| filter_error(field, format!("unknown severity {value:?}")))?;
                    m.severity.replace(severity).is_some()
                }
                "host" => m.host.replace(value.to_string()).is_some(),
                other => {
                    return Err(filter_error(
                        field,
                        format!("<{other}> is not filterable; use code, severity or host"),
                    ))
                }
            };
            if repeated {
                return Err(filter_error(field, format!("<{}> is repeated", field.name)));
            }
        }
        alternatives.push(m);
    }
    if alternatives.is_empty() {
        return Err(filter_error(filter, "an empty filter selects nothing"));
    }
    Ok(EventFilter { alternatives })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse_document;

    fn parse(text: &str) -> Result<EventFilter, NetconfError> {
        parse_filter(&parse_document(text.as_bytes()).unwrap())
    }

    #[test]
    fn alternatives_and_fields() {
        let f = parse(
            r#"<filter type="subtree"><syslog-event><code>UI_LOGIN_EVENT</code>
               <severity>notice</severity></syslog-event><syslog-event><host>R1</host></syslog-event></filter>"#,
        )
        .unwrap();
        assert!(f.matches("UI_LOGIN_EVENT", Severity::Notice, "x"));
        assert!(!f.matches("UI_LOGIN_EVENT", Severity::Info, "x"));
        assert!(f.matches("OTHER", Severity::Info, "r1"));
        assert!(!f.matches("OTHER", Severity::Info, "r2"));
        assert_eq!(parse(&f.to_xml()).unwrap(), f);
        let all = parse("<filter><syslog-event/></filter>").unwrap();
        assert!(all.matches("A", Severity::Debug, "h"));
    }

    #[test]
    fn outside_the_subset_is_refused_with_the_offset() {
        for (text, offset) in [
            (r#"<filter type="xpath" select="/x"/>"#, 0),
            ("<filter><interfaces/></filter>", 8),
            (
                "<filter><syslog-event><user>a</user></syslog-event></filter>",
                22,
            ),
            (
                "<filter><syslog-event><severity>loud</severity></syslog-event></filter>",
                22,
            ),
            (
                "<filter><syslog-event><code>a</code><code>b</code></syslog-event></filter>",
                36,
            ),
            ("<filter><syslog-event><code/></syslog-event></filter>", 22),
            ("<filter/>", 0),
        ] {
            match parse(text) {
                Err(NetconfError::Filter { offset: o, .. }) => assert_eq!(o, offset, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
