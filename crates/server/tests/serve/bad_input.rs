//! Bad input against the TCP listener: oversized frames, a wrong octet
//! count, binary garbage, a client that stalls, ten thousand connections.
//! Each is logged and counted, the connection is closed where it must be,
//! and everyone else keeps being served with nothing lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

fn frame(text: &str) -> String {
    format!("{} {}", text.len(), text)
}

fn message(text: &str) -> String {
    format!("<13>1 2026-11-20T10:00:00Z host app - - - {text}")
}

fn start(dir: &std::path::Path, port: u16, extra: &str) -> Netaudit {
    let rest = format!(
        "[[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nmax_message_bytes = 1024\n{extra}"
    );
    Netaudit::start(dir, &config_text(dir, free_tcp_port(), &rest))
}

/// Reads until the server closes the connection (or 5 s pass): true if closed.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn oversized_frames_are_skipped_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let mut server = start(dir.path(), port, "");
    // Octet counting: a 5,000-byte frame between two good ones.
    let mut octet = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let big = message(&"x".repeat(5000));
    write!(
        octet,
        "{}{}{}",
        frame(&message("before big")),
        frame(&big),
        frame(&message("after big"))
    )
    .unwrap();
    // LF framing: an overlong line between two good ones.
    let mut lf = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        lf,
        "{}\n{}\n{}\n",
        message("before long line"),
        big,
        message("after long line")
    )
    .unwrap();
    server.wait_metric("netaudit_stored_events_total", 4, Duration::from_secs(10));
    assert_eq!(server.metric("netaudit_framing_errors_total"), 2);
    // Both connections are still open and usable.
    write!(octet, "{}", frame(&message("octet still open"))).unwrap();
    writeln!(lf, "{}", message("lf still open")).unwrap();
    server.wait_metric("netaudit_stored_events_total", 6, Duration::from_secs(10));
    drop((octet, lf));
    assert!(server.stop().success());
    let log = server.log();
    assert!(log.contains("frame skipped"), "{log}");
    let mut texts: Vec<_> = stored_events(&server.db)
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "after big",
            "after long line",
            "before big",
            "before long line",
            "lf still open",
            "octet still open"
        ]
    );
}

#[test]
fn a_wrong_octet_count_or_garbage_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let mut server = start(dir.path(), port, "");
    let mut good = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(good, "{}", frame(&message("good 1"))).unwrap();

    // A frame, then a count that is not a number: the frame is kept, the
    // connection is closed.
    let mut wrong = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        wrong,
        "{}12x4 <13>1 - - - - - -",
        frame(&message("before the bad count"))
    )
    .unwrap();
    assert!(
        closed_by_server(&mut wrong),
        "a wrong octet count must close the connection"
    );

    // Binary garbage from the first byte: closed.
    let mut garbage = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
        .collect();
    garbage.write_all(&noise).unwrap();
    assert!(
        closed_by_server(&mut garbage),
        "garbage must close the connection"
    );

    // Garbage inside a well-framed message is stored, flagged.
    let mut flagged = TcpStream::connect(("127.0.0.1", port)).unwrap();
    flagged.write_all(b"<13\xff\xfe\x01 binary\n").unwrap();

    write!(good, "{}", frame(&message("good 2"))).unwrap();
    server.wait_metric("netaudit_stored_events_total", 4, Duration::from_secs(10));
    assert_eq!(server.metric("netaudit_framing_errors_total"), 2);
    assert_eq!(server.metric("netaudit_parse_errors_total"), 1);
    drop((good, flagged));
    assert!(server.stop().success());
    let log = server.log();
    assert!(log.contains("bad octet count"), "{log}");
    assert!(log.contains("unrecognised stream framing"), "{log}");
    let events = stored_events(&server.db);
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(events.iter().filter(|e| e.parse_error.is_some()).count(), 1);
    let mut texts: Vec<_> = events.into_iter().filter_map(|e| e.message).collect();
    texts.sort();
    assert_eq!(texts, ["before the bad count", "good 1", "good 2"]);
}

#[test]
fn a_stalled_client_is_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let mut server = start(dir.path(), port, "idle_timeout_secs = 1\n");
    let started = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // Half a frame, then nothing.
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    half.write_all(b"100 <13>1 2026").unwrap();
    assert!(closed_by_server(&mut silent));
    assert!(closed_by_server(&mut half));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    server.wait_metric("netaudit_idle_timeouts_total", 2, Duration::from_secs(5));
    // A client that keeps talking is served past the timeout.
    let mut talker = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for i in 0..3 {
        write!(talker, "{}", frame(&message(&format!("talk {i}")))).unwrap();
        std::thread::sleep(Duration::from_millis(600));
    }
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(5));
    assert!(server.stop().success());
    assert!(
        server.log().contains("idle connection closed"),
        "{}",
        server.log()
    );
}

#[test]
fn ten_thousand_connections_beyond_max_connections_are_refused_and_others_served() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let max = 64;
    let mut server = start(dir.path(), port, &format!("max_connections = {max}\n"));
    // Four clients connected first hold their slots.
    let mut clients: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    server.wait_metric("netaudit_connections_active", 4, Duration::from_secs(5));

    // 10,000 connection attempts in a bounded loop, all held open at once
    // (RLIMIT_NOFILE here is 20,000).
    let mut flood = Vec::with_capacity(10_000);
    let mut failed_to_connect = 0;
    for _ in 0..10_000 {
        match TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(3)) {
            Ok(stream) => flood.push(stream),
            Err(_) => failed_to_connect += 1,
        }
    }
    assert!(
        failed_to_connect < 1_000,
        "{failed_to_connect} connects failed"
    );
    let refused = (flood.len() - (max - 4)) as u64;
    server.wait_metric(
        "netaudit_connections_refused_total",
        refused,
        Duration::from_secs(30),
    );

    // The early clients are still served while the flood is held open.
    for (i, client) in clients.iter_mut().enumerate() {
        write!(client, "{}", frame(&message(&format!("client {i}")))).unwrap();
    }
    server.wait_metric("netaudit_stored_events_total", 4, Duration::from_secs(10));
    drop(flood);
    drop(clients);
    // And a new client gets in once the slots are free.
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.metric("netaudit_connections_active") > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut late = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(late, "{}", frame(&message("late client"))).unwrap();
    drop(late);
    server.wait_metric("netaudit_stored_events_total", 5, Duration::from_secs(10));
    assert!(server.stop().success());
    assert!(server.log().contains("max_connections reached"));
    assert_eq!(stored_events(&server.db).len(), 5);
}
