//! `store.retention_archive_to = "sftp://..."` through `netaudit serve`
//! against a private OpenSSH sshd: while the server's host key is not the
//! one in `known_hosts`, retention waits (metric, event, log) and nothing
//! is uploaded; once it is, partitions are archived, uploaded, read back
//! and only then dropped, and the uploaded archive verifies offline. A
//! refused connection and a refused login each make retention wait too,
//! naming the destination (user, host, port) and the reason.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::archive::{connect, netaudit, wait_for_event};
use crate::support::sshd::{keygen, Sshd};
use crate::support::*;

/// `netaudit serve` archiving to `sftp://root@127.0.0.1:PORT/REMOTE` with
/// `key` and `known_hosts`, given 400 events in partitions of 100 so that
/// the first ones are due for retention.
fn serve_archiving_to(
    dir: &Path,
    port: u16,
    remote: &Path,
    key: &Path,
    known_hosts: &Path,
) -> Netaudit {
    let listen = free_tcp_port();
    let config = config_text(
        dir,
        free_tcp_port(),
        &format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n"),
    )
    .replace(
        "synchronous = \"normal\"",
        &format!(
            "synchronous = \"normal\"\nepoch_events = 50\npartition_events = 100\n\
             retention_max_events = 150\n\
             retention_archive_to = \"sftp://root@127.0.0.1:{port}{}\"\n\
             retention_archive_sftp_key = \"{}\"\n\
             retention_archive_sftp_known_hosts = \"{}\"",
            remote.display(),
            key.display(),
            known_hosts.display()
        ),
    );
    let server = Netaudit::start(dir, &config);
    let mut stream = connect(listen);
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
    server
}

/// Retention waits (metric, event, log) and drops nothing; returns the
/// event's message.
fn waits_without_purge(server: &Netaudit, remote: &Path) -> String {
    server.wait_metric("netaudit_retention_waiting", 1, Duration::from_secs(60));
    let waiting = wait_for_event(&server.db, "NETAUDIT_RETENTION_WAITING", server);
    assert!(waiting.contains("events 1..100"), "{waiting}");
    assert!(
        server.log().contains("retention is waiting"),
        "{}",
        server.log()
    );
    assert!(!remote.exists(), "uploaded anyway");
    let events = stored_events(&server.db);
    assert_eq!(events[0].message.as_deref(), Some("message 0"));
    assert!(
        !events
            .iter()
            .any(|e| e.code.as_deref() == Some("NETAUDIT_RETENTION_PURGED")),
        "purged without an archive"
    );
    waiting
}

#[test]
fn retention_waits_on_a_wrong_host_key_then_uploads_verifies_and_drops() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(&dir.path().join("sshd"));
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, &sshd.wrong_known_hosts_line).unwrap();
    let remote = dir.path().join("remote").join("archives");
    let mut server = serve_archiving_to(
        dir.path(),
        sshd.port,
        &remote,
        &sshd.client_key,
        &known_hosts,
    );

    // The host key is not the known one: nothing is uploaded or dropped.
    let waiting = waits_without_purge(&server, &remote);
    assert!(waiting.contains("host key does not match"), "{waiting}");

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

#[test]
fn a_refused_connection_makes_retention_wait_naming_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("client_key");
    keygen(&key);
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let remote = dir.path().join("remote").join("archives");
    // Nothing listens on this port.
    let port = free_tcp_port();
    let mut server = serve_archiving_to(dir.path(), port, &remote, &key, &known_hosts);
    let waiting = waits_without_purge(&server, &remote);
    let destination = format!("sftp://root@127.0.0.1:{port}{}", remote.display());
    assert!(
        waiting.contains(&format!(
            "{destination}: archive upload: cannot connect to 127.0.0.1:{port}: Connection refused"
        )),
        "{waiting}"
    );
    assert!(server.stop().success(), "{}", server.log());
}

#[test]
fn a_refused_login_makes_retention_wait_naming_the_user_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(&dir.path().join("sshd"));
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, &sshd.known_hosts_line).unwrap();
    let remote = dir.path().join("remote").join("archives");
    // A key the server does not authorize.
    let mut server = serve_archiving_to(
        dir.path(),
        sshd.port,
        &remote,
        &sshd.unauthorized_key,
        &known_hosts,
    );
    let waiting = waits_without_purge(&server, &remote);
    let destination = format!("sftp://root@127.0.0.1:{}{}", sshd.port, remote.display());
    assert!(
        waiting.contains(&format!(
            "{destination}: archive upload: authentication as root with {} refused",
            sshd.unauthorized_key.display()
        )),
        "{waiting}"
    );
    assert!(server.stop().success(), "{}", server.log());
    drop(sshd);
}
