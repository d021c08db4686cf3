//! The PostgreSQL store against a real PostgreSQL: each test starts its own
//! private cluster (`test_cluster::PgCluster`, stopped by PID on drop).

use std::path::Path;

use netaudit_event::{Event, Facility, Param, Severity};
use netaudit_pgstore::test_cluster::PgCluster;
use netaudit_pgstore::{
    copy_sqlite_store, migrate, query_global, verify_key_path, verify_nodes, ConnectionSpec,
    GlobalQuery, NodeOutcome, NodeWriter, PgStoreError, SCHEMA_VERSION,
};
use netaudit_store::{
    read_local_verify_key, BreakKind, PreparedBatch, Store, StoreConfig, VerifyKey, VerifyReport,
};
use netaudit_syslog::RawBackedEvent;

fn event(i: u64) -> Event {
    let user = ["admin", "regress", "operator"][(i % 3) as usize];
    let t = 1_700_000_000_000_000_000 + i64::try_from(i).unwrap() * 1_000_000;
    Event {
        received_ns: t + 5,
        time_ns: (!i.is_multiple_of(4)).then_some(t),
        host: Some(format!("router{}", i % 7).into()),
        app: Some("mgd".into()),
        pid: Some("3046".into()),
        facility: Some(Facility::Local2),
        severity: Some(Severity::from_code((i % 8) as u8).unwrap()),
        code: Some("UI_COMMIT".into()),
        user: Some(user.into()),
        client_addr: i.is_multiple_of(2).then(|| "10.0.0.1".into()),
        device: None,
        operation: None,
        params: if i.is_multiple_of(5) {
            Vec::new()
        } else {
            vec![Param {
                sd_id: "junos@2636.1.1.1.2.18".into(),
                name: "username".into(),
                value: user.into(),
            }]
        },
        message: Some(format!("User '{user}' event number {i} \u{e9}").into()),
        raw: format!("<165>1 2023-11-14T22:13:20.000Z router mgd 3046 UI_COMMIT [junos@2636.1.1.1.2.18 username=\"{user}\"] event {i}").into_bytes(),
        parse_error: None,
    }
}

/// Events whose parameters stay in their raw bytes (encoding version 2).
fn raw_backed(i: u64) -> RawBackedEvent {
    let mut e = event(i);
    e.params.clear();
    RawBackedEvent {
        event: e,
        params_in_raw: true,
    }
}

/// An embedded store of `count` events (epochs of 250, partitions of
/// 1,000), closed (its tail sealed).
fn sqlite_store(dir: &Path, count: u64) -> StoreConfig {
    let mut config = StoreConfig::new(dir.join("netaudit.db"));
    config.epoch_events = 250;
    config.partition_events = 1_000;
    config.background = false;
    let store = Store::open(config.clone()).unwrap();
    for chunk in (1..=count).collect::<Vec<_>>().chunks(200) {
        if chunk[0] % 400 == 1 {
            let batch: Vec<RawBackedEvent> = chunk.iter().map(|&i| raw_backed(i)).collect();
            store.append_batch(&batch).unwrap();
        } else {
            let batch: Vec<Event> = chunk.iter().map(|&i| event(i)).collect();
            store.append_batch(&batch).unwrap();
        }
    }
    store.close().unwrap();
    config
}

fn connect(pg: &PgCluster) -> (ConnectionSpec, postgres::Client) {
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None).unwrap();
    let client = spec.connect().unwrap();
    (spec, client)
}

fn walked(v: &NodeOutcome) -> &VerifyReport {
    match v {
        NodeOutcome::Walked(r) => r,
        other => panic!("not walked: {other:?}"),
    }
}

#[test]
fn copy_of_an_embedded_store_verifies_and_tampering_is_found() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sqlite_store(dir.path(), 3_000);
    let key = read_local_verify_key(&config).unwrap();
    let (spec, mut client) = connect(&pg);
    let migrated = migrate(&mut client, spec.target()).unwrap();
    assert_eq!((migrated.from, migrated.to), (0, SCHEMA_VERSION));

    let mut calls = Vec::new();
    let summary = copy_sqlite_store(
        &config.path,
        &mut client,
        spec.target(),
        "old-box",
        |d, t| calls.push((d, t)),
    )
    .unwrap();
    assert_eq!(summary.events, 3_000);
    assert_eq!(summary.last_seq, 3_000);
    assert_eq!(summary.checkpoints, 12);
    assert_eq!(calls.last(), Some(&(3_000, 3_000)));

    let found = verify_nodes(&mut client, spec.target(), std::slice::from_ref(&key), None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].node.node_id, "old-box");
    let report = walked(&found[0].outcome);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 3_000);
    assert_eq!(report.checkpoints_verified, 12);
    assert_eq!(report.unsealed, None);

    // Copying the same store again, or into the same node, is refused.
    let again = copy_sqlite_store(
        &config.path,
        &mut client,
        spec.target(),
        "old-box",
        |_, _| {},
    );
    assert!(
        matches!(again, Err(PgStoreError::NodeExists { events: 3_000, .. })),
        "{again:?}"
    );
    let again = copy_sqlite_store(&config.path, &mut client, spec.target(), "other", |_, _| {});
    assert!(
        again
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("already in the database as node \"old-box\""),
        "{again:?}"
    );

    // One altered row (raw-backed, in the first 200), then put back; then one deleted row.
    let mut admin = pg.client().unwrap();
    let original: String = admin
        .query_one(
            "SELECT message FROM netaudit.events WHERE node_id = 'old-box' AND seq = 123",
            &[],
        )
        .unwrap()
        .get(0);
    let set_message = |admin: &mut postgres::Client, text: &str| {
        admin
            .execute(
                "UPDATE netaudit.events SET message = $1 WHERE node_id = 'old-box' AND seq = 123",
                &[&text],
            )
            .unwrap();
    };
    set_message(&mut admin, "nothing happened");
    let found = verify_nodes(&mut client, spec.target(), std::slice::from_ref(&key), None).unwrap();
    let failure = walked(&found[0].outcome).failure.clone().unwrap();
    assert_eq!(
        (failure.seq, failure.kind),
        (123, BreakKind::Changed),
        "{failure:?}"
    );
    set_message(&mut admin, &original);
    let found = verify_nodes(&mut client, spec.target(), std::slice::from_ref(&key), None).unwrap();
    assert!(found[0].ok(), "{:?}", found[0]);
    admin
        .execute(
            "DELETE FROM netaudit.events WHERE node_id = 'old-box' AND seq = 2222",
            &[],
        )
        .unwrap();
    let found = verify_nodes(&mut client, spec.target(), &[key], Some("old-box")).unwrap();
    let failure = walked(&found[0].outcome).failure.clone().unwrap();
    assert_eq!(
        (failure.seq, failure.kind),
        (2222, BreakKind::Deleted),
        "{failure:?}"
    );
}

#[test]
fn deleted_and_json_param_rows_are_found_by_sequence() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = sqlite_store(dir.path(), 1_000);
    let key = read_local_verify_key(&config).unwrap();
    let (spec, mut client) = connect(&pg);
    migrate(&mut client, spec.target()).unwrap();
    copy_sqlite_store(&config.path, &mut client, spec.target(), "n1", |_, _| {}).unwrap();
    let mut admin = pg.client().unwrap();
    // A JSON parameter changed (seq 652 is a plain event whose user is regress).
    admin
        .execute(
            "UPDATE netaudit.events SET params = replace(params, 'regress', 'nobody') WHERE node_id = 'n1' AND seq = 652",
            &[],
        )
        .unwrap();
    let found = verify_nodes(&mut client, spec.target(), std::slice::from_ref(&key), None).unwrap();
    let failure = walked(&found[0].outcome).failure.clone().unwrap();
    assert_eq!(
        (failure.seq, failure.kind),
        (652, BreakKind::Changed),
        "{failure:?}"
    );
    admin
        .execute(
            "UPDATE netaudit.events SET params = replace(params, 'nobody', 'regress') WHERE node_id = 'n1' AND seq = 652",
            &[],
        )
        .unwrap();
    admin
        .execute(
            "DELETE FROM netaudit.events WHERE node_id = 'n1' AND seq = 700",
            &[],
        )
        .unwrap();
    let found = verify_nodes(&mut client, spec.target(), &[key], None).unwrap();
    let failure = walked(&found[0].outcome).failure.clone().unwrap();
    assert_eq!(
        (failure.seq, failure.kind),
        (700, BreakKind::Deleted),
        "{failure:?}"
    );
}

#[test]
fn nodes_append_their_own_chains_and_a_node_id_has_one_holder() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None).unwrap();
    let mut client = spec.connect().unwrap();
    migrate(&mut client, spec.target()).unwrap();
    let (k1, k2) = (dir.path().join("n1.key"), dir.path().join("n2.key"));
    let mut n1 = NodeWriter::open(&spec, "n1", &k1, 100).unwrap();
    let mut n2 = NodeWriter::open(&spec, "n2", &k2, 100).unwrap();
    let second = NodeWriter::open(&spec, "n1", &dir.path().join("other.key"), 100);
    match second {
        Err(e @ PgStoreError::NodeInUse { .. }) => {
            let text = e.to_string();
            assert!(text.contains("node id \"n1\" is in use"), "{text}");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a second holder of n1 was let in"),
    }
    let batch: Vec<Event> = (0..130).map(event).collect();
    assert_eq!(n1.append_batch(&batch).unwrap(), (1, 130));
    assert_eq!(n2.append_batch(&batch[..40]).unwrap(), (1, 40));
    assert_eq!(n1.append_batch(&batch[..90]).unwrap(), (131, 220));
    assert_eq!(n1.epoch(), 2);
    n2.seal_epoch().unwrap();
    drop(n1);
    // The lock went with the session: n1 is taken up again, its chain continues.
    let mut n1 = NodeWriter::open(&spec, "n1", &k1, 100).unwrap();
    assert_eq!((n1.last_seq(), n1.epoch()), (220, 2));
    let raw: Vec<RawBackedEvent> = (0..30).map(raw_backed).collect();
    assert_eq!(n1.append_batch(&raw).unwrap(), (221, 250));
    // A key file of another chain is refused for n1.
    drop(n1);
    let wrong = NodeWriter::open(&spec, "n1", &k2, 100);
    assert!(
        matches!(wrong, Err(PgStoreError::NodeKey { .. })),
        "{:?}",
        wrong.err()
    );

    let keys = [
        VerifyKey::read(&verify_key_path(&k1)).unwrap(),
        VerifyKey::read(&verify_key_path(&k2)).unwrap(),
    ];
    let found = verify_nodes(&mut client, spec.target(), &keys, None).unwrap();
    assert_eq!(found.len(), 2);
    let r1 = walked(&found[0].outcome);
    assert!(r1.ok(), "{r1:?}");
    assert_eq!((r1.events_verified, r1.checkpoints_verified), (250, 2));
    assert_eq!(r1.unsealed, Some((201, 250)));
    let r2 = walked(&found[1].outcome);
    assert!(r2.ok(), "{r2:?}");
    assert_eq!(
        (r2.events_verified, r2.checkpoints_verified, r2.unsealed),
        (40, 1, None)
    );
    // Without n2's key, n2 is reported as not walked.
    let found = verify_nodes(&mut client, spec.target(), &keys[..1], None).unwrap();
    assert_eq!(found[1].outcome, NodeOutcome::NoKey);
    assert!(!found[1].ok());
}

/// `serve`'s path: prepared batches (plain and raw-backed events), epochs
/// ended by time at the next batch as well as by count; the chain
/// verifies and the global-order query gives the events back with their
/// parameters, filtered, in keyset pages.
#[test]
fn prepared_batches_close_epochs_by_time_and_read_back_in_the_global_order() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (spec, mut client) = connect(&pg);
    migrate(&mut client, spec.target()).unwrap();
    let key = dir.path().join("t.key");
    let mut node = NodeWriter::open(&spec, "t", &key, 1_000).unwrap();
    let plain: Vec<Event> = (0..20).map(event).collect();
    let raw: Vec<RawBackedEvent> = (20..30).map(raw_backed).collect();
    assert_eq!(
        node.append_prepared(&PreparedBatch::new(&plain)).unwrap(),
        (1, 20)
    );
    // Far under the count: without a time limit the epoch stays open.
    assert_eq!(node.epoch(), 0);
    node.set_epoch_interval(std::time::Duration::from_millis(1));
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(
        node.append_prepared(&PreparedBatch::new(&raw)).unwrap(),
        (21, 30)
    );
    assert_eq!(node.epoch(), 1, "the interval passed: sealed at that batch");
    // With no batch coming, the idle writer's turn ends the epoch by time.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let sealed = node.seal_if_due().unwrap().expect("due");
    assert_eq!((sealed.epoch, sealed.last_seq), (1, 30));
    assert!(node.seal_if_due().unwrap().is_none(), "nothing new to seal");
    assert!(node.seal_epoch().unwrap().is_none());
    let keys = [VerifyKey::read(&verify_key_path(&key)).unwrap()];
    let found = verify_nodes(&mut client, spec.target(), &keys, None).unwrap();
    let report = walked(&found[0].outcome);
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        (report.events_verified, report.checkpoints_verified),
        (30, 2)
    );

    let mut query = GlobalQuery::default();
    query.filter.limit = 7;
    let mut seen = Vec::new();
    loop {
        let page = query_global(&mut client, spec.target(), &query).unwrap();
        seen.extend(page.events.iter().map(|e| e.event.seq));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    let mut by_seq = seen.clone();
    by_seq.sort_unstable();
    assert_eq!(by_seq, (1..=30).collect::<Vec<u64>>());
    let first = query_global(
        &mut client,
        spec.target(),
        &GlobalQuery {
            filter: netaudit_store::Query {
                limit: 1,
                ..netaudit_store::Query::default()
            },
            ..GlobalQuery::default()
        },
    )
    .unwrap();
    assert_eq!(first.events[0].event.event, plain[0]);
    // The raw-backed rows come back with their parameters in the raw bytes.
    let mut filtered = GlobalQuery::default();
    filtered.filter.after_seq = Some(20);
    filtered.filter.code = Some("UI_*".into());
    filtered.node = Some("t".into());
    let page = query_global(&mut client, spec.target(), &filtered).unwrap();
    assert_eq!(page.events.len(), 10);
    assert!(page.events.iter().all(|e| e.event.params_in_raw));
    filtered.filter.code = Some("NO_SUCH_*".into());
    assert!(query_global(&mut client, spec.target(), &filtered)
        .unwrap()
        .events
        .is_empty());
}

#[test]
fn a_schema_newer_than_the_binary_is_refused() {
    let pg = PgCluster::start().unwrap();
    let (spec, mut client) = connect(&pg);
    let err = NodeWriter::open(&spec, "n1", Path::new("/nonexistent/k"), 10)
        .err()
        .unwrap();
    assert!(matches!(err, PgStoreError::NotMigrated { .. }), "{err}");
    migrate(&mut client, spec.target()).unwrap();
    let again = migrate(&mut client, spec.target()).unwrap();
    assert_eq!((again.from, again.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    client
        .execute("UPDATE netaudit.version SET version = 99", &[])
        .unwrap();
    let err = migrate(&mut client, spec.target()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, PgStoreError::SchemaNewer { found: 99, .. }),
        "{text}"
    );
    assert!(
        text.contains(&format!("127.0.0.1:{}/postgres as netaudit", pg.port()))
            && text.contains("version 99 is newer than this netaudit supports"),
        "{text}"
    );
    assert!(!text.contains(pg.password()), "{text}");
    let err = NodeWriter::open(&spec, "n1", Path::new("/nonexistent/k"), 10)
        .err()
        .unwrap();
    assert!(matches!(err, PgStoreError::SchemaNewer { .. }), "{err}");
}

#[test]
fn connection_errors_say_what_and_never_show_the_password() {
    let pg = PgCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The password from a file, and from the environment's value.
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{}\n", pg.password())).unwrap();
    let by_file = format!(
        "host=127.0.0.1 port={} user=netaudit dbname=postgres password_file={}",
        pg.port(),
        file.display()
    );
    ConnectionSpec::parse_with_env(&by_file, None)
        .unwrap()
        .connect()
        .unwrap();
    ConnectionSpec::parse_with_env(&pg.url_without_password(), Some(pg.password()))
        .unwrap()
        .connect()
        .unwrap();
    // Several hosts: the first one refuses, the second is the cluster.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let multi = format!(
        "postgres://netaudit:{}@127.0.0.1:{closed},127.0.0.1:{}/postgres?target_session_attrs=read-write",
        pg.password(),
        pg.port()
    );
    ConnectionSpec::parse_with_env(&multi, None)
        .unwrap()
        .connect()
        .unwrap();

    let wrong = "Wr0ng-Passw0rd";
    let err = ConnectionSpec::parse_with_env(
        &format!(
            "postgres://netaudit:{wrong}@127.0.0.1:{}/postgres",
            pg.port()
        ),
        None,
    )
    .unwrap()
    .connect()
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(matches!(err, PgStoreError::Authentication { .. }), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains(wrong), "{text}");

    let err = ConnectionSpec::parse_with_env(
        &format!("postgres://netaudit:{wrong}@127.0.0.1:{closed}/postgres"),
        None,
    )
    .unwrap()
    .connect()
    .err()
    .unwrap();
    let text = err.to_string();
    assert!(matches!(err, PgStoreError::Unreachable { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{closed}/postgres")),
        "{text}"
    );
    assert!(!text.contains(wrong), "{text}");
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it:
/// (CA PEM, server certificate PEM, server key PEM).
fn pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "netaudit test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn tls_to_the_database_checks_the_server_certificate() {
    use netaudit_pgstore::test_cluster::ClusterOptions;
    let (ca, cert, key) = pki();
    let pg = PgCluster::start_with(ClusterOptions {
        tls: Some((cert, key)),
        ..ClusterOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca).unwrap();
    let url = format!("{}?sslrootcert={}", pg.url(), ca_path.display());
    let spec = ConnectionSpec::parse_with_env(&url, None).unwrap();
    assert!(spec.uses_tls());
    let mut client = spec.connect().unwrap();
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl, "the connection is not encrypted");
    migrate(&mut client, spec.target()).unwrap();

    // A CA that did not sign the server's certificate: refused, and said so.
    let (other_ca, _, _) = pki();
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, other_ca).unwrap();
    let url = format!("{}?sslrootcert={}", pg.url(), other.display());
    let err = ConnectionSpec::parse_with_env(&url, None)
        .unwrap()
        .connect()
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(matches!(err, PgStoreError::Tls { .. }), "{text}");
    assert!(
        text.contains("TLS handshake failed") && !text.contains(pg.password()),
        "{text}"
    );
}
