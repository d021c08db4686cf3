//! Logins, sessions, roles and tokens, in-process: lockout after failed
//! logins, role and token checks per route, the idle session timeout.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::client::{archive_success, Fixture, PASSWORD};

#[tokio::test(flavor = "multi_thread")]
async fn brute_force_locks_and_a_locked_user_cannot_log_in() {
    let f = Fixture::start("").await;
    for attempt in 0..3 {
        let reply = f
            .post(
                "/api/v1/login",
                None,
                &json!({"username": "alice", "password": "wrong password"}),
            )
            .await;
        assert_eq!(reply.status, 401, "attempt {attempt}: {}", reply.body);
    }
    let reply = f
        .post(
            "/api/v1/login",
            None,
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 401);
    // The client learns nothing of the lock (the same answer as a wrong
    // password or an unknown name); the event trail records it.
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("Authentication Failure"));
    let failures = f.events_with_code("JUNOSCOPE_LOGIN_FAILURE");
    assert_eq!(failures.len(), 4);
    assert!(failures.iter().all(
        |e| e.user.as_deref() == Some("alice") && e.client_addr.as_deref() == Some("127.0.0.1")
    ));
    assert_eq!(
        failures[3].param("failure-reason"),
        Some("User Account Locked")
    );
    assert_eq!(
        failures[0].param("failure-reason"),
        Some("Authentication Failure")
    );
    let locked = f.events_with_code("JUNOSCOPE_USER_AUTO_LOCKED");
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].client_addr.as_deref(), Some("127.0.0.1"));

    // An admin unlocks; the right password works again.
    let admin = f.login("root-admin").await;
    let reply = f
        .request("POST", "/api/v1/users/alice/unlock", Some(&admin), None)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let token = f.login("alice").await;
    let unlocked = f.events_with_code("JUNOSCOPE_USER_UNLOCKED_BY_ADMIN");
    assert_eq!(unlocked[0].param("admin-username"), Some("root-admin"));
    assert_eq!(unlocked[0].param("username"), Some("alice"));
    let reply = f
        .request("POST", "/api/v1/logout", Some(&token), None)
        .await;
    assert_eq!(reply.status, 204);
    assert_eq!(f.events_with_code("JUNOSCOPE_LOGOUT").len(), 1);
    let reply = f.request("GET", "/api/v1/events", Some(&token), None).await;
    assert_eq!(reply.status, 401, "a closed session is refused");
    f.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_and_tokens_are_enforced() {
    let f = Fixture::start("").await;
    let auditor = f.login("alice").await;
    let reporter = f.login("app1").await;
    // No token, a wrong one: 401.
    assert_eq!(
        f.request("GET", "/api/v1/events", None, None).await.status,
        401
    );
    assert_eq!(
        f.request("GET", "/api/v1/events", Some("na_tok_0000"), None)
            .await
            .status,
        401
    );
    assert_eq!(
        f.request("GET", "/api/v1/events", Some("na_ses_0000"), None)
            .await
            .status,
        401
    );
    assert_eq!(
        f.request("GET", "/api/v1/events", Some("garbage"), None)
            .await
            .status,
        401
    );
    // An auditor cannot manage users.
    let reply = f
        .post(
            "/api/v1/users",
            Some(&auditor),
            &json!({"name": "eve", "role": "admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(
        f.request("POST", "/api/v1/users/app1/lock", Some(&auditor), None)
            .await
            .status,
        403
    );
    // A reporter (session or token) cannot read.
    assert_eq!(
        f.request("GET", "/api/v1/events", Some(&reporter), None)
            .await
            .status,
        403
    );
    assert_eq!(
        f.request("GET", "/api/v1/events", Some(&f.token), None)
            .await
            .status,
        403
    );
    assert_eq!(
        f.request("GET", "/api/v1/export", Some(&f.token), None)
            .await
            .status,
        403
    );
    assert_eq!(
        f.request("GET", "/api/v1/users", Some(&f.token), None)
            .await
            .status,
        403
    );
    // An auditor cannot submit; the token can.
    assert_eq!(
        f.post("/api/v1/events", Some(&auditor), &archive_success("edge1"))
            .await
            .status,
        403
    );
    let reply = f
        .post("/api/v1/events", Some(&f.token), &archive_success("edge1"))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let seq = reply.json()["seqs"][0].as_u64().expect("seq");
    // The auditor reads it back by sequence and by filters.
    let reply = f
        .request(
            "GET",
            &format!(
                "/api/v1/events?code=JUNOSCOPE_ARCHIVE_*&device=edge1&after_seq={}",
                seq - 1
            ),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let page = reply.json();
    assert_eq!(page["events"][0]["seq"].as_u64(), Some(seq));
    assert_eq!(page["events"][0]["device"], "edge1");
    let params = page["events"][0]["params"].to_string();
    assert!(
        params.contains("\"submitted-by\"")
            && params.contains("\"app1\"")
            && params.contains("\"submitted-from\""),
        "{params}"
    );
    // Export (JSON lines and standard syslog) and verify.
    let reply = f
        .request(
            "GET",
            "/api/v1/export?format=standard",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .body
            .contains("JUNOSCOPE_ARCHIVE_SUCCESS: Successfully archived device: 'edge1'"),
        "{}",
        reply.body
    );
    let reply = f
        .request("GET", "/api/v1/export", Some(&auditor), None)
        .await;
    assert!(reply
        .body
        .lines()
        .all(|l| serde_json::from_str::<Value>(l).is_ok()));
    assert!(reply.body.lines().count() >= 3);
    let reply = f
        .request("GET", "/api/v1/verify", Some(&auditor), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["ok"], true);
    // The OpenAPI document is public JSON.
    let reply = f.request("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["openapi"], "3.0.3");
    f.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_time_out_with_an_event() {
    let f = Fixture::start("session_idle_timeout_secs = 1\n").await;
    let token = f.login("alice").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while f.events_with_code("JUNOSCOPE_SESSION_TIMEOUT").is_empty() {
        assert!(Instant::now() < deadline, "no session timeout recorded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let timeouts = f.events_with_code("JUNOSCOPE_SESSION_TIMEOUT");
    assert_eq!(timeouts[0].user.as_deref(), Some("alice"));
    assert_eq!(timeouts[0].client_addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        f.request("GET", "/api/v1/events", Some(&token), None)
            .await
            .status,
        401
    );
    f.close().await;
}
