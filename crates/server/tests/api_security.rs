//! The HTTP API under concurrency, a locked user database and hostile
//! clients: `netaudit serve` on loopback ports with a private data
//! directory, users made with `netaudit user`, requests over real HTTP.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{config_text, free_port, free_tcp_port, http_get, stored_events, Netaudit};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// A response: status, headers (lower-case names) and body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {:?}", self.status, self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    /// The `error` of a JSON error body.
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error string in {:?}", self.body))
            .to_string()
    }
}

/// Sends `raw` (a whole HTTP/1.1 request) and reads the answer until the
/// server closes (bounded by a read timeout).
fn exchange(address: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    // The server may answer before reading everything.
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_reply(&answer)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        let mut body = Vec::new();
        let mut input = &rest[..];
        // Bounded by the input length: every chunk consumes bytes.
        while let Some(pos) = input.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&input[..pos]).trim(), 16)
                .expect("chunk size");
            input = &input[pos + 2..];
            if size == 0 || input.len() < size + 2 {
                break;
            }
            body.extend_from_slice(&input[..size]);
            input = &input[size + 2..];
        }
        rest = body;
    }
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&rest).to_string(),
    }
}

/// A request with `Connection: close`, a bearer token and a JSON body.
fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = auth {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    exchange(address, head.as_bytes())
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

fn login(address: SocketAddr, name: &str) -> String {
    let reply = request(
        address,
        "POST",
        "/api/v1/login",
        None,
        Some(&json!({"username": name, "password": PASSWORD})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["token"].as_str().expect("token").to_string()
}

/// A server with an admin, an auditor and a reporter (with an API token).
struct Fixture {
    _dir: tempfile::TempDir,
    server: Netaudit,
    token: String,
}

fn start(api: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let http = free_tcp_port();
    let config = config_text(
        dir.path(),
        http,
        &format!(
            "[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{port}\"\n\n[api]\nmax_login_attempts = 3\naccess_window_secs = 60\n{api}"
        ),
    );
    let server = Netaudit::start(dir.path(), &config);
    add_user(&server, "root-admin", "admin");
    add_user(&server, "alice", "auditor");
    add_user(&server, "app1", "reporter");
    let token = user_cli(&server, &["token", "app1"]);
    Fixture {
        _dir: dir,
        server,
        token,
    }
}

fn events_with_code(db: &Path, code: &str) -> Vec<netaudit_event::Event> {
    stored_events(db)
        .into_iter()
        .filter(|e| e.code.as_deref() == Some(code))
        .collect()
}

/// Runs `count` copies of `work` at once (each on its own thread) and
/// returns their results.
fn concurrently<T: Send + 'static>(
    count: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let barrier = Arc::new(std::sync::Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("worker thread"))
        .collect()
}

#[test]
fn concurrent_final_reports_of_one_leaf_give_one_200_and_one_event() {
    let f = start("");
    let a = f.server.http;
    let reply = request(
        a,
        "POST",
        "/api/v1/operations",
        Some(&f.token),
        Some(&json!({"name": "raceop", "type": "archive", "devices": ["r0", "r1"]})),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let token = f.token.clone();
    let statuses = concurrently(20, move |_| {
        request(
            a,
            "PUT",
            "/api/v1/operations/raceop/leaves/r0",
            Some(&token),
            Some(&json!({"status": "success", "revision": "7"})),
        )
        .status
    });
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let conflict = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((ok, conflict), (1, 19), "{statuses:?}");
    let events = events_with_code(&f.server.db, "JUNOSCOPE_ARCHIVE_SUCCESS");
    assert_eq!(events.len(), 1, "{events:?}");
    // The other leaf is untouched and still reports once.
    let reply = request(
        a,
        "PUT",
        "/api/v1/operations/raceop/leaves/r1",
        Some(&f.token),
        Some(&json!({"status": "connection-error"})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = request(
        a,
        "PUT",
        "/api/v1/operations/raceop/leaves/r1",
        Some(&f.token),
        Some(&json!({"status": "success", "revision": "8"})),
    );
    assert_eq!(reply.status, 409, "{}", reply.body);
}

/// Holds the write lock of `auth.db` like another process would, until dropped.
struct HeldLock(rusqlite::Connection);

fn hold_lock(path: &Path) -> HeldLock {
    let conn = rusqlite::Connection::open(path).expect("open auth.db");
    conn.execute_batch("BEGIN EXCLUSIVE")
        .expect("take auth.db's lock");
    HeldLock(conn)
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

#[test]
fn a_locked_user_database_answers_503_and_health_does_not_wait_for_it() {
    let f = start("");
    let a = f.server.http;
    let admin = login(a, "root-admin");
    let lock = hold_lock(&f.server.dir.join("auth.db"));
    // Writers wait for the lock; each holds a thread meanwhile.
    let finished = Arc::new(AtomicUsize::new(0));
    let waiting = {
        let (admin, finished) = (admin.clone(), finished.clone());
        std::thread::spawn(move || {
            concurrently(8, move |i| {
                let reply = request(
                    a,
                    "POST",
                    &format!("/api/v1/users/{}/lock", ["alice", "app1"][i % 2]),
                    Some(&admin),
                    None,
                );
                finished.fetch_add(1, Ordering::SeqCst);
                reply
            })
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let health = http_get(a, "/health");
    let done_before_health = finished.load(Ordering::SeqCst);
    assert_eq!(
        health.as_ref().map(|h| h.0),
        Some(200),
        "{health:?}\n{}",
        f.server.log()
    );
    assert_eq!(
        done_before_health, 0,
        "/health answered only after requests waiting for auth.db's lock"
    );
    let replies = waiting.join().expect("waiting requests");
    for reply in &replies {
        assert_eq!(reply.status, 503, "{reply:?}");
        assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
        let error = reply.error();
        assert!(error.contains("busy"), "{error}");
        for internal in ["database is locked", "auth.db", "sqlite", "/"] {
            assert!(!error.contains(internal), "{internal} in {error}");
        }
    }
    // A failed login and a user creation meet the same lock.
    let reply = request(
        a,
        "POST",
        "/api/v1/login",
        None,
        Some(&json!({"username": "alice", "password": "wrong password"})),
    );
    assert_eq!(reply.status, 503, "{reply:?}");
    let reply = request(
        a,
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(&json!({"name": "bob", "role": "auditor", "password": PASSWORD})),
    );
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        f.server.log().contains("database is locked"),
        "the cause is in the log:\n{}",
        f.server.log()
    );
    // Once the lock is gone, the same request works.
    drop(lock);
    let reply = request(a, "POST", "/api/v1/users/app1/lock", Some(&admin), None);
    assert_eq!(reply.status, 204, "{reply:?}");
}

/// A raw request with `Connection: close` and extra header lines.
fn raw(address: SocketAddr, method: &str, target: &str, extra: &str, body: &str) -> Reply {
    let text = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(address, text.as_bytes())
}

/// A JSON `{"error": ...}` with `status` that names no file.
fn assert_json_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{reply:?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{reply:?}"
    );
    let error = reply.error();
    assert!(!error.is_empty(), "{reply:?}");
    assert!(
        !error.contains('/') || error.contains("application/json"),
        "{error}"
    );
    assert!(!error.contains("  "), "a run of spaces in {error:?}");
    error
}

#[test]
fn every_error_answers_json_without_internal_details() {
    let f = start("body_limit_bytes = 2048\n");
    let a = f.server.http;
    let bearer = format!("Authorization: Bearer {}\r\n", f.token);
    assert_json_error(&raw(a, "GET", "/no/such/route", "", ""), 404);
    assert_json_error(&raw(a, "GET", "/api/v1/nothing", "", ""), 404);
    let reply = raw(a, "DELETE", "/health", "", "");
    assert_json_error(&reply, 405);
    assert!(reply.header("allow").is_some(), "{reply:?}");
    assert_json_error(&raw(a, "PATCH", "/api/v1/users", "", ""), 405);
    // A path parameter that is not UTF-8.
    assert_json_error(
        &raw(
            a,
            "PUT",
            "/api/v1/operations/%FF%FE/leaves/r0",
            &format!("{bearer}Content-Type: application/json\r\n"),
            "{\"status\":\"success\"}",
        ),
        400,
    );
    // A body over api.body_limit_bytes.
    let big = format!("{{\"code\":\"{}\"}}", "x".repeat(4096));
    assert_json_error(
        &raw(
            a,
            "POST",
            "/api/v1/events",
            &format!("{bearer}Content-Type: application/json\r\n"),
            &big,
        ),
        413,
    );
    // An overlong request target and an overlong head.
    let long = format!("/api/v1/events?text={}", "a".repeat(10_000));
    assert_json_error(&raw(a, "GET", &long, &bearer, ""), 414);
    let header = format!("X-Filler: {}\r\n", "b".repeat(20_000));
    assert_json_error(&raw(a, "GET", "/api/v1/events", &header, ""), 431);
    // A body that says it is not JSON.
    let error = assert_json_error(
        &raw(
            a,
            "POST",
            "/api/v1/events",
            &format!("{bearer}Content-Type: text/plain\r\n"),
            "{\"code\":\"JUNOSCOPE_LOGOUT\"}",
        ),
        415,
    );
    assert!(error.contains("application/json"), "{error}");
    let reply = raw(
        a,
        "POST",
        "/api/v1/login",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "username=alice&password=x",
    );
    assert_json_error(&reply, 415);
    // JSON with parameters is JSON.
    let reply = raw(
        a,
        "POST",
        "/api/v1/login",
        "Content-Type: application/json; charset=utf-8\r\n",
        &json!({"username": "alice", "password": PASSWORD}).to_string(),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    // A relative time as docs/api.md writes it.
    let auditor = reply.json()["token"].as_str().expect("token").to_string();
    let reply = request(
        a,
        "GET",
        "/api/v1/events?code=JUNOSCOPE_LOGIN_*&since=-1h",
        Some(&auditor),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(!reply.json()["events"]
        .as_array()
        .expect("events")
        .is_empty());
    assert_json_error(
        &request(a, "GET", "/api/v1/events?since=-x1h", Some(&auditor), None),
        400,
    );
    // No local verify key: 409 without the key's path.
    std::fs::remove_file(f.server.dir.join("netaudit.verify-key")).expect("remove verify key");
    let reply = request(a, "GET", "/api/v1/verify", Some(&auditor), None);
    let error = assert_json_error(&reply, 409);
    assert!(!error.contains("verify-key"), "{error}");
}

#[test]
fn a_cli_error_says_its_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["user", "-c"])
        .arg(&missing)
        .arg("list")
        .output()
        .expect("run netaudit user");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn a_password_change_ends_the_users_other_sessions() {
    let f = start("");
    let a = f.server.http;
    let admin = login(a, "root-admin");
    let admin_elsewhere = login(a, "root-admin");
    let first = login(a, "alice");
    let second = login(a, "alice");
    let new_password = json!({"password": "a new and long password"});
    let reply = request(
        a,
        "PUT",
        "/api/v1/users/alice/password",
        Some(&admin),
        Some(&new_password),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    for session in [&first, &second] {
        let reply = request(a, "GET", "/api/v1/events", Some(session), None);
        assert_json_error(&reply, 401);
    }
    // An administrator changing their own password keeps this session only.
    let reply = request(
        a,
        "PUT",
        "/api/v1/users/root-admin/password",
        Some(&admin),
        Some(&new_password),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        request(a, "GET", "/api/v1/users", Some(&admin), None).status,
        200
    );
    assert_json_error(
        &request(a, "GET", "/api/v1/users", Some(&admin_elsewhere), None),
        401,
    );
    // Other users' sessions are untouched.
    let bob = login(a, "app1");
    let reply = request(
        a,
        "PUT",
        "/api/v1/users/alice/password",
        Some(&admin),
        Some(&json!({"password": "yet another long password"})),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let reply = request(
        a,
        "POST",
        "/api/v1/operations",
        Some(&bob),
        Some(&json!({"name": "op", "type": "scan", "devices": ["d"]})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
}

#[test]
fn a_reload_from_the_api_is_logged_as_such() {
    let f = start("");
    let a = f.server.http;
    let admin = login(a, "root-admin");
    let reply = request(a, "POST", "/api/v1/outputs/reload", Some(&admin), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    let log = f.server.log();
    let reloaded: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("configuration reloaded"))
        .collect();
    assert_eq!(reloaded.len(), 1, "{log}");
    assert!(reloaded[0].contains("API reload"), "{log}");
    assert!(!reloaded[0].contains("SIGHUP"), "{log}");
}

fn try_login(address: SocketAddr, name: &str, password: &str) -> Reply {
    request(
        address,
        "POST",
        "/api/v1/login",
        None,
        Some(&json!({"username": name, "password": password})),
    )
}

#[test]
fn unknown_names_wrong_passwords_and_locked_accounts_get_one_answer() {
    let f = start("");
    let a = f.server.http;
    let admin = login(a, "root-admin");
    let reply = request(a, "POST", "/api/v1/users/app1/lock", Some(&admin), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    let unknown = try_login(a, "nobody", PASSWORD);
    let wrong = try_login(a, "alice", "not the password");
    let locked = try_login(a, "app1", PASSWORD);
    for reply in [&unknown, &wrong, &locked] {
        assert_json_error(reply, 401);
        assert_eq!(reply.body, unknown.body);
        assert_eq!(
            reply.header("www-authenticate"),
            unknown.header("www-authenticate")
        );
    }
    // The trail still says why.
    let failures = events_with_code(&f.server.db, "JUNOSCOPE_LOGIN_FAILURE");
    let reason = |user: &str| {
        failures
            .iter()
            .find(|e| e.user.as_deref() == Some(user))
            .and_then(|e| e.param("failure-reason").map(str::to_string))
    };
    assert_eq!(reason("nobody").as_deref(), Some("Authentication Failure"));
    assert_eq!(reason("alice").as_deref(), Some("Authentication Failure"));
    assert_eq!(reason("app1").as_deref(), Some("User Account Locked"));
}

#[test]
fn with_lockout_secs_a_policy_lock_ends_by_itself() {
    let lockout = Duration::from_secs(4);
    let f = start(&format!("lockout_secs = {}\n", lockout.as_secs()));
    let a = f.server.http;
    for _ in 0..2 {
        assert_json_error(&try_login(a, "alice", "not the password"), 401);
    }
    // The server takes the lock's time after this instant.
    let locked_at = std::time::Instant::now();
    assert_json_error(&try_login(a, "alice", "not the password"), 401);
    assert_eq!(
        events_with_code(&f.server.db, "JUNOSCOPE_USER_AUTO_LOCKED").len(),
        1
    );
    let first = try_login(a, "alice", PASSWORD);
    if locked_at.elapsed() < lockout {
        // (A machine too slow to get here within lockout_secs may already
        // be past the lock.)
        assert_json_error(&first, 401);
    }
    // Bounded: the lock ends after lockout_secs, not before.
    let deadline = locked_at + Duration::from_secs(60);
    let mut accepted = first.status == 200;
    while !accepted && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        accepted = try_login(a, "alice", PASSWORD).status == 200;
    }
    assert!(accepted, "still locked after 60 s:\n{}", f.server.log());
    assert!(locked_at.elapsed() >= lockout);
    // An administrator's lock has no end by time.
    let admin = login(a, "root-admin");
    let reply = request(a, "POST", "/api/v1/users/app1/lock", Some(&admin), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    std::thread::sleep(lockout + Duration::from_millis(500));
    assert_json_error(&try_login(a, "app1", PASSWORD), 401);
}

/// The peak resident memory of `pid` in kB (VmHWM).
fn peak_rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_login_flood_is_bounded_and_an_auditor_is_still_answered() {
    let f = start("client_max_login_failures = 100000\n");
    let a = f.server.http;
    let auditor = login(a, "alice");
    let flood = std::thread::spawn(move || {
        concurrently(100, move |i| {
            try_login(a, &format!("flood{i}"), "not the password")
        })
    });
    // Answered during the flood (not timed: it only has to complete).
    let reply = request(a, "GET", "/api/v1/events?limit=5", Some(&auditor), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    let replies = flood.join().expect("flood");
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    let refused = replies.iter().filter(|r| r.status == 401).count();
    assert_eq!(busy.len() + refused, 100, "{replies:?}");
    assert!(!busy.is_empty(), "no 503 among 100 simultaneous logins");
    assert!(refused > 0, "no login was checked at all");
    for reply in &busy {
        assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
        assert_json_error(reply, 503);
    }
    let peak_mb = peak_rss_kb(f.server.pid()) / 1024;
    eprintln!(
        "100 simultaneous logins: {} answered 503, {refused} checked (401); peak resident memory {peak_mb} MB",
        busy.len()
    );
    assert!(peak_mb < 300, "peak resident memory {peak_mb} MB");
    // Checked logins are audited; the ones refused as busy never ran.
    let failures = events_with_code(&f.server.db, "JUNOSCOPE_LOGIN_FAILURE");
    assert_eq!(failures.len(), refused);
}

#[test]
fn failed_logins_from_one_address_are_limited_and_each_refusal_is_audited() {
    let f = start("client_max_login_failures = 3\nclient_login_window_secs = 600\n");
    let a = f.server.http;
    for i in 0..3 {
        assert_json_error(&try_login(a, &format!("nobody{i}"), "guess"), 401);
    }
    // Now even the right password is refused from this address, at once.
    for _ in 0..2 {
        let reply = try_login(a, "alice", PASSWORD);
        let error = assert_json_error(&reply, 429);
        assert!(error.contains("too many failed logins"), "{error}");
        let after: u64 = reply
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After seconds");
        assert!((1..=600).contains(&after), "{after}");
    }
    let throttled: Vec<_> = events_with_code(&f.server.db, "JUNOSCOPE_LOGIN_FAILURE")
        .into_iter()
        .filter(|e| e.param("failure-reason") == Some("Too Many Failed Logins From Client Address"))
        .collect();
    assert_eq!(throttled.len(), 2);
    assert!(throttled.iter().all(
        |e| e.user.as_deref() == Some("alice") && e.client_addr.as_deref() == Some("127.0.0.1")
    ));
    assert!(
        !events_with_code(&f.server.db, "JUNOSCOPE_LOGIN_SUCCESSFUL")
            .iter()
            .any(|e| e.user.as_deref() == Some("alice"))
    );
}

/// `netaudit serve` on `config` under the open-file limits `soft`:`hard`
/// (set by the shell before it becomes the server), waiting (bounded) for
/// `/health`.
fn start_limited(dir: &Path, http: u16, config: &str, soft: u64, hard: u64) -> Netaudit {
    let config_path = dir.join("netaudit.toml");
    std::fs::write(&config_path, config).expect("write config");
    let log_path = dir.join("netaudit-limited.log");
    let log = std::fs::File::create(&log_path).expect("create log");
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" serve --config \"$1\""
        ))
        .arg(env!("CARGO_BIN_EXE_netaudit"))
        .arg(&config_path)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn netaudit serve through sh");
    let mut server = Netaudit {
        child: Some(child),
        dir: dir.to_owned(),
        config_path,
        http: SocketAddr::from(([127, 0, 0, 1], http)),
        db: dir.join("netaudit.db"),
        log_path,
    };
    for _ in 0..400 {
        if let Some(Ok(Some(status))) = server.child.as_mut().map(|c| c.try_wait()) {
            panic!("netaudit serve exited ({status}):\n{}", server.log());
        }
        if http_get(server.http, "/health").is_some_and(|(s, _)| s == 200) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no /health within 20 s:\n{}", server.log());
}

/// The soft and hard "Max open files" of `pid`.
fn open_file_limits(pid: i32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind a loopback source address");
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    socket.into()
}

/// True once the server has closed `stream` (a read sees the end).
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let closed = match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    stream.set_nonblocking(false).expect("blocking");
    closed
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = free_tcp_port();
    let udp = free_port();
    let config = config_text(
        dir.path(),
        http,
        &format!("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n"),
    );
    let server = start_limited(dir.path(), http, &config, 200, 900);
    assert_eq!(
        open_file_limits(server.pid()),
        (900, 900),
        "{}",
        server.log()
    );
}

#[test]
fn idle_http_connections_are_limited_and_closed_and_syslog_input_still_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = free_tcp_port();
    let tcp = free_tcp_port();
    let config = config_text(
        dir.path(),
        http,
        &format!(
            "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\nname = \"tcp\"\n"
        ),
    )
    .replace(
        "[http]\n",
        "[http]\nheader_timeout_secs = 3\nmax_connections_per_client = 20\n",
    );
    let server = start_limited(dir.path(), http, &config, 256, 256);
    let a = server.http;
    assert!(
        server.log().contains("http.max_connections lowered"),
        "{}",
        server.log()
    );
    // 200 idle connections from one address (bounded); beyond its 20 the
    // server closes them at once.
    let mut idle: Vec<TcpStream> = (0..200).map(|_| connect_from([127, 0, 0, 1], a)).collect();
    let mut open = idle.len();
    for _ in 0..100 {
        open = idle.iter().filter(|s| !closed_by_server(s)).count();
        if open <= 20 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(open <= 20, "{open} of 200 idle connections still open");
    // Another client is still served meanwhile.
    let mut other = connect_from([127, 0, 0, 2], a);
    other
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    other
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = other.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // Syslog over TCP is stored while the HTTP connections are held.
    let mut sender = TcpStream::connect(("127.0.0.1", tcp)).expect("connect syslog");
    for i in 0..100 {
        writeln!(sender, "<134>Dec  3 12:00:00 host app: held-http {i}").expect("send");
    }
    drop(sender);
    // (Read from the store: this client's HTTP share is taken.)
    let mut stored = 0;
    for _ in 0..600 {
        stored = stored_events(&server.db)
            .iter()
            .filter(|e| String::from_utf8_lossy(&e.raw).contains("held-http"))
            .count();
        if stored == 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(stored, 100, "{}", server.log());
    // Idle connections end after the header timeout (bounded wait).
    for _ in 0..300 {
        open = idle.iter().filter(|s| !closed_by_server(s)).count();
        if open == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(open, 0, "idle connections outlived the header timeout");
    assert!(http_get(a, "/health").is_some_and(|(s, _)| s == 200));
    assert!(
        !server.log().contains("Too many open files"),
        "{}",
        server.log()
    );
    idle.clear();
}
