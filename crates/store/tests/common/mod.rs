//! Helpers shared by the store's behaviour tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use netaudit_event::{Event, Facility, Param, Severity};
use netaudit_store::{Store, StoreConfig};

pub(crate) fn event(i: u64) -> Event {
    let users = ["admin", "regress", "operator", "auditor"];
    let codes = [
        "JUNOSCOPE_LOGIN_SUCCESS",
        "JUNOSCOPE_LOGIN_FAILURE",
        "UI_COMMIT",
        "UI_DBASE_LOGOUT_EVENT",
    ];
    let n = usize::try_from(i).unwrap_or(0);
    let user = users[n % users.len()];
    let code = codes[(n / 3) % codes.len()];
    let t = 1_700_000_000_000_000_000 + i64::try_from(i).unwrap_or(0) * 1_000_000_000;
    let raw = format!(
        "<165>1 2023-11-14T22:13:20.000Z router{} mgd 3046 {code} [junos@2636.1.1.1.2.18 username=\"{user}\"] User '{user}' event number {i}",
        n % 7
    );
    Event {
        received_ns: t + 5,
        time_ns: Some(t),
        host: Some(format!("router{}", n % 7).into()),
        app: Some("mgd".into()),
        pid: Some("3046".into()),
        facility: Some(Facility::Local2),
        severity: Some(Severity::from_code(u8::try_from(n % 8).unwrap_or(6)).unwrap()),
        code: Some(code.into()),
        user: Some(user.into()),
        client_addr: Some("10.0.0.1".into()),
        device: if n % 5 == 0 {
            Some(format!("dev{}", n % 11).into())
        } else {
            None
        },
        operation: None,
        params: vec![Param {
            sd_id: "junos@2636.1.1.1.2.18".into(),
            name: "username".into(),
            value: user.into(),
        }],
        message: Some(format!("User '{user}' event number {i}").into()),
        raw: raw.into_bytes(),
        parse_error: None,
    }
}

pub(crate) fn events(from: u64, count: u64) -> Vec<Event> {
    (from..from + count).map(event).collect()
}

pub(crate) fn config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir.join("netaudit.db"));
    c.epoch_events = 10;
    c.partition_events = 1_000;
    c.background = false;
    c
}

pub(crate) fn open(dir: &Path) -> Store {
    Store::open(config(dir)).unwrap()
}

/// The partition file holding `seq`.
pub(crate) fn partition_of(store_dir: &Path, seq: u64) -> PathBuf {
    let parts = netaudit_store::partitions_dir(&store_dir.join("netaudit.db"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    files.sort();
    let mut best = files[0].clone();
    for f in files {
        let first: u64 = f.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        if first <= seq {
            best = f;
        }
    }
    best
}

pub(crate) fn sql(file: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(statement).unwrap();
}
