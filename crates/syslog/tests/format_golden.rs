//! Golden tests of the writers: the two seed samples byte for byte, and
//! every catalog code (plus edge cases) in both formats against the files
//! under crates/syslog/tests/data/format/.
//!
//! The expected files were generated once with `UPDATE_GOLDEN=1 cargo test
//! -p netaudit-syslog --test format_golden`, reviewed by eye and committed;
//! without that variable the test only compares.

use std::path::PathBuf;

use netaudit_event::catalog::{catalog, CatalogEntry, EventContext};
use netaudit_event::{Event, Facility, Param, Severity};
use netaudit_syslog::format::{
    write_standard, write_structured, StandardOptions, StructuredOptions,
};

const NANOS: i64 = 1_000_000_000;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/format")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some()
}

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

#[test]
fn seed_000_standard_sample() {
    // Jun 20 13:00:05 (2007 chosen; the format has no year), local2 default.
    let event = Event {
        time_ns: Some(1_182_344_405 * NANOS),
        host: Some("valhalla2".into()),
        app: Some("junoscope7080".into()),
        pid: Some("9348".into()),
        facility: Some(Facility::Local2),
        severity: Some(Severity::Info),
        code: Some("JUNOSCOPE_LOGIN_FAILURE".into()),
        // The seed's sample text, not the catalog template (docs/catalog.md).
        message: Some("Login failed using username: 'admin'".into()),
        ..Event::default()
    };
    assert_eq!(
        standard(&event, false),
        "Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'"
    );
    // Over a network: local2 (18) x 8 + info (6) = 150.
    assert_eq!(
        standard(&event, true),
        "<150>Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'"
    );
}

#[test]
fn seed_002_structured_sample_and_brief() {
    let event = Event {
        time_ns: Some(1_171_531_035 * NANOS + 719_000_000),
        host: Some("router1".into()),
        app: Some("mgd".into()),
        pid: Some("3046".into()),
        facility: Some(Facility::Local4),
        severity: Some(Severity::Notice),
        code: Some("UI_DBASE_LOGOUT_EVENT".into()),
        params: vec![Param {
            sd_id: "junos@2636.1.1.1.2.18".into(),
            name: "username".into(),
            value: "regress".into(),
        }],
        message: Some("User 'regress' exiting configuration mode".into()),
        ..Event::default()
    };
    assert_eq!(
        structured(&event, false),
        "<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"] User 'regress' exiting configuration mode"
    );
    assert_eq!(
        structured(&event, true),
        "<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"]"
    );
}

#[test]
fn catalog_rendering_feeds_the_writers() {
    let event = catalog()
        .get("JUNOSCOPE_USER_CREATED")
        .unwrap()
        .render(&[
            ("new-user", "bob"),
            ("username", "admin"),
            ("client-address", "192.0.2.10"),
        ])
        .unwrap()
        .into_event(&EventContext {
            time_ns: Some(1_182_344_405 * NANOS),
            host: Some("valhalla2".into()),
            app: Some("junoscope7080".into()),
            pid: Some("9348".into()),
            ..EventContext::default()
        });
    assert_eq!(
        standard(&event, true),
        "<150>Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_USER_CREATED: User created: user: 'bob' by username: 'admin' client address: '192.0.2.10'"
    );
    assert_eq!(
        structured(&event, false),
        "<150>1 2007-06-20T13:00:05.000Z valhalla2 junoscope7080 9348 JUNOSCOPE_USER_CREATED [junos@2636.1.1.1.2.18 new-user=\"bob\" username=\"admin\" client-address=\"192.0.2.10\"] User created: user: 'bob' by username: 'admin' client address: '192.0.2.10'"
    );
}

/// The example value each catalog variable gets in the golden inputs.
fn example_value(entry: &CatalogEntry, name: &str) -> String {
    let operation_type = match entry.group.as_str() {
        "Inventory Scan" => "scan",
        "Restore Configuration" => "restore",
        _ => "archive",
    };
    match name {
        "username" => "jdoe".into(),
        "client-address" => "192.0.2.10".into(),
        "admin-username" => "admin".into(),
        "new-user" => "bob".into(),
        "deleted-user" => "carol".into(),
        "target-user" => "dave".into(),
        "radius-server-address" => "192.0.2.53".into(),
        "auth-info-name" => "lab-ssh".into(),
        "access-method" => "ssh".into(),
        "label-name" => "edge routers".into(),
        "device-name" => "edge1".into(),
        "operation-name" => format!("{operation_type} edge1"),
        "operation-type" => operation_type.into(),
        "start-time" => "2007-06-20 12:59:58".into(),
        "last-updated-time" => "2007-06-20 13:00:05".into(),
        "revision" => "42".into(),
        "report-name" => "weekly inventory".into(),
        "target-version" => "9.3R2.8".into(),
        "package-info" => "jinstall-9.2R1.10-domestic".into(),
        "image-name" => "jinstall-9.3R2.8-domestic-signed.tgz".into(),
        other => panic!("no example value for variable {other} of {}", entry.code),
    }
}

/// One event per catalog entry, a second apart, as JUNOScope on valhalla2
/// would send them.
fn catalog_events() -> Vec<Event> {
    catalog()
        .entries()
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let values: Vec<(String, String)> = entry
                .variables
                .iter()
                .map(|v| (v.name.clone(), example_value(entry, &v.name)))
                .collect();
            let vars: Vec<(&str, &str)> = values
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let time_ns = (1_182_344_405 + i as i64) * NANOS + 123_000_000;
            entry.render(&vars).unwrap().into_event(&EventContext {
                time_ns: Some(time_ns),
                host: Some("valhalla2".into()),
                app: Some("junoscope7080".into()),
                pid: Some("9348".into()),
                received_ns: time_ns,
                ..EventContext::default()
            })
        })
        .collect()
}

/// Events that exercise the writers' corner cases.
fn edge_events() -> Vec<Event> {
    let p = |id: &str, name: &str, value: &str| Param {
        sd_id: id.into(),
        name: name.into(),
        value: value.into(),
    };
    vec![
        // Nothing known at all.
        Event::default(),
        // A value trying to inject a second line and break out of the SD.
        Event {
            time_ns: Some(1_182_344_405 * NANOS),
            host: Some("valhalla2".into()),
            app: Some("junoscope7080".into()),
            facility: Some(Facility::Local2),
            severity: Some(Severity::Info),
            code: Some("JUNOSCOPE_LOGIN_FAILURE".into()),
            params: vec![
                p("junos@2636.1.1.1.2.18", "username", "x'\nJun 20 13:00:06 valhalla2 junoscope7080: JUNOSCOPE_LOGIN_SUCCESSFUL: forged"),
                p("junos@2636.1.1.1.2.18", "client-address", "\"] [evil@1 a=\"b\\"),
            ],
            message: Some("Failed to login: username: 'x'\nJun 20 13:00:06 valhalla2 junoscope7080: forged' client address: '\r\t'".into()),
            ..Event::default()
        },
        // Two SD elements interleaved, non-ASCII text, an early day of month,
        // a time before the epoch and local7.debug.
        Event {
            time_ns: Some(-NANOS / 2),
            host: Some("rtr-ü".into()),
            app: Some("mgd".into()),
            pid: Some("3046".into()),
            facility: Some(Facility::Local7),
            severity: Some(Severity::Debug),
            code: Some("UI_CMDLINE_READ_LINE".into()),
            params: vec![
                p("junos@2636.1.1.1.2.18", "username", "régis"),
                p("origin", "ip", "192.0.2.1"),
                p("junos@2636.1.1.1.2.18", "command", "show ]route["),
            ],
            message: Some("User 'régis', command 'show ]route['".into()),
            ..Event::default()
        },
        // Received time only, no code, no pid; a long code gets a short MSGID.
        Event {
            received_ns: 1_180_656_000 * NANOS, // 2007-06-01
            host: Some("valhalla2".into()),
            app: Some("junoscope7080".into()),
            message: Some("no code here".into()),
            ..Event::default()
        },
        Event {
            time_ns: Some(1_180_656_000 * NANOS),
            host: Some("valhalla2".into()),
            app: Some("junoscope7080".into()),
            facility: Some(Facility::Local0),
            severity: Some(Severity::Error),
            code: Some("JUNOSCOPE_SOFTWARE_IMAGE_DOWNLOAD_ERROR".into()),
            params: vec![p("junos@2636.1.1.1.2.18", "image-name", "")],
            message: Some(String::new().into()),
            ..Event::default()
        },
    ]
}

/// Writes (UPDATE_GOLDEN) or compares one golden file.
fn golden(name: &str, actual: &str) {
    let path = data_dir().join(name);
    if updating() {
        std::fs::create_dir_all(data_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if expected != actual {
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            assert_eq!(e, a, "{} line {}", path.display(), i + 1);
        }
        assert_eq!(expected, actual, "{}", path.display());
    }
}

/// The committed input file must still be what the catalog renders, and
/// every line of each expected file what the writers produce from it.
fn check_set(prefix: &str, events: &[Event]) {
    let jsonl: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    golden(&format!("{prefix}_events.jsonl"), &jsonl);
    // The committed file equals `jsonl` (compared above); the writers see
    // the events as deserialised from it.
    let inputs: Vec<Event> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(inputs, events);
    type Writer = fn(&Event) -> String;
    let writers: [(&str, Writer); 4] = [
        ("standard", |e| standard(e, false)),
        ("standard_network", |e| standard(e, true)),
        ("structured", |e| structured(e, false)),
        ("structured_brief", |e| structured(e, true)),
    ];
    for (name, write) in writers {
        let lines: String = inputs.iter().map(|e| write(e) + "\n").collect();
        assert_eq!(
            lines.matches('\n').count(),
            inputs.len(),
            "{name}: raw newline"
        );
        golden(&format!("{prefix}_{name}.txt"), &lines);
    }
}

#[test]
fn every_catalog_code_in_both_formats() {
    let events = catalog_events();
    assert_eq!(events.len(), catalog().entries().len());
    check_set("catalog", &events);
}

#[test]
fn edge_cases_in_both_formats() {
    check_set("edge", &edge_events());
}
