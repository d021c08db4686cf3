//! `netaudit setup`: the wizard through a pseudo-terminal, the answers
//! file, bad answers, and `--reconfigure facility` with a running server
//! whose syslog output switches to the new facility.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::*;

pub(crate) fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run netaudit")
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_wizard_asks_again_with_the_reason_and_writes_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("etc").join("netaudit.toml");
    let store = dir.path().join("data").join("netaudit.db");
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.args(["setup", "--config", config.to_str().unwrap()]);
    let mut p = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    p.exp_string("Please enter the syslog facility (local0-local7) [local2]:")
        .unwrap();
    p.send_line("local8").unwrap();
    p.exp_string("\"local8\" is not a syslog facility from local0 to local7")
        .unwrap();
    p.send_line("local3").unwrap();
    p.exp_string("Store location").unwrap();
    p.send_line(store.to_str().unwrap()).unwrap();
    p.exp_string("Synchronous mode").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Address of /health").unwrap();
    // Beyond loopback: HTTPS or plain HTTP, said explicitly and warned about.
    p.send_line("0.0.0.0:18514").unwrap();
    p.exp_string("0.0.0.0:18514 is not a loopback address: serve the console with HTTPS or plain HTTP (https, plain) [https]:")
        .unwrap();
    p.send_line("plain").unwrap();
    p.exp_string(
        "warning: the console on 0.0.0.0:18514 will carry passwords and session cookies in clear",
    )
    .unwrap();
    p.exp_string("Add a syslog listener").unwrap();
    p.send_line("tls").unwrap();
    p.exp_string("Listen on").unwrap();
    p.send_line("127.0.0.1:port").unwrap();
    p.exp_string("\"port\" is not a port number").unwrap();
    p.send_line("127.0.0.1:16514").unwrap();
    p.exp_string("Certificate chain file").unwrap();
    p.send_line("/no/such/server.crt").unwrap();
    p.exp_string("/no/such/server.crt: No such file").unwrap();
    // A readable certificate and key pair.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (crt, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.key_pair.serialize_pem()).unwrap();
    // A key is not a certificate, and another certificate's key is not this one's.
    p.send_line(key.to_str().unwrap()).unwrap();
    p.exp_string("no CERTIFICATE in the file").unwrap();
    p.send_line(crt.to_str().unwrap()).unwrap();
    p.exp_string("Private key file").unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, other.key_pair.serialize_pem()).unwrap();
    p.send_line(other_key.to_str().unwrap()).unwrap();
    p.exp_string("is not the private key of").unwrap();
    p.send_line(key.to_str().unwrap()).unwrap();
    p.exp_string("Add a syslog listener").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Add a remote syslog destination").unwrap();
    p.send_line("tcp").unwrap();
    p.exp_string("Destination (HOST:PORT)").unwrap();
    p.send_line("siem.example.net:6514").unwrap();
    p.exp_string("Format").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Add a remote syslog destination").unwrap();
    p.send_line("done").unwrap();
    p.exp_string("Add a RADIUS accounting server").unwrap();
    p.send_line("127.0.0.1:1813").unwrap();
    p.exp_string("Shared secret (not shown)").unwrap();
    p.send_line("a-secret-of-20-bytes").unwrap();
    p.exp_string("Again").unwrap();
    p.send_line("a-secret-of-20-bytes").unwrap();
    p.exp_string("Add a RADIUS accounting server").unwrap();
    p.send_line("").unwrap();
    // The authentication policy: out of range, then not a number, asked again.
    p.exp_string("Failed logins that lock an account [5]:")
        .unwrap();
    p.send_line("500").unwrap();
    p.exp_string("500 is out of range (1 to 100)").unwrap();
    p.send_line("three").unwrap();
    p.exp_string("\"three\" is not a whole number").unwrap();
    p.send_line("3").unwrap();
    p.exp_string("Counted within how many seconds [300]:")
        .unwrap();
    p.send_line("").unwrap();
    p.exp_string("Seconds a locked account stays locked")
        .unwrap();
    p.send_line("600").unwrap();
    p.exp_string("Seconds after which an unused session ends [900]:")
        .unwrap();
    p.send_line("30").unwrap();
    p.exp_string("30 is out of range (60 to 86400)").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Failed logins from one client address")
        .unwrap();
    p.send_line("").unwrap();
    p.exp_string("per client address [60]:").unwrap();
    p.send_line("").unwrap();
    // The first administrator: a bad name, a short password, two that differ.
    p.exp_string("Administrator's user name [admin]:").unwrap();
    p.send_line("root admin").unwrap();
    p.exp_string("invalid user name 'root admin'").unwrap();
    p.send_line("root-admin").unwrap();
    p.exp_string("Administrator's password").unwrap();
    p.send_line("short").unwrap();
    p.exp_string("password must be 12 to 1024 characters")
        .unwrap();
    p.exp_string("Administrator's password").unwrap();
    p.send_line("first-password-1").unwrap();
    p.exp_string("Again").unwrap();
    p.send_line("other-password-2").unwrap();
    p.exp_string("the two entries differ").unwrap();
    p.exp_string("Administrator's password").unwrap();
    p.send_line("first-password-1").unwrap();
    p.exp_string("Again").unwrap();
    p.send_line("first-password-1").unwrap();
    p.exp_string("+max_login_attempts = 3").unwrap();
    p.exp_string("+lockout_secs = 600").unwrap();
    p.exp_string("+facility = \"local3\"").unwrap();
    p.exp_string("Write ").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("passes check-config").unwrap();
    p.exp_string("administrator root-admin created").unwrap();
    p.exp_eof().unwrap();

    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("facility = \"local3\""), "{written}");
    assert!(
        written.contains("address = \"0.0.0.0:18514\"\nconsole_plain_http = true\n"),
        "{written}"
    );
    assert!(
        written.contains("address = \"127.0.0.1:16514\""),
        "{written}"
    );
    let out = netaudit(&["check-config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The secret is in a file only its owner may read, and not echoed.
    let secret = dir.path().join("etc").join("radius-1.secret");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "a-secret-of-20-bytes\n"
    );
    // The administrator is in the auth database beside the store, and no
    // password was echoed.
    let auth_db = dir.path().join("data").join("auth.db");
    let out = netaudit(&["user", "--auth-db", auth_db.to_str().unwrap(), "list"]);
    assert!(
        text(&out.stdout).contains("root-admin\tadmin\tactive"),
        "{}",
        text(&out.stdout)
    );
}

pub(crate) fn answers(
    dir: &Path,
    http: u16,
    listen: u16,
    out: u16,
    extra: &str,
) -> std::path::PathBuf {
    let path = dir.join("answers.toml");
    std::fs::write(
        &path,
        format!(
            "facility = \"local2\"\nstore_path = \"{}\"\nsynchronous = \"normal\"\n\
             http_address = \"127.0.0.1:{http}\"\n\
             [[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{listen}\"\n{extra}\
             [[destination]]\ntransport = \"tcp\"\naddress = \"127.0.0.1:{out}\"\n",
            dir.join("netaudit.db").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn bad_answers_in_a_file_name_their_key_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("netaudit.toml");
    let c = config.to_str().unwrap();
    let bad = [
        (
            "facility = \"local2\"",
            "facility = \"local8\"",
            "facility: \"local8\" is not a syslog facility",
        ),
        (
            "address = \"127.0.0.1:2\"",
            "address = \"127.0.0.1:x2\"",
            "listener[0].address: \"x2\" is not a port number",
        ),
        (
            "protocol = \"tcp\"",
            "protocol = \"tls\"\ncert = \"/no/such.crt\"\nkey = \"/no/such.key\"",
            "listener[0].cert: /no/such.crt: No such file",
        ),
        (
            "transport = \"tcp\"",
            "transport = \"smtp\"",
            "destination[0].transport",
        ),
        (
            "http_address = \"127.0.0.1:1\"",
            "http_address = \"0.0.0.0:1\"",
            "http_address: 0.0.0.0:1 is not a loopback address: the console needs HTTPS",
        ),
        (
            "http_address = \"127.0.0.1:1\"",
            "http_address = \"0.0.0.0:1\"\nhttp_tls_cert = \"/no/such.crt\"\nhttp_tls_key = \"/no/such.key\"",
            "http_tls_cert: /no/such.crt: No such file",
        ),
    ];
    let short = dir.path().join("short.pw");
    std::fs::write(&short, "short\n").unwrap();
    let short_admin = format!(
        "[admin]\nname = \"ops\"\npassword_file = \"{}\"\n",
        short.display()
    );
    let bad = bad.into_iter().chain([
        (
            "",
            "[api]\nmax_login_attempts = 500\n",
            "api.max_login_attempts: 500 is out of range (1 to 100)",
        ),
        (
            "",
            "[api]\nlockout = 5\n",
            "api.lockout: not an authentication policy key",
        ),
        (
            "",
            "[admin]\nname = \"ops admin\"\npassword_file = \"/dev/null\"\n",
            "admin.name: invalid user name 'ops admin'",
        ),
        (
            "",
            short_admin.as_str(),
            "admin.password_file: password must be 12 to 1024 characters",
        ),
    ]);
    for (from, to, expect) in bad {
        let path = answers(dir.path(), 1, 2, 3, "");
        let t = std::fs::read_to_string(&path).unwrap();
        let t = if from.is_empty() {
            t + to
        } else {
            t.replacen(from, to, 1)
        };
        std::fs::write(&path, t).unwrap();
        let out = netaudit(&[
            "setup",
            "-c",
            c,
            "--non-interactive",
            "--answers",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{to}");
        assert!(text(&out.stderr).contains(expect), "{}", text(&out.stderr));
        assert!(!config.exists());
    }
}

/// Reads syslog frames (octet counting) from the first connection to
/// `listener` and returns the PRI of the first frame whose text contains `marker`.
fn pri_of(reader: &mut BufReader<TcpStream>, marker: &str) -> u8 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no frame with {marker}");
        let mut len = Vec::new();
        reader.read_until(b' ', &mut len).unwrap();
        let n: usize = text(&len).trim().parse().unwrap();
        let mut frame = vec![0; n];
        std::io::Read::read_exact(reader, &mut frame).unwrap();
        let frame = text(&frame);
        if frame.contains(marker) {
            return frame[1..frame.find('>').unwrap()].parse().unwrap();
        }
    }
}

#[test]
fn reconfigure_the_facility_of_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let out_port = receiver.local_addr().unwrap().port();
    let (http, listen) = (free_tcp_port(), free_tcp_port());
    let config = dir.path().join("netaudit.toml");
    let c = config.to_str().unwrap();
    let path = answers(dir.path(), http, listen, out_port, "");
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--non-interactive",
        "--answers",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut server = Netaudit::start_with(dir.path(), &config);
    let send = |marker: &str| {
        let mut s = TcpStream::connect(("127.0.0.1", listen)).unwrap();
        let line = format!("<13>1 2026-12-06T10:00:00Z host app - TEST - {marker}");
        write!(s, "{} {}", line.len(), line).unwrap();
    };
    send("before");
    receiver.set_nonblocking(false).unwrap();
    let (conn, _) = receiver.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(conn);
    // local2 (18) and notice (5).
    assert_eq!(pri_of(&mut reader, "before"), 18 * 8 + 5);

    std::fs::write(dir.path().join("facility.toml"), "facility = \"local5\"\n").unwrap();
    let pid = server.pid().to_string();
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "facility",
        "--non-interactive",
        "--answers",
        dir.path().join("facility.toml").to_str().unwrap(),
        "--reload-pid",
        &pid,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("+facility = \"local5\""),
        "{}",
        text(&out.stdout)
    );
    // The output is restarted by the reload: the new connection carries local5.
    let (conn, _) = receiver.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(conn);
    send("after");
    assert_eq!(pri_of(&mut reader, "after"), 21 * 8 + 5);
    // The change is audited in the store (through the outbox).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stored_events(&server.db).iter().any(|e| {
        e.code.as_deref() == Some("NETAUDIT_RECONFIGURED")
            && e.message
                .as_deref()
                .is_some_and(|m| m.contains("facility set to local5"))
    }) {
        assert!(
            Instant::now() < deadline,
            "no audit event\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.stop().success(), "{}", server.log());
}

/// POSTs a login; returns the HTTP status.
fn login(http: std::net::SocketAddr, name: &str, password: &str) -> u16 {
    let body = format!("{{\"username\":\"{name}\",\"password\":\"{password}\"}}");
    let mut s = TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /api/v1/login HTTP/1.1\r\nHost: {http}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    std::io::Read::read_to_string(&mut s, &mut reply).unwrap();
    reply.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_answers_make_the_policy_and_an_administrator_who_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let (http, listen) = (free_tcp_port(), free_tcp_port());
    let config = dir.path().join("netaudit.toml");
    let c = config.to_str().unwrap();
    let pw = dir.path().join("admin.pw");
    std::fs::write(&pw, "correct-horse-1\n").unwrap();
    let extra = format!(
        "[api]\nmax_login_attempts = 2\nlockout_secs = 3600\n[admin]\nname = \"ops\"\npassword_file = \"{}\"\n",
        pw.display()
    );
    let path = answers(dir.path(), http, listen, 9, "");
    let t = std::fs::read_to_string(&path).unwrap() + &extra;
    std::fs::write(&path, t).unwrap();
    let a = path.to_str().unwrap();
    let out = netaudit(&["setup", "-c", c, "--non-interactive", "--answers", a]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("administrator ops created"),
        "{}",
        text(&out.stdout)
    );
    // Run again: the file is unchanged and the name is now taken.
    let out = netaudit(&["setup", "-c", c, "--non-interactive", "--answers", a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("admin.name: user 'ops' already exists"),
        "{}",
        text(&out.stderr)
    );

    let mut server = Netaudit::start_with(dir.path(), &config);
    let addr = server.http;
    assert_eq!(login(addr, "ops", "correct-horse-1"), 200);
    // The policy answered: two failures lock the account.
    assert_eq!(login(addr, "ops", "wrong-password-1"), 401);
    assert_eq!(login(addr, "ops", "wrong-password-2"), 401);
    assert_ne!(login(addr, "ops", "correct-horse-1"), 200);

    // --reconfigure of a policy key and of admin (another administrator).
    let change = dir.path().join("change.toml");
    let pw2 = dir.path().join("second.pw");
    std::fs::write(&pw2, "battery-staple-2\n").unwrap();
    std::fs::write(
        &change,
        format!(
            "[api]\nmax_login_attempts = 4\n[admin]\nname = \"second\"\npassword_file = \"{}\"\n",
            pw2.display()
        ),
    )
    .unwrap();
    let pid = server.pid().to_string();
    let ch = change.to_str().unwrap();
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "api.max_login_attempts",
        "--non-interactive",
        "--answers",
        ch,
        "--reload-pid",
        &pid,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("-max_login_attempts = 2") && stdout.contains("+max_login_attempts = 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("api.max_login_attempts takes effect when netaudit serve restarts"),
        "{stdout}"
    );
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "lockout_secs",
        "--non-interactive",
        "--answers",
        ch,
    ]);
    assert_eq!(out.status.code(), Some(2), "not a key: api.lockout_secs is");
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "api.lockout_secs",
        "--non-interactive",
        "--answers",
        ch,
    ]);
    assert!(
        text(&out.stderr).contains("api.lockout_secs: missing"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "admin",
        "--non-interactive",
        "--answers",
        ch,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(login(addr, "second", "battery-staple-2"), 200);
    // A list answer: the listeners asked (here: read) again as a whole.
    let udp = free_port();
    std::fs::write(
        &change,
        format!("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:{udp}\"\n"),
    )
    .unwrap();
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--reconfigure",
        "listener",
        "--non-interactive",
        "--answers",
        ch,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("-protocol = \"tcp\"") && stdout.contains("+protocol = \"udp\""),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&config).unwrap();
    assert_eq!(written.matches("[[listener]]").count(), 1, "{written}");
    // Both creations are audited as `netaudit user add` audits them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let created: Vec<_> = stored_events(&server.db)
            .into_iter()
            .filter(|e| e.code.as_deref() == Some("JUNOSCOPE_USER_CREATED"))
            .collect();
        if created.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{created:?}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.stop().success(), "{}", server.log());
}

#[test]
fn reconfigure_asks_one_answer_on_the_terminal_with_the_current_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("netaudit.toml");
    let c = config.to_str().unwrap();
    let path = answers(dir.path(), 1, 2, 3, "");
    let t = std::fs::read_to_string(&path).unwrap() + "[api]\nsession_idle_timeout_secs = 600\n";
    std::fs::write(&path, t).unwrap();
    let out = netaudit(&[
        "setup",
        "-c",
        c,
        "--non-interactive",
        "--answers",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.args([
        "setup",
        "-c",
        c,
        "--reconfigure",
        "api.session_idle_timeout_secs",
    ]);
    let mut p = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    p.exp_string("Seconds after which an unused session ends [600]:")
        .unwrap();
    p.send_line("100000").unwrap();
    p.exp_string("100000 is out of range (60 to 86400)")
        .unwrap();
    p.send_line("1200").unwrap();
    p.exp_string("-session_idle_timeout_secs = 600").unwrap();
    p.exp_string("+session_idle_timeout_secs = 1200").unwrap();
    p.exp_string("Write ").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("passes check-config").unwrap();
    p.exp_eof().unwrap();
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains("session_idle_timeout_secs = 1200\n"),
        "{written}"
    );
    assert!(
        written.contains("[[output.syslog]]"),
        "the rest is kept: {written}"
    );
}
