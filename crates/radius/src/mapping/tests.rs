//! Unit tests of `mapping.rs`.

use super::*;
use netaudit_event::EventContext;

const SECOND: i64 = 1_000_000_000;

fn mapper() -> AccountingMapper {
    AccountingMapper::new(
        &Dictionary::builtin(),
        NasIdentity::new("netaudit-test", Some(Ipv4Addr::new(192, 0, 2, 7))).unwrap(),
    )
    .unwrap()
}

fn event(code: &str, vars: &[(&str, &str)], time_s: i64) -> Event {
    netaudit_event::catalog()
        .lookup(code)
        .unwrap()
        .render(vars)
        .unwrap()
        .into_event(&EventContext {
            time_ns: Some(time_s * SECOND),
            received_ns: time_s * SECOND + 5,
            ..EventContext::default()
        })
}

fn login(code: &str, user: &str, client: &str, time_s: i64) -> Event {
    event(
        code,
        &[("username", user), ("client-address", client)],
        time_s,
    )
}

fn get(record: &AccountingRecord, kind: u8) -> Option<&Attribute> {
    record
        .attributes
        .iter()
        .find(|a| matches!(a, Attribute::Standard { kind: k, .. } if *k == kind))
}

fn vendor(record: &AccountingRecord, number: u8) -> Option<&str> {
    record
        .attributes
        .iter()
        .find(|a| a.vendor_id() == Some(2636) && a.number() == number)
        .and_then(Attribute::as_str)
}

#[test]
fn login_logout_share_the_session_id_and_time_is_counted() {
    let mut m = mapper();
    let start = m.map(
        1,
        &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "bob", "10.0.0.9", 1000),
    );
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].status_type, AcctStatusType::Start);
    assert_eq!(m.open_sessions(), 1);
    let interim = m.map(
        2,
        &event(
            "JUNOSCOPE_DEVICE_ADDED",
            &[
                ("device-name", "r1"),
                ("username", "bob"),
                ("client-address", "10.0.0.9"),
            ],
            1010,
        ),
    );
    let stop = m.map(3, &login("JUNOSCOPE_LOGOUT", "bob", "10.0.0.9", 1100));
    assert_eq!(stop[0].status_type, AcctStatusType::Stop);
    assert_eq!(
        start[0].session_id,
        session_id("bob", "10.0.0.9", 1000 * SECOND)
    );
    assert_eq!(interim[0].session_id, start[0].session_id);
    assert_eq!(stop[0].session_id, start[0].session_id);
    assert_eq!(
        get(&stop[0], attr::ACCT_SESSION_TIME).and_then(Attribute::as_u32),
        Some(100)
    );
    assert_eq!(get(&stop[0], attr::ACCT_TERMINATE_CAUSE), None);
    assert_eq!(m.open_sessions(), 0);
    // Common attributes.
    let r = &start[0];
    assert_eq!(
        get(r, attr::USER_NAME).and_then(Attribute::as_str),
        Some("bob")
    );
    assert_eq!(
        get(r, attr::CALLING_STATION_ID).and_then(Attribute::as_str),
        Some("10.0.0.9")
    );
    assert_eq!(
        get(r, attr::NAS_IDENTIFIER).and_then(Attribute::as_str),
        Some("netaudit-test")
    );
    assert_eq!(
        get(r, attr::NAS_IP_ADDRESS).map(Attribute::value),
        Some(&[192, 0, 2, 7][..])
    );
    assert_eq!(
        get(r, attr::EVENT_TIMESTAMP).and_then(Attribute::as_u32),
        Some(1000)
    );
    assert_eq!(get(r, attr::ACCT_DELAY_TIME), None);
    assert_eq!(r.event_time, 1000);
    // A new login gets a new id.
    let again = m.map(
        4,
        &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "bob", "10.0.0.9", 2000),
    );
    assert_ne!(again[0].session_id, start[0].session_id);
}

#[test]
fn session_timeout_is_a_stop_with_session_timeout() {
    let mut m = mapper();
    let start = m.map(1, &login("JUNOSCOPE_LOGIN_SUCCESS", "ann", "10.1.1.1", 50));
    let stop = m.map(
        2,
        &login("JUNOSCOPE_SESSION_TIMEOUT", "ann", "10.1.1.1", 950),
    );
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].status_type, AcctStatusType::Stop);
    assert_eq!(stop[0].session_id, start[0].session_id);
    assert_eq!(
        get(&stop[0], attr::ACCT_TERMINATE_CAUSE).and_then(Attribute::as_u32),
        Some(AcctTerminateCause::SessionTimeout.number())
    );
}

#[test]
fn failures_are_a_start_stop_pair_with_user_error_and_reason() {
    let mut m = mapper();
    m.map(
        1,
        &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "eve", "10.2.2.2", 10),
    );
    for (code, reason) in [
        ("JUNOSCOPE_LOGIN_FAILURE", REASON_AUTHENTICATION_FAILURE),
        ("JUNOSCOPE_USER_AUTO_LOCKED", REASON_USER_ACCOUNT_LOCKED),
    ] {
        let records = m.map(2, &login(code, "eve", "10.2.2.2", 20));
        assert_eq!(records.len(), 2, "{code}");
        assert_eq!(records[0].status_type, AcctStatusType::Start);
        assert_eq!(records[1].status_type, AcctStatusType::Stop);
        assert_eq!((records[0].index, records[1].index), (0, 1));
        assert_eq!(records[0].session_id, records[1].session_id);
        assert_eq!(
            records[0].session_id,
            session_id("eve", "10.2.2.2", 20 * SECOND)
        );
        assert_eq!(
            get(&records[1], attr::ACCT_TERMINATE_CAUSE).and_then(Attribute::as_u32),
            Some(AcctTerminateCause::UserError.number()),
            "{code}"
        );
        assert_eq!(vendor(&records[1], 202), Some(reason));
        assert_eq!(vendor(&records[0], 202), None);
        assert_eq!(get(&records[0], attr::ACCT_TERMINATE_CAUSE), None);
    }
    // The pair neither opens nor closes the user's real session.
    assert_eq!(m.open_sessions(), 1);
}

#[test]
fn every_privileged_action_is_an_interim_update_with_command_and_target() {
    let catalog = netaudit_event::catalog();
    let mut m = mapper();
    let mut seen = 0;
    for entry in catalog.entries() {
        let Some(spec) = &entry.radius else { continue };
        if spec
            .records
            .iter()
            .all(|r| r.status_type != catalog::AcctStatusType::InterimUpdate)
        {
            continue;
        }
        let values: Vec<(String, String)> = entry
            .variables
            .iter()
            .map(|v| (v.name.clone(), format!("v-{}", v.name)))
            .collect();
        let vars: Vec<(&str, &str)> = values
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let records = m.map(7, &event(&entry.code, &vars, 100));
        assert_eq!(records.len(), 1, "{}", entry.code);
        let r = &records[0];
        assert_eq!(r.status_type, AcctStatusType::InterimUpdate);
        let command = vendor(r, 200).unwrap_or_else(|| panic!("{} has no command", entry.code));
        assert!(
            entry.code.contains(command.trim_end_matches("_SUCCESS")),
            "{}: {command}",
            entry.code
        );
        let target = vendor(r, 201).unwrap_or_else(|| panic!("{} has no target", entry.code));
        assert!(target.starts_with("v-"), "{}: {target}", entry.code);
        seen += 1;
    }
    // users 5, RADIUS config 3, auth info, access method, label, commit,
    // archive, restore, devices 3, images 4
    assert_eq!(seen, 21);
    let lock = m.map(
        8,
        &event(
            "JUNOSCOPE_USER_LOCKED_BY_ADMIN",
            &[
                ("username", "bob"),
                ("client-address", "10.9.9.9"),
                ("admin-username", "root"),
            ],
            5,
        ),
    );
    assert_eq!(
        get(&lock[0], attr::USER_NAME).and_then(Attribute::as_str),
        Some("root")
    );
    assert_eq!(vendor(&lock[0], 200), Some("USER_LOCKED_BY_ADMIN"));
    assert_eq!(vendor(&lock[0], 201), Some("bob"));
}

#[test]
fn events_without_radius_attributes_are_not_sent() {
    let mut m = mapper();
    let scan = event(
        "JUNOSCOPE_SCAN_SUCCESS",
        &netaudit_event::catalog()
            .lookup("JUNOSCOPE_SCAN_SUCCESS")
            .unwrap()
            .variables
            .iter()
            .map(|v| (v.name.as_str(), "x"))
            .collect::<Vec<_>>(),
        1,
    );
    assert_eq!(m.map(1, &scan), Vec::new());
    let junos = Event {
        code: Some("UI_COMMIT".into()),
        user: Some("root".into()),
        ..Event::default()
    };
    assert_eq!(m.map(2, &junos), Vec::new());
    assert_eq!(m.map(3, &Event::default()), Vec::new());
}

#[test]
fn standard_format_lines_are_read_through_the_template() {
    let mut m = mapper();
    let parsed = Event {
        code: Some("JUNOSCOPE_LOGIN_FAILURE".into()),
        message: Some("Failed to login: username: 'o'brien' client address: '10.3.3.3'".into()),
        time_ns: Some(77 * SECOND),
        ..Event::default()
    };
    let records = m.map(1, &parsed);
    assert_eq!(
        get(&records[0], attr::USER_NAME).and_then(Attribute::as_str),
        Some("o'brien")
    );
    assert_eq!(
        get(&records[0], attr::CALLING_STATION_ID).and_then(Attribute::as_str),
        Some("10.3.3.3")
    );
    // The short MSGID form of a long code is understood too.
    assert!(netaudit_event::catalog()
        .get_by_msgid("SOFTWARE_IMAGE_DOWNLOAD_ERROR")
        .is_some());
}

#[test]
fn events_naming_no_user_are_attributed() {
    let mut m = mapper();
    let garbled = Event {
        code: Some("JUNOSCOPE_LOGOUT".into()),
        message: Some("garbled".into()),
        app: Some("junoscope7080".into()),
        ..Event::default()
    };
    let r = m.map(42, &garbled);
    assert_eq!(
        get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
        Some("junoscope7080")
    );
    let r = m.map(
        43,
        &Event {
            app: None,
            ..garbled
        },
    );
    assert_eq!(
        get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
        Some("junoscope")
    );
    // The one user logged in from the client address made the change.
    m.map(
        44,
        &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "admin", "10.4.4.4", 1),
    );
    let change = event(
        "JUNOSCOPE_RADIUS_CONFIG_ADDED",
        &[
            ("radius-server-address", "10.5.5.5"),
            ("client-address", "10.4.4.4"),
        ],
        2,
    );
    let r = m.map(45, &change);
    assert_eq!(
        get(&r[0], attr::USER_NAME).and_then(Attribute::as_str),
        Some("admin")
    );
    assert_eq!(vendor(&r[0], 200), Some("RADIUS_CONFIG_ADDED"));
    assert_eq!(vendor(&r[0], 201), Some("10.5.5.5"));
    assert_eq!(r[0].session_id, session_id("admin", "10.4.4.4", SECOND));
}

#[test]
fn long_values_are_cut_on_character_boundaries() {
    let mut m = mapper();
    let long_user = "é".repeat(200); // 400 octets
    let records = m.map(
        1,
        &login("JUNOSCOPE_LOGIN_SUCCESSFUL", &long_user, "10.0.0.1", 1),
    );
    let name = get(&records[0], attr::USER_NAME)
        .and_then(Attribute::as_str)
        .unwrap();
    assert_eq!(name.len(), 252);
    let secret = crate::SharedSecret::new("0123456789abcdef").unwrap();
    crate::encode_accounting_request(1, &records[0].attributes_with_delay(3), &secret).unwrap();
    assert_eq!(cut("abc", 2), "ab");
    assert_eq!(cut("é", 1), "");
}

#[test]
fn delay_is_counted_from_the_event_time() {
    let mut m = mapper();
    let r = m
        .map(1, &login("JUNOSCOPE_LOGIN_SUCCESSFUL", "a", "b", 100))
        .remove(0);
    assert_eq!(r.delay_at(130), 30);
    assert_eq!(r.delay_at(90), 0);
    let with = r.attributes_with_delay(30);
    assert_eq!(with.last().and_then(Attribute::as_u32), Some(30));
    assert_eq!(with.len(), r.attributes.len() + 1);
}

#[test]
fn renumbered_vendor_attributes_are_used() {
    let dictionary = Dictionary::builtin()
        .with_overrides([(junoscope::TARGET, 210u8)])
        .unwrap();
    let mut m = AccountingMapper::new(&dictionary, NasIdentity::new("n", None).unwrap()).unwrap();
    let r = m.map(
        1,
        &event(
            "JUNOSCOPE_DEVICE_DELETED",
            &[
                ("device-name", "r9"),
                ("username", "u"),
                ("client-address", "c"),
            ],
            1,
        ),
    );
    assert_eq!(vendor(&r[0], 210), Some("r9"));
    assert_eq!(get(&r[0], attr::NAS_IP_ADDRESS), None);
    assert!(
        AccountingMapper::new(&Dictionary::new(), NasIdentity::new("n", None).unwrap()).is_err()
    );
    assert!(NasIdentity::new("", None).is_err());
}

#[test]
fn template_matching() {
    let t = "User '{username}' deleted image '{image-name}'";
    assert_eq!(
        match_template(t, "User 'a' deleted image 'b'c'"),
        Some(vec![
            ("username".into(), "a".into()),
            ("image-name".into(), "b'c".into())
        ])
    );
    assert_eq!(match_template(t, "User 'a' removed image 'b'"), None);
    assert_eq!(
        match_template("Import failed", "Import failed"),
        Some(vec![])
    );
    assert_eq!(match_template("Import failed", "Import failed!"), None);
    assert_eq!(match_template("a {x", "a b"), None);
    assert_eq!(match_template("{x}{y}", "ab"), None);
}

#[test]
fn session_table_is_bounded() {
    let mut m = mapper();
    for i in 0..(MAX_OPEN_SESSIONS as u64 + 10) {
        let user = format!("u{i}");
        m.map(i, &login("JUNOSCOPE_LOGIN_SUCCESSFUL", &user, "c", 1));
    }
    assert_eq!(m.open_sessions(), MAX_OPEN_SESSIONS);
}
