//! At-least-once forwarding across failures, with rsyslog as the receiver:
//! rsyslog stopped and restarted while events keep arriving, and netaudit
//! killed with SIGKILL while receiving and forwarding. Every event arrives,
//! in order of first arrival; duplicates are bounded and counted.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::rsyslog::*;
use crate::support::*;

fn config(dir: &std::path::Path, listen: u16, rsyslog_port: u16, synchronous: &str) -> String {
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n\
         [[output.syslog]]\nname = \"rs\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{rsyslog_port}\"\n\
         format = \"structured\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\nconnect_timeout_secs = 2\n"
    );
    config_text(dir, free_tcp_port(), &rest).replace(
        "synchronous = \"normal\"",
        &format!("synchronous = \"{synchronous}\""),
    )
}

/// Waits (bounded) until the output has delivered everything stored.
fn wait_caught_up(server: &Netaudit, at_least: u64, limit: Duration) -> u64 {
    let deadline = Instant::now() + limit;
    loop {
        let metrics = server.metrics();
        let last = metric_value(&metrics, "netaudit_store_last_seq");
        if last >= at_least
            && metric_value(&metrics, "netaudit_output_lag_events{output=\"rs\"}") == 0
        {
            return last;
        }
        if Instant::now() > deadline {
            panic!(
                "output not caught up within {limit:?}\n{metrics}\n{}",
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sequence ids in order of first arrival, and how many arrived twice or more.
fn first_arrivals(lines: &[String]) -> (Vec<u64>, u64) {
    let mut seen = HashSet::new();
    let mut order = Vec::new();
    let mut duplicates = 0;
    for line in lines {
        let id = sequence_id(line).unwrap_or_else(|| panic!("no sequenceId in {line}"));
        if seen.insert(id) {
            order.push(id);
        } else {
            duplicates += 1;
        }
    }
    (order, duplicates)
}

#[test]
fn rsyslog_outage_loses_nothing_and_keeps_order() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let mut rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    let server = Netaudit::start(
        dir.path(),
        &config(dir.path(), listen, rsyslog_port, "normal"),
    );

    // Events keep arriving in rounds; rsyslog goes away after round 3 and
    // comes back after round 7.
    const ROUNDS: u64 = 10;
    const PER_ROUND: u64 = 2_000;
    for round in 0..ROUNDS {
        let first = round * PER_ROUND + 1;
        send_octet_counted(listen, (first..first + PER_ROUND).map(junos_line));
        server.wait_metric(
            "netaudit_store_last_seq",
            (round + 1) * PER_ROUND,
            Duration::from_secs(30),
        );
        if round == 3 {
            rsyslog.stop();
        }
        if round == 7 {
            // The output has been failing to connect meanwhile.
            server.wait_metric(
                "netaudit_output_errors_total{output=\"rs\"}",
                1,
                Duration::from_secs(10),
            );
            rsyslog.restart();
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let total = ROUNDS * PER_ROUND;
    wait_caught_up(&server, total, Duration::from_secs(120));
    let lines = rsyslog.wait_lines(total as usize, Duration::from_secs(30));
    let (order, duplicates) = first_arrivals(&lines);
    assert_eq!(order.len() as u64, total, "every event arrived");
    assert!(
        order.windows(2).all(|w| w[0] + 1 == w[1]),
        "first arrivals in order"
    );
    assert_eq!(order.first(), Some(&1));
    let metrics = server.metrics();
    let resent = metric_value(&metrics, "netaudit_output_resent_total{output=\"rs\"}");
    assert!(
        duplicates <= resent,
        "{duplicates} duplicates at the receiver but only {resent} resends counted"
    );
    assert!(
        duplicates <= total / 2,
        "{duplicates} duplicates is not bounded"
    );
    assert!(metric_value(&metrics, "netaudit_output_connects_total{output=\"rs\"}") >= 2);
    eprintln!("outage: {total} events, {duplicates} duplicates, {resent} resent");
}

#[test]
fn sigkill_while_receiving_and_forwarding_then_everything_stored_is_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    let mut server = Netaudit::start(
        dir.path(),
        &config(dir.path(), listen, rsyslog_port, "full"),
    );

    // A sender that streams until the server dies (bounded: 200,000).
    let sender = std::thread::spawn(move || {
        use std::io::Write;
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", listen)) else {
            return 0u64;
        };
        let mut sent = 0u64;
        let mut buf = Vec::new();
        while sent < 200_000 {
            buf.clear();
            for _ in 0..200 {
                sent += 1;
                let line = junos_line(sent);
                write!(buf, "{} {}", line.len(), line).unwrap();
            }
            if stream.write_all(&buf).is_err() {
                break;
            }
        }
        sent
    });
    // Kill once some events are forwarded and more keep coming.
    server.wait_metric(
        "netaudit_forwarded_total{output=\"rs\"}",
        5_000,
        Duration::from_secs(60),
    );
    // The cursor moves only after CONFIRM_HOLD: wait until it has, so that
    // the kill lands with part of the stream confirmed and part not.
    server.wait_metric(
        "netaudit_output_cursor_seq{output=\"rs\"}",
        1,
        Duration::from_secs(60),
    );
    let confirmed = server.metric("netaudit_output_cursor_seq{output=\"rs\"}");
    let acknowledged = server.metric("netaudit_store_last_seq");
    server.kill();
    let sent = sender.join().unwrap();
    assert!(acknowledged <= sent);

    let server = Netaudit::start_with(dir.path(), &dir.path().join("netaudit.toml"));
    let last = wait_caught_up(&server, acknowledged, Duration::from_secs(120));
    assert!(last >= acknowledged);
    let lines = rsyslog.wait_lines(last as usize, Duration::from_secs(30));
    let (order, duplicates) = first_arrivals(&lines);
    assert_eq!(
        order,
        (1..=last).collect::<Vec<_>>(),
        "every stored event forwarded, in order"
    );
    // The restart resends at most what was unconfirmed at the kill: the
    // durable cursor was at `confirmed` or beyond.
    assert!(
        duplicates <= last - confirmed,
        "{duplicates} duplicates, but only {} events were after the cursor ({confirmed}) at the kill",
        last - confirmed
    );
    eprintln!("crash: {confirmed} confirmed, {acknowledged} acknowledged, {last} stored, {duplicates} duplicates");
    let mut server = server;
    assert!(server.stop().success());

    // The store's chain verifies after the crash.
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("verify")
        .arg("--db")
        .arg(&server.db)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "netaudit verify failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
