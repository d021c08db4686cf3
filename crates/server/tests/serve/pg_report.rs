//! The NDcPP report on a PostgreSQL store (issue 16, item 4): from either
//! node's API and from `netaudit report ndcpp --store`, it covers every
//! node's events, each sample naming its node; bad parameters are the
//! client's 400 as on the embedded store. Against a private PostgreSQL the
//! test starts (stopped by PID) and two `serve` nodes on it.

use netaudit_pgstore::test_cluster::PgCluster;
use serde_json::Value;

use super::pg_examine::{get, two_nodes, TwoNodes};
use std::io::Write;
use std::net::TcpStream;

use super::pg_nodes::{global_order, netaudit, text, wait_host};

/// The management row the test's `UI_COMMIT` lines give evidence for.
const COMMIT_ROW: &str = "FMT_MTD.1/CoreData";

/// `row`'s evidence per host: host -> (count, the sample's node).
fn evidence(report: &Value, row: &str) -> Vec<(String, u64, String)> {
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == row)
        .unwrap_or_else(|| panic!("no row {row}: {report}"));
    row["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                h["count"].as_u64().unwrap(),
                h["sample"]["node"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_report_covers_every_node_from_the_api_and_the_cli() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let TwoNodes {
        url,
        nodes,
        tokens,
        setups,
    } = two_nodes(&pg, root.path());
    // A flow record whose parameters stay in its raw bytes: the report's
    // `addresses` check must still see them.
    let mut tcp = TcpStream::connect(("127.0.0.1", setups[1].tcp)).unwrap();
    tcp.write_all(
        b"<14>1 2026-11-23T10:00:00Z srx-n2 RT_FLOW - RT_FLOW_SESSION_CREATE \
          [junos@2636.1.1.1.2.129 source-address=\"10.1.1.2\" source-port=\"10001\" \
          destination-address=\"10.2.2.2\" destination-port=\"21\"] session created\n",
    )
    .unwrap();
    drop(tcp);
    wait_host(nodes[0].http, &tokens[0].1, "srx-n2", 1);
    // The event API of the other node shows those parameters too, as the
    // embedded store's queries do (they were empty before).
    let (status, body) = get(
        nodes[0].http,
        "/api/v1/events?host=srx-n2",
        &tokens[0].1,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let params = listed["events"][0]["params"].to_string();
    assert!(
        params.contains("source-address") && params.contains("10.1.1.2"),
        "{body}"
    );
    let commits = vec![
        ("tcp-n1".to_string(), 300, "n1".to_string()),
        ("tcp-n2".to_string(), 200, "n2".to_string()),
    ];
    // From either node: both nodes' events, each sample in its own chain.
    for (node, (_, aud)) in nodes.iter().zip(&tokens) {
        let before = global_order(&pg).len() as u64;
        let (status, body) = get(node.http, "/api/v1/report/ndcpp", aud, "");
        assert_eq!(status, 200, "{body}");
        let report: Value = serde_json::from_str(&body).unwrap();
        let examined = report["events_examined"].as_u64().unwrap();
        let after = global_order(&pg).len() as u64;
        assert!(
            (before..=after).contains(&examined) && before >= 502,
            "{before} <= {examined} <= {after}"
        );
        assert_eq!(evidence(&report, COMMIT_ROW), commits, "{body}");
        let flows = &report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "FFW_RUL_EXT.1")
            .unwrap()["hosts"];
        assert_eq!(flows[0]["host"], "srx-n2", "{flows}");
        assert_eq!(flows[0]["sample"]["node"], "n2", "{flows}");
        assert_eq!(flows[0]["checks"][0]["content"], "addresses", "{flows}");
        assert_eq!(flows[0]["checks"][0]["present"], true, "{flows}");
    }
    // A host, a window, the HTML page (the sample's node before its number).
    let (status, body) = get(
        nodes[0].http,
        "/api/v1/report/ndcpp?host=tcp-n2&since=2000-01-01T00:00:00Z",
        &tokens[0].1,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["events_examined"], 200, "{body}");
    assert_eq!(evidence(&report, COMMIT_ROW), commits[1..], "{body}");
    let (status, page) = get(
        nodes[1].http,
        "/api/v1/report/ndcpp?format=html",
        &tokens[1].1,
        "",
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains(COMMIT_ROW) && page.contains("n2 #"),
        "{page}"
    );
    // Bad input: 400 naming the parameter, as on the embedded store.
    for (path, name) in [
        ("/api/v1/report/ndcpp?since=yesterday-ish", "since"),
        ("/api/v1/report/ndcpp?until=soon", "until"),
        ("/api/v1/report/ndcpp?colour=red", "colour"),
        ("/api/v1/report/ndcpp?format=docx", "format"),
    ] {
        let (status, body) = get(nodes[0].http, path, &tokens[0].1, "");
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(name), "{path}: {body}");
    }
    // A reporter may not read it.
    let (status, _) = get(nodes[0].http, "/api/v1/report/ndcpp", &tokens[0].0, "");
    assert_eq!(status, 403);

    // The command line reads the database itself.
    let out = netaudit(&["report", "ndcpp", "--store", &url, "--host", "tcp-n1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(report["events_examined"], 300);
    assert_eq!(evidence(&report, COMMIT_ROW), commits[..1]);
    let out = netaudit(&["report", "ndcpp", "--store", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(evidence(&report, COMMIT_ROW), commits);
    // Bad input: the window and the connection string named.
    let out = netaudit(&[
        "report",
        "ndcpp",
        "--store",
        &url,
        "--since",
        "yesterday-ish",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("yesterday-ish"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&["report", "ndcpp", "--store", "postgres://[::1"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("connection"), "{err}");
}
