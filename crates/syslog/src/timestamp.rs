//! Timestamps as syslog carries them: RFC 3339 (RFC 5424 section 6.2.3) and
//! the year-less BSD form `Mmm dd hh:mm:ss` (RFC 3164 section 4.1.2).
//!
//! Date math is done here (days-from-civil, after Howard Hinnant's
//! algorithms) so that the parser's hot path needs no date library.

use std::fmt;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// A point in time (Unix nanoseconds, UTC) plus the UTC offset the sender
/// wrote and the number of fraction digits it gave.
///
/// The offset and digit count are kept so that output can say exactly what
/// was sent: [`Timestamp::to_rfc3339_utc`] prints as many fraction digits as
/// the input had (none when it had none, trailing zeros kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    unix_nanos: i64,
    offset_minutes: i16,
    fraction_digits: u8,
}

impl Timestamp {
    /// A timestamp at `unix_nanos` (UTC) that the sender wrote with the
    /// given UTC offset. The fraction is printed with the fewest of 0, 3, 6
    /// or 9 digits that represent it exactly.
    pub fn from_unix_nanos(unix_nanos: i64, offset_minutes: i16) -> Self {
        let sub = unix_nanos.rem_euclid(NANOS_PER_SECOND);
        let fraction_digits = if sub == 0 {
            0
        } else if sub % 1_000_000 == 0 {
            3
        } else if sub % 1_000 == 0 {
            6
        } else {
            9
        };
        Timestamp {
            unix_nanos,
            offset_minutes,
            fraction_digits,
        }
    }

    /// Same instant, printed with `digits` fraction digits (clamped to 9).
    pub fn with_fraction_digits(self, digits: u8) -> Self {
        Timestamp {
            fraction_digits: digits.min(9),
            ..self
        }
    }

    /// Unix time in nanoseconds (UTC).
    pub fn unix_nanos(&self) -> i64 {
        self.unix_nanos
    }

    /// The UTC offset, in minutes, that the sender wrote (0 for `Z`).
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// How many fraction-of-second digits the sender wrote (0..=9).
    pub fn fraction_digits(&self) -> u8 {
        self.fraction_digits
    }

    /// RFC 3339 in UTC, e.g. `2007-02-15T09:17:15.719Z`, with exactly the
    /// fraction digits the input had.
    pub fn to_rfc3339_utc(&self) -> String {
        self.to_string()
    }

    /// Builds a timestamp from civil fields; `None` when a field is out of
    /// range (month 1..=12, day within the month, 23:59:59 at most) or the
    /// result overflows i64 nanoseconds.
    #[inline]
    pub fn from_civil(
        date: CivilDate,
        time: CivilTime,
        offset_minutes: i16,
        fraction_digits: u8,
    ) -> Option<Self> {
        if !date.is_valid() || time.hour > 23 || time.minute > 59 || time.second > 59 {
            return None;
        }
        if time.nanos >= 1_000_000_000 {
            return None;
        }
        let days = days_from_civil(date.year, date.month, date.day);
        let local_seconds = days
            .checked_mul(SECONDS_PER_DAY)?
            .checked_add(i64::from(time.hour) * 3600)?
            .checked_add(i64::from(time.minute) * 60)?
            .checked_add(i64::from(time.second))?;
        let utc_seconds = local_seconds.checked_sub(i64::from(offset_minutes) * 60)?;
        let unix_nanos = utc_seconds
            .checked_mul(NANOS_PER_SECOND)?
            .checked_add(i64::from(time.nanos))?;
        Some(Timestamp {
            unix_nanos,
            offset_minutes,
            fraction_digits: fraction_digits.min(9),
        })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC (`...Z`), fraction digits as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.unix_nanos.div_euclid(NANOS_PER_SECOND);
        let nanos = self.unix_nanos.rem_euclid(NANOS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            year,
            month,
            day,
            second_of_day / 3600,
            (second_of_day / 60) % 60,
            second_of_day % 60
        )?;
        if self.fraction_digits > 0 {
            let digits = u32::from(self.fraction_digits.min(9));
            let scaled = nanos / 10_i64.pow(9 - digits);
            write!(f, ".{:0width$}", scaled, width = digits as usize)?;
        }
        f.write_str("Z")
    }
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl CivilDate {
    #[inline]
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }
}

/// A time of day; `nanos` is the fraction of the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
}

#[inline]
pub fn is_leap_year(year: i32) -> bool {
    // `& 3` first: the common case needs no division.
    year & 3 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`; 0 for an invalid month.
#[inline]
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid civil date.
#[inline]
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    // Shifted by whole 400-year eras so that every i32 year is positive and
    // the divisions are unsigned (cheaper than div_euclid on the hot path).
    const SHIFT_ERAS: u64 = 6_000_000; // 2.4e9 years > |i32::MIN|
    let shifted = i64::from(year) - i64::from(month <= 2) + (SHIFT_ERAS * 400) as i64;
    let y = shifted.unsigned_abs(); // positive by construction
    let era = y / 400;
    let yoe = y % 400; // 0..=399
    let m = u64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + u64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
                                                     // era * 146_097 < 2^63 for every shifted i32 year.
    (era * 146_097 + doe) as i64 - 719_468 - (SHIFT_ERAS * 146_097) as i64
}

/// The civil date of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (year, month as u8, day as u8)
}

/// How to give a year to a timestamp that has none (BSD `Mmm dd hh:mm:ss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearRule {
    /// Always this year.
    Fixed(i32),
    /// The year (reference year - 1, same, or + 1) that puts the timestamp
    /// closest to the reference time: `Dec 31 23:59:59` received on Jan 1
    /// gets the previous year, `Jan 1 00:00:01` received on Dec 31 the next.
    /// A date that does not exist in a candidate year (Feb 29) skips it.
    NearestTo { unix_seconds: i64 },
}

impl YearRule {
    /// The timestamp for a year-less date and time under this rule, or
    /// `None` when no candidate year has that date.
    pub fn resolve(
        &self,
        month: u8,
        day: u8,
        time: CivilTime,
        offset_minutes: i16,
        fraction_digits: u8,
    ) -> Option<Timestamp> {
        match *self {
            YearRule::Fixed(year) => Timestamp::from_civil(
                CivilDate { year, month, day },
                time,
                offset_minutes,
                fraction_digits,
            ),
            YearRule::NearestTo { unix_seconds } => {
                let (ref_year, _, _) = civil_from_days(unix_seconds.div_euclid(SECONDS_PER_DAY));
                let ref_year = i32::try_from(ref_year).ok()?;
                let ref_nanos = i128::from(unix_seconds) * i128::from(NANOS_PER_SECOND);
                let mut best: Option<(i128, Timestamp)> = None;
                for year in [ref_year.checked_sub(1)?, ref_year, ref_year.checked_add(1)?] {
                    let Some(ts) = Timestamp::from_civil(
                        CivilDate { year, month, day },
                        time,
                        offset_minutes,
                        fraction_digits,
                    ) else {
                        continue;
                    };
                    let distance = (i128::from(ts.unix_nanos) - ref_nanos).abs();
                    #[allow(clippy::unnecessary_map_or)] // is_none_or needs Rust 1.82
                    if best.map_or(true, |(d, _)| distance < d) {
                        best = Some((distance, ts));
                    }
                }
                best.map(|(_, ts)| ts)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts((y, mo, d): (i32, u8, u8), (h, mi, s): (u8, u8, u8), nanos: u32, off: i16) -> Timestamp {
        Timestamp::from_civil(
            CivilDate {
                year: y,
                month: mo,
                day: d,
            },
            CivilTime {
                hour: h,
                minute: mi,
                second: s,
                nanos,
            },
            off,
            3,
        )
        .unwrap()
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(0, 3, 1), -719_468);
        assert_eq!(days_from_civil(-1, 12, 31), -719_529);
        for year in [
            i32::MIN + 1,
            -4713,
            -1,
            0,
            1,
            1600,
            1900,
            2000,
            2100,
            9999,
            i32::MAX - 1,
        ] {
            for (month, day) in [(1, 1), (2, 28), (3, 1), (12, 31)] {
                let days = days_from_civil(year, month, day);
                let (y, m, d) = civil_from_days(days);
                assert_eq!((y, m, d), (i64::from(year), month, day));
            }
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2007, 2, 15), 13_559);
        for days in [-800_000, -1, 0, 1, 59, 60, 11_016, 13_559, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m, d), days);
        }
    }

    #[test]
    fn seed_002_sample_prints_back() {
        let t = ts((2007, 2, 15), (9, 17, 15), 719_000_000, 0);
        assert_eq!(t.unix_nanos(), 1_171_531_035_719_000_000);
        assert_eq!(t.to_rfc3339_utc(), "2007-02-15T09:17:15.719Z");
    }

    #[test]
    fn offsets_normalise_to_utc_and_are_kept() {
        let t = ts((2020, 8, 11), (11, 15, 0), 25_000_000, -7 * 60);
        assert_eq!(t.to_rfc3339_utc(), "2020-08-11T18:15:00.025Z");
        assert_eq!(t.offset_minutes(), -420);
    }

    #[test]
    fn fraction_digits_are_kept_as_given() {
        let base = ts((2020, 1, 1), (0, 0, 0), 500_000_000, 0);
        assert_eq!(
            base.with_fraction_digits(1).to_string(),
            "2020-01-01T00:00:00.5Z"
        );
        assert_eq!(
            base.with_fraction_digits(6).to_string(),
            "2020-01-01T00:00:00.500000Z"
        );
        assert_eq!(
            base.with_fraction_digits(0).to_string(),
            "2020-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(1, 0).to_string(),
            "1970-01-01T00:00:00.000000001Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(-1_000_000_000, 0).to_string(),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn invalid_civil_fields_are_refused() {
        let t = CivilTime {
            hour: 0,
            minute: 0,
            second: 0,
            nanos: 0,
        };
        let feb29 = |year| CivilDate {
            year,
            month: 2,
            day: 29,
        };
        assert!(Timestamp::from_civil(feb29(2023), t, 0, 0).is_none());
        assert!(Timestamp::from_civil(feb29(2024), t, 0, 0).is_some());
        assert!(Timestamp::from_civil(feb29(1900), t, 0, 0).is_none());
        assert!(Timestamp::from_civil(feb29(2000), t, 0, 0).is_some());
        let bad_hour = CivilTime { hour: 24, ..t };
        assert!(Timestamp::from_civil(feb29(2024), bad_hour, 0, 0).is_none());
    }

    #[test]
    fn nearest_year_rule_picks_the_closest_year() {
        let time = CivilTime {
            hour: 23,
            minute: 59,
            second: 59,
            nanos: 0,
        };
        // Received 2021-01-01T00:00:10Z: "Dec 31 23:59:59" is the day before.
        let jan1 = days_from_civil(2021, 1, 1) * SECONDS_PER_DAY + 10;
        let rule = YearRule::NearestTo { unix_seconds: jan1 };
        let t = rule.resolve(12, 31, time, 0, 0).unwrap();
        assert_eq!(t.to_string(), "2020-12-31T23:59:59Z");
        // Received 2020-12-31T23:59:00Z: "Jan 1 00:00:01" is the next year.
        let early = CivilTime {
            hour: 0,
            minute: 0,
            second: 1,
            nanos: 0,
        };
        let dec31 = days_from_civil(2020, 12, 31) * SECONDS_PER_DAY + 86_340;
        let rule = YearRule::NearestTo {
            unix_seconds: dec31,
        };
        assert_eq!(
            rule.resolve(1, 1, early, 0, 0).unwrap().to_string(),
            "2021-01-01T00:00:01Z"
        );
        // Mid-year: same year.
        let mid = days_from_civil(2023, 6, 1) * SECONDS_PER_DAY;
        let rule = YearRule::NearestTo { unix_seconds: mid };
        assert_eq!(
            rule.resolve(5, 4, early, 0, 0).unwrap().to_string(),
            "2023-05-04T00:00:01Z"
        );
        // Feb 29 received in 2023: 2024 is the only leap candidate.
        assert_eq!(
            rule.resolve(2, 29, early, 0, 0).unwrap().to_string(),
            "2024-02-29T00:00:01Z"
        );
        assert_eq!(YearRule::Fixed(2023).resolve(2, 29, early, 0, 0), None);
    }
}
