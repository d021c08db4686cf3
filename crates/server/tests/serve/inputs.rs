//! `netaudit serve` receiving from real senders: util-linux `logger` and
//! syslog-ng's `loggen`, over TCP and UDP, RFC 5424 and BSD; graceful stop;
//! the `check-config` command and the example configuration.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::support::*;
use netaudit_event::{Facility, Severity};

fn listeners(tcp: u16, udp: u16) -> String {
    format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\nname = \"tcp\"\n\n\
         [[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\nname = \"udp\"\n"
    )
}

#[test]
fn logger_messages_over_tcp_and_udp_are_stored_with_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (tcp, udp) = (free_tcp_port(), free_port());
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(dir.path(), free_tcp_port(), &listeners(tcp, udp)),
    );
    let logger = logger();
    let send = |transport: &str, port: u16, extra: &[&str], message: &str| {
        let mut command = Command::new(&logger);
        command
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                transport,
            ])
            .args(extra)
            .arg(message);
        run_ok(&mut command);
    };
    send(
        "--tcp",
        tcp,
        &[
            "--rfc5424",
            "--octet-count",
            "-p",
            "local2.warning",
            "-t",
            "junoscope",
            "--msgid",
            "JUNOSCOPE_LOGIN_FAILURE",
            "--sd-id",
            "junoscope@2636",
            "--sd-param",
            "username=\"alice\"",
        ],
        "login failed for alice (tcp 5424 octet)",
    );
    send(
        "--tcp",
        tcp,
        &["--rfc5424", "-p", "auth.info", "-t", "sshd"],
        "tcp 5424 lf",
    );
    send(
        "--tcp",
        tcp,
        &["--rfc3164", "-p", "daemon.err", "-t", "mgd"],
        "tcp bsd lf",
    );
    send(
        "--udp",
        udp,
        &[
            "--rfc5424",
            "-p",
            "local7.notice",
            "-t",
            "rpd",
            "--msgid",
            "RPD_X",
        ],
        "udp 5424",
    );
    send(
        "--udp",
        udp,
        &["--rfc3164", "-p", "user.debug", "-t", "cli"],
        "udp bsd",
    );
    server.wait_metric("netaudit_stored_events_total", 5, Duration::from_secs(10));
    assert_eq!(
        server.metric("netaudit_parse_errors_total"),
        0,
        "{}",
        server.log()
    );
    assert!(server.stop().success(), "{}", server.log());

    let events = stored_events(&server.db);
    assert_eq!(events.len(), 5, "{events:#?}");
    let find = |text: &str| {
        events
            .iter()
            .find(|e| e.message.as_deref() == Some(text))
            .unwrap_or_else(|| panic!("no stored event with message {text:?}: {events:#?}"))
    };
    let login = find("login failed for alice (tcp 5424 octet)");
    assert_eq!(login.facility, Some(Facility::Local2));
    assert_eq!(login.severity, Some(Severity::Warning));
    assert_eq!(login.app.as_deref(), Some("junoscope"));
    assert_eq!(login.code.as_deref(), Some("JUNOSCOPE_LOGIN_FAILURE"));
    assert_eq!(login.user.as_deref(), Some("alice"));
    assert_eq!(login.param("username"), Some("alice"));
    assert!(login.time_ns.is_some());
    assert!(login.parse_error.is_none());

    let sshd = find("tcp 5424 lf");
    assert_eq!(
        (sshd.facility, sshd.severity),
        (Some(Facility::Auth), Some(Severity::Info))
    );
    assert_eq!(sshd.app.as_deref(), Some("sshd"));

    let mgd = find("tcp bsd lf");
    assert_eq!(
        (mgd.facility, mgd.severity),
        (Some(Facility::Daemon), Some(Severity::Error))
    );
    assert_eq!(mgd.app.as_deref(), Some("mgd"));
    assert!(mgd.host.is_some());

    let rpd = find("udp 5424");
    assert_eq!(
        (rpd.facility, rpd.severity),
        (Some(Facility::Local7), Some(Severity::Notice))
    );
    assert_eq!(rpd.code.as_deref(), Some("RPD_X"));

    let cli = find("udp bsd");
    assert_eq!(
        (cli.facility, cli.severity),
        (Some(Facility::User), Some(Severity::Debug))
    );
    for event in &events {
        assert!(!event.raw.is_empty() && event.received_ns > 0, "{event:?}");
    }
}

#[test]
fn loggen_streams_over_tcp_and_udp_are_stored_completely() {
    let dir = tempfile::tempdir().unwrap();
    let (tcp, udp) = (free_tcp_port(), free_port());
    // Small partitions: several are sealed and indexed during the test.
    let config = config_text(dir.path(), free_tcp_port(), &listeners(tcp, udp)).replacen(
        "[store]\n",
        "[store]\npartition_events = 2000\n",
        1,
    );
    let mut server = Netaudit::start(dir.path(), &config);
    // Octet-counted RFC 5424 over TCP, 2 connections of 5,000 each.
    run_ok(loggen().args([
        "-i",
        "-S",
        "-P",
        "-s",
        "300",
        "-n",
        "5000",
        "-r",
        "100000000",
        "-I",
        "60",
        "--active-connections=2",
        "127.0.0.1",
        &tcp.to_string(),
    ]));
    // BSD over UDP at a gentle rate: UDP may lose under load, not here.
    run_ok(loggen().args([
        "-i",
        "-D",
        "-s",
        "200",
        "-n",
        "2000",
        "-r",
        "5000",
        "-I",
        "60",
        "127.0.0.1",
        &udp.to_string(),
    ]));
    server.wait_metric(
        "netaudit_stored_events_total",
        12_000,
        Duration::from_secs(30),
    );
    assert_eq!(
        server.metric("netaudit_parse_errors_total"),
        0,
        "{}",
        server.log()
    );
    assert_eq!(
        server.metric("netaudit_received_total{listener=\"tcp\""),
        10_000
    );
    assert_eq!(
        server.metric("netaudit_received_total{listener=\"udp\""),
        2_000
    );
    assert_eq!(server.metric("netaudit_dropped_total"), 0);
    let ingested = std::time::Instant::now();
    let count = |state: &str| -> i64 {
        let catalog = rusqlite::Connection::open(&server.db).unwrap();
        catalog
            .query_row(
                "SELECT count(*) FROM partitions WHERE state = ?1",
                [state],
                |r| r.get(0),
            )
            .unwrap()
    };
    // The idle-priority indexer catches up once the senders are done. The
    // background round (every 500 ms) may still roll a full open partition
    // after the last event, so the state counts only once a few rounds
    // have passed since then.
    let deadline = ingested + Duration::from_secs(30);
    while (ingested.elapsed() < Duration::from_millis(1_500)
        || server.metric("netaudit_store_unindexed_partitions") > 0
        || count("sealed") > 0)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server
        .metrics()
        .contains("\nnetaudit_store_unindexed_partitions 0\n"));
    assert_eq!(count("sealed"), 0);
    // (A batch is never split, so a partition may hold more than 2,000.)
    assert!(count("indexed") >= 2, "{} indexed", count("indexed"));
    assert!(server.stop().success(), "{}", server.log());
    let events = stored_events(&server.db);
    assert_eq!(events.len(), 12_000);
    assert!(events
        .iter()
        .all(|e| e.parse_error.is_none() && e.host.is_some() && e.message.is_some()));
}

#[test]
fn unparsable_messages_are_stored_flagged_or_dropped_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (store_port, drop_port) = (free_tcp_port(), free_tcp_port());
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{store_port}\"\nname = \"keep\"\n\n\
         [[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{drop_port}\"\nname = \"drop\"\non_parse_error = \"drop\"\n"
    );
    let mut server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    for port in [store_port, drop_port] {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(b"<999>not a priority\n<13>1 2026-11-20T10:00:00Z h a - - - fine\n")
            .unwrap();
    }
    server.wait_metric("netaudit_parse_errors_total", 2, Duration::from_secs(10));
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(10));
    assert_eq!(server.metric("netaudit_dropped_total{listener=\"drop\""), 1);
    assert!(server.stop().success());
    let events = stored_events(&server.db);
    assert_eq!(events.len(), 3, "{events:#?}");
    let flagged: Vec<_> = events.iter().filter(|e| e.parse_error.is_some()).collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0].raw, b"<999>not a priority");
}

#[test]
fn sigterm_commits_everything_received_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_tcp_port();
    // A long batch delay: only the shutdown can commit the open batch.
    let rest = format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n");
    let config = config_text(dir.path(), free_tcp_port(), &rest)
        .replace("batch_max_delay_ms = 20", "batch_max_delay_ms = 600000");
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    for i in 0..100 {
        writeln!(stream, "<13>1 2026-11-20T10:00:00Z h app - - - message {i}").unwrap();
    }
    stream.flush().unwrap();
    server.wait_metric("netaudit_received_total", 100, Duration::from_secs(10));
    assert_eq!(
        server.metric("netaudit_stored_events_total"),
        0,
        "the batch should still be open"
    );
    let status = server.stop();
    assert!(status.success(), "{status}\n{}", server.log());
    assert_eq!(stored_events(&server.db).len(), 100);
    assert!(server.log().contains("SIGTERM"), "{}", server.log());
}

#[test]
fn check_config_accepts_the_example_and_names_the_bad_key() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/netaudit.example.toml"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["check-config", example])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("configuration is valid"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pipeline]\nbatch_max_events = 100\n\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nidle_timeout = 5\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(
        stderr.contains("listener[0]") && stderr.contains("idle_timeout"),
        "{stderr}"
    );
}

#[test]
fn serve_without_a_file_runs_on_the_embedded_defaults() {
    // The defaults: store under ./data, TCP and UDP on 127.0.0.1:5514, HTTP on
    // 127.0.0.1:8514. Run in a private working directory.
    let dir = tempfile::tempdir().unwrap();
    // The fixed ports must be free, or another server would answer for ours.
    for port in [8514, 5514] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "127.0.0.1:{port} is taken: this test needs the default ports"
        );
    }
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut child = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("serve")
            .current_dir(dir.path())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let http: std::net::SocketAddr = "127.0.0.1:8514".parse().unwrap();
    let mut healthy = false;
    for _ in 0..600 {
        if http_get(http, "/health").is_some_and(|(status, _)| status == 200) {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    if !healthy {
        panic!(
            "no /health on 127.0.0.1:8514 (are the default ports taken?):\n{}",
            log()
        );
    }
    let mut stream = TcpStream::connect("127.0.0.1:5514").unwrap();
    stream
        .write_all(b"<13>1 2026-11-20T10:00:00Z h app - - - default tcp\n")
        .unwrap();
    drop(stream);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(
        b"<13>1 2026-11-20T10:00:00Z h app - - - default udp",
        "127.0.0.1:5514",
    )
    .unwrap();
    let mut stored = 0;
    for _ in 0..600 {
        stored = http_get(http, "/metrics").map_or(0, |(_, body)| {
            metric_value(&body, "netaudit_stored_events_total")
        });
        if stored >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.0.id() as i32, libc::SIGTERM)
    };
    let status = child.0.wait().unwrap();
    assert_eq!(stored, 2, "{}", log());
    assert!(status.success(), "{}", log());
    assert!(log().contains("embedded defaults"), "{}", log());
    assert_eq!(stored_events(&dir.path().join("data/netaudit.db")).len(), 2);
}

#[test]
fn udp_datagrams_that_find_the_pipeline_full_are_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let udp = free_port();
    // A pipeline that holds almost nothing, and an fsync per tiny batch.
    let rest = format!(
        "[[listener]]\nname = \"udp\"\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n"
    );
    let config = config_text(dir.path(), free_tcp_port(), &rest)
        .replace("synchronous = \"normal\"", "synchronous = \"full\"")
        .replace(
            "batch_max_delay_ms = 20",
            "batch_max_delay_ms = 20\nbatch_max_events = 1\nchannel_capacity = 1\nchunk_max_events = 1",
        );
    let mut server = Netaudit::start(dir.path(), &config);
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..20_000 {
        let datagram = format!("<13>1 2026-11-20T10:00:00Z host app - FLOOD - datagram {i}");
        socket
            .send_to(datagram.as_bytes(), ("127.0.0.1", udp))
            .unwrap();
    }
    // Everything the listener took is either stored or counted as dropped,
    // and the drops are stored as an internal event (reported every 5 s).
    server.wait_metric("netaudit_internal_events_total", 1, Duration::from_secs(15));
    assert!(server.stop().success(), "{}", server.log());
    let received = server_metric_after_stop(&server, "received");
    let dropped = server_metric_after_stop(&server, "dropped");
    assert!(
        dropped > 0,
        "nothing was dropped; the test did not overload the pipeline"
    );
    let events = stored_events(&server.db);
    let flood = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("FLOOD"))
        .count() as u64;
    assert_eq!(
        flood + dropped,
        received,
        "stored {flood} + dropped {dropped} != received {received}"
    );
    let reports: Vec<_> = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("NETAUDIT_UDP_DROPPED"))
        .collect();
    assert!(!reports.is_empty());
    let reported: u64 = reports
        .iter()
        .filter_map(|e| e.message.as_deref())
        .filter_map(|m| m.split(": ").nth(1)?.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(reported, dropped, "{reports:#?}");
    assert!(
        server.log().contains("UDP datagrams dropped"),
        "{}",
        server.log()
    );
}

/// The counters are gone with the process; its log's last report has them.
fn server_metric_after_stop(server: &Netaudit, which: &str) -> u64 {
    let log = server.log();
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("stopped: the open batch is committed"))
        .unwrap_or_else(|| panic!("no final summary in the log:\n{log}"));
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(&format!("{which}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {which}= in {line}"))
}
