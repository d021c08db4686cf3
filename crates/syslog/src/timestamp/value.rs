//! The [`Timestamp`] value: an instant plus what the sender wrote of it.

use std::fmt;

use super::civil::{
    civil_from_days, days_from_civil, CivilDate, CivilTime, NANOS_PER_SECOND, SECONDS_PER_DAY,
};

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
}
