//! Test helpers for `netaudit serve`: free loopback ports, the built binary
//! started with a private configuration, its metrics, and what it stored.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netaudit_event::Event;

/// A loopback TCP port nobody listens on right now.
pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A loopback port free for both TCP and UDP right now.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no loopback port free for both TCP and UDP after 100 tries");
}

/// A running `netaudit serve`, killed when dropped.
pub struct Netaudit {
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub http: SocketAddr,
    pub db: PathBuf,
    pub log_path: PathBuf,
}

/// `[store]` and `[http]` sections for a test in `dir`, plus `rest`. The
/// built-in policies are off (their derived events would change what a
/// test counts); tests of them turn them on again. So is the near-full
/// event (`near_full_percent = 0`): on a machine whose disk is 90% full it
/// would add one event to every test's store.
pub fn config_text(dir: &Path, http_port: u16, rest: &str) -> String {
    format!(
        "[store]\npath = \"{}\"\nsynchronous = \"normal\"\nnear_full_percent = 0\n\n[http]\naddress = \"127.0.0.1:{http_port}\"\n\n[pipeline]\nbatch_max_delay_ms = 20\n\n[builtin_policies]\nenabled = false\n\n{rest}",
        dir.join("netaudit.db").display()
    )
}

impl Netaudit {
    /// Writes `config` to `dir/netaudit.toml` and starts the server on it,
    /// waiting (bounded) until `/health` answers.
    pub fn start(dir: &Path, config: &str) -> Netaudit {
        let config_path = dir.join("netaudit.toml");
        std::fs::write(&config_path, config).expect("write config");
        Netaudit::start_with(dir, &config_path)
    }

    /// Starts the server on an existing configuration file (a restart).
    pub fn start_with(dir: &Path, config_path: &Path) -> Netaudit {
        Netaudit::start_with_env(dir, config_path, &[])
    }

    /// [`Netaudit::start_with`], with these environment variables set for
    /// the server alone (e.g. systemd's NOTIFY_SOCKET).
    pub fn start_with_env(dir: &Path, config_path: &Path, env: &[(&str, &str)]) -> Netaudit {
        let text = std::fs::read_to_string(config_path).expect("read config");
        let http = text
            .lines()
            .skip_while(|l| l.trim() != "[http]")
            .find_map(|l| l.trim().strip_prefix("address = "))
            .map(|a| {
                a.trim_matches('"')
                    .parse::<SocketAddr>()
                    .expect("http address")
            })
            .expect("the test config has an [http] address");
        let log_path = dir.join(format!("netaudit-{}.log", now_millis()));
        let log = std::fs::File::create(&log_path).expect("create log");
        let child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("serve")
            .arg("--config")
            .arg(config_path)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn netaudit serve");
        let mut server = Netaudit {
            child: Some(child),
            dir: dir.to_owned(),
            config_path: config_path.to_owned(),
            http,
            db: dir.join("netaudit.db"),
            log_path,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "netaudit serve exited at startup ({status}):\n{}",
                        self.log()
                    );
                }
            }
            if http_get(self.http, "/health").is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "netaudit serve did not answer /health within 20 s:\n{}",
            self.log()
        );
    }

    pub fn pid(&self) -> i32 {
        self.child
            .as_ref()
            .map(|c| c.id() as i32)
            .expect("server running")
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(30))
    }

    /// SIGKILL: no chance to commit anything more.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(10));
    }

    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "netaudit serve did not exit within {limit:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn metrics(&self) -> String {
        match http_get(self.http, "/metrics") {
            Some((200, body)) => body,
            other => panic!("GET /metrics failed: {other:?}\n{}", self.log()),
        }
    }

    /// The value of the metric line that starts with `series` (name plus
    /// labels, e.g. `netaudit_received_total{listener="tcp"`), summed over
    /// all lines that match.
    pub fn metric(&self, series: &str) -> u64 {
        metric_value(&self.metrics(), series)
    }

    /// Waits (bounded) until `series` reaches `at_least`; returns its value.
    pub fn wait_metric(&self, series: &str, at_least: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.metric(series);
            if value >= at_least {
                return value;
            }
            if Instant::now() > deadline {
                panic!(
                    "{series} is {value}, expected at least {at_least} within {limit:?}\nmetrics:\n{}\nlog:\n{}",
                    self.metrics(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Netaudit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn metric_value(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// A minimal HTTP/1.1 GET: status and body, `None` if nobody answered.
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// A minimal HTTP/1.1 request with a JSON body and an optional bearer
/// token: status (0 if none came) and body.
pub fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
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

/// Every event in the store at `db`, in sequence order.
pub fn stored_events(db: &Path) -> Vec<Event> {
    let mut reader = netaudit_store::Reader::open(db).expect("open the store read-only");
    let mut events = Vec::new();
    let mut after = None;
    // Bounded: at most 10,000 pages of 1,000.
    for _ in 0..10_000 {
        let page = reader
            .query(&netaudit_store::Query {
                after_seq: after,
                limit: 1000,
                ..netaudit_store::Query::default()
            })
            .expect("query the store");
        let last = page.events.last().map(|e| e.seq);
        events.extend(page.events.into_iter().map(|e| e.event));
        match (page.next, last) {
            (Some(next), _) => after = Some(next),
            (None, _) => return events,
        }
    }
    panic!("more than 10,000,000 events in a test store");
}

/// Path of util-linux `logger`; fails (never skips) when missing.
pub fn logger() -> PathBuf {
    let path = PathBuf::from("/usr/bin/logger");
    assert!(
        path.exists(),
        "util-linux logger not found at /usr/bin/logger: run .ci/install-deps"
    );
    path
}

pub const PEERS: &str = "/opt/netaudit-peers/syslog-ng";

/// A `loggen` command with its environment; fails (never skips) when missing.
pub fn loggen() -> Command {
    let bin = Path::new(PEERS).join("usr/bin/loggen");
    assert!(
        bin.exists(),
        "loggen not found at {}: run .ci/install-deps",
        bin.display()
    );
    let mut command = Command::new(bin);
    command
        .env(
            "LD_LIBRARY_PATH",
            Path::new(PEERS).join("usr/lib/syslog-ng"),
        )
        .env("SYSLOGNG_PREFIX", Path::new(PEERS).join("usr"));
    command
}

/// Runs a command to completion (bounded by the peer itself), asserting success.
pub fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("run peer command");
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // loggen exits 0 after refusing its options; its errors start so.
    assert!(
        !text.contains("error ["),
        "{command:?} reported an error:\n{text}"
    );
    text
}

/// A child process that is killed (by its PID) and reaped when dropped, so a
/// failing assertion never leaves a server behind holding its ports.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
