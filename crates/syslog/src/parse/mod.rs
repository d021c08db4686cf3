//! One parser for what Junos devices, JUNOScope and relays really send.
//!
//! Accepted forms (see docs/parsing.md for every quirk and its decision):
//!
//! * RFC 5424: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD [MSG]`, also
//!   without `<PRI>` (`1 2020-05-22T...`), NILVALUEs, several SD elements,
//!   `\"` `\\` `\]` escapes, a UTF-8 BOM before MSG.
//! * RFC 3164 / BSD: `[<PRI>]Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG`, also with
//!   an RFC 3339 timestamp instead of the BSD one, extra spaces, no host.
//!   A Junos tag at the start of MSG (`UI_COMMIT: text`) becomes `msg_id`.
//! * JUNOScope: the BSD form whose process is `junoscope` + HTTP port or
//!   whose tag starts with `JUNOSCOPE_`.
//! * The Junos structured-data body without header (`mgd 70652 UI_AUTH_EVENT
//!   [junos@2636... username="root"] text`), as `show log` and the NDcPP
//!   guide print it.
//! * Relay-wrapped lines (a BSD header whose MSG is an RFC 5424 body without
//!   PRI/VERSION) are unwrapped to the inner RFC 5424 record.
//!
//! The result borrows from the input; only SD values containing escapes are
//! copied (to unescape them). Malformed input yields a [`ParseError`] naming
//! what was wrong and the byte offset; nothing here panics.
//!
//! Layout: one module per dialect (`rfc5424`, `rfc3164`) and per field
//! (`pri`, `tag`, `structured_data`; timestamps in [`crate::timestamp`]),
//! the shared types in `message`, `options` and `error`, byte scanning in
//! `scan` and `cursor`, the mapping to `Event` in `to_event`. This file
//! picks the dialect and does the hand-overs between them (relay-wrapped
//! and hybrid lines), so that neither dialect depends on the other.

mod cursor;
pub(crate) mod error;
mod message;
mod options;
mod pri;
mod rfc3164;
mod rfc5424;
mod scan;
mod structured_data;
mod tag;
mod to_event;

use netaudit_event::{Param, Priority};

use crate::timestamp::{starts_with_bsd, starts_with_rfc3339};
use cursor::Cursor;
use error::Result;
use rfc3164::TimestampForm;
use tag::is_tag_token;

pub use error::{ParseError, ParseErrorKind};
pub use message::{Format, SdElement, SdParam, SyslogMessage};
pub use options::ParseOptions;
pub use to_event::RawBackedEvent;

/// Parses one syslog line (without its line terminator).
pub fn parse<'a>(input: &'a [u8], opts: &ParseOptions) -> Result<SyslogMessage<'a>> {
    if input.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Empty, 0));
    }
    let text = std::str::from_utf8(input)
        .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let mut cur = Cursor::new(text);
    let priority = if cur.peek() == Some(b'<') {
        Some(pri::parse_pri(&mut cur)?)
    } else {
        None
    };
    let rest = cur.rest_bytes();
    if starts_with_rfc3339(rest) || starts_with_bsd(rest) {
        return parse_bsd(cur, priority, opts);
    }
    if priority.is_some() {
        if rest.first().is_some_and(u8::is_ascii_digit) {
            return parse_rfc5424(cur, priority, opts);
        }
        // A space after `>` is the space-after-PRI quirk of some relays.
        cur.skip_spaces();
        if cur.at_end() {
            return Err(cur.err(ParseErrorKind::Truncated(
                "a timestamp or message after PRI",
            )));
        }
        return parse_bsd(cur, priority, opts);
    }
    // No PRI: RFC 5424 without PRI (`1 2020-...`) or a headerless body.
    if rfc5424::looks_like_version(rest) {
        return parse_rfc5424(cur, None, opts);
    }
    match rfc5424::parse_headerless(&mut cur)? {
        Some(msg) => Ok(msg),
        None => Err(ParseError::new(ParseErrorKind::Unrecognized, 0)),
    }
}

/// The parameters of a raw message, as [`SyslogMessage::to_event`] gives
/// them: what the store reads back for a [`SyslogMessage::to_raw_backed_event`].
/// Parse options only shape timestamps, so none are asked for.
pub fn params_of(raw: &[u8]) -> Result<Vec<Param>> {
    parse(raw, &ParseOptions::with_fixed_year(2000)).map(|m| m.params())
}

/// RFC 5424 after `<PRI>`, or the SC4S hybrid whose header is RFC 5424 and
/// whose body is BSD.
#[inline]
fn parse_rfc5424<'a>(
    mut cur: Cursor<'a>,
    priority: Option<Priority>,
    opts: &ParseOptions,
) -> Result<SyslogMessage<'a>> {
    let (version, timestamp) = rfc5424::parse_header(&mut cur, opts)?;
    let after_timestamp = cur.clone();
    let mut msg = SyslogMessage::empty(Format::Rfc5424, priority);
    msg.version = Some(version);
    msg.timestamp = timestamp;
    if let Err(e) = rfc5424::parse_after_header(&mut cur, &mut msg) {
        // `<165>1 TIMESTAMP mib2d[1484]: TEXT` (SC4S hybrids): a BSD `TAG:`
        // where HOSTNAME or APP-NAME should be. Parsed as a BSD body; any
        // other failure is reported as it is.
        let mut probe = after_timestamp.clone();
        let first = probe.token();
        probe.skip_spaces();
        let second = probe.token();
        if !(is_tag_token(first) || is_tag_token(second)) {
            return Err(e);
        }
        let mut body = after_timestamp;
        let mut fallback = SyslogMessage::empty(Format::Rfc5424, priority);
        fallback.version = Some(version);
        fallback.timestamp = timestamp;
        msg = parse_bsd_body(&mut body, fallback, opts, false);
        msg.format = Format::Rfc5424;
    }
    Ok(msg)
}

/// `[<PRI>]TIMESTAMP [HOST] [TAG[PID]:] MSG`, plus relay unwrapping and
/// Junos TAG extraction.
fn parse_bsd<'a>(
    mut cur: Cursor<'a>,
    priority: Option<Priority>,
    opts: &ParseOptions,
) -> Result<SyslogMessage<'a>> {
    let mut msg = SyslogMessage::empty(Format::Rfc3164, priority);
    match rfc3164::parse_timestamp(&mut cur, &mut msg, opts)? {
        None => Ok(msg),
        Some(form) => Ok(parse_bsd_body(
            &mut cur,
            msg,
            opts,
            form == TimestampForm::Rfc3339,
        )),
    }
}

/// `[HOST] [TAG[PID]:] MSG` after a BSD timestamp, with relay unwrapping
/// and Junos TAG extraction. `iso_timestamp`: the line had an RFC 3339
/// timestamp (then a VERSION-less RFC 5424 rest is recognised).
fn parse_bsd_body<'a>(
    cur: &mut Cursor<'a>,
    mut msg: SyslogMessage<'a>,
    opts: &ParseOptions,
    iso_timestamp: bool,
) -> SyslogMessage<'a> {
    let priority = msg.priority;
    rfc3164::parse_hostname(cur, &mut msg);
    // `<PRI>TIMESTAMP HOST APP PROCID MSGID SD MSG`: RFC 5424 with its
    // VERSION missing (relays that drop it). Taken as RFC 5424 when the rest
    // has that exact shape.
    if iso_timestamp && msg.hostname.is_some() && rfc5424::has_tail_shape(cur, true) {
        let mut tail = cur.clone();
        if let Ok(inner) = rfc5424::parse_tail(&mut tail, msg.timestamp, msg.hostname) {
            return SyslogMessage { priority, ..inner };
        }
    }
    rfc3164::parse_tag(cur, &mut msg);
    // Relay-wrapped RFC 5424 body: `TIMESTAMP HOST APP PROCID MSGID SD MSG`.
    if starts_with_rfc3339(cur.rest_bytes()) {
        if let Some(inner) = rfc5424::parse_relayed(cur, opts) {
            return SyslogMessage { priority, ..inner };
        }
    }
    rfc3164::parse_message(cur, msg)
}
