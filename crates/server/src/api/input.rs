//! Checks on what clients send: JSON bodies with the path of the first bad
//! field, and text fields that may reach an output.

use super::error::ApiError;

/// Parses a JSON body with the path of the first bad field in the message.
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid JSON body at {path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|err| ApiError::bad_request(format!("invalid JSON body: {err}")))?;
    Ok(value)
}

/// The longest string accepted in any field that may reach an output.
pub(super) const VALUE_MAX: usize = 4096;

/// Refuses control characters (line breaks would split syslog lines) and
/// overlong values; `]`, `"` and `\` are escaped by the formatters.
pub(super) fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.len() > max {
        return Err(ApiError::bad_request(format!(
            "{field}: {} bytes, at most {max} allowed",
            value.len()
        )));
    }
    if let Some(pos) = value.find(|c: char| c.is_control()) {
        return Err(ApiError::bad_request(format!(
            "{field}: control character at byte {pos} (line breaks and other control characters are not allowed)"
        )));
    }
    Ok(())
}
