//! The `yang:date-and-time` values of RFC 5277 (`eventTime`, `startTime`,
//! `stopTime`, `replayLogCreationTime`): RFC 3339 text.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::NetconfError;
use crate::xml::Element;

/// Parses the text of `element` as an RFC 3339 date-time.
///
/// # Errors
///
/// [`NetconfError::Unexpected`] naming the element and its offset.
pub fn parse_time(element: &Element<'_>) -> Result<OffsetDateTime, NetconfError> {
    let text = element.trimmed_text();
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        NetconfError::unexpected(
            element.offset,
            format!(
                "<{}> {text:?} is not an RFC 3339 date-time ({e})",
                element.name
            ),
        )
    })
}

/// `time` as RFC 3339 text (no character in it needs escaping).
pub fn format_time(time: OffsetDateTime) -> String {
    // Formatting fails only for years outside 0..=9999, which no clock or
    // stored event reaches; fall back to the epoch rather than panic.
    time.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}
