//! Properties of the parser:
//! * arbitrary bytes never panic, and an error's offset lies in the input;
//! * an RFC 5424 line built from arbitrary header fields and SD values
//!   (with `"`, `\`, `]`, UTF-8 and empty strings, escaped per RFC 5424
//!   section 6.3.3 by the small writer below) parses back to the same values.

use netaudit_event::Priority;
use netaudit_syslog::parse::{parse, Format, ParseOptions};
use proptest::prelude::*;

fn opts() -> ParseOptions {
    ParseOptions::with_fixed_year(2024)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        match parse(&bytes, &opts()) {
            Ok(msg) => {
                let _ = msg.to_event(0, &bytes);
            }
            Err(e) => prop_assert!(e.offset <= bytes.len()),
        }
    }

    #[test]
    fn syslog_shaped_noise_never_panics(
        prefix in prop::sample::select(vec![
            "<165>1 ", "<13>", "<13> ", "Jun 20 13:00:05 ", "1 ", "<1>1 - - - - - ",
            "<14>1 2013-01-19T15:18:17.040 h a - T ", "mgd 1 UI_X ", "x ",
        ]),
        body in "[\\[\\]\"\\\\= a-zA-Z0-9:\\-.@_\u{201d}\u{feff}é<>]{0,80}",
    ) {
        let line = format!("{prefix}{body}");
        if let Err(e) = parse(line.as_bytes(), &opts()) {
            prop_assert!(e.offset <= line.len());
        }
    }
}

/// RFC 5424 PARAM-VALUE escaping: `"`, `\` and `]` get a backslash.
fn escape_param_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: PRINTUSASCII without SP, 1..=32 chars, not "-".
fn header_field() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[!-~]{1,32}".prop_filter("not NILVALUE", |s| s != "-"))
}

fn sd_name() -> impl Strategy<Value = String> {
    // SD-NAME: PRINTUSASCII except '=', SP, ']', '"'.
    "[!#-<>-\\\\^-~]{1,16}"
}

fn sd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[\"\\\\\\]a-z ]{0,12}",
        "\\PC{0,20}",
        any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\0').take(24).collect()),
    ]
}

#[derive(Debug, Clone)]
struct Element {
    id: String,
    params: Vec<(String, String)>,
}

fn element() -> impl Strategy<Value = Element> {
    (
        sd_name(),
        proptest::collection::vec((sd_name(), sd_value()), 0..5),
    )
        .prop_map(|(id, params)| Element { id, params })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn rfc5424_round_trips(
        pri in 0u32..=191,
        timestamp in prop::option::of((1970i32..2100, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60, prop::option::of(0u32..1_000_000))),
        hostname in header_field(),
        app_name in header_field(),
        proc_id in header_field(),
        msg_id in header_field(),
        elements in proptest::collection::vec(element(), 0..4),
        message in prop::option::of("\\PC{1,60}"),
        bom in any::<bool>(),
    ) {
        let nil = |f: &Option<String>| f.clone().unwrap_or_else(|| "-".to_string());
        let ts_text = timestamp.map(|(y, mo, d, h, mi, s, frac)| match frac {
            Some(f) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:06}Z"),
            None => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        });
        let mut line = format!(
            "<{pri}>1 {} {} {} {} {} ",
            ts_text.clone().unwrap_or_else(|| "-".to_string()),
            nil(&hostname), nil(&app_name), nil(&proc_id), nil(&msg_id)
        );
        if elements.is_empty() {
            line.push('-');
        }
        for e in &elements {
            line.push('[');
            line.push_str(&e.id);
            for (name, value) in &e.params {
                line.push_str(&format!(" {name}=\"{}\"", escape_param_value(value)));
            }
            line.push(']');
        }
        if let Some(m) = &message {
            line.push(' ');
            if bom {
                line.push('\u{feff}');
            }
            line.push_str(m);
        }

        let parsed = parse(line.as_bytes(), &opts());
        prop_assert!(parsed.is_ok(), "{:?} for {line:?}", parsed.err());
        let msg = parsed.unwrap();
        prop_assert_eq!(msg.format, Format::Rfc5424);
        prop_assert_eq!(msg.priority, Some(Priority::from_code(pri).unwrap()));
        prop_assert_eq!(msg.version, Some(1));
        prop_assert_eq!(msg.timestamp.map(|t| t.to_rfc3339_utc()), ts_text);
        prop_assert_eq!(msg.hostname, hostname.as_deref());
        prop_assert_eq!(msg.app_name, app_name.as_deref());
        prop_assert_eq!(msg.proc_id, proc_id.as_deref());
        prop_assert_eq!(msg.msg_id, msg_id.as_deref());
        prop_assert_eq!(msg.structured_data.len(), elements.len());
        for (got, want) in msg.structured_data.iter().zip(&elements) {
            prop_assert_eq!(got.id, want.id.as_str());
            prop_assert_eq!(got.params.len(), want.params.len());
            for (p, (name, value)) in got.params.iter().zip(&want.params) {
                prop_assert_eq!(p.name, name.as_str());
                prop_assert_eq!(p.value.as_ref(), value.as_str());
            }
        }
        // A message that is only a BOM (or empty) reads as absent.
        let want_message = message.as_deref().filter(|m| !m.is_empty());
        prop_assert_eq!(msg.message, want_message);
    }
}
