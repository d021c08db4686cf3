//! How the parser fills in what a line leaves out.

use crate::timestamp::YearRule;

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
