//! RFC 3339 timestamps (RFC 5424 section 6.2.3), with the repairs real
//! senders need: a missing offset, lower-case `t` / `z`.

use super::civil::{CivilDate, CivilTime};
use super::digits::{parse_fraction, two_digits};
use super::value::Timestamp;
use crate::parse::error::{ParseError, ParseErrorKind, Result};

#[inline]
pub(crate) fn starts_with_rfc3339(b: &[u8]) -> bool {
    b.len() >= 11
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && two_digits(b, 5).is_some()
        && b.get(7) == Some(&b'-')
}

/// RFC 3339 full-date "T" full-time at the start of `b`, which sits at byte
/// `base` of the line (errors name line offsets). Returns the timestamp and
/// its length. A missing offset is repaired with `default_offset_minutes`;
/// `t`/`z` in lower case are accepted.
#[inline]
pub(crate) fn parse_rfc3339(
    b: &[u8],
    base: usize,
    default_offset_minutes: i16,
) -> Result<(Timestamp, usize)> {
    if let Some(found) = rfc3339_fast(b, default_offset_minutes) {
        return Ok(found);
    }
    parse_checked(b, base, default_offset_minutes)
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

/// The slow path: every shape, and an error naming what is wrong.
fn parse_checked(b: &[u8], base: usize, default_offset_minutes: i16) -> Result<(Timestamp, usize)> {
    use ParseErrorKind::{InvalidTimestamp, Truncated};
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
        None | Some(b' ') => default_offset_minutes,
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
    Ok((ts, i))
}
