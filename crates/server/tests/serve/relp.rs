//! RELP input with real peers: rsyslog's `omrelp` (Debian's rsyslog-relp)
//! sends to a `protocol = "relp"` listener through a disk-assisted queue
//! while netaudit is killed with -9 and restarted: nothing is lost, because
//! netaudit answers `rsp 200` only once a message is stored. Bad input
//! closes the session with a log line and stores nothing from it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::rsyslog::{rsyslogd, send_octet_counted, sequence_id};
use crate::support::{config_text, free_tcp_port, stored_events, Netaudit};

/// An rsyslogd with a private configuration, stopped by PID.
struct Peer {
    child: Option<Child>,
    dir: PathBuf,
}

impl Peer {
    /// rsyslog taking octet-counted TCP on `input` and forwarding every
    /// message with `omrelp` to `relp`, through a disk-assisted queue that
    /// retries for ever.
    fn omrelp(dir: &Path, input: u16, relp: u16) -> Peer {
        let d = dir.display();
        let config = format!(
            "global(workDirectory=\"{d}/work\")\n\
             module(load=\"imtcp\")\n\
             module(load=\"omrelp\")\n\
             ruleset(name=\"fwd\") {{\n\
               action(type=\"omrelp\" target=\"127.0.0.1\" port=\"{relp}\" template=\"RSYSLOG_SyslogProtocol23Format\"\n\
                      queue.type=\"LinkedList\" queue.filename=\"fwdq\" queue.saveOnShutdown=\"on\"\n\
                      queue.size=\"200000\" action.resumeRetryCount=\"-1\" action.resumeInterval=\"1\"\n\
                      windowSize=\"128\" timeout=\"5\")\n\
             }}\n\
             input(type=\"imtcp\" port=\"{input}\" address=\"127.0.0.1\" ruleset=\"fwd\")\n"
        );
        Peer::start(dir, &config, input)
    }

    /// rsyslog receiving RELP with `imrelp` on `port`, writing each
    /// message's raw form to `raw.log`.
    fn imrelp(dir: &Path, port: u16) -> Peer {
        let d = dir.display();
        let config = format!(
            "global(workDirectory=\"{d}/work\")\n\
             module(load=\"imrelp\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             ruleset(name=\"r\") {{ action(type=\"omfile\" file=\"{d}/raw.log\" template=\"raw\") }}\n\
             input(type=\"imrelp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"r\")\n"
        );
        Peer::start(dir, &config, port)
    }

    /// The `meta sequenceId`s received so far, and how many lines.
    fn received(&self) -> (std::collections::HashSet<u64>, usize) {
        let text = std::fs::read_to_string(self.dir.join("raw.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let ids = lines.iter().filter_map(|l| sequence_id(l)).collect();
        (ids, lines.len())
    }

    fn start(dir: &Path, config: &str, port: u16) -> Peer {
        std::fs::create_dir_all(dir.join("work")).unwrap();
        std::fs::write(dir.join("rsyslog.conf"), config).unwrap();
        let log = std::fs::File::create(dir.join("rsyslogd.out")).unwrap();
        let child = Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn rsyslogd");
        let mut peer = Peer {
            child: Some(child),
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(Ok(Some(status))) = peer.child.as_mut().map(Child::try_wait) {
                panic!("rsyslogd exited at startup ({status}):\n{}", peer.log());
            }
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen:\n{}",
                peer.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        peer
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("rsyslogd.out")).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM)
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn relp_listener(port: u16) -> String {
    format!("[[listener]]\nname = \"relp\"\nprotocol = \"relp\"\naddress = \"127.0.0.1:{port}\"\n")
}

fn line(i: u64) -> String {
    format!("<14>1 2026-11-20T10:00:00Z fw01 app - - - relp message {i:07}")
}

/// How many times each numbered message is in the store.
fn stored_counts(db: &Path) -> HashMap<u64, u32> {
    let mut counts = HashMap::new();
    for event in stored_events(db) {
        let raw = String::from_utf8_lossy(&event.raw);
        if let Some(n) = raw.split("relp message ").nth(1) {
            if let Ok(n) = n.trim().parse::<u64>() {
                *counts.entry(n).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Waits (bounded) until every message 0..total is in the store.
fn wait_all_stored(
    server: &Netaudit,
    peer: &Peer,
    total: u64,
    limit: Duration,
) -> HashMap<u64, u32> {
    let deadline = Instant::now() + limit;
    loop {
        let counts = stored_counts(&server.db);
        if (0..total).all(|i| counts.contains_key(&i)) {
            return counts;
        }
        if Instant::now() > deadline {
            let missing = (0..total).filter(|i| !counts.contains_key(i)).count();
            panic!(
                "{missing} of {total} messages not stored within {limit:?}\nnetaudit:\n{}\nrsyslog:\n{}",
                server.log(),
                peer.log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn omrelp_through_kill_9_of_netaudit_loses_nothing() {
    // The 20 rounds, each killing netaudit with messages in flight.
    const ROUNDS: u64 = 20;
    const PER_ROUND: u64 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let relp = free_tcp_port();
    let input = free_tcp_port();
    let config = config_text(dir.path(), free_tcp_port(), &relp_listener(relp));
    let mut server = Netaudit::start(dir.path(), &config);
    let peer = Peer::omrelp(&dir.path().join("rsyslog"), input, relp);
    for round in 0..ROUNDS {
        let first = round * PER_ROUND;
        send_octet_counted(input, (first..first + PER_ROUND).map(line));
        // Kill once part of the round is stored (bounded wait), so that
        // messages are in flight: sent, some unanswered.
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.metric("netaudit_received_total") < PER_ROUND / 4 && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        server = Netaudit::start_with(dir.path(), &server.config_path.clone());
    }
    let total = ROUNDS * PER_ROUND;
    let counts = wait_all_stored(&server, &peer, total, Duration::from_secs(120));
    let duplicates: u32 = counts.values().map(|c| c - 1).sum();
    eprintln!("{total} sent through {ROUNDS} kill -9 rounds: 0 lost, {duplicates} duplicates");
    let status = server.stop();
    assert!(status.success(), "{status}");
}

/// Opens a raw RELP session, sends `frames`, returns what the server answered
/// until it closed the connection (bounded).
fn raw_session(port: u16, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn open_frame() -> Vec<u8> {
    let offers = "relp_version=0\nrelp_software=test,1,none\ncommands=syslog";
    format!("1 open {} {offers}\n", offers.len()).into_bytes()
}

fn syslog_frame(txnr: u32, message: &str) -> Vec<u8> {
    format!("{txnr} syslog {} {message}\n", message.len()).into_bytes()
}

#[test]
fn a_session_is_answered_only_for_what_was_stored_and_closes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let relp = free_tcp_port();
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(dir.path(), free_tcp_port(), &relp_listener(relp)),
    );
    let mut bytes = open_frame();
    bytes.extend(syslog_frame(2, &line(1)));
    bytes.extend(syslog_frame(3, &line(2)));
    bytes.extend(b"4 close 0\n");
    let answer = raw_session(relp, &bytes);
    let mut lines = answer.lines();
    let open = lines.next().unwrap_or_default();
    assert!(open.starts_with("1 rsp "), "{answer}");
    assert!(
        answer.contains("200 OK\nrelp_version=0\nrelp_software=netaudit,"),
        "{answer}"
    );
    assert!(answer.contains("commands=syslog\n"), "{answer}");
    assert!(
        answer.ends_with("2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 6 200 OK\n0 serverclose 0\n"),
        "{answer:?}"
    );
    // Answered means stored: both are in the store right away.
    let counts = stored_counts(&server.db);
    assert_eq!(counts.get(&1), Some(&1));
    assert_eq!(counts.get(&2), Some(&1));
    assert!(server.stop().success());
}

#[test]
fn bad_input_closes_the_session_and_stores_nothing_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let relp = free_tcp_port();
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(
            dir.path(),
            free_tcp_port(),
            &(relp_listener(relp) + "max_message_bytes = 1024\n"),
        ),
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"\x16\x03\x01\x00\xa5garbage".to_vec(),
            "expected a digit starting TXNR at offset 0",
        ),
        (
            "oversize DATALEN",
            [open_frame(), b"2 syslog 999999999 ".to_vec()].concat(),
            "DATALEN 999999999 is over the maximum of 1024 bytes",
        ),
        (
            "wrong txnr order",
            [open_frame(), syslog_frame(5, &line(100))].concat(),
            "RELP txnr 5 at stream offset",
        ),
        (
            "command before open",
            syslog_frame(1, &line(101)),
            "RELP command 'syslog' (txnr 1) at stream offset 0 before 'open'",
        ),
    ];
    for (what, bytes, log_line) in &cases {
        let answer = raw_session(relp, bytes);
        assert!(
            !answer.contains(" rsp 6 200 OK"),
            "{what}: a bad frame was acknowledged: {answer:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.log().contains(log_line) {
            assert!(
                Instant::now() < deadline,
                "{what}: no log line {log_line:?}\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            server.log().contains("RELP protocol error; session closed"),
            "{what}"
        );
    }
    assert!(server.stop().success());
    let counts = stored_counts(&server.db);
    assert!(counts.is_empty(), "stored from bad sessions: {counts:?}");
}

#[test]
fn relp_output_reaches_imrelp_through_a_receiver_restart_with_nothing_lost() {
    const TOTAL: u64 = 6_000;
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_tcp_port();
    let relp = free_tcp_port();
    let rest = format!(
        "[[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\n\
         [[output.syslog]]\nname = \"relp\"\ntransport = \"relp\"\naddress = \"127.0.0.1:{relp}\"\n\
         format = \"structured\"\nwindow = 64\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\nrelp_timeout_secs = 10\n"
    );
    let mut server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    let peer_dir = dir.path().join("imrelp");
    let mut peer = Peer::imrelp(&peer_dir, relp);
    send_octet_counted(tcp, (0..TOTAL / 2).map(line));
    // Restart the receiver while the output is sending (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(60);
    while peer.received().1 < 500 {
        assert!(
            Instant::now() < deadline,
            "imrelp got nothing:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(peer);
    send_octet_counted(tcp, (TOTAL / 2..TOTAL).map(line));
    std::thread::sleep(Duration::from_millis(500));
    peer = Peer::imrelp(&peer_dir, relp);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (ids, lines) = peer.received();
        if (1..=TOTAL).all(|seq| ids.contains(&seq)) {
            eprintln!(
                "{TOTAL} stored, all received by imrelp through a restart: {} duplicates",
                lines as u64 - TOTAL
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {TOTAL} received\nnetaudit:\n{}\nrsyslog:\n{}",
            ids.len(),
            server.log(),
            peer.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The output went through the restart: a second session was opened.
    assert!(
        server.log().matches("RELP session open").count() >= 2,
        "{}",
        server.log()
    );
    assert!(server.stop().success());
}

#[test]
fn relp_over_tls_from_one_netaudit_to_another_with_a_receiver_kill_9() {
    const TOTAL: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::support::rsyslog::make_pki(dir.path());
    // The receiver: a RELP listener over TLS.
    let receiver_dir = dir.path().join("receiver");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let relp = free_tcp_port();
    let receiver_config = config_text(
        &receiver_dir,
        free_tcp_port(),
        &format!(
            "{}[listener.tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            relp_listener(relp),
            pki.server_cert.display(),
            pki.server_key.display()
        ),
    );
    let mut receiver = Netaudit::start(&receiver_dir, &receiver_config);
    // The sender: TCP in, RELP over TLS out.
    let sender_dir = dir.path().join("sender");
    std::fs::create_dir_all(&sender_dir).unwrap();
    let tcp = free_tcp_port();
    let sender_config = config_text(
        &sender_dir,
        free_tcp_port(),
        &format!(
            "[[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\n\
             [[output.syslog]]\nname = \"relp\"\ntransport = \"relp\"\naddress = \"127.0.0.1:{relp}\"\n\
             format = \"structured\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n\
             [output.syslog.tls]\nca = \"{}\"\nserver_name = \"localhost\"\n",
            pki.ca.display()
        ),
    );
    let mut sender = Netaudit::start(&sender_dir, &sender_config);
    send_octet_counted(tcp, (0..TOTAL).map(line));
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.metric("netaudit_received_total") < TOTAL / 3 {
        assert!(
            Instant::now() < deadline,
            "nothing arrived:\n{}",
            sender.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    receiver.kill();
    receiver = Netaudit::start_with(&receiver_dir, &receiver_dir.join("netaudit.toml"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let counts = stored_counts(&receiver.db);
        if (0..TOTAL).all(|i| counts.contains_key(&i)) {
            let duplicates: u32 = counts.values().map(|c| c - 1).sum();
            eprintln!("{TOTAL} forwarded over RELP/TLS through a kill -9 of the receiver: 0 lost, {duplicates} duplicates");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {TOTAL} stored by the receiver\nsender:\n{}\nreceiver:\n{}",
            counts.len(),
            sender.log(),
            receiver.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sender.stop().success());
    assert!(receiver.stop().success());
}
