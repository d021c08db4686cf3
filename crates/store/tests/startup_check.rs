//! `check_store`, the start-up check `serve` runs before opening the store:
//! a lost `-wal` of the open partition, a sealed partition that lost events
//! and a changed last chain value are found and named; an intact store,
//! also one left by a crash, passes.

mod common;

use std::path::Path;

use netaudit_store::{check_store, partitions_dir, StoreConfig};

use common::*;

/// A store of 2,500 events (two sealed partitions and an open one) whose
/// writer is gone without closing anything, as after SIGKILL: the files
/// are copied to `to` while it still holds them open.
fn crashed_store(to: &Path) {
    let live = tempfile::tempdir().unwrap();
    let store = open(live.path());
    for i in 0..25 {
        store.append_batch(&events(i * 100, 100)).unwrap();
    }
    copy_dir(live.path(), to);
    std::mem::forget(store);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn check(dir: &Path) -> Vec<String> {
    check_store(&StoreConfig::new(dir.join("netaudit.db")))
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn open_partition_file(dir: &Path) -> std::path::PathBuf {
    partition_of(dir, 2_500)
}

#[test]
fn an_intact_store_and_a_crashed_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    assert!(check(&dir.path().join("nothing-yet")).is_empty());
    crashed_store(dir.path());
    let wal = netaudit_store_wal(&open_partition_file(dir.path()));
    assert!(
        wal.exists(),
        "the open partition keeps its -wal after a crash"
    );
    assert_eq!(check(dir.path()), Vec::<String>::new());
    // And the store opens and verifies after the check.
    let store = open(dir.path());
    assert_eq!(store.last_seq(), 2_500);
    store.close().unwrap();
    assert_eq!(check(dir.path()), Vec::<String>::new());
}

fn netaudit_store_wal(db: &Path) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    s.into()
}

#[test]
fn a_deleted_or_truncated_wal_of_the_open_partition_is_found() {
    for cut in [None, Some(4096u64)] {
        let dir = tempfile::tempdir().unwrap();
        crashed_store(dir.path());
        let part = open_partition_file(dir.path());
        let wal = netaudit_store_wal(&part);
        match cut {
            None => std::fs::remove_file(&wal).unwrap(),
            Some(len) => std::fs::OpenOptions::new()
                .write(true)
                .open(&wal)
                .unwrap()
                .set_len(len)
                .unwrap(),
        }
        let found = check(dir.path());
        let name = part.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            found
                .iter()
                .any(|d| d.starts_with(&format!("partition {name}"))
                    && d.contains("-wal")
                    && d.contains("-shm index")),
            "{cut:?}: {found:?}"
        );
    }
}

#[test]
fn a_sealed_partition_that_lost_events_or_a_changed_seal_is_found() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        for i in 0..25 {
            store.append_batch(&events(i * 100, 100)).unwrap();
        }
        store.close().unwrap();
    }
    assert_eq!(check(dir.path()), Vec::<String>::new());
    let first = partition_of(dir.path(), 1);
    let name = first.file_name().unwrap().to_str().unwrap().to_owned();
    sql(&first, "DELETE FROM events WHERE seq >= 998");
    let found = check(dir.path());
    assert_eq!(
        found,
        vec![format!(
            "partition {name}, events 998..1000: the catalog lists them in this sealed partition but they are gone"
        )],
    );

    // The last event of the second partition carries another chain value.
    let second = partition_of(dir.path(), 1_500);
    let name = second.file_name().unwrap().to_str().unwrap().to_owned();
    sql(
        &second,
        "UPDATE events SET chain = zeroblob(32) WHERE seq = 2000",
    );
    let found = check(dir.path());
    assert!(
        found.contains(&format!(
            "partition {name}, event 2000: its chain value is not the one the checkpoint sealed"
        )),
        "{found:?}"
    );
    // A sealed partition file gone.
    std::fs::remove_file(&second).unwrap();
    let found = check(dir.path());
    assert!(
        found.contains(&format!(
            "partition {name}, events 1001..2000: the partition file is missing"
        )),
        "{found:?}"
    );
    assert!(partitions_dir(&dir.path().join("netaudit.db")).exists());
}
