//! The parser's dialects and repairs, line by line, through the public
//! entry point: RFC 5424, BSD / JUNOScope, structured data, relay-wrapped
//! and hybrid lines, the errors, and the mapping to `Event`. (They go
//! through `parse()` as a user does; the byte scanners' own tests sit
//! next to them in `src/parse/scan.rs`.)

use std::borrow::Cow;

use netaudit_event::{Facility, Priority, Severity};
use netaudit_syslog::parse::{
    parse, Format, ParseError, ParseErrorKind, ParseOptions, SyslogMessage,
};

fn opts() -> ParseOptions {
    ParseOptions::with_fixed_year(2020)
}

fn ok(line: &str) -> SyslogMessage<'_> {
    parse(line.as_bytes(), &opts()).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn err(line: &[u8]) -> ParseError {
    match parse(line, &opts()) {
        Ok(m) => panic!("accepted {:?}: {m:?}", String::from_utf8_lossy(line)),
        Err(e) => e,
    }
}

#[test]
fn seed_002_structured_data_sample() {
    let m = ok("<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"] User 'regress' exiting configuration mode");
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!(
        m.priority,
        Some(Priority::new(Facility::Local4, Severity::Notice))
    );
    assert_eq!(m.version, Some(1));
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339_utc(),
        "2007-02-15T09:17:15.719Z"
    );
    assert_eq!(m.hostname, Some("router1"));
    assert_eq!(m.app_name, Some("mgd"));
    assert_eq!(m.proc_id, Some("3046"));
    assert_eq!(m.msg_id, Some("UI_DBASE_LOGOUT_EVENT"));
    assert_eq!(m.structured_data.len(), 1);
    assert_eq!(m.structured_data[0].id, "junos@2636.1.1.1.2.18");
    assert_eq!(m.structured_data[0].param("username"), Some("regress"));
    assert!(matches!(
        m.structured_data[0].params[0].value,
        Cow::Borrowed(_)
    ));
    assert_eq!(m.message, Some("User 'regress' exiting configuration mode"));
    // `brief`: no English text.
    let brief = ok("<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"]");
    assert_eq!(brief.message, None);
}

#[test]
fn seed_000_junoscope_sample() {
    let m = ok("Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'");
    assert_eq!(m.format, Format::Junoscope);
    assert_eq!(m.priority, None);
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339_utc(),
        "2020-06-20T13:00:05Z"
    );
    assert_eq!(m.hostname, Some("valhalla2"));
    assert_eq!(m.app_name, Some("junoscope7080"));
    assert_eq!(m.proc_id, Some("9348"));
    assert_eq!(m.msg_id, Some("JUNOSCOPE_LOGIN_FAILURE"));
    assert_eq!(m.message, Some("Login failed using username: 'admin'"));
    // The tag alone also marks JUNOScope; `junoscope` without a port does not.
    assert_eq!(
        ok("<150>Jun 20 13:00:05 h other[1]: JUNOSCOPE_X_Y: t").format,
        Format::Junoscope
    );
    assert_eq!(
        ok("<150>Jun 20 13:00:05 h junoscope[1]: UI_X: t").format,
        Format::Rfc3164
    );
}

#[test]
fn nilvalues_bom_and_several_elements() {
    let m = ok("<1>1 - - - - - -");
    assert_eq!(
        (m.timestamp, m.hostname, m.app_name, m.proc_id, m.msg_id),
        (None, None, None, None, None)
    );
    assert!(m.structured_data.is_empty());
    assert_eq!(m.message, None);
    let m = ok("<34>1 2003-10-11T22:14:15.003Z host su - ID47 [a@1 x=\"1\"][b@2 y=\"2\" z=\"\"] \u{feff}'su root' failed");
    assert_eq!(m.structured_data.len(), 2);
    assert_eq!(m.structured_data[1].param("z"), Some(""));
    assert_eq!(m.message, Some("'su root' failed"));
}

#[test]
fn escapes_are_unescaped_and_others_kept() {
    let m =
        ok(r#"<1>1 - - - - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="keep\n" e="]"] m"#);
    let sd = &m.structured_data[0];
    assert_eq!(sd.param("a"), Some("q\"uote"));
    assert_eq!(sd.param("b"), Some("back\\slash"));
    assert_eq!(sd.param("c"), Some("br]acket"));
    assert_eq!(sd.param("d"), Some("keep\\n"));
    assert_eq!(sd.param("e"), Some("]"));
    assert!(matches!(sd.params[0].value, Cow::Owned(_)));
}

#[test]
fn offsets_fractions_and_repaired_missing_offset() {
    let t = |line: &str| ok(line).timestamp.unwrap();
    assert_eq!(
        t("<1>1 2020-08-11T11:15:00.025-07:00 h - - - -").to_rfc3339_utc(),
        "2020-08-11T18:15:00.025Z"
    );
    assert_eq!(
        t("<1>1 2020-08-11T11:15:00.025-07:00 h - - - -").offset_minutes(),
        -420
    );
    assert_eq!(
        t("<1>1 2003-08-24T05:14:15.000003+05:30 h - - - -").to_rfc3339_utc(),
        "2003-08-23T23:44:15.000003Z"
    );
    assert_eq!(
        t("<1>1 2013-01-19T15:18:17.040 h - - - -").to_rfc3339_utc(),
        "2013-01-19T15:18:17.040Z"
    );
    let mut o = opts();
    o.default_offset_minutes = 60;
    let m = parse(b"<1>1 2013-01-19T15:18:17 h - - - -", &o).unwrap();
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339_utc(),
        "2013-01-19T14:18:17Z"
    );
    let e = err(b"<1>1 2003-08-24T05:14:15.1122334455Z h - - - -");
    assert_eq!(
        e.kind,
        ParseErrorKind::InvalidTimestamp("fraction needs 1 to 9 digits")
    );
    assert_eq!(e.offset, 34);
}

#[test]
fn bsd_forms() {
    // No PRI, no hostname.
    let m = ok("Dec 17 08:05:30 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN");
    assert_eq!(
        (m.hostname, m.app_name, m.msg_id),
        (None, Some("RT_FLOW"), Some("RT_FLOW_SESSION_CLOSE"))
    );
    assert_eq!(m.message, Some("session closed TCP FIN"));
    // Double space before the hostname, unpadded day, two spaces after the tag.
    let m = ok("<28>Jul  8 23:04:13  vmx01 craftd[4817]:  Major alarm cleared");
    assert_eq!(
        (m.hostname, m.app_name, m.proc_id),
        (Some("vmx01"), Some("craftd"), Some("4817"))
    );
    assert_eq!(m.message, Some("Major alarm cleared"));
    let m = ok("<158>May 4 05:16:01 AB1234 kernel: FW: gr-0/0/0.23 A udp");
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339_utc(),
        "2020-05-04T05:16:01Z"
    );
    assert_eq!(m.msg_id, None);
    // ISO timestamp instead of the BSD one.
    let m = ok("<172>2020-03-31T08:41:59+00:00 some-router rpd[13037]: BGP_X_Y: text");
    assert_eq!(
        (m.format, m.msg_id, m.message),
        (Format::Rfc3164, Some("BGP_X_Y"), Some("text"))
    );
    // Year and milliseconds in the BSD timestamp; upper-case month.
    assert_eq!(
        ok("<13>Jun 21 2019 14:03:12 h a: x")
            .timestamp
            .unwrap()
            .to_rfc3339_utc(),
        "2019-06-21T14:03:12Z"
    );
    assert_eq!(
        ok("<13>JUN 21 14:03:12.123 h a: x")
            .timestamp
            .unwrap()
            .to_rfc3339_utc(),
        "2020-06-21T14:03:12.123Z"
    );
    // A PFE line has no process: the body is the message.
    let m = ok("<7>Dec 10 00:00:01 some-switch fpc0 (buf alloc) failed");
    assert_eq!(
        (m.app_name, m.message),
        (None, Some("fpc0 (buf alloc) failed"))
    );
    // Logical-system app names pass through.
    assert_eq!(
        ok("<28>1 2020-05-22T14:59:09.250-03:00 R LSYS:rpd 6589 - - m").app_name,
        Some("LSYS:rpd")
    );
    // RFC 3164 4.3.2: PRI then text without a timestamp.
    assert_eq!(ok("<13>hello world").message, Some("hello world"));
}

#[test]
fn year_rule_applies_to_bsd_dates() {
    let dec31 = b"<13>Dec 31 23:59:59 h a: x";
    let jan1_2021 = ParseOptions::with_reference_time(1_609_459_210); // 2021-01-01T00:00:10Z
    let m = parse(dec31, &jan1_2021).unwrap();
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339_utc(),
        "2020-12-31T23:59:59Z"
    );
    let e = parse(
        b"<13>Feb 29 00:00:00 h a: x",
        &ParseOptions::with_fixed_year(2023),
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::InvalidTimestamp("day does not exist in that month")
    );
}

#[test]
fn repaired_junos_quirks() {
    // Curly quotes from Juniper's documentation.
    let m = ok(
        "<14>1 2013-12-14T16:06:59.134Z p RT_AAMW - T [junos@x a=\u{201d}cloud\u{201d} b=\"c\"]",
    );
    assert_eq!(m.structured_data[0].param("a"), Some("cloud"));
    assert_eq!(m.structured_data[0].param("b"), Some("c"));
    // No space between SD and MSG.
    let m = ok("<12>1 2016-02-18T01:32:50.391Z u RT_UTM - W [junos@x a=\"1\"]1002");
    assert_eq!(m.message, Some("1002"));
    // `name= "value"`.
    assert_eq!(
        ok("<1>1 - - - - - [x a= \"v\"]").structured_data[0].param("a"),
        Some("v")
    );
    // Relay-wrapped RFC 5424 body.
    let m = ok("Aug 24 04:58:58 192.168.1.1 junos-ids: 2017-08-24T04:58:58.724Z srx RT_IDS - RT_SCREEN_IP [junos@1.1.1.1.2.1 attack-name=\"IP spoofing!\"]");
    assert_eq!(
        (m.format, m.hostname, m.app_name, m.msg_id),
        (
            Format::Rfc5424,
            Some("srx"),
            Some("RT_IDS"),
            Some("RT_SCREEN_IP")
        )
    );
    assert_eq!(
        m.structured_data[0].param("attack-name"),
        Some("IP spoofing!")
    );
    // PRI-less RFC 5424.
    let m = ok("1 2020-05-22T14:59:10.908-03:00 OX rpd 6544 - - bgp");
    assert_eq!(
        (m.priority, m.version, m.app_name),
        (None, Some(1), Some("rpd"))
    );
    // VERSION-less RFC 5424 after `<PRI> `.
    let m = ok("<166> 2023-05-08T10:54:24.756+10:00 HOST - - - - HOST nh: x");
    assert_eq!(
        (m.format, m.hostname, m.message),
        (Format::Rfc5424, Some("HOST"), Some("HOST nh: x"))
    );
    // SC4S hybrid: RFC 5424 header, BSD tag.
    let m = ok("<165>1 2007-02-15T09:17:15.719Z mib2d[1484]: SNMP_TRAP_LINK_UP: ifIndex 584");
    assert_eq!(
        (m.hostname, m.app_name, m.proc_id, m.msg_id),
        (None, Some("mib2d"), Some("1484"), Some("SNMP_TRAP_LINK_UP"))
    );
    // Headerless Junos structured-data bodies (seed 003).
    let m = ok("mgd 70652 UI_AUTH_EVENT [junos@2636.1.1.1.2.164 username=\"root\"] Authenticated");
    assert_eq!(
        (m.app_name, m.proc_id, m.msg_id, m.message),
        (
            Some("mgd"),
            Some("70652"),
            Some("UI_AUTH_EVENT"),
            Some("Authenticated")
        )
    );
    let m = ok("UI_CMDLINE_READ_LINE [junos@2636.1.1.1.2.164 username=\"sec-officer\"] User");
    assert_eq!((m.app_name, m.msg_id), (None, Some("UI_CMDLINE_READ_LINE")));
    let m = ok("init - - - network-security (PID 72929) started");
    assert_eq!(
        (m.app_name, m.proc_id, m.message),
        (
            Some("init"),
            None,
            Some("network-security (PID 72929) started")
        )
    );
}

#[test]
fn bad_input_gets_a_precise_error() {
    let cases: &[(&[u8], ParseErrorKind, usize)] = &[
        (b"", ParseErrorKind::Empty, 0),
        (
            b"<165>1 2007-02-15T09:17:15.719Z r\xff m",
            ParseErrorKind::InvalidUtf8,
            33,
        ),
        (b"<192>1 - - - - - -", ParseErrorKind::PriOutOfRange(192), 1),
        (b"<999>1 - - - - - -", ParseErrorKind::PriOutOfRange(999), 1),
        (b"<1651 - - -", ParseErrorKind::PriNotANumber, 4),
        (b"<16", ParseErrorKind::PriUnterminated, 3),
        (b"<>1 -", ParseErrorKind::PriNotANumber, 1),
        (
            b"<6>0 2017-02-15T16:01:07Z h - - - -",
            ParseErrorKind::InvalidVersion,
            3,
        ),
        (
            b"<1>1 2020-01-01T00:",
            ParseErrorKind::Truncated("the rest of the timestamp"),
            19,
        ),
        (
            b"<1>1 2020-13-01T00:00:00Z h - - - -",
            ParseErrorKind::InvalidTimestamp("month out of range 01..12"),
            10,
        ),
        (
            b"<1>1 2021-02-29T00:00:00Z h - - - -",
            ParseErrorKind::InvalidTimestamp("day does not exist in that month"),
            13,
        ),
        (b"<1>1 - h a p", ParseErrorKind::EndsAfter("PROCID"), 12),
        (b"<1>1 - h a p m", ParseErrorKind::EndsAfter("MSGID"), 14),
        (
            b"<1>1 - h a p m ",
            ParseErrorKind::Truncated("structured data"),
            15,
        ),
        (
            b"<1>1 - h\x01 - - - -",
            ParseErrorKind::InvalidChar {
                field: "HOSTNAME",
                ch: '\u{1}',
            },
            8,
        ),
        (
            b"<1>1 - - - - - [x a=\"1\"",
            ParseErrorKind::SdUnterminatedElement,
            15,
        ),
        (
            b"<1>1 - - - - - [x a=\"1",
            ParseErrorKind::SdUnterminatedValue,
            20,
        ),
        (
            b"<1>1 - - - - - [x a=\"1\\",
            ParseErrorKind::SdUnterminatedValue,
            20,
        ),
        (
            b"<1>1 - - - - - [x a=1]",
            ParseErrorKind::SdExpectedQuote,
            20,
        ),
        (
            b"<1>1 - - - - - [x ga teway=\"1\"]",
            ParseErrorKind::SdExpectedEquals,
            20,
        ),
        (b"<1>1 - - - - - []", ParseErrorKind::SdEmptyId, 16),
        (b"<1>1 - - - - - x", ParseErrorKind::SdExpected, 15),
        (
            b"<13>Jun 31 10:00:00 h a: x",
            ParseErrorKind::InvalidTimestamp("day does not exist in that month"),
            8,
        ),
        (
            b"<13>Jun 3",
            ParseErrorKind::Truncated("the rest of the timestamp"),
            9,
        ),
        (b"just some words", ParseErrorKind::Unrecognized, 0),
    ];
    for (input, kind, offset) in cases {
        let e = err(input);
        assert_eq!(
            (&e.kind, e.offset),
            (kind, *offset),
            "{:?}: {e}",
            String::from_utf8_lossy(input)
        );
        assert!(e.offset <= input.len());
    }
    assert_eq!(
        err(b"<192>1 - - - - - -").to_string(),
        "byte 1: PRI value 192 is over 191"
    );
}

#[test]
fn to_event_maps_fields_and_params() {
    let raw = b"<165>1 2007-02-15T09:17:15.719Z r1 sshd - SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.164 username=\"root\" source-address=\"10.223.5.251\" device-name=\"edge1\"] Login failed";
    let m = parse(raw, &opts()).unwrap();
    let e = m.to_event(42, raw);
    assert_eq!(e.received_ns, 42);
    assert_eq!(e.time_ns, Some(1_171_531_035_719_000_000));
    assert_eq!(e.host.as_deref(), Some("r1"));
    assert_eq!(e.app.as_deref(), Some("sshd"));
    assert_eq!(e.pid, None);
    assert_eq!(e.code.as_deref(), Some("SSHD_LOGIN_FAILED"));
    assert_eq!(e.facility, Some(Facility::Local4));
    assert_eq!(e.severity, Some(Severity::Notice));
    assert_eq!(e.user.as_deref(), Some("root"));
    assert_eq!(e.client_addr.as_deref(), Some("10.223.5.251"));
    assert_eq!(e.device.as_deref(), Some("edge1"));
    assert_eq!(e.params.len(), 3);
    assert_eq!(e.params[0].sd_id, "junos@2636.1.1.1.2.164");
    assert_eq!(e.message.as_deref(), Some("Login failed"));
    assert_eq!(e.raw, raw.to_vec());
}
