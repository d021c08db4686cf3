//! Configuration files that must not be taken as they are: a file that sets
//! nothing is refused by `check-config` and by a reload (which keeps the
//! running configuration and logs why), and a reload that stops every
//! listener says so at WARN, naming what it stopped and started.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

fn frame(text: &str) -> String {
    let message = format!("<13>1 2026-12-03T10:00:00Z host app - - - {text}");
    format!("{} {}", message.len(), message)
}

fn listener(name: &str, port: u16) -> String {
    format!("[[listener]]\nname = \"{name}\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n")
}

/// Waits (bounded) until the server's log holds `needle`; returns the log.
fn wait_log(server: &Netaudit, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log within 20 s:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (bounded) until `port` accepts (`true`) or refuses (`false`) connections.
fn wait_port(port: u16, accepting: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() != accepting {
        assert!(
            Instant::now() < deadline,
            "port {port} accepting should be {accepting}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn check_config_refuses_a_file_that_sets_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [
        ("empty.toml", ""),
        ("blank.toml", "\n\n   \n"),
        ("comments.toml", "# [store]\n# path = \"x.db\"\n"),
        ("headers.toml", "[store]\n\n[log]\n"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write config");
        let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("check-config")
            .arg(&file)
            .output()
            .expect("run check-config");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{name}: the file sets no configuration key")),
            "{name}: {stderr}"
        );
        assert!(String::from_utf8_lossy(&output.stdout).is_empty());
    }
    // One setting is enough.
    let file = dir.path().join("one.toml");
    std::fs::write(&file, "[log]\nlevel = \"info\"\n").expect("write config");
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("check-config")
        .arg(&file)
        .output()
        .expect("run check-config");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn serve_refuses_to_start_on_a_file_that_sets_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("empty.toml");
    std::fs::write(&file, "# nothing here\n").expect("write config");
    let log = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("create log"))
        .spawn()
        .expect("spawn serve");
    // Bounded: a server that started anyway is stopped by its PID.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for serve") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let status =
        status.unwrap_or_else(|| panic!("serve started on a file that sets nothing:\n{stderr}"));
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("the file sets no configuration key"),
        "{stderr}"
    );
    assert!(!dir.path().join("data").exists(), "no store was made");
}

#[test]
fn a_reload_with_an_empty_file_keeps_the_running_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (port, http) = (free_tcp_port(), free_tcp_port());
    let server = Netaudit::start(
        dir.path(),
        &config_text(dir.path(), http, &listener("mine", port)),
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "{}", frame("before")).expect("write");
    server.wait_metric("netaudit_stored_events_total", 1, Duration::from_secs(20));

    std::fs::write(&server.config_path, "").expect("empty the config");
    server.signal(libc::SIGHUP);
    let log = wait_log(&server, "the file sets no configuration key");
    assert!(
        log.contains("configuration rejected; keeping the running one"),
        "{log}"
    );
    assert!(!log.contains("configuration reloaded"), "{log}");
    assert!(!log.contains("reload stopped every listener"), "{log}");
    // The listener runs on, its connection too, and a new one is accepted.
    write!(stream, "{}", frame("after, same connection")).expect("write");
    let mut again = TcpStream::connect(("127.0.0.1", port)).expect("connect again");
    write!(again, "{}", frame("after, new connection")).expect("write");
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(20));
    let metrics = server.metrics();
    assert!(
        !metrics.contains("listener=\"tcp:127.0.0.1:5514\""),
        "the default listeners were not started:\n{metrics}"
    );
}

#[test]
fn a_reload_that_stops_every_listener_warns_with_what_it_stopped_and_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, c, http) = (
        free_tcp_port(),
        free_tcp_port(),
        free_tcp_port(),
        free_tcp_port(),
    );
    let server = Netaudit::start(
        dir.path(),
        &config_text(
            dir.path(),
            http,
            &format!("{}\n{}", listener("a", a), listener("b", b)),
        ),
    );
    // Keeping one listener is no warning.
    std::fs::write(
        &server.config_path,
        config_text(
            dir.path(),
            http,
            &format!("{}\n{}", listener("a", a), listener("c", c)),
        ),
    )
    .expect("write config");
    server.signal(libc::SIGHUP);
    wait_port(c, true);
    wait_log(&server, "configuration reloaded");
    assert!(!server.log().contains("reload stopped every listener"));

    // Replacing both is.
    std::fs::write(
        &server.config_path,
        config_text(dir.path(), http, &listener("b", b)),
    )
    .expect("write config");
    server.signal(libc::SIGHUP);
    let log = wait_log(&server, "reload stopped every listener");
    let line = log
        .lines()
        .find(|l| l.contains("reload stopped every listener"))
        .unwrap_or_default();
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains(&format!("a (tcp 127.0.0.1:{a}), c (tcp 127.0.0.1:{c})")),
        "{line}"
    );
    assert!(line.contains(&format!("b (tcp 127.0.0.1:{b})")), "{line}");
    wait_port(a, false);
    wait_port(b, true);

    // A file with no listener left at all: started none.
    std::fs::write(
        &server.config_path,
        format!("listener = []\n{}", config_text(dir.path(), http, "")),
    )
    .expect("write config");
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log();
        if log.matches("reload stopped every listener").count() == 2 {
            let line = log
                .lines()
                .rfind(|l| l.contains("reload stopped every listener"))
                .unwrap_or_default()
                .to_string();
            assert!(line.contains("started=none"), "{line}");
            assert!(line.contains(&format!("b (tcp 127.0.0.1:{b})")), "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "no second warning:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_port(b, false);
}
