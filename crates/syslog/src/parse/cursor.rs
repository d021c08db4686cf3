//! The read position in a line, with the field readers every dialect
//! shares.

use super::error::{ParseError, ParseErrorKind, Result};
use super::options::ParseOptions;
use super::scan::{find_space, printable_run};
use crate::timestamp::{self, Timestamp};

/// Byte-level reader over a validated UTF-8 line. Every split point is an
/// ASCII byte, so slicing at those positions stays on char boundaries.
#[derive(Clone)]
pub(super) struct Cursor<'a> {
    pub(super) text: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(super) fn new(text: &'a str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    pub(super) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    #[inline]
    pub(super) fn rest_bytes(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    pub(super) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    #[inline]
    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    #[inline]
    pub(super) fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    #[inline]
    pub(super) fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.pos)
    }

    /// The run of non-space bytes at the cursor (advances past it).
    #[inline]
    pub(super) fn token(&mut self) -> &'a str {
        let start = self.pos;
        let len = find_space(self.rest_bytes());
        self.pos = start + len;
        self.slice(start, self.pos)
    }

    #[inline]
    pub(super) fn skip_spaces(&mut self) -> usize {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Exactly one SP, as RFC 5424 requires between header fields.
    #[inline]
    pub(super) fn expect_space(&mut self, after: &'static str) -> Result<()> {
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
    #[inline]
    pub(super) fn nil_or_token(&mut self, field: &'static str) -> Result<Option<&'a str>> {
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

    /// An RFC 3339 timestamp at the cursor (advances past it).
    #[inline]
    pub(super) fn rfc3339(&mut self, opts: &ParseOptions) -> Result<Timestamp> {
        let (ts, len) =
            timestamp::parse_rfc3339(self.rest_bytes(), self.pos, opts.default_offset_minutes)?;
        self.pos += len;
        Ok(ts)
    }

    /// A BSD timestamp at the cursor (advances past it).
    #[inline]
    pub(super) fn bsd_timestamp(&mut self, opts: &ParseOptions) -> Result<Timestamp> {
        let (ts, len) = timestamp::parse_bsd(
            self.rest_bytes(),
            self.pos,
            &opts.year_rule,
            opts.default_offset_minutes,
        )?;
        self.pos += len;
        Ok(ts)
    }
}
