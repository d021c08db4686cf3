//! Properties of the writers for arbitrary events: never a raw line break,
//! a well-formed RFC 5424 header and SD section whose values unescape to the
//! (control-escaped) input, the right PRI and a correct calendar date.

use netaudit_event::{Event, Facility, Param, Severity};
use netaudit_syslog::format::{
    write_standard, write_structured, StandardOptions, StructuredOptions,
};
use proptest::prelude::*;

/// What the writers make of free text: control characters as `#ooo`.
fn control_escaped(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let code = c as u32;
        if code < 0x20 || (0x7F..=0x9F).contains(&code) {
            out.push_str(&format!("#{code:03o}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Civil date of a day count by walking the calendar (the slow reference).
fn slow_civil(days: i64) -> (i64, u32, u32) {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut year = 1970;
    let mut days = days;
    while days < 0 {
        year -= 1;
        days += if leap(year) { 366 } else { 365 };
    }
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 1;
    for len in lengths {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    (year, month, days as u32 + 1)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}",
        "[a-z\"\\\\\\]\\[= \n\r\t\u{0}\u{7f}\u{85}é€]{0,20}",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let params = prop::collection::vec(
        (
            prop_oneof![Just("junos@2636.1.1.1.2.18".to_string()), text()],
            text(),
            text(),
        ),
        0..5,
    )
    .prop_map(|ps| {
        ps.into_iter()
            .map(|(sd_id, name, value)| Param {
                sd_id: sd_id.into(),
                name: name.into(),
                value: value.into(),
            })
            .collect::<Vec<_>>()
    });
    (
        (
            any::<i64>(),
            prop::option::of(any::<i64>()),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
        (
            prop::option::of(0u8..24),
            prop::option::of(0u8..8),
            prop::option::of(text()),
            params,
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (received_ns, time_ns, host, app, pid),
                (facility, severity, code, params, message),
            )| {
                Event {
                    received_ns,
                    time_ns,
                    host: host.map(Into::into),
                    app: app.map(Into::into),
                    pid: pid.map(Into::into),
                    facility: facility.map(|f| Facility::from_code(f).unwrap()),
                    severity: severity.map(|s| Severity::from_code(s).unwrap()),
                    code: code.map(Into::into),
                    params,
                    message: message.map(Into::into),
                    ..Event::default()
                }
            },
        )
}

/// Splits `n` space-separated header tokens off the front.
fn header_tokens(line: &str, n: usize) -> (Vec<&str>, &str) {
    let mut rest = line;
    let mut tokens = Vec::new();
    for _ in 0..n {
        let end = rest.find(' ').expect("header token followed by a space");
        tokens.push(&rest[..end]);
        rest = &rest[end + 1..];
    }
    (tokens, rest)
}

/// Parses the SD section: (sd-id, [(name, unescaped value)]) per element and
/// the rest of the line.
#[allow(clippy::type_complexity)]
fn parse_sd(mut rest: &str) -> (Vec<(String, Vec<(String, String)>)>, &str) {
    let mut elements = Vec::new();
    if let Some(after) = rest.strip_prefix('-') {
        return (elements, after);
    }
    while let Some(after) = rest.strip_prefix('[') {
        let id_end = after.find([' ', ']']).expect("SD-ID ends");
        let id = after[..id_end].to_string();
        rest = &after[id_end..];
        let mut params = Vec::new();
        while let Some(after) = rest.strip_prefix(' ') {
            let eq = after.find("=\"").expect("PARAM-NAME=\"");
            let name = after[..eq].to_string();
            let mut value = String::new();
            let mut chars = after[eq + 2..].char_indices();
            let consumed;
            loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => {
                        let (_, escaped) = chars.next().expect("escaped char");
                        assert!(
                            matches!(escaped, '"' | '\\' | ']'),
                            "bad escape \\{escaped}"
                        );
                        value.push(escaped);
                    }
                    (i, '"') => {
                        consumed = eq + 2 + i + 1;
                        break;
                    }
                    (_, c) => {
                        assert!(c != ']', "unescaped ] in value");
                        value.push(c);
                    }
                }
            }
            params.push((name, value));
            rest = &after[consumed..];
        }
        rest = rest.strip_prefix(']').expect("SD element closes");
        elements.push((id, params));
    }
    (elements, rest)
}

/// The documented SD-NAME rule, restated independently of the writer.
fn sd_name(name: &str) -> String {
    if name.is_empty() {
        return "_".into();
    }
    name.chars()
        .take(32)
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn valid_sd_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn structured_is_well_formed(event in event(), brief in any::<bool>()) {
        let mut out = Vec::new();
        write_structured(&event, &StructuredOptions { brief }, &mut out);
        let line = String::from_utf8(out).expect("UTF-8");
        prop_assert!(!line.contains(['\n', '\r', '\0']));
        let pri = u32::from(event.facility.map_or(1, |f| f.code())) * 8
            + u32::from(event.severity.map_or(5, |s| s.code()));
        let prefix = format!("<{pri}>1 ");
        prop_assert!(line.starts_with(&prefix), "{}", line);
        let (tokens, rest) = header_tokens(&line[prefix.len()..], 5);
        let limits = [usize::MAX, 255, 48, 128, 32];
        for (token, limit) in tokens.iter().zip(limits) {
            prop_assert!(!token.is_empty() && token.len() <= limit);
            prop_assert!(token.bytes().all(|b| b.is_ascii_graphic()), "{}", token);
        }
        let (elements, text) = parse_sd(rest);
        // Elements: one per distinct SD-ID as written, in first-appearance
        // order, holding that id's parameters in order.
        let mut ids: Vec<String> = Vec::new();
        for p in &event.params {
            let id = sd_name(&p.sd_id);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let written: Vec<&String> = elements.iter().map(|(id, _)| id).collect();
        prop_assert_eq!(written, ids.iter().collect::<Vec<_>>());
        for (id, params) in &elements {
            prop_assert!(valid_sd_name(id), "{}", id);
            let originals: Vec<&Param> =
                event.params.iter().filter(|p| sd_name(&p.sd_id) == *id).collect();
            prop_assert_eq!(params.len(), originals.len());
            for ((name, value), original) in params.iter().zip(originals) {
                prop_assert!(valid_sd_name(name), "{}", name);
                prop_assert_eq!(name, &sd_name(&original.name));
                prop_assert_eq!(value, &control_escaped(&original.value));
            }
        }
        let message = event.message.as_deref().filter(|m| !brief && !m.is_empty());
        match message {
            Some(m) => prop_assert_eq!(text, format!(" {}", control_escaped(m))),
            None => prop_assert_eq!(text, ""),
        }
    }

    #[test]
    fn standard_is_one_line_with_the_text_last(event in event(), with_pri in any::<bool>()) {
        let mut out = Vec::new();
        write_standard(&event, &StandardOptions { with_pri }, &mut out);
        let line = String::from_utf8(out).expect("UTF-8");
        prop_assert!(!line.contains(['\n', '\r', '\0']));
        if let Some(m) = event.message.as_deref().filter(|m| !m.is_empty()) {
            let suffix = format!(" {}", control_escaped(m));
            prop_assert!(line.ends_with(&suffix));
        }
        prop_assert_eq!(line.starts_with('<'), with_pri);
    }

    #[test]
    fn dates_match_the_slow_calendar(seconds in -5_000_000_000i64..9_000_000_000i64, millis in 0i64..1000) {
        let ns = seconds * 1_000_000_000 + millis * 1_000_000;
        let event = Event { time_ns: Some(ns), ..Event::default() };
        let mut out = Vec::new();
        write_structured(&event, &StructuredOptions::default(), &mut out);
        let line = String::from_utf8(out).unwrap();
        let days = seconds.div_euclid(86_400);
        let sod = seconds.rem_euclid(86_400);
        let (y, m, d) = slow_civil(days);
        let expected = format!(
            "<13>1 {y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z - - - - -",
            sod / 3600, sod / 60 % 60, sod % 60
        );
        prop_assert_eq!(&line, &expected);

        let mut out = Vec::new();
        write_standard(&event, &StandardOptions::default(), &mut out);
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let expected = format!(
            "{} {d:>2} {:02}:{:02}:{:02} - -:",
            months[m as usize - 1], sod / 3600, sod / 60 % 60, sod % 60
        );
        prop_assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
