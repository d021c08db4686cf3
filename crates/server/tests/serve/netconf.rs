//! `[[input.netconf]]` through `netaudit serve` against a private OpenSSH
//! sshd whose `Subsystem netconf` is the Junos simulator
//! (`tests/support/junos_netconf.py`) streaming the seed 003 lines
//! (`tests/data/netconf/`): key authentication, every line stored with its
//! fields and its device, both stream modes, a wrong host key refused, bad
//! input from a device closing only that session, and reconnection after
//! sshd is stopped and started again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use netaudit_event::Event;

use crate::support::sshd::Sshd;
use crate::support::*;

pub(crate) fn seed_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/netconf/seed003.log");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A private sshd in `dir` whose netconf subsystem is the simulator in
/// `mode`, streaming the lines of `dir/lines.log` and logging the requests
/// to `dir/requests.log`.
pub(crate) fn device(dir: &Path, mode: &str) -> Sshd {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("lines.log"), seed_lines().join("\n") + "\n").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/junos_netconf.py");
    Sshd::start_with(
        dir,
        &format!(
            "Subsystem netconf /usr/bin/python3 {} --lines {} --mode {mode} --log {}\n",
            script.display(),
            dir.join("lines.log").display(),
            dir.join("requests.log").display()
        ),
    )
}

/// A `[[input.netconf]]` table for `sshd`, its host key in a known_hosts
/// file (the wrong one when `wrong_key`).
pub(crate) fn table(name: &str, sshd: &Sshd, dir: &Path, wrong_key: bool, extra: &str) -> String {
    let known_hosts = dir.join(format!("known_hosts-{name}"));
    let line = if wrong_key {
        &sshd.wrong_known_hosts_line
    } else {
        &sshd.known_hosts_line
    };
    std::fs::write(&known_hosts, line).unwrap();
    format!(
        "[[input.netconf]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
         private_key = \"{}\"\nknown_hosts = \"{}\"\nreconnect_min = \"1s\"\nreconnect_max = \"2s\"\n{extra}\n",
        sshd.port,
        sshd.client_key.display(),
        known_hosts.display()
    )
}

/// Writes the configuration with `tables` to `dir/netaudit.toml`.
pub(crate) fn write_config(dir: &Path, tables: &str) -> PathBuf {
    // One syslog listener on a free port (the defaults' port may be taken).
    let listener = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{}\"\n\n",
        free_tcp_port()
    );
    let path = dir.join("netaudit.toml");
    std::fs::write(
        &path,
        config_text(dir, free_tcp_port(), &(listener + tables)),
    )
    .unwrap();
    path
}

pub(crate) fn start(dir: &Path, tables: &str) -> Netaudit {
    let path = write_config(dir, tables);
    Netaudit::start_with(dir, &path)
}

pub(crate) fn netaudit(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

pub(crate) fn param<'e>(event: &'e Event, name: &str) -> Option<&'e str> {
    event.param(name)
}

/// The lines stored from `device`, in order.
pub(crate) fn lines_of(events: &[Event], device: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| param(e, "input") == Some("netconf") && param(e, "device") == Some(device))
        .map(|e| String::from_utf8_lossy(&e.raw).into_owned())
        .collect()
}

pub(crate) fn channel_events<'e>(events: &'e [Event], code: &str, device: &str) -> Vec<&'e Event> {
    events
        .iter()
        .filter(|e| e.code.as_deref() == Some(code) && param(e, "device") == Some(device))
        .collect()
}

/// Adds the user `auditor1` (role auditor, password "correct horse battery
/// staple") to the users of the server configured by `config`.
pub(crate) fn add_auditor(dir: &Path, config: &Path) {
    let password = dir.join("password");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let (ok, out) = netaudit(&[
        "user",
        "-c",
        config.to_str().unwrap(),
        "add",
        "auditor1",
        "--role",
        "auditor",
        "--password-file",
        password.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
}

/// Waits (bounded) until `check` holds for the stored events.
pub(crate) fn wait_stored(
    server: &Netaudit,
    what: &str,
    check: impl Fn(&[Event]) -> bool,
) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = stored_events(&server.db);
        if check(&events) {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "not stored within 60 s: {what}\nlog:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn key_auth_stores_every_line_with_its_fields_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = device(&dir.path().join("sshd"), "normal");
    let tables = table("r1", &sshd, dir.path(), false, "")
        + &table(
            "r2",
            &sshd,
            dir.path(),
            false,
            "mode = \"create-subscription\"\nstream = \"messages\"",
        );
    let config = write_config(dir.path(), &tables);
    add_auditor(dir.path(), &config);
    let server = Netaudit::start_with(dir.path(), &config);
    let expected = seed_lines();
    let events = wait_stored(&server, "every line from r1 and r2", |events| {
        lines_of(events, "r1").len() >= expected.len()
            && lines_of(events, "r2").len() >= expected.len()
    });
    assert_eq!(lines_of(&events, "r1"), expected);
    assert_eq!(lines_of(&events, "r2"), expected);
    let login = events
        .iter()
        .find(|e| e.code.as_deref() == Some("UI_LOGIN_EVENT") && param(e, "device") == Some("r1"))
        .unwrap();
    assert_eq!(login.host.as_deref(), Some("cartier"));
    assert_eq!(login.app.as_deref(), Some("mgd"));
    assert_eq!(login.user.as_deref(), Some("root"));
    assert_eq!(param(login, "class-name"), Some("super-user"));
    assert_eq!(
        param(login, "ssh-connection"),
        Some("10.223.5.251 53476 10.204.134.54 22")
    );
    assert!(login.parse_error.is_none());
    for name in ["r1", "r2"] {
        let established = channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", name);
        assert_eq!(established.len(), 1, "{name}");
        let e = established[0];
        assert_eq!(
            param(e, "peer"),
            Some(format!("127.0.0.1:{}", sshd.port).as_str())
        );
        assert_eq!(param(e, "user"), Some("root"));
        assert!(
            param(e, "host-key").unwrap().starts_with("SHA256:"),
            "{e:?}"
        );
        assert!(param(e, "negotiated")
            .unwrap()
            .contains("base:1.1 (chunked framing)"));
    }
    // The stream requests as the device received them.
    let requests = std::fs::read_to_string(dir.path().join("sshd/requests.log")).unwrap();
    assert!(
        requests.contains("<get-syslog-events><stream>messages</stream></get-syslog-events>"),
        "{requests}"
    );
    assert!(requests.contains("<create-subscription xmlns=\"urn:ietf:params:xml:ns:netconf:notification:1.0\"><stream>messages</stream></create-subscription>"), "{requests}");
    let metrics = server.metrics();
    assert_eq!(
        metric_value(&metrics, "netaudit_netconf_connected{device=\"r1\"}"),
        1
    );
    assert_eq!(
        metric_value(
            &metrics,
            "netaudit_netconf_events_received_total{device=\"r2\"}"
        ),
        expected.len() as u64
    );
    assert!(
        metric_value(
            &metrics,
            "netaudit_netconf_last_event_timestamp_seconds{device=\"r1\"}"
        ) > 0
    );
    assert_eq!(
        metric_value(&metrics, "netaudit_netconf_reconnects_total"),
        0
    );
    let (status, body) = http_get(server.http, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("netaudit_received_total{listener=\"netconf:r1\",protocol=\"netconf\"} 8"),
        "{body}"
    );

    // The same status in the API, for an auditor.
    let inputs = "/api/v1/inputs/netconf";
    assert_eq!(http_request(server.http, "GET", inputs, None, "").0, 401);
    let (status, body) = http_request(
        server.http,
        "POST",
        "/api/v1/login",
        None,
        r#"{"username":"auditor1","password":"correct horse battery staple"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, body) = http_request(server.http, "GET", inputs, token["token"].as_str(), "");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let devices = answer["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 2, "{body}");
    assert_eq!(devices[0]["device"], "r1");
    assert_eq!(devices[0]["connected"], true);
    assert_eq!(devices[0]["events_received"], 8);
    assert_eq!(devices[0]["reconnects"], 0);
    assert!(
        devices[0]["last_event_time"]
            .as_str()
            .unwrap()
            .starts_with("20"),
        "{body}"
    );
    assert!(
        devices[1]["negotiated"]
            .as_str()
            .unwrap()
            .contains("session-id"),
        "{body}"
    );
}

#[test]
fn netconf_test_prints_what_was_negotiated_or_why_it_failed() {
    let dir = tempfile::tempdir().unwrap();
    let sshd = device(&dir.path().join("sshd"), "normal");
    let tables =
        table("r1", &sshd, dir.path(), false, "") + &table("wrong", &sshd, dir.path(), true, "");
    let config = write_config(dir.path(), &tables);
    let config = config.to_str().unwrap();
    let (ok, out) = netaudit(&[
        "netconf", "test", "-c", config, "--device", "r1", "--lines", "2",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("negotiated: base:1.1 (chunked framing), session-id "),
        "{out}"
    );
    assert!(
        out.contains("  urn:ietf:params:netconf:capability:notification:1.0"),
        "{out}"
    );
    assert!(out.contains("host key: SHA256:"), "{out}");
    let lines = seed_lines();
    assert!(
        out.contains(&format!("line: {}\nline: {}\n", lines[0], lines[1])),
        "{out}"
    );
    assert!(out.ends_with("OK\n"), "{out}");

    let (ok, out) = netaudit(&["netconf", "test", "-c", config, "--device", "wrong"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAILED at host-key: host key refused: the device's key differs"),
        "{out}"
    );
    let (ok, out) = netaudit(&["netconf", "test", "-c", config, "--device", "nope"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("no [[input.netconf]] named \"nope\" (configured: r1, wrong)"),
        "{out}"
    );
}

#[test]
fn a_wrong_host_key_and_bad_input_close_only_that_session() {
    let dir = tempfile::tempdir().unwrap();
    let good = device(&dir.path().join("good"), "normal");
    let mut tables = table("good", &good, dir.path(), false, "");
    tables += &table("wrong-key", &good, dir.path(), true, "");
    let mut bad = Vec::new();
    for mode in ["malformed", "unterminated", "huge-chunk", "no-base"] {
        let sshd = device(&dir.path().join(mode), mode);
        tables += &table(mode, &sshd, dir.path(), false, "");
        bad.push(sshd);
    }
    let server = start(dir.path(), &tables);
    let expected = seed_lines();
    let failed_or_ended = |events: &[Event], device: &str| {
        channel_events(events, "NETAUDIT_NETCONF_FAILED", device).len()
            + channel_events(events, "NETAUDIT_NETCONF_TERMINATED", device).len()
    };
    let events = wait_stored(
        &server,
        "the good lines and an event for each bad device",
        |events| {
            lines_of(events, "good").len() >= expected.len()
                && [
                    "wrong-key",
                    "malformed",
                    "unterminated",
                    "huge-chunk",
                    "no-base",
                ]
                .iter()
                .all(|d| failed_or_ended(events, d) > 0)
        },
    );
    assert_eq!(
        lines_of(&events, "good"),
        expected,
        "the good device is unaffected"
    );

    let failed = channel_events(&events, "NETAUDIT_NETCONF_FAILED", "wrong-key");
    let e = failed[0];
    assert_eq!(param(e, "stage"), Some("host-key"));
    assert!(
        param(e, "reason")
            .unwrap()
            .contains("line 1: possible man-in-the-middle"),
        "{e:?}"
    );
    assert!(param(e, "host-key").unwrap().starts_with("SHA256:"));
    assert_eq!(
        param(e, "peer"),
        Some(format!("127.0.0.1:{}", good.port).as_str())
    );
    assert!(lines_of(&events, "wrong-key").is_empty());

    // The malformed stream: its good first line is stored, then the session closes.
    assert_eq!(lines_of(&events, "malformed"), expected[..1]);
    let ended = channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "malformed");
    assert!(
        param(ended[0], "reason").unwrap().contains("malformed XML"),
        "{:?}",
        ended[0]
    );

    let reason = |device: &str| {
        let e = channel_events(&events, "NETAUDIT_NETCONF_FAILED", device)[0];
        param(e, "reason").unwrap().to_string()
    };
    assert!(
        reason("unterminated").contains("never terminated"),
        "{}",
        reason("unterminated")
    );
    assert!(
        reason("no-base").contains("offers no NETCONF base capability"),
        "{}",
        reason("no-base")
    );
    let ended = channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "huge-chunk");
    assert!(
        param(ended[0], "reason")
            .unwrap()
            .contains("over the maximum"),
        "{:?}",
        ended[0]
    );
    for device in ["unterminated", "no-base", "huge-chunk"] {
        assert!(lines_of(&events, device).is_empty(), "{device}");
    }
    let log = server.log();
    assert!(log.contains("host key refused"), "{log}");
    assert!(log.contains("NETCONF session failed; closed"), "{log}");
    assert_eq!(
        server.metric("netaudit_netconf_connected{device=\"good\"}"),
        1
    );
    assert!(server.metric("netaudit_netconf_failures_total{device=\"no-base\"}") >= 1);
}

#[test]
fn the_collector_reconnects_after_sshd_restarts_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let sshd_dir: PathBuf = dir.path().join("sshd");
    let mut sshd = device(&sshd_dir, "normal");
    let tables = table("r1", &sshd, dir.path(), false, "")
        + &table(
            "sub",
            &sshd,
            dir.path(),
            false,
            "mode = \"create-subscription\"\ncatch_up = true",
        );
    let server = start(dir.path(), &tables);
    let expected = seed_lines();
    wait_stored(&server, "the first session's lines", |events| {
        lines_of(events, "r1").len() == expected.len()
            && lines_of(events, "sub").len() == expected.len()
    });

    sshd.stop();
    let events = wait_stored(&server, "the end of both sessions", |events| {
        ["r1", "sub"]
            .iter()
            .all(|d| !channel_events(events, "NETAUDIT_NETCONF_TERMINATED", d).is_empty())
    });
    let ended = channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "r1")[0];
    assert_eq!(param(ended, "events"), Some("8"));
    let marker = "<85>1 2020-08-11T11:20:00.000-07:00 cartier mgd 71700 UI_LOGIN_EVENT [junos@2636.1.1.1.2.164 username=\"audit\"] after the restart";
    std::fs::write(sshd_dir.join("lines.log"), format!("{marker}\n")).unwrap();
    sshd.restart();

    let events = wait_stored(&server, "the line sent after the reconnection", |events| {
        ["r1", "sub"]
            .iter()
            .all(|d| lines_of(events, d).last().map(String::as_str) == Some(marker))
    });
    for device in ["r1", "sub"] {
        assert_eq!(
            lines_of(&events, device).len(),
            expected.len() + 1,
            "{device}"
        );
        assert_eq!(
            channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", device).len(),
            2,
            "{device}"
        );
    }
    server.wait_metric(
        "netaudit_netconf_reconnects_total{device=\"r1\"}",
        1,
        Duration::from_secs(10),
    );
    assert_eq!(server.metric("netaudit_netconf_connected"), 2);
    // The subscription asked the device to replay from its last line.
    let requests = std::fs::read_to_string(sshd_dir.join("requests.log")).unwrap();
    let subscriptions: Vec<&str> = requests
        .lines()
        .filter(|r| r.contains("create-subscription"))
        .collect();
    assert_eq!(subscriptions.len(), 2, "{requests}");
    assert!(!subscriptions[0].contains("startTime"), "{requests}");
    assert!(subscriptions[1].contains("<startTime>"), "{requests}");
}
