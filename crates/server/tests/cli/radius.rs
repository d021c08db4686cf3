//! `netaudit radius test` against a real FreeRADIUS on a loopback high port.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::radius::{free_udp_port, value, FreeRadius};

const SECRET: &str = "netaudit-test-secret-42";

fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run netaudit")
}

fn secret_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write secret");
    path.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn accounting_on_off_round_trip_is_reported_and_logged_by_freeradius() {
    let dir = tempfile::tempdir().unwrap();
    let server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let secret = secret_file(dir.path(), "secret", &format!("{SECRET}\n"));
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        &server.address(),
        "--secret-file",
        &secret,
        "--nas-identifier",
        "probe-1",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    let on = format!("Accounting-On: acknowledged by {} in ", server.address());
    let off = format!("Accounting-Off: acknowledged by {} in ", server.address());
    assert!(stdout.contains(&on) && stdout.contains(&off), "{stdout}");
    assert!(stdout.contains(" ms (1 try)"), "{stdout}");

    let records = server.wait_for_records(2, Duration::from_secs(5));
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        value(&records[0], "Acct-Status-Type"),
        Some("Accounting-On")
    );
    assert_eq!(
        value(&records[1], "Acct-Status-Type"),
        Some("Accounting-Off")
    );
    for record in &records {
        assert_eq!(value(record, "NAS-Identifier"), Some("probe-1"));
        assert_eq!(value(record, "Acct-Delay-Time"), Some("0"));
        assert!(
            value(record, "Event-Timestamp").is_some_and(|t| t.ends_with("UTC")),
            "{record:?}"
        );
    }
}

#[test]
fn a_wrong_secret_gets_no_acknowledgement_and_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    let wrong = secret_file(dir.path(), "wrong", "not-the-servers-secret-99\n");
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        &server.address(),
        "--secret-file",
        &wrong,
        "--timeout-ms",
        "200",
        "--retransmissions",
        "1",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}\nstderr: {stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains("Accounting-On: no RADIUS accounting server acknowledged the request"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}: no reply to 2 tries", server.address())),
        "{stderr}"
    );
    assert!(stderr.contains("shared secret differs"), "{stderr}");
    assert!(
        !stderr.contains("not-the-servers"),
        "the secret must never be shown: {stderr}"
    );
    assert!(
        server.detail().is_empty(),
        "nothing may be accounted with a wrong secret"
    );
    assert!(
        server.log().contains("Shared secret is incorrect"),
        "{}",
        server.log()
    );
}

#[test]
fn a_server_that_never_answers_makes_the_client_fail_over_to_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let server = FreeRadius::start(&dir.path().join("raddb"), free_udp_port(), SECRET);
    // Bound, so the datagrams are taken and simply never answered.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_address = silent.local_addr().unwrap().to_string();
    let secret = secret_file(dir.path(), "secret", SECRET);
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        &silent_address,
        "--server",
        &server.address(),
        "--secret-file",
        &secret,
        "--timeout-ms",
        "200",
        "--retransmissions",
        "1",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "Accounting-On: acknowledged by {}",
            server.address()
        )),
        "{stdout}"
    );
    // The silent server got the identical request twice (one retransmission).
    silent
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buffer = [0u8; 4096];
    let (first, _) = silent.recv_from(&mut buffer).unwrap();
    let first = buffer[..first].to_vec();
    let (second, _) = silent.recv_from(&mut buffer).unwrap();
    assert_eq!(first, buffer[..second].to_vec());
    assert_eq!(server.wait_for_records(2, Duration::from_secs(5)).len(), 2);
}

#[test]
fn bad_secrets_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_udp_port().to_string();
    let address = format!("127.0.0.1:{port}");
    let cases = [
        (
            "short",
            "short-secret\n",
            "shared secret is 12 octets; at least 16 are required",
        ),
        (
            "long",
            &"x".repeat(129),
            "shared secret is 129 octets; at most 128 are accepted",
        ),
        ("empty", "\n", "shared secret is empty"),
    ];
    for (name, contents, expected) in cases {
        let path = secret_file(dir.path(), name, contents);
        let out = netaudit(&[
            "radius",
            "test",
            "--server",
            &address,
            "--secret-file",
            &path,
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        &address,
        "--secret-file",
        &dir.path().join("missing").display().to_string(),
    ]);
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        &address,
        "--secret-env",
        "NETAUDIT_TEST_NO_SUCH_VARIABLE",
    ]);
    assert!(
        text(&out.stderr).contains("NETAUDIT_TEST_NO_SUCH_VARIABLE is not set"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "radius",
            "test",
            "--server",
            &address,
            "--secret-env",
            "NETAUDIT_TEST_SECRET",
            "--timeout-ms",
            "50",
            "--retransmissions",
            "0",
        ])
        .env("NETAUDIT_TEST_SECRET", "an-env-secret-of-24-octs")
        .output()
        .unwrap();
    // The secret is accepted; nobody listens, so the request goes unanswered.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("an-env-secret"),
        "{}",
        text(&out.stderr)
    );
    let short = dir.path().join("short").display().to_string();
    let out = netaudit(&[
        "radius",
        "test",
        "--server",
        "not-an-address",
        "--secret-file",
        &short,
        "--allow-short-secret",
    ]);
    assert!(
        text(&out.stderr).contains("--server"),
        "{}",
        text(&out.stderr)
    );
}
