//! Running under systemd: the unit file passes `systemd-analyze verify`
//! and keeps its security exposure low, and `netaudit serve` speaks the
//! notification protocol of `Type=notify` (READY, WATCHDOG, STOPPING).

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::support::*;

const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../packaging/netaudit.service"
);

/// The unit with its binary path pointed at the binary under test (the
/// only change): `verify` checks that every command is executable.
fn unit_for_this_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(UNIT)
        .unwrap()
        .replace("/usr/bin/netaudit", env!("CARGO_BIN_EXE_netaudit"));
    let path = dir.join("netaudit.service");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_unit_file_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_binary(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (package systemd, .ci/install-deps)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // Other units of the machine may be warned about; ours must not be.
    assert!(!err.contains("netaudit.service:"), "{err}");
}

#[test]
fn the_unit_keeps_its_security_exposure_low() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_binary(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze");
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for netaudit.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    // docs/install.md records 1.6 ("OK"); 2.0 is the line not to cross.
    assert!(score <= 2.0, "exposure {score}:\n{text}");
}

#[test]
fn serve_notifies_ready_then_watchdog_then_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let config = dir.path().join("netaudit.toml");
    let port = free_tcp_port();
    std::fs::write(
        &config,
        config_text(
            dir.path(),
            free_tcp_port(),
            &format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"),
        ),
    )
    .unwrap();
    let mut server = Netaudit::start_with_env(
        dir.path(),
        &config,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = socket.recv(&mut buf).expect("a notification within 30 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = next();
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        ready.contains(&format!("MAINPID={}", server.pid())),
        "{ready}"
    );
    // The listener is bound when READY is sent.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening at READY");
    assert_eq!(next(), "WATCHDOG=1");
    assert_eq!(next(), "WATCHDOG=1");
    server.signal(libc::SIGTERM);
    // Watchdog pings may still come until the stop is seen.
    let mut stopping = false;
    for _ in 0..100 {
        let message = next();
        if message == "STOPPING=1" {
            stopping = true;
            break;
        }
        assert_eq!(message, "WATCHDOG=1");
    }
    assert!(stopping);
    assert!(server.stop().success(), "{}", server.log());
}
