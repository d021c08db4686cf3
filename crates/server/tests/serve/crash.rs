//! Crash safety: `netaudit serve` killed with SIGKILL while receiving over
//! TCP keeps every event it reported committed; after a restart it goes on
//! numbering after the last stored event.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn sigkill_while_receiving_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let rest = format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n");
    let mut config = config_text(dir.path(), free_tcp_port(), &rest);
    config = config.replace("synchronous = \"normal\"", "synchronous = \"full\"");
    let mut server = Netaudit::start(dir.path(), &config);

    // A sender that keeps streaming (bounded: 200,000 messages or until the
    // server dies).
    let sender = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut sent = 0u64;
        let mut batch = String::new();
        while sent < 200_000 {
            batch.clear();
            for _ in 0..100 {
                let text = format!("<13>1 2026-11-20T10:00:00Z host app - CRASH - message {sent}");
                batch.push_str(&format!("{} {}", text.len(), text));
                sent += 1;
            }
            if stream.write_all(batch.as_bytes()).is_err() {
                break;
            }
        }
        sent
    });

    // Wait until a good number is committed, read what the server
    // acknowledged, then kill it mid-stream.
    server.wait_metric(
        "netaudit_stored_events_total",
        20_000,
        Duration::from_secs(60),
    );
    let acknowledged = server.metric("netaudit_stored_events_total");
    let acknowledged_seq = server.metric("netaudit_store_last_seq");
    server.kill();
    let sent = sender.join().unwrap();
    assert!(acknowledged <= sent);

    // Everything acknowledged is there, in order, and nothing is duplicated.
    let events = stored_events(&server.db);
    assert!(
        events.len() as u64 >= acknowledged,
        "{} stored after SIGKILL, {acknowledged} were acknowledged",
        events.len()
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event.message.as_deref(),
            Some(format!("message {i}").as_str())
        );
    }

    // Restart: the store opens, numbering goes on after the last event.
    let before = events.len() as u64;
    let server = Netaudit::start_with(dir.path(), &dir.path().join("netaudit.toml"));
    assert!(server.metric("netaudit_store_last_seq") >= acknowledged_seq);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let text = "<13>1 2026-11-20T10:00:00Z host app - CRASH - after restart";
    write!(stream, "{} {}", text.len(), text).unwrap();
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.metric("netaudit_stored_events_total") < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut server = server;
    assert!(server.stop().success());
    let events = stored_events(&server.db);
    assert_eq!(events.len() as u64, before + 1);
    assert_eq!(
        events.last().and_then(|e| e.message.as_deref()),
        Some("after restart")
    );
}
