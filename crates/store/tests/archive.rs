//! Retention with `archive_to`: each partition is exported to a signed
//! archive and read back before it is dropped; an archive verifies offline
//! with the verify key alone, and any changed byte fails it.

mod common;

use std::path::{Path, PathBuf};

use common::{config, events, open};
use netaudit_store::{
    read_archive_events, read_local_verify_key, verify, verify_archive, ArchiveDestination,
    ArchiveFormat, Query, RetentionPolicy, StoreError, VerifyKey,
};

/// 3,500 events in partitions of 1,000 (epochs of 10): three sealed and
/// indexed partitions and an open one.
fn store_with_partitions(dir: &Path) -> netaudit_store::Store {
    let store = open(dir);
    for b in 0..35 {
        store.append_batch(&events(b * 100, 100)).unwrap();
    }
    store.index_sealed().unwrap();
    store
}

fn policy(archive_to: PathBuf) -> RetentionPolicy {
    RetentionPolicy {
        max_age: None,
        max_events: Some(1500),
        archive_to: Some(ArchiveDestination::Folder(archive_to)),
        archive_format: ArchiveFormat::JsonLines,
    }
}

fn key(dir: &Path) -> VerifyKey {
    read_local_verify_key(&config(dir)).unwrap()
}

#[test]
fn retention_archives_verifies_and_only_then_drops() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_partitions(dir.path());
    let before = store
        .query(&Query {
            limit: 2000,
            ..Query::default()
        })
        .unwrap();
    let archives = dir.path().join("archive");
    let report = store
        .apply_retention(&policy(archives.clone()), 10)
        .unwrap();
    assert_eq!(report.partitions_dropped, 2, "{report:?}");
    assert_eq!(report.first_kept_seq, Some(2001));
    assert_eq!(report.archives.len(), 2);
    assert_eq!(report.waiting, None);
    assert_eq!(store.retention_waiting(), None);
    let store_id = store.store_id();
    drop(store);
    let key = key(dir.path());
    for (path, first, last) in [
        (Path::new(&report.archives[0]), 1, 1000),
        (Path::new(&report.archives[1]), 1001, 2000),
    ] {
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            netaudit_store::archive_file_name(&store_id, first, last)
        );
        let r = verify_archive(path, &key).unwrap();
        assert_eq!((r.first_seq, r.last_seq, r.events), (first, last, 1000));
        assert!(r.chain_recomputed);
        assert_eq!(r.checkpoints, if first == 1 { 100 } else { 101 });
    }
    // The archived events are the stored ones, field for field.
    let mut archived = read_archive_events(Path::new(&report.archives[0]), &key).unwrap();
    archived.extend(read_archive_events(Path::new(&report.archives[1]), &key).unwrap());
    let stored: Vec<_> = before
        .events
        .into_iter()
        .map(|e| (e.seq, e.event))
        .collect();
    let archived: Vec<_> = archived.into_iter().map(|e| (e.seq, e.event)).collect();
    assert_eq!(archived, stored);
    // The store itself still verifies, with the drop recorded.
    let c = config(dir.path());
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.removed_by_retention, Some((1, 2000)));
}

#[test]
fn retention_waits_while_the_archive_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_partitions(dir.path());
    // A folder that cannot be created (under a regular file), whoever runs
    // the test.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "").unwrap();
    let archives = blocker.join("archive");
    let report = store
        .apply_retention(&policy(archives.clone()), 10)
        .unwrap();
    assert_eq!(report.partitions_dropped, 0);
    let why = report.waiting.expect("retention says why it waits");
    assert!(
        why.contains("events 1..1000") && why.contains("not-a-folder"),
        "{why}"
    );
    assert_eq!(store.retention_waiting().as_deref(), Some(why.as_str()));
    assert_eq!(store.partitions().unwrap().len(), 4);
    assert_eq!(store.query(&Query::default()).unwrap().events[0].seq, 1);
    // Once the folder can be written, the same pass goes through.
    std::fs::remove_file(&blocker).unwrap();
    let report = store.apply_retention(&policy(archives), 10).unwrap();
    assert_eq!(report.partitions_dropped, 2);
    assert_eq!(store.retention_waiting(), None);
}

/// A full disk, for real and unprivileged: the temporary file the export
/// writes (the events, then the tar) is a symbolic link to `/dev/full`,
/// whose every write fails with ENOSPC, as a full file system's does.
#[test]
fn retention_waits_while_the_archive_folder_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_partitions(dir.path());
    let archives = dir.path().join("archive");
    std::fs::create_dir(&archives).unwrap();
    for temp in [".1.events.tmp", ".1.tar.tmp"] {
        std::os::unix::fs::symlink("/dev/full", archives.join(temp)).unwrap();
        let report = store
            .apply_retention(&policy(archives.clone()), 10)
            .unwrap();
        assert_eq!(report.partitions_dropped, 0, "{temp}");
        assert!(report.archives.is_empty());
        let why = report.waiting.expect("retention says why it waits");
        assert!(
            why.contains("events 1..1000 are due for retention but are kept")
                && why.contains(temp)
                && why.contains("No space left on device"),
            "{why}"
        );
        assert_eq!(store.retention_waiting().as_deref(), Some(why.as_str()));
        assert_eq!(store.partitions().unwrap().len(), 4);
        assert_eq!(store.query(&Query::default()).unwrap().events[0].seq, 1);
        // Nothing half-written is left behind, not even the temporary names.
        let left: Vec<_> = std::fs::read_dir(&archives)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{temp}: left {left:?}");
    }
    // Space again: the same pass goes through.
    let report = store.apply_retention(&policy(archives), 10).unwrap();
    assert_eq!(report.partitions_dropped, 2);
    assert_eq!(store.retention_waiting(), None);
}

#[test]
fn any_changed_byte_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_partitions(dir.path());
    let archives = dir.path().join("archive");
    let report = store.apply_retention(&policy(archives), 1).unwrap();
    drop(store);
    let key = key(dir.path());
    let original = std::fs::read(Path::new(&report.archives[0])).unwrap();
    let copy = dir.path().join("copy.tar");
    // The first header (name, mode, checksum), the manifest, the signature
    // member's header, 40 places spread over the rest, and the end blocks.
    let mut offsets = vec![0, 100, 150, 520, 1030, 1600];
    offsets.extend((0..original.len()).step_by(original.len() / 40 + 1));
    offsets.extend([original.len() - 700, original.len() - 1]);
    for offset in offsets {
        let mut changed = original.clone();
        changed[offset] ^= 0x20;
        std::fs::write(&copy, &changed).unwrap();
        match verify_archive(&copy, &key) {
            Err(StoreError::Archive { .. }) => {}
            other => panic!("byte {offset} of {} changed: {other:?}", original.len()),
        }
    }
    std::fs::write(&copy, &original).unwrap();
    assert!(verify_archive(&copy, &key).is_ok());
    // Another store's verify key is refused.
    let other = tempfile::tempdir().unwrap();
    drop(open(other.path()));
    let err = verify_archive(
        &copy,
        &read_local_verify_key(&config(other.path())).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("the verify key of store"), "{err}");
}

/// The syslog format: the JSON lines and, in `events.syslog.gz`, one RFC
/// 5424 line per event as the syslog outputs write the structured format;
/// the signature covers them (any changed byte of that member fails).
#[test]
fn the_syslog_format_adds_rfc5424_lines_under_the_signature() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_partitions(dir.path());
    let expected: Vec<String> = store
        .query(&Query {
            limit: 1000,
            ..Query::default()
        })
        .unwrap()
        .events
        .into_iter()
        .map(|stored| {
            let mut event = stored.event;
            let mut line = Vec::new();
            netaudit_syslog::write_forwarded(
                stored.seq,
                &mut event,
                netaudit_syslog::ForwardFormat::Structured,
                &mut line,
            );
            String::from_utf8(line).unwrap()
        })
        .collect();
    let mut syslog = policy(dir.path().join("archive"));
    syslog.archive_format = ArchiveFormat::Syslog;
    let report = store.apply_retention(&syslog, 1).unwrap();
    drop(store);
    let archive = PathBuf::from(&report.archives[0]);
    let key = key(dir.path());
    let verified = verify_archive(&archive, &key).unwrap();
    assert!(verified.syslog_lines && verified.chain_recomputed);
    assert_eq!(verified.events, 1000);

    // The member, read with nothing but tar and gzip.
    let original = std::fs::read(&archive).unwrap();
    let mut tar = tar::Archive::new(original.as_slice());
    let mut names = Vec::new();
    let mut lines = String::new();
    let mut member_at = 0;
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name == "events.syslog.gz" {
            member_at = entry.raw_file_position() as usize;
            flate2::read::GzDecoder::new(&mut entry)
                .read_to_string(&mut lines)
                .unwrap();
        }
        names.push(name);
    }
    assert_eq!(
        names,
        [
            "MANIFEST",
            "MANIFEST.sig",
            "checkpoints.jsonl",
            "events.jsonl.gz",
            "events.syslog.gz"
        ]
    );
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines, expected);
    assert!(
        lines[0].starts_with("<") && lines[0].contains("[meta sequenceId=\"1\"]"),
        "{}",
        lines[0]
    );

    // One changed byte in that member fails verification.
    let copy = dir.path().join("copy.tar");
    for offset in [member_at, member_at + 40, original.len() - 1030] {
        let mut changed = original.clone();
        changed[offset] ^= 0x20;
        std::fs::write(&copy, &changed).unwrap();
        match verify_archive(&copy, &key) {
            Err(StoreError::Archive { .. }) => {}
            other => panic!("byte {offset} changed: {other:?}"),
        }
    }
    // Without its syslog member (the rest intact), the archive is refused too:
    // the manifest lists it.
    let cut = dir.path().join("cut.tar");
    let mut builder = tar::Builder::new(Vec::new());
    let mut tar = tar::Archive::new(original.as_slice());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() != "events.syslog.gz" {
            let header = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            builder.append(&header, data.as_slice()).unwrap();
        }
    }
    std::fs::write(&cut, builder.into_inner().unwrap()).unwrap();
    let err = verify_archive(&cut, &key).unwrap_err().to_string();
    assert!(err.contains("events.syslog.gz"), "{err}");
}
