//! The HTTP API over real HTTP where the running server is the point:
//! `netaudit serve` on loopback ports with a private data directory, users
//! made with `netaudit user` while it serves; admin actions forwarded by its
//! syslog output, the outbox of `netaudit user` drained while running and
//! after a restart, SIGTERM with the API mounted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{archive_success, events_with_code, PASSWORD};
use crate::raw_http::{parse_reply, Reply};
use crate::support::{config_text, free_port, free_tcp_port, Netaudit};

/// A minimal HTTP/1.1 client (Connection: close; chunked bodies decoded).
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&[u8]>,
) -> Reply {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = auth {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    if let Some(body) = body {
        // The server may answer 413 before reading everything.
        let _ = stream.write_all(body);
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_reply(&raw)
}

fn post(address: SocketAddr, path: &str, auth: Option<&str>, body: &Value) -> Reply {
    request(
        address,
        "POST",
        path,
        auth,
        Some(body.to_string().as_bytes()),
    )
}

/// `netaudit user ARGS...` on the server's configuration.
fn user_cli(server: &Netaudit, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("user")
        .arg("-c")
        .arg(&server.config_path)
        .args(args)
        .output()
        .expect("run netaudit user");
    assert!(
        output.status.success(),
        "netaudit user {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn add_user(server: &Netaudit, name: &str, role: &str) {
    let file = server.dir.join(format!("{name}.pw"));
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("write password file");
    user_cli(
        server,
        &[
            "add",
            name,
            "--role",
            role,
            "--password-file",
            file.to_str().expect("utf-8 path"),
        ],
    );
}

fn login(server: &Netaudit, name: &str) -> String {
    let reply = post(
        server.http,
        "/api/v1/login",
        None,
        &json!({"username": name, "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cookie = reply.header("set-cookie").expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );
    reply.json()["token"].as_str().expect("token").to_string()
}

/// A server with an admin, an auditor and a reporter (with an API token).
struct Fixture {
    _dir: tempfile::TempDir,
    server: Netaudit,
    token: String,
}

fn start(extra: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let http = free_tcp_port();
    let config = config_text(
        dir.path(),
        http,
        &format!(
            "[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{port}\"\n\n[api]\nmax_login_attempts = 3\naccess_window_secs = 60\n{extra}"
        ),
    );
    let server = Netaudit::start(dir.path(), &config);
    add_user(&server, "root-admin", "admin");
    add_user(&server, "alice", "auditor");
    add_user(&server, "app1", "reporter");
    let token = user_cli(&server, &["token", "app1"]);
    assert!(token.starts_with("na_tok_"), "{token}");
    Fixture {
        _dir: dir,
        server,
        token,
    }
}

/// A TCP syslog receiver (LF framing) collecting what it gets.
fn syslog_receiver() -> (u16, Arc<Mutex<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        // One connection at a time, for the life of the test process.
        for stream in listener.incoming().flatten() {
            let reader = BufReader::new(stream);
            for line in reader.lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        }
    });
    (port, text)
}

#[test]
fn every_admin_action_is_stored_with_actor_and_address_and_forwarded() {
    let (port, received) = syslog_receiver();
    let f = start(&format!(
        "\n[[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{port}\"\nformat = \"standard\"\nframing = \"lf\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n"
    ));
    let a = f.server.http;
    let admin = login(&f.server, "root-admin");
    let reply = post(
        a,
        "/api/v1/users",
        Some(&admin),
        &json!({"name": "bob", "role": "auditor", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        post(
            a,
            "/api/v1/users",
            Some(&admin),
            &json!({"name": "bob", "role": "auditor", "password": PASSWORD})
        )
        .status,
        409
    );
    assert_eq!(
        post(
            a,
            "/api/v1/users",
            Some(&admin),
            &json!({"name": "bad]name", "role": "auditor", "password": PASSWORD})
        )
        .status,
        400
    );
    let reply = request(
        a,
        "PUT",
        "/api/v1/users/bob/password",
        Some(&admin),
        Some(
            json!({"password": "another long password"})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        request(a, "POST", "/api/v1/users/bob/lock", Some(&admin), None).status,
        204
    );
    assert_eq!(
        request(a, "POST", "/api/v1/users/bob/unlock", Some(&admin), None).status,
        204
    );
    assert_eq!(
        request(a, "DELETE", "/api/v1/users/bob", Some(&admin), None).status,
        204
    );
    assert_eq!(
        request(a, "DELETE", "/api/v1/users/bob", Some(&admin), None).status,
        404
    );
    let list = request(a, "GET", "/api/v1/users", Some(&admin), None).json();
    assert_eq!(list["users"].as_array().map(Vec::len), Some(3));

    let codes = [
        ("JUNOSCOPE_LOGIN_SUCCESSFUL", "root-admin"),
        ("JUNOSCOPE_USER_CREATED", "root-admin"),
        ("JUNOSCOPE_USER_PASSWORD_CHANGED", "root-admin"),
        ("JUNOSCOPE_USER_LOCKED_BY_ADMIN", "root-admin"),
        ("JUNOSCOPE_USER_UNLOCKED_BY_ADMIN", "root-admin"),
        ("JUNOSCOPE_USER_DELETED", "root-admin"),
    ];
    for (code, actor) in codes {
        // The fixture's own `netaudit user add` calls are audited too (app
        // netaudit-cli, see user_command_changes_are_audited_...).
        let events: Vec<_> = events_with_code(&f.server.db, code)
            .into_iter()
            .filter(|e| e.app.as_deref() == Some("netaudit-api"))
            .collect();
        assert_eq!(events.len(), 1, "{code}");
        assert_eq!(events[0].user.as_deref(), Some(actor), "{code}");
        assert_eq!(
            events[0].client_addr.as_deref(),
            Some("127.0.0.1"),
            "{code}"
        );
    }
    // On the syslog output (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = received.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if codes.iter().all(|(code, _)| text.contains(code)) {
            assert!(text.contains("User created: user: 'bob' by username: 'root-admin' client address: '127.0.0.1'"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "syslog output got only:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_user_command_manages_accounts_and_the_server_stops_cleanly() {
    let mut f = start("");
    let listed = user_cli(&f.server, &["list"]);
    assert!(listed.contains("alice\tauditor\tactive"), "{listed}");
    user_cli(&f.server, &["lock", "alice"]);
    assert!(user_cli(&f.server, &["list"]).contains("alice\tauditor\tlocked"));
    let reply = post(
        f.server.http,
        "/api/v1/login",
        None,
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 401);
    user_cli(&f.server, &["unlock", "alice"]);
    login(&f.server, "alice");

    let weak = f.server.dir.join("weak.pw");
    std::fs::write(&weak, "short\n").expect("write");
    for args in [
        vec![
            "add",
            "carol",
            "--role",
            "superuser",
            "--password-file",
            weak.to_str().expect("utf-8"),
        ],
        vec![
            "add",
            "carol",
            "--role",
            "admin",
            "--password-file",
            weak.to_str().expect("utf-8"),
        ],
        vec![
            "add",
            "alice",
            "--role",
            "admin",
            "--password-file",
            f.server.dir.join("alice.pw").to_str().expect("utf-8"),
        ],
        vec!["token", "nobody"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("user")
            .arg("-c")
            .arg(&f.server.config_path)
            .args(&args)
            .output()
            .expect("run netaudit user");
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(!output.stderr.is_empty());
    }
    // A token revoked with its user: deleted through the API.
    let admin = login(&f.server, "root-admin");
    assert_eq!(
        request(
            f.server.http,
            "DELETE",
            "/api/v1/users/app1",
            Some(&admin),
            None
        )
        .status,
        204
    );
    assert_eq!(
        post(
            f.server.http,
            "/api/v1/events",
            Some(&f.token),
            &archive_success("x")
        )
        .status,
        401
    );
    // SIGTERM with the API mounted: the writer ends and the process exits 0.
    assert!(f.server.stop().success());
}

/// Waits (bounded) until the store holds `count` events of `code` made by
/// `netaudit user`; returns them.
fn wait_cli_events(server: &Netaudit, code: &str, count: usize) -> Vec<netaudit_event::Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: Vec<_> = events_with_code(&server.db, code)
            .into_iter()
            .filter(|e| e.app.as_deref() == Some("netaudit-cli"))
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} {code} events from netaudit user after 30 s\nlog:\n{}",
            found.len(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn param<'a>(event: &'a netaudit_event::Event, name: &str) -> Option<&'a str> {
    event
        .params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.value.as_str())
}

#[test]
fn user_command_changes_are_audited_while_running_and_after_a_restart() {
    // start() made three users with `netaudit user add` while serving.
    let mut f = start("");
    let created = wait_cli_events(&f.server, "JUNOSCOPE_USER_CREATED", 3);
    let mut new_users: Vec<&str> = created
        .iter()
        .filter_map(|e| param(e, "new-user"))
        .collect();
    new_users.sort_unstable();
    assert_eq!(new_users, ["alice", "app1", "root-admin"]);
    for event in &created {
        assert_eq!(event.client_addr.as_deref(), Some("local"));
        assert_eq!(param(event, "via"), Some("netaudit user"));
        assert!(event.user.is_some(), "the operator is recorded: {event:?}");
    }

    user_cli(&f.server, &["lock", "alice"]);
    user_cli(&f.server, &["unlock", "alice"]);
    let locked = wait_cli_events(&f.server, "JUNOSCOPE_USER_LOCKED_BY_ADMIN", 1);
    assert_eq!(param(&locked[0], "username"), Some("alice"));
    wait_cli_events(&f.server, "JUNOSCOPE_USER_UNLOCKED_BY_ADMIN", 1);

    // A change made while the server is down waits in the auth database
    // and is stored at the next start; a refused change queues nothing.
    assert!(f.server.stop().success());
    let pw = f.server.dir.join("alice.pw");
    user_cli(
        &f.server,
        &[
            "passwd",
            "alice",
            "--password-file",
            pw.to_str().expect("utf-8"),
        ],
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["user", "-c"])
        .arg(&f.server.config_path)
        .args(["lock", "nobody"])
        .output()
        .expect("run netaudit user");
    assert!(!refused.status.success());
    assert!(events_with_code(&f.server.db, "JUNOSCOPE_USER_PASSWORD_CHANGED").is_empty());
    let mut server = Netaudit::start_with(&f.server.dir, &f.server.config_path);
    let changed = wait_cli_events(&server, "JUNOSCOPE_USER_PASSWORD_CHANGED", 1);
    assert_eq!(param(&changed[0], "target-user"), Some("alice"));
    // Each change once: the outbox was emptied after each commit.
    assert_eq!(
        events_with_code(&server.db, "JUNOSCOPE_USER_CREATED").len(),
        3
    );
    assert_eq!(
        events_with_code(&server.db, "JUNOSCOPE_USER_LOCKED_BY_ADMIN").len(),
        1
    );
    assert_eq!(
        events_with_code(&server.db, "JUNOSCOPE_USER_PASSWORD_CHANGED").len(),
        1
    );
    assert!(server.stop().success());
}
