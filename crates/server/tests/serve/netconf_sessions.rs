//! `[[input.netconf]]` sessions beyond the Junos simulator's basics: a long
//! stream across SSH key re-exchanges (rekey_bytes), an RFC 5277
//! subscription to a NETCONF server of another project (Debian's netconfd,
//! yuma123, behind the same private sshd), and SSH servers that stall the
//! handshake while another device streams.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::netconf::{
    channel_events, device, lines_of, param, seed_lines, start, table, wait_stored,
};
use crate::support::sshd::Sshd;
use crate::support::ChildGuard;

/// Lines the simulator streams in the rekey test (about 400 KB through the
/// channel), one a millisecond: a stream that goes on while keys change
/// (a burst would be in the channel's window before the first exchange).
const REKEY_LINES: usize = 2000;

/// Key exchanges sshd logged after authentication (the first one is
/// logged with `[preauth]`).
fn rekeys_logged(sshd: &Sshd) -> usize {
    sshd.log()
        .lines()
        .filter(|l| l.contains("SSH2_MSG_KEXINIT received") && !l.contains("[preauth]"))
        .count()
}

#[test]
fn a_long_stream_goes_on_across_ssh_rekeys_without_losing_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let sshd_dir = dir.path().join("sshd");
    std::fs::create_dir_all(&sshd_dir).unwrap();
    let lines = seed_lines();
    std::fs::write(sshd_dir.join("lines.log"), lines.join("\n") + "\n").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/junos_netconf.py");
    // DEBUG1 makes sshd log each key exchange.
    let sshd = Sshd::start_with(
        &sshd_dir,
        &format!(
            "LogLevel DEBUG1\nSubsystem netconf /usr/bin/python3 {} --lines {} --paced {REKEY_LINES} --interval 0.001\n",
            script.display(),
            sshd_dir.join("lines.log").display(),
        ),
    );
    // The collector asks for new keys every 64 KiB it reads.
    let server = start(
        dir.path(),
        &table("long", &sshd, dir.path(), false, "rekey_bytes = 65536"),
    );
    let expected: Vec<&String> = lines.iter().cycle().take(REKEY_LINES).collect();
    let events = wait_stored(&server, "every line of the long stream", |events| {
        lines_of(events, "long").len() >= expected.len()
    });
    // Each paced line ends in " sent_ns=..." (the time it was written).
    let stored: Vec<String> = lines_of(&events, "long")
        .into_iter()
        .map(|l| match l.rsplit_once(" sent_ns=") {
            Some((line, _)) => line.to_string(),
            None => l,
        })
        .collect();
    assert_eq!(stored.len(), expected.len(), "every line once");
    assert!(
        stored.iter().zip(&expected).all(|(a, b)| a == *b),
        "every line, in order"
    );
    let rekeys = rekeys_logged(&sshd);
    assert!(
        rekeys >= 3,
        "400 KB at 64 KiB a key should take several re-exchanges, sshd logged {rekeys}:\n{}",
        sshd.log()
    );
    // One session throughout: the re-exchanges did not end it.
    assert_eq!(
        channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", "long").len(),
        1
    );
    assert!(channel_events(&events, "NETAUDIT_NETCONF_TERMINATED", "long").is_empty());
    assert!(channel_events(&events, "NETAUDIT_NETCONF_FAILED", "long").is_empty());
}

/// Debian's netconfd (yuma123, installed by .ci/install-deps) with a
/// private home and socket, serving NETCONF through `sshd`'s
/// netconf-subsystem; stopped by PID when dropped.
fn netconfd(dir: &Path, sshd_port: u16) -> ChildGuard {
    let socket = dir.join("ncxserver.sock");
    // netconfd writes its transaction id to the first startup-cfg-txid.txt
    // it finds on its search path ($HOME/.yuma is on it), else to the
    // account's own ~/.yuma: the file made here keeps it in the temp dir.
    // (It still makes an empty ~/.yuma folder of the account, whatever it is told.)
    std::fs::create_dir_all(dir.join(".yuma")).unwrap();
    std::fs::write(dir.join(".yuma/startup-cfg-txid.txt"), "0\n").unwrap();
    let log = std::fs::File::create(dir.join("netconfd.out")).unwrap();
    let child = Command::new("/usr/sbin/netconfd")
        .arg(format!("--ncxserver-sockname={}", socket.display()))
        .arg(format!("--port={sshd_port}"))
        .arg(format!("--home={}", dir.display()))
        .arg(format!("--log={}", dir.join("netconfd.log").display()))
        .args(["--no-startup", "--superuser=root", "--log-level=info"])
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start /usr/sbin/netconfd (Debian package netconfd)");
    let guard = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "netconfd made no socket in 30 s:\n{}",
            std::fs::read_to_string(dir.join("netconfd.out")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    guard
}

/// One NETCONF session to the device by OpenSSH's client: a hello, then
/// the end of input, so that netconfd notifies its subscribers of the
/// session's start and end (RFC 6470).
fn open_and_close_a_session(sshd: &Sshd, dir: &Path) {
    let known_hosts = dir.join("client_known_hosts");
    std::fs::write(&known_hosts, &sshd.known_hosts_line).unwrap();
    let mut child = Command::new("ssh")
        .arg("-i")
        .arg(&sshd.client_key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args([
            "-p",
            &sshd.port.to_string(),
            "-s",
            "root@127.0.0.1",
            "netconf",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ssh (openssh-client)");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
              <capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]>",
        )
        .unwrap();
    drop(stdin);
    let mut guard = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while guard.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "ssh did not end in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_subscription_to_debians_netconfd_stores_its_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let sshd_dir = dir.path().join("sshd");
    let yuma_dir = dir.path().join("netconfd");
    std::fs::create_dir_all(&yuma_dir).unwrap();
    // netconf-subsystem hands each session to netconfd's socket; netconfd
    // takes it only for the SSH port it is told (the prefix before @).
    let port = crate::support::free_tcp_port();
    let sshd = Sshd::start_on(
        &sshd_dir,
        port,
        &format!(
            "Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname={port}@{}\n",
            yuma_dir.join("ncxserver.sock").display()
        ),
    );
    let _netconfd = netconfd(&yuma_dir, port);
    let server = start(
        dir.path(),
        &table(
            "yuma",
            &sshd,
            dir.path(),
            false,
            "mode = \"create-subscription\"",
        ),
    );
    wait_stored(&server, "the session with netconfd", |events| {
        !channel_events(events, "NETAUDIT_NETCONF_ESTABLISHED", "yuma").is_empty()
    });
    open_and_close_a_session(&sshd, dir.path());
    let events = wait_stored(&server, "netconfd's session notifications", |events| {
        let lines = lines_of(events, "yuma");
        lines.iter().any(|l| l.contains("netconf-session-start"))
            && lines.iter().any(|l| l.contains("netconf-session-end"))
    });
    let stored: Vec<_> = events
        .iter()
        .filter(|e| param(e, "device") == Some("yuma") && param(e, "input") == Some("netconf"))
        .collect();
    let start = stored
        .iter()
        .find(|e| String::from_utf8_lossy(&e.raw).contains("<netconf-session-start"))
        .unwrap();
    let raw = String::from_utf8_lossy(&start.raw);
    assert!(
        raw.starts_with("<29>1 20") && raw.contains(" - netconf - netconf-session-start - <netconf-session-start xmlns=\"urn:ietf:params:xml:ns:yang:ietf-netconf-notifications\"><username>root</username><session-id>"),
        "{raw}"
    );
    assert!(
        raw.contains("<source-host>127.0.0.1</source-host>"),
        "{raw}"
    );
    assert!(start.parse_error.is_none(), "{start:?}");
    assert_eq!(start.app.as_deref(), Some("netconf"));
    let established = channel_events(&events, "NETAUDIT_NETCONF_ESTABLISHED", "yuma");
    let negotiated = param(established[0], "negotiated").unwrap();
    assert!(
        negotiated.contains("base:1.1 (chunked framing)"),
        "{negotiated}"
    );
    assert_eq!(
        server.metric("netaudit_netconf_connected{device=\"yuma\"}"),
        1
    );
}

/// A TCP server on a loopback port that accepts connections and then
/// stalls: silent, or after an SSH identification line. It holds each
/// connection until the test ends (the flag), bounded to 5 minutes.
fn stalling_server(greeting: &'static [u8], done: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(300);
        while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(greeting);
                held.push(stream);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    port
}

#[test]
fn ssh_servers_that_stall_the_handshake_time_out_and_others_stream() {
    let dir = tempfile::tempdir().unwrap();
    let good = device(&dir.path().join("good"), "normal");
    let done = Arc::new(AtomicBool::new(false));
    let mut tables = table("good", &good, dir.path(), false, "");
    for (name, greeting) in [
        ("silent", &b""[..]),
        ("banner-only", &b"SSH-2.0-OpenSSH_9.2\r\n"[..]),
    ] {
        let port = stalling_server(greeting, done.clone());
        // The good sshd's key files stand in; the stalled servers never
        // get as far as checking them.
        tables += &table(name, &good, dir.path(), false, "handshake_timeout = \"2s\"")
            .replace(&format!("port = {}", good.port), &format!("port = {port}"));
    }
    let server = start(dir.path(), &tables);
    let expected = seed_lines();
    let events = wait_stored(
        &server,
        "the good lines and a failure for each stalled server",
        |events| {
            lines_of(events, "good").len() >= expected.len()
                && ["silent", "banner-only"]
                    .iter()
                    .all(|d| !channel_events(events, "NETAUDIT_NETCONF_FAILED", d).is_empty())
        },
    );
    done.store(true, Ordering::Relaxed);
    assert_eq!(
        lines_of(&events, "good"),
        expected,
        "the good device is unaffected"
    );
    for name in ["silent", "banner-only"] {
        let failed = channel_events(&events, "NETAUDIT_NETCONF_FAILED", name);
        let e = failed[0];
        assert_eq!(param(e, "stage"), Some("handshake"), "{e:?}");
        assert_eq!(
            param(e, "reason"),
            Some("handshake timed out after 2 s"),
            "{e:?}"
        );
        assert_eq!(param(e, "host-key"), Some("-"), "{e:?}");
        assert!(lines_of(&events, name).is_empty());
    }
    let log = server.log();
    assert!(log.contains("handshake timed out after 2 s"), "{log}");
    assert_eq!(
        server.metric("netaudit_netconf_connected{device=\"good\"}"),
        1
    );
    assert!(server.metric("netaudit_netconf_failures_total{device=\"silent\"}") >= 1);
}
