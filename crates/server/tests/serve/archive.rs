//! `store.retention_archive_to` through `netaudit serve`: retention waits
//! (log, metric, event) while the archive folder cannot be written, then
//! archives, verifies and drops, and tells the drop as an event naming the
//! archive; `netaudit archive verify` and `import` on what it wrote. A
//! full archive folder makes retention wait the same way; archives in the
//! syslog format hold RFC 5424 lines too.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::*;

pub(crate) fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run netaudit")
}

pub(crate) fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(err) if Instant::now() > deadline => panic!("connect to 127.0.0.1:{port}: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits (bounded) for a stored event with `code`; returns its message.
pub(crate) fn wait_for_event(db: &Path, code: &str, server: &Netaudit) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = stored_events(db)
            .into_iter()
            .find(|e| e.code.as_deref() == Some(code))
        {
            return e.message.map(|m| m.to_string()).unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "no {code} event within 60 s\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn retention_waits_for_its_archive_then_archives_verifies_and_drops() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    // The archive folder cannot be made while a file stands in its way.
    let blocker = dir.path().join("archives");
    std::fs::write(&blocker, "").unwrap();
    let archives = blocker.join("netaudit");
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"),
    )
    .replace(
        "synchronous = \"normal\"",
        &format!(
            "synchronous = \"normal\"\nepoch_events = 50\npartition_events = 100\n\
             retention_max_events = 150\nretention_archive_to = \"{}\"",
            archives.display()
        ),
    );
    let mut server = Netaudit::start(dir.path(), &config);
    // Rounds of 100, each stored before the next is sent: a batch never
    // spans two partitions, so each round fills one.
    let mut stream = connect(port);
    for round in 0..5 {
        for i in round * 100..(round + 1) * 100 {
            let text = format!("<13>1 2026-12-06T10:00:00Z host app - KEEP - message {i}");
            write!(stream, "{} {}", text.len(), text).unwrap();
        }
        stream.flush().unwrap();
        server.wait_metric(
            "netaudit_stored_events_total",
            (round + 1) * 100,
            Duration::from_secs(60),
        );
    }
    drop(stream);

    // Due for retention, but kept: said in the metric, the log and an event.
    server.wait_metric("netaudit_retention_waiting", 1, Duration::from_secs(60));
    let waiting = wait_for_event(&server.db, "NETAUDIT_RETENTION_WAITING", &server);
    assert!(
        waiting.contains("events 1..100") && waiting.contains("could not be written"),
        "{waiting}"
    );
    assert!(
        server.log().contains("retention is waiting"),
        "{}",
        server.log()
    );
    let first = stored_events(&server.db);
    assert_eq!(first[0].message.as_deref(), Some("message 0"));

    // The folder can be made now: within the retry period the partitions
    // are archived, verified and dropped, each drop told as an event.
    std::fs::remove_file(&blocker).unwrap();
    let purged = wait_for_event(&server.db, "NETAUDIT_RETENTION_PURGED", &server);
    assert!(
        purged.contains("retention dropped events 1..100"),
        "{purged}"
    );
    let archive = archives.join(
        std::fs::read_dir(&archives)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with("-00000000000000000001-00000000000000000100.tar"))
            .expect("the first partition's archive"),
    );
    assert!(purged.contains(&archive.display().to_string()), "{purged}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.metric("netaudit_retention_waiting") != 0 {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.stop().success(), "{}", server.log());
    assert_ne!(
        stored_events(&server.db)[0].message.as_deref(),
        Some("message 0")
    );

    // Offline: the archive verifies with the verify key alone ...
    let key = dir.path().join("netaudit.verify-key");
    let (archive_s, key_s) = (archive.to_str().unwrap(), key.to_str().unwrap());
    let out = netaudit(&["archive", "verify", archive_s, "--key", key_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("OK:") && text.contains("events 1..100"),
        "{text}"
    );
    // ... one changed byte fails it ...
    let mut bytes = std::fs::read(&archive).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let changed = dir.path().join("changed.tar");
    std::fs::write(&changed, bytes).unwrap();
    let out = netaudit(&[
        "archive",
        "verify",
        changed.to_str().unwrap(),
        "--key",
        key_s,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("FAILED:"));
    // ... and it comes back for examination in a store of its own.
    let exam = dir.path().join("exam").join("netaudit.db");
    let out = netaudit(&[
        "archive",
        "import",
        archive_s,
        "--key",
        key_s,
        "--db",
        exam.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let examined = stored_events(&exam);
    assert_eq!(examined.len(), 100);
    assert_eq!(examined[0].message.as_deref(), Some("message 0"));
    // Not into the store it came from.
    let out = netaudit(&[
        "archive",
        "import",
        archive_s,
        "--key",
        key_s,
        "--db",
        server.db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the store the archive came from"));
}

/// The archive folder is full (the export's temporary file is a link to
/// `/dev/full`, whose writes fail with ENOSPC like a full file system's):
/// retention says so in the log, the metric and an event naming the file
/// and the cause, drops nothing meanwhile, and once a pass can write
/// (the failed pass removed its temporary file) archives and drops.
#[test]
fn a_full_archive_folder_makes_retention_wait_then_it_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let archives = dir.path().join("archives");
    std::fs::create_dir(&archives).unwrap();
    let full = archives.join(".1.events.tmp");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"),
    )
    .replace(
        "synchronous = \"normal\"",
        &format!(
            "synchronous = \"normal\"\nepoch_events = 50\npartition_events = 100\n\
             retention_max_events = 150\nretention_archive_to = \"{}\"\n\
             retention_archive_format = \"syslog\"",
            archives.display()
        ),
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = connect(port);
    for round in 0..4 {
        for i in round * 100..(round + 1) * 100 {
            let text = format!("<13>1 2026-12-06T10:00:00Z host app - KEEP - message {i}");
            write!(stream, "{} {}", text.len(), text).unwrap();
        }
        stream.flush().unwrap();
        server.wait_metric(
            "netaudit_stored_events_total",
            (round + 1) * 100,
            Duration::from_secs(60),
        );
    }
    drop(stream);

    let waiting = wait_for_event(&server.db, "NETAUDIT_RETENTION_WAITING", &server);
    assert!(
        waiting.contains("events 1..100 are due for retention but are kept")
            && waiting.contains(&full.display().to_string())
            && waiting.contains("No space left on device"),
        "{waiting}"
    );
    let log = server.log();
    assert!(
        log.contains("retention is waiting") && log.contains("No space left on device"),
        "{log}"
    );
    let purged = wait_for_event(&server.db, "NETAUDIT_RETENTION_PURGED", &server);
    assert!(
        purged.contains("retention dropped events 1..100")
            && purged.contains("archived and verified"),
        "{purged}"
    );
    // The purge came after the wait, never before it: the waiting event
    // is stored before the purge's.
    let events = stored_events(&server.db);
    let seq_of = |code: &str| {
        events
            .iter()
            .position(|e| e.code.as_deref() == Some(code))
            .unwrap_or_else(|| panic!("no {code}"))
    };
    assert!(seq_of("NETAUDIT_RETENTION_WAITING") < seq_of("NETAUDIT_RETENTION_PURGED"));
    assert!(server.stop().success(), "{}", server.log());

    // The syslog format: the archive verifies, and holds each event as the
    // syslog outputs write the structured format, read with tar and gzip.
    let archive = archives.join(
        std::fs::read_dir(&archives)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with("-00000000000000000001-00000000000000000100.tar"))
            .expect("the first partition's archive"),
    );
    let key = dir.path().join("netaudit.verify-key");
    let out = netaudit(&[
        "archive",
        "verify",
        archive.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RFC 5424 lines signed with them"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg("tar -xOf \"$0\" events.syslog.gz | gunzip")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 100);
    assert_eq!(
        lines[0],
        "<13>1 2026-12-06T10:00:00.000Z host app - KEEP [meta sequenceId=\"1\"] message 0"
    );
}
