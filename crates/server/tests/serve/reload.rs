//! SIGHUP: the configuration file is re-read; unchanged listeners keep
//! their connections, new ones start, removed ones stop, an invalid file
//! changes nothing, and no event is lost on the way.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

fn frame(text: &str) -> String {
    let message = format!("<13>1 2026-11-20T10:00:00Z host app - - - {text}");
    format!("{} {}", message.len(), message)
}

fn listener(name: &str, port: u16) -> String {
    format!("[[listener]]\nname = \"{name}\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n")
}

/// Waits (bounded) until `port` accepts (`true`) or refuses (`false`) connections.
fn wait_port(port: u16, accepting: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() != accepting {
        assert!(
            Instant::now() < deadline,
            "port {port} accepting should be {accepting}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_restarts_changed_listeners_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, http) = (free_tcp_port(), free_tcp_port(), free_tcp_port());
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(dir.path(), http, &listener("a", a)),
    );
    let mut kept = TcpStream::connect(("127.0.0.1", a)).unwrap();
    write!(kept, "{}", frame("a before reload")).unwrap();
    server.wait_metric("netaudit_stored_events_total", 1, Duration::from_secs(10));

    // Add listener b; a is unchanged and keeps its connection.
    let two = config_text(
        dir.path(),
        http,
        &format!("{}\n{}", listener("a", a), listener("b", b)),
    );
    std::fs::write(&server.config_path, two).unwrap();
    server.signal(libc::SIGHUP);
    wait_port(b, true);
    let mut added = TcpStream::connect(("127.0.0.1", b)).unwrap();
    write!(added, "{}", frame("b after reload")).unwrap();
    write!(kept, "{}", frame("a after reload, same connection")).unwrap();
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(10));

    // An invalid file: logged, nothing changes.
    std::fs::write(
        &server.config_path,
        "[[listener]]\nprotocol = \"tcp\"\naddres = \"x\"\n",
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log().contains("configuration rejected") {
        assert!(
            Instant::now() < deadline,
            "no rejection logged:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    write!(kept, "{}", frame("a after a bad reload")).unwrap();
    write!(added, "{}", frame("b after a bad reload")).unwrap();
    server.wait_metric("netaudit_stored_events_total", 5, Duration::from_secs(10));

    // Remove a: its port closes, what its connection sent before is kept.
    std::fs::write(
        &server.config_path,
        config_text(dir.path(), http, &listener("b", b)),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    wait_port(a, false);
    write!(added, "{}", frame("b after a was removed")).unwrap();
    server.wait_metric("netaudit_stored_events_total", 6, Duration::from_secs(10));
    drop((kept, added));
    assert!(server.stop().success());
    let log = server.log();
    assert!(log.contains("configuration reloaded"), "{log}");
    let mut texts: Vec<_> = stored_events(&server.db)
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "a after a bad reload",
            "a after reload, same connection",
            "a before reload",
            "b after a bad reload",
            "b after a was removed",
            "b after reload",
        ]
    );
}
