//! A small borrowed element tree over one NETCONF message, read with
//! quick-xml: names, attribute values and text borrow from the message and
//! allocate only to unescape. Bounded in depth and element count.

use std::borrow::Cow;

use quick_xml::escape::unescape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::NetconfError;

/// The deepest nesting accepted in a message.
pub const MAX_DEPTH: usize = 64;

/// The most elements accepted in one message.
pub const MAX_ELEMENTS: usize = 100_000;

/// One element of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    /// Its local name (the namespace prefix removed).
    pub name: &'a str,
    /// Its attributes: qualified name and unescaped value.
    pub attributes: Vec<(&'a str, Cow<'a, str>)>,
    /// Its child elements, in order.
    pub children: Vec<Element<'a>>,
    /// Its text content (the text pieces between its children, unescaped,
    /// joined), not trimmed.
    pub text: Cow<'a, str>,
    /// Byte offset of its `<` in the message.
    pub offset: u64,
    /// The element as written in the message, from `<` to the end of its
    /// end tag.
    pub raw: &'a str,
}

impl<'a> Element<'a> {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The value of the attribute whose local name is `name`.
    pub fn attribute(&self, name: &str) -> Option<&Cow<'a, str>> {
        self.attributes
            .iter()
            .find(|(n, _)| local(n) == name && !n.starts_with("xmlns"))
            .map(|(_, v)| v)
    }

    /// The default namespace this element declares itself (`xmlns="..."`),
    /// if any.
    pub fn namespace(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| *n == "xmlns")
            .map(|(_, v)| v.as_ref())
    }

    /// Its text, trimmed of XML white space.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }

    /// The text between its start and end tags as written (escaped), for
    /// handing on content verbatim.
    pub fn inner_raw(&self) -> &'a str {
        let raw = self.raw;
        if raw.ends_with("/>") && !raw.contains("</") {
            return "";
        }
        let start = raw.find('>').map_or(raw.len(), |i| i + 1);
        let end = raw.rfind("</").unwrap_or(raw.len()).max(start);
        &raw[start..end]
    }
}

/// Whether `c` is XML white space (space, tab, CR, LF).
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, l)| l)
}

/// `part` as a slice of `whole` with `whole`'s lifetime. quick-xml hands out
/// names and attributes with the lifetime of the event; on a slice reader
/// they are slices of the input, so they can be taken back from it.
fn reborrow<'a>(whole: &'a str, part: &[u8]) -> Option<&'a str> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    whole.get(start..start.checked_add(part.len())?)
}

fn xml_error(offset: u64, detail: impl ToString) -> NetconfError {
    NetconfError::Xml {
        offset,
        detail: detail.to_string(),
    }
}

/// Parses `message` into its root element.
///
/// # Errors
///
/// [`NetconfError::Xml`] for bytes that are not UTF-8, XML that is not
/// well-formed, a DTD, no root or two roots, text outside the root, or a
/// message over [`MAX_DEPTH`] or [`MAX_ELEMENTS`]; each names the byte offset.
pub fn parse_document(message: &[u8]) -> Result<Element<'_>, NetconfError> {
    let text = std::str::from_utf8(message)
        .map_err(|e| xml_error(e.valid_up_to() as u64, "the message is not UTF-8"))?;
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut stack: Vec<Element<'_>> = Vec::new();
    let mut root: Option<Element<'_>> = None;
    let mut count = 0usize;
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| xml_error(reader.error_position(), e))?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(xml_error(before, "a second root element"));
            }
            Event::Start(start) => {
                count += 1;
                if count > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return Err(xml_error(before, "too many or too deeply nested elements"));
                }
                stack.push(open(text, &start, before)?);
            }
            Event::Empty(start) => {
                count += 1;
                if count > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return Err(xml_error(before, "too many or too deeply nested elements"));
                }
                let mut element = open(text, &start, before)?;
                let end = reader.buffer_position() as usize;
                element.raw = text.get(before as usize..end).unwrap_or_default();
                close(element, &mut stack, &mut root);
            }
            Event::End(_) => {
                let Some(mut element) = stack.pop() else {
                    return Err(xml_error(before, "an end tag without a start tag"));
                };
                let end = reader.buffer_position() as usize;
                element.raw = text.get(element.offset as usize..end).unwrap_or_default();
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| xml_error(before, e))?;
                append_text(&mut stack, value, before)?;
            }
            Event::CData(c) => {
                let bytes = c.into_inner();
                let value = match reborrow(text, &bytes) {
                    Some(s) => Cow::Borrowed(s),
                    None => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
                };
                append_text(&mut stack, value, before)?;
            }
            Event::DocType(_) => {
                return Err(xml_error(before, "a DTD is not accepted in NETCONF"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(xml_error(
            text.len() as u64,
            format!(
                "element <{}> at offset {} is not closed",
                open.name, open.offset
            ),
        ));
    }
    root.ok_or_else(|| xml_error(0, "no root element"))
}

fn open<'a>(
    text: &'a str,
    start: &BytesStart<'_>,
    offset: u64,
) -> Result<Element<'a>, NetconfError> {
    let qname = start.name();
    let name = reborrow(text, qname.as_ref())
        .map(local)
        .ok_or_else(|| xml_error(offset, "element name outside the message"))?;
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| xml_error(offset, e))?;
        let key = reborrow(text, attr.key.as_ref())
            .ok_or_else(|| xml_error(offset, "attribute name outside the message"))?;
        let value = match reborrow(text, &attr.value) {
            Some(raw) => unescape(raw).map_err(|e| xml_error(offset, e))?,
            None => Cow::Owned(
                attr.unescape_value()
                    .map_err(|e| xml_error(offset, e))?
                    .into_owned(),
            ),
        };
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: Cow::Borrowed(""),
        offset,
        raw: "",
    })
}

fn close<'a>(element: Element<'a>, stack: &mut [Element<'a>], root: &mut Option<Element<'a>>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn append_text<'a>(
    stack: &mut [Element<'a>],
    value: Cow<'a, str>,
    offset: u64,
) -> Result<(), NetconfError> {
    match stack.last_mut() {
        Some(parent) => {
            if parent.text.is_empty() {
                parent.text = value;
            } else {
                parent.text.to_mut().push_str(&value);
            }
            Ok(())
        }
        None if value.chars().all(is_xml_space) => Ok(()),
        None => Err(xml_error(offset, "text outside the root element")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_names_and_plain_text() {
        let msg =
            br#"<nc:rpc xmlns:nc="urn:x" message-id="7"><get a="&amp;b">plain</get><x/></nc:rpc>"#;
        let root = parse_document(msg).unwrap();
        assert_eq!(root.name, "rpc");
        assert_eq!(root.attribute("message-id").unwrap(), "7");
        let get = root.child("get").unwrap();
        assert!(matches!(get.text, Cow::Borrowed("plain")));
        assert_eq!(get.attribute("a").unwrap(), "&b");
        assert_eq!(get.offset, 40);
        assert_eq!(get.raw, r#"<get a="&amp;b">plain</get>"#);
        assert_eq!(get.inner_raw(), "plain");
        assert_eq!(root.child("x").unwrap().raw, "<x/>");
        assert_eq!(root.child("x").unwrap().inner_raw(), "");
    }

    #[test]
    fn malformed_xml_names_the_offset() {
        for (msg, what) in [
            (&b"<rpc><get></rpc>"[..], "mismatched"),
            (b"<rpc>", "not closed"),
            (b"", "no root"),
            (b"<a/><b/>", "second root"),
            (b"<a>&bogus;</a>", "bogus"),
            (b"<!DOCTYPE a><a/>", "DTD"),
            (b"<a>\xff</a>", "UTF-8"),
            (b"text<a/>", "outside"),
        ] {
            let err = parse_document(msg).unwrap_err();
            assert!(matches!(err, NetconfError::Xml { .. }), "{err}");
            assert!(err.to_string().contains("offset"), "{err}");
            let _ = what;
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse_document(deep.as_bytes()).is_err());
    }
}
