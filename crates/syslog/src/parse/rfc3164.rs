//! RFC 3164 / BSD and JUNOScope: `[<PRI>]TIMESTAMP [HOST] [TAG[PID]:] MSG`,
//! field by field. `parse/mod.rs` strings the fields together and checks,
//! between them, whether the rest is an RFC 5424 record (relays).

use super::cursor::Cursor;
use super::error::{ParseErrorKind, Result};
use super::message::{Format, SyslogMessage};
use super::options::ParseOptions;
use super::tag::{is_tag_token, split_junos_tag, split_program};
use crate::timestamp::{starts_with_bsd, starts_with_rfc3339};

/// Which timestamp a BSD line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimestampForm {
    Bsd,
    Rfc3339,
}

/// The TIMESTAMP and the spaces after it, into `msg`. `Ok(None)`: there is
/// no timestamp and the whole rest became MSG (RFC 3164 section 4.3.2).
#[inline]
pub(super) fn parse_timestamp<'a>(
    cur: &mut Cursor<'a>,
    msg: &mut SyslogMessage<'a>,
    opts: &ParseOptions,
) -> Result<Option<TimestampForm>> {
    let rest = cur.rest_bytes();
    let form = if starts_with_bsd(rest) {
        msg.timestamp = Some(cur.bsd_timestamp(opts)?);
        TimestampForm::Bsd
    } else if starts_with_rfc3339(rest) {
        msg.timestamp = Some(cur.rfc3339(opts)?);
        TimestampForm::Rfc3339
    } else {
        let text = cur.rest();
        msg.message = (!text.is_empty()).then_some(text);
        return Ok(None);
    };
    if !cur.at_end() && cur.skip_spaces() == 0 {
        return Err(cur.err(ParseErrorKind::MissingSpace("TIMESTAMP")));
    }
    Ok(Some(form))
}

/// HOSTNAME, unless the first token is already the tag (`RT_FLOW: ...`).
#[inline]
pub(super) fn parse_hostname<'a>(cur: &mut Cursor<'a>, msg: &mut SyslogMessage<'a>) {
    let save = cur.pos;
    let first = cur.token();
    if !first.is_empty() && !is_tag_token(first) {
        msg.hostname = Some(first);
        cur.skip_spaces();
    } else {
        cur.pos = save;
    }
}

/// `TAG[PID]:` (the process), when there is one.
#[inline]
pub(super) fn parse_tag<'a>(cur: &mut Cursor<'a>, msg: &mut SyslogMessage<'a>) {
    let save = cur.pos;
    let tag = cur.token();
    match split_program(tag) {
        Some((app, pid)) => {
            msg.app_name = Some(app);
            msg.proc_id = pid;
            // One SP separates TAG and CONTENT; Junos craftd sends two.
            cur.skip_spaces();
        }
        None => cur.pos = save,
    }
}

/// MSG: the rest, with a leading Junos tag taken out as `msg_id`; marks
/// JUNOScope lines.
#[inline]
pub(super) fn parse_message<'a>(cur: &Cursor<'a>, mut msg: SyslogMessage<'a>) -> SyslogMessage<'a> {
    let (tag, text) = split_junos_tag(cur.rest());
    msg.msg_id = tag;
    msg.message = (!text.is_empty()).then_some(text);
    let junoscope_process = msg
        .app_name
        .and_then(|a| a.strip_prefix("junoscope"))
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()));
    if junoscope_process || tag.is_some_and(|t| t.starts_with("JUNOSCOPE_")) {
        msg.format = Format::Junoscope;
    }
    msg
}
