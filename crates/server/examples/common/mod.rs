//! What the examples that run `netaudit serve` share: the binary, free
//! loopback ports, a plain HTTP GET, and a server process started on a
//! configuration of the example's and stopped by PID.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `NETAUDIT_BIN`, or the release build of this workspace.
pub(crate) fn binary() -> PathBuf {
    std::env::var_os("NETAUDIT_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/netaudit"),
        PathBuf::from,
    )
}

/// A GET's whole answer (head and body), when the server answers.
pub(crate) fn get(http: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&http, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `netaudit serve -c DIR/netaudit.toml`, its log in `DIR/serve.log`.
pub(crate) struct Serve {
    child: Option<Child>,
}

impl Serve {
    /// Writes `config` to `dir/netaudit.toml`, starts the server and waits
    /// (up to 60 s) until `GET /health` on `http` answers.
    pub(crate) fn start(dir: &Path, config: &str, http: SocketAddr) -> Serve {
        let path = dir.join("netaudit.toml");
        std::fs::write(&path, config).expect("write config");
        let log = std::fs::File::create(dir.join("serve.log")).expect("log");
        let child = Command::new(binary())
            .args(["serve", "-c"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start netaudit serve (build it first: cargo build --release -p netaudit)");
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(http, "/health").is_none() {
            assert!(
                Instant::now() < deadline,
                "serve did not start: {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Serve { child: Some(child) }
    }

    /// Sends `signal` (`-TERM`, `-KILL`) to our own child by PID (it cannot
    /// have been reused before we wait) and waits up to 60 s for it to end.
    pub(crate) fn signal(&mut self, signal: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.signal("-TERM");
    }
}
