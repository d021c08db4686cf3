//! `netaudit serve` on PostgreSQL (`store.backend = "postgres"`) against a
//! private PostgreSQL each test starts (`netaudit_pgstore::test_cluster`,
//! stopped by PID): two nodes on one database take events over TCP syslog
//! and the HTTP API, either node answers queries with every node's events in
//! the global order, `netaudit query --store` too, and `verify --store`
//! walks both chains; the database away at start or mid-run holds back
//! acknowledgements (health 503 naming it) and nothing acknowledged is lost
//! when it returns; the bad starts are clear errors without the password.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::PgCluster;
use serde_json::Value;

use crate::support::*;

pub(super) const PASSWORD: &str = "correct horse battery staple";

pub(super) fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .env_remove("PGPASSWORD")
        .output()
        .expect("run netaudit")
}

pub(super) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The cluster's URL with the password in a file (never in the string).
pub(super) fn connection(pg: &PgCluster, dir: &Path) -> String {
    let file = dir.join("pg.pass");
    std::fs::write(&file, format!("{}\n", pg.password())).unwrap();
    format!(
        "{}?password_file={}",
        pg.url_without_password(),
        file.display()
    )
}

pub(super) fn migrate(url: &str) {
    let out = netaudit(&["store", "migrate", "--to", url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A node's configuration: its folder, TCP listener, HTTP port.
pub(super) struct NodeSetup {
    pub(super) dir: PathBuf,
    pub(super) config: PathBuf,
    pub(super) tcp: u16,
    pub(super) http: SocketAddr,
}

pub(super) fn node_setup(root: &Path, node: &str, url: &str) -> NodeSetup {
    let dir = root.join(node);
    std::fs::create_dir_all(&dir).unwrap();
    let tcp = free_tcp_port();
    let http = free_tcp_port();
    let config = dir.join("netaudit.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\nbackend = \"postgres\"\nconnection = \"{url}\"\nnode = \"{node}\"\n\
             epoch_events = 150\nepoch_interval_secs = 1\n\n[http]\naddress = \"127.0.0.1:{http}\"\n\n[pipeline]\nbatch_max_delay_ms = 20\n\n\
             [builtin_policies]\nenabled = false\n\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n",
            dir.join("netaudit.db").display()
        ),
    )
    .unwrap();
    for (name, role) in [("rep", "reporter"), ("aud", "auditor")] {
        let pw = dir.join(format!("{name}.pw"));
        std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
        let out = netaudit(&[
            "user",
            "-c",
            config.to_str().unwrap(),
            "add",
            name,
            "--role",
            role,
            "--password-file",
            pw.to_str().unwrap(),
        ]);
        // The users are the database's: the first node's setup made them
        // (none in a database not migrated yet: a test of that start).
        let stderr = text(&out.stderr);
        assert!(
            out.status.success()
                || stderr.contains("already exists")
                || stderr.contains("has no netaudit schema yet"),
            "{stderr}"
        );
    }
    NodeSetup {
        dir,
        config,
        tcp,
        http: ([127, 0, 0, 1], http).into(),
    }
}

pub(super) fn login(http: SocketAddr, user: &str) -> String {
    let (status, body) = http_request(
        http,
        "POST",
        "/api/v1/login",
        None,
        &format!(r#"{{"username":"{user}","password":"{PASSWORD}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// `count` standard syslog lines from `host` over one TCP connection.
pub(super) fn send_tcp(port: u16, host: &str, count: usize) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut body = String::new();
    for i in 0..count {
        body.push_str(&format!(
            "<13>Nov 23 10:00:00 {host} mgd[42]: UI_COMMIT: User 'ops' requested 'commit' operation number {i}\n"
        ));
    }
    s.write_all(body.as_bytes()).unwrap();
}

pub(super) fn submit(http: SocketAddr, token: &str, host: &str) -> (u16, String) {
    http_request(
        http,
        "POST",
        "/api/v1/events",
        Some(token),
        &format!(
            r#"{{"code":"JUNOSCOPE_COMMIT_PERFORMED","variables":{{"device-name":"edge1","username":"ops","client-address":"10.1.2.3"}},"host":"{host}"}}"#
        ),
    )
}

/// Every event the API of `http` gives, page after page (`page=`).
pub(super) fn all_events(http: SocketAddr, token: &str, filter: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut page: Option<String> = None;
    for _ in 0..100 {
        let path = match &page {
            Some(p) => format!("/api/v1/events?limit=250{filter}&page={p}"),
            None => format!("/api/v1/events?limit=250{filter}"),
        };
        let (status, body) = http_request(http, "GET", &path, Some(token), "");
        assert_eq!(status, 200, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        events.extend(v["events"].as_array().unwrap().iter().cloned());
        match v["next"].as_str() {
            Some(next) => page = Some(next.to_string()),
            None => return events,
        }
    }
    panic!("more than 100 pages");
}

/// Waits (bounded) until `host`'s events number `count` through `http`.
pub(super) fn wait_host(http: SocketAddr, token: &str, host: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = all_events(http, token, &format!("&host={host}")).len();
        if n >= count {
            assert_eq!(n, count, "{host}: more events than sent");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host}: {n} of {count} events after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (node, seq) of an API event: which event of which chain.
pub(super) fn place(e: &Value) -> (String, u64) {
    (
        e["node"].as_str().unwrap().to_string(),
        e["seq"].as_u64().unwrap(),
    )
}

/// Every event's (node, seq) in the documented global order, as the
/// database itself sorts them.
pub(super) fn global_order(pg: &PgCluster) -> Vec<(String, u64)> {
    pg.client()
        .unwrap()
        .query(
            "SELECT node_id, seq FROM netaudit.events ORDER BY received_ns, node_id, seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap()))
        .collect()
}

/// The lines `from` gives, on a channel (read on a thread of its own).
fn lines_of(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The `data:` lines of `GET /api/v1/events/stream` on `http`.
fn sse_lines(http: SocketAddr, token: &str) -> mpsc::Receiver<String> {
    let mut s = TcpStream::connect(http).unwrap();
    write!(
        s,
        "GET /api/v1/events/stream HTTP/1.1\r\nHost: {http}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let raw = lines_of(s);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in raw {
            if let Some(data) = line.strip_prefix("data:") {
                if tx.send(data.trim().to_string()).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn two_nodes_on_one_database_store_query_and_verify() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());
    migrate(&url);
    let setups: Vec<NodeSetup> = ["n1", "n2"]
        .iter()
        .map(|n| node_setup(root.path(), n, &url))
        .collect();
    let mut nodes: Vec<Netaudit> = setups
        .iter()
        .map(|s| Netaudit::start_with(&s.dir, &s.config))
        .collect();
    let tokens: Vec<(String, String)> = nodes
        .iter()
        .map(|n| (login(n.http, "rep"), login(n.http, "aud")))
        .collect();
    for (i, (node, setup)) in nodes.iter().zip(&setups).enumerate() {
        send_tcp(setup.tcp, &format!("tcp-n{}", i + 1), 400);
        for _ in 0..3 {
            let (status, body) = submit(node.http, &tokens[i].0, &format!("api-n{}", i + 1));
            // 201 only once committed in PostgreSQL.
            assert_eq!(status, 201, "{body}");
        }
    }
    // Either node sees both nodes' events.
    for (node, (_, aud)) in nodes.iter().zip(&tokens) {
        for (host, count) in [
            ("tcp-n1", 400),
            ("tcp-n2", 400),
            ("api-n1", 3),
            ("api-n2", 3),
        ] {
            wait_host(node.http, aud, host, count);
        }
    }
    let seen: Vec<Vec<Value>> = nodes
        .iter()
        .zip(&tokens)
        .map(|(n, (_, aud))| all_events(n.http, aud, ""))
        .collect();
    let places: Vec<Vec<(String, u64)>> =
        seen.iter().map(|s| s.iter().map(place).collect()).collect();
    // Both nodes answer the same events in the same order: (received, node,
    // seq); what was stored between the two reads can only come after.
    assert_eq!(places[0], places[1][..places[0].len()]);
    let order = global_order(&pg);
    assert_eq!(places[0], order[..places[0].len()]);
    // Each node's own events once each, numbered without gaps (in received
    // order, which an API batch committed ahead of a listener's batch
    // makes differ from the chain's).
    let mut per_node: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (node, seq) in &places[0] {
        per_node.entry(node.clone()).or_default().push(*seq);
    }
    assert_eq!(per_node.keys().collect::<Vec<_>>(), ["n1", "n2"]);
    for seqs in per_node.values_mut() {
        seqs.sort_unstable();
        assert!(seqs.iter().copied().eq(1..=seqs.len() as u64), "{seqs:?}");
    }
    // Newest first gives the same events reversed; filters apply.
    let (status, body) = http_request(
        nodes[1].http,
        "GET",
        "/api/v1/events?reverse=true&limit=5&host=api-n1",
        Some(&tokens[1].1),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let newest: Vec<_> = v["events"].as_array().unwrap().iter().map(place).collect();
    assert_eq!(newest.len(), 3);
    assert!(newest.windows(2).all(|w| w[0] > w[1]));
    assert!(newest.iter().all(|(node, _)| node == "n1"));
    // A page key that is not one: 400 naming the parameter.
    let (status, body) = http_request(
        nodes[0].http,
        "GET",
        "/api/v1/events?page=yesterday",
        Some(&tokens[0].1),
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("page"), "{body}");

    // The CLI reads the same store.
    let out = netaudit(&[
        "query", "--store", &url, "--host", "tcp-n2", "--limit", "1000", "--format", "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 400);
    assert!(lines.iter().all(|e| e["node"] == "n2"));
    let out = netaudit(&["query", "--store", &url, "--limit", "10"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("more events: continue with --page "),
        "{}",
        text(&out.stderr)
    );

    // tail: the newest in the global order, then each node's new events
    // as they commit, from the CLI and the API's stream alike.
    let out = netaudit(&["tail", "--store", &url, "-n", "5", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let newest: Vec<(String, u64)> = text(&out.stdout)
        .lines()
        .map(|l| place(&serde_json::from_str(l).unwrap()))
        .collect();
    let order = global_order(&pg);
    assert_eq!(newest, order[order.len() - 5..]);
    let mut follower = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["tail", "--store", &url, "-f", "-n", "0", "--format", "json"])
        .args(["--interval-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let followed = lines_of(follower.stdout.take().unwrap());
    let stream = sse_lines(nodes[0].http, &tokens[0].1);
    // Both followers start from "now": wait until they are reading.
    std::thread::sleep(Duration::from_millis(1500));
    send_tcp(setups[1].tcp, "later-n2", 10);
    let (status, body) = submit(nodes[0].http, &tokens[0].0, "later-n1");
    assert_eq!(status, 201, "{body}");
    for (what, lines) in [("tail -f", &followed), ("events/stream", &stream)] {
        let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while hosts.get("later-n2") != Some(&10) || hosts.get("later-n1") != Some(&1) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{what}: only {hosts:?} within 60 s"));
            if let Some(host) = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|v| v["host"].as_str().map(str::to_string))
            {
                *hosts.entry(host).or_default() += 1;
            }
        }
    }
    follower.kill().unwrap();
    follower.wait().unwrap();

    // A clean stop seals each node's epoch; both chains verify.
    for n in &mut nodes {
        let status = n.stop();
        assert!(status.success(), "{status}: {}", n.log());
    }
    let key = |s: &NodeSetup, n: &str| s.dir.join(format!("{n}.node.verify-key"));
    let (k1, k2) = (key(&setups[0], "n1"), key(&setups[1], "n2"));
    let out = netaudit(&[
        "verify",
        "--store",
        &url,
        "--key",
        k1.to_str().unwrap(),
        "--key",
        k2.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("node n1: OK") && stdout.contains("node n2: OK"),
        "{stdout}"
    );
}

/// Starts `netaudit serve` on `setup` and waits (bounded) until `/health`
/// answers at all (a node started without its database answers 503).
pub(super) fn start_answering(setup: &NodeSetup) -> Netaudit {
    let log_path = setup.dir.join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["serve", "-c", setup.config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let node = Netaudit {
        child: Some(child),
        dir: setup.dir.clone(),
        config_path: setup.config.clone(),
        http: setup.http,
        db: setup.dir.join("netaudit.db"),
        log_path,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_get(node.http, "/health").is_none() {
        assert!(Instant::now() < deadline, "no /health:\n{}", node.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    node
}

/// Waits (bounded) for `/health`'s status `want`; returns the body.
pub(super) fn wait_health(node: &Netaudit, want: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let health = http_get(node.http, "/health").unwrap();
        if health.0 == want {
            return health.1;
        }
        assert!(
            Instant::now() < deadline,
            "no {want}: {health:?}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_database_away_at_start_and_mid_run_holds_acknowledgements_and_loses_nothing() {
    let mut pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());
    migrate(&url);
    let setup = node_setup(root.path(), "solo", &url);
    // Away at start: the node starts, says so, stores nothing yet.
    pg.stop();
    let mut node = start_answering(&setup);
    let health = wait_health(&node, 503);
    assert!(
        health.contains("\"store\":\"PostgreSQL 127.0.0.1:"),
        "{health}"
    );
    send_tcp(setup.tcp, "before", 100);
    pg.restart().unwrap();
    wait_health(&node, 200);
    let (rep, aud) = (login(node.http, "rep"), login(node.http, "aud"));
    wait_host(node.http, &aud, "before", 100);

    pg.stop();
    send_tcp(setup.tcp, "during", 100);
    // Health names the store while appends fail.
    let deadline = Instant::now() + Duration::from_secs(60);
    let health = loop {
        let health = http_get(node.http, "/health").unwrap();
        if health.0 == 503 {
            break health;
        }
        assert!(
            Instant::now() < deadline,
            "no 503: {health:?}\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        health.1.contains("\"status\":\"store-failing\"")
            && health.1.contains(&format!(
                "\"store\":\"PostgreSQL 127.0.0.1:{}/postgres as netaudit\"",
                pg.port()
            )),
        "{health:?}"
    );
    assert!(!health.1.contains(pg.password()));
    // An API submission is not acknowledged while the database is away.
    let http = node.http;
    let submitter = std::thread::spawn(move || submit(http, &rep, "api-during"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!submitter.is_finished(), "answered without a commit");

    pg.restart().unwrap();
    let (status, body) = submitter.join().unwrap();
    assert_eq!(status, 201, "{body}");
    wait_host(node.http, &aud, "during", 100);
    wait_host(node.http, &aud, "api-during", 1);
    assert_eq!(http_get(node.http, "/health").unwrap().0, 200);
    assert!(node.log().contains("node reopened"), "{}", node.log());
    // Epochs end by time (1 s here) even with no batch coming: the last
    // event ends up under a checkpoint while the node runs.
    let mut db = pg.client().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = db
            .query_one(
                "SELECT (SELECT max(seq) FROM netaudit.events WHERE node_id = 'solo'), \
                 (SELECT max(last_seq) FROM netaudit.checkpoints WHERE node_id = 'solo')",
                &[],
            )
            .unwrap();
        let (events, sealed): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
        if events.is_some() && events == sealed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not sealed by time: {events:?} {sealed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(db);
    let status = node.stop();
    assert!(status.success(), "{status}: {}", node.log());
    let key = setup.dir.join("solo.node.verify-key");
    let out = netaudit(&["verify", "--store", &url, "--key", key.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Runs `netaudit serve -c config` expecting it to refuse to start;
/// returns its stderr.
fn refused_start(config: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["serve", "-c", config.to_str().unwrap()])
        .env_remove("PGPASSWORD")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(!status.success(), "{err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("netaudit serve still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_starts_on_postgres_are_clear_errors_without_the_password() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());

    // Not migrated yet.
    let setup = node_setup(root.path(), "n1", &url);
    let err = refused_start(&setup.config);
    assert!(err.contains("has no netaudit schema yet"), "{err}");

    migrate(&url);
    let mut first = Netaudit::start_with(&setup.dir, &setup.config);
    // The same node id from a second process: refused by the second.
    let twin = node_setup(root.path(), "twin", &url);
    let twin_config = std::fs::read_to_string(&twin.config)
        .unwrap()
        .replace("node = \"twin\"", "node = \"n1\"");
    std::fs::write(&twin.config, twin_config).unwrap();
    let err = refused_start(&twin.config);
    assert!(
        err.contains("node id \"n1\" is in use by another live netaudit process"),
        "{err}"
    );
    assert!(first.stop().success());

    // A wrong password.
    std::fs::write(root.path().join("pg.pass"), "not-the-password\n").unwrap();
    let err = refused_start(&setup.config);
    assert!(err.contains("refused the login"), "{err}");
    assert!(!err.contains("not-the-password") && !err.contains(pg.password()));

    // A connection string in the wrong form, named by its key and line.
    let bad = "postgres://netaudit:s3cret@127.0.0.1/postgres?no_such_option=1";
    let text_of = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(&setup.config, text_of.replace(&url, bad)).unwrap();
    let out = netaudit(&["check-config", setup.config.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("store.connection") && err.contains("malformed"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}
