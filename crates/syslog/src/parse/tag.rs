//! TAG: the BSD process token (`name[pid]:`) and the Junos tag
//! (`UI_COMMIT`, `RT_FLOW_SESSION_CLOSE`) that becomes `msg_id`.

/// A token that is a BSD TAG rather than a HOSTNAME: it ends with ':'
/// (`RT_FLOW:`, `sshd[12]:`).
#[inline]
pub(super) fn is_tag_token(token: &str) -> bool {
    token.ends_with(':') && token.len() > 1
}

/// `name[pid]:`, `name:` or `name[pid]` -> (name, pid).
#[inline]
pub(super) fn split_program(token: &str) -> Option<(&str, Option<&str>)> {
    let body = token.strip_suffix(':').unwrap_or(token);
    if let Some(inner) = body.strip_suffix(']') {
        let open = inner.rfind('[')?;
        let name = inner.get(..open)?;
        let pid = inner.get(open + 1..)?;
        if name.is_empty() || pid.is_empty() {
            return None;
        }
        return Some((name, Some(pid)));
    }
    if body.len() < token.len() && !body.is_empty() {
        return Some((body, None));
    }
    None
}

/// A Junos tag at the start of MSG: `[A-Z][A-Z0-9_]*` containing '_',
/// followed by ':' and a space or the end. Returns (tag, text after it).
#[inline]
pub(super) fn split_junos_tag(body: &str) -> (Option<&str>, &str) {
    let b = body.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_uppercase) {
        return (None, body);
    }
    let len = b
        .iter()
        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || **c == b'_')
        .count();
    let tag = body.get(..len).unwrap_or_default();
    if !tag.contains('_') || b.get(len) != Some(&b':') {
        return (None, body);
    }
    match b.get(len + 1) {
        None => (Some(tag), ""),
        Some(b' ') => (Some(tag), body.get(len + 2..).unwrap_or_default()),
        Some(_) => (None, body),
    }
}

/// A whole token shaped like a Junos tag: `[A-Z][A-Z0-9_]*`.
#[inline]
pub(super) fn is_junos_tag(token: &str) -> bool {
    let b = token.as_bytes();
    b.first().is_some_and(u8::is_ascii_uppercase)
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}
