//! STRUCTURED-DATA (RFC 5424 section 6.3): SD-ELEMENTs, SD-PARAMs, and the
//! unescaping of values (the only place the parser copies).

use std::borrow::Cow;

use super::cursor::Cursor;
use super::error::{ParseError, ParseErrorKind, Result};
use super::message::{SdElement, SdParam};
use super::scan::{find_quote_or_backslash, sd_name_len};

/// `-` or one or more SD-ELEMENTs at the cursor.
#[inline]
pub(super) fn parse_structured_data<'a>(cur: &mut Cursor<'a>) -> Result<Vec<SdElement<'a>>> {
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
