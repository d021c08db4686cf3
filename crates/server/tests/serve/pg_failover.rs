//! Two `netaudit serve` nodes on PostgreSQL through a node's death and the
//! primary's (issue 16): bounded senders submit through each node's API,
//! which answers 201 only once the event's batch has committed, while a
//! node is killed with SIGKILL and restarted, or while the primary is
//! killed and its synchronous standby promoted with `pg_ctl promote`.
//! Every acknowledged event is then in the database exactly once, each
//! node's chain is numbered without a gap and verifies with its verify key.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};

use crate::pg_nodes::{
    connection, login, metric, migrate, netaudit, node_setup, send_tcp, text, wait_health,
    NodeSetup, PASSWORD,
};
use crate::support::*;

/// The most submissions one sender makes (the load is bounded in count as
/// well as by the test's deadlines).
const MAX_PER_SENDER: usize = 3000;

/// One request: the status and body, or `None` when the node did not
/// answer (refused, reset, or no answer within 40 s).
fn try_request(http: SocketAddr, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&http, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(40))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// One submission's status (`None`: no answer).
fn try_submit(http: SocketAddr, token: &str, host: &str) -> Option<u16> {
    let body = format!(
        r#"{{"code":"JUNOSCOPE_COMMIT_PERFORMED","variables":{{"device-name":"edge1","username":"ops","client-address":"10.1.2.3"}},"host":"{host}"}}"#
    );
    try_request(http, "/api/v1/events", token, &body).map(|(status, _)| status)
}

/// A new session's token (`None`: no answer or refused), for a sender
/// whose node was restarted (sessions do not outlive the process).
fn try_login(http: SocketAddr) -> Option<String> {
    let body = format!(r#"{{"username":"rep","password":"{PASSWORD}"}}"#);
    let (status, body) = try_request(http, "/api/v1/login", "", &body)?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    (status == 200).then(|| v["token"].as_str().map(str::to_string))?
}

/// A sender submitting one event after another to one node, each with a
/// host of its own (`<name>-<i>`), until told to stop; it goes on through
/// errors (a node away, a database away) and records what was answered 201.
struct Sender {
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<String>>>,
}

impl Sender {
    fn start(name: &str, http: SocketAddr, mut token: String) -> Sender {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (acks, stopped, name) = (acknowledged.clone(), stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            let mut sent = Vec::new();
            for i in 0..MAX_PER_SENDER {
                if stopped.load(SeqCst) {
                    break;
                }
                let host = format!("{name}-{i}");
                match try_submit(http, &token, &host) {
                    Some(201) => acks.lock().unwrap().push(host.clone()),
                    Some(401) => {
                        if let Some(fresh) = try_login(http) {
                            token = fresh;
                        }
                    }
                    // Not acknowledged: the event may or may not be stored.
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
                sent.push(host);
            }
            sent
        });
        Sender {
            acknowledged,
            stop,
            thread: Some(thread),
        }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Waits (bounded) until `count` more submissions than `from` were acknowledged.
    fn wait_acknowledged(&self, from: usize, count: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.acknowledged() < from + count {
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {} acknowledged after 90 s",
                self.acknowledged(),
                from + count
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the sender; returns (acknowledged, every host sent).
    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        self.stop.store(true, SeqCst);
        let sent = self.thread.take().unwrap().join().unwrap();
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        (acknowledged, sent)
    }
}

/// How many times each host is stored, from `db`.
fn stored_hosts(db: &PgCluster) -> BTreeMap<String, i64> {
    db.client()
        .unwrap()
        .query(
            "SELECT host, count(*) FROM netaudit.events GROUP BY host",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect()
}

/// Every acknowledged event stored exactly once, nothing sent stored
/// twice, and each node's sequence numbers 1..N without a gap.
fn check_exactly_once(db: &PgCluster, senders: Vec<(Vec<String>, Vec<String>)>) {
    let stored = stored_hosts(db);
    for (acknowledged, sent) in senders {
        assert!(!acknowledged.is_empty());
        for host in &acknowledged {
            assert_eq!(stored.get(host), Some(&1), "acknowledged {host}");
        }
        for host in &sent {
            assert!(stored.get(host).copied().unwrap_or(0) <= 1, "{host} twice");
        }
    }
    let rows = db
        .client()
        .unwrap()
        .query(
            "SELECT node_id, count(*), count(DISTINCT seq), max(seq) FROM netaudit.events GROUP BY node_id",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let (node, count, distinct, max): (String, i64, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        assert!(
            count == distinct && count == max,
            "{node}: {count} {distinct} {max}"
        );
    }
}

/// `netaudit verify --store` with both nodes' verify keys; its stdout.
fn verify_both(url: &str, setups: &[NodeSetup], expect_ok: bool) -> String {
    let keys: Vec<String> = setups
        .iter()
        .map(|s| {
            let node = s.dir.file_name().unwrap().to_str().unwrap().to_string();
            s.dir
                .join(format!("{node}.node.verify-key"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let out = netaudit(&[
        "verify", "--store", url, "--key", &keys[0], "--key", &keys[1],
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.success(),
        expect_ok,
        "{stdout}{}",
        text(&out.stderr)
    );
    stdout
}

fn start_nodes(root: &Path, url: &str) -> (Vec<NodeSetup>, Vec<Netaudit>, Vec<String>) {
    let setups: Vec<NodeSetup> = ["n1", "n2"]
        .iter()
        .map(|n| node_setup(root, n, url))
        .collect();
    let nodes: Vec<Netaudit> = setups
        .iter()
        .map(|s| Netaudit::start_with(&s.dir, &s.config))
        .collect();
    let tokens = nodes.iter().map(|n| login(n.http, "rep")).collect();
    (setups, nodes, tokens)
}

#[test]
fn a_node_killed_under_load_loses_nothing_acknowledged_and_resumes_its_chain() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());
    migrate(&url);
    let (setups, mut nodes, tokens) = start_nodes(root.path(), &url);
    let s1 = Sender::start("k1", nodes[0].http, tokens[0].clone());
    let s2 = Sender::start("k2", nodes[1].http, tokens[1].clone());
    s1.wait_acknowledged(0, 60, "n1 before the kill");
    s2.wait_acknowledged(0, 60, "n2 before the kill");

    // SIGKILL under load: what was acknowledged is committed, the rest
    // never was; the other node goes on.
    nodes[0].kill();
    let at_kill = s2.acknowledged();
    s2.wait_acknowledged(at_kill, 40, "n2 after n1's death");
    // The killed node's chain verifies up to its last commit (its open
    // epoch unsealed, reported so); the live node's too.
    let stdout = verify_both(&url, &setups, true);
    assert!(
        stdout.contains("node n1: OK") && stdout.contains("node n2: OK"),
        "{stdout}"
    );
    let last_before: i64 = pg
        .client()
        .unwrap()
        .query_one(
            "SELECT max(seq) FROM netaudit.events WHERE node_id = 'n1'",
            &[],
        )
        .unwrap()
        .get(0);

    // Restarted with the same node id and key file, it resumes its chain.
    nodes[0] = Netaudit::start_with(&setups[0].dir, &setups[0].config);
    let at_restart = s1.acknowledged();
    s1.wait_acknowledged(at_restart, 40, "n1 after its restart");
    let (a1, a2) = (s1.finish(), s2.finish());
    for n in &mut nodes {
        let status = n.stop();
        assert!(status.success(), "{status}: {}", n.log());
    }
    // Numbered on from where the killed process had committed (the same
    // chain: no new node, no gap; checked whole below).
    let resumed: i64 = pg
        .client()
        .unwrap()
        .query_one(
            "SELECT count(*) FROM netaudit.events WHERE node_id = 'n1' AND seq > $1",
            &[&last_before],
        )
        .unwrap()
        .get(0);
    assert!(resumed >= 40, "{resumed}");
    check_exactly_once(&pg, vec![a1, a2]);
    let stdout = verify_both(&url, &setups, true);
    assert!(
        stdout.contains("node n1: OK") && stdout.contains("node n2: OK"),
        "{stdout}"
    );
    assert!(!stdout.contains("UNSEALED"), "{stdout}");
}

#[test]
fn the_primary_killed_under_load_and_its_standby_promoted_loses_nothing_acknowledged() {
    let mut primary = PgCluster::start_with(ClusterOptions {
        synchronous_commit: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    let standby = primary.start_standby().unwrap();
    let root = tempfile::tempdir().unwrap();
    let pass = root.path().join("pg.pass");
    std::fs::write(&pass, format!("{}\n", primary.password())).unwrap();
    // Both hosts, the one that takes writes chosen at each connection.
    let url = format!(
        "postgres://netaudit@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2&password_file={}",
        primary.port(),
        standby.port(),
        pass.display()
    );
    migrate(&url);
    let (setups, mut nodes, tokens) = start_nodes(root.path(), &url);
    let s1 = Sender::start("p1", nodes[0].http, tokens[0].clone());
    let s2 = Sender::start("p2", nodes[1].http, tokens[1].clone());
    s1.wait_acknowledged(0, 40, "n1 before the primary's death");
    s2.wait_acknowledged(0, 40, "n2 before the primary's death");

    primary.kill();
    // TCP syslog too (the API's sign-in checks need the database as well,
    // so its submissions may be refused before they reach the writer):
    // these events wait in the pipeline, unacknowledged, for a writable
    // host. No host takes writes: both nodes stop storing and say so.
    for (i, s) in setups.iter().enumerate() {
        send_tcp(s.tcp, &format!("tcp-during-n{}", i + 1), 10);
    }
    for n in &nodes {
        let health = wait_health(n, 503);
        assert!(health.contains("store-failing"), "{health}");
    }
    let (at_promotion_1, at_promotion_2) = (s1.acknowledged(), s2.acknowledged());
    standby.promote().unwrap();
    // The nodes find the promoted standby by themselves.
    for n in &nodes {
        wait_health(n, 200);
    }
    s1.wait_acknowledged(at_promotion_1, 30, "n1 after the promotion");
    s2.wait_acknowledged(at_promotion_2, 30, "n2 after the promotion");
    for n in &nodes {
        let (_, metrics) = http_get(n.http, "/metrics").unwrap();
        assert!(
            metric(&metrics, "netaudit_store_reconnects_total") >= 1,
            "{metrics}"
        );
        assert!(n.log().contains("node reopened"), "{}", n.log());
    }
    let (a1, a2) = (s1.finish(), s2.finish());
    for n in &mut nodes {
        let status = n.stop();
        assert!(status.success(), "{status}: {}", n.log());
    }
    check_exactly_once(&standby, vec![a1, a2]);
    let stored = stored_hosts(&standby);
    for host in ["tcp-during-n1", "tcp-during-n2"] {
        assert_eq!(stored.get(host), Some(&10), "{host}: {stored:?}");
    }
    let stdout = verify_both(&url, &setups, true);
    assert!(
        stdout.contains("node n1: OK") && stdout.contains("node n2: OK"),
        "{stdout}"
    );
}
