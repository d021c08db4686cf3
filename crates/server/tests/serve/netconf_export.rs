//! `[netconf_server]`, the NETCONF exporter, through `netaudit serve` with
//! ncclient (PyPI) as the client (`tests/support/netconf_client.py`): key
//! and password logins, the stream list, subscriptions with and without
//! replay, the lockout policy, the auditor role, bad input closing only its
//! session, and a chain of two servers (a second netaudit collecting from
//! the first's exporter with `[[input.netconf]]`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netaudit_event::Event;
use serde_json::Value;

use crate::netconf::wait_stored;
use crate::support::sshd::keygen;
use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";
/// The code of the test's lines; the subscriptions filter on it, so that
/// netaudit's own events (the sessions') do not count.
const CODE: &str = "UI_CMDLINE_READ_LINE";

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/netconf_client.py")
}

fn line(n: u32) -> String {
    format!(
        "<85>1 2026-12-06T10:00:{:02}.000Z r9 mgd 4242 {CODE} [junos@2636.1.1.1.2.18 username=\"audit\" command=\"show {n}\"] User 'audit', command 'show {n}'",
        n % 60
    )
}

/// Sends lines to the server's TCP listener, one per line.
fn send_lines(port: u16, lines: &[String]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    for l in lines {
        stream.write_all(format!("{l}\n").as_bytes()).unwrap();
    }
    stream.flush().unwrap();
}

struct Exporter {
    server: Netaudit,
    dir: PathBuf,
    syslog_port: u16,
    netconf_port: u16,
    password_file: PathBuf,
    /// The auditor's private key (its public half is authorized).
    key: PathBuf,
}

fn netaudit(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "netaudit {args:?}: {text}");
    text
}

/// A server with the exporter on a free port; users `audit` (auditor, key
/// and password), `locky` (auditor), `boss` (admin).
fn exporter(dir: &Path, extra: &str) -> Exporter {
    let syslog_port = free_tcp_port();
    let netconf_port = free_tcp_port();
    let keys_dir = dir.join("authorized");
    std::fs::create_dir_all(&keys_dir).unwrap();
    let key = dir.join("audit_key");
    keygen(&key);
    std::fs::copy(dir.join("audit_key.pub"), keys_dir.join("audit")).unwrap();
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{syslog_port}\"\n\n\
         [api]\nmax_login_attempts = 3\n\n\
         [netconf_server]\nenabled = true\naddress = \"127.0.0.1:{netconf_port}\"\n\
         authorized_keys_dir = \"{}\"\nkeepalive_interval = \"5s\"\nhandshake_timeout = \"5s\"\n{extra}\n",
        keys_dir.display()
    );
    let config = dir.join("netaudit.toml");
    std::fs::write(&config, config_text(dir, free_tcp_port(), &rest)).unwrap();
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    for (user, role) in [
        ("audit", "auditor"),
        ("locky", "auditor"),
        ("boss", "admin"),
    ] {
        netaudit(&[
            "user",
            "-c",
            config.to_str().unwrap(),
            "add",
            user,
            "--role",
            role,
            "--password-file",
            password_file.to_str().unwrap(),
        ]);
    }
    let server = Netaudit::start_with(dir, &config);
    Exporter {
        server,
        dir: dir.to_owned(),
        syslog_port,
        netconf_port,
        password_file,
        key,
    }
}

/// One run of the client script to its end (it bounds itself by --timeout).
fn client(exp: &Exporter, action: &str, user: &str, auth: Auth, args: &[&str]) -> Vec<Value> {
    let output = client_command(exp, action, user, auth, args)
        .output()
        .expect("run python3 (ncclient: run .ci/install-deps)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("No module named 'ncclient'"),
        "ncclient is missing: run .ci/install-deps"
    );
    let values: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        output.status.success(),
        "{action} as {user}: {}\n{stdout}\n{}\nserver log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        exp.server.log()
    );
    values
}

#[derive(Clone, Copy)]
enum Auth {
    Password,
    WrongPassword,
    Key,
}

fn client_command(exp: &Exporter, action: &str, user: &str, auth: Auth, args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(client_script())
        .arg(action)
        .args(["--port", &exp.netconf_port.to_string(), "--user", user])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match auth {
        Auth::Password => {
            command.arg("--password-file").arg(&exp.password_file);
        }
        Auth::WrongPassword => {
            let wrong = exp.dir.join("wrong-password");
            std::fs::write(&wrong, "not the password at all\n").unwrap();
            command.arg("--password-file").arg(wrong);
        }
        Auth::Key => {
            command.arg("--key").arg(&exp.key);
        }
    }
    command
}

/// A subscription running in the background: its JSON lines as they come.
struct Subscriber {
    _child: ChildGuard,
    lines: mpsc::Receiver<Value>,
}

impl Subscriber {
    fn start(exp: &Exporter, args: &[&str]) -> Subscriber {
        let mut child = client_command(exp, "subscribe", "audit", Auth::Key, args)
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&l) {
                    let _ = tx.send(v);
                }
            }
        });
        let sub = Subscriber {
            _child: ChildGuard(child),
            lines,
        };
        let first = sub.next(exp);
        assert_eq!(first["subscribed"], true, "{first}");
        sub
    }

    /// The next line (bounded).
    fn next(&self, exp: &Exporter) -> Value {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no notification within 30 s\n{}", exp.server.log()))
    }

    fn events(&self, exp: &Exporter, count: usize) -> Vec<Value> {
        (0..count)
            .map(|_| {
                let v = self.next(exp);
                assert!(v.get("event").is_some(), "expected an event: {v}");
                v["event"].clone()
            })
            .collect()
    }
}

fn coded<'e>(events: &'e [Event], code: &str) -> Vec<&'e Event> {
    events
        .iter()
        .filter(|e| e.code.as_deref() == Some(code))
        .collect()
}

fn of_user<'e>(events: &'e [Event], code: &str, user: &str) -> Vec<&'e Event> {
    events
        .iter()
        .filter(|e| e.code.as_deref() == Some(code) && e.param("user") == Some(user))
        .collect()
}

#[test]
fn ncclient_logs_in_subscribes_with_and_without_replay_and_is_refused_as_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let exp = exporter(dir.path(), "");
    // A client that connects and says nothing is dropped after
    // handshake_timeout (5 s here); sessions that last longer are not.
    let _silent = TcpStream::connect(("127.0.0.1", exp.netconf_port)).unwrap();
    // Stored before any subscription: the replay's part.
    let early: Vec<String> = (1..=3).map(line).collect();
    send_lines(exp.syslog_port, &early);
    wait_stored(&exp.server, "the early lines", |e| {
        coded(e, CODE).len() >= 3
    });

    // Key and password logins.
    for auth in [Auth::Key, Auth::Password] {
        let out = client(&exp, "login", "audit", auth, &[]);
        assert_eq!(out[0]["login"], "ok", "{out:?}");
    }

    // The stream list.
    let streams = client(&exp, "streams", "audit", Auth::Key, &[]);
    let names: Vec<&str> = streams
        .iter()
        .filter_map(|s| s["stream"].as_str())
        .collect();
    assert_eq!(names, ["NETCONF", "syslog"]);
    assert!(streams.iter().all(|s| s["replay"] == true), "{streams:?}");

    // Replay from startTime, then live.
    let replay = Subscriber::start(
        &exp,
        &[
            "--start-time",
            "2026-01-01T00:00:00Z",
            "--code",
            CODE,
            "--count",
            "5",
        ],
    );
    let replayed = replay.events(&exp, 3);
    assert_eq!(replay.next(&exp)["replayComplete"], true);
    // Live only, no replay.
    let live = Subscriber::start(&exp, &["--code", CODE, "--count", "2"]);
    let later: Vec<String> = (4..=5).map(line).collect();
    send_lines(exp.syslog_port, &later);
    let replay_live = replay.events(&exp, 2);
    let live_events = live.events(&exp, 2);

    let stored = stored_events(&exp.server.db);
    let stored_lines = coded(&stored, CODE);
    let all: Vec<&Value> = replayed.iter().chain(&replay_live).collect();
    for (got, (n, stored)) in all.iter().zip((1..=5).zip(&stored_lines)) {
        assert_eq!(got["code"], CODE);
        assert_eq!(got["host"], "r9");
        assert_eq!(got["severity"], "notice");
        let line = got["line"].as_str().unwrap();
        assert!(line.contains(&format!("command 'show {n}'")), "{line}");
        assert!(line.contains("sequenceId="), "{line}");
        assert_eq!(
            stored.message.as_deref(),
            Some(format!("User 'audit', command 'show {n}'").as_str())
        );
    }
    // Sequence numbers increase and chain values are the store's (64 hex digits).
    let seqs: Vec<u64> = all
        .iter()
        .map(|v| v["sequence"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(all.iter().all(|v| v["chain"].as_str().unwrap().len() == 64));
    assert_eq!(live_events[0]["sequence"], replay_live[0]["sequence"]);
    assert_eq!(live_events[1]["chain"], replay_live[1]["chain"]);

    // A user without the auditor role is refused even with the right password.
    let out = client(&exp, "login", "boss", Auth::Password, &[]);
    assert_eq!(out[0]["login"], "refused", "{out:?}");
    // Wrong passwords count toward the lockout of the HTTP login (3 here).
    for _ in 0..3 {
        let out = client(&exp, "login", "locky", Auth::WrongPassword, &[]);
        assert_eq!(out[0]["login"], "refused", "{out:?}");
    }
    let out = client(&exp, "login", "locky", Auth::Password, &[]);
    assert_eq!(out[0]["login"], "refused", "locked now: {out:?}");
    // The HTTP login of the same user is locked too.
    let (status, _) = http_request(
        exp.server.http,
        "POST",
        "/api/v1/login",
        None,
        &format!(r#"{{"username":"locky","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(status, 401);

    // Malformed XML and a 4 GB chunk header each close only their own session.
    let alive = Subscriber::start(&exp, &["--code", CODE, "--count", "1"]);
    let bad = client(
        &exp,
        "raw",
        "audit",
        Auth::Password,
        &["--send", r#"\n#25\n<rpc message-id="9"><get>\n##\n"#],
    );
    let received = bad.last().unwrap()["received"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(received.contains("malformed-message"), "{received}");
    let huge = client(
        &exp,
        "raw",
        "audit",
        Auth::Password,
        &["--send", r"\n#4294967296\n"],
    );
    assert!(huge.iter().all(|v| v.get("open").is_none()), "{huge:?}");
    send_lines(exp.syslog_port, &[line(6)]);
    let after = alive.events(&exp, 1);
    assert!(after[0]["line"].as_str().unwrap().contains("show 6"));

    // The audit trail of the sessions.
    let events = wait_stored(&exp.server, "the lock and the refusals", |e| {
        !coded(e, "JUNOSCOPE_USER_AUTO_LOCKED").is_empty()
            && of_user(e, "NETAUDIT_NETCONF_SERVER_FAILED", "boss").len() == 1
            && of_user(e, "NETAUDIT_NETCONF_SERVER_FAILED", "locky").len() >= 4
    });
    let established = of_user(&events, "NETAUDIT_NETCONF_SERVER_ESTABLISHED", "audit");
    assert!(established.len() >= 5, "{}", established.len());
    assert!(established
        .iter()
        .any(|e| e.param("auth-method") == Some("publickey")));
    assert!(established
        .iter()
        .any(|e| e.param("auth-method") == Some("password")));
    assert!(established[0]
        .param("peer")
        .unwrap()
        .starts_with("127.0.0.1:"));
    let silent = of_user(&events, "NETAUDIT_NETCONF_SERVER_FAILED", "-");
    assert!(
        silent
            .iter()
            .any(|e| e.param("stage") == Some("ssh-handshake")),
        "{silent:?}"
    );
    let boss = of_user(&events, "NETAUDIT_NETCONF_SERVER_FAILED", "boss")[0];
    assert_eq!(boss.param("stage"), Some("authorization"));
    assert!(boss.param("reason").unwrap().contains("auditor role"));
    let ended = coded(&events, "NETAUDIT_NETCONF_SERVER_TERMINATED");
    assert!(ended
        .iter()
        .any(|e| e.param("reason").unwrap().contains("bad input")));
    assert!(ended
        .iter()
        .any(|e| e.param("reason") == Some("close-session")));

    let metrics = exp.server.metrics();
    assert!(metric_value(&metrics, "netaudit_netconf_server_sessions_total") >= 5);
    assert!(metric_value(&metrics, "netaudit_netconf_server_notifications_sent_total") >= 8);
    assert!(metric_value(&metrics, "netaudit_netconf_server_auth_failures_total") >= 5);
    assert!(metric_value(&metrics, "netaudit_netconf_server_protocol_errors_total") >= 2);
    drop((replay, live, alive));
}

#[test]
fn a_second_netaudit_collects_from_the_first_ones_exporter() {
    let dir = tempfile::tempdir().unwrap();
    let first = exporter(&dir.path().join("first"), "");
    let host_key =
        std::fs::read_to_string(dir.path().join("first/netconf_host_ed25519_key.pub")).unwrap();
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let rest = format!(
        "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{}\"\n\n\
         [[input.netconf]]\nname = \"first\"\naddress = \"127.0.0.1\"\nport = {}\nuser = \"audit\"\n\
         private_key = \"{}\"\nhost_key = \"{}\"\nreconnect_min = \"1s\"\nreconnect_max = \"2s\"\n",
        free_tcp_port(),
        first.netconf_port,
        first.key.display(),
        host_key.trim()
    );
    let second = Netaudit::start(
        &second_dir,
        &config_text(&second_dir, free_tcp_port(), &rest),
    );
    second.wait_metric(
        "netaudit_netconf_connected{device=\"first\"}",
        1,
        Duration::from_secs(30),
    );
    // The stream starts when the first server has read the request: probe
    // until one probe line arrives (bounded), then send the real lines.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut probe = 100;
    loop {
        send_lines(first.syslog_port, &[line(probe)]);
        let wait = Instant::now() + Duration::from_secs(2);
        let mut arrived = false;
        while Instant::now() < wait && !arrived {
            arrived = !coded(&stored_events(&second.db), CODE).is_empty();
            std::thread::sleep(Duration::from_millis(100));
        }
        if arrived {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no probe line came through\nfirst:\n{}\nsecond:\n{}",
            first.server.log(),
            second.log()
        );
        probe += 1;
    }
    let real: Vec<String> = (1..=5).map(line).collect();
    send_lines(first.syslog_port, &real);
    let events = wait_stored(&second, "the five lines through the chain", |e| {
        numbered(e).len() >= 5
    });
    let in_first = stored_events(&first.server.db);
    let first_lines = numbered(&in_first);
    let second_lines = numbered(&events);
    assert_eq!(first_lines.len(), 5);
    assert_eq!(second_lines.len(), 5, "{second_lines:?}");
    for (a, b) in first_lines.iter().zip(&second_lines) {
        assert_eq!(a.code, b.code);
        assert_eq!(a.host, b.host);
        assert_eq!(a.app, b.app);
        assert_eq!(a.time_ns, b.time_ns);
        assert_eq!(a.severity, b.severity);
        assert_eq!(a.message, b.message);
        assert_eq!(a.user, b.user);
        assert_eq!(b.param("device"), Some("first"));
        assert_eq!(b.param("input"), Some("netconf"));
    }
}

/// The test's lines numbered 1 to 5 (not the probes), in order.
fn numbered(events: &[Event]) -> Vec<&Event> {
    coded(events, CODE)
        .into_iter()
        .filter(|e| {
            e.message
                .as_deref()
                .is_some_and(|m| (1..=5).any(|n| m.ends_with(&format!("show {n}'"))))
        })
        .collect()
}
