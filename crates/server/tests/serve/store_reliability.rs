//! The store's reliability as an operator sees it through `netaudit serve`
//! and `netaudit verify`: a clean shutdown seals the tail, the store's files
//! are not world-readable.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run netaudit")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A number in `lo..hi` that differs from run to run (no seed to keep: the
/// test must hold wherever the signal lands).
fn some_number(lo: u64, hi: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    lo + (nanos ^ u64::from(std::process::id())) % (hi - lo)
}

/// Connects to the TCP listener on `port`, retrying for up to 30 s: `/health`
/// answers as soon as the HTTP port is up, the listeners bind right after.
fn connect(port: u16) -> TcpStream {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(e) if std::time::Instant::now() > deadline => {
                panic!("no TCP listener on 127.0.0.1:{port} within 30 s: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn tcp_listener(port: u16) -> String {
    format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n")
}

/// Streams octet-counted messages to `port` until `stop` is set, the server
/// goes away, or 500,000 messages are written.
fn start_sender(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut stream = connect(port);
        let mut sent = 0u64;
        let mut batch = String::new();
        while sent < 500_000 && !stop.load(Ordering::Relaxed) {
            batch.clear();
            for _ in 0..50 {
                let text = format!("<13>1 2026-11-20T10:00:00Z host app - SEAL - message {sent}");
                batch.push_str(&format!("{} {}", text.len(), text));
                sent += 1;
            }
            if stream.write_all(batch.as_bytes()).is_err() {
                break;
            }
        }
        sent
    })
}

/// `keys export-verify` to `dir/verify.key`, then `verify --require-sealed`
/// with it; returns verify's stdout and whether it exited 0.
fn export_and_verify(dir: &Path, db: &Path) -> (bool, String) {
    let key = dir.join("verify.key");
    let db = db.to_str().unwrap();
    if !key.exists() {
        let out = netaudit(&[
            "keys",
            "export-verify",
            "--db",
            db,
            "--out",
            key.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = netaudit(&[
        "verify",
        "--db",
        db,
        "--key",
        key.to_str().unwrap(),
        "--require-sealed",
    ]);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn sigterm_under_load_seals_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    // Small epochs and partitions, so that the signal may land anywhere:
    // inside an epoch, right after a roll, during a background round.
    let rest = tcp_listener(port);
    let config = config_text(dir.path(), free_tcp_port(), &rest).replace(
        "synchronous = \"normal\"",
        "synchronous = \"normal\"\nepoch_events = 700\npartition_events = 3000",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let stop = Arc::new(AtomicBool::new(false));
    let sender = start_sender(port, stop.clone());
    let at = some_number(200, 6000);
    server.wait_metric("netaudit_stored_events_total", at, Duration::from_secs(60));
    let status = server.stop();
    stop.store(true, Ordering::Relaxed);
    sender.join().unwrap();
    assert!(status.success(), "SIGTERM: {status}\n{}", server.log());

    let stored = stored_events(&server.db).len() as u64;
    assert!(stored >= at, "{stored} stored, {at} were counted before");
    let (ok, out) = export_and_verify(dir.path(), &server.db);
    assert!(ok, "SIGTERM after {at} events:\n{out}\n{}", server.log());
    assert!(!out.contains("UNSEALED"), "{out}");
    assert!(
        out.contains(&format!("sealed through {stored}")),
        "{stored} stored:\n{out}"
    );

    // A second run on the same store: idle, then SIGTERM; still sealed (and
    // an empty epoch is not sealed again for nothing).
    let mut server = Netaudit::start_with(dir.path(), &dir.path().join("netaudit.toml"));
    let status = server.stop();
    assert!(status.success(), "SIGTERM: {status}\n{}", server.log());
    let (ok, out) = export_and_verify(dir.path(), &server.db);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("sealed through {stored}")),
        "{stored} stored:\n{out}"
    );
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every directory and file of the store under `data`, with its mode, the
/// key files left out (they are 0600 and checked by their own tests).
fn store_modes(data: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(data.display().to_string(), mode_of(data))];
    let mut dirs = vec![data.to_path_buf()];
    // Bounded: the store has two levels.
    for _ in 0..4 {
        let Some(dir) = dirs.pop() else { break };
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".key") || name.ends_with(".verify-key") || name.starts_with("auth") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path.clone());
            }
            out.push((path.display().to_string(), mode_of(&path)));
        }
    }
    out
}

fn assert_not_world_readable(data: &Path, when: &str) {
    let modes = store_modes(data);
    let names: Vec<_> = modes.iter().map(|(p, _)| p.as_str()).collect();
    for suffix in [".db", ".db-wal", ".db-shm", ".parts"] {
        assert!(
            names.iter().any(|n| n.ends_with(suffix)),
            "{when}: no *{suffix} in {names:?}"
        );
    }
    for (path, mode) in &modes {
        let allowed = if Path::new(path).is_dir() {
            0o750
        } else {
            0o640
        };
        assert_eq!(
            mode & !allowed,
            0,
            "{when}: {path} has mode {mode:04o}, more than {allowed:04o}"
        );
        assert_eq!(mode & 0o007, 0, "{when}: {path} is open to others");
    }
}

#[test]
fn store_folder_is_0750_and_its_files_0640() {
    // The usual umask, which let SQLite make every file 0644.
    // SAFETY: umask(2) only sets this process's file creation mask.
    #[allow(unsafe_code)]
    unsafe {
        libc::umask(0o022)
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_tcp_port();
    let config = config_text(dir.path(), free_tcp_port(), &tcp_listener(port))
        .replace(
            &format!("{}", dir.path().join("netaudit.db").display()),
            &format!("{}", data.join("netaudit.db").display()),
        )
        .replace(
            "synchronous = \"normal\"",
            "synchronous = \"normal\"\npartition_events = 500",
        );
    let mut server = Netaudit::start(dir.path(), &config);
    let db = data.join("netaudit.db");
    let mut stream = connect(port);
    for i in 0..1200 {
        let text = format!("<13>1 2026-11-20T10:00:00Z host app - MODE - message {i}");
        write!(stream, "{} {}", text.len(), text).unwrap();
    }
    drop(stream);
    server.wait_metric(
        "netaudit_stored_events_total",
        1200,
        Duration::from_secs(60),
    );
    // Sealed partitions exist, the open one's -wal and -shm too.
    let parts = data.join("netaudit.parts");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&parts).unwrap().count() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "no partition roll within 30 s: {:?}",
            store_modes(&data)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(mode_of(&data), 0o750);
    assert_eq!(mode_of(&parts), 0o750);
    assert_eq!(mode_of(&db), 0o640);
    assert_not_world_readable(&data, "while serving");
    assert!(server.stop().success(), "{}", server.log());
    assert_not_world_readable(&data, "after SIGTERM");

    // A store made by an older version (everything 0644 and 0755) is
    // narrowed when it is opened; the data folder, which may be the
    // operator's, is left as it is.
    use std::os::unix::fs::PermissionsExt;
    for (path, _) in store_modes(&data) {
        let mode = if Path::new(&path).is_dir() {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let mut server = Netaudit::start_with(dir.path(), &dir.path().join("netaudit.toml"));
    let mut stream = connect(port);
    let text = "<13>1 2026-11-20T10:00:00Z host app - MODE - after restart";
    write!(stream, "{} {}", text.len(), text).unwrap();
    drop(stream);
    server.wait_metric("netaudit_stored_events_total", 1, Duration::from_secs(30));
    assert_eq!(mode_of(&data), 0o755);
    assert_eq!(mode_of(&db), 0o640);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).unwrap();
    assert_not_world_readable(&data, "after a restart on 0644 files");
    assert!(server.stop().success(), "{}", server.log());
}

/// Copies the store folder `from` into a new folder `to` (two levels).
fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_store(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The partition file of `parts` whose `checkpoints` table holds `epoch`.
fn partition_holding(parts: &Path, epoch: i64) -> std::path::PathBuf {
    for entry in std::fs::read_dir(parts).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "db") {
            continue;
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM checkpoints WHERE epoch = ?1",
                [epoch],
                |r| r.get(0),
            )
            .unwrap();
        if n == 1 {
            return path;
        }
    }
    panic!("no partition in {} holds epoch {epoch}", parts.display());
}

fn verify_local(db: &Path) -> (Option<i32>, String) {
    let out = netaudit(&["verify", "--db", db.to_str().unwrap()]);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn verify_reports_a_missing_or_differing_checkpoint_copy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_tcp_port();
    // Epochs of 100 events, partitions of about 300: checkpoints in
    // several partitions, each with its copy in the catalog.
    let config = config_text(dir.path(), free_tcp_port(), &tcp_listener(port))
        .replace(
            &format!("{}", dir.path().join("netaudit.db").display()),
            &format!("{}", data.join("netaudit.db").display()),
        )
        .replace(
            "synchronous = \"normal\"",
            "synchronous = \"normal\"\nepoch_events = 100\npartition_events = 300",
        );
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = connect(port);
    for i in 0..1000 {
        let text = format!("<13>1 2026-11-20T10:00:00Z host app - COPY - message {i}");
        write!(stream, "{} {}", text.len(), text).unwrap();
    }
    drop(stream);
    server.wait_metric(
        "netaudit_stored_events_total",
        1000,
        Duration::from_secs(60),
    );
    assert!(server.stop().success(), "{}", server.log());
    let (rc, out) = verify_local(&data.join("netaudit.db"));
    assert_eq!(rc, Some(0), "the untouched store: {out}");

    // Epoch 3 sits in the middle: older and newer checkpoints exist in
    // both places.
    let epoch = 3;
    type Change = fn(&rusqlite::Connection);
    let delete: Change = |c| {
        c.execute("DELETE FROM checkpoints WHERE epoch = 3", [])
            .map(|n| assert_eq!(n, 1))
            .unwrap()
    };
    let flip: Change = |c| {
        let sig: Vec<u8> = c
            .query_row(
                "SELECT signature FROM checkpoints WHERE epoch = 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut sig = sig;
        sig[17] ^= 0x01;
        c.execute(
            "UPDATE checkpoints SET signature = ?1 WHERE epoch = 3",
            [sig],
        )
        .map(|n| assert_eq!(n, 1))
        .unwrap();
    };
    for (name, change, in_catalog, expect) in [
        (
            "catalog copy deleted",
            delete,
            true,
            "the catalog's copy of the checkpoint of epoch 3 is missing (the copy in partition",
        ),
        (
            "partition copy deleted",
            delete,
            false,
            "the checkpoint of epoch 3 (events up to",
        ),
        (
            "catalog copy's signature changed",
            flip,
            true,
            "the catalog's copy was altered",
        ),
        (
            "partition copy's signature changed",
            flip,
            false,
            "the partition's copy was altered",
        ),
    ] {
        let copy = dir.path().join(name.replace(' ', "-"));
        copy_store(&data, &copy);
        let parts = copy.join("netaudit.parts");
        let holder = partition_holding(&parts, epoch);
        let holder_name = holder.file_name().unwrap().to_string_lossy().into_owned();
        let target = if in_catalog {
            copy.join("netaudit.db")
        } else {
            holder.clone()
        };
        change(&rusqlite::Connection::open(&target).unwrap());
        let (rc, out) = verify_local(&copy.join("netaudit.db"));
        assert_eq!(rc, Some(1), "{name}: {out}");
        assert!(out.contains("BROKEN at sequence"), "{name}: {out}");
        assert!(out.contains("(checkpoint)"), "{name}: {out}");
        assert!(
            out.contains(expect),
            "{name}: expected {expect:?} in:\n{out}"
        );
        assert!(
            out.contains(&format!("partition {holder_name}")),
            "{name}: the partition {holder_name} is not named:\n{out}"
        );
        assert!(
            !out.contains(&copy.display().to_string()),
            "{name}: verify shows a path:\n{out}"
        );
    }
}

/// `netaudit serve --config FILE EXTRA...` as a child whose stderr goes to
/// `log` (killed when the returned guard drops).
fn spawn_serve(dir: &Path, config: &Path, extra: &[&str], log: &Path) -> Netaudit {
    let child = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let text = std::fs::read_to_string(config).unwrap();
    let http = text
        .lines()
        .skip_while(|l| l.trim() != "[http]")
        .find_map(|l| l.trim().strip_prefix("address = "))
        .map(|a| a.trim_matches('"').parse().unwrap())
        .unwrap();
    Netaudit {
        child: Some(child),
        dir: dir.to_owned(),
        config_path: config.to_owned(),
        http,
        db: dir.join("netaudit.db"),
        log_path: log.to_owned(),
    }
}

/// The last sequence number of the first partition once the catalog
/// records it sealed.
fn sealed_first_partition_end(db: &Path) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT last_seq FROM partitions WHERE first_seq = 1",
        [],
        |r| r.get::<_, Option<i64>>(0),
    )
    .ok()
    .flatten()
}

#[test]
fn serve_refuses_a_damaged_store_unless_accepted_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let config = config_text(dir.path(), free_tcp_port(), &tcp_listener(port)).replace(
        "synchronous = \"normal\"",
        "synchronous = \"normal\"\nepoch_events = 100\npartition_events = 300",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    let mut stream = connect(port);
    for i in 0..1000 {
        let text = format!("<13>1 2026-11-20T10:00:00Z host app - DMG - message {i}");
        write!(stream, "{} {}", text.len(), text).unwrap();
    }
    drop(stream);
    server.wait_metric(
        "netaudit_stored_events_total",
        1000,
        Duration::from_secs(60),
    );
    // One batch may hold all 1000: then the background thread rolls the
    // full partition (within about half a second); wait for a sealed one.
    let db = dir.path().join("netaudit.db");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sealed_first_partition_end(&db).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first partition was not sealed within 30 s:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.stop().success(), "{}", server.log());
    let config_path = dir.path().join("netaudit.toml");

    // An intact store starts (the check finds nothing): shown by the start
    // above and by this restart.
    let mut again = Netaudit::start_with(dir.path(), &config_path);
    assert!(again.stop().success(), "{}", again.log());

    // The last event of the first sealed partition removed.
    let last = sealed_first_partition_end(&db).unwrap();
    let part = dir.path().join("netaudit.parts/00000000000000000001.db");
    rusqlite::Connection::open(&part)
        .unwrap()
        .execute("DELETE FROM events WHERE seq = ?1", [last])
        .unwrap();

    // Refused, with the partition, the sequence and what to do.
    let log = dir.path().join("refused.log");
    let mut refused = spawn_serve(dir.path(), &config_path, &[], &log);
    let mut child = refused.child.take().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve started on a damaged store:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    for needle in [
        "the start-up check found the store damaged",
        &format!("partition 00000000000000000001.db, event {last}: the catalog lists them in this sealed partition but they are gone"),
        "netaudit verify --db",
        "--accept-damaged-store",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in:\n{stderr}");
    }
    assert!(
        http_get(refused.http, "/health").is_none(),
        "nothing listens"
    );

    // An administrator, made before the start.
    let password = dir.path().join("admin.pw");
    std::fs::write(&password, "correct horse battery staple\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(["user", "-c", config_path.to_str().unwrap()])
        .args(["add", "root-admin", "--role", "admin", "--password-file"])
        .arg(&password)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    // Accepted: it starts, stores the damage first, /health says so.
    let log = dir.path().join("accepted.log");
    let mut server = spawn_serve(dir.path(), &config_path, &["--accept-damaged-store"], &log);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(answer) = http_get(server.http, "/health") {
            break answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no /health within 30 s:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(health.0, 503, "{health:?}");
    assert!(
        health.1.contains("\"status\":\"store-damaged\""),
        "{health:?}"
    );

    // Only an administrator acknowledges.
    let ack = "/api/v1/store/damage/ack";
    assert_eq!(http_request(server.http, "POST", ack, None, "{}").0, 401);
    let (status, body) = http_request(
        server.http,
        "POST",
        "/api/v1/login",
        None,
        r#"{"username":"root-admin","password":"correct horse battery staple"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let (status, body) = http_request(server.http, "POST", ack, Some(&token), "{}");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["acknowledged"], true, "{body}");
    assert_eq!(answer["events"].as_array().map(Vec::len), Some(1), "{body}");
    let health = http_get(server.http, "/health").unwrap();
    assert_eq!(health.0, 200, "{health:?}");
    assert!(health.1.contains("\"status\":\"ok\""), "{health:?}");
    let (status, body) = http_request(server.http, "POST", ack, Some(&token), "{}");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert!(server.stop().success(), "{}", server.log());

    // The trail: the damage (before anything else of that run), then who
    // acknowledged it.
    let events = stored_events(&db);
    let damaged: Vec<_> = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("NETAUDIT_STORE_DAMAGED"))
        .collect();
    assert_eq!(damaged.len(), 1);
    let message = damaged[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("partition 00000000000000000001.db, event {last}")),
        "{message}"
    );
    let acked: Vec<_> = events
        .iter()
        .filter(|e| e.code.as_deref() == Some("NETAUDIT_STORE_DAMAGE_ACKNOWLEDGED"))
        .collect();
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].user.as_deref(), Some("root-admin"));
    assert!(
        acked[0]
            .params
            .iter()
            .any(|p| p.name == "username" && p.value == "root-admin"),
        "{:?}",
        acked[0].params
    );
}
