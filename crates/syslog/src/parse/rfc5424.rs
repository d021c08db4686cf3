//! RFC 5424: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
//! SP SD [SP MSG]` after `<PRI>`, and the same record without its header
//! (the Junos structured-data body `show log` prints) or without PRI and
//! VERSION (relay-wrapped). Which of these a line is, and the fall-back to
//! BSD for hybrids, is decided in `parse/mod.rs`.

use super::cursor::Cursor;
use super::error::{ParseErrorKind, Result};
use super::message::{Format, SyslogMessage};
use super::options::ParseOptions;
use super::structured_data::parse_structured_data;
use super::tag::is_junos_tag;
use crate::timestamp::Timestamp;

/// `1 ` followed by a timestamp or NILVALUE: RFC 5424 without its PRI
/// (syslog-loose issue #1). Only VERSION 1 exists, so only 1 is taken.
#[inline]
pub(super) fn looks_like_version(rest: &[u8]) -> bool {
    rest.starts_with(b"1 ")
        && rest
            .get(2)
            .is_some_and(|c| *c == b'-' || c.is_ascii_digit())
}

fn parse_version(cur: &mut Cursor<'_>) -> Result<u16> {
    let mut value: u16 = 0;
    let mut digits = 0;
    while let Some(c) = cur.peek() {
        if !c.is_ascii_digit() {
            break;
        }
        if digits == 0 && c == b'0' || digits == 3 {
            return Err(cur.err(ParseErrorKind::InvalidVersion));
        }
        value = value * 10 + u16::from(c - b'0');
        digits += 1;
        cur.pos += 1;
    }
    if digits == 0 {
        return Err(cur.err(ParseErrorKind::InvalidVersion));
    }
    Ok(value)
}

/// `VERSION SP TIMESTAMP SP`, the RFC 5424 header after `<PRI>`.
#[inline]
pub(super) fn parse_header(
    cur: &mut Cursor<'_>,
    opts: &ParseOptions,
) -> Result<(u16, Option<Timestamp>)> {
    let version = parse_version(cur)?;
    cur.expect_space("VERSION")?;
    let timestamp = if cur.peek() == Some(b'-') && matches!(cur.peek_at(1), Some(b' ') | None) {
        cur.pos += 1;
        None
    } else if cur.at_end() {
        return Err(cur.err(ParseErrorKind::Truncated("TIMESTAMP")));
    } else {
        Some(cur.rfc3339(opts)?)
    };
    cur.expect_space("TIMESTAMP")?;
    Ok((version, timestamp))
}

/// `HOSTNAME SP` and the tail after the header, filling in `msg` (no copy
/// of the message on the hot path).
#[inline]
pub(super) fn parse_after_header<'a>(
    cur: &mut Cursor<'a>,
    msg: &mut SyslogMessage<'a>,
) -> Result<()> {
    msg.hostname = cur.nil_or_token("HOSTNAME")?;
    cur.expect_space("HOSTNAME")?;
    parse_tail_into(cur, msg)
}

/// `APP-NAME SP PROCID SP MSGID SP SD [SP MSG]`, shared by RFC 5424 and by
/// relay-wrapped bodies.
#[inline]
pub(super) fn parse_tail<'a>(
    cur: &mut Cursor<'a>,
    timestamp: Option<Timestamp>,
    hostname: Option<&'a str>,
) -> Result<SyslogMessage<'a>> {
    let mut msg = SyslogMessage::empty(Format::Rfc5424, None);
    msg.timestamp = timestamp;
    msg.hostname = hostname;
    parse_tail_into(cur, &mut msg)?;
    Ok(msg)
}

/// [`parse_tail`] filling in `msg`.
#[inline]
fn parse_tail_into<'a>(cur: &mut Cursor<'a>, msg: &mut SyslogMessage<'a>) -> Result<()> {
    msg.app_name = cur.nil_or_token("APP-NAME")?;
    cur.expect_space("APP-NAME")?;
    msg.proc_id = cur.nil_or_token("PROCID")?;
    cur.expect_space("PROCID")?;
    msg.msg_id = cur.nil_or_token("MSGID")?;
    cur.expect_space("MSGID")?;
    msg.structured_data = parse_structured_data(cur)?;
    msg.message = parse_msg(cur)?;
    Ok(())
}

/// After SD: nothing, or SP then MSG (a UTF-8 BOM before MSG is dropped).
/// MSG straight after `]` (no SP, seen on SRX) is accepted as MSG.
#[inline]
fn parse_msg<'a>(cur: &mut Cursor<'a>) -> Result<Option<&'a str>> {
    if cur.peek() == Some(b' ') {
        cur.pos += 1;
    }
    let mut rest = cur.rest();
    if let Some(stripped) = rest.strip_prefix('\u{feff}') {
        rest = stripped;
    }
    cur.pos = cur.bytes.len();
    Ok((!rest.is_empty()).then_some(rest))
}

/// A relay-wrapped body: `TIMESTAMP SP HOSTNAME SP` and the tail, the RFC
/// 5424 record without PRI and VERSION. `None` when it is not one.
#[inline]
pub(super) fn parse_relayed<'a>(
    cur: &Cursor<'a>,
    opts: &ParseOptions,
) -> Option<SyslogMessage<'a>> {
    let mut inner = cur.clone();
    let timestamp = inner.rfc3339(opts).ok()?;
    inner.expect_space("TIMESTAMP").ok()?;
    let hostname = inner.nil_or_token("HOSTNAME").ok()?;
    inner.expect_space("HOSTNAME").ok()?;
    parse_tail(&mut inner, Some(timestamp), hostname).ok()
}

/// The Junos structured-data body without its `<PRI>1 TIMESTAMP HOST`
/// header: `APP PROCID MSGID SD [MSG]` (PROCID digits or '-', MSGID a Junos
/// tag or '-', SD '-' or elements), or `TAG [SD...] [MSG]`.
/// `Ok(None)` when the line does not have that shape.
#[inline]
pub(super) fn parse_headerless<'a>(cur: &mut Cursor<'a>) -> Result<Option<SyslogMessage<'a>>> {
    let start = cur.pos;
    let first = cur.token();
    if is_junos_tag(first) && cur.peek() == Some(b' ') && cur.peek_at(1) == Some(b'[') {
        cur.pos += 1;
        let structured_data = parse_structured_data(cur)?;
        let message = parse_msg(cur)?;
        return Ok(Some(SyslogMessage {
            format: Format::Rfc5424,
            priority: None,
            version: None,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: Some(first),
            structured_data,
            message,
        }));
    }
    cur.pos = start;
    if !has_tail_shape(cur, false) {
        return Ok(None);
    }
    parse_tail(cur, None, None).map(Some)
}

/// Whether the text at the cursor looks like `APP PROCID MSGID SD`, with
/// PROCID digits or '-', MSGID a Junos tag or '-' and SD '-' or '['.
/// Used to recognise RFC 5424 bodies that lost their header.
#[inline]
pub(super) fn has_tail_shape(cur: &Cursor<'_>, nil_app_allowed: bool) -> bool {
    let mut probe = cur.clone();
    let app = probe.token();
    // Process names start with a letter (`mgd`, `RT_FLOW`) or '/' (`/kernel`).
    let named = app
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'/')
        || (nil_app_allowed && app == "-");
    if !named || probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    let pid = probe.token();
    if !(pid == "-" || (!pid.is_empty() && pid.bytes().all(|c| c.is_ascii_digit()))) {
        return false;
    }
    if probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    let msgid = probe.token();
    if !(msgid == "-" || is_junos_tag(msgid)) || probe.peek() != Some(b' ') {
        return false;
    }
    probe.pos += 1;
    matches!(
        (probe.peek(), probe.peek_at(1)),
        (Some(b'['), _) | (Some(b'-'), Some(b' ') | None)
    )
}
