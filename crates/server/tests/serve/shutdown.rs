//! SIGTERM keeps what senders wrote before it: the listeners stop accepting,
//! read every open connection to its end, commit, then exit.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{config_text, free_tcp_port, stored_events, Netaudit};

const CONNECTIONS: usize = 4;
const PER_CONNECTION: usize = 25_000;

fn listener(tcp: u16, extra: &str) -> String {
    format!(
        "[[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n{extra}"
    )
}

/// Writes `PER_CONNECTION` numbered messages on each of `CONNECTIONS`
/// connections at once and closes them; returns when every sender has
/// closed its socket (the data may still sit in the kernel's buffers).
fn send_and_close(tcp: u16) {
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(("127.0.0.1", tcp)).expect("connect");
                let mut out = std::io::BufWriter::with_capacity(64 * 1024, stream);
                for i in 0..PER_CONNECTION {
                    writeln!(
                        out,
                        "<13>1 2026-11-20T10:00:00Z h app - - - conn {c} message {i} padding padding padding"
                    )
                    .expect("write");
                }
                let stream = out.into_inner().expect("flush");
                stream
                    .shutdown(std::net::Shutdown::Write)
                    .expect("shutdown");
            })
        })
        .collect();
    for sender in senders {
        sender.join().expect("sender thread");
    }
}

/// Every (connection, message) pair exactly once.
fn assert_all_stored(server: &Netaudit) {
    let events = stored_events(&server.db);
    let mut seen = vec![vec![false; PER_CONNECTION]; CONNECTIONS];
    for event in &events {
        let text = String::from_utf8_lossy(&event.raw);
        let Some(rest) = text.split(" conn ").nth(1) else {
            continue;
        };
        let mut words = rest.split(' ');
        let c: usize = words.next().and_then(|w| w.parse().ok()).expect("conn");
        let i: usize = words.nth(1).and_then(|w| w.parse().ok()).expect("index");
        assert!(!seen[c][i], "conn {c} message {i} stored twice");
        seen[c][i] = true;
    }
    let missing: Vec<(usize, usize)> = seen
        .iter()
        .enumerate()
        .map(|(c, s)| (c, s.iter().filter(|x| !**x).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(
        missing.is_empty(),
        "missing per connection (conn, count): {missing:?} of {PER_CONNECTION} each\n{}",
        server.log()
    );
}

#[test]
fn sigterm_right_after_senders_closed_stores_everything_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_tcp_port();
    // A slow pipeline (small chunks, one chunk in flight) so that much is
    // still in the kernel's buffers when the signal comes.
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &listener(tcp, "shutdown_drain_secs = 120\n"),
    )
    .replace(
        "[pipeline]\n",
        "[pipeline]\nchannel_capacity = 1\nchunk_max_events = 64\nbatch_max_events = 500\n",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    send_and_close(tcp);
    let status = server.stop();
    assert!(status.success(), "{status}\n{}", server.log());
    assert_all_stored(&server);
    assert!(
        server.log().contains("open connections read to their end"),
        "{}",
        server.log()
    );
}

#[test]
fn a_connection_that_stays_open_is_closed_once_quiet_and_its_messages_kept() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_tcp_port();
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &listener(
            tcp,
            "shutdown_quiet_ms = 300\nidle_timeout_secs = 0\nshutdown_drain_secs = 300\n",
        ),
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    for i in 0..100 {
        writeln!(stream, "<13>1 2026-11-20T10:00:00Z h app - - - open {i}").unwrap();
    }
    stream.flush().unwrap();
    server.wait_metric("netaudit_received_total", 100, Duration::from_secs(20));
    // Within stop()'s 30 s: the open, silent connection is closed after its
    // quiet time, not at the drain bound of 300 s.
    let status = server.stop();
    assert!(status.success(), "{status}\n{}", server.log());
    assert!(!server.log().contains("still sending"), "{}", server.log());
    assert_eq!(stored_events(&server.db).len(), 100, "{}", server.log());
    drop(stream);
}

#[test]
fn a_sender_that_never_stops_is_cut_at_the_drain_bound() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_tcp_port();
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &listener(tcp, "shutdown_drain_secs = 1\nshutdown_quiet_ms = 5000\n"),
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
            // Bounded: at most 10 minutes of one message every 100 ms.
            for i in 0..6000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed)
                    || writeln!(stream, "<13>1 2026-11-20T10:00:00Z h app - - - steady {i}")
                        .is_err()
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    server.wait_metric("netaudit_received_total", 3, Duration::from_secs(20));
    let status = server.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();
    assert!(status.success(), "{status}\n{}", server.log());
    assert!(
        server
            .log()
            .contains("still sending after shutdown_drain_secs"),
        "{}",
        server.log()
    );
    assert!(stored_events(&server.db).len() >= 3);
}

#[test]
fn bad_shutdown_settings_are_refused_by_key() {
    for (extra, message) in [
        (
            "shutdown_quiet_ms = 0\n",
            "shutdown_quiet_ms: must be between 1 and 10000",
        ),
        (
            "shutdown_drain_secs = 301\n",
            "shutdown_drain_secs: must be at most 300",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netaudit.toml");
        std::fs::write(
            &path,
            config_text(
                dir.path(),
                free_tcp_port(),
                &listener(free_tcp_port(), extra),
            ),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{extra}: {text}");
        assert!(text.contains(message), "{extra}: {text}");
    }
}
