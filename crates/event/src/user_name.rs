//! The rule for a login name that is recorded in an event.
//!
//! A user name netaudit stores is 1 to 64 characters of `A-Z a-z 0-9 . _ -
//! @` ([`is_user_name`]). A name typed at a login prompt can be anything;
//! one that cannot be a user name is recorded in a safe, marked form
//! ([`recorded_user_name`]): the mark `(invalid)` followed by the name with
//! every byte outside that set (and `%`) written as `%` and two upper-case
//! hex digits, at most the first 64 bytes of it, then `(cut)` if it was
//! longer. The marked form holds only `A-Z a-z 0-9 . _ - @ % ( )`, so it
//! cannot close a quote, start a field or a line in any output format, and
//! the mark's parentheses are never part of a real user name.

use std::borrow::Cow;

/// The longest user name.
pub const USER_NAME_MAX: usize = 64;

/// The mark in front of a login name that cannot be a user name.
pub const INVALID_NAME_MARK: &str = "(invalid)";

/// At most this many bytes of an invalid name are recorded.
const RECORDED_BYTES_MAX: usize = 64;

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')
}

/// True for 1 to [`USER_NAME_MAX`] bytes of `A-Z a-z 0-9 . _ - @`.
pub fn is_user_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= USER_NAME_MAX && name.bytes().all(is_name_byte)
}

/// `name` itself when it can be a user name, else its marked form (see the
/// module documentation).
pub fn recorded_user_name(name: &str) -> Cow<'_, str> {
    if is_user_name(name) {
        return Cow::Borrowed(name);
    }
    let bytes = name.as_bytes();
    let kept = &bytes[..bytes.len().min(RECORDED_BYTES_MAX)];
    let mut out = String::with_capacity(INVALID_NAME_MARK.len() + 3 * kept.len() + 5);
    out.push_str(INVALID_NAME_MARK);
    for &b in kept {
        if is_name_byte(b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    if kept.len() < bytes.len() {
        out.push_str("(cut)");
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_kept() {
        for name in ["admin", "root-admin", "a.b_c@corp", &"x".repeat(64)] {
            assert!(is_user_name(name));
            assert!(matches!(recorded_user_name(name), Cow::Borrowed(n) if n == name));
        }
    }

    #[test]
    fn other_names_are_marked_and_safe() {
        assert_eq!(
            recorded_user_name("eve' from: '6.6.6.6"),
            "(invalid)eve%27%20from%3A%20%276.6.6.6"
        );
        assert_eq!(recorded_user_name(""), "(invalid)");
        assert_eq!(recorded_user_name("50%"), "(invalid)50%25");
        assert_eq!(recorded_user_name("é"), "(invalid)%C3%A9");
        assert_eq!(recorded_user_name("a\nb"), "(invalid)a%0Ab");
        let long = "y".repeat(65);
        assert_eq!(
            recorded_user_name(&long),
            format!("(invalid){}(cut)", "y".repeat(64))
        );
        let marked = recorded_user_name("(invalid)x");
        assert_eq!(marked, "(invalid)%28invalid%29x");
        for name in ["eve' x", "\"]\\= ", "\u{85}"] {
            let marked = recorded_user_name(name);
            assert!(marked
                .bytes()
                .all(|b| is_name_byte(b) || matches!(b, b'%' | b'(' | b')')));
            assert!(!is_user_name(&marked));
        }
    }
}
