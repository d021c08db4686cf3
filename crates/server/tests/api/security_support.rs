//! Helpers of `api_security.rs`: a small HTTP/1.1 client, users made with
//! `netaudit user`, a server started under open-file limits, and what the
//! tests observe of it (connections closed, peak memory, limits).

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::raw_http::{exchange, Reply};
use crate::support::{config_text, free_port, free_tcp_port, http_get, stored_events, Netaudit};

pub const PASSWORD: &str = "correct horse battery staple";

/// A request with `Connection: close`, a bearer token and a JSON body.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(token) = auth {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    exchange(address, head.as_bytes())
}

/// `netaudit user ARGS...` on the server's configuration.
pub fn user_cli(server: &Netaudit, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("user")
        .arg("-c")
        .arg(&server.config_path)
        .args(args)
        .output()
        .expect("run netaudit user");
    assert!(
        output.status.success(),
        "netaudit user {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn add_user(server: &Netaudit, name: &str, role: &str) {
    let file = server.dir.join(format!("{name}.pw"));
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("write password file");
    user_cli(
        server,
        &[
            "add",
            name,
            "--role",
            role,
            "--password-file",
            file.to_str().expect("utf-8 path"),
        ],
    );
}

pub fn login(address: SocketAddr, name: &str) -> String {
    let reply = request(
        address,
        "POST",
        "/api/v1/login",
        None,
        Some(&json!({"username": name, "password": PASSWORD})),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["token"].as_str().expect("token").to_string()
}

/// A server with an admin, an auditor and a reporter (with an API token).
pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub server: Netaudit,
    pub token: String,
}

pub fn start(api: &str) -> Fixture {
    start_configured(api, "")
}

/// [`start`] with extra `[http]` keys.
pub fn start_configured(api: &str, http_keys: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let http = free_tcp_port();
    let config = config_text(
        dir.path(),
        http,
        &format!(
            "[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{port}\"\n\n[api]\nmax_login_attempts = 3\naccess_window_secs = 60\n{api}"
        ),
    )
    .replace("[http]\n", &format!("[http]\n{http_keys}"));
    let server = Netaudit::start(dir.path(), &config);
    add_user(&server, "root-admin", "admin");
    add_user(&server, "alice", "auditor");
    add_user(&server, "app1", "reporter");
    let token = user_cli(&server, &["token", "app1"]);
    Fixture {
        _dir: dir,
        server,
        token,
    }
}

pub fn events_with_code(db: &Path, code: &str) -> Vec<netaudit_event::Event> {
    stored_events(db)
        .into_iter()
        .filter(|e| e.code.as_deref() == Some(code))
        .collect()
}

/// Runs `count` copies of `work` at once (each on its own thread) and
/// returns their results.
pub fn concurrently<T: Send + 'static>(
    count: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let barrier = Arc::new(std::sync::Barrier::new(count));
    let threads: Vec<_> = (0..count)
        .map(|i| {
            let (work, barrier) = (work.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                work(i)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("worker thread"))
        .collect()
}

/// Holds the write lock of `auth.db` like another process would, until dropped.
pub struct HeldLock(rusqlite::Connection);

pub fn hold_lock(path: &Path) -> HeldLock {
    let conn = rusqlite::Connection::open(path).expect("open auth.db");
    conn.execute_batch("BEGIN EXCLUSIVE")
        .expect("take auth.db's lock");
    HeldLock(conn)
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// A raw request with `Connection: close` and extra header lines.
pub fn raw(address: SocketAddr, method: &str, target: &str, extra: &str, body: &str) -> Reply {
    let text = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(address, text.as_bytes())
}

/// A JSON `{"error": ...}` with `status` that names no file.
pub fn assert_json_error(reply: &Reply, status: u16) -> String {
    assert_eq!(reply.status, status, "{reply:?}");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{reply:?}"
    );
    let error = reply.error();
    assert!(!error.is_empty(), "{reply:?}");
    assert!(
        !error.contains('/') || error.contains("application/json"),
        "{error}"
    );
    assert!(!error.contains("  "), "a run of spaces in {error:?}");
    error
}

pub fn try_login(address: SocketAddr, name: &str, password: &str) -> Reply {
    request(
        address,
        "POST",
        "/api/v1/login",
        None,
        Some(&json!({"username": name, "password": password})),
    )
}

/// The peak resident memory of `pid` in kB (VmHWM).
pub fn peak_rss_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

/// `netaudit serve` on `config` under the open-file limits `soft`:`hard`
/// (set by the shell before it becomes the server), waiting (bounded) for
/// `/health`.
pub fn start_limited(dir: &Path, http: u16, config: &str, soft: u64, hard: u64) -> Netaudit {
    let config_path = dir.join("netaudit.toml");
    std::fs::write(&config_path, config).expect("write config");
    let log_path = dir.join("netaudit-limited.log");
    let log = std::fs::File::create(&log_path).expect("create log");
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn {soft} && ulimit -Hn {hard} && exec \"$0\" serve --config \"$1\""
        ))
        .arg(env!("CARGO_BIN_EXE_netaudit"))
        .arg(&config_path)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn netaudit serve through sh");
    let mut server = Netaudit {
        child: Some(child),
        dir: dir.to_owned(),
        config_path,
        http: SocketAddr::from(([127, 0, 0, 1], http)),
        db: dir.join("netaudit.db"),
        log_path,
    };
    for _ in 0..400 {
        if let Some(Ok(Some(status))) = server.child.as_mut().map(|c| c.try_wait()) {
            panic!("netaudit serve exited ({status}):\n{}", server.log());
        }
        if http_get(server.http, "/health").is_some_and(|(s, _)| s == 200) {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no /health within 20 s:\n{}", server.log());
}

/// The soft and hard "Max open files" of `pid`.
pub fn open_file_limits(pid: i32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// A TCP connection to `to` from the loopback address `from`.
pub fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from((from, 0)).into())
        .expect("bind a loopback source address");
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    socket.into()
}

/// True once the server has closed `stream` (a read sees the end).
pub fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let closed = match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    };
    stream.set_nonblocking(false).expect("blocking");
    closed
}
