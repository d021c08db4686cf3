//! The console's Overview on a PostgreSQL store (issue 16, item 4): one
//! node's page counts the events sent to both nodes (by host, code,
//! device, failed logins by address, per minute), and refuses a bad
//! window as on the embedded store; against a private PostgreSQL the test
//! starts (stopped by PID) and two `serve` nodes on it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::PgCluster;

use super::pg_examine::{console_session, exchange, two_nodes, TwoNodes};
use crate::support::*;

/// How many events the database holds, and how many failed logins.
fn stored(pg: &PgCluster) -> (u64, u64) {
    let row = pg
        .client()
        .unwrap()
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE code = 'JUNOSCOPE_LOGIN_FAILURE') \
             FROM netaudit.events",
            &[],
        )
        .unwrap();
    let n = |i| u64::try_from(row.get::<_, i64>(i)).unwrap();
    (n(0), n(1))
}

/// The Overview `path` of `http` once the database holds the same number
/// of events before and after it was rendered (a sign-in's audit event may
/// still be on its way), within 60 s: the page and that number.
fn overview_settled(pg: &PgCluster, http: SocketAddr, session: &str, path: &str) -> (String, u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (before, _) = stored(pg);
        let (status, _, page) = exchange(http, "GET", path, session, "");
        assert_eq!(status, 200, "{path}: {page}");
        if stored(pg).0 == before {
            return (page, before);
        }
        assert!(
            Instant::now() < deadline,
            "events still arriving after 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The value of row `label` in the top list titled `title`.
fn bar(page: &str, title: &str, label: &str) -> u64 {
    let section = page
        .split(&format!("<h2>{title}</h2>"))
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no list {title} in {page}"));
    section
        .split(&format!("<td class=\"label\">{label}</td>"))
        .nth(1)
        .and_then(|rest| rest.split("<td class=\"value\">").nth(1))
        .and_then(|rest| rest.split('<').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no row {label} in {title}: {section}"))
}

/// The "N events counted" of a page.
fn counted(page: &str) -> u64 {
    page.split("<span class=\"count\">")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {page}"))
}

/// The sum of the per-minute chart's bars (each segment's title ends with
/// its value).
fn charted(page: &str) -> u64 {
    let chart = page
        .split("id=\"rate\"")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("no chart in {page}"));
    chart
        .split("<title>")
        .skip(1)
        .map(|t| {
            let text = t.split("</title>").next().unwrap();
            text.rsplit(": ").next().unwrap().parse::<u64>().unwrap()
        })
        .sum()
}

#[test]
fn the_overview_on_one_node_counts_every_node_s_events() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let TwoNodes { nodes, .. } = two_nodes(&pg, root.path());
    let (n1, n2) = (nodes[0].http, nodes[1].http);
    // A failed login on n2 (its event stored by n2).
    let (status, body) = http_request(
        n2,
        "POST",
        "/api/v1/login",
        None,
        r#"{"username":"aud","password":"not the password"}"#,
    );
    assert_eq!(status, 401, "{body}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&pg).1 < 1 {
        assert!(Instant::now() < deadline, "no failed login stored in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let session = console_session(n1, "aud");

    let (page, total) = overview_settled(&pg, n1, &session, "/overview?silent=0");
    // Every event both nodes stored was received in the last hour.
    assert_eq!(counted(&page), total, "{page}");
    assert_eq!(charted(&page), total, "{page}");
    // What was sent to each node (two_nodes: 300 and 200 over TCP, one
    // API event each).
    for (host, sent) in [
        ("tcp-n1", 300),
        ("tcp-n2", 200),
        ("api-n1", 1),
        ("api-n2", 1),
    ] {
        assert_eq!(bar(&page, "Top hosts", host), sent, "{host}");
    }
    assert_eq!(bar(&page, "Top codes", "UI_COMMIT"), 500);
    assert_eq!(bar(&page, "Top codes", "JUNOSCOPE_COMMIT_PERFORMED"), 2);
    assert_eq!(bar(&page, "Top devices", "edge1"), 2);
    assert_eq!(
        bar(&page, "Failed logins by source address", "127.0.0.1"),
        1
    );
    // Each sending host's last event; with silent=0 every one is silent.
    for host in ["tcp-n1", "tcp-n2", "api-n2"] {
        let row = page
            .split(&format!("data-host=\"{host}\""))
            .nth(1)
            .and_then(|rest| rest.split("</tr>").next())
            .unwrap_or_else(|| panic!("no host row {host}: {page}"));
        assert!(row.contains("(silent)"), "{host}: {row}");
    }
    // The day, per hour: the same events.
    let (page, total) = overview_settled(&pg, n1, &session, "/overview?window=24h");
    assert_eq!(counted(&page), total, "{page}");
    assert_eq!(charted(&page), total, "{page}");
    assert!(!page.contains("(silent)"), "{page}");

    // Bad settings: 400 naming them, as on the embedded store.
    for (path, name) in [
        ("/overview?window=2d", "2d' (expected 1h or 24h)"),
        ("/overview?silent=x", "x' is not a number of minutes"),
        (
            "/overview?silent=10081",
            "10081' is not a number of minutes",
        ),
        (
            "/overview?colour=red",
            "colour' is not a setting of this page",
        ),
    ] {
        let (status, _, page) = exchange(n1, "GET", path, &session, "");
        assert_eq!(status, 400, "{path}: {page}");
        assert!(page.contains(name), "{path}: {page}");
    }
}
