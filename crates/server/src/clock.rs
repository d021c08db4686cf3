//! The wall clock as netaudit stores it: Unix nanoseconds in an `i64`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix nanoseconds now: 0 if the clock is before 1970, `i64::MAX` after
/// 2262 (the range an `i64` of nanoseconds holds).
pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
