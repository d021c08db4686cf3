//! Timestamps as syslog carries them: RFC 3339 (RFC 5424 section 6.2.3) and
//! the year-less BSD form `Mmm dd hh:mm:ss` (RFC 3164 section 4.1.2).
//!
//! Date math is done here (days-from-civil, after Howard Hinnant's
//! algorithms) so that the parser's hot path needs no date library.
//!
//! The one timestamp parser of the crate is here too: `rfc3339` and `bsd`
//! read the two syslog forms from bytes, for both dialects of the
//! line parser.

mod bsd;
mod civil;
mod digits;
mod rfc3339;
mod value;
mod year_rule;

pub(crate) use bsd::{parse_bsd, starts_with_bsd};
pub use civil::{
    civil_from_days, days_from_civil, days_in_month, is_leap_year, CivilDate, CivilTime,
};
pub(crate) use rfc3339::{parse_rfc3339, starts_with_rfc3339};
pub use value::Timestamp;
pub use year_rule::YearRule;
