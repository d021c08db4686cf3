//! How a variable's value is written into the text of a catalog message
//! (the standard format's `CODE: text`, and the text after the structured
//! data of the structured format).
//!
//! The templates put most values between single quotes
//! (`username: '{username}'`), a few bare (`RADIUS server address:
//! {radius-server-address}`). A value must not be able to close its quotes
//! and forge the fields after it, so in the text:
//!
//! * `'` becomes `#047`;
//! * control characters (C0 including TAB, DEL, C1) become `#` and three
//!   octal digits of the code point, as the syslog writers already write
//!   them (`#012` for LF);
//! * in a bare value also the space becomes `#040`, so a bare value stays
//!   one word.
//!
//! Everything else, `#` included, is kept: a well-formed value (a user name,
//! an address, a device name) is written unchanged. The escape is for
//! safety, not for round-tripping: the exact value is in the event's
//! parameters (the structured format's SD element).

/// Appends `value` to `out` by the rule above; `quoted` says whether the
/// template puts the value between single quotes.
pub fn push_text_value(out: &mut String, value: &str, quoted: bool) {
    for c in value.chars() {
        let escape = c == '\'' || c.is_control() || (!quoted && c == ' ');
        if escape {
            push_octal(out, u32::from(c));
        } else {
            out.push(c);
        }
    }
}

/// `#` and the three octal digits of `code` (< 0o1000: every character
/// escaped here is below U+00A0).
fn push_octal(out: &mut String, code: u32) {
    out.push('#');
    for shift in [6, 3, 0] {
        let digit = (code >> shift) & 0o7;
        out.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str, quoted: bool) -> String {
        let mut out = String::new();
        push_text_value(&mut out, value, quoted);
        out
    }

    #[test]
    fn well_formed_values_are_unchanged() {
        for value in ["admin", "10.0.0.9", "r1.lab-2_x@corp", "a b", "#1", "é"] {
            assert_eq!(text(value, true), value);
        }
        assert_eq!(text("10.0.0.9", false), "10.0.0.9");
    }

    #[test]
    fn quotes_and_controls_are_escaped() {
        assert_eq!(
            text("eve' from: '6.6.6.6", true),
            "eve#047 from: #0476.6.6.6"
        );
        assert_eq!(text("a\nb\r\t\u{7f}\u{85}", true), "a#012b#015#011#177#205");
        assert_eq!(
            text("1.2.3.4 client address: 'x'", false),
            "1.2.3.4#040client#040address:#040#047x#047"
        );
    }
}
