//! Escaping any text (event text, names, ids) before it goes into a message.

use std::borrow::Cow;

/// `text` escaped for element content and attribute values: `&`, `<`, `>`,
/// `'` and `"` become references, so no event text can close an element,
/// open one, or (with `>` escaped) form the `]]>]]>` end-of-message delimiter.
/// Control characters that XML 1.0 forbids are written as `\u{FFFD}` (they
/// cannot appear in XML 1.0 even as references).
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if text.chars().any(forbidden) {
        let cleaned: String = text
            .chars()
            .map(|c| if forbidden(c) { '\u{FFFD}' } else { c })
            .collect();
        return Cow::Owned(quick_xml::escape::escape(cleaned).into_owned());
    }
    quick_xml::escape::escape(text)
}

/// Characters outside XML 1.0's `Char` production.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_the_delimiter() {
        assert_eq!(escape_text("plain"), Cow::Borrowed("plain"));
        assert_eq!(
            escape_text(r#"a<b>&"c"']]>]]>"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;]]&gt;]]&gt;"
        );
        assert_eq!(escape_text("a\u{1}b\tc"), "a\u{FFFD}b\tc");
    }
}
