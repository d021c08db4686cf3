//! Examination on a PostgreSQL store from either node (issue 16, item 4):
//! the export streams every node's events in the global order, verify
//! reports each node's chain, a code glob PostgreSQL would refuse is the
//! client's 400; against a private PostgreSQL the test starts (stopped by
//! PID) and two `serve` nodes on it.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netaudit_pgstore::test_cluster::PgCluster;
use serde_json::Value;

use super::pg_nodes::{
    all_events, connection, global_order, login, migrate, netaudit, node_setup, place, send_tcp,
    submit, text, wait_host, NodeSetup, PASSWORD,
};
use crate::support::*;

/// `GET path` over HTTP/1.0 (the body as sent, not chunked), with `headers`.
pub(super) fn get(http: SocketAddr, path: &str, token: &str, headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&http, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {http}\r\nAuthorization: Bearer {token}\r\n{headers}\r\n"
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Two running nodes on one database.
pub(super) struct TwoNodes {
    /// The connection string (the password in a file).
    pub(super) url: String,
    pub(super) setups: Vec<NodeSetup>,
    pub(super) nodes: Vec<Netaudit>,
    /// Each node's (reporter, auditor) token.
    pub(super) tokens: Vec<(String, String)>,
}

/// Two nodes on one database, each with some events stored.
pub(super) fn two_nodes(pg: &PgCluster, root: &std::path::Path) -> TwoNodes {
    let url = connection(pg, root);
    migrate(&url);
    let setups: Vec<NodeSetup> = ["n1", "n2"]
        .iter()
        .map(|n| node_setup(root, n, &url))
        .collect();
    let nodes: Vec<Netaudit> = setups
        .iter()
        .map(|s| Netaudit::start_with(&s.dir, &s.config))
        .collect();
    let tokens: Vec<(String, String)> = nodes
        .iter()
        .map(|n| (login(n.http, "rep"), login(n.http, "aud")))
        .collect();
    for (i, (node, setup)) in nodes.iter().zip(&setups).enumerate() {
        send_tcp(setup.tcp, &format!("tcp-n{}", i + 1), 300 - 100 * i);
        let (status, body) = submit(node.http, &tokens[i].0, &format!("api-n{}", i + 1));
        assert_eq!(status, 201, "{body}");
    }
    for (host, count) in [
        ("tcp-n1", 300),
        ("tcp-n2", 200),
        ("api-n1", 1),
        ("api-n2", 1),
    ] {
        wait_host(nodes[0].http, &tokens[0].1, host, count);
    }
    TwoNodes {
        url,
        setups,
        nodes,
        tokens,
    }
}

#[test]
fn either_node_exports_every_node_and_refuses_bad_filters() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let TwoNodes {
        url, nodes, tokens, ..
    } = two_nodes(&pg, root.path());
    let order = global_order(&pg);
    // Their own audit events too (users added, logins).
    assert!(order.len() >= 502, "{}", order.len());
    // Every node's events, in the global order, from either node; the
    // pages (of 1000 rows at most) follow one another without a seam.
    for (node, (_, aud)) in nodes.iter().zip(&tokens) {
        let (status, body) = get(node.http, "/api/v1/export", aud, "");
        assert_eq!(status, 200, "{body}");
        let exported: Vec<(String, u64)> = body
            .lines()
            .map(|l| place(&serde_json::from_str(l).unwrap()))
            .collect();
        assert_eq!(exported, order);
    }
    // Filters and a node; the standard syslog format.
    let (status, body) = get(
        nodes[0].http,
        "/api/v1/export?node=n2&host=tcp-n2",
        &tokens[0].1,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 200);
    assert!(lines
        .iter()
        .all(|e| e["node"] == "n2" && e["host"] == "tcp-n2"));
    let (status, body) = get(
        nodes[1].http,
        "/api/v1/export?format=standard&host=api-n1",
        &tokens[1].1,
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.lines().count(), 1, "{body}");
    assert!(body.contains("JUNOSCOPE_COMMIT_PERFORMED"), "{body}");
    // The same events as the paged query gives.
    let paged: Vec<(String, u64)> = all_events(nodes[1].http, &tokens[1].1, "")
        .iter()
        .map(place)
        .collect();
    assert_eq!(paged, order);

    // Bad input: 400 naming the parameter, never a 503.
    for path in [
        "/api/v1/events?code=%5Bz-a%5D",
        "/api/v1/export?code=UI_%5Bz-a%5D*",
        "/api/v1/events/stream?code=%5Bz-a%5D",
        "/api/v1/export?page=1.2.n1",
        "/api/v1/export?node=bad%20node",
        "/api/v1/export?format=xml",
    ] {
        let (status, body) = get(nodes[0].http, path, &tokens[0].1, "");
        assert_eq!(status, 400, "{path}: {body}");
        let name = if path.contains("code=") {
            "code"
        } else if path.contains("page=") {
            "page"
        } else if path.contains("node=") {
            "node"
        } else {
            "format"
        };
        assert!(body.contains(name), "{path}: {body}");
    }
    // A glob PostgreSQL takes literally where SQLite does: `[` inside a class.
    let (status, body) = get(
        nodes[0].http,
        "/api/v1/events?code=%5B%5B:alpha:%5D%5D",
        &tokens[0].1,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let out = netaudit(&["query", "--store", &url, "--code", "[z-a]"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--code") && err.contains("runs backwards"),
        "{err}"
    );
    let out = netaudit(&[
        "query",
        "--store",
        &url,
        "--code",
        "UI_[A-C]*",
        "--limit",
        "1000",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 500);
}

/// Signs `user` in to the console of `http` over plain HTTP: the
/// `Cookie:` header line of the session.
pub(super) fn console_session(http: SocketAddr, user: &str) -> String {
    let (_, head, page) = exchange(http, "GET", "/login", "", "");
    let cookie = |head: &str, name: &str| {
        head.lines()
            .filter_map(|l| l.strip_prefix("set-cookie: "))
            .find(|c| c.starts_with(name))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no cookie {name} in {head}"))
            .to_string()
    };
    let form = serde_urlencoded::to_string([
        ("csrf", csrf_of(&page).as_str()),
        ("username", user),
        ("password", PASSWORD),
    ])
    .unwrap();
    let login_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let (status, head, _) = exchange(
        http,
        "POST",
        "/login",
        &format!("Cookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
        &form,
    );
    assert_eq!(status, 303, "{head}");
    format!("Cookie: {}\r\n", cookie(&head, "netaudit_console="))
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no csrf field in {page}"))
        .to_string()
}

/// One HTTP/1.0 exchange: status, head, body.
pub(super) fn exchange(
    http: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&http, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {http}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The console's Integrity page once its verify run is done (bounded).
fn integrity_after_run(http: SocketAddr, session: &str) -> String {
    let (status, _, page) = exchange(http, "GET", "/integrity", session, "");
    assert_eq!(status, 200, "{page}");
    let form = format!("csrf={}", csrf_of(&page));
    let headers = format!("{session}Content-Type: application/x-www-form-urlencoded\r\n");
    let (status, head, _) = exchange(http, "POST", "/integrity/verify", &headers, &form);
    assert_eq!(status, 303, "{head}");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, _, page) = exchange(http, "GET", "/integrity", session, "");
        assert_eq!(status, 200, "{page}");
        if !page.contains("Running: started by") && !page.contains("Not run from the console") {
            return page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "verify still running after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn either_node_verifies_every_node_chain_with_the_keys_in_its_folder() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let TwoNodes {
        setups,
        nodes,
        tokens,
        ..
    } = two_nodes(&pg, root.path());
    let (n1, aud) = (nodes[0].http, &tokens[0].1);
    // n1's folder holds its own verify key only: n2 is not verified.
    let (status, body) = get(n1, "/api/v1/verify", aud, "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    let by_node = |v: &Value, node: &str| {
        v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["node"] == node)
            .cloned()
            .unwrap_or_else(|| panic!("no node {node} in {v}"))
    };
    assert_eq!(by_node(&v, "n1")["ok"], true, "{v}");
    assert!(by_node(&v, "n2")["report"].is_null(), "{v}");
    // Another node's verify key copied into the folder: both walked.
    std::fs::copy(
        setups[1].dir.join("n2.node.verify-key"),
        setups[0].dir.join("n2.node.verify-key"),
    )
    .unwrap();
    // A file there that is not a verify key is left out, not fatal.
    std::fs::write(setups[0].dir.join("junk.verify-key"), "not a key\n").unwrap();
    let (status, body) = get(n1, "/api/v1/verify", aud, "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    let walked = by_node(&v, "n2")["report"]["events_verified"]
        .as_u64()
        .unwrap();
    assert!(walked >= 201, "{v}");
    let session = console_session(n1, "aud");
    let page = integrity_after_run(n1, &session);
    assert!(
        page.contains("Verified: every node&#39;s chain is intact")
            || page.contains("Verified: every node's chain is intact"),
        "{page}"
    );
    assert!(page.contains("n2"), "{page}");

    // A changed row of n2 is reported by node and sequence number.
    pg.client()
        .unwrap()
        .execute(
            "UPDATE netaudit.events SET message = 'changed' WHERE node_id = 'n2' AND seq = 7",
            &[],
        )
        .unwrap();
    let (status, body) = get(n1, "/api/v1/verify", aud, "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(by_node(&v, "n1")["ok"], true, "{v}");
    assert_eq!(by_node(&v, "n2")["report"]["break"]["seq"], 7, "{v}");
    let page = integrity_after_run(n1, &session);
    assert!(page.contains("BROKEN at sequence 7"), "{page}");
    // The console's Events search: every node's, the node shown, pages
    // by page key; an event's detail by node and sequence number.
    let (status, _, page) = exchange(n1, "GET", "/events?order=oldest&limit=100", &session, "");
    assert_eq!(status, 200, "{page}");
    let order = global_order(&pg);
    let rows = |page: &str| -> Vec<(String, u64)> {
        page.split("<tr data-node=\"")
            .skip(1)
            .map(|r| {
                let node = r.split('"').next().unwrap().to_string();
                let seq = r
                    .split("data-seq=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                (node, seq.parse().unwrap())
            })
            .collect()
    };
    assert_eq!(rows(&page), order[..100]);
    let next = page
        .split("id=\"next-page\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let (status, _, second) = exchange(n1, "GET", &next, &session, "");
    assert_eq!(status, 200, "{second}");
    assert_eq!(rows(&second), order[100..200]);
    let (status, _, page) = exchange(
        n1,
        "GET",
        "/events?node=n2&host=tcp-n2&limit=1000",
        &session,
        "",
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(rows(&page).len(), 200);
    assert!(rows(&page).iter().all(|(n, _)| n == "n2"));
    let (status, _, detail) = exchange(n1, "GET", "/events/7?node=n2", &session, "");
    assert_eq!(status, 200, "{detail}");
    assert!(
        detail.contains("Event 7 of node n2") && detail.contains(">changed<"),
        "{detail}"
    );
    for (path, want, name) in [
        ("/events?page=yesterday", 400, "page"),
        ("/events?node=bad%20node", 400, "node"),
        ("/events?code=%5Bz-a%5D", 400, "code"),
        ("/events?from=5", 400, "from"),
        ("/events/7", 400, "node"),
        ("/events/7?node=n2&x=1", 400, "x"),
        ("/events/999999?node=n2", 404, "999999"),
    ] {
        let (status, _, page) = exchange(n1, "GET", path, &session, "");
        assert_eq!(status, want, "{path}: {page}");
        assert!(page.contains(name), "{path}: {page}");
    }
    // The live tail's first rows: the newest of every node, up to the
    // position its stream then starts after (every node's).
    let (status, _, tail) = exchange(n1, "GET", "/tail", &session, "");
    assert_eq!(status, 200, "{tail}");
    let after = tail
        .split("data-after=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let heads: Vec<&str> = after.split(',').collect();
    assert_eq!(heads.len(), 2, "{after}");
    assert!(
        heads[0].starts_with("n1:") && heads[1].starts_with("n2:"),
        "{after}"
    );
    assert!(tail.contains("?node=n"), "{tail}");
    let (status, _, page) = exchange(n1, "GET", "/tail/stream?after=n1%3Ax", &session, "");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Last-Event-ID"), "{page}");
    // The console's export on a node: every node's events.
    let (status, _, body) = exchange(n1, "GET", "/events/export?format=json", &session, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.lines()
            .map(|l| place(&serde_json::from_str(l).unwrap()))
            .collect::<Vec<_>>(),
        global_order(&pg)
    );
}

/// The events of `GET /api/v1/events/stream` (HTTP/1.0: the body as
/// sent) as (SSE id, (node, seq)), from `last_event_id` when given.
fn sse_events(
    http: SocketAddr,
    token: &str,
    last_event_id: Option<&str>,
) -> std::sync::mpsc::Receiver<(String, (String, u64))> {
    let mut s = TcpStream::connect_timeout(&http, Duration::from_secs(5)).unwrap();
    let resume = last_event_id
        .map(|id| format!("Last-Event-ID: {id}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET /api/v1/events/stream HTTP/1.0\r\nHost: {http}\r\nAuthorization: Bearer {token}\r\n{resume}\r\n"
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut id, mut data) = (None::<String>, None::<String>);
        for line in BufReader::new(s).lines() {
            let Ok(line) = line else { return };
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data = Some(v.trim().to_string());
            } else if line.is_empty() {
                if let (Some(id), Some(data)) = (id.take(), data.take()) {
                    let event: Value = serde_json::from_str(&data).unwrap();
                    if tx.send((id, place(&event))).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// `count` events from `events`, within 60 s.
fn take(
    events: &std::sync::mpsc::Receiver<(String, (String, u64))>,
    count: usize,
) -> Vec<(String, (String, u64))> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    (0..count)
        .map(|i| {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{i} of {count} stream events within 60 s"))
        })
        .collect()
}

#[test]
fn a_dropped_stream_resumes_from_its_last_event_id_on_every_node() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let TwoNodes {
        setups,
        nodes,
        tokens,
        ..
    } = two_nodes(&pg, root.path());
    let (n2, aud) = (nodes[1].http, &tokens[1].1);
    // From a position in the past: each node's events after it, once.
    let expected: BTreeSet<(String, u64)> = global_order(&pg)
        .into_iter()
        .filter(|(node, seq)| (node == "n1" && *seq > 250) || (node == "n2" && *seq > 150))
        .collect();
    let first = sse_events(n2, aud, Some("n1:250,n2:150"));
    let got = take(&first, expected.len());
    let seen: BTreeSet<(String, u64)> = got.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(seen.len(), got.len(), "an event sent twice");
    assert_eq!(seen, expected);
    drop(first);
    // Cut after the 40th: resuming from its id sends exactly the rest,
    // then what both nodes store meanwhile.
    let (cut_id, _) = got[39].clone();
    let sent_before: BTreeSet<(String, u64)> = got[..40].iter().map(|(_, p)| p.clone()).collect();
    let resumed = sse_events(n2, aud, Some(&cut_id));
    let rest = take(&resumed, expected.len() - 40);
    let rest: BTreeSet<(String, u64)> = rest.into_iter().map(|(_, p)| p).collect();
    assert!(rest.is_disjoint(&sent_before), "repeated after resume");
    assert_eq!(
        rest.union(&sent_before).cloned().collect::<BTreeSet<_>>(),
        expected
    );
    send_tcp(setups[0].tcp, "later-n1", 5);
    let (status, body) = submit(n2, &tokens[1].0, "later-n2");
    assert_eq!(status, 201, "{body}");
    let later: BTreeSet<(String, u64)> = take(&resumed, 6).into_iter().map(|(_, p)| p).collect();
    let stored: BTreeSet<(String, u64)> = global_order(&pg).into_iter().collect();
    assert!(
        later
            .iter()
            .all(|p| stored.contains(p) && !expected.contains(p)),
        "{later:?}"
    );
    assert_eq!(later.iter().filter(|(n, _)| n == "n1").count(), 5);

    // Bad ids: 400 naming the header.
    for bad in ["12", "n1:x", "n1:1,n1:2", "bad node:3"] {
        let (status, body) = get(
            n2,
            "/api/v1/events/stream",
            aud,
            &format!("Last-Event-ID: {bad}\r\n"),
        );
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("Last-Event-ID"), "{bad}: {body}");
    }
}
