//! Byte-exact writers for the two outgoing formats (seeds 000 and 002).
//!
//! * JUNOScope standard (RFC 3164 style):
//!   `Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'`,
//!   with `<PRI>` in front when sent over a network.
//! * Junos structured-data (RFC 5424):
//!   `<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username="regress"] User 'regress' exiting configuration mode`.
//!
//! These run on the forwarding hot path: they append to a caller's buffer,
//! allocate nothing and never emit a raw CR or LF (control characters become
//! `#ooo` octal escapes, as rsyslog writes them). Times are written in UTC.
//! Every choice is listed in docs/catalog.md.

use netaudit_event::catalog::{msgid_for, MSGID_MAX};
use netaudit_event::{CompactString, Event, Facility, Priority, Severity};

/// Options of the JUNOScope standard format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StandardOptions {
    /// Prefix `<PRI>` (the network form); files have no PRI.
    pub with_pri: bool,
}

/// Options of the Junos structured-data format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StructuredOptions {
    /// Junos `brief`: omit the English text.
    pub brief: bool,
}

/// PRI used for a missing facility or severity: user.notice, as RFC 3164
/// section 4.3.3 prescribes for a message without PRI.
pub const DEFAULT_FACILITY: Facility = Facility::User;
/// See [`DEFAULT_FACILITY`].
pub const DEFAULT_SEVERITY: Severity = Severity::Notice;

/// RFC 5424 header field limits (section 6).
const HOSTNAME_MAX: usize = 255;
const APP_NAME_MAX: usize = 48;
const PROCID_MAX: usize = 128;
const SD_NAME_MAX: usize = 32;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// Appends `event` in the JUNOScope standard format:
/// `[<PRI>]Mmm dd HH:MM:SS host app[pid]: CODE: text` (no line terminator).
///
/// The time is `time_ns`, else `received_ns` (the format has no "unknown"
/// time); an unknown host or app is `-`; `[pid]` is left out when unknown;
/// ` CODE:` and ` text` are left out when unknown.
pub fn write_standard(event: &Event, opts: &StandardOptions, out: &mut Vec<u8>) {
    out.reserve(estimated_len(event));
    if opts.with_pri {
        write_pri(event, out);
    }
    let (days, second_of_day, _) = split_time(event.time_ns.unwrap_or(event.received_ns));
    let (_, month, day) = civil_from_days(days);
    out.extend_from_slice(MONTHS[month as usize - 1]);
    out.push(b' ');
    if day < 10 {
        out.push(b' ');
        out.push(b'0' + day as u8);
    } else {
        write_two_digits(out, day);
    }
    out.push(b' ');
    write_clock(out, second_of_day);
    out.push(b' ');
    write_token(out, event.host.as_deref(), HOSTNAME_MAX, b"");
    out.push(b' ');
    write_token(out, event.app.as_deref(), APP_NAME_MAX, b"[]:");
    if let Some(pid) = event.pid.as_deref().filter(|p| !p.is_empty()) {
        out.push(b'[');
        write_token(out, Some(pid), PROCID_MAX, b"[]:");
        out.push(b']');
    }
    out.push(b':');
    if let Some(code) = event.code.as_deref().filter(|c| !c.is_empty()) {
        out.push(b' ');
        write_token(out, Some(code), usize::MAX, b":");
        out.push(b':');
    }
    if let Some(text) = event.message.as_deref().filter(|t| !t.is_empty()) {
        out.push(b' ');
        write_text(out, text, false);
    }
}

/// Appends `event` in the Junos structured-data format (RFC 5424):
/// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD-ID name="value" ...] text`
/// (no line terminator).
///
/// Parameters are grouped into one SD element per SD-ID, in order of first
/// appearance; no parameters is `-`. The time has millisecond precision and
/// `Z`. Unknown fields are `-`. The MSGID is the code, shortened by
/// [`msgid_for`] when it is longer than 32 characters.
pub fn write_structured(event: &Event, opts: &StructuredOptions, out: &mut Vec<u8>) {
    out.reserve(estimated_len(event));
    write_pri(event, out);
    out.extend_from_slice(b"1 ");
    match event.time_ns {
        Some(ns) => write_rfc3339_millis(out, ns),
        None => out.push(b'-'),
    }
    out.push(b' ');
    write_token(out, event.host.as_deref(), HOSTNAME_MAX, b"");
    out.push(b' ');
    write_token(out, event.app.as_deref(), APP_NAME_MAX, b"");
    out.push(b' ');
    write_token(out, event.pid.as_deref(), PROCID_MAX, b"");
    out.push(b' ');
    write_token(out, event.code.as_deref().map(msgid_for), MSGID_MAX, b"");
    out.push(b' ');
    write_structured_data(event, out);
    if !opts.brief {
        if let Some(text) = event.message.as_deref().filter(|t| !t.is_empty()) {
            out.push(b' ');
            write_text(out, text, false);
        }
    }
}

/// Room for a line without escapes, so that the writers grow `out` once.
fn estimated_len(event: &Event) -> usize {
    let field = |f: &Option<CompactString>| f.as_ref().map_or(1, |s| s.len());
    let params: usize = event
        .params
        .iter()
        .map(|p| p.sd_id.len() + p.name.len() + p.value.len() + 6)
        .sum();
    48 + field(&event.host)
        + field(&event.app)
        + field(&event.pid)
        + field(&event.code)
        + field(&event.message)
        + params
}

/// `<PRI>`, defaulting a missing facility or severity to user.notice.
fn write_pri(event: &Event, out: &mut Vec<u8>) {
    let priority = Priority::new(
        event.facility.unwrap_or(DEFAULT_FACILITY),
        event.severity.unwrap_or(DEFAULT_SEVERITY),
    );
    out.push(b'<');
    write_decimal(out, u64::from(priority.code()));
    out.push(b'>');
}

fn write_structured_data(event: &Event, out: &mut Vec<u8>) {
    let params = &event.params;
    if params.is_empty() {
        out.push(b'-');
        return;
    }
    // One element per SD-ID as written: ids that differ only in characters
    // the writer replaces must not produce two elements with the same id.
    for (i, first) in params.iter().enumerate() {
        let seen_before = params
            .iter()
            .take(i)
            .any(|earlier| same_sd_name(&earlier.sd_id, &first.sd_id));
        if seen_before {
            continue;
        }
        out.push(b'[');
        out.extend(sd_name_bytes(&first.sd_id));
        for param in params
            .iter()
            .skip(i)
            .filter(|p| same_sd_name(&p.sd_id, &first.sd_id))
        {
            out.push(b' ');
            out.extend(sd_name_bytes(&param.name));
            out.extend_from_slice(b"=\"");
            write_text(out, &param.value, true);
            out.push(b'"');
        }
        out.push(b']');
    }
}

/// An SD-ID or PARAM-NAME as written: printable US-ASCII except `=`, SP,
/// `]`, `"`, at most 32 characters; other characters become `_`, an empty
/// name `_`.
fn sd_name_bytes(name: &str) -> impl Iterator<Item = u8> + '_ {
    name.chars()
        .take(SD_NAME_MAX)
        .map(|c| {
            let valid = c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"');
            if valid {
                c as u8
            } else {
                b'_'
            }
        })
        .chain(name.is_empty().then_some(b'_'))
}

fn same_sd_name(a: &str, b: &str) -> bool {
    a == b || sd_name_bytes(a).eq(sd_name_bytes(b))
}

/// A header field: printable US-ASCII without the `forbidden` bytes, at most
/// `max` characters; other characters become `_`; unknown or empty is `-`.
fn write_token(out: &mut Vec<u8>, value: Option<&str>, max: usize, forbidden: &[u8]) {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        out.push(b'-');
        return;
    };
    if value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !forbidden.contains(&b))
    {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    for c in value.chars().take(max) {
        let valid = c.is_ascii_graphic() && !forbidden.contains(&(c as u8));
        out.push(if valid { c as u8 } else { b'_' });
    }
}

/// Free text (message or SD value). Control characters (C0, DEL and C1)
/// become `#` and three octal digits, so no value can end the line or forge
/// another; inside SD values `"`, `\` and `]` are backslash-escaped (RFC 5424
/// section 6.3.3).
fn write_text(out: &mut Vec<u8>, text: &str, sd_value: bool) {
    let bytes = text.as_bytes();
    let mask = if sd_value {
        ATTENTION_TEXT | ATTENTION_SD
    } else {
        ATTENTION_TEXT
    };
    let mut clean_from = 0;
    let mut i = 0;
    loop {
        // Skip the (usual) run of bytes that need nothing.
        match bytes[i..]
            .iter()
            .position(|&b| ATTENTION[usize::from(b)] & mask != 0)
        {
            None => break,
            Some(offset) => i += offset,
        }
        let b = bytes[i];
        if ATTENTION[usize::from(b)] & ATTENTION_SD != 0 {
            out.extend_from_slice(&bytes[clean_from..i]);
            out.push(b'\\');
            out.push(b);
            i += 1;
            clean_from = i;
            continue;
        }
        // C1 controls are U+0080..U+009F, encoded as C2 80..C2 9F; any
        // other C2 sequence is an ordinary character.
        let code = if b == 0xC2 {
            match bytes.get(i + 1) {
                Some(&next @ 0x80..=0x9F) => next,
                _ => {
                    i += 1;
                    continue;
                }
            }
        } else {
            b
        };
        out.extend_from_slice(&bytes[clean_from..i]);
        out.push(b'#');
        out.push(b'0' + (code >> 6));
        out.push(b'0' + ((code >> 3) & 7));
        out.push(b'0' + (code & 7));
        i += if b == 0xC2 { 2 } else { 1 };
        clean_from = i;
    }
    out.extend_from_slice(&bytes[clean_from..]);
}

/// Bits of [`ATTENTION`]: a control character (or the C1 lead byte) in any
/// text, and a character RFC 5424 escapes in SD values.
const ATTENTION_TEXT: u8 = 1;
const ATTENTION_SD: u8 = 2;

/// Per byte: what [`write_text`] must look at (one table lookup per byte).
const ATTENTION: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = ATTENTION_TEXT;
        b += 1;
    }
    table[0x7F] = ATTENTION_TEXT;
    table[0xC2] = ATTENTION_TEXT;
    table[b'"' as usize] = ATTENTION_SD;
    table[b'\\' as usize] = ATTENTION_SD;
    table[b']' as usize] = ATTENTION_SD;
    table
};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`. i64 nanoseconds only reach 1677..2262; the
/// year check keeps the writer correct should the range ever widen.
fn write_rfc3339_millis(out: &mut Vec<u8>, ns: i64) {
    let (days, second_of_day, millis) = split_time(ns);
    let (year, month, day) = civil_from_days(days);
    let Ok(year @ 0..=9999) = u32::try_from(year) else {
        out.push(b'-');
        return;
    };
    write_two_digits(out, year / 100);
    write_two_digits(out, year % 100);
    out.push(b'-');
    write_two_digits(out, month);
    out.push(b'-');
    write_two_digits(out, day);
    out.push(b'T');
    write_clock(out, second_of_day);
    out.push(b'.');
    out.push(b'0' + (millis / 100) as u8);
    write_two_digits(out, millis % 100);
    out.push(b'Z');
}

/// (days since 1970-01-01, second of the day, millisecond of the second),
/// flooring for times before the epoch.
fn split_time(ns: i64) -> (i64, u32, u32) {
    let seconds = ns.div_euclid(NANOS_PER_SECOND);
    // Both remainders are non-negative and small, so the casts are lossless.
    let millis = (ns.rem_euclid(NANOS_PER_SECOND) / 1_000_000) as u32;
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY) as u32;
    (days, second_of_day, millis)
}

/// Proleptic Gregorian (year, month 1..=12, day 1..=31) of a day count since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn write_clock(out: &mut Vec<u8>, second_of_day: u32) {
    write_two_digits(out, second_of_day / 3600);
    out.push(b':');
    write_two_digits(out, second_of_day / 60 % 60);
    out.push(b':');
    write_two_digits(out, second_of_day % 60);
}

/// Two digits of `n % 100`.
fn write_two_digits(out: &mut Vec<u8>, n: u32) {
    let n = n % 100;
    out.push(b'0' + (n / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

fn write_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_event::Param;

    fn standard(event: &Event, with_pri: bool) -> String {
        let mut out = Vec::new();
        write_standard(event, &StandardOptions { with_pri }, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn structured(event: &Event, brief: bool) -> String {
        let mut out = Vec::new();
        write_structured(event, &StructuredOptions { brief }, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Days from civil, the inverse, to check civil_from_days against.
    fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    #[test]
    fn civil_from_days_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(13_559), (2007, 2, 15));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
    }

    #[test]
    fn civil_from_days_round_trips_over_four_centuries() {
        let mut previous = civil_from_days(-150_000);
        for days in -149_999..150_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert!((y, m, d) > previous);
            previous = (y, m, d);
        }
    }

    #[test]
    fn split_time_floors_before_the_epoch() {
        assert_eq!(split_time(-1), (-1, 86_399, 999));
        assert_eq!(split_time(1_999_999_999), (0, 1, 999));
        // Extremes do not overflow.
        let _ = split_time(i64::MIN);
        let _ = split_time(i64::MAX);
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_nanoseconds() {
        // i64 nanoseconds span 1677..2262, all writable RFC 3339 years.
        let mut out = Vec::new();
        write_rfc3339_millis(&mut out, i64::MIN);
        assert_eq!(out, b"1677-09-21T00:12:43.145Z");
        out.clear();
        write_rfc3339_millis(&mut out, i64::MAX);
        assert_eq!(out, b"2262-04-11T23:47:16.854Z");
        out.clear();
        write_rfc3339_millis(&mut out, -1);
        assert_eq!(out, b"1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn standard_day_is_space_padded_and_pid_optional() {
        let event = Event {
            time_ns: Some(1_181_048_405 * NANOS_PER_SECOND), // 2007-06-05T13:00:05Z
            host: Some("h".into()),
            app: Some("junoscope8080".into()),
            code: Some("JUNOSCOPE_LOGOUT".into()),
            message: Some("bye".into()),
            ..Event::default()
        };
        assert_eq!(
            standard(&event, false),
            "Jun  5 13:00:05 h junoscope8080: JUNOSCOPE_LOGOUT: bye"
        );
        // Missing facility and severity: user.notice = 13.
        assert!(standard(&event, true).starts_with("<13>Jun  5 "));
    }

    #[test]
    fn unknown_everything() {
        let event = Event::default();
        assert_eq!(standard(&event, false), "Jan  1 00:00:00 - -:");
        assert_eq!(structured(&event, false), "<13>1 - - - - - -");
    }

    #[test]
    fn no_raw_newline_can_be_injected() {
        let event = Event {
            time_ns: Some(0),
            host: Some("evil\nhost".into()),
            app: Some("a p[p]:".into()),
            pid: Some("1\r2".into()),
            code: Some("X\nY".into()),
            message: Some("line1\nline2\r\0\u{7f}\u{85}tab\there é".into()),
            params: vec![Param {
                sd_id: "id x=\"]".into(),
                name: "na\nme".into(),
                value: "v\"\\]\n".into(),
            }],
            ..Event::default()
        };
        let std_line = standard(&event, true);
        let sd_line = structured(&event, false);
        for line in [&std_line, &sd_line] {
            assert!(
                !line.contains(['\n', '\r', '\0', '\u{7f}', '\u{85}']),
                "{line}"
            );
        }
        assert_eq!(
            std_line,
            "<13>Jan  1 00:00:00 evil_host a_p_p__[1_2]: X_Y: line1#012line2#015#000#177#205tab#011here é"
        );
        assert_eq!(
            sd_line,
            "<13>1 1970-01-01T00:00:00.000Z evil_host a_p[p]: 1_2 X_Y [id_x___ na_me=\"v\\\"\\\\\\]#012\"] line1#012line2#015#000#177#205tab#011here é"
        );
    }

    #[test]
    fn params_group_by_sd_id_in_first_appearance_order() {
        let p = |id: &str, name: &str, value: &str| Param {
            sd_id: id.into(),
            name: name.into(),
            value: value.into(),
        };
        let event = Event {
            params: vec![p("a@1", "x", "1"), p("b@2", "y", "2"), p("a@1", "z", "3")],
            ..Event::default()
        };
        assert_eq!(
            structured(&event, true),
            "<13>1 - - - - - [a@1 x=\"1\" z=\"3\"][b@2 y=\"2\"]"
        );
    }

    #[test]
    fn ids_equal_once_written_share_one_element() {
        let p = |id: &str, name: &str| Param {
            sd_id: id.into(),
            name: name.into(),
            value: "v".into(),
        };
        let event = Event {
            params: vec![p("a b", "x"), p("a_b", "y"), p("", "z"), p("_", "w")],
            ..Event::default()
        };
        assert_eq!(
            structured(&event, true),
            "<13>1 - - - - - [a_b x=\"v\" y=\"v\"][_ z=\"v\" w=\"v\"]"
        );
    }

    #[test]
    fn long_names_are_cut_to_rfc_limits() {
        let event = Event {
            app: Some("a".repeat(60).into()),
            code: Some("JUNOSCOPE_RESTORE_NO_ACCESS_INFO_ERROR".into()),
            params: vec![Param {
                sd_id: "s".repeat(40).into(),
                name: "n".repeat(40).into(),
                value: String::new().into(),
            }],
            ..Event::default()
        };
        let line = structured(&event, false);
        let expected = format!(
            "<13>1 - - {} - RESTORE_NO_ACCESS_INFO_ERROR [{} {}=\"\"]",
            "a".repeat(48),
            "s".repeat(32),
            "n".repeat(32)
        );
        assert_eq!(line, expected);
    }

    #[test]
    fn decimal_and_pri_extremes() {
        let mut out = Vec::new();
        write_decimal(&mut out, 0);
        write_decimal(&mut out, u64::MAX);
        assert_eq!(out, b"018446744073709551615");
        let event = Event {
            facility: Some(Facility::Local7),
            severity: Some(Severity::Debug),
            ..Event::default()
        };
        assert!(structured(&event, false).starts_with("<191>1 "));
    }
}
