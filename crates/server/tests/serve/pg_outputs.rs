//! Outputs on PostgreSQL (`store.backend = "postgres"`): two `serve` nodes
//! on a private PostgreSQL share one syslog output to a TCP receiver in
//! the test. One node owns it at a time; events sent to both nodes arrive
//! once each, in each node's order; SIGKILL of the owner under load moves
//! the output to the other node within the lease's time to live plus its
//! poll, which resumes from the cursors: every event acknowledged (HTTP 201)
//! arrives, the duplicates are no more than `/metrics` counts; the killed
//! node, restarted, takes the output back only when the other hands it
//! over (SIGTERM releases the lease) and does not send again what was
//! delivered.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::PgCluster;

use crate::pg_nodes::{
    connection, login, migrate, node_setup, send_tcp, start_answering, NodeSetup,
};
use crate::support::*;

/// The output's lease time to live in these tests (seconds).
const LEASE_SECS: u64 = 2;

/// A syslog receiver on a loopback port: every line of every connection.
struct Receiver {
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let shared = lines.clone();
        // Ends with the test process (it only reads a loopback socket).
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        shared.lock().unwrap().push(line);
                    }
                });
            }
        });
        Receiver { port, lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// How often each of the test's event keys has arrived.
    fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for line in self.lines() {
            if let Some(key) = event_key(&line) {
                *counts.entry(key).or_insert(0) += 1;
            }
        }
        counts
    }

    /// Waits (bounded) until every key in `want` has arrived.
    fn wait_all(&self, want: &[String], nodes: &[&Netaudit]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let counts = self.counts();
            let missing: Vec<&String> = want.iter().filter(|k| !counts.contains_key(*k)).collect();
            if missing.is_empty() {
                return;
            }
            if Instant::now() > deadline {
                let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
                panic!(
                    "{} of {} events never reached the output, e.g. {:?}\n{}",
                    missing.len(),
                    want.len(),
                    &missing[..missing.len().min(5)],
                    logs.join("\n-----\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What identifies a test event in a forwarded line: `tcp-n1#17` (the
/// sending host and the operation number) or `api-n2-5` (an API event's
/// host).
fn event_key(line: &str) -> Option<String> {
    let host = line
        .split_whitespace()
        .find(|w| w.starts_with("tcp-n") || w.starts_with("api-n"))?;
    if host.starts_with("api-") {
        return Some(host.to_string());
    }
    let number = line
        .rsplit("operation number ")
        .next()?
        .split_whitespace()
        .next()?;
    Some(format!("{host}#{number}"))
}

/// A node set up with the shared syslog output `siem` to `receiver`.
fn output_node(root: &std::path::Path, node: &str, url: &str, receiver: u16) -> NodeSetup {
    let setup = node_setup(root, node, url);
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let text = text.replacen(
        "epoch_interval_secs = 1\n",
        &format!("epoch_interval_secs = 1\noutput_lease_secs = {LEASE_SECS}\n"),
        1,
    ) + &format!(
        "\n[[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{receiver}\"\n\
         format = \"standard\"\nframing = \"lf\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n"
    );
    std::fs::write(&setup.config, text).unwrap();
    setup
}

/// An API submission to a node that may have been killed: its status, or
/// `None` when the node did not answer.
fn try_submit(http: std::net::SocketAddr, token: &str, host: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let body = format!(
        r#"{{"code":"JUNOSCOPE_COMMIT_PERFORMED","variables":{{"device-name":"edge1","username":"ops","client-address":"10.1.2.3"}},"host":"{host}"}}"#
    );
    let mut stream = std::net::TcpStream::connect_timeout(&http, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    write!(
        stream,
        "POST /api/v1/events HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

const OWNED: &str = "netaudit_output_lease_owned{output=\"siem\"}";

/// Waits (bounded) until exactly one of `nodes` owns the output; its index.
fn wait_owner(nodes: &[&Netaudit], limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let owners: Vec<usize> = (0..nodes.len())
            .filter(|i| nodes[*i].metric(OWNED) == 1)
            .collect();
        if owners.len() == 1 {
            return owners[0];
        }
        assert!(
            Instant::now() < deadline,
            "owners {owners:?} after {limit:?}:\n{}",
            nodes
                .iter()
                .map(|n| n.log())
                .collect::<Vec<_>>()
                .join("\n-----\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_nodes_share_an_output_and_a_sigkilled_owners_output_moves_and_resumes() {
    let pg = PgCluster::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let url = connection(&pg, root.path());
    migrate(&url);
    let receiver = Receiver::start();
    let setups: Vec<NodeSetup> = ["n1", "n2"]
        .iter()
        .map(|n| output_node(root.path(), n, &url, receiver.port))
        .collect();
    let mut nodes: Vec<Netaudit> = setups.iter().map(start_answering).collect();
    let owner = wait_owner(&[&nodes[0], &nodes[1]], Duration::from_secs(30));
    let other = 1 - owner;

    // 1. Events sent to both nodes arrive once each, in each node's order.
    for (i, setup) in setups.iter().enumerate() {
        send_tcp(setup.tcp, &format!("tcp-n{}", i + 1), 200);
    }
    let first: Vec<String> = (1..=2)
        .flat_map(|n| (0..200).map(move |i| format!("tcp-n{n}#{i}")))
        .collect();
    receiver.wait_all(&first, &[&nodes[0], &nodes[1]]);
    let counts = receiver.counts();
    assert!(
        first.iter().all(|k| counts[k] == 1),
        "sent more than once without a take-over: {:?}",
        counts.iter().filter(|(_, c)| **c > 1).collect::<Vec<_>>()
    );
    for n in 1..=2 {
        let prefix = format!("tcp-n{n}#");
        let order: Vec<u64> = receiver
            .lines()
            .iter()
            .filter_map(|l| event_key(l))
            .filter_map(|k| k.strip_prefix(&prefix).and_then(|i| i.parse().ok()))
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "node n{n} out of order: {order:?}"
        );
    }
    assert_eq!(nodes[other].metric(OWNED), 0);

    // 2. SIGKILL the owner under load: a bounded sender submits to both
    // nodes; what was answered 201 must arrive.
    let tokens: Vec<String> = nodes.iter().map(|n| login(n.http, "rep")).collect();
    let https: Vec<std::net::SocketAddr> = nodes.iter().map(|n| n.http).collect();
    let sender = {
        let (tokens, https) = (tokens.clone(), https.clone());
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(30);
            for i in 0..300 {
                if Instant::now() > deadline {
                    break;
                }
                for n in 0..2 {
                    let host = format!("api-n{}-{i}", n + 1);
                    if try_submit(https[n], &tokens[n], &host) == Some(201) {
                        acknowledged.push(host);
                    }
                }
            }
            acknowledged
        })
    };
    // Kill once the output is busy with the load.
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver
        .counts()
        .keys()
        .filter(|k| k.starts_with("api-"))
        .count()
        < 40
    {
        assert!(Instant::now() < deadline, "{}", nodes[owner].log());
        std::thread::sleep(Duration::from_millis(10));
    }
    nodes[owner].kill();
    let killed_at = Instant::now();
    wait_owner(&[&nodes[other]], Duration::from_secs(LEASE_SECS + 30));
    let took = killed_at.elapsed();
    let acknowledged = sender.join().unwrap();
    assert!(
        acknowledged.len() > 300,
        "only {} acknowledged",
        acknowledged.len()
    );
    receiver.wait_all(&acknowledged, &[&nodes[other]]);
    let survivor = &nodes[other];
    assert_eq!(
        survivor.metric("netaudit_output_takeovers_total{output=\"siem\"}"),
        1
    );
    // Duplicates are counted when the cursor passes them (once the peer
    // has held them a second): wait for that, bounded.
    let counted = || {
        survivor.metric("netaudit_output_takeover_resent_total{output=\"siem\"}")
            + survivor.metric("netaudit_output_resent_total{output=\"siem\"}")
    };
    let duplicates: usize = receiver.counts().values().map(|c| c - 1).sum();
    let deadline = Instant::now() + Duration::from_secs(30);
    while counted() < duplicates as u64 {
        assert!(
            Instant::now() < deadline,
            "{duplicates} duplicates arrived, {} counted\n{}\n{}",
            counted(),
            survivor.metrics(),
            survivor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let counted = counted();
    eprintln!("take-over after SIGKILL: {took:?}; {duplicates} duplicates, {counted} counted");
    // The listing names the owner and the cursor per node.
    let auditor = login(survivor.http, "aud");
    let (status, body) = http_request(survivor.http, "GET", "/api/v1/outputs", Some(&auditor), "");
    assert_eq!(status, 200, "{body}");
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let siem = &listed["outputs"][0];
    assert_eq!(siem["name"], "siem", "{body}");
    assert_eq!(siem["owner"]["node"], format!("n{}", other + 1), "{body}");
    assert_eq!(siem["owner"]["generation"], 2, "{body}");
    assert!(
        siem["cursor"]["n1"].as_u64() > Some(0) && siem["cursor"]["n2"].as_u64() > Some(0),
        "{body}"
    );

    // 3. The killed node restarts and waits: the survivor keeps the output
    // until SIGTERM hands it over; what was delivered is not sent again.
    nodes[owner] = start_answering(&setups[owner]);
    std::thread::sleep(Duration::from_secs(LEASE_SECS));
    assert_eq!(nodes[owner].metric(OWNED), 0, "{}", nodes[owner].log());
    let before = receiver.counts();
    nodes[other].stop();
    wait_owner(&[&nodes[owner]], Duration::from_secs(30));
    send_tcp(setups[owner].tcp, "tcp-n9", 20);
    let last: Vec<String> = (0..20).map(|i| format!("tcp-n9#{i}")).collect();
    receiver.wait_all(&last, &[&nodes[owner]]);
    let after = receiver.counts();
    let again: Vec<(&String, &usize)> = before.iter().filter(|(k, c)| after[*k] != **c).collect();
    assert!(
        again.is_empty(),
        "delivered again after the hand-over: {again:?}"
    );
}

#[test]
fn an_output_lease_of_zero_or_absurd_length_and_radius_outputs_are_refused_with_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pg.pass");
    std::fs::write(&pass, "unused\n").unwrap();
    let store = format!(
        "[store]\npath = \"{}\"\nbackend = \"postgres\"\nconnection = \"postgres://netaudit@127.0.0.1:5432/audit?password_file={}\"\nnode = \"n1\"\n",
        dir.path().join("netaudit.db").display(),
        pass.display()
    );
    let file = dir.path().join("netaudit.toml");
    for (extra, rest, key, line) in [
        ("output_lease_secs = 0\n", "", "store.output_lease_secs", 6),
        ("output_lease_secs = 86400\n", "", "store.output_lease_secs", 6),
        (
            "",
            "\n[[output.radius]]\nname = \"aaa\"\nservers = [\"127.0.0.1:1813\"]\nsecret_file = \"/nonexistent\"\n",
            "output.radius",
            7,
        ),
    ] {
        std::fs::write(&file, format!("{store}{extra}{rest}")).unwrap();
        let out = crate::pg_nodes::netaudit(&["check-config", file.to_str().unwrap()]);
        let err = crate::pg_nodes::text(&out.stderr);
        assert!(!out.status.success(), "{extra}{rest}: accepted");
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains(&format!("netaudit.toml:{line}:")), "line {line}: {err}");
    }
    // Within the range: accepted.
    std::fs::write(&file, format!("{store}output_lease_secs = 3\n")).unwrap();
    let out = crate::pg_nodes::netaudit(&["check-config", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        crate::pg_nodes::text(&out.stderr)
    );
}
