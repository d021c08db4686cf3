//! The HTTP API under concurrency, a locked user database and hostile
//! clients: `netaudit serve` on loopback ports with a private data
//! directory, users made with `netaudit user`, requests over real HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::raw_http::Reply;
use crate::security_support::*;
use crate::support::{config_text, free_port, free_tcp_port, http_get, stored_events};
use serde_json::json;

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

#[test]
fn every_error_answers_json_without_internal_details() {
    let f = start("body_limit_bytes = 2048\n");
    let a = f.server.http;
    let bearer = format!("Authorization: Bearer {}\r\n", f.token);
    assert_json_error(&raw(a, "GET", "/api/no/such/route", "", ""), 404);
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

/// The console's error page: `status`, HTML, the console's headers and a
/// link back.
fn assert_console_page(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{reply:?}"
    );
    assert!(reply.body.starts_with("<!DOCTYPE html>"), "{reply:?}");
    assert!(reply.body.contains(&format!("<h1>{status} ")), "{reply:?}");
    assert!(reply.body.contains("<a href=\"/\">"), "{reply:?}");
    assert!(
        reply
            .header("content-security-policy")
            .is_some_and(|p| p.contains("default-src 'none'")),
        "{reply:?}"
    );
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{reply:?}");
}

#[test]
fn console_paths_answer_error_pages_and_machines_paths_json() {
    let f = start("");
    let a = f.server.http;
    for (method, path, status) in [
        ("GET", "/no/such/page", 404),
        ("GET", "/events/1/more", 404),
        ("GET", "/apis", 404),
        ("DELETE", "/events", 405),
        ("PUT", "/login", 405),
        ("POST", "/overview", 405),
    ] {
        assert_console_page(&raw(a, method, path, "", ""), status);
    }
    let reply = raw(a, "DELETE", "/events", "", "");
    assert_eq!(reply.header("allow"), Some("GET,HEAD"), "{reply:?}");
    assert!(reply.body.contains("does not take DELETE"), "{reply:?}");
    // Signed in, the same pages.
    let cookie = console_sign_in(a, "alice", PASSWORD);
    let cookie = format!("Cookie: netaudit_console={cookie}\r\n");
    assert_console_page(&raw(a, "GET", "/events/1/more", &cookie, ""), 404);
    assert_console_page(&raw(a, "PATCH", "/users", &cookie, ""), 405);
    // The API, /health and /metrics keep their JSON errors.
    for (method, path, status) in [
        ("GET", "/api", 404),
        ("GET", "/api/v1/nothing", 404),
        ("PATCH", "/api/v1/users", 405),
        ("DELETE", "/health", 405),
        ("POST", "/metrics", 405),
    ] {
        assert_json_error(&raw(a, method, path, "", ""), status);
    }
    // Without the console, JSON everywhere.
    let off = start_configured("", "console = false\n");
    let b = off.server.http;
    assert_json_error(&raw(b, "GET", "/no/such/page", "", ""), 404);
    assert_json_error(&raw(b, "GET", "/events", "", ""), 404);
}

/// Signs in through the console's login form; the session cookie.
fn console_sign_in(address: std::net::SocketAddr, name: &str, password: &str) -> String {
    let form = raw(address, "GET", "/login", "", "");
    let login_cookie = form
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    let csrf = form
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf field")
        .to_string();
    let body = format!(
        "csrf={csrf}&username={name}&password={}",
        password.replace(' ', "+")
    );
    let reply = raw(
        address,
        "POST",
        "/login",
        &format!("Cookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
        &body,
    );
    assert_eq!(reply.status, 303, "{reply:?}");
    reply
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix("netaudit_console="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string()
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

#[test]
fn a_login_flood_is_bounded_and_an_auditor_is_still_answered() {
    // All 100 come from 127.0.0.1: room for them on the port, so that the
    // password gate, not the connection limit, answers.
    let f = start_configured(
        "client_max_login_failures = 100000\n",
        "max_connections_per_client = 200\n",
    );
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
