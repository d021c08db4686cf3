//! Events/s stored by `netaudit serve` over TCP syslog, side by side in one
//! run: the embedded SQLite store, one node on PostgreSQL, two nodes on the
//! same PostgreSQL, and with `--standby` one and two nodes on a PostgreSQL
//! primary with a synchronous streaming standby (docs/cluster.md). Each
//! database is a private durable PostgreSQL (fsync and synchronous_commit
//! on) on a loopback port, stopped by PID at the end; each server gets a
//! fresh folder and is stopped by PID (SIGTERM).
//!
//! cargo build --release -p netaudit
//! cargo run --release -p netaudit --example pg_serve_rate -- [EVENTS] [RUNS] [--standby]
//!
//! The clock runs from the first byte sent until `/health` of every server
//! counts every event as stored (committed, and with the standby flushed
//! on the standby too); medians of RUNS. The load average is printed before
//! and after (the machine is shared: quote it with the figures).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};

mod common;
use common::{binary, free_port, get, median, Serve};

/// `/health`'s `stored` count, when it answers.
fn stored(http: SocketAddr) -> Option<u64> {
    let body = get(http, "/health")?;
    let at = body.find("\"stored\":")? + "\"stored\":".len();
    body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

struct Server {
    serve: Serve,
    http: SocketAddr,
    tcp: u16,
}

impl Server {
    fn start(dir: &Path, store: &str) -> Server {
        std::fs::create_dir_all(dir).expect("server folder");
        let (tcp, http) = (free_port(), free_port());
        let config = format!(
            "[store]\npath = \"{}\"\n{store}\n[http]\naddress = \"127.0.0.1:{http}\"\n\n\
             [builtin_policies]\nenabled = false\n\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n",
            dir.join("netaudit.db").display()
        );
        let http: SocketAddr = ([127, 0, 0, 1], http).into();
        Server {
            serve: Serve::start(dir, &config, http),
            http,
            tcp,
        }
    }

    fn stop(mut self) {
        self.serve.signal("-TERM");
    }
}

/// `count` Junos lines (structured format), about 250 bytes each.
fn lines(count: u64, host: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(count as usize * 260);
    for i in 0..count {
        let user = ["admin", "regress", "operator", "auditor"][(i % 4) as usize];
        out.extend_from_slice(
            format!(
                "<165>1 2023-11-14T22:13:20.000Z {host} mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"{user}\"] User '{user}' exiting configuration mode {i}\n"
            )
            .as_bytes(),
        );
    }
    out
}

/// Sends `per_server` events to each server at once; the seconds until all
/// are stored.
fn run(servers: &[Server], per_server: u64) -> f64 {
    let before: Vec<u64> = servers
        .iter()
        .map(|s| stored(s.http).unwrap_or(0))
        .collect();
    let payloads: Vec<Vec<u8>> = (0..servers.len())
        .map(|i| lines(per_server, &format!("router{i}")))
        .collect();
    let started = Instant::now();
    let senders: Vec<_> = servers
        .iter()
        .zip(payloads)
        .map(|(s, payload)| {
            let port = s.tcp;
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                c.write_all(&payload).expect("send");
            })
        })
        .collect();
    let deadline = started + Duration::from_secs(600);
    for (s, base) in servers.iter().zip(before) {
        while stored(s.http).unwrap_or(0) < base + per_server {
            assert!(Instant::now() < deadline, "not stored within 600 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for t in senders {
        let _ = t.join();
    }
    elapsed
}

/// A private durable PostgreSQL, migrated; its connection string names the
/// password by file (written under `root`).
fn database(
    root: &Path,
    name: &str,
    with_standby: bool,
) -> Result<(PgCluster, Option<PgCluster>, String), Box<dyn std::error::Error>> {
    let pg = PgCluster::start_with(ClusterOptions {
        durable: true,
        ..ClusterOptions::default()
    })?;
    let standby = if with_standby {
        Some(pg.start_standby()?)
    } else {
        None
    };
    let pass = root.join(format!("{name}.pass"));
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
    Ok((pg, standby, url))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_standby = args.iter().any(|a| a == "--standby");
    let mut numbers = args.iter().filter(|a| !a.starts_with("--"));
    let events: u64 = numbers.next().map_or(Ok(200_000), |a| a.parse())?;
    let runs: usize = numbers.next().map_or(Ok(3), |a| a.parse())?;
    let root = tempfile::tempdir()?;
    let load_before = load_average();
    let (_plain, _, url) = database(root.path(), "plain", false)?;
    let replicated = if with_standby {
        Some(database(root.path(), "replicated", true)?)
    } else {
        None
    };
    let pg_store = |url: &str, node: &str| {
        format!("backend = \"postgres\"\nconnection = \"{url}\"\nnode = \"{node}\"\n")
    };
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("sqlite, 1 server", Vec::new()),
        ("postgres, 1 node", Vec::new()),
        ("postgres, 2 nodes", Vec::new()),
    ];
    if with_standby {
        results.push(("postgres+standby, 1 node", Vec::new()));
        results.push(("postgres+standby, 2 nodes", Vec::new()));
    }
    for r in 0..runs {
        // The set-ups in turn within each run, so load drifts hit all.
        let d = root.path().join(format!("run{r}"));
        let s = Server::start(&d.join("sqlite"), "synchronous = \"full\"\n");
        results[0]
            .1
            .push(events as f64 / run(std::slice::from_ref(&s), events));
        s.stop();
        let mut dbs = vec![("pg", url.as_str(), 1)];
        if let Some((_, _, replicated_url)) = &replicated {
            dbs.push(("sb", replicated_url.as_str(), 3));
        }
        for (tag, url, row) in dbs {
            let s = Server::start(
                &d.join(format!("{tag}1")),
                &pg_store(url, &format!("r{r}-{tag}-solo")),
            );
            results[row]
                .1
                .push(events as f64 / run(std::slice::from_ref(&s), events));
            s.stop();
            let two = vec![
                Server::start(
                    &d.join(format!("{tag}2a")),
                    &pg_store(url, &format!("r{r}-{tag}-a")),
                ),
                Server::start(
                    &d.join(format!("{tag}2b")),
                    &pg_store(url, &format!("r{r}-{tag}-b")),
                ),
            ];
            results[row + 1]
                .1
                .push(events as f64 / run(&two, events / 2));
            for s in two {
                s.stop();
            }
        }
        eprintln!("run {} of {runs} done", r + 1);
    }
    println!(
        "{events} events per set-up over TCP syslog, medians of {runs} (load average before: {load_before}, after: {}):",
        load_average()
    );
    for (name, rates) in results {
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "{name:<26} {:>9.0} events/s   (runs: {})",
            median(rates.clone()),
            shown.join(", ")
        );
    }
    Ok(())
}
