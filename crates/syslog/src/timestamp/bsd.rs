//! BSD timestamps (RFC 3164 section 4.1.2): `Mmm dd hh:mm:ss` and the
//! variants Junos and relays send.

use super::civil::{CivilDate, CivilTime};
use super::digits::{parse_fraction, two_digits};
use super::value::Timestamp;
use super::year_rule::YearRule;
use crate::parse::error::{ParseError, ParseErrorKind, Result};

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
pub(crate) fn starts_with_bsd(b: &[u8]) -> bool {
    b.get(3) == Some(&b' ') && month_number(b).is_some()
}

/// `Mmm dd hh:mm:ss` (day space-padded or not), optionally with a fraction
/// (`time-format millisecond`) or a year (`Mmm dd yyyy hh:mm:ss`), at the
/// start of `b`, which sits at byte `base` of the line. Returns the
/// timestamp and its length.
#[inline]
pub(crate) fn parse_bsd(
    b: &[u8],
    base: usize,
    year_rule: &YearRule,
    default_offset_minutes: i16,
) -> Result<(Timestamp, usize)> {
    use ParseErrorKind::{InvalidTimestamp, Truncated};
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
    let offset = default_offset_minutes;
    let ts = match year {
        Some(year) => Timestamp::from_civil(
            CivilDate { year, month, day },
            time,
            offset,
            fraction_digits,
        ),
        None => year_rule.resolve(month, day, time, offset, fraction_digits),
    }
    .ok_or_else(|| fail(day_start, "day does not exist in that month"))?;
    Ok((ts, i))
}
