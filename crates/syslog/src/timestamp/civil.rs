//! Civil (calendar) dates and times and the day-count math between them,
//! after Howard Hinnant's days-from-civil algorithms.

pub(crate) const NANOS_PER_SECOND: i64 = 1_000_000_000;
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilDate {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, from 1.
    pub day: u8,
}

impl CivilDate {
    /// Whether the month is 1 to 12 and the day exists in that month of
    /// that year (Feb 29 only in leap years).
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
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// The second of the minute.
    pub second: u8,
    /// Nanoseconds, 0 to 999,999,999.
    pub nanos: u32,
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
