//! Users and the login lockout shared by two `serve` nodes on one
//! PostgreSQL store (a private PostgreSQL the test starts, stopped by
//! PID): the first administrator made with `netaudit user --store`, a user
//! made through node A's API signing in on node B, a brute force spread
//! over both nodes locking the account exactly at the policy's limit, a
//! lock, unlock, password change and deletion on one node seen by the
//! other (its sessions too), and bad input answered as on `auth.db`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::PgCluster;
use serde_json::Value;

use super::pg_nodes::{
    all_events, connection, login, migrate, netaudit, node_setup, start_answering, text,
    wait_health, PASSWORD,
};
use crate::support::*;

/// The policy's limit in both nodes' configuration.
const LIMIT: usize = 5;
const ALICE_PASSWORD: &str = "alice's first long password";

fn sign_in(http: SocketAddr, user: &str, password: &str) -> (u16, String) {
    let body = serde_json::json!({ "username": user, "password": password }).to_string();
    http_request(http, "POST", "/api/v1/login", None, &body)
}

fn token_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// Whether `user` is listed locked by the API of `http`.
fn listed_locked(http: SocketAddr, admin: &str, user: &str) -> Option<bool> {
    let (status, body) = http_request(http, "GET", "/api/v1/users", Some(admin), "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == user)
        .map(|u| u["locked"].as_bool().unwrap())
}

fn admin_call(http: SocketAddr, admin: &str, method: &str, path: &str, body: &str) {
    let (status, answer) = http_request(http, method, path, Some(admin), body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
}

/// A request of an auditor's that needs a live session.
fn session_status(http: SocketAddr, token: &str) -> u16 {
    http_request(http, "GET", "/api/v1/events?limit=1", Some(token), "").0
}

/// A request of an administrator's that needs a live session.
fn admin_session_status(http: SocketAddr, token: &str) -> u16 {
    http_request(http, "GET", "/api/v1/users", Some(token), "").0
}

#[test]
fn users_and_the_lockout_are_shared_by_two_nodes_on_postgres() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());
    migrate(&url);
    // The cluster's first administrator, straight into the database.
    let pw = root.path().join("admin.pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let out = netaudit(&[
        "user",
        "--store",
        &url,
        "add",
        "admin",
        "--role",
        "admin",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(pg.password()), "password shown");
    let mut nodes = Vec::new();
    for node in ["n1", "n2"] {
        let setup = node_setup(root.path(), node, &url);
        let mut config = std::fs::read_to_string(&setup.config).unwrap();
        config.push_str(&format!(
            "\n[api]\nmax_login_attempts = {LIMIT}\naccess_window_secs = 600\nclient_max_login_failures = 1000\n"
        ));
        std::fs::write(&setup.config, config).unwrap();
        let running = start_answering(&setup);
        wait_health(&running, 200);
        nodes.push((setup, running));
    }
    let (a, b) = (nodes[0].0.http, nodes[1].0.http);
    let admin_a = login(a, "admin");
    let admin_b = login(b, "admin");

    // A user made through node A's API signs in on node B.
    let create =
        serde_json::json!({"name": "alice", "role": "auditor", "password": ALICE_PASSWORD});
    let (status, body) = http_request(
        a,
        "POST",
        "/api/v1/users",
        Some(&admin_a),
        &create.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = sign_in(b, "alice", ALICE_PASSWORD);
    assert_eq!(status, 200, "{body}");
    let (status, _) = http_request(
        a,
        "POST",
        "/api/v1/users",
        Some(&admin_a),
        &create.to_string(),
    );
    assert_eq!(status, 409, "the name is taken on every node");

    // The one refusal, whatever the reason (issue 19): its body for a wrong password.
    let (status, refused) = sign_in(a, "alice", "wrong password 0");
    assert_eq!(status, 401, "{refused}");
    // Failures alternating nodes: LIMIT - 2 in all, not locked.
    for i in 1..LIMIT - 2 {
        let node = if i % 2 == 0 { a } else { b };
        assert_eq!(
            sign_in(node, "alice", &format!("wrong password {i}")),
            (401, refused.clone())
        );
    }
    assert_eq!(listed_locked(b, &admin_b, "alice"), Some(false));
    // Then eight at once, four on each node: two more reach the limit.
    let at_once: Vec<_> = (0..8)
        .map(|i| {
            let node = if i % 2 == 0 { a } else { b };
            std::thread::spawn(move || sign_in(node, "alice", &format!("wrong at once {i}")))
        })
        .collect();
    for answer in at_once {
        assert_eq!(answer.join().unwrap(), (401, refused.clone()));
    }
    assert_eq!(listed_locked(a, &admin_a, "alice"), Some(true));
    // Locked: the right password is refused on both nodes, with the same answer.
    for node in [a, b] {
        assert_eq!(
            sign_in(node, "alice", ALICE_PASSWORD),
            (401, refused.clone())
        );
    }
    // Exactly LIMIT failures were counted: one lock, the rest refused as locked.
    // (A session is its node's: docs/cluster.md.)
    let aud = login(a, "aud");
    let aud_b = login(b, "aud");
    let failures = all_events(a, &aud, "&code=JUNOSCOPE_LOGIN_FAILURE&user=alice");
    let reason = |e: &Value, r: &str| e.to_string().contains(r);
    let bad = failures
        .iter()
        .filter(|e| reason(e, "Authentication Failure"))
        .count();
    let locked = failures
        .iter()
        .filter(|e| reason(e, "User Account Locked"))
        .count();
    assert_eq!((bad, locked), (LIMIT, 8 - (LIMIT - 3) + 2), "{failures:?}");
    let auto = all_events(b, &aud_b, "&code=JUNOSCOPE_USER_AUTO_LOCKED&user=alice");
    assert_eq!(auto.len(), 1, "{auto:?}");

    // An administrator unlocks on B; alice signs in on A.
    admin_call(b, &admin_b, "POST", "/api/v1/users/alice/unlock", "");
    let (status, body) = sign_in(a, "alice", ALICE_PASSWORD);
    assert_eq!(status, 200, "{body}");
    let session_a = token_of(&body);
    assert_eq!(session_status(a, &session_a), 200);
    // Locked on B: alice's session on A ends and she cannot sign in on A.
    admin_call(b, &admin_b, "POST", "/api/v1/users/alice/lock", "");
    assert_eq!(session_status(a, &session_a), 401);
    assert_eq!(sign_in(a, "alice", ALICE_PASSWORD), (401, refused.clone()));
    admin_call(a, &admin_a, "POST", "/api/v1/users/alice/unlock", "");
    let (status, body) = sign_in(b, "alice", ALICE_PASSWORD);
    assert_eq!(status, 200, "{body}");
    let session_b = token_of(&body);
    // A password change on A: the old one is refused on B, the new one
    // accepted, and the session B opened before the change is over.
    let new_password = "alice's second long password";
    let change = serde_json::json!({ "password": new_password }).to_string();
    admin_call(a, &admin_a, "PUT", "/api/v1/users/alice/password", &change);
    assert_eq!(session_status(b, &session_b), 401);
    assert_eq!(sign_in(b, "alice", ALICE_PASSWORD), (401, refused.clone()));
    let (status, body) = sign_in(b, "alice", new_password);
    assert_eq!(status, 200, "{body}");
    let session_b = token_of(&body);
    assert_eq!(session_status(b, &session_b), 200);
    // An administrator changing their own password on A keeps that session.
    let own = serde_json::json!({ "password": PASSWORD }).to_string();
    admin_call(a, &admin_a, "PUT", "/api/v1/users/admin/password", &own);
    assert_eq!(admin_session_status(a, &admin_a), 200);
    assert_eq!(
        admin_session_status(b, &admin_b),
        401,
        "B's admin session is over"
    );
    let admin_b = login(b, "admin");
    // Deleted on B: gone on A, its session and its sign-in too.
    admin_call(b, &admin_b, "DELETE", "/api/v1/users/alice", "");
    assert_eq!(listed_locked(a, &admin_a, "alice"), None);
    assert_eq!(session_status(b, &session_b), 401);
    assert_eq!(sign_in(a, "alice", new_password), (401, refused.clone()));

    // An API token made on A submits on B, until its user is locked on A.
    let (status, body) = http_request(a, "POST", "/api/v1/users/rep/tokens", Some(&admin_a), "");
    assert_eq!(status, 201, "{body}");
    let token = token_of(&body);
    let event = r#"{"code":"JUNOSCOPE_COMMIT_PERFORMED","variables":{"device-name":"edge1","username":"ops","client-address":"10.1.2.3"},"host":"by-token"}"#;
    let (status, body) = http_request(b, "POST", "/api/v1/events", Some(&token), event);
    assert_eq!(status, 201, "{body}");
    admin_call(a, &admin_a, "POST", "/api/v1/users/rep/lock", "");
    let (status, body) = http_request(b, "POST", "/api/v1/events", Some(&token), event);
    assert_eq!(status, 401, "{body}");
    admin_call(b, &admin_b, "POST", "/api/v1/users/rep/unlock", "");

    // Bad input as on auth.db: unknown user and empty password get the one
    // refusal; a name too long to be a user's is a 400 naming the field.
    assert_eq!(
        sign_in(b, "nobody", "whatever password"),
        (401, refused.clone())
    );
    assert_eq!(sign_in(a, "admin", ""), (401, refused.clone()));
    let (status, body) = sign_in(b, &"x".repeat(65), "whatever password");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("username"), "{body}");
    let (status, body) = http_request(
        a,
        "POST",
        "/api/v1/users",
        Some(&admin_a),
        &serde_json::json!({"name": "x".repeat(65), "role": "auditor", "password": ALICE_PASSWORD})
            .to_string(),
    );
    assert_eq!(status, 400, "{body}");

    // The users made by `netaudit user` (the administrator with --store,
    // the nodes' setup with -c) are each recorded once, by one node, in its
    // chain (the second node's setup found them made: no event).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = all_events(b, &aud_b, "&code=JUNOSCOPE_USER_CREATED");
        let mut by_cli: Vec<String> = created
            .iter()
            .filter(|e| e["app"] == "netaudit-cli")
            .flat_map(|e| e["params"].as_array().unwrap().iter())
            .filter(|p| p["name"] == "new-user")
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect();
        by_cli.sort();
        if by_cli.len() >= 3 {
            assert_eq!(by_cli, ["admin", "aud", "rep"], "{created:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the CLI's events were not stored: {created:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And `netaudit user --store list` reads the database.
    let out = netaudit(&["user", "--store", &url, "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(listed.contains("admin\tadmin\tactive"), "{listed}");
    assert!(!listed.contains("alice"), "{listed}");
    for (_, mut running) in nodes {
        running.stop();
    }
}
