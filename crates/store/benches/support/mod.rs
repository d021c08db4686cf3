//! Realistic synthetic Junos events for the benchmarks (~260-byte raw lines).
#![allow(dead_code)]

use netaudit_event::{Event, Facility, Param, Severity};

pub(crate) const USERS: usize = 50;
pub(crate) const CODES: [&str; 12] = [
    "UI_CMDLINE_READ_LINE",
    "UI_COMMIT",
    "UI_COMMIT_COMPLETED",
    "UI_DBASE_LOGIN_EVENT",
    "UI_DBASE_LOGOUT_EVENT",
    "UI_LOGIN_EVENT",
    "UI_LOGOUT_EVENT",
    "SSHD_LOGIN_FAILED",
    "JUNOSCOPE_LOGIN_SUCCESS",
    "JUNOSCOPE_LOGIN_FAILURE",
    "JUNOSCOPE_USER_ADDED",
    "JUNOSCOPE_DEVICE_ARCHIVE",
];

/// A cheap deterministic mixer (splitmix64), so runs are reproducible.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Event `i`, happening at `time_ns`.
pub(crate) fn event(i: u64, time_ns: i64) -> Event {
    let r = mix(i);
    let user = format!("user{:02}", r % USERS as u64);
    let code = CODES[((r >> 8) % CODES.len() as u64) as usize];
    let host = format!("mx{:03}-core.example.net", (r >> 16) % 200);
    // ~2% error or worse, the rest notice/info/warning.
    let severity = match (r >> 24) % 100 {
        0 => Severity::Critical,
        1 => Severity::Error,
        2..=9 => Severity::Warning,
        10..=39 => Severity::Notice,
        _ => Severity::Info,
    };
    let client = format!(
        "10.{}.{}.{}",
        (r >> 32) % 256,
        (r >> 40) % 256,
        (r >> 48) % 256
    );
    let message = format!(
        "User '{user}' entered command 'show configuration interfaces ge-0/0/{}' from {client} session {}",
        (r >> 52) % 48,
        i
    );
    let raw = format!(
        "<{}>1 2026-11-23T10:00:00.000Z {host} mgd {} {code} [junos@2636.1.1.1.2.18 username=\"{user}\" command=\"show\"] {message}",
        18 * 8 + severity.code(),
        3000 + (r % 5000)
    );
    Event {
        received_ns: time_ns + 1_000_000,
        time_ns: Some(time_ns),
        host: Some(host.into()),
        app: Some("mgd".into()),
        pid: Some(format!("{}", 3000 + (r % 5000)).into()),
        facility: Some(Facility::Local2),
        severity: Some(severity),
        code: Some(code.into()),
        user: Some(user.as_str().into()),
        client_addr: Some(client.into()),
        device: None,
        operation: None,
        params: vec![
            Param {
                sd_id: "junos@2636.1.1.1.2.18".into(),
                name: "username".into(),
                value: user.into(),
            },
            Param {
                sd_id: "junos@2636.1.1.1.2.18".into(),
                name: "command".into(),
                value: "show".into(),
            },
        ],
        message: Some(message.into()),
        raw: raw.into_bytes(),
        parse_error: None,
    }
}
