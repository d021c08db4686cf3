//! `store.retention_archive_to = "sftp://..."` through `netaudit serve`
//! against a private OpenSSH sshd: while the server's host key is not the
//! one in `known_hosts`, retention waits (metric, event, log) and nothing
//! is uploaded; once it is, partitions are archived, uploaded, read back
//! and only then dropped, and the uploaded archive verifies offline.

use std::io::Write;
use std::time::{Duration, Instant};

use super::archive::{connect, netaudit, wait_for_event};
use crate::support::sshd::Sshd;
use crate::support::*;

#[test]
fn retention_waits_on_a_wrong_host_key_then_uploads_verifies_and_drops() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(&dir.path().join("sshd"));
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, &sshd.wrong_known_hosts_line).unwrap();
    let remote = dir.path().join("remote").join("archives");
    let port = free_tcp_port();
    let config = config_text(
        dir.path(),
        free_tcp_port(),
        &format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"),
    )
    .replace(
        "synchronous = \"normal\"",
        &format!(
            "synchronous = \"normal\"\nepoch_events = 50\npartition_events = 100\n\
             retention_max_events = 150\n\
             retention_archive_to = \"sftp://root@127.0.0.1:{}{}\"\n\
             retention_archive_sftp_key = \"{}\"\n\
             retention_archive_sftp_known_hosts = \"{}\"",
            sshd.port,
            remote.display(),
            sshd.client_key.display(),
            known_hosts.display()
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

    // The host key is not the known one: nothing is uploaded or dropped.
    server.wait_metric("netaudit_retention_waiting", 1, Duration::from_secs(60));
    let waiting = wait_for_event(&server.db, "NETAUDIT_RETENTION_WAITING", &server);
    assert!(
        waiting.contains("events 1..100") && waiting.contains("host key does not match"),
        "{waiting}"
    );
    assert!(
        server.log().contains("retention is waiting"),
        "{}",
        server.log()
    );
    assert!(!remote.exists(), "uploaded to an unknown host");
    assert_eq!(
        stored_events(&server.db)[0].message.as_deref(),
        Some("message 0")
    );

    // The right host key: within the retry period the partitions are
    // uploaded, read back and dropped, each drop naming its remote archive.
    std::fs::write(&known_hosts, &sshd.known_hosts_line).unwrap();
    let purged = wait_for_event(&server.db, "NETAUDIT_RETENTION_PURGED", &server);
    let name_end = "-00000000000000000001-00000000000000000100.tar";
    let archive = remote.join(
        std::fs::read_dir(&remote)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(name_end))
            .expect("the first partition's archive on the SFTP server"),
    );
    let url = format!("sftp://root@127.0.0.1:{}{}", sshd.port, archive.display());
    assert!(
        purged.contains("retention dropped events 1..100") && purged.contains(&url),
        "{purged}\nexpected {url}"
    );
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
    // The local outbox keeps no uploaded archive.
    let outbox = dir.path().join("netaudit.archive-outbox");
    let left: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in the outbox: {left:?}");

    // What the server holds verifies offline with the verify key.
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
        out.status.success() && text.contains("events 1..100"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(sshd);
}
