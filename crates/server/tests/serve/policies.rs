//! Event policies over real input: syslog over TCP into `netaudit serve`,
//! each correlation kind, a threshold crossing across `kill -9` reported
//! exactly once, the `exec` and `webhook` actions (docs/policies.md).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use netaudit_event::Event;
use sha2::Sha256;

use crate::support::*;

pub(crate) const SD: &str = "junos@2636.1.1.1.2.164";

/// A running server with a TCP listener and `policies` in its configuration.
pub(crate) fn start(dir: &Path, policies: &str) -> (Netaudit, u16) {
    let port = free_tcp_port();
    let rest =
        format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\n{policies}");
    let config = config_text(dir, free_tcp_port(), &rest);
    (Netaudit::start(dir, &config), port)
}

/// Sends RFC 5424 lines (octet-counted) over one TCP connection.
pub(crate) fn send(port: u16, lines: &[String]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for line in lines {
        write!(stream, "{} {}", line.len(), line).unwrap();
    }
}

pub(crate) fn line(host: &str, app: &str, code: &str, params: &str, message: &str) -> String {
    format!("<86>1 2026-12-06T10:00:00Z {host} {app} - {code} [{SD} {params}] {message}")
}

fn failed_login(user: &str, from: &str) -> String {
    line(
        "fw1",
        "sshd",
        "SSHD_LOGIN_FAILED",
        &format!("username=\"{user}\" source-address=\"{from}\""),
        &format!("Login failed for user '{user}' from host '{from}'"),
    )
}

pub(crate) fn derived(events: &[Event], policy: &str) -> Vec<Event> {
    events
        .iter()
        .filter(|e| {
            e.code.as_deref() == Some("NETAUDIT_POLICY_TRIGGERED")
                && e.param("policy") == Some(policy)
        })
        .cloned()
        .collect()
}

/// Waits (bounded) until `policy` has stored `count` derived events.
pub(crate) fn wait_derived(server: &Netaudit, policy: &str, count: usize) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = derived(&stored_events(&server.db), policy);
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{policy}: {} derived events within 30 s, expected {count}\n{}",
            found.len(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (bounded) until the policy's evaluation cursor reaches `seq`.
fn wait_cursor(server: &Netaudit, policy: &str, seq: u64) {
    server.wait_metric(
        &format!("netaudit_output_cursor_seq{{output=\"policy:{policy}\"}}"),
        seq,
        Duration::from_secs(30),
    );
}

const BRUTE: &str = "[[policy]]\nname = \"brute\"\n[policy.match]\ncodes = [\"SSHD_LOGIN_FAILED\"]\n[policy.count]\nthreshold = 3\nwindow_secs = 600\ngroup_by = [\"param:username\", \"param:source-address\"]\n";

#[test]
fn a_threshold_crossing_across_kill_9_is_reported_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = start(dir.path(), BRUTE);
    // Two failures, and one from elsewhere that must not count.
    send(
        port,
        &[
            failed_login("root", "10.0.0.1"),
            failed_login("root", "10.0.0.2"),
            failed_login("root", "10.0.0.1"),
        ],
    );
    wait_cursor(&server, "brute", 3);
    server.kill();

    // The window is rebuilt from the store: the third failure after the
    // restart crosses the threshold.
    let server2 = Netaudit::start_with(dir.path(), &server.config_path);
    let mut server = server2;
    send(port, &[failed_login("root", "10.0.0.1")]);
    let fired = wait_derived(&server, "brute", 1);
    assert_eq!(fired[0].param("seqs"), Some("1,3,4"), "{fired:?}");
    assert_eq!(fired[0].param("param:source-address"), Some("10.0.0.1"));
    server.kill();

    // A crash after the derived event was committed but before the cursor
    // moved past the failures: put the cursor back, as such a crash leaves it.
    let db = rusqlite::Connection::open(dir.path().join("netaudit.db")).unwrap();
    let changed = db
        .execute("UPDATE cursors SET seq = 1 WHERE name = 'policy:brute'", [])
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let mut server = Netaudit::start_with(dir.path(), &server.config_path);
    let last = server.metric("netaudit_store_last_seq");
    wait_cursor(&server, "brute", last);
    assert!(server.stop().success());
    let all = stored_events(&server.db);
    let fired = derived(&all, "brute");
    assert_eq!(fired.len(), 1, "reported once: {fired:?}");
}

#[test]
fn a_sequence_and_a_silent_host_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let policies = "[[policy]]\nname = \"login-then-commit\"\n[policy.match]\ncodes = [\"UI_LOGIN_EVENT\"]\n[policy.sequence]\nwindow_secs = 300\ngroup_by = [\"host\", \"param:username\"]\n[policy.sequence.then]\ncodes = [\"UI_COMMIT\"]\n\n[[policy]]\nname = \"silent\"\n[policy.match]\nhosts = [\"r*\"]\n[policy.absence]\nsilence_secs = 2\n";
    let (mut server, port) = start(dir.path(), policies);
    let login = |user: &str| {
        line(
            "r1",
            "mgd",
            "UI_LOGIN_EVENT",
            &format!("username=\"{user}\" class-name=\"super-user\""),
            &format!("User '{user}' login, class 'super-user'"),
        )
    };
    let commit = |user: &str| {
        line(
            "r1",
            "mgd",
            "UI_COMMIT",
            &format!("username=\"{user}\" command=\"commit\""),
            &format!("User '{user}' requested 'commit' operation"),
        )
    };
    send(
        port,
        &[
            commit("root"),
            login("root"),
            commit("alice"),
            commit("root"),
        ],
    );
    let fired = wait_derived(&server, "login-then-commit", 1);
    assert_eq!(fired[0].param("seqs"), Some("2,4"));
    // r1 fell silent after its last event: reported once.
    let silent = wait_derived(&server, "silent", 1);
    assert_eq!(silent[0].param("host"), Some("r1"));
    assert_eq!(silent[0].param("seqs"), Some("4"));
    std::thread::sleep(Duration::from_secs(3));
    assert!(server.stop().success());
    let all = stored_events(&server.db);
    assert_eq!(derived(&all, "silent").len(), 1);
    assert_eq!(derived(&all, "login-then-commit").len(), 1);
}

#[test]
fn exec_gets_the_derived_event_on_stdin_and_its_exit_status_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exec-input.json");
    let policies = format!(
        "[[policy]]\nname = \"on-time-change\"\n[policy.match]\ncodes = [\"NSD_SYS_TIME_CHANGE\"]\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/sh\"\nargs = [\"-c\", \"cat > '{}'\"]\ntimeout_secs = 10\n\n[[policy]]\nname = \"hangs\"\n[policy.match]\ncodes = [\"NSD_SYS_TIME_CHANGE\"]\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/sleep\"\nargs = [\"60\"]\ntimeout_secs = 1\n",
        out.display()
    );
    let (mut server, port) = start(dir.path(), &policies);
    send(
        port,
        &["<30>1 2026-12-06T10:00:00Z cartier nsd 2095 NSD_SYS_TIME_CHANGE - System time has changed.".to_string()],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let actions = loop {
        let actions: Vec<Event> = stored_events(&server.db)
            .into_iter()
            .filter(|e| e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION"))
            .collect();
        if actions.len() >= 2 {
            break actions;
        }
        assert!(
            Instant::now() < deadline,
            "actions: {actions:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let input: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(input["code"], "NETAUDIT_POLICY_TRIGGERED");
    assert!(input["message"]
        .as_str()
        .unwrap()
        .contains("on-time-change"));
    let of = |policy: &str| {
        actions
            .iter()
            .find(|e| e.param("policy") == Some(policy))
            .cloned()
            .unwrap()
    };
    assert_eq!(of("on-time-change").param("result"), Some("ok"));
    assert_eq!(of("on-time-change").param("outcome"), Some("exit status 0"));
    assert_eq!(of("hangs").param("result"), Some("failed"));
    assert!(of("hangs").param("outcome").unwrap().contains("timeout"));
    assert!(server.stop().success());
}

/// One request a receiver got: header lines, body, the status it answered.
type Request = (Vec<String>, Vec<u8>, u16);

/// A webhook receiver that answers 500 to the first `failures` requests and
/// 200 after; keeps every request (headers, body, answer).
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let kept = requests.clone();
        std::thread::spawn(move || {
            // Bounded: a test sends a handful of requests.
            for stream in listener.incoming().take(50) {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream);
                let mut headers = Vec::new();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        break;
                    }
                    let header = header.trim_end().to_string();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    headers.push(header);
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let mut requests = kept.lock().unwrap();
                let status = if requests.len() < failures { 500 } else { 200 };
                requests.push((headers, body, status));
                drop(requests);
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, requests }
    }
}

#[test]
fn a_webhook_failing_three_times_is_delivered_once_signed() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(3);
    let secret_file = dir.path().join("webhook.secret");
    std::fs::write(&secret_file, "s3cret\n").unwrap();
    let policies = format!(
        "[[policy]]\nname = \"hook\"\n[policy.match]\ncodes = [\"UI_CLI_IDLE_TIMEOUT\"]\n[[policy.action]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\nsecret_file = \"{}\"\ntimeout_secs = 5\nmax_attempts = 6\n",
        receiver.port,
        secret_file.display()
    );
    let (mut server, port) = start(dir.path(), &policies);
    send(
        port,
        &[line(
            "r1",
            "cli",
            "UI_CLI_IDLE_TIMEOUT",
            "username=\"root\"",
            "Idle timeout for user 'root' exceeded and session terminated",
        )],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let action = loop {
        let found = stored_events(&server.db)
            .into_iter()
            .find(|e| e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION"));
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no action recorded\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(action.param("result"), Some("ok"), "{action:?}");
    assert!(server.stop().success());
    let requests = receiver.requests.lock().unwrap();
    assert_eq!(requests.len(), 4, "three failures, then one delivery");
    let delivered: Vec<_> = requests.iter().filter(|r| r.2 == 200).collect();
    assert_eq!(delivered.len(), 1);
    let (headers, body, _) = delivered[0];
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header("x-netaudit-signature"), expected);
    assert!(header("x-netaudit-delivery").starts_with("hook:"));
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["code"], "NETAUDIT_POLICY_TRIGGERED");
    // Every attempt carried the same body and delivery id.
    assert!(requests.iter().all(|r| &r.1 == body));
}

#[test]
fn the_builtin_ndcpp_policies_fire_on_the_seed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let rest = format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n");
    let config = config_text(dir.path(), free_tcp_port(), &rest).replace(
        "[builtin_policies]\nenabled = false\n",
        "[builtin_policies]\nsilent_host = false\n",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let now = time::OffsetDateTime::now_utc();
    let stamp = |offset_secs: i64| {
        (now + time::Duration::seconds(offset_secs))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    // Seed 003's lines (FIA_AFL.1 / FIA_UIA_EXT.1, FPT_STM_EXT.1), sent
    // with the current time; the last one from a clock an hour ahead.
    let mut lines: Vec<String> = (0..3)
        .map(|_| {
            format!("<86>1 {} fw1 sshd - SSHD_LOGIN_FAILED [{SD} username=\"root\" source-address=\"10.223.5.251\"] Login failed for user 'root' from host '10.223.5.251'", stamp(0))
        })
        .collect();
    lines.push(format!("<190>1 {} fw1 mgd 71079 UI_CMDLINE_READ_LINE [{SD} username=\"root\" command=\"set date 202005201815.00 \"] User 'root', command 'set date 202005201815.00 '", stamp(0)));
    lines.push(format!(
        "<30>1 {} fw1 nsd 2641 NSD_SYS_TIME_CHANGE - System time has changed",
        stamp(3600)
    ));
    send(port, &lines);
    let failed = wait_derived(&server, "ndcpp-failed-login", 1);
    assert_eq!(failed[0].param("client-address"), Some("10.223.5.251"));
    assert_eq!(failed[0].param("user"), Some("root"));
    assert_eq!(failed[0].user.as_deref(), Some("root"));
    let changed = wait_derived(&server, "ndcpp-time-change", 2);
    assert_eq!(
        changed[0].param("command"),
        Some("set date 202005201815.00 ")
    );
    assert_eq!(changed[1].param("event-code"), Some("NSD_SYS_TIME_CHANGE"));
    let jumped = wait_derived(&server, "ndcpp-clock-jump", 1);
    assert_eq!(jumped[0].param("host"), Some("fw1"));
    let new_offset: i64 = jumped[0].param("new-offset-ms").unwrap().parse().unwrap();
    assert!((3_500_000..3_700_000).contains(&new_offset), "{new_offset}");
    assert!(server.stop().success());
    let all = stored_events(&server.db);
    assert_eq!(derived(&all, "ndcpp-failed-login").len(), 1);
    assert_eq!(derived(&all, "ndcpp-clock-jump").len(), 1);
}

#[test]
fn check_config_names_the_key_and_line_of_a_bad_policy() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[policy]]\nname = \"a\"\n[policy.match]\nmessage_regex = \"(unclosed\"\n",
            "policy[0].match.message_regex",
            ":4:",
        ),
        (
            "[[policy]]\nname = \"a\"\n[policy.sequence]\nwindow_secs = 0\n[policy.sequence.then]\ncodes = [\"X\"]\n",
            "policy[0].sequence.window_secs",
            ":4:",
        ),
        (
            "[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/nonexistent/notify\"\n",
            "policy[0].action[0].program",
            "/nonexistent/notify",
        ),
        (
            "[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"gopher://h/\"\nsecret_file = \"/dev/null\"\n",
            "policy[0].action[0].url",
            ":5:",
        ),
    ];
    for (i, (text, key, place)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("bad-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(
            stderr.contains(key) && stderr.contains(place),
            "{key} {place}: {stderr}"
        );
    }
}

#[test]
fn sighup_starts_a_new_policy_from_the_end_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = start(dir.path(), "");
    let idle = |user: &str| {
        line(
            "r1",
            "cli",
            "UI_CLI_IDLE_TIMEOUT",
            &format!("username=\"{user}\""),
            "Idle timeout",
        )
    };
    send(port, &[idle("before")]);
    server.wait_metric("netaudit_stored_events_total", 1, Duration::from_secs(20));
    let text = std::fs::read_to_string(&server.config_path).unwrap();
    std::fs::write(
        &server.config_path,
        format!("{text}\n[[policy]]\nname = \"idle\"\n[policy.match]\ncodes = [\"UI_CLI_IDLE_TIMEOUT\"]\n"),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    wait_cursor(&server, "idle", 1);
    send(port, &[idle("after")]);
    let fired = wait_derived(&server, "idle", 1);
    assert_eq!(fired[0].param("username"), Some("after"));
    assert!(server.stop().success());
    assert_eq!(derived(&stored_events(&server.db), "idle").len(), 1);
}

#[test]
fn a_sender_passing_for_the_policy_engine_neither_escapes_policies_nor_runs_actions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("actions.log");
    let policies = format!(
        "{BRUTE}[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/sh\"\nargs = [\"-c\", \"cat >> '{}'\"]\ntimeout_secs = 10\n",
        out.display()
    );
    let (server, port) = start(dir.path(), &policies);
    // A forged firing of `brute` (the engine's app, code and SD-ID), then
    // three failed logins whose sender also names its app like the engine.
    let forged = "<12>1 2026-12-06T10:00:00Z fw1 netaudit-policy - NETAUDIT_POLICY_TRIGGERED [netaudit@32473 policy=\"brute\" key=\"forged\"] forged firing".to_string();
    let spoofed_failure = line(
        "fw1",
        "netaudit-policy",
        "SSHD_LOGIN_FAILED",
        "username=\"root\" source-address=\"10.0.0.9\"",
        "Login failed for user 'root' from host '10.0.0.9'",
    );
    send(
        port,
        &[
            forged,
            spoofed_failure.clone(),
            spoofed_failure.clone(),
            spoofed_failure,
        ],
    );
    // The failures count: the policy fires once, on them.
    let deadline = Instant::now() + Duration::from_secs(30);
    let fired = loop {
        let all = stored_events(&server.db);
        let fired: Vec<Event> = derived(&all, "brute")
            .into_iter()
            .filter(|e| e.raw.is_empty())
            .collect();
        let actions: Vec<Event> = all
            .iter()
            .filter(|e| e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION"))
            .cloned()
            .collect();
        if !fired.is_empty() && !actions.is_empty() {
            break fired;
        }
        assert!(
            Instant::now() < deadline,
            "fired {fired:?}, actions {actions:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].param("seqs"), Some("2,3,4"), "{fired:?}");
    // The action consumer has looked at every event: the forged firing
    // (sequence 1) ran nothing.
    let last = server.metric("netaudit_store_last_seq");
    server.wait_metric(
        "netaudit_output_cursor_seq{output=\"policy-action:brute\"}",
        last,
        Duration::from_secs(30),
    );
    let actions: Vec<Event> = stored_events(&server.db)
        .into_iter()
        .filter(|e| e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION"))
        .collect();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].param("result"), Some("ok"), "{actions:?}");
    let ran = std::fs::read_to_string(&out).unwrap();
    assert!(ran.contains("10.0.0.9"), "{ran}");
    assert!(!ran.contains("forged"), "{ran}");
}
