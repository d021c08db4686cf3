//! `<PRI>`: facility and severity (RFC 5424 section 6.2.1).

use netaudit_event::Priority;

use super::cursor::Cursor;
use super::error::{ParseError, ParseErrorKind, Result};

/// `<PRI>` at the cursor, 1 to 3 digits up to 191.
#[inline]
pub(super) fn parse_pri(cur: &mut Cursor<'_>) -> Result<Priority> {
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
