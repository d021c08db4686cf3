//! Examination on a PostgreSQL store from either node (issue 16, item 4):
//! the export streams every node's events in the global order, verify
//! reports each node's chain, a code glob PostgreSQL would refuse is the
//! client's 400; against a private PostgreSQL the test starts (stopped by
//! PID) and two `serve` nodes on it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netaudit_pgstore::test_cluster::PgCluster;
use serde_json::Value;

use super::pg_nodes::{
    all_events, connection, global_order, login, migrate, netaudit, node_setup, place, send_tcp,
    submit, text, wait_host, NodeSetup,
};
use crate::support::*;

/// `GET path` over HTTP/1.0 (the body as sent, not chunked), with `headers`.
fn get(http: SocketAddr, path: &str, token: &str, headers: &str) -> (u16, String) {
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
struct TwoNodes {
    /// The connection string (the password in a file).
    url: String,
    nodes: Vec<Netaudit>,
    /// Each node's (reporter, auditor) token.
    tokens: Vec<(String, String)>,
}

/// Two nodes on one database, each with some events stored.
fn two_nodes(pg: &PgCluster, root: &std::path::Path) -> TwoNodes {
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
    TwoNodes { url, nodes, tokens }
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
