//! Giving a year to a year-less (BSD) timestamp.

use super::civil::{civil_from_days, CivilDate, CivilTime, NANOS_PER_SECOND, SECONDS_PER_DAY};
use super::value::Timestamp;

/// How to give a year to a timestamp that has none (BSD `Mmm dd hh:mm:ss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearRule {
    /// Always this year.
    Fixed(i32),
    /// The year (reference year - 1, same, or + 1) that puts the timestamp
    /// closest to the reference time: `Dec 31 23:59:59` received on Jan 1
    /// gets the previous year, `Jan 1 00:00:01` received on Dec 31 the next.
    /// A date that does not exist in a candidate year (Feb 29) skips it.
    NearestTo {
        /// The reference time (usually when the line was received), Unix
        /// seconds.
        unix_seconds: i64,
    },
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
                    let distance = (i128::from(ts.unix_nanos()) - ref_nanos).abs();
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
    use crate::timestamp::days_from_civil;

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
