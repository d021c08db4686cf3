//! Opening, appending, cursors, partitions, queries, retention and bad input.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{config, event, events, open};
use netaudit_event::{Event, Severity};
use netaudit_store::{
    read_local_verify_key, verify, KeyProblem, Order, PartitionState, Query, Reader,
    RetentionPolicy, Store, StoreConfig, StoreError,
};

#[test]
fn sequence_numbers_continue_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.append_batch(&events(0, 3)).unwrap(), vec![1, 2, 3]);
    assert_eq!(store.append_batch::<Event>(&[]).unwrap(), Vec::<u64>::new());
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.last_seq(), 3);
    assert_eq!(store.append_batch(&events(3, 2)).unwrap(), vec![4, 5]);
    let page = store.query(&Query::default()).unwrap();
    assert_eq!(page.events.len(), 5);
    assert_eq!(page.events[3].event, event(3));
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = open(dir.path());
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("netaudit.key"), "{err}");
}

#[test]
fn cursors_advance_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append_batch(&events(0, 10)).unwrap();
    assert_eq!(store.cursor("syslog-a").unwrap(), 0);
    store.advance_cursor("syslog-a", 0, 4).unwrap();
    let err = store.advance_cursor("syslog-a", 0, 6).err().unwrap();
    assert!(
        matches!(err, StoreError::CursorConflict { found: 4, .. }),
        "{err}"
    );
    let err = store.advance_cursor("syslog-a", 4, 11).err().unwrap();
    assert!(
        matches!(err, StoreError::CursorBeyondEnd { last: 10, .. }),
        "{err}"
    );
    store.advance_cursor("syslog-a", 4, 10).unwrap();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.cursor("syslog-a").unwrap(), 10);
    assert_eq!(store.cursors().unwrap(), vec![("syslog-a".to_string(), 10)]);
}

#[test]
fn partitions_roll_get_indexed_and_queries_merge_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for b in 0..25 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    assert_eq!(store.index_sealed().unwrap(), 2);
    let parts = store.partitions().unwrap();
    let states: Vec<_> = parts.iter().map(|p| (p.first_seq, p.state)).collect();
    assert_eq!(
        states,
        vec![
            (1, PartitionState::Indexed),
            (1001, PartitionState::Indexed),
            (2001, PartitionState::Open)
        ]
    );
    // Filters, against a brute-force reference over the same events.
    let all: Vec<_> = (0..2500u64).map(|i| (i + 1, event(i))).collect();
    let q = Query {
        user: Some("admin".into()),
        code: Some("JUNOSCOPE_LOGIN_*".into()),
        min_severity: Some(Severity::Error),
        limit: 10_000,
        ..Query::default()
    };
    let got: Vec<u64> = store
        .query(&q)
        .unwrap()
        .events
        .iter()
        .map(|e| e.seq)
        .collect();
    let want: Vec<u64> = all
        .iter()
        .filter(|(_, e)| {
            e.user.as_deref() == Some("admin")
                && e.code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("JUNOSCOPE_LOGIN_"))
                && e.severity.is_some_and(|s| s.at_least(Severity::Error))
        })
        .map(|(s, _)| *s)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // Time window and text.
    let t0 = event(0).time_ns.unwrap();
    let q = Query {
        since_ns: Some(t0 + 990 * 1_000_000_000),
        until_ns: Some(t0 + 1010 * 1_000_000_000),
        text: Some("EVENT NUMBER 100".into()),
        ..Query::default()
    };
    let got: Vec<u64> = store
        .query(&q)
        .unwrap()
        .events
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(
        got,
        vec![1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010]
    );
    // Host and device.
    let q = Query {
        host: Some("router3".into()),
        device: Some("dev5".into()),
        limit: 10_000,
        ..Query::default()
    };
    let got = store.query(&q).unwrap().events;
    let want = all
        .iter()
        .filter(|(_, e)| {
            e.host.as_deref() == Some("router3") && e.device.as_deref() == Some("dev5")
        })
        .count();
    assert_eq!(got.len(), want);
    // The partial indexes on user and device serve the store's equality
    // filters (the query's own WHERE shape).
    let first = &parts[0].path;
    let conn = rusqlite::Connection::open(first).unwrap();
    for (column, index) in [("user", "events_user_set"), ("device", "events_device_set")] {
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE 1 AND {column} = ? \
                 ORDER BY seq DESC LIMIT ?"
            ))
            .unwrap()
            .query_map(["x", "10"], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|p| p.contains(index)), "{column}: {plan:?}");
    }
}

#[test]
fn paging_is_stable_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for b in 0..12 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    store.index_sealed().unwrap();
    for order in [Order::Ascending, Order::Descending] {
        let mut seen = Vec::new();
        let mut q = Query {
            user: Some("regress".into()),
            order,
            limit: 37,
            ..Query::default()
        };
        for _ in 0..100 {
            let page = store.query(&q).unwrap();
            seen.extend(page.events.iter().map(|e| e.seq));
            match (page.next, order) {
                (None, _) => break,
                (Some(n), Order::Ascending) => q.after_seq = Some(n),
                (Some(n), Order::Descending) => q.before_seq = Some(n),
            }
        }
        if order == Order::Descending {
            seen.reverse();
        }
        let want: Vec<u64> = (0..1200u64).filter(|i| i % 4 == 1).map(|i| i + 1).collect();
        assert_eq!(seen, want, "{order:?}");
    }
}

#[test]
fn retention_drops_old_partitions_and_verification_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for b in 0..35 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    store.index_sealed().unwrap();
    let policy = RetentionPolicy {
        max_age: None,
        max_events: Some(1500),
        archive_to: None,
        ..RetentionPolicy::default()
    };
    let report = store.apply_retention(&policy, 1).unwrap();
    assert_eq!(
        (report.partitions_dropped, report.first_kept_seq),
        (1, Some(1001))
    );
    let report = store.apply_retention(&policy, 10).unwrap();
    assert_eq!(
        (report.partitions_dropped, report.first_kept_seq),
        (1, Some(2001))
    );
    let page = store.query(&Query::default()).unwrap();
    assert_eq!(page.events[0].seq, 2001);
    drop(store);
    let c = config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.removed_by_retention, Some((1, 2000)));
    assert_eq!(report.events_verified, 1500);
    // Removing more at the start without a retention record is truncation.
    let parts = netaudit_store::partitions_dir(&c.path);
    rusqlite::Connection::open(&c.path)
        .unwrap()
        .execute_batch("DELETE FROM retention")
        .unwrap();
    let report = verify(&c.path, &key, None).unwrap();
    assert_eq!(
        report.failure.unwrap().kind,
        netaudit_store::BreakKind::Truncated
    );
    assert!(parts.exists());
}

#[test]
fn background_thread_indexes_sealed_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.background = true;
    let store = Store::open(c).unwrap();
    let unindexed = store.unindexed_partitions();
    // One short of full: the background round rolls a full partition on
    // its own, so a full one could already be sealed here on a slow machine.
    store.append_batch(&events(0, 999)).unwrap();
    assert_eq!(unindexed.load(Ordering::Relaxed), 0);
    // This batch does not fit: the append itself seals the first partition.
    store.append_batch(&events(999, 10)).unwrap();
    let mut indexed = false;
    for _ in 0..100 {
        if store.partitions().unwrap()[0].state == PartitionState::Indexed
            && unindexed.load(Ordering::Relaxed) == 0
        {
            indexed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(indexed, "partitions {:?}", store.partitions().unwrap());
}

#[test]
fn building_indexes_now_while_the_background_indexer_runs() {
    // `index_sealed` interrupts the idle-priority indexer where both want
    // the same partition; every partition ends indexed once, the chain intact.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.background = true;
    c.partition_events = 100;
    let store = Store::open(c).unwrap();
    for i in 0..6 {
        store.append_batch(&events(i * 100, 100)).unwrap();
    }
    store.index_sealed().unwrap();
    // (The background thread may seal the full sixth partition meanwhile.)
    let parts = store.partitions().unwrap();
    assert!(parts.len() >= 6, "{parts:?}");
    for p in &parts[..5] {
        assert_eq!(p.state, PartitionState::Indexed, "{p:?}");
        assert_eq!(p.rows, Some(100));
    }
    let unindexed = store.unindexed_partitions();
    for _ in 0..100 {
        if unindexed.load(Ordering::Relaxed) == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(unindexed.load(Ordering::Relaxed), 0);
    assert_eq!(store.background_error(), None);
    let page = store
        .query(&netaudit_store::Query {
            user: Some(events(432, 1)[0].user.clone().unwrap().to_string()),
            after_seq: Some(400),
            ..netaudit_store::Query::default()
        })
        .unwrap();
    assert!(page.events.iter().any(|e| e.seq == 433));
    drop(store);
    let c = config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
}

#[test]
fn time_based_epochs_seal_idle_stores() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.epoch_events = 1_000_000;
    c.epoch_interval = Duration::from_millis(200);
    c.background = true;
    let store = Store::open(c).unwrap();
    store.append_batch(&events(0, 3)).unwrap();
    let mut sealed = false;
    for _ in 0..100 {
        if store.epoch() >= 2 {
            sealed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sealed, "epoch {}", store.epoch());
    drop(store);
    let c = config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.unsealed, None);
}

#[test]
fn foreign_database_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netaudit.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("netaudit.db"), "{err}");
}

#[test]
fn garbage_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("netaudit.db"), vec![0x42u8; 8192]).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
    let err = Reader::open(&dir.path().join("netaudit.db")).err().unwrap();
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let path = dir.path().join("netaudit.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn missing_or_wrong_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let c = config(dir.path());
    let key = c.key_path();
    let saved = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap().to_string();
    assert!(
        err.contains("netaudit.key") && err.contains("missing"),
        "{err}"
    );
    // A key file of another store.
    let other = tempfile::tempdir().unwrap();
    drop(open(other.path()));
    std::fs::copy(config(other.path()).key_path(), &key).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap().to_string();
    assert!(err.contains("belongs to store"), "{err}");
    // A corrupt key file.
    std::fs::write(&key, b"garbage").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap().to_string();
    assert!(err.contains("not a netaudit key file"), "{err}");
    std::fs::write(&key, saved).unwrap();
    drop(open(dir.path()));
}

/// Key and consistency errors carry typed reasons a caller can match on;
/// their text still says what and where.
#[test]
fn key_errors_have_typed_reasons() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let c = config(dir.path());
    let key = c.key_path();
    // Readable by others.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(
        matches!(
            &err,
            StoreError::Key { path, reason: KeyProblem::ReadableByOthers { mode } }
                if path == &key && mode & 0o777 == 0o644
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: key file: mode 0644 lets other users read it; run chmod 600 on it",
            key.display()
        )
    );
    // The wrong size.
    std::fs::write(&key, b"garbage").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Key {
                reason: KeyProblem::WrongSize { size: 7, .. },
                ..
            }
        ),
        "{err:?}"
    );
    // Missing.
    std::fs::remove_file(&key).unwrap();
    let err = Store::open(config(dir.path())).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Key {
                reason: KeyProblem::Missing,
                ..
            }
        ),
        "{err:?}"
    );
    // A verify key that is not one.
    let bad = dir.path().join("bad.verify");
    for (text, expected) in [
        ("hello\n", KeyProblem::NotAVerifyKey),
        (
            "netaudit-verify-key v1\nstore-id 00\n",
            KeyProblem::MissingField { field: "store-id" },
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        match netaudit_store::VerifyKey::read(&bad) {
            Err(StoreError::Key { path, reason }) => {
                assert_eq!(path, bad);
                assert_eq!(reason, expected);
            }
            other => panic!("{text:?}: {:?}", other.err()),
        }
    }
    std::fs::write(&bad, "netaudit-verify-key v1\nstore-id zz\n").unwrap();
    let err = netaudit_store::VerifyKey::read(&bad).err().unwrap();
    assert!(
        matches!(&err, StoreError::Key { reason: KeyProblem::BadHex { line: 2, field, .. }, .. } if field == "store-id"),
        "{err:?}"
    );
    assert!(err.to_string().contains("line 2: store-id: "), "{err}");
}

#[test]
fn unwritable_directory_gives_a_clear_error() {
    // Root ignores permission bits, so as root use a place no one can
    // create directories in (procfs); otherwise a mode 0500 directory.
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let base = if root {
        std::path::PathBuf::from("/proc/self/netaudit-test")
    } else {
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        ro
    };
    let err = Store::open(StoreConfig::new(base.join("data/netaudit.db")))
        .err()
        .unwrap()
        .to_string();
    let expected = base.join("data");
    assert!(
        err.contains(expected.to_str().unwrap()) && err.contains("create data directory"),
        "{err}"
    );
}

#[test]
fn retention_by_age_keeps_the_open_partition() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for b in 0..25 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    store.index_sealed().unwrap();
    let policy = RetentionPolicy {
        max_age: Some(Duration::ZERO),
        max_events: None,
        archive_to: None,
        ..RetentionPolicy::default()
    };
    let report = store.apply_retention(&policy, 100).unwrap();
    assert_eq!(
        (
            report.partitions_dropped,
            report.events_dropped,
            report.first_kept_seq
        ),
        (2, 2000, Some(2001))
    );
    assert_eq!(store.partitions().unwrap().len(), 1);
    assert_eq!(store.query(&Query::default()).unwrap().events[0].seq, 2001);
    assert!(store.background_error().is_none());
}

#[test]
fn a_failed_batch_leaves_nothing_behind() {
    // A trigger makes the database refuse the second event of a batch, as
    // a full disk would: the whole batch is rolled back, the error names the
    // file, and the store continues from where it was.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append_batch(&events(0, 5)).unwrap();
    let part = common::partition_of(dir.path(), 1);
    common::sql(
        &part,
        "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.seq = 7 \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
    );
    let err = store.append_batch(&events(5, 3)).err().unwrap().to_string();
    assert!(
        err.contains("disk is full") && err.contains(".parts/"),
        "{err}"
    );
    assert_eq!(store.last_seq(), 5);
    assert_eq!(store.query(&Query::default()).unwrap().events.len(), 5);
    common::sql(&part, "DROP TRIGGER refuse;");
    assert_eq!(store.append_batch(&events(5, 3)).unwrap(), vec![6, 7, 8]);
    drop(store);
    let c = config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    assert!(verify(&c.path, &key, None).unwrap().ok());
}

#[test]
fn clean_close_seals_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.append_batch(&events(0, 25)).unwrap();
    store.close().unwrap();
    let c = config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!((report.sealed_through, report.unsealed), (25, None));
    // An epoch that ended exactly with a batch is sealed at once.
    let store = open(dir.path());
    store.append_batch(&events(25, 10)).unwrap();
    assert_eq!(store.epoch(), 4);
}

#[test]
fn summaries_read_each_partition_once_and_follow_the_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for b in 0..15 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    assert_eq!(store.index_sealed().unwrap(), 1);
    let t0 = event(0).time_ns.unwrap();
    let since = t0 + 500 * 1_000_000_000;
    // Each partition from the start, then the open one again after more
    // events: every event at or after `since` seen exactly once.
    let mut seen = Vec::new();
    let mut through = Vec::new();
    for part in store.partitions().unwrap() {
        let last = store
            .summaries(&part, part.first_seq - 1, since, |s| {
                seen.push((s.seq, s.ts, s.code.map(str::to_string), s.severity))
            })
            .unwrap();
        through.push((part.clone(), last));
    }
    assert_eq!(through[0].1, 1000);
    assert_eq!(through[1].1, 1500);
    store.append_batch(&events(1500, 100)).unwrap();
    let (open_part, after) = &through[1];
    let again = store
        .summaries(open_part, *after, since, |s| {
            seen.push((s.seq, s.ts, s.code.map(str::to_string), s.severity))
        })
        .unwrap();
    assert_eq!(again, 1600);
    // Nothing new: nothing read, the same bound.
    let mut none = 0;
    assert_eq!(
        store
            .summaries(open_part, 1600, since, |_| none += 1)
            .unwrap(),
        1600
    );
    assert_eq!(none, 0);
    let want: Vec<_> = (0..1600u64)
        .map(|i| (i + 1, event(i)))
        .filter(|(_, e)| e.time_ns.unwrap() >= since)
        .map(|(seq, e)| {
            (
                seq,
                e.time_ns.unwrap(),
                e.code.as_deref().map(str::to_string),
                e.severity.map(|s| s.code()),
            )
        })
        .collect();
    assert_eq!(seen, want);
}
