//! The PostgreSQL store's subcommands against a private PostgreSQL
//! (`netaudit_pgstore::test_cluster`, stopped by PID on drop): `store
//! migrate`, `store copy` of an imported embedded store, `verify --store`
//! per node, and the bad input (wrong password, unreachable, malformed
//! string, schema newer than the binary), none of which shows the password.

use std::path::Path;
use std::process::{Command, Output};

use netaudit_pgstore::test_cluster::PgCluster;

fn netaudit(args: &[&str], password_env: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    cmd.args(args).env_remove("PGPASSWORD");
    if let Some(p) = password_env {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("run netaudit")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An embedded store of `n` imported lines (raw-backed events).
fn imported_store(dir: &Path, n: usize) -> String {
    let input = dir.join("in.log");
    let body: String = (0..n)
        .map(|i| {
            format!(
                "<165>1 2007-02-15T09:17:{:02}.719Z router{} mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"u{}\"] User 'u{}' exiting configuration mode {i}\n",
                i % 60,
                i % 3,
                i % 5,
                i % 5
            )
        })
        .collect();
    std::fs::write(&input, body).unwrap();
    let db = dir.join("data/netaudit.db").to_str().unwrap().to_string();
    let out = netaudit(&["import", "--db", &db, input.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

#[test]
fn store_copy_then_verify_per_node_and_tampering() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = imported_store(dir.path(), 2_500);
    let url = pg.url_without_password();

    let out = netaudit(&["store", "migrate", "--to", &url], Some(pg.password()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!(
            "migrated from version 0 to {}",
            netaudit_pgstore::SCHEMA_VERSION
        )),
        "{}",
        text(&out.stdout)
    );
    let out = netaudit(&["store", "migrate", "--to", &url], Some(pg.password()));
    assert!(
        text(&out.stdout).contains(&format!(
            "schema version {} is current",
            netaudit_pgstore::SCHEMA_VERSION
        )),
        "{}",
        text(&out.stdout)
    );

    // key=value form, password from a file.
    let pw = dir.path().join("pw");
    std::fs::write(&pw, pg.password()).unwrap();
    let kv = format!(
        "host=127.0.0.1 port={} user=netaudit dbname=postgres password_file={}",
        pg.port(),
        pw.display()
    );
    let from = format!("sqlite:{db}");
    let out = netaudit(
        &[
            "store", "copy", "--from", &from, "--to", &kv, "--node", "box1",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("copied 2500 events (1..2500)"), "{stdout}");
    assert!(
        stdout.contains("node box1: OK: 2500 events verified (1..2500)"),
        "{stdout}"
    );
    assert!(!stdout.contains(pg.password()), "{stdout}");

    let key = dir.path().join("data/netaudit.verify-key");
    let key = key.to_str().unwrap();
    let out = netaudit(&["verify", "--store", &kv, "--key", key], None);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("node box1: OK: 2500 events verified"),
        "{}",
        text(&out.stdout)
    );

    pg.client()
        .unwrap()
        .execute(
            "UPDATE netaudit.events SET host = 'elsewhere' WHERE node_id = 'box1' AND seq = 1500",
            &[],
        )
        .unwrap();
    let out = netaudit(&["verify", "--store", &kv, "--key", key], None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("node box1: BROKEN at sequence 1500 (changed)"),
        "{stdout}"
    );
    let out = netaudit(&["verify", "--store", &kv, "--key", key, "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["nodes"][0]["node"], "box1");
    assert_eq!(json["nodes"][0]["report"]["break"]["seq"], 1500);

    // Without its key the node is not verified, and that fails.
    let out = netaudit(&["verify", "--store", &kv], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("node box1: NOT VERIFIED"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn store_commands_refuse_bad_input_without_showing_the_password() {
    let pg = PgCluster::start().unwrap();
    let secret = "Sup3r-S3cret-Value";
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!(
                "postgres://netaudit:{secret}@127.0.0.1:{}/postgres",
                pg.port()
            ),
            "refused the login: password authentication failed",
        ),
        (
            format!("postgres://netaudit:{secret}@127.0.0.1:{closed}/postgres"),
            "is unreachable",
        ),
        (
            format!("host=127.0.0.1 user=netaudit password={secret} port=notaport"),
            "malformed PostgreSQL connection string",
        ),
        (
            format!("mysql://netaudit:{secret}@127.0.0.1/postgres"),
            "malformed PostgreSQL connection string",
        ),
    ];
    for (conn, expected) in &cases {
        for args in [
            vec!["store", "migrate", "--to", conn],
            vec!["user", "--store", conn, "list"],
        ] {
            let out = netaudit(&args, None);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{conn}: {stderr}");
            assert!(stderr.contains(expected), "{conn}: {stderr}");
            assert!(
                !stderr.contains(secret) && !text(&out.stdout).contains(secret),
                "{stderr}"
            );
        }
    }

    let url = pg.url();
    // The users of a database not migrated yet: named as such.
    let out = netaudit(&["user", "--store", &url, "list"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has no netaudit schema yet"), "{stderr}");
    assert!(!stderr.contains(pg.password()), "{stderr}");
    let out = netaudit(&["store", "migrate", "--to", &url], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    pg.client()
        .unwrap()
        .execute("UPDATE netaudit.version SET version = 99", &[])
        .unwrap();
    for args in [
        vec!["store", "migrate", "--to", &url],
        vec!["verify", "--store", &url],
        vec!["user", "--store", &url, "list"],
    ] {
        let out = netaudit(&args, None);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "database 127.0.0.1:{}/postgres as netaudit: netaudit schema version 99 is newer than this netaudit supports ({})",
                pg.port(),
                netaudit_pgstore::SCHEMA_VERSION
            )),
            "{stderr}"
        );
        assert!(!stderr.contains(pg.password()), "{stderr}");
    }

    let out = netaudit(
        &["store", "copy", "--from", "/tmp/x.db", "--to", &url],
        None,
    );
    assert!(
        text(&out.stderr).contains("give the embedded store as sqlite:PATH"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn store_copy_refuses_a_store_serve_is_writing_and_copies_it_once_stopped() {
    let pg = PgCluster::start().unwrap();
    let url = pg.url_without_password();
    let out = netaudit(&["store", "migrate", "--to", &url], Some(pg.password()));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_tcp_port();
    let config = crate::support::config_text(dir.path(), port, "");
    let mut serve = crate::support::Netaudit::start(dir.path(), &config);
    let db = serve.db.to_str().unwrap().to_string();
    let from = format!("sqlite:{db}");
    let copy = || {
        netaudit(
            &[
                "store", "copy", "--from", &from, "--to", &url, "--node", "live",
            ],
            Some(pg.password()),
        )
    };

    let out = copy();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{db}: the store is in use by another netaudit process (lock held)"
        )),
        "{stderr}"
    );
    // Nothing of the refused copy is in the database.
    let nodes: i64 = pg
        .client()
        .unwrap()
        .query_one("SELECT count(*) FROM netaudit.nodes", &[])
        .unwrap()
        .get(0);
    assert_eq!(nodes, 0);

    assert!(serve.stop().success(), "{}", serve.log());
    let out = copy();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("into node \"live\""), "{stdout}");
}
