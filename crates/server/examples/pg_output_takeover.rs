//! Output take-over time on PostgreSQL (docs/cluster.md, "Outputs on
//! PostgreSQL"): two `netaudit serve` nodes share one syslog output to a
//! TCP receiver here; the node owning it is killed with SIGKILL and the
//! clock runs until (1) the other node's `/metrics` says it owns the output
//! and (2) an event sent to it just after the kill reaches the receiver.
//! The database is a private PostgreSQL on a loopback port, stopped by PID
//! at the end; each node gets a fresh folder and is stopped by PID.
//!
//! cargo build --release -p netaudit --example pg_output_takeover
//! target/release/examples/pg_output_takeover [LEASE_SECS] [RUNS]
//!
//! (`NETAUDIT_BIN` names the netaudit binary; default target/release/netaudit.)

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::PgCluster;

mod common;
use common::{binary, free_port, get, median, Serve};

/// Whether the node's `/metrics` says it owns `output`.
fn owns(http: SocketAddr, output: &str) -> bool {
    let series = format!("netaudit_output_lease_owned{{output=\"{output}\"}} 1");
    get(http, "/metrics").is_some_and(|m| m.lines().any(|l| l == series))
}

struct Node {
    serve: Serve,
    http: SocketAddr,
    tcp: u16,
}

impl Node {
    fn start(dir: &Path, url: &str, node: &str, lease: u64, output: &str, receiver: u16) -> Node {
        std::fs::create_dir_all(dir).expect("node folder");
        let (tcp, http) = (free_port(), free_port());
        let config = format!(
                "[store]\npath = \"{}\"\nbackend = \"postgres\"\nconnection = \"{url}\"\nnode = \"{node}\"\n\
                 output_lease_secs = {lease}\n\n[http]\naddress = \"127.0.0.1:{http}\"\n\n\
                 [pipeline]\nbatch_max_delay_ms = 20\n\n[builtin_policies]\nenabled = false\n\n\
                 [[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n\n\
                 [[output.syslog]]\nname = \"{output}\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:{receiver}\"\n\
                 format = \"standard\"\nframing = \"lf\"\nbackoff_initial_ms = 100\nbackoff_max_ms = 500\n",
            dir.join("netaudit.db").display()
        );
        let http: SocketAddr = ([127, 0, 0, 1], http).into();
        Node {
            serve: Serve::start(dir, &config, http),
            http,
            tcp,
        }
    }

    /// Sends one syslog line over TCP.
    fn send(&self, host: &str) {
        let mut c = TcpStream::connect(("127.0.0.1", self.tcp)).expect("connect");
        writeln!(c, "<13>Nov 23 10:00:00 {host} mgd[42]: UI_COMMIT: User 'ops' requested 'commit' operation").expect("send");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lease: u64 = args.next().map_or(Ok(10), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let root = tempfile::tempdir()?;
    let pg = PgCluster::start()?;
    let pass = root.path().join("pg.pass");
    std::fs::write(&pass, format!("{}\n", pg.password()))?;
    let url = format!(
        "{}?password_file={}",
        pg.url_without_password(),
        pass.display()
    );
    let out = Command::new(binary())
        .args(["store", "migrate", "--to", &url])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The receiver: every line of every connection.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let receiver = listener.local_addr()?.port();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let shared = lines.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    shared.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
    });
    let arrived = |host: &str| {
        lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|l| l.contains(host))
    };
    let (mut owned_after, mut resumed_after) = (Vec::new(), Vec::new());
    for r in 0..runs {
        let output = format!("siem-r{r}");
        let dir = root.path().join(format!("run{r}"));
        let mut nodes = [
            Node::start(
                &dir.join("a"),
                &url,
                &format!("r{r}-a"),
                lease,
                &output,
                receiver,
            ),
            Node::start(
                &dir.join("b"),
                &url,
                &format!("r{r}-b"),
                lease,
                &output,
                receiver,
            ),
        ];
        let deadline = Instant::now() + Duration::from_secs(lease + 60);
        let owner = loop {
            if let Some(i) = (0..2).find(|i| owns(nodes[*i].http, &output)) {
                break i;
            }
            assert!(Instant::now() < deadline, "nobody took the output");
            std::thread::sleep(Duration::from_millis(20));
        };
        let other = 1 - owner;
        // The output is running: one event through it first.
        let warm = format!("warm-r{r}");
        nodes[owner].send(&warm);
        while !arrived(&warm) {
            assert!(Instant::now() < deadline, "the output delivers nothing");
            std::thread::sleep(Duration::from_millis(10));
        }
        nodes[owner].serve.signal("-KILL");
        let killed = Instant::now();
        let after = format!("after-kill-r{r}");
        nodes[other].send(&after);
        let (mut owned, mut resumed) = (None, None);
        while owned.is_none() || resumed.is_none() {
            assert!(Instant::now() < deadline, "no take-over");
            if owned.is_none() && owns(nodes[other].http, &output) {
                owned = Some(killed.elapsed().as_secs_f64());
            }
            if resumed.is_none() && arrived(&after) {
                resumed = Some(killed.elapsed().as_secs_f64());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let (owned, resumed) = (owned.unwrap_or(0.0), resumed.unwrap_or(0.0));
        eprintln!(
            "run {}: owned after {owned:.3} s, first event after {resumed:.3} s",
            r + 1
        );
        owned_after.push(owned);
        resumed_after.push(resumed);
    }
    let show = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("output take-over after SIGKILL of its owner (lease {lease} s), medians of {runs}:");
    println!(
        "owned by the other node  {:.3} s   (runs: {})",
        median(owned_after.clone()),
        show(&owned_after)
    );
    println!(
        "first event delivered    {:.3} s   (runs: {})",
        median(resumed_after.clone()),
        show(&resumed_after)
    );
    Ok(())
}
