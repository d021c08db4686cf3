//! The PostgreSQL store's figures (docs/benchmarks.md): `store copy` of an
//! embedded store of N events, a node's appends in batches, and verify, all
//! against a private durable PostgreSQL (fsync and synchronous_commit on)
//! started on a loopback port and stopped by PID at the end.
//!
//! cargo run --release -p netaudit-pgstore --features test-cluster --example pg_rate -- [EVENTS] [BATCH]

use std::time::Instant;

use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};
use netaudit_pgstore::{
    copy_sqlite_store, migrate, verify_key_path, verify_nodes, ConnectionSpec, NodeWriter,
    DEFAULT_EPOCH_EVENTS,
};
use netaudit_store::{read_local_verify_key, Store, StoreConfig, VerifyKey};
use netaudit_syslog::RawBackedEvent;

mod common;
use common::event;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let batch: u64 = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let pg = PgCluster::start_with(ClusterOptions {
        durable: true,
        ..ClusterOptions::default()
    })?;
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None)?;
    let mut client = spec.connect()?;
    migrate(&mut client, spec.target())?;

    // The embedded store to copy (its own rate, for comparison).
    let config = StoreConfig::new(dir.path().join("netaudit.db"));
    let started = Instant::now();
    let store = Store::open(config.clone())?;
    let mut i = 0;
    while i < events {
        let n = batch.min(events - i);
        let chunk: Vec<RawBackedEvent> = (i..i + n).map(event).collect();
        store.append_batch(&chunk)?;
        i += n;
    }
    store.close()?;
    let sqlite_secs = started.elapsed().as_secs_f64();
    println!(
        "sqlite append: {events} events in {sqlite_secs:.2} s = {:.0} events/s",
        events as f64 / sqlite_secs
    );

    let summary = copy_sqlite_store(
        &config.path,
        &mut client,
        spec.target(),
        "copied",
        |_, _| {},
    )?;
    let copy_secs = summary.elapsed.as_secs_f64();
    println!(
        "store copy:    {} events in {copy_secs:.2} s = {:.0} events/s",
        summary.events,
        summary.events as f64 / copy_secs
    );
    let key = read_local_verify_key(&config)?;
    let started = Instant::now();
    let found = verify_nodes(&mut client, spec.target(), &[key], Some("copied"))?;
    let verify_secs = started.elapsed().as_secs_f64();
    assert!(found.iter().all(|n| n.ok()), "the copy does not verify");
    println!(
        "verify copy:   {events} events in {verify_secs:.2} s = {:.0} events/s",
        events as f64 / verify_secs
    );

    let key_path = dir.path().join("node.key");
    let mut node = NodeWriter::open(&spec, "n1", &key_path, DEFAULT_EPOCH_EVENTS)?;
    let started = Instant::now();
    let mut i = 0;
    while i < events {
        let n = batch.min(events - i);
        let chunk: Vec<RawBackedEvent> = (i..i + n).map(event).collect();
        node.append_batch(&chunk)?;
        i += n;
    }
    node.seal_epoch()?;
    let append_secs = started.elapsed().as_secs_f64();
    println!(
        "pg append:     {events} events in {append_secs:.2} s = {:.0} events/s (batches of {batch})",
        events as f64 / append_secs
    );
    drop(node);
    let key = VerifyKey::read(&verify_key_path(&key_path))?;
    let found = verify_nodes(&mut client, spec.target(), &[key], Some("n1"))?;
    assert!(
        found.iter().all(|n| n.ok()),
        "the node's chain does not verify"
    );
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('netaudit.events')", &[])?
        .get(0);
    println!(
        "events table with indexes: {:.0} bytes per event",
        size as f64 / (2 * events) as f64
    );
    Ok(())
}
