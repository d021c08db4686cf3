//! A store written by an earlier build (tests/data/golden-store/, see its
//! README) still verifies, reads back event for event, and takes appends
//! from this build that verify too: a change to the append path (how rows
//! are inserted, how the chain value is computed) must keep the format.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::events;
use netaudit_store::{read_local_verify_key, verify, AppendEvent, Query, Store, StoreConfig};
use netaudit_syslog::{ParseOptions, RawBackedEvent};

/// Batch sizes of the golden store, in order: alternating plain events
/// (encoding version 1) and received lines (version 2), sizes around the
/// writer's grouping of rows (1, a few, and runs longer than a group).
const BATCHES: [usize; 8] = [1, 5, 33, 70, 2, 64, 17, 128];

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden-store");

fn golden_config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir.join("netaudit.db"));
    c.epoch_events = 25;
    c.partition_events = 100;
    c.background = false;
    c
}

/// Received Junos lines, as `netaudit serve` stores them.
fn lines(from: usize, count: usize) -> Vec<RawBackedEvent> {
    let opts = ParseOptions::with_fixed_year(2026);
    (from..from + count)
        .map(|i| {
            let line = format!(
                "<189>1 2026-11-23T00:{:02}:{:02}.000Z mx-core{} mgd {i} UI_COMMIT \
                 [junos@2636.1.1.1.2.18 username=\"u{i}\" command=\"commit\" message=\"a \\\"b\\\" ]\"] \
                 User 'u{i}' requested 'commit' operation",
                (i / 60) % 60,
                i % 60,
                i % 3
            );
            netaudit_syslog::parse(line.as_bytes(), &opts)
                .unwrap()
                .to_raw_backed_event(1_800_000_000_000_000_000 + i as i64, line.as_bytes())
        })
        .collect()
}

/// The golden store's batches, as written.
fn batches() -> Vec<Vec<RawBackedEvent>> {
    let mut from = 0;
    BATCHES
        .iter()
        .enumerate()
        .map(|(n, &size)| {
            let batch = if n % 2 == 0 {
                events(from as u64, size as u64)
                    .into_iter()
                    .map(RawBackedEvent::from)
                    .collect()
            } else {
                lines(from, size)
            };
            from += size;
            batch
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "README.md" {
            std::fs::copy(entry.path(), &target).unwrap();
            // A checkout gives every file 0644; the store wants its files
            // private, as it made them.
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn verify_ok(dir: &Path, events: u64) {
    let config = golden_config(dir);
    let key = read_local_verify_key(&config).unwrap();
    let report = verify(&config.path, &key, Some(&config.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, events);
}

#[test]
fn a_store_written_by_an_earlier_build_verifies_reads_back_and_takes_appends() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(GOLDEN), dir.path());
    let expected: Vec<RawBackedEvent> = batches().into_iter().flatten().collect();
    let total = expected.len() as u64;
    verify_ok(dir.path(), total);

    let store = Store::open(golden_config(dir.path())).unwrap();
    let page = store
        .query(&Query {
            limit: 10_000,
            ..Query::default()
        })
        .unwrap();
    assert_eq!(page.events.len(), expected.len());
    for (n, (stored, want)) in page.events.iter().zip(&expected).enumerate() {
        assert_eq!(stored.seq, n as u64 + 1);
        assert_eq!(stored.params_in_raw, want.params_in_raw(), "event {n}");
        let mut want = want.event().clone();
        if stored.params_in_raw {
            want.params = netaudit_syslog::params_of(&want.raw).unwrap();
        }
        assert_eq!(stored.event, want, "event {n}");
    }

    // This build appends after them, across epochs and a partition roll.
    for batch in batches() {
        store.append_batch(&batch).unwrap();
    }
    drop(store);
    verify_ok(dir.path(), 2 * total);
}

/// Writes the golden store into `NETAUDIT_GOLDEN_OUT` (an empty folder).
/// Only when the format changes on purpose: the point of the files is that
/// an earlier build wrote them (tests/data/golden-store/README.md).
#[test]
#[ignore = "writes tests/data/golden-store; run by hand"]
fn write_golden_store() {
    let out = std::path::PathBuf::from(std::env::var("NETAUDIT_GOLDEN_OUT").unwrap());
    let store = Store::open(golden_config(&out)).unwrap();
    for batch in batches() {
        store.append_batch(&batch).unwrap();
    }
}
