//! User names: what may be stored.

use super::error::AuthError;

/// The longest user name; names end up in syslog lines and RADIUS attributes.
pub(crate) const NAME_MAX: usize = 64;

/// Checks a user name: 1..=64 of `A-Z a-z 0-9 . _ - @`.
pub(crate) fn validate_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::InvalidName(name.chars().take(80).collect()))
    }
}
