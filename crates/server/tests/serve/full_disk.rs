//! `netaudit serve` on a full disk, for real: the store on a small tmpfs
//! (mounted by the test, which runs as root, as CI does), the rest of it
//! filled with a file. `/health` says `store-failing`, the WAL does not
//! keep growing while appends fail, SIGTERM returns within
//! `pipeline.shutdown_store_wait_secs` (non-zero, saying how many received
//! events were not stored and from where), and once space is freed
//! everything received is stored and the exit is clean.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// A tmpfs mounted on a folder, unmounted when dropped (a failing test too).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).expect("create the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount(8)");
        assert!(
            out.status.success(),
            "mounting a {size} tmpfs on {} failed ({}): {}\nthe full-disk tests need root (CAP_SYS_ADMIN), as CI runs them",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    /// Writes a file until the file system is full; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0u8; 4096];
        // Bounded: the test file systems hold at most a few thousand blocks.
        for _ in 0..100_000 {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("writing the filler: {e}"),
            }
        }
        let _ = file.flush();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn line(i: usize) -> String {
    format!(
        "<165>1 2026-12-03T10:00:00Z fullhost app - FULL_DISK_TEST [x@2636 i=\"{i}\"] full-disk message {i} {}\n",
        "x".repeat(200)
    )
}

/// Sends lines `from..to` over one TCP connection from a thread, then
/// closes it; a write blocked for 60 s by back-pressure gives up.
fn send_lines(port: u16, from: usize, to: usize) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut sent = 0;
        for i in from..to {
            if stream.write_all(line(i).as_bytes()).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    })
}

/// The total size of the store's WAL files.
fn wal_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().ends_with("-wal") {
                total += entry.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

fn wait_for(what: &str, limit: Duration, server: &Netaudit, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what}: not within {limit:?}\n{}", server.log());
}

fn health(server: &Netaudit) -> Option<(u16, String)> {
    http_get(server.http, "/health")
}

/// The server on a tmpfs of `size` under `dir/store`, TCP listener `disk-tcp`,
/// the shutdown store wait `wait_secs`; `count` events stored before the
/// disk is filled. The near-full event is off (`near_full_percent = 0`):
/// these tests count what the listener lost, and a filled disk would add
/// netaudit's own NETAUDIT_STORE_NEAR_FULL to it (tested in
/// `policy_actions.rs`).
fn start_on_tmpfs(dir: &Path, size: &str, wait_secs: u64, count: usize) -> (Netaudit, Tmpfs, u16) {
    let mount = Tmpfs::mount(&dir.join("store"), size);
    let tcp = free_tcp_port();
    let config = format!(
        "[store]\npath = \"{}\"\nsynchronous = \"normal\"\nnear_full_percent = 0\n\n[http]\naddress = \"127.0.0.1:{}\"\n\n\
         [pipeline]\nbatch_max_delay_ms = 20\nbatch_max_events = 200\nshutdown_store_wait_secs = {wait_secs}\n\n\
         [builtin_policies]\nenabled = false\n\n\
         [[listener]]\nname = \"disk-tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp}\"\n",
        mount.dir.join("netaudit.db").display(),
        free_tcp_port(),
    );
    let mut server = Netaudit::start(dir, &config);
    server.db = mount.dir.join("netaudit.db");
    assert_eq!(send_lines(tcp, 0, count).join().unwrap(), count);
    wait_for(
        "the first events stored",
        Duration::from_secs(30),
        &server,
        || server.metric("netaudit_stored_events_total") >= count as u64,
    );
    (server, mount, tcp)
}

/// The disk fills up, events keep coming: `store-failing`, a WAL that does
/// not grow; `count` more lines are sent (from a thread, still sending).
fn fill_and_send(
    server: &Netaudit,
    mount: &Tmpfs,
    tcp: u16,
    first: usize,
    count: usize,
) -> (PathBuf, std::thread::JoinHandle<usize>) {
    let filler = mount.fill();
    let sender = send_lines(tcp, first, first + count);
    wait_for(
        "/health says store-failing",
        Duration::from_secs(60),
        server,
        || {
            health(server)
                .is_some_and(|(status, body)| status == 503 && body.contains("store-failing"))
        },
    );
    let errors = server.metric("netaudit_store_errors_total");
    // Several more failed attempts (one a second): the WAL must not grow
    // with them, and what the last commits left in it is given back.
    wait_for(
        "more failed appends",
        Duration::from_secs(30),
        server,
        || server.metric("netaudit_store_errors_total") >= errors + 3,
    );
    let first_sample = wal_bytes(&mount.dir);
    wait_for(
        "more failed appends",
        Duration::from_secs(30),
        server,
        || server.metric("netaudit_store_errors_total") >= errors + 6,
    );
    let second_sample = wal_bytes(&mount.dir);
    // Each failed attempt is rolled back and the WAL checkpointed: retries
    // do not add to it (a retry in progress may hold a few pages).
    assert!(
        second_sample <= first_sample + 64 * 1024,
        "the WAL grew while appends failed: {first_sample} then {second_sample} bytes\n{}",
        server.log()
    );
    eprintln!("WAL while the disk is full: {first_sample} then {second_sample} bytes");
    (filler, sender)
}

/// A `key=value` field of the first log line containing `marker`.
fn field(log: &str, marker: &str, key: &str) -> Option<u64> {
    let line = log.lines().find(|l| l.contains(marker))?;
    let at = line.find(&format!("{key}="))? + key.len() + 1;
    line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn full_disk_sigterm_returns_within_the_store_wait_and_says_what_was_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, mount, tcp) = start_on_tmpfs(dir.path(), "4m", 3, 2_000);
    let (_filler, sender) = fill_and_send(&server, &mount, tcp, 2_000, 5_000);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let status = {
        let mut child = server.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "SIGTERM on a full disk did not return within 40 s:\n{}",
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let took = signalled.elapsed();
    eprintln!("SIGTERM on a full disk returned after {took:?} ({status})");
    let _ = sender.join();
    let log = server.log();
    assert!(
        !status.success(),
        "exit status {status} on a full disk:\n{log}"
    );
    // The wait (3 s) plus a retry pause and the listener's drain.
    assert!(
        took < Duration::from_secs(30),
        "SIGTERM took {took:?} with shutdown_store_wait_secs = 3:\n{log}"
    );
    let marker = "received events not stored";
    let not_stored = field(&log, marker, "not_stored")
        .unwrap_or_else(|| panic!("no `{marker}` line with not_stored=:\n{log}"));
    assert!(not_stored > 0, "{log}");
    let report = log.lines().find(|l| l.contains(marker)).unwrap();
    assert!(
        report.contains(&format!("listener disk-tcp: {not_stored}")),
        "the report names the listener and its count: {report}"
    );
    assert!(
        log.contains(&format!(
            "{not_stored} received event(s) could not be stored"
        )),
        "the exit error says how many: {log}"
    );
    // Every event received is either stored or counted as not stored.
    let stopped = "stopped: the open batch is committed";
    let received = field(&log, stopped, "received").expect("received= in the stop line");
    let stored = field(&log, stopped, "stored").expect("stored= in the stop line");
    assert_eq!(received, stored + not_stored, "{log}");
    let in_store = stored_events(&server.db)
        .iter()
        .filter(|e| e.code.as_deref() == Some("FULL_DISK_TEST"))
        .count() as u64;
    assert!(
        in_store >= 2_000,
        "the events before the disk filled are kept: {in_store}"
    );
    drop(mount);
}

#[test]
fn full_disk_space_freed_everything_received_is_stored_and_the_exit_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, mount, tcp) = start_on_tmpfs(dir.path(), "16m", 30, 1_000);
    let (filler, sender) = fill_and_send(&server, &mount, tcp, 1_000, 3_000);
    std::fs::remove_file(&filler).expect("free the space");
    let sent = sender.join().unwrap();
    assert_eq!(sent, 3_000, "the sender got through once space was freed");
    wait_for("/health ok again", Duration::from_secs(30), &server, || {
        health(&server).is_some_and(|(status, _)| status == 200)
    });
    wait_for(
        "every line stored",
        Duration::from_secs(60),
        &server,
        || server.metric("netaudit_stored_events_total") >= 4_000,
    );
    eprintln!(
        "WAL once everything is stored: {} bytes",
        wal_bytes(&mount.dir)
    );
    let status = server.stop();
    let log = server.log();
    assert!(
        status.success(),
        "exit status {status} after space was freed:\n{log}"
    );
    assert!(!log.contains("could not be stored"), "{log}");
    let mut numbers: Vec<u64> = stored_events(&server.db)
        .iter()
        .filter(|e| e.code.as_deref() == Some("FULL_DISK_TEST"))
        .filter_map(|e| {
            let text = String::from_utf8_lossy(&e.raw).into_owned();
            text.split("i=\"").nth(1)?.split('"').next()?.parse().ok()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (0..4_000).collect::<Vec<u64>>(),
        "every line, once"
    );
    drop(mount);
}

#[test]
fn check_config_takes_the_shutdown_store_wait_and_refuses_more_than_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let check = |value: &str| {
        let path = dir.path().join("netaudit.toml");
        std::fs::write(
            &path,
            format!("[pipeline]\nshutdown_store_wait_secs = {value}\n"),
        )
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("check-config")
            .arg(&path)
            .output()
            .expect("run check-config")
    };
    for good in ["0", "30", "86400"] {
        let out = check(good);
        assert!(
            out.status.success(),
            "shutdown_store_wait_secs = {good}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for bad in ["86401", "-1", "\"30\""] {
        let out = check(bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "shutdown_store_wait_secs = {bad} accepted"
        );
        assert!(
            stderr.contains("shutdown_store_wait_secs"),
            "the error names the key for {bad}: {stderr}"
        );
    }
}
