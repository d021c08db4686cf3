//! What the PostgreSQL examples share: the events they append.

use netaudit_event::{Event, Facility, Severity};
use netaudit_syslog::RawBackedEvent;

/// A received Junos line as `serve` stores it (parameters in the raw bytes).
pub(crate) fn event(i: u64) -> RawBackedEvent {
    let user = ["admin", "regress", "operator", "auditor"][(i % 4) as usize];
    let t = 1_700_000_000_000_000_000 + i as i64 * 1_000_000;
    let raw = format!(
        "<165>1 2023-11-14T22:13:20.000Z router{} mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"{user}\"] User '{user}' exiting configuration mode {i}",
        i % 7
    );
    RawBackedEvent {
        event: Event {
            received_ns: t + 5,
            time_ns: Some(t),
            host: Some(format!("router{}", i % 7).into()),
            app: Some("mgd".into()),
            pid: Some("3046".into()),
            facility: Some(Facility::Local2),
            severity: Some(Severity::Notice),
            code: Some("UI_DBASE_LOGOUT_EVENT".into()),
            user: Some(user.into()),
            client_addr: None,
            device: None,
            operation: None,
            params: Vec::new(),
            message: Some(format!("User '{user}' exiting configuration mode {i}").into()),
            raw: raw.into_bytes(),
            parse_error: None,
        },
        params_in_raw: true,
    }
}
