//! `[integrity] verify_every`: the scheduled chain verification of a
//! running server finds an edit made to a sealed partition, stores the
//! alert (which the outputs forward and a policy's action takes) and counts it
//! in /metrics.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(err) if Instant::now() > deadline => panic!("connect to 127.0.0.1:{port}: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits (bounded) until an event with `code` is stored; returns its message.
fn wait_for_event(server: &Netaudit, code: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(e) = stored_events(&server.db)
            .into_iter()
            .find(|e| e.code.as_deref() == Some(code))
        {
            return e.message.map(|m| m.to_string()).unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "no {code} event within {limit:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_scheduled_check_finds_an_edited_sealed_partition_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let audit = dir.path().join("audit");
    // Epochs of 50 events, partitions of 100: the 300 events below fill
    // three sealed partitions. A walk every second, the whole store every
    // two: an edit to a partition an earlier walk verified is the full
    // walk's to find.
    // The policies' actions take the alert too: a program run on it.
    let paged = dir.path().join("paged.json");
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [integrity]\nverify_every = \"1s\"\nfull_verify_every = \"2s\"\n\n\
         [[output.file]]\nname = \"audit\"\ndir = \"{}\"\n\n\
         [[policy]]\nname = \"chain-broken\"\n\
         [policy.match]\ncodes = [\"NETAUDIT_VERIFY_FAILED\"]\n\
         [[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/sh\"\n\
         args = [\"-c\", \"cat > {}\"]\n",
        audit.display(),
        paged.display()
    );
    let config = config_text(dir.path(), free_tcp_port(), &rest).replace(
        "synchronous = \"normal\"",
        "synchronous = \"normal\"\nepoch_events = 50\npartition_events = 100",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = connect(port);
    for i in 0..300 {
        let text = format!("<13>1 2026-12-06T10:00:00Z host app - CHECK - message {i}");
        write!(stream, "{} {}", text.len(), text).unwrap();
    }
    drop(stream);
    server.wait_metric("netaudit_stored_events_total", 300, Duration::from_secs(60));
    // A walk has passed, and said so in the store.
    server.wait_metric(
        "netaudit_verify_last_success_timestamp_seconds",
        1,
        Duration::from_secs(60),
    );
    let ok = wait_for_event(&server, "NETAUDIT_VERIFY_OK", Duration::from_secs(30));
    assert!(ok.contains("events verified, sealed through"), "{ok}");
    assert_eq!(server.metric("netaudit_verify_failures_total"), 0);

    // Event 42 sits in the first partition, sealed and verified by now.
    let partition = dir
        .path()
        .join("netaudit.parts")
        .join(format!("{:020}.db", 1));
    let conn = rusqlite::Connection::open(&partition).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = conn
        .execute(
            "UPDATE events SET message = 'nothing happened' WHERE seq = 42",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);

    server.wait_metric("netaudit_verify_failures_total", 1, Duration::from_secs(60));
    let alert = wait_for_event(&server, "NETAUDIT_VERIFY_FAILED", Duration::from_secs(30));
    assert!(alert.contains("broken at sequence 42 (changed)"), "{alert}");
    assert!(
        server.log().contains("the chain is broken"),
        "{}",
        server.log()
    );
    // The alert goes out through the outputs like any event.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let written = std::fs::read_to_string(audit.join("audit")).unwrap_or_default();
        if written.contains("NETAUDIT_VERIFY_FAILED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the alert did not reach the audit file:\n{written}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ... and through the policies' actions: the program got the derived
    // event naming the alert.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let paged_text = std::fs::read_to_string(&paged).unwrap_or_default();
        if paged_text.contains("NETAUDIT_VERIFY_FAILED") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the policy's action did not run on the alert:\n{paged_text}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A break that stays is alerted once, however many walks find it.
    let failures = server.metric("netaudit_verify_failures_total");
    server.wait_metric(
        "netaudit_verify_failures_total",
        failures + 1,
        Duration::from_secs(60),
    );
    let alerts = stored_events(&server.db)
        .into_iter()
        .filter(|e| e.code.as_deref() == Some("NETAUDIT_VERIFY_FAILED"))
        .count();
    assert_eq!(alerts, 1);
    assert!(server.stop().success(), "{}", server.log());
}

#[test]
fn a_schedule_without_a_verify_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let missing = dir.path().join("no-such.verify-key");
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n\
         [integrity]\nverify_every = \"1h\"\nverify_key = \"{}\"\n",
        missing.display()
    );
    let config_path = dir.path().join("netaudit.toml");
    std::fs::write(
        &config_path,
        config_text(dir.path(), free_tcp_port(), &rest),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["serve", "--config", config_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("integrity.verify_key") && err.contains("no-such.verify-key"),
        "{err}"
    );
}
