//! The server side of the console tests: `netaudit serve` with a TCP
//! syslog listener and its users (made with `netaudit user add`), lines
//! sent over TCP syslog, `netaudit query` to compare with, and plain HTTP
//! requests for what a browser would not send (a form without its token).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{config_text, free_tcp_port, Netaudit};

pub const AUDITOR: (&str, &str) = ("alice", "alice's long password");
pub const ADMIN: (&str, &str) = ("root", "root's long password");
pub const OTHER_AUDITOR: (&str, &str) = ("bob", "bob's long password");
pub const REPORTER: (&str, &str) = ("app", "the app's long password");
/// `api.max_login_attempts` of the test servers.
pub const MAX_ATTEMPTS: usize = 3;

/// A running server with its users.
pub struct Site {
    pub server: Netaudit,
    pub base: String,
    pub syslog: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Site {
    pub fn start() -> Site {
        Site::start_with_api("")
    }

    /// [`Site::start`] with extra `[api]` keys.
    pub fn start_with_api(api: &str) -> Site {
        Site::start_with_config(api, "")
    }

    /// [`Site::start_with_api`] with further tables (such as
    /// `[[input.netconf]]`) at the end of the configuration.
    pub fn start_with_config(api: &str, tables: &str) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let http = free_tcp_port();
        let syslog = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
        let rest = format!(
            "[api]\nmax_login_attempts = {MAX_ATTEMPTS}\n{api}\n[[listener]]\nprotocol = \"tcp\"\naddress = \"{syslog}\"\n\n[[output.file]]\nname = \"audit\"\ndir = \"{}\"\n\n{tables}",
            dir.path().join("audit").display()
        );
        let config = config_text(dir.path(), http, &rest);
        std::fs::write(dir.path().join("netaudit.toml"), &config).expect("write config");
        for ((name, password), role) in [
            (AUDITOR, "auditor"),
            (ADMIN, "admin"),
            (OTHER_AUDITOR, "auditor"),
            (REPORTER, "reporter"),
        ] {
            let file = dir.path().join(format!("{name}.pw"));
            std::fs::write(&file, format!("{password}\n")).expect("password file");
            netaudit(
                &["user", "add", name, "--role", role, "--password-file"],
                dir.path(),
                Some(&file),
            );
        }
        let server = Netaudit::start(dir.path(), &config);
        Site {
            base: format!("http://{}", server.http),
            server,
            syslog,
            _dir: dir,
        }
    }

    /// Sends `lines` over one TCP syslog connection (LF framing).
    pub fn send(&self, lines: &[String]) {
        let mut stream = TcpStream::connect(self.syslog).expect("connect to the syslog listener");
        for line in lines {
            stream.write_all(line.as_bytes()).expect("send");
            stream.write_all(b"\n").expect("send");
        }
        stream.flush().expect("flush");
    }

    /// The sequence numbers `netaudit query ARGS` finds, oldest first.
    pub fn query_seqs(&self, args: &[&str]) -> Vec<u64> {
        let db = self.server.db.display().to_string();
        let mut all = vec![
            "query",
            "--db",
            db.as_str(),
            "--format",
            "json",
            "--limit",
            "1000",
        ];
        all.extend_from_slice(args);
        let out = netaudit(&all, self.server.dir.as_path(), None);
        out.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).expect("query JSON")["seq"]
                    .as_u64()
                    .expect("seq")
            })
            .collect()
    }
}

impl Site {
    /// A new API token of the reporter (`netaudit user token`).
    pub fn reporter_token(&self) -> String {
        let config = self.server.config_path.display().to_string();
        netaudit(
            &["user", "token", REPORTER.0, "--config", &config],
            &self.server.dir,
            None,
        )
        .trim()
        .to_string()
    }

    /// An API request with a JSON body and a bearer token: the status.
    pub fn api(&self, method: &str, path: &str, token: &str, json: &str) -> u16 {
        let mut stream = TcpStream::connect(self.server.http).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            json.len()
        )
        .expect("write");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Waits (bounded) until `netaudit query ARGS` finds `count` events.
    pub fn wait_stored(&self, args: &[&str], count: usize) -> Vec<u64> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let seqs = self.query_seqs(args);
            if seqs.len() >= count {
                return seqs;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{args:?}: {} of {count} events stored after 20 s",
                seqs.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs the built binary in `dir`; `file` is appended as the last argument.
fn netaudit(args: &[&str], dir: &Path, file: Option<&Path>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.args(args).current_dir(dir);
    if let Some(file) = file {
        command
            .arg(file)
            .arg("--config")
            .arg(dir.join("netaudit.toml"));
    }
    let output = command.output().expect("run netaudit");
    assert!(
        output.status.success(),
        "netaudit {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One JUNOScope catalog event as a structured syslog line (`netaudit format`).
pub fn catalog_line(code: &str, vars: &[(&str, &str)], host: &str, time: &str) -> String {
    let mut args = vec![
        "format".to_string(),
        "--structured".into(),
        "--code".into(),
        code.into(),
        "--host".into(),
        host.into(),
        "--time".into(),
        time.into(),
    ];
    for (k, v) in vars {
        args.push("--var".into());
        args.push(format!("{k}={v}"));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(&args)
        .output()
        .expect("netaudit format");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_string()
}

/// A plain HTTP/1.1 request: status and body.
pub fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .expect("write request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A plain HTTP/1.1 request with extra header lines: status, head and body.
pub fn exchange(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).expect("write request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_else(|| panic!("no HTTP head in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head, body)
}

/// The value of the form field `csrf` on a page.
pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no csrf field in {page}"))
        .to_string()
}

/// Signs in through the login form over plain HTTP: the `Cookie:` header
/// line of the session.
pub fn sign_in_http(address: SocketAddr, (name, password): (&str, &str)) -> String {
    let (_, head, page) = exchange(address, "GET", "/login", "", b"");
    let login_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    let form = serde_urlencoded::to_string([
        ("csrf", csrf_of(&page).as_str()),
        ("username", name),
        ("password", password),
    ])
    .expect("form");
    let (status, head, _) = exchange(
        address,
        "POST",
        "/login",
        &format!("Cookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"),
        form.as_bytes(),
    );
    assert_eq!(status, 303, "{head}");
    let session = head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with("netaudit_console="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie");
    format!("Cookie: {session}\r\n")
}
