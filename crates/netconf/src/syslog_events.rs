//! Junos `<get-syslog-events>` (after draft-shafer-netconf-syslog): the
//! request, and its reply, which stays open and carries one
//! `<syslog-event>` per syslog line for as long as the session lasts.
//!
//! ```xml
//! <rpc message-id="1"><get-syslog-events><stream>messages</stream></get-syslog-events></rpc>
//! <rpc-reply message-id="1"><syslog-events>
//!   <syslog-event>&lt;165&gt;1 2026-12-06T10:00:00.000Z r1 mgd 4242 UI_COMMIT [...] ...</syslog-event>
//!   ...
//! </syslog-events></rpc-reply>
//! ```
//!
//! Because the reply never ends while the stream runs, it is read piece by
//! piece ([`SyslogEventsReader`], fed with the [`crate::framing::Frame`] data of
//! the reply) rather than as a whole message.

use std::fmt::Write as _;

use memchr::memmem;

use crate::error::NetconfError;
use crate::filter::{parse_filter, EventFilter};
use crate::hello::BASE_NS;
use crate::xml::{escape_text, is_xml_space, parse_document, Element};

/// The default Junos stream (the `messages` syslog file).
pub const DEFAULT_SYSLOG_STREAM: &str = "messages";

/// Default longest `<syslog-event>` element accepted: 64 KiB.
pub const DEFAULT_MAX_EVENT: usize = 64 << 10;

/// A checked `<get-syslog-events>` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSyslogEvents {
    /// The syslog stream (file) name.
    pub stream: String,
    /// The event filter, in netaudit's subset.
    pub filter: Option<EventFilter>,
}

impl GetSyslogEvents {
    /// The operation element, to wrap in an `<rpc>`.
    pub fn to_xml(&self) -> String {
        let mut out = format!(
            "<get-syslog-events><stream>{}</stream>",
            escape_text(&self.stream)
        );
        if let Some(filter) = &self.filter {
            out.push_str(&filter.to_xml());
        }
        out.push_str("</get-syslog-events>");
        out
    }
}

/// Parses a `<get-syslog-events>` element; a missing `<stream>` means
/// [`DEFAULT_SYSLOG_STREAM`].
///
/// # Errors
///
/// An unknown or repeated child, an empty stream name, a filter outside the subset.
pub fn parse_get_syslog_events(op: &Element<'_>) -> Result<GetSyslogEvents, NetconfError> {
    let mut stream = None;
    let mut filter = None;
    for child in &op.children {
        let repeated = match child.name {
            "stream" => {
                let name = child.trimmed_text();
                if name.is_empty() {
                    return Err(NetconfError::unexpected(child.offset, "empty <stream>"));
                }
                stream.replace(name.to_string()).is_some()
            }
            "filter" => filter.replace(parse_filter(child)?).is_some(),
            other => {
                return Err(NetconfError::unexpected(
                    child.offset,
                    format!("unknown element <{other}> in <get-syslog-events>"),
                ))
            }
        };
        if repeated {
            return Err(NetconfError::unexpected(
                child.offset,
                format!("<{}> is repeated in <get-syslog-events>", child.name),
            ));
        }
    }
    Ok(GetSyslogEvents {
        stream: stream.unwrap_or_else(|| DEFAULT_SYSLOG_STREAM.to_string()),
        filter,
    })
}

/// The start of the streamed reply, up to and including `<syslog-events>`.
pub fn syslog_events_open(message_id: &str) -> String {
    format!(
        r#"<rpc-reply xmlns="{BASE_NS}" message-id="{}"><syslog-events>"#,
        escape_text(message_id)
    )
}

/// One line of the streamed reply (escaped: no line can end the element).
pub fn syslog_event_xml(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    let _ = writeln!(out, "<syslog-event>{}</syslog-event>", escape_text(line));
    out
}

/// The end of the streamed reply.
pub const SYSLOG_EVENTS_CLOSE: &str = "</syslog-events></rpc-reply>";

/// What [`SyslogEventsReader::next_event`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyslogEventItem {
    /// One syslog line, unescaped, without a trailing CR/LF.
    Line(String),
    /// `</syslog-events>`: the device ended the stream.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderState {
    BeforeOpen,
    Streaming,
    Done,
}

/// Reads the lines of a `<get-syslog-events>` reply as its bytes arrive.
///
/// Offsets in its errors count from the first byte of the reply. It holds
/// at most one unfinished element (bounded by the maximum event size).
#[derive(Debug, Clone)]
pub struct SyslogEventsReader {
    buf: Vec<u8>,
    consumed: u64,
    max_event: usize,
    state: ReaderState,
}

impl Default for SyslogEventsReader {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT)
    }
}

impl SyslogEventsReader {
    /// A reader that refuses an element over `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        SyslogEventsReader {
            buf: Vec::new(),
            consumed: 0,
            max_event,
            state: ReaderState::BeforeOpen,
        }
    }

    /// Adds bytes of the reply.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    fn error(&self, at: usize, what: impl Into<String>) -> NetconfError {
        NetconfError::unexpected(self.consumed + at as u64, what)
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
        self.consumed += n as u64;
    }

    fn too_long_error(&self) -> NetconfError {
        self.error(
            0,
            format!("no complete element within {} bytes", self.max_event),
        )
    }

    fn too_long(&self) -> Result<Option<SyslogEventItem>, NetconfError> {
        if self.buf.len() > self.max_event {
            return Err(self.too_long_error());
        }
        Ok(None)
    }

    /// The next line or the end, `None` until more bytes are fed.
    ///
    /// # Errors
    ///
    /// An `<rpc-error>` instead of `<syslog-events>` (parse the whole reply
    /// with [`crate::reply::parse_rpc_reply`] for its details), content other
    /// than `<syslog-event>` elements and comments, malformed XML inside an
    /// element, an element over the maximum.
    pub fn next_event(&mut self) -> Result<Option<SyslogEventItem>, NetconfError> {
        loop {
            match self.state {
                ReaderState::Done => return Ok(None),
                ReaderState::BeforeOpen => {
                    // Whichever comes first decides, so that the outcome
                    // does not depend on how the bytes were cut into reads.
                    let open = memmem::find(&self.buf, b"<syslog-events");
                    let error = memmem::find(&self.buf, b"<rpc-error");
                    if let Some(at) = error.filter(|&e| open.is_none_or(|o| e < o)) {
                        return Err(self.error(
                            at,
                            "the device answered <get-syslog-events> with <rpc-error>",
                        ));
                    }
                    let Some(at) = open else {
                        return self.too_long();
                    };
                    let Some(close) = memchr::memchr(b'>', &self.buf[at..]) else {
                        return self.too_long();
                    };
                    if at + close >= self.max_event {
                        return Err(self.too_long_error());
                    }
                    let empty = self.buf[at + close - 1] == b'/';
                    self.consume(at + close + 1);
                    self.state = if empty {
                        ReaderState::Done
                    } else {
                        ReaderState::Streaming
                    };
                    if empty {
                        return Ok(Some(SyslogEventItem::End));
                    }
                }
                ReaderState::Streaming => {
                    let skip = self
                        .buf
                        .iter()
                        .take_while(|&&b| is_xml_space(char::from(b)))
                        .count();
                    self.consume(skip);
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    if !self.buf.starts_with(b"<") {
                        return Err(self.error(0, "text between <syslog-event> elements"));
                    }
                    let openers: [&[u8]; 3] = [b"<!--", b"</syslog-events", b"<syslog-event"];
                    if openers
                        .iter()
                        .any(|o| o.len() > self.buf.len() && o.starts_with(&self.buf))
                    {
                        return Ok(None);
                    }
                    if self.buf.starts_with(b"<!--") {
                        let Some(end) = memmem::find(&self.buf, b"-->") else {
                            return self.too_long();
                        };
                        if end + 3 > self.max_event {
                            return Err(self.too_long_error());
                        }
                        self.consume(end + 3);
                        continue;
                    }
                    if self.buf.starts_with(b"</syslog-events") {
                        self.state = ReaderState::Done;
                        return Ok(Some(SyslogEventItem::End));
                    }
                    return self.element();
                }
            }
        }
    }

    fn element(&mut self) -> Result<Option<SyslogEventItem>, NetconfError> {
        const OPEN: &[u8] = b"<syslog-event";
        let head = &self.buf[..self.buf.len().min(OPEN.len() + 1)];
        if head.len() <= OPEN.len() {
            if OPEN.starts_with(head) {
                return Ok(None);
            }
            return Err(self.error(0, "expected <syslog-event>"));
        }
        if !head.starts_with(OPEN)
            || !matches!(head[OPEN.len()], b'>' | b' ' | b'/' | b'\t' | b'\r' | b'\n')
        {
            return Err(self.error(0, "expected <syslog-event>"));
        }
        let end = if let Some(e) = memmem::find(&self.buf, b"</syslog-event>") {
            e + b"</syslog-event>".len()
        } else {
            match memchr::memchr(b'>', &self.buf) {
                Some(gt) if self.buf[gt - 1] == b'/' => gt + 1,
                _ => return self.too_long(),
            }
        };
        if end > self.max_event {
            return Err(self.too_long_error());
        }
        let element = parse_document(&self.buf[..end]).map_err(|e| match e {
            NetconfError::Xml { offset, detail } => NetconfError::Xml {
                offset: offset + self.consumed,
                detail,
            },
            other => other,
        })?;
        if !element.children.is_empty() {
            return Err(self.error(0, "<syslog-event> holds elements, expected text"));
        }
        let line = element.text.trim_end_matches(['\r', '\n']).to_string();
        self.consume(end);
        Ok(Some(SyslogEventItem::Line(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_across_any_split() {
        let mut reply = syslog_events_open("7");
        let lines = [
            "<13>1 - r1 mgd - UI_X [a b=\"<&>\"] x]]>]]>y",
            "second\u{e9}",
            "",
        ];
        for l in lines {
            reply.push_str(&syslog_event_xml(l));
        }
        reply.push_str("<!-- a comment -->");
        reply.push_str(SYSLOG_EVENTS_CLOSE);
        for step in [1, 2, 3, 7, 64, reply.len()] {
            let mut r = SyslogEventsReader::new(1024);
            let mut got = Vec::new();
            for piece in reply.as_bytes().chunks(step) {
                r.feed(piece);
                while let Some(item) = r.next_event().unwrap() {
                    got.push(item);
                }
            }
            let mut want: Vec<_> = lines
                .iter()
                .map(|l| SyslogEventItem::Line(l.to_string()))
                .collect();
            want.push(SyslogEventItem::End);
            assert_eq!(got, want, "step {step}");
        }
    }

    #[test]
    fn bad_replies() {
        let mut r = SyslogEventsReader::new(64);
        r.feed(br#"<rpc-reply message-id="1"><rpc-error><error-tag>access-denied</error-tag>"#);
        assert!(r
            .next_event()
            .unwrap_err()
            .to_string()
            .contains("rpc-error"));

        let mut r = SyslogEventsReader::new(64);
        r.feed(b"<rpc-reply><syslog-events><other>x</other>");
        let err = r.next_event().unwrap_err();
        assert!(err.to_string().contains("offset 26"), "{err}");

        let mut r = SyslogEventsReader::new(64);
        r.feed(b"<rpc-reply><syslog-events><syslog-event>");
        r.feed(&[b'a'; 100]);
        assert!(r
            .next_event()
            .unwrap_err()
            .to_string()
            .contains("within 64 bytes"));

        let mut r = SyslogEventsReader::new(64);
        r.feed(b"<rpc-reply><syslog-events><syslog-event>&nope;</syslog-event>");
        assert!(matches!(r.next_event(), Err(NetconfError::Xml { .. })));
    }

    #[test]
    fn request_round_trip() {
        let req = GetSyslogEvents {
            stream: "messages".into(),
            filter: None,
        };
        let text = req.to_xml();
        let root = parse_document(text.as_bytes()).unwrap();
        assert_eq!(parse_get_syslog_events(&root).unwrap(), req);
        let root = parse_document(b"<get-syslog-events/>").unwrap();
        assert_eq!(parse_get_syslog_events(&root).unwrap().stream, "messages");
        let root =
            parse_document(b"<get-syslog-events><since>x</since></get-syslog-events>").unwrap();
        assert!(parse_get_syslog_events(&root).is_err());
    }
}
