//! Syslog outputs against a real rsyslog: structured-data over TCP parsed
//! by rsyslog exactly as sent, TLS with a verified server certificate, and
//! refusal of a server whose certificate does not verify.

use std::time::{Duration, Instant};

use crate::support::rsyslog::*;
use crate::support::*;
use netaudit_event::{Facility, Param};

/// Waits (bounded) until output `name` has no lag and `stored` events are committed.
fn wait_delivered(server: &Netaudit, name: &str, stored: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    let lag = format!("netaudit_output_lag_events{{output=\"{name}\"}}");
    loop {
        let metrics = server.metrics();
        if metric_value(&metrics, "netaudit_store_last_seq") >= stored
            && metric_value(&metrics, &lag) == 0
        {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "output {name} not caught up within {limit:?}\n{metrics}\nlog:\n{}",
                server.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn output_config(name: &str, transport: &str, port: u16, extra: &str) -> String {
    format!(
        "[[output.syslog]]\nname = \"{name}\"\ntransport = \"{transport}\"\naddress = \"127.0.0.1:{port}\"\nformat = \"structured\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 1000\nconnect_timeout_secs = 2\nhandshake_timeout_secs = 2\n{extra}\n"
    )
}

#[test]
fn rsyslog_parses_our_structured_data_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n{}",
        output_config("rs", "tcp", rsyslog_port, "")
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));

    const N: u64 = 300;
    let mut lines: Vec<String> = (1..=N).map(junos_line).collect();
    // Values that need escaping in structured data, and an event without text.
    lines[10] = "<165>1 2026-11-20T10:00:00.000Z r1 mgd 3046 UI_COMMIT [junos@2636.1.1.1.2.18 username=\"a\\\"b\" comment=\"x]y\\\\z\"] commit by a\"b".into();
    lines[11] = "<165>1 2026-11-20T10:00:00.000Z r1 mgd 3046 UI_LOGOUT -".into();
    send_octet_counted(listen, lines);
    wait_delivered(&server, "rs", N, Duration::from_secs(60));
    let raw = rsyslog.wait_lines(N as usize, Duration::from_secs(20));
    let parsed = rsyslog.parsed_lines();
    assert_eq!(raw.len(), N as usize, "{}", rsyslog.log());
    assert_eq!(parsed.len(), N as usize);

    let stored = stored_events(&server.db);
    assert_eq!(stored.len(), N as usize);
    for (i, mut event) in stored.into_iter().enumerate() {
        let seq = i as u64 + 1;
        // What the output must have sent: facility local2 (the default),
        // plus our meta element.
        let (code, text) = (event.code.clone().unwrap(), event.message.clone());
        event.facility = Some(Facility::Local2);
        event.params.push(Param {
            sd_id: "meta".into(),
            name: "sequenceId".into(),
            value: seq.to_string().into(),
        });
        let mut expected = Vec::new();
        netaudit_syslog::write_structured(&event, &Default::default(), &mut expected);
        let expected = String::from_utf8(expected).unwrap();
        assert_eq!(raw[i], expected, "raw message {seq}");
        assert_eq!(sequence_id(&raw[i]), Some(seq));
        // rsyslog's own parse: MSGID | STRUCTURED-DATA | MSG.
        let (msgid, rest) = parsed[i].split_once('|').unwrap();
        let (sd, msg) = rest.rsplit_once('|').unwrap();
        assert_eq!(msgid, code, "msgid of {seq}");
        let header_end = expected.find(&format!(" {code} ")).unwrap() + code.len() + 2;
        let expected_sd = match &text {
            Some(t) => expected[header_end..]
                .strip_suffix(&format!(" {t}"))
                .unwrap(),
            None => &expected[header_end..],
        };
        assert_eq!(sd, expected_sd, "structured data of {seq}");
        assert!(
            sd.ends_with(&format!("[meta sequenceId=\"{seq}\"]")),
            "{sd}"
        );
        assert_eq!(msg, text.as_deref().unwrap_or(""), "msg of {seq}");
    }
    let metrics = server.metrics();
    assert_eq!(
        metric_value(&metrics, "netaudit_forwarded_total{output=\"rs\"}"),
        N
    );
    assert_eq!(
        metric_value(&metrics, "netaudit_output_cursor_seq{output=\"rs\"}"),
        N
    );
}

#[test]
fn tls_output_delivers_to_a_verified_server_and_refuses_an_unverified_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&dir.path().join("pki"));
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(
        &dir.path().join("rsyslog"),
        rsyslog_port,
        RsyslogMode::Tls {
            ca: pki.ca.clone(),
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
        },
    );
    let listen = free_tcp_port();
    let good = output_config(
        "good",
        "tls",
        rsyslog_port,
        &format!(
            "[output.syslog.tls]\nca = \"{}\"\nserver_name = \"localhost\"\n",
            pki.ca.display()
        ),
    );
    // Same server, but trusting a CA that did not sign its certificate.
    let bad = output_config(
        "untrusted",
        "tls",
        rsyslog_port,
        &format!("[output.syslog.tls]\nca = \"{}\"\n", pki.other_ca.display()),
    );
    // And one whose name does not match the certificate.
    let wrong_name = output_config(
        "wrongname",
        "tls",
        rsyslog_port,
        &format!(
            "[output.syslog.tls]\nca = \"{}\"\nserver_name = \"siem.example.net\"\n",
            pki.ca.display()
        ),
    );
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n{good}\n{bad}\n{wrong_name}"
    );
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    const N: u64 = 100;
    send_octet_counted(listen, (1..=N).map(junos_line));
    wait_delivered(&server, "good", N, Duration::from_secs(60));
    let raw = rsyslog.wait_lines(N as usize, Duration::from_secs(20));
    let ids: Vec<u64> = raw.iter().filter_map(|l| sequence_id(l)).collect();
    assert_eq!(ids, (1..=N).collect::<Vec<_>>());

    // The refusing outputs try (and fail) for a while: nothing sent, ever.
    server.wait_metric(
        "netaudit_output_errors_total{output=\"untrusted\"}",
        2,
        Duration::from_secs(20),
    );
    server.wait_metric(
        "netaudit_output_errors_total{output=\"wrongname\"}",
        2,
        Duration::from_secs(20),
    );
    let metrics = server.metrics();
    for name in ["untrusted", "wrongname"] {
        assert_eq!(
            metric_value(
                &metrics,
                &format!("netaudit_forwarded_total{{output=\"{name}\"}}")
            ),
            0
        );
        assert_eq!(
            metric_value(
                &metrics,
                &format!("netaudit_output_connected{{output=\"{name}\"}}")
            ),
            0
        );
        assert_eq!(
            metric_value(
                &metrics,
                &format!("netaudit_output_lag_events{{output=\"{name}\"}}")
            ),
            N
        );
    }
    assert_eq!(
        rsyslog.raw_lines().len(),
        N as usize,
        "only the good output delivered"
    );
    let log = server.log();
    assert!(
        log.contains("TLS handshake") && log.contains("untrusted"),
        "the refusal is logged:\n{log}"
    );
}

#[test]
fn sighup_adds_an_output_that_starts_from_the_beginning_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let rsyslog_port = free_tcp_port();
    let rsyslog = Rsyslog::start(&dir.path().join("rsyslog"), rsyslog_port, RsyslogMode::Tcp);
    let listen = free_tcp_port();
    let listener =
        format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n\n");
    let http = free_tcp_port();
    let server = Netaudit::start(dir.path(), &config_text(dir.path(), http, &listener));
    const N: u64 = 50;
    send_octet_counted(listen, (1..=N).map(junos_line));
    server.wait_metric("netaudit_store_last_seq", N, Duration::from_secs(30));
    assert!(rsyslog.raw_lines().is_empty());

    // Add an output and reload: its new cursor starts at 0, so it forwards
    // everything already stored, then what comes next.
    let with_output = config_text(
        dir.path(),
        http,
        &format!(
            "{listener}{}",
            output_config("late", "tcp", rsyslog_port, "")
        ),
    );
    std::fs::write(&server.config_path, with_output).unwrap();
    server.signal(libc::SIGHUP);
    wait_delivered(&server, "late", N, Duration::from_secs(30));
    send_octet_counted(listen, (N + 1..=2 * N).map(junos_line));
    // The reload itself is stored too (the output was added by the local
    // signal), so the store holds 2N + 1 events.
    wait_delivered(&server, "late", 2 * N + 1, Duration::from_secs(30));
    let raw = rsyslog.wait_lines(2 * N as usize + 1, Duration::from_secs(20));
    let ids: Vec<u64> = raw.iter().filter_map(|l| sequence_id(l)).collect();
    assert_eq!(ids, (1..=2 * N + 1).collect::<Vec<_>>());
    let audit: Vec<&String> = raw
        .iter()
        .filter(|l| l.contains("NETAUDIT_SYSLOG_DEST_ADDED"))
        .collect();
    assert_eq!(audit.len(), 1, "{raw:?}");
    assert!(audit[0].contains("local-signal"), "{}", audit[0]);
    assert!(server.log().contains("outputs reloaded"));
}
