//! One parser for what Junos devices, JUNOScope and relays really send.
//!
//! Accepted forms (see docs/parsing.md for every quirk and its decision):
//!
//! * RFC 5424: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD [MSG]`, also
//!   without `<PRI>` (`1 2020-05-22T...`), NILVALUEs, several SD elements,
//!   `\"` `\\` `\]` escapes, a UTF-8 BOM before MSG.
//! * RFC 3164 / BSD: `[<PRI>]Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG`, also with
//!   an RFC 3339 timestamp instead of the BSD one, extra spaces, no host.
//!   A Junos tag at the start of MSG (`UI_COMMIT: text`) becomes `msg_id`.
//! * JUNOScope: the BSD form whose process is `junoscope` + HTTP port or
//!   whose tag starts with `JUNOSCOPE_`.
//! * The Junos structured-data body without header (`mgd 70652 UI_AUTH_EVENT
//!   [junos@2636... username="root"] text`), as `show log` and the NDcPP
//!   guide print it.
//! * Relay-wrapped lines (a BSD header whose MSG is an RFC 5424 body without
//!   PRI/VERSION) are unwrapped to the inner RFC 5424 record.
//!
//! The result borrows from the input; only SD values containing escapes are
//! copied (to unescape them). Malformed input yields a [`ParseError`] naming
//! what was wrong and the byte offset; nothing here panics.

use std::borrow::Cow;
use std::fmt;

use netaudit_event::{CompactString, Event, Param, Priority};

use crate::timestamp::{CivilDate, CivilTime, Timestamp, YearRule};

/// Which wire format a line was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    Junoscope,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Junoscope => "junoscope",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed syslog message, borrowing from the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    pub format: Format,
    pub priority: Option<Priority>,
    /// RFC 5424 VERSION; `None` for BSD lines and headerless bodies.
    pub version: Option<u16>,
    pub timestamp: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    pub app_name: Option<&'a str>,
    pub proc_id: Option<&'a str>,
    /// RFC 5424 MSGID, or the Junos / JUNOScope TAG taken from a BSD MSG.
    pub msg_id: Option<&'a str>,
    pub structured_data: Vec<SdElement<'a>>,
    /// `None` when absent or empty.
    pub message: Option<&'a str>,
}

/// One SD-ELEMENT: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement<'a> {
    pub id: &'a str,
    pub params: Vec<SdParam<'a>>,
}

impl<'a> SdElement<'a> {
    /// The value of the first parameter with this name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_ref())
    }
}

/// One SD-PARAM; `value` is unescaped (`Borrowed` when it had no escape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdParam<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// How to fill in what a line leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Year for year-less (BSD) timestamps.
    pub year_rule: YearRule,
    /// UTC offset assumed for timestamps that carry none: BSD timestamps
    /// and RFC 3339 timestamps missing their offset (a repaired quirk).
    pub default_offset_minutes: i16,
}

impl ParseOptions {
    /// Year-less timestamps get the year nearest to `unix_seconds` (normally
    /// the time of reception); offset-less ones are taken as UTC.
    pub fn with_reference_time(unix_seconds: i64) -> Self {
        ParseOptions {
            year_rule: YearRule::NearestTo { unix_seconds },
            default_offset_minutes: 0,
        }
    }

    /// Year-less timestamps always get `year`; offset-less ones are UTC.
    pub fn with_fixed_year(year: i32) -> Self {
        ParseOptions {
            year_rule: YearRule::Fixed(year),
            default_offset_minutes: 0,
        }
    }
}

/// A line that could not be parsed: what was wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("empty line")]
    Empty,
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("PRI has no closing '>'")]
    PriUnterminated,
    #[error("PRI must be 1 to 3 digits")]
    PriNotANumber,
    #[error("PRI value {0} is over 191")]
    PriOutOfRange(u32),
    #[error("VERSION must be 1 to 3 digits, not starting with 0")]
    InvalidVersion,
    #[error("line ends where {0} was expected")]
    Truncated(&'static str),
    #[error("line ends after {0}")]
    EndsAfter(&'static str),
    #[error("expected a space after {0}")]
    MissingSpace(&'static str),
    #[error("{0} is empty")]
    EmptyField(&'static str),
    #[error("{ch:?} is not allowed in {field} (printable US-ASCII only)")]
    InvalidChar { field: &'static str, ch: char },
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(&'static str),
    #[error("structured data must be '-' or start with '['")]
    SdExpected,
    #[error("SD-ID is empty")]
    SdEmptyId,
    #[error("SD-PARAM name is empty")]
    SdEmptyParamName,
    #[error("expected '=' after SD-PARAM name")]
    SdExpectedEquals,
    #[error("expected '\"' to open SD-PARAM value")]
    SdExpectedQuote,
    #[error("unterminated quoted SD-PARAM value")]
    SdUnterminatedValue,
    #[error("unbalanced '[': SD-ELEMENT has no closing ']'")]
    SdUnterminatedElement,
    #[error("unexpected {0:?} in structured data")]
    SdUnexpectedChar(char),
    #[error("not a syslog line: no <PRI>, timestamp or Junos structured-data body")]
    Unrecognized,
}

impl ParseError {
    fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// Parses one syslog line (without its line terminator).
pub fn parse<'a>(input: &'a [u8], opts: &ParseOptions) -> Result<SyslogMessage<'a>> {
    if input.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Empty, 0));
    }
    let text = std::str::from_utf8(input)
        .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let mut cur = Cursor::new(text);
    let priority = if cur.peek() == Some(b'<') {
        Some(parse_pri(&mut cur)?)
    } else {
        None
    };
    let rest = cur.rest_bytes();
    if starts_with_rfc3339(rest) || starts_with_bsd_timestamp(rest) {
        return parse_bsd(cur, priority, opts);
    }
    if priority.is_some() {
        if rest.first().is_some_and(u8::is_ascii_digit) {
            return parse_rfc5424(cur, priority, opts);
        }
        // A space after `>` is the space-after-PRI quirk of some relays.
        cur.skip_spaces();
        if cur.at_end() {
            return Err(cur.err(ParseErrorKind::Truncated(
                "a timestamp or message after PRI",
            )));
        }
        return parse_bsd(cur, priority, opts);
    }
    // No PRI: RFC 5424 without PRI (`1 2020-...`) or a headerless body.
    if looks_like_version(rest) {
        return parse_rfc5424(cur, None, opts);
    }
    match parse_headerless_body(&mut cur)? {
        Some(msg) => Ok(msg),
        None => Err(ParseError::new(ParseErrorKind::Unrecognized, 0)),
    }
}

/// Byte-level reader over a validated UTF-8 line. Every split point is an
/// ASCII byte, so slicing at those positions stays on char boundaries.
#[derive(Clone)]
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn rest_bytes(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    /// The run of non-space bytes at the cursor (advances past it).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        let len = find_space(self.rest_bytes());
        self.pos = start + len;
        self.slice(start, self.pos)
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Exactly one SP, as RFC 5424 requires between header fields.
    fn expect_space(&mut self, after: &'static str) -> Result<()> {
        match self.peek() {
            Some(b' ') => {
                self.pos += 1;
                Ok(())
            }
            None => Err(self.err(ParseErrorKind::EndsAfter(after))),
            Some(_) => Err(self.err(ParseErrorKind::MissingSpace(after))),
        }
    }

    /// An RFC 5424 header field (PRINTUSASCII, RFC 5424 section 6) that
    /// may be NILVALUE.
    fn nil_or_token(&mut self, field: &'static str) -> Result<Option<&'a str>> {
        let start = self.pos;
        // One pass: find the SP and check every byte (header fields are
        // short, a byte loop beats memchr plus a second check).
        let rest = self.rest_bytes();
        let len = printable_run(rest);
        match rest.get(len) {
            None | Some(b' ') => {}
            Some(_) => {
                let ch = self
                    .text
                    .get(start + len..)
                    .and_then(|t| t.chars().next())
                    .unwrap_or('?');
                return Err(ParseError::new(
                    ParseErrorKind::InvalidChar { field, ch },
                    start + len,
                ));
            }
        }
        if len == 0 {
            return Err(self.err(if rest.is_empty() {
                ParseErrorKind::Truncated(field)
            } else {
                ParseErrorKind::EmptyField(field)
            }));
        }
        self.pos = start + len;
        let tok = self.slice(start, self.pos);
        Ok((tok != "-").then_some(tok))
    }
}

fn parse_pri(cur: &mut Cursor<'_>) -> Result<Priority> {
    let start = cur.pos;
    cur.pos += 1; // '<'
    let mut value: u32 = 0;
    let mut digits = 0;
    while let Some(c) = cur.peek() {
        if !c.is_ascii_digit() {
            break;
        }
        digits += 1;
        if digits > 3 {
            return Err(cur.err(ParseErrorKind::PriNotANumber));
        }
        value = value * 10 + u32::from(c - b'0');
        cur.pos += 1;
    }
    match cur.peek() {
        Some(b'>') if digits > 0 => {}
        None => return Err(cur.err(ParseErrorKind::PriUnterminated)),
        Some(b'>') | Some(_) => return Err(cur.err(ParseErrorKind::PriNotANumber)),
    }
    cur.pos += 1;
    Priority::from_code(value)
        .map_err(|_| ParseError::new(ParseErrorKind::PriOutOfRange(value), start + 1))
}

/// `1 ` followed by a timestamp or NILVALUE: RFC 5424 without its PRI
/// (syslog-loose issue #1). Only VERSION 1 exists, so only 1 is taken.
fn looks_like_version(rest: &[u8]) -> bool {
    rest.starts_with(b"1 ")
        && rest
            .get(2)
            .is_some_and(|c| *c == b'-' || c.is_ascii_digit())
}

fn parse_version(cur: &mut Cursor<'_>) -> Result<u16> {
    let mut value: u16 = 0;
    let mut digits = 0;
    while let Some(c) = cur.peek() {
        if !c.is_ascii_digit() {
            break;
        }
        if digits == 0 && c == b'0' || digits == 3 {
            return Err(cur.err(ParseErrorKind::InvalidVersion));
        }
        value = value * 10 + u16::from(c - b'0');
        digits += 1;
        cur.pos += 1;
    }
    if digits == 0 {
        return Err(cur.err(ParseErrorKind::InvalidVersion));
    }
    Ok(value)
}

#[inline]
fn parse_rfc5424<'a>(
    mut cur: Cursor<'a>,
    priority: Option<Priority>,
    opts: &ParseOptions,
) -> Result<SyslogMessage<'a>> {
    let version = parse_version(&mut cur)?;
    cur.expect_space("VERSION")?;
    let timestamp = if cur.peek() == Some(b'-') && matches!(cur.peek_at(1), Some(b' ') | None) {
        cur.pos += 1;
        None
    } else if cur.at_end() {
        return Err(cur.err(ParseErrorKind::Truncated("TIMESTAMP")));
    } else {
        Some(parse_rfc3339(&mut cur, opts)?)
    };
    cur.expect_space("TIMESTAMP")?;
    let after_timestamp = cur.clone();
    let mut msg = empty_message(Format::Rfc5424, priority);
    msg.version = Some(version);
    msg.timestamp = timestamp;
    let strict = (|| {
        msg.hostname = cur.nil_or_token("HOSTNAME")?;
        cur.expect_space("HOSTNAME")?;
        parse_5424_tail_into(&mut cur, &mut msg)
    })();
    if let Err(e) = strict {
        // `<165>1 TIMESTAMP mib2d[1484]: TEXT` (SC4S hybrids): a BSD `TAG:`
        // where HOSTNAME or APP-NAME should be. Parsed as a BSD body; any
        // other failure is reported as it is.
        let mut probe = after_timestamp.clone();
        let first = probe.token();
        probe.skip_spaces();
        let second = probe.token();
        if !(is_tag_token(first) || is_tag_token(second)) {
            return Err(e);
        }
        let mut body = after_timestamp;
        let mut fallback = empty_message(Format::Rfc5424, priority);
        fallback.version = Some(version);
        fallback.timestamp = timestamp;
        msg = parse_bsd_body(&mut body, fallback, opts, false);
        msg.format = Format::Rfc5424;
    }
    Ok(msg)
}

fn empty_message<'a>(format: Format, priority: Option<Priority>) -> SyslogMessage<'a> {
    SyslogMessage {
        format,
        priority,
        version: None,
        timestamp: None,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: Vec::new(),
        message: None,
    }
}

/// `APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`, shared by RFC 5424 and by
/// relay-wrapped bodies.
fn parse_5424_tail<'a>(
    cur: &mut Cursor<'a>,
    timestamp: Option<Timestamp>,
    hostname: Option<&'a str>,
) -> Result<SyslogMessage<'a>> {
    let mut msg = empty_message(Format::Rfc5424, None);
    msg.timestamp = timestamp;
    msg.hostname = hostname;
    parse_5424_tail_into(cur, &mut msg)?;
    Ok(msg)
}

/// [`parse_5424_tail`] filling in `msg` (no copy of the message on the
/// hot path).
#[inline]
fn parse_5424_tail_into<'a>(cur: &mut Cursor<'a>, msg: &mut SyslogMessage<'a>) -> Result<()> {
    msg.app_name = cur.nil_or_token("APP-NAME")?;
    cur.expect_space("APP-NAME")?;
    msg.proc_id = cur.nil_or_token("PROCID")?;
    cur.expect_space("PROCID")?;
    msg.msg_id = cur.nil_or_token("MSGID")?;
    cur.expect_space("MSGID")?;
    msg.structured_data = parse_structured_data(cur)?;
    msg.message = parse_5424_msg(cur)?;
    Ok(())
}

/// After SD: nothing, or SP then MSG (a UTF-8 BOM before MSG is dropped).
/// MSG straight after `]` (no SP, seen on SRX) is accepted as MSG.
#[inline]
fn parse_5424_msg<'a>(cur: &mut Cursor<'a>) -> Result<Option<&'a str>> {
    if cur.peek() == Some(b' ') {
        cur.pos += 1;
    }
    let mut rest = cur.rest();
    if let Some(stripped) = rest.strip_prefix('\u{feff}') {
        rest = stripped;
    }
    cur.pos = cur.bytes.len();
    Ok((!rest.is_empty()).then_some(rest))
}

#[inline]
fn parse_structured_data<'a>(cur: &mut Cursor<'a>) -> Result<Vec<SdElement<'a>>> {
    match cur.peek() {
        Some(b'-') => {
            cur.pos += 1;
            match cur.peek() {
                None | Some(b' ') => Ok(Vec::new()),
                Some(_) => Err(cur.err(ParseErrorKind::MissingSpace("structured data"))),
            }
        }
        Some(b'[') => {
            let mut elements = Vec::with_capacity(1);
            while cur.peek() == Some(b'[') {
                elements.push(parse_sd_element(cur)?);
            }
            Ok(elements)
        }
        None => Err(cur.err(ParseErrorKind::Truncated("structured data"))),
        Some(_) => Err(cur.err(ParseErrorKind::SdExpected)),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is zero. Bytes above the first
/// zero may be flagged falsely (borrows), so only the lowest flag counts.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

const ONES16: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
const HIGHS16: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;

/// [`zero_bytes`] on 16 bytes.
#[inline]
fn zero_bytes16(x: u128) -> u128 {
    x.wrapping_sub(ONES16) & !x & HIGHS16
}

#[inline]
fn word16(chunk: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(chunk.get(..16).unwrap_or(&[0; 16]));
    u128::from_le_bytes(bytes)
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(bytes)
}

/// Length of the run of PRINTUSASCII bytes (0x21..=0x7e) at the start of
/// `b`.
#[inline]
fn printable_run(b: &[u8]) -> usize {
    // 8 bytes per step: header fields are short (`-`, a PID, a tag).
    let mut chunks = b.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word(chunk);
        let below = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        let above = (x.wrapping_add(ONES) | x) & HIGHS;
        let stops = below | above;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail
        .iter()
        .position(|c| !(33..=126).contains(c))
        .unwrap_or(tail.len())
}

/// Index of the first SP in `b`, or its length (tokens are short: a word
/// at a time beats a memchr call).
#[inline]
fn find_space(b: &[u8]) -> usize {
    let mut chunks = b.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let stops = zero_bytes(word(chunk) ^ (ONES * u64::from(b' ')));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail.iter().position(|&c| c == b' ').unwrap_or(tail.len())
}

/// Length of the SD-NAME at the start of `b`. SD names and values are the
/// hot loops of structured data: both scan 8 bytes per step (SWAR).
#[inline]
fn sd_name_len(b: &[u8]) -> usize {
    // 16 bytes per step: most Junos names fit in one, so the loop exit
    // is predictable.
    let mut chunks = b.chunks_exact(16);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word16(chunk);
        // Stop at bytes < 0x21, > 0x7e, '=', ']' or '"'.
        let below = x.wrapping_sub(ONES16 * 0x21) & !x & HIGHS16;
        let above = (x.wrapping_add(ONES16) | x) & HIGHS16;
        let special = zero_bytes16(x ^ (ONES16 * u128::from(b'=')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b']')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b'"')));
        let stops = below | above | special;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    let tail = chunks.remainder();
    i + tail
        .iter()
        .position(|&c| !is_sd_name_byte(c))
        .unwrap_or(tail.len())
}

/// The first `"` or `\\` in `b`.
#[inline]
fn find_quote_or_backslash(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(16);
    let mut i = 0;
    for chunk in &mut chunks {
        let x = word16(chunk);
        let stops = zero_bytes16(x ^ (ONES16 * u128::from(b'"')))
            | zero_bytes16(x ^ (ONES16 * u128::from(b'\\')));
        if stops != 0 {
            return Some(i + (stops.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|k| i + k)
}

#[inline]
const fn is_sd_name_byte(c: u8) -> bool {
    // RFC 5424 SD-NAME: PRINTUSASCII except '=', SP, ']', '"'.
    c >= 33 && c <= 126 && c != b'=' && c != b']' && c != b'"'
}

#[inline]
fn parse_sd_element<'a>(cur: &mut Cursor<'a>) -> Result<SdElement<'a>> {
    let open = cur.pos;
    cur.pos += 1; // '['
    let id_start = cur.pos;
    cur.pos += sd_name_len(cur.rest_bytes());
    if cur.pos == id_start {
        return Err(match cur.peek() {
            None => ParseError::new(ParseErrorKind::SdUnterminatedElement, open),
            Some(_) => cur.err(ParseErrorKind::SdEmptyId),
        });
    }
    let id = cur.slice(id_start, cur.pos);
    // Junos flow logs carry 10-40 params: start big enough to rarely grow.
    let mut params = Vec::with_capacity(16);
    loop {
        match cur.peek() {
            Some(b']') => {
                cur.pos += 1;
                return Ok(SdElement { id, params });
            }
            Some(b' ') => {
                // One SP per RFC 5424; runs of spaces are tolerated.
                cur.skip_spaces();
                if cur.peek() == Some(b']') {
                    continue;
                }
                params.push(parse_sd_param(cur, open)?);
            }
            None => return Err(ParseError::new(ParseErrorKind::SdUnterminatedElement, open)),
            Some(c) => {
                let ch = cur.rest().chars().next().unwrap_or(char::from(c));
                return Err(cur.err(ParseErrorKind::SdUnexpectedChar(ch)));
            }
        }
    }
}

const LEFT_CURLY_QUOTE: &str = "\u{201c}";
const RIGHT_CURLY_QUOTE: &str = "\u{201d}";

#[inline]
fn parse_sd_param<'a>(cur: &mut Cursor<'a>, element_open: usize) -> Result<SdParam<'a>> {
    let name_start = cur.pos;
    cur.pos += sd_name_len(cur.rest_bytes());
    if cur.pos == name_start {
        return Err(match cur.peek() {
            None => ParseError::new(ParseErrorKind::SdUnterminatedElement, element_open),
            Some(_) => cur.err(ParseErrorKind::SdEmptyParamName),
        });
    }
    let name = cur.slice(name_start, cur.pos);
    match cur.peek() {
        Some(b'=') => cur.pos += 1,
        None => {
            return Err(ParseError::new(
                ParseErrorKind::SdUnterminatedElement,
                element_open,
            ))
        }
        Some(_) => return Err(cur.err(ParseErrorKind::SdExpectedEquals)),
    }
    // `name= "value"` (rsyslog accepts it; seed 003 shows it): tolerated.
    cur.skip_spaces();
    match cur.peek() {
        Some(b'"') => {
            cur.pos += 1;
            let value = parse_quoted_value(cur)?;
            Ok(SdParam { name, value })
        }
        None => Err(ParseError::new(
            ParseErrorKind::SdUnterminatedElement,
            element_open,
        )),
        Some(_) => {
            // Curly quotes (copied from Juniper's documentation) are
            // accepted as quotes: the value runs to the next curly quote.
            let rest = cur.rest();
            let open_len =
                if rest.starts_with(RIGHT_CURLY_QUOTE) || rest.starts_with(LEFT_CURLY_QUOTE) {
                    RIGHT_CURLY_QUOTE.len()
                } else {
                    return Err(cur.err(ParseErrorKind::SdExpectedQuote));
                };
            let value_start = cur.pos + open_len;
            let body = rest.get(open_len..).unwrap_or_default();
            let close = body
                .find(['\u{201c}', '\u{201d}'])
                .ok_or_else(|| cur.err(ParseErrorKind::SdUnterminatedValue))?;
            let value = cur.slice(value_start, value_start + close);
            cur.pos = value_start + close + RIGHT_CURLY_QUOTE.len();
            Ok(SdParam {
                name,
                value: Cow::Borrowed(value),
            })
        }
    }
}

/// The value after its opening `"`, up to the closing unescaped `"`.
/// `\"`, `\\` and `\]` are unescaped; any other backslash stays (RFC 5424
/// section 6.3.3). An unescaped `]` inside the quotes is taken literally.
#[inline]
fn parse_quoted_value<'a>(cur: &mut Cursor<'a>) -> Result<Cow<'a, str>> {
    let open = cur.pos - 1;
    let start = cur.pos;
    let rest = cur.rest_bytes();
    // Values are short (a port, an address): see find_quote_or_backslash.
    let Some(first) = find_quote_or_backslash(rest) else {
        return Err(ParseError::new(ParseErrorKind::SdUnterminatedValue, open));
    };
    if rest.get(first) == Some(&b'"') {
        cur.pos = start + first + 1;
        return Ok(Cow::Borrowed(cur.slice(start, start + first)));
    }
    // Slow path: at least one backslash.
    let mut out = String::with_capacity(rest.len().min(256));
    let mut seg_start = start;
    let mut i = start + first;
    loop {
        match cur.bytes.get(i) {
            Some(b'"') => {
                out.push_str(cur.slice(seg_start, i));
                cur.pos = i + 1;
                return Ok(Cow::Owned(out));
            }
            Some(b'\\') => match cur.bytes.get(i + 1) {
                Some(&c @ (b'"' | b'\\' | b']')) => {
                    out.push_str(cur.slice(seg_start, i));
                    out.push(char::from(c));
                    i += 2;
                    seg_start = i;
                }
                Some(_) => i += 1,
                None => return Err(ParseError::new(ParseErrorKind::SdUnterminatedValue, open)),
            },
            Some(_) => {
                let tail = cur.bytes.get(i + 1..).unwrap_or_default();
                match memchr::memchr2(b'"', b'\\', tail) {
                    Some(n) => i += 1 + n,
                    None => return Err(ParseError::new(ParseErrorKind::SdUnterminatedValue, open)),
                }
            }
            None => return Err(ParseError::new(ParseErrorKind::SdUnterminatedValue, open)),
        }
    }
}

#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<u8> {
    let hi = *b.get(at)?;
    let lo = *b.get(at + 1)?;
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Some((hi - b'0') * 10 + (lo - b'0'))
    } else {
        None
    }
}

#[inline]
fn starts_with_rfc3339(b: &[u8]) -> bool {
    b.len() >= 11
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && two_digits(b, 5).is_some()
        && b.get(7) == Some(&b'-')
}

/// RFC 3339 full-date "T" full-time. A missing offset is repaired with
/// `opts.default_offset_minutes`; `t`/`z` in lower case are accepted.
#[inline]
fn parse_rfc3339(cur: &mut Cursor<'_>, opts: &ParseOptions) -> Result<Timestamp> {
    if let Some((ts, len)) = rfc3339_fast(cur.rest_bytes(), opts.default_offset_minutes) {
        cur.pos += len;
        return Ok(ts);
    }
    parse_rfc3339_checked(cur, opts)
}

/// The common shape `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm)` in one
/// pass; `None` sends anything else (and every error) to the checked path,
/// which names what is wrong.
#[inline]
fn rfc3339_fast(b: &[u8], default_offset_minutes: i16) -> Option<(Timestamp, usize)> {
    let head: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let d = |i: usize| -> Option<u32> {
        let v = head[i].wrapping_sub(b'0');
        (v < 10).then_some(u32::from(v))
    };
    let year = d(0)? * 1000 + d(1)? * 100 + d(2)? * 10 + d(3)?;
    let month = d(5)? * 10 + d(6)?;
    let day = d(8)? * 10 + d(9)?;
    let hour = d(11)? * 10 + d(12)?;
    let minute = d(14)? * 10 + d(15)?;
    let second = d(17)? * 10 + d(18)?;
    let mut i = 19;
    let (nanos, fraction_digits) = parse_fraction(b, &mut i).ok()?;
    let offset_minutes = match b.get(i) {
        None | Some(b' ') => default_offset_minutes, // offset missing: repaired
        Some(b'Z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = two_digits(b, i + 1)?;
            let om = two_digits(b, i + 4)?;
            if b.get(i + 3) != Some(&b':') || oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let minutes = i16::from(oh) * 60 + i16::from(om);
            if sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let date = CivilDate {
        year: i32::try_from(year).ok()?,
        month: u8::try_from(month).ok()?,
        day: u8::try_from(day).ok()?,
    };
    let time = CivilTime {
        hour: u8::try_from(hour).ok()?,
        minute: u8::try_from(minute).ok()?,
        second: u8::try_from(second).ok()?,
        nanos,
    };
    let ts = Timestamp::from_civil(date, time, offset_minutes, fraction_digits)?;
    Some((ts, i))
}

fn parse_rfc3339_checked(cur: &mut Cursor<'_>, opts: &ParseOptions) -> Result<Timestamp> {
    use ParseErrorKind::{InvalidTimestamp, Truncated};
    let b = cur.rest_bytes();
    let base = cur.pos;
    let fail = |at: usize, what: &'static str| ParseError::new(InvalidTimestamp(what), base + at);
    let short = |at: usize| ParseError::new(Truncated("the rest of the timestamp"), base + at);
    let digit_or = |at: usize, what: &'static str| {
        if at >= b.len() {
            Err(short(at))
        } else {
            Err(fail(at, what))
        }
    };
    let mut year: i32 = 0;
    for i in 0..4 {
        match b.get(i) {
            Some(c) if c.is_ascii_digit() => year = year * 10 + i32::from(c - b'0'),
            _ => return digit_or(i, "year must be 4 digits"),
        }
    }
    let sep = |at: usize, want: u8, what: &'static str| -> Result<()> {
        match b.get(at) {
            Some(&c) if c == want || (want == b'T' && c == b't') => Ok(()),
            Some(_) => Err(fail(at, what)),
            None => Err(short(at)),
        }
    };
    sep(4, b'-', "expected '-' after year")?;
    let Some(month) = two_digits(b, 5) else {
        return digit_or(5, "month must be 2 digits");
    };
    sep(7, b'-', "expected '-' after month")?;
    let Some(day) = two_digits(b, 8) else {
        return digit_or(8, "day must be 2 digits");
    };
    sep(10, b'T', "expected 'T' between date and time")?;
    let Some(hour) = two_digits(b, 11) else {
        return digit_or(11, "hour must be 2 digits");
    };
    sep(13, b':', "expected ':' after hour")?;
    let Some(minute) = two_digits(b, 14) else {
        return digit_or(14, "minute must be 2 digits");
    };
    sep(16, b':', "expected ':' after minute")?;
    let Some(second) = two_digits(b, 17) else {
        return digit_or(17, "second must be 2 digits");
    };
    let mut i = 19;
    let (nanos, fraction_digits) =
        parse_fraction(b, &mut i).map_err(|at| fail(at, "fraction needs 1 to 9 digits"))?;
    let offset_minutes = match b.get(i) {
        Some(b'Z') | Some(b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let (Some(oh), Some(b':'), Some(om)) =
                (two_digits(b, i + 1), b.get(i + 3), two_digits(b, i + 4))
            else {
                return if b.len() < i + 6 {
                    Err(short(b.len()))
                } else {
                    Err(fail(i, "offset must be +hh:mm or -hh:mm"))
                };
            };
            if oh > 23 || om > 59 {
                return Err(fail(i, "offset out of range"));
            }
            i += 6;
            let minutes = i16::from(oh) * 60 + i16::from(om);
            if sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        // Offset missing (seen in Juniper's documentation samples).
        None | Some(b' ') => opts.default_offset_minutes,
        Some(_) => return Err(fail(i, "expected 'Z', an offset or a space after the time")),
    };
    let date = CivilDate { year, month, day };
    if !(1..=12).contains(&month) {
        return Err(fail(5, "month out of range 01..12"));
    }
    if !date.is_valid() {
        return Err(fail(8, "day does not exist in that month"));
    }
    let time = CivilTime {
        hour,
        minute,
        second,
        nanos,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(fail(11, "time of day out of range"));
    }
    let ts = Timestamp::from_civil(date, time, offset_minutes, fraction_digits)
        .ok_or_else(|| fail(0, "out of range"))?;
    cur.pos = base + i;
    Ok(ts)
}

/// `.d{1,9}` at `*i`, if present; returns (nanos, digits) or the offset of
/// the offending byte.
#[inline]
fn parse_fraction(b: &[u8], i: &mut usize) -> std::result::Result<(u32, u8), usize> {
    if b.get(*i) != Some(&b'.') {
        return Ok((0, 0));
    }
    *i += 1;
    let mut nanos: u32 = 0;
    let mut digits: u8 = 0;
    while let Some(c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        if digits == 9 {
            return Err(*i);
        }
        nanos = nanos * 10 + u32::from(c - b'0');
        digits += 1;
        *i += 1;
    }
    if digits == 0 {
        return Err(*i);
    }
    Ok((nanos * 10_u32.pow(u32::from(9 - digits)), digits))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_number(b: &[u8]) -> Option<u8> {
    let name = b.get(..3)?;
    // RFC 3164 writes "Jan"; some senders write "JAN".
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .and_then(|p| u8::try_from(p + 1).ok())
}

#[inline]
fn starts_with_bsd_timestamp(b: &[u8]) -> bool {
    b.get(3) == Some(&b' ') && month_number(b).is_some()
}

/// `Mmm dd hh:mm:ss` (day space-padded or not), optionally with a fraction
/// (`time-format millisecond`) or a year (`Mmm dd yyyy hh:mm:ss`).
fn parse_bsd_timestamp(cur: &mut Cursor<'_>, opts: &ParseOptions) -> Result<Timestamp> {
    use ParseErrorKind::{InvalidTimestamp, Truncated};
    let b = cur.rest_bytes();
    let base = cur.pos;
    let fail = |at: usize, what: &'static str| ParseError::new(InvalidTimestamp(what), base + at);
    let short = |at: usize| ParseError::new(Truncated("the rest of the timestamp"), base + at);
    let Some(month) = month_number(b) else {
        return Err(fail(0, "unknown month name"));
    };
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1; // "Jul  5"
    }
    let mut day: u8 = 0;
    let day_start = i;
    while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        if i - day_start == 2 {
            return Err(fail(i, "day must be 1 or 2 digits"));
        }
        day = day * 10 + (c - b'0');
        i += 1;
    }
    if i == day_start {
        return if i >= b.len() {
            Err(short(i))
        } else {
            Err(fail(i, "day must be 1 or 2 digits"))
        };
    }
    match b.get(i) {
        Some(b' ') => i += 1,
        Some(_) => return Err(fail(i, "expected a space after the day")),
        None => return Err(short(i)),
    }
    // Optional year before the time: "Jun 21 2020 14:03:12".
    let mut year = None;
    if b.get(i + 4) == Some(&b' ')
        && b.get(i..i + 4)
            .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
    {
        let y = b
            .get(i..i + 4)
            .unwrap_or_default()
            .iter()
            .fold(0i32, |acc, c| acc * 10 + i32::from(c - b'0'));
        year = Some(y);
        i += 5;
    }
    let field = |at: usize, what: &'static str| -> Result<u8> {
        two_digits(b, at).ok_or_else(|| {
            if b.len() < at + 2 {
                short(b.len())
            } else {
                fail(at, what)
            }
        })
    };
    let hour = field(i, "hour must be 2 digits")?;
    if b.get(i + 2) != Some(&b':') {
        return if b.len() <= i + 2 {
            Err(short(i + 2))
        } else {
            Err(fail(i + 2, "expected ':' after hour"))
        };
    }
    let minute = field(i + 3, "minute must be 2 digits")?;
    if b.get(i + 5) != Some(&b':') {
        return if b.len() <= i + 5 {
            Err(short(i + 5))
        } else {
            Err(fail(i + 5, "expected ':' after minute"))
        };
    }
    let second = field(i + 6, "second must be 2 digits")?;
    i += 8;
    let (nanos, fraction_digits) =
        parse_fraction(b, &mut i).map_err(|at| fail(at, "fraction needs 1 to 9 digits"))?;
    if b.get(i) == Some(&b':') && matches!(b.get(i + 1), Some(b' ') | None) {
        i += 1; // "Mar  7 19:06:53: host ..." (Cisco-style colon)
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(fail(day_start, "time of day out of range"));
    }
    if day == 0 || day > 31 {
        return Err(fail(day_start, "day out of range"));
    }
    let time = CivilTime {
        hour,
        minute,
        second,
        nanos,
    };
    let offset = opts.default_offset_minutes;
    let ts = match year {
        Some(year) => Timestamp::from_civil(
            CivilDate { year, month, day },
            time,
            offset,
            fraction_digits,
        ),
        None => opts
            .year_rule
            .resolve(month, day, time, offset, fraction_digits),
    }
    .ok_or_else(|| fail(day_start, "day does not exist in that month"))?;
    cur.pos = base + i;
    Ok(ts)
}

/// `[<PRI>]TIMESTAMP [HOST] [TAG[PID]:] MSG`, plus relay unwrapping and
/// Junos TAG extraction.
fn parse_bsd<'a>(
    mut cur: Cursor<'a>,
    priority: Option<Priority>,
    opts: &ParseOptions,
) -> Result<SyslogMessage<'a>> {
    let mut msg = SyslogMessage {
        format: Format::Rfc3164,
        priority,
        version: None,
        timestamp: None,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: Vec::new(),
        message: None,
    };
    let rest = cur.rest_bytes();
    let mut iso_timestamp = false;
    if starts_with_bsd_timestamp(rest) {
        msg.timestamp = Some(parse_bsd_timestamp(&mut cur, opts)?);
    } else if starts_with_rfc3339(rest) {
        msg.timestamp = Some(parse_rfc3339(&mut cur, opts)?);
        iso_timestamp = true;
    } else {
        // RFC 3164 section 4.3.2: no timestamp, the whole rest is MSG.
        let text = cur.rest();
        msg.message = (!text.is_empty()).then_some(text);
        return Ok(msg);
    }
    if !cur.at_end() && cur.skip_spaces() == 0 {
        return Err(cur.err(ParseErrorKind::MissingSpace("TIMESTAMP")));
    }
    Ok(parse_bsd_body(&mut cur, msg, opts, iso_timestamp))
}

/// `[HOST] [TAG[PID]:] MSG` after a BSD timestamp, with relay unwrapping
/// and Junos TAG extraction. `iso_timestamp`: the line had an RFC 3339
/// timestamp (then a VERSION-less RFC 5424 rest is recognised).
fn parse_bsd_body<'a>(
    cur: &mut Cursor<'a>,
    mut msg: SyslogMessage<'a>,
    opts: &ParseOptions,
    iso_timestamp: bool,
) -> SyslogMessage<'a> {
    let priority = msg.priority;
    // HOSTNAME, unless the first token is already the tag (`RT_FLOW: ...`).
    let save = cur.pos;
    let first = cur.token();
    if !first.is_empty() && !is_tag_token(first) {
        msg.hostname = Some(first);
        cur.skip_spaces();
    } else {
        cur.pos = save;
    }
    // `<PRI>TIMESTAMP HOST APP PROCID MSGID SD MSG`: RFC 5424 with its
    // VERSION missing (relays that drop it). Taken as RFC 5424 when the rest
    // has that exact shape.
    if iso_timestamp && msg.hostname.is_some() && has_5424_tail_shape(cur, true) {
        let mut tail = cur.clone();
        if let Ok(inner) = parse_5424_tail(&mut tail, msg.timestamp, msg.hostname) {
            return SyslogMessage { priority, ..inner };
        }
    }
    // TAG[PID]: (the process)
    let save = cur.pos;
    let tag = cur.token();
    match split_program(tag) {
        Some((app, pid)) => {
            msg.app_name = Some(app);
            msg.proc_id = pid;
            // One SP separates TAG and CONTENT; Junos craftd sends two.
            cur.skip_spaces();
        }
        None => cur.pos = save,
    }
    let body = cur.rest();

    // Relay-wrapped RFC 5424 body: `TIMESTAMP HOST APP PROCID MSGID SD MSG`.
    if starts_with_rfc3339(cur.rest_bytes()) {
        if let Some(inner) = try_unwrap_relay(cur, opts) {
            return SyslogMessage { priority, ..inner };
        }
    }

    let (tag, text) = split_junos_tag(body);
    msg.msg_id = tag;
    msg.message = (!text.is_empty()).then_some(text);
    let junoscope_process = msg
        .app_name
        .and_then(|a| a.strip_prefix("junoscope"))
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()));
    if junoscope_process || tag.is_some_and(|t| t.starts_with("JUNOSCOPE_")) {
        msg.format = Format::Junoscope;
    }
    msg
}

fn try_unwrap_relay<'a>(cur: &Cursor<'a>, opts: &ParseOptions) -> Option<SyslogMessage<'a>> {
    let mut inner = cur.clone();
    let timestamp = parse_rfc3339(&mut inner, opts).ok()?;
    inner.expect_space("TIMESTAMP").ok()?;
    let hostname = inner.nil_or_token("HOSTNAME").ok()?;
    inner.expect_space("HOSTNAME").ok()?;
    parse_5424_tail(&mut inner, Some(timestamp), hostname).ok()
}

/// A token that is a BSD TAG rather than a HOSTNAME: it ends with ':'
/// (`RT_FLOW:`, `sshd[12]:`).
fn is_tag_token(token: &str) -> bool {
    token.ends_with(':') && token.len() > 1
}

/// `name[pid]:`, `name:` or `name[pid]` -> (name, pid).
fn split_program(token: &str) -> Option<(&str, Option<&str>)> {
    let body = token.strip_suffix(':').unwrap_or(token);
    if let Some(inner) = body.strip_suffix(']') {
        let open = inner.rfind('[')?;
        let name = inner.get(..open)?;
        let pid = inner.get(open + 1..)?;
        if name.is_empty() || pid.is_empty() {
            return None;
        }
        return Some((name, Some(pid)));
    }
    if body.len() < token.len() && !body.is_empty() {
        return Some((body, None));
    }
    None
}

/// A Junos tag at the start of MSG: `[A-Z][A-Z0-9_]*` containing '_',
/// followed by ':' and a space or the end. Returns (tag, text after it).
fn split_junos_tag(body: &str) -> (Option<&str>, &str) {
    let b = body.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_uppercase) {
        return (None, body);
    }
    let len = b
        .iter()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || **c == b'_')
        .count();
    let tag = body.get(..len).unwrap_or_default();
    if !tag.contains('_') || b.get(len) != Some(&b':') {
        return (None, body);
    }
    match b.get(len + 1) {
        None => (Some(tag), ""),
        Some(b' ') => (Some(tag), body.get(len + 2..).unwrap_or_default()),
        Some(_) => (None, body),
    }
}

fn is_junos_tag(token: &str) -> bool {
    let b = token.as_bytes();
    b.first().is_some_and(u8::is_ascii_uppercase)
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// The Junos structured-data body without its `<PRI>1 TIMESTAMP HOST`
/// header: `APP PROCID MSGID SD [MSG]` (PROCID digits or '-', MSGID a Junos
/// tag or '-', SD '-' or elements), or `TAG [SD...] [MSG]`.
/// `Ok(None)` when the line does not have that shape.
fn parse_headerless_body<'a>(cur: &mut Cursor<'a>) -> Result<Option<SyslogMessage<'a>>> {
    let start = cur.pos;
    let first = cur.token();
    if is_junos_tag(first) && cur.peek() == Some(b' ') && cur.peek_at(1) == Some(b'[') {
        cur.pos += 1;
        let structured_data = parse_structured_data(cur)?;
        let message = parse_5424_msg(cur)?;
        return Ok(Some(SyslogMessage {
            format: Format::Rfc5424,
            priority: None,
            version: None,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: Some(first),
            structured_data,
            message,
        }));
    }
    cur.pos = start;
    if !has_5424_tail_shape(cur, false) {
        return Ok(None);
    }
    parse_5424_tail(cur, None, None).map(Some)
}

/// Whether the text at the cursor looks like `APP PROCID MSGID SD`, with
/// PROCID digits or '-', MSGID a Junos tag or '-' and SD '-' or '['.
/// Used to recognise RFC 5424 bodies that lost their header.
fn has_5424_tail_shape(cur: &Cursor<'_>, nil_app_allowed: bool) -> bool {
    let mut probe = cur.clone();
    let app = probe.token();
    // Process names start with a letter (`mgd`, `RT_FLOW`) or '/' (`/kernel`).
    let named = app
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'/')
        || (nil_app_allowed && app == "-");
    if !named || probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    let pid = probe.token();
    if !(pid == "-" || (!pid.is_empty() && pid.bytes().all(|c| c.is_ascii_digit()))) {
        return false;
    }
    if probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    let msgid = probe.token();
    if !(msgid == "-" || is_junos_tag(msgid)) || probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    matches!(
        (probe.peek(), probe.peek_at(1)),
        (Some(b'['), _) | (Some(b'-'), Some(b' ') | None)
    )
}

impl SyslogMessage<'_> {
    /// The owned event for the store.
    ///
    /// Mapping: host/app/pid/facility/severity/message as parsed, `code` =
    /// `msg_id`, `time_ns` = timestamp; every SD param goes to `params` in
    /// order. The first param named `username` or `user` fills `user`,
    /// `client-address` or `source-address` fills `client_addr`, and
    /// `device`, `device-name` or `device_name` fills `device` (first match
    /// wins, in SD order).
    pub fn to_event(&self, received_ns: i64, raw: &[u8]) -> Event {
        let mut event = self.to_raw_backed_event(received_ns, raw);
        event.params = self.params();
        event.params_from_raw = false;
        event
    }

    /// As [`SyslogMessage::to_event`], but the parameters stay in `raw`
    /// (`params_from_raw`, `params` empty) when there are any: the store
    /// keeps them only there and reads them back with [`params_of`]. The
    /// fields `to_event` takes from parameters (`user`, `client_addr`,
    /// `device`) are filled the same way; no parameter is copied.
    pub fn to_raw_backed_event(&self, received_ns: i64, raw: &[u8]) -> Event {
        let first = |names: &[&str]| {
            self.structured_data
                .iter()
                .flat_map(|element| element.params.iter())
                .find(|p| names.contains(&p.name))
                .map(|p| CompactString::new(&p.value))
        };
        Event {
            received_ns,
            time_ns: self.timestamp.map(|t| t.unix_nanos()),
            host: self.hostname.map(CompactString::new),
            app: self.app_name.map(CompactString::new),
            pid: self.proc_id.map(CompactString::new),
            facility: self.priority.map(|p| p.facility),
            severity: self.priority.map(|p| p.severity),
            code: self.msg_id.map(CompactString::new),
            user: first(&["username", "user"]),
            client_addr: first(&["client-address", "source-address"]),
            device: first(&["device", "device-name", "device_name"]),
            operation: None,
            params: Vec::new(),
            message: self.message.map(CompactString::new),
            raw: raw.to_vec(),
            parse_error: None,
            params_from_raw: self.structured_data.iter().any(|e| !e.params.is_empty()),
        }
    }

    /// Every SD parameter, owned, in order.
    pub fn params(&self) -> Vec<Param> {
        let mut params = Vec::new();
        for element in &self.structured_data {
            for p in &element.params {
                params.push(Param {
                    sd_id: CompactString::new(element.id),
                    name: CompactString::new(p.name),
                    value: CompactString::new(&p.value),
                });
            }
        }
        params
    }
}

/// The parameters of a raw message, as [`SyslogMessage::to_event`] gives
/// them: what the store reads back for a [`SyslogMessage::to_raw_backed_event`].
/// Parse options only shape timestamps, so none are asked for.
pub fn params_of(raw: &[u8]) -> Result<Vec<Param>> {
    parse(raw, &ParseOptions::with_fixed_year(2000)).map(|m| m.params())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_event::{Facility, Severity};

    fn opts() -> ParseOptions {
        ParseOptions::with_fixed_year(2020)
    }

    fn ok(line: &str) -> SyslogMessage<'_> {
        parse(line.as_bytes(), &opts()).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn err(line: &[u8]) -> ParseError {
        match parse(line, &opts()) {
            Ok(m) => panic!("accepted {:?}: {m:?}", String::from_utf8_lossy(line)),
            Err(e) => e,
        }
    }

    #[test]
    fn seed_002_structured_data_sample() {
        let m = ok("<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"] User 'regress' exiting configuration mode");
        assert_eq!(m.format, Format::Rfc5424);
        assert_eq!(
            m.priority,
            Some(Priority::new(Facility::Local4, Severity::Notice))
        );
        assert_eq!(m.version, Some(1));
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339_utc(),
            "2007-02-15T09:17:15.719Z"
        );
        assert_eq!(m.hostname, Some("router1"));
        assert_eq!(m.app_name, Some("mgd"));
        assert_eq!(m.proc_id, Some("3046"));
        assert_eq!(m.msg_id, Some("UI_DBASE_LOGOUT_EVENT"));
        assert_eq!(m.structured_data.len(), 1);
        assert_eq!(m.structured_data[0].id, "junos@2636.1.1.1.2.18");
        assert_eq!(m.structured_data[0].param("username"), Some("regress"));
        assert!(matches!(
            m.structured_data[0].params[0].value,
            Cow::Borrowed(_)
        ));
        assert_eq!(m.message, Some("User 'regress' exiting configuration mode"));
        // `brief`: no English text.
        let brief = ok("<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"]");
        assert_eq!(brief.message, None);
    }

    #[test]
    fn seed_000_junoscope_sample() {
        let m = ok("Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'");
        assert_eq!(m.format, Format::Junoscope);
        assert_eq!(m.priority, None);
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339_utc(),
            "2020-06-20T13:00:05Z"
        );
        assert_eq!(m.hostname, Some("valhalla2"));
        assert_eq!(m.app_name, Some("junoscope7080"));
        assert_eq!(m.proc_id, Some("9348"));
        assert_eq!(m.msg_id, Some("JUNOSCOPE_LOGIN_FAILURE"));
        assert_eq!(m.message, Some("Login failed using username: 'admin'"));
        // The tag alone also marks JUNOScope; `junoscope` without a port does not.
        assert_eq!(
            ok("<150>Jun 20 13:00:05 h other[1]: JUNOSCOPE_X_Y: t").format,
            Format::Junoscope
        );
        assert_eq!(
            ok("<150>Jun 20 13:00:05 h junoscope[1]: UI_X: t").format,
            Format::Rfc3164
        );
    }

    #[test]
    fn nilvalues_bom_and_several_elements() {
        let m = ok("<1>1 - - - - - -");
        assert_eq!(
            (m.timestamp, m.hostname, m.app_name, m.proc_id, m.msg_id),
            (None, None, None, None, None)
        );
        assert!(m.structured_data.is_empty());
        assert_eq!(m.message, None);
        let m = ok("<34>1 2003-10-11T22:14:15.003Z host su - ID47 [a@1 x=\"1\"][b@2 y=\"2\" z=\"\"] \u{feff}'su root' failed");
        assert_eq!(m.structured_data.len(), 2);
        assert_eq!(m.structured_data[1].param("z"), Some(""));
        assert_eq!(m.message, Some("'su root' failed"));
    }

    #[test]
    fn escapes_are_unescaped_and_others_kept() {
        let m = ok(
            r#"<1>1 - - - - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="keep\n" e="]"] m"#,
        );
        let sd = &m.structured_data[0];
        assert_eq!(sd.param("a"), Some("q\"uote"));
        assert_eq!(sd.param("b"), Some("back\\slash"));
        assert_eq!(sd.param("c"), Some("br]acket"));
        assert_eq!(sd.param("d"), Some("keep\\n"));
        assert_eq!(sd.param("e"), Some("]"));
        assert!(matches!(sd.params[0].value, Cow::Owned(_)));
    }

    #[test]
    fn offsets_fractions_and_repaired_missing_offset() {
        let t = |line: &str| ok(line).timestamp.unwrap();
        assert_eq!(
            t("<1>1 2020-08-11T11:15:00.025-07:00 h - - - -").to_rfc3339_utc(),
            "2020-08-11T18:15:00.025Z"
        );
        assert_eq!(
            t("<1>1 2020-08-11T11:15:00.025-07:00 h - - - -").offset_minutes(),
            -420
        );
        assert_eq!(
            t("<1>1 2003-08-24T05:14:15.000003+05:30 h - - - -").to_rfc3339_utc(),
            "2003-08-23T23:44:15.000003Z"
        );
        assert_eq!(
            t("<1>1 2013-01-19T15:18:17.040 h - - - -").to_rfc3339_utc(),
            "2013-01-19T15:18:17.040Z"
        );
        let mut o = opts();
        o.default_offset_minutes = 60;
        let m = parse(b"<1>1 2013-01-19T15:18:17 h - - - -", &o).unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339_utc(),
            "2013-01-19T14:18:17Z"
        );
        let e = err(b"<1>1 2003-08-24T05:14:15.1122334455Z h - - - -");
        assert_eq!(
            e.kind,
            ParseErrorKind::InvalidTimestamp("fraction needs 1 to 9 digits")
        );
        assert_eq!(e.offset, 34);
    }

    #[test]
    fn bsd_forms() {
        // No PRI, no hostname.
        let m = ok("Dec 17 08:05:30 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN");
        assert_eq!(
            (m.hostname, m.app_name, m.msg_id),
            (None, Some("RT_FLOW"), Some("RT_FLOW_SESSION_CLOSE"))
        );
        assert_eq!(m.message, Some("session closed TCP FIN"));
        // Double space before the hostname, unpadded day, two spaces after the tag.
        let m = ok("<28>Jul  8 23:04:13  vmx01 craftd[4817]:  Major alarm cleared");
        assert_eq!(
            (m.hostname, m.app_name, m.proc_id),
            (Some("vmx01"), Some("craftd"), Some("4817"))
        );
        assert_eq!(m.message, Some("Major alarm cleared"));
        let m = ok("<158>May 4 05:16:01 AB1234 kernel: FW: gr-0/0/0.23 A udp");
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339_utc(),
            "2020-05-04T05:16:01Z"
        );
        assert_eq!(m.msg_id, None);
        // ISO timestamp instead of the BSD one.
        let m = ok("<172>2020-03-31T08:41:59+00:00 some-router rpd[13037]: BGP_X_Y: text");
        assert_eq!(
            (m.format, m.msg_id, m.message),
            (Format::Rfc3164, Some("BGP_X_Y"), Some("text"))
        );
        // Year and milliseconds in the BSD timestamp; upper-case month.
        assert_eq!(
            ok("<13>Jun 21 2019 14:03:12 h a: x")
                .timestamp
                .unwrap()
                .to_rfc3339_utc(),
            "2019-06-21T14:03:12Z"
        );
        assert_eq!(
            ok("<13>JUN 21 14:03:12.123 h a: x")
                .timestamp
                .unwrap()
                .to_rfc3339_utc(),
            "2020-06-21T14:03:12.123Z"
        );
        // A PFE line has no process: the body is the message.
        let m = ok("<7>Dec 10 00:00:01 some-switch fpc0 (buf alloc) failed");
        assert_eq!(
            (m.app_name, m.message),
            (None, Some("fpc0 (buf alloc) failed"))
        );
        // Logical-system app names pass through.
        assert_eq!(
            ok("<28>1 2020-05-22T14:59:09.250-03:00 R LSYS:rpd 6589 - - m").app_name,
            Some("LSYS:rpd")
        );
        // RFC 3164 4.3.2: PRI then text without a timestamp.
        assert_eq!(ok("<13>hello world").message, Some("hello world"));
    }

    #[test]
    fn year_rule_applies_to_bsd_dates() {
        let dec31 = b"<13>Dec 31 23:59:59 h a: x";
        let jan1_2021 = ParseOptions::with_reference_time(1_609_459_210); // 2021-01-01T00:00:10Z
        let m = parse(dec31, &jan1_2021).unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339_utc(),
            "2020-12-31T23:59:59Z"
        );
        let e = parse(
            b"<13>Feb 29 00:00:00 h a: x",
            &ParseOptions::with_fixed_year(2023),
        )
        .unwrap_err();
        assert_eq!(
            e.kind,
            ParseErrorKind::InvalidTimestamp("day does not exist in that month")
        );
    }

    #[test]
    fn repaired_junos_quirks() {
        // Curly quotes from Juniper's documentation.
        let m = ok("<14>1 2013-12-14T16:06:59.134Z p RT_AAMW - T [junos@x a=\u{201d}cloud\u{201d} b=\"c\"]");
        assert_eq!(m.structured_data[0].param("a"), Some("cloud"));
        assert_eq!(m.structured_data[0].param("b"), Some("c"));
        // No space between SD and MSG.
        let m = ok("<12>1 2016-02-18T01:32:50.391Z u RT_UTM - W [junos@x a=\"1\"]1002");
        assert_eq!(m.message, Some("1002"));
        // `name= "value"`.
        assert_eq!(
            ok("<1>1 - - - - - [x a= \"v\"]").structured_data[0].param("a"),
            Some("v")
        );
        // Relay-wrapped RFC 5424 body.
        let m = ok("Aug 24 04:58:58 192.168.1.1 junos-ids: 2017-08-24T04:58:58.724Z srx RT_IDS - RT_SCREEN_IP [junos@1.1.1.1.2.1 attack-name=\"IP spoofing!\"]");
        assert_eq!(
            (m.format, m.hostname, m.app_name, m.msg_id),
            (
                Format::Rfc5424,
                Some("srx"),
                Some("RT_IDS"),
                Some("RT_SCREEN_IP")
            )
        );
        assert_eq!(
            m.structured_data[0].param("attack-name"),
            Some("IP spoofing!")
        );
        // PRI-less RFC 5424.
        let m = ok("1 2020-05-22T14:59:10.908-03:00 OX rpd 6544 - - bgp");
        assert_eq!(
            (m.priority, m.version, m.app_name),
            (None, Some(1), Some("rpd"))
        );
        // VERSION-less RFC 5424 after `<PRI> `.
        let m = ok("<166> 2023-05-08T10:54:24.756+10:00 HOST - - - - HOST nh: x");
        assert_eq!(
            (m.format, m.hostname, m.message),
            (Format::Rfc5424, Some("HOST"), Some("HOST nh: x"))
        );
        // SC4S hybrid: RFC 5424 header, BSD tag.
        let m = ok("<165>1 2007-02-15T09:17:15.719Z mib2d[1484]: SNMP_TRAP_LINK_UP: ifIndex 584");
        assert_eq!(
            (m.hostname, m.app_name, m.proc_id, m.msg_id),
            (None, Some("mib2d"), Some("1484"), Some("SNMP_TRAP_LINK_UP"))
        );
        // Headerless Junos structured-data bodies (seed 003).
        let m =
            ok("mgd 70652 UI_AUTH_EVENT [junos@2636.1.1.1.2.164 username=\"root\"] Authenticated");
        assert_eq!(
            (m.app_name, m.proc_id, m.msg_id, m.message),
            (
                Some("mgd"),
                Some("70652"),
                Some("UI_AUTH_EVENT"),
                Some("Authenticated")
            )
        );
        let m = ok("UI_CMDLINE_READ_LINE [junos@2636.1.1.1.2.164 username=\"sec-officer\"] User");
        assert_eq!((m.app_name, m.msg_id), (None, Some("UI_CMDLINE_READ_LINE")));
        let m = ok("init - - - network-security (PID 72929) started");
        assert_eq!(
            (m.app_name, m.proc_id, m.message),
            (
                Some("init"),
                None,
                Some("network-security (PID 72929) started")
            )
        );
    }

    #[test]
    fn bad_input_gets_a_precise_error() {
        let cases: &[(&[u8], ParseErrorKind, usize)] = &[
            (b"", ParseErrorKind::Empty, 0),
            (
                b"<165>1 2007-02-15T09:17:15.719Z r\xff m",
                ParseErrorKind::InvalidUtf8,
                33,
            ),
            (b"<192>1 - - - - - -", ParseErrorKind::PriOutOfRange(192), 1),
            (b"<999>1 - - - - - -", ParseErrorKind::PriOutOfRange(999), 1),
            (b"<1651 - - -", ParseErrorKind::PriNotANumber, 4),
            (b"<16", ParseErrorKind::PriUnterminated, 3),
            (b"<>1 -", ParseErrorKind::PriNotANumber, 1),
            (
                b"<6>0 2017-02-15T16:01:07Z h - - - -",
                ParseErrorKind::InvalidVersion,
                3,
            ),
            (
                b"<1>1 2020-01-01T00:",
                ParseErrorKind::Truncated("the rest of the timestamp"),
                19,
            ),
            (
                b"<1>1 2020-13-01T00:00:00Z h - - - -",
                ParseErrorKind::InvalidTimestamp("month out of range 01..12"),
                10,
            ),
            (
                b"<1>1 2021-02-29T00:00:00Z h - - - -",
                ParseErrorKind::InvalidTimestamp("day does not exist in that month"),
                13,
            ),
            (b"<1>1 - h a p", ParseErrorKind::EndsAfter("PROCID"), 12),
            (b"<1>1 - h a p m", ParseErrorKind::EndsAfter("MSGID"), 14),
            (
                b"<1>1 - h a p m ",
                ParseErrorKind::Truncated("structured data"),
                15,
            ),
            (
                b"<1>1 - h\x01 - - - -",
                ParseErrorKind::InvalidChar {
                    field: "HOSTNAME",
                    ch: '\u{1}',
                },
                8,
            ),
            (
                b"<1>1 - - - - - [x a=\"1\"",
                ParseErrorKind::SdUnterminatedElement,
                15,
            ),
            (
                b"<1>1 - - - - - [x a=\"1",
                ParseErrorKind::SdUnterminatedValue,
                20,
            ),
            (
                b"<1>1 - - - - - [x a=\"1\\",
                ParseErrorKind::SdUnterminatedValue,
                20,
            ),
            (
                b"<1>1 - - - - - [x a=1]",
                ParseErrorKind::SdExpectedQuote,
                20,
            ),
            (
                b"<1>1 - - - - - [x ga teway=\"1\"]",
                ParseErrorKind::SdExpectedEquals,
                20,
            ),
            (b"<1>1 - - - - - []", ParseErrorKind::SdEmptyId, 16),
            (b"<1>1 - - - - - x", ParseErrorKind::SdExpected, 15),
            (
                b"<13>Jun 31 10:00:00 h a: x",
                ParseErrorKind::InvalidTimestamp("day does not exist in that month"),
                8,
            ),
            (
                b"<13>Jun 3",
                ParseErrorKind::Truncated("the rest of the timestamp"),
                9,
            ),
            (b"just some words", ParseErrorKind::Unrecognized, 0),
        ];
        for (input, kind, offset) in cases {
            let e = err(input);
            assert_eq!(
                (&e.kind, e.offset),
                (kind, *offset),
                "{:?}: {e}",
                String::from_utf8_lossy(input)
            );
            assert!(e.offset <= input.len());
        }
        assert_eq!(
            err(b"<192>1 - - - - - -").to_string(),
            "byte 1: PRI value 192 is over 191"
        );
    }

    #[test]
    fn word_at_a_time_scans_match_byte_scans() {
        // Every byte value at every position (and a second stop byte after
        // it), against the obvious byte loop.
        for len in 0..40 {
            for pos in 0..len {
                for v in 0..=255u8 {
                    for second in [b'a', b' ', b'=', 0xff, b'"'] {
                        let mut b = vec![b'k'; len];
                        b[pos] = v;
                        if pos + 1 < len {
                            b[len - 1] = second;
                        }
                        let first = |f: &dyn Fn(u8) -> bool| b.iter().position(|&c| f(c));
                        assert_eq!(find_space(&b), first(&|c| c == b' ').unwrap_or(len));
                        assert_eq!(
                            sd_name_len(&b),
                            first(&|c| !is_sd_name_byte(c)).unwrap_or(len)
                        );
                        assert_eq!(
                            printable_run(&b),
                            first(&|c| !(33..=126).contains(&c)).unwrap_or(len)
                        );
                        assert_eq!(
                            find_quote_or_backslash(&b),
                            first(&|c| c == b'"' || c == b'\\')
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn to_event_maps_fields_and_params() {
        let raw = b"<165>1 2007-02-15T09:17:15.719Z r1 sshd - SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.164 username=\"root\" source-address=\"10.223.5.251\" device-name=\"edge1\"] Login failed";
        let m = parse(raw, &opts()).unwrap();
        let e = m.to_event(42, raw);
        assert_eq!(e.received_ns, 42);
        assert_eq!(e.time_ns, Some(1_171_531_035_719_000_000));
        assert_eq!(e.host.as_deref(), Some("r1"));
        assert_eq!(e.app.as_deref(), Some("sshd"));
        assert_eq!(e.pid, None);
        assert_eq!(e.code.as_deref(), Some("SSHD_LOGIN_FAILED"));
        assert_eq!(e.facility, Some(Facility::Local4));
        assert_eq!(e.severity, Some(Severity::Notice));
        assert_eq!(e.user.as_deref(), Some("root"));
        assert_eq!(e.client_addr.as_deref(), Some("10.223.5.251"));
        assert_eq!(e.device.as_deref(), Some("edge1"));
        assert_eq!(e.params.len(), 3);
        assert_eq!(e.params[0].sd_id, "junos@2636.1.1.1.2.164");
        assert_eq!(e.message.as_deref(), Some("Login failed"));
        assert_eq!(e.raw, raw.to_vec());
    }
}
