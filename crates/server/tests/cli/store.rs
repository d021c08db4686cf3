//! The store subcommands end to end: import, query, tail -f, verify, keys.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn netaudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run netaudit")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(n: usize, user: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "<165>1 2007-02-15T09:17:{:02}.719Z router{} mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"{user}\"] User '{user}' exiting configuration mode {i}\n",
                i % 60,
                i % 3
            )
        })
        .collect()
}

fn import(db: &str, file: &Path) -> Output {
    netaudit(&["import", "--db", db, file.to_str().unwrap()])
}

#[test]
fn import_query_verify_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/netaudit.db");
    let db = db.to_str().unwrap();
    let input = dir.path().join("in.log");
    let mut content = lines(25, "regress");
    content.push_str("<999>1 not a syslog line\n\n");
    content.push_str("Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed using username: 'admin'\n");
    std::fs::write(&input, content).unwrap();
    let out = import(db, &input);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("stored 26 (sequence 1..26, sealed by the checkpoint of epoch 0), rejected 1"),
        "{err}"
    );
    assert!(err.contains("in.log:26"), "{err}");

    let out = netaudit(&[
        "query",
        "--db",
        db,
        "--code",
        "JUNOSCOPE_LOGIN_*",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["seq"], 26);
    assert_eq!(rows[0]["host"], "valhalla2");

    let out = netaudit(&[
        "query",
        "--db",
        db,
        "--user",
        "regress",
        "--host",
        "router1",
        "--limit",
        "3",
        "--format",
        "structured",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout
            .starts_with("<165>1 2007-02-15T09:17:01.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("--after-seq 8"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&[
        "query",
        "--db",
        db,
        "--user",
        "regress",
        "--host",
        "router1",
        "--after-seq",
        "8",
        "--format",
        "table",
    ]);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("       SEQ  TIME"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1 + 5, "{stdout}");
    let out = netaudit(&[
        "query",
        "--db",
        db,
        "--text",
        "CONFIGURATION MODE 7",
        "--format",
        "standard",
    ]);
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "{}",
        text(&out.stdout)
    );
    let out = netaudit(&["query", "--db", db, "--since", "banana"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("relative time"),
        "{}",
        text(&out.stderr)
    );

    let out = netaudit(&["verify", "--db", db]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.starts_with("OK: 26 events verified"), "{stdout}");
    assert!(stdout.contains("sealed through 26"), "{stdout}");
    assert!(!stdout.contains("UNSEALED"), "{stdout}");
    let out = netaudit(&["verify", "--db", db, "--require-sealed"]);
    assert!(out.status.success(), "{}", text(&out.stdout));

    let key = dir.path().join("verify.key");
    let out = netaudit(&[
        "keys",
        "export-verify",
        "--db",
        db,
        "--out",
        key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.path().join("data/netaudit.verify-key").exists());
    let out = netaudit(&["keys", "export-verify", "--db", db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("exported already"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&["verify", "--db", db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--key FILE"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&[
        "verify",
        "--db",
        db,
        "--key",
        key.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events_verified"], 26);

    // Tamper with one stored event: verify names it.
    let part = std::fs::read_dir(dir.path().join("data/netaudit.parts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "db"))
        .unwrap();
    rusqlite::Connection::open(&part)
        .unwrap()
        .execute_batch("UPDATE events SET user = 'mallory' WHERE seq = 5;")
        .unwrap();
    let out = netaudit(&["verify", "--db", db, "--key", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("BROKEN at sequence 5 (changed)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn tail_follows_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("netaudit.db");
    let db = db.to_str().unwrap();
    let input = dir.path().join("a.log");
    std::fs::write(&input, lines(5, "alice")).unwrap();
    assert!(import(db, &input).status.success());
    let mut tail = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "tail",
            "--db",
            db,
            "-n",
            "2",
            "-f",
            "--interval-ms",
            "50",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(tail.stdout.take().unwrap());
    let mut seqs = Vec::new();
    let mut line = String::new();
    for _ in 0..2 {
        line.clear();
        out.read_line(&mut line).unwrap();
        seqs.push(
            serde_json::from_str::<serde_json::Value>(&line).unwrap()["seq"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(seqs, vec![4, 5]);
    std::fs::write(&input, lines(3, "bob")).unwrap();
    assert!(import(db, &input).status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while seqs.len() < 5 && Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["user"], "bob");
        seqs.push(v["seq"].as_u64().unwrap());
    }
    tail.kill().unwrap();
    tail.wait().unwrap();
    assert_eq!(seqs, vec![4, 5, 6, 7, 8]);
}

#[test]
fn bad_stores_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let out = netaudit(&["query", "--db", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("nope.db") && err.contains("no such file"),
        "{err}"
    );
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let out = netaudit(&["query", "--db", garbage.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(
        err.contains("garbage.db") && err.contains("not an SQLite database"),
        "{err}"
    );
    let input = dir.path().join("in.log");
    std::fs::write(&input, lines(1, "x")).unwrap();
    let out = import(garbage.to_str().unwrap(), &input);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("garbage.db"),
        "{}",
        text(&out.stderr)
    );
    let out = netaudit(&[
        "import",
        "--db",
        dir.path().join("s.db").to_str().unwrap(),
        "/nonexistent/file.log",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/file.log"),
        "{}",
        text(&out.stderr)
    );
}
