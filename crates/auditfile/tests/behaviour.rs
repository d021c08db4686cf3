//! Behaviour of `AuditFile` with small limits: rotation, archives, the total bound, both
//! full-storage policies, recovery on open and bad input.

mod common;

use std::fs;
use std::io::Write;

use common::{all_lines, as_bytes, config, content, disk_bytes, numbered};
use flate2::write::GzEncoder;
use flate2::Compression;
use netaudit_auditfile::{
    AuditFile, AuditFileError, FullCause, OnFull, RemovalReason, WriteOutcome,
};

#[test]
fn a_line_that_exactly_fits_stays_and_one_byte_over_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AuditFile::open(config(dir.path(), 20, 3, OnFull::Stop)).unwrap();
    // 10 + 10 bytes: exactly max_file_bytes, no rotation.
    let out = f.write_batch(&[b"123456789", b"abcdefghi"]).unwrap();
    assert_eq!(out.rotations(), 0);
    assert_eq!(f.usage().current_bytes, 20);
    assert_eq!(f.usage().archive_files, 0);
    // One more byte (an empty line is one LF) does not fit: rotate first.
    let out = f.write_batch(&[b""]).unwrap();
    assert_eq!(out.rotations(), 1);
    assert_eq!(
        content(&dir.path().join("messages.0.gz")),
        b"123456789\nabcdefghi\n"
    );
    assert_eq!(fs::read(dir.path().join("messages")).unwrap(), b"\n");

    // One byte over from a partly filled file: 10 + 11 > 20.
    let dir = tempfile::tempdir().unwrap();
    let mut f = AuditFile::open(config(dir.path(), 20, 3, OnFull::Stop)).unwrap();
    let out = f.write_batch(&[b"123456789", b"abcdefghij"]).unwrap();
    assert_eq!(out.rotations(), 1);
    assert_eq!(content(&dir.path().join("messages.0.gz")), b"123456789\n");
    assert_eq!(
        fs::read(dir.path().join("messages")).unwrap(),
        b"abcdefghij\n"
    );
}

#[test]
fn n_archives_are_kept_newest_at_index_0_and_shifted() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AuditFile::open(config(dir.path(), 30, 3, OnFull::OverwriteOldest)).unwrap();
    // Lines of 29 bytes + LF: one line per file, so every line after the first rotates.
    let lines = numbered(0, 6, 29);
    let out = f.write_batch(&as_bytes(&lines)).unwrap();
    assert_eq!(out.rotations(), 5);
    // Lines 0 and 1 were pushed out of the 3 slots, oldest first.
    let removed: Vec<_> = out.removed().iter().map(|r| r.reason).collect();
    assert_eq!(removed, [RemovalReason::ArchiveCount; 2]);
    assert!(out
        .removed()
        .iter()
        .all(|r| r.path.ends_with("messages.2.gz")));
    for (index, line) in [(0, &lines[4]), (1, &lines[3]), (2, &lines[2])] {
        let path = dir.path().join(format!("messages.{index}.gz"));
        assert_eq!(content(&path), format!("{line}\n").as_bytes());
    }
    assert!(!dir.path().join("messages.3.gz").exists());
    assert_eq!(all_lines(dir.path(), "messages"), lines[2..]);
    assert_eq!(f.usage().archive_files, 3);
}

#[test]
fn uncompressed_archives_are_named_without_gz() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 30, 2, OnFull::OverwriteOldest);
    cfg.compress = false;
    let mut f = AuditFile::open(cfg).unwrap();
    let lines = numbered(0, 4, 29);
    f.write_batch(&as_bytes(&lines)).unwrap();
    assert_eq!(
        fs::read(dir.path().join("messages.0")).unwrap(),
        format!("{}\n", lines[2]).as_bytes()
    );
    assert_eq!(
        fs::read(dir.path().join("messages.1")).unwrap(),
        format!("{}\n", lines[1]).as_bytes()
    );
    assert_eq!(all_lines(dir.path(), "messages"), lines[1..]);
}

#[test]
fn archives_decompress_to_exactly_the_lines_written_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 200, 50, OnFull::Stop);
    let lines = numbered(0, 120, 37);
    for chunk in lines.chunks(17) {
        // A fresh open per batch: the current file is continued, never restarted.
        let mut f = AuditFile::open(cfg.clone()).unwrap();
        assert!(f.recovery().is_clean());
        let out = f.write_batch(&as_bytes(chunk)).unwrap();
        assert_eq!(out.written(), chunk.len());
    }
    assert_eq!(all_lines(dir.path(), "messages"), lines);
    for path in common::family_files(dir.path(), "messages") {
        assert!(content(&path).len() <= 200, "{}", path.display());
    }
}

#[test]
fn overwrite_oldest_keeps_the_total_bound_and_drops_the_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 100, 50, OnFull::OverwriteOldest);
    cfg.compress = false;
    cfg.max_total_bytes = 350;
    let mut f = AuditFile::open(cfg).unwrap();
    let lines = numbered(0, 200, 24);
    let mut removed = Vec::new();
    for chunk in lines.chunks(7) {
        let out = f.write_batch(&as_bytes(chunk)).unwrap();
        assert_eq!(out.written(), chunk.len());
        removed.extend(out.removed().to_vec());
        let usage = f.usage();
        assert!(usage.total_bytes() <= 350, "{usage:?}");
        assert_eq!(usage.total_bytes(), disk_bytes(dir.path(), "messages"));
    }
    assert!(removed
        .iter()
        .all(|r| r.reason == RemovalReason::TotalBytes));
    // What is left is a contiguous tail of what was written: the oldest went first.
    let kept = all_lines(dir.path(), "messages");
    assert!(!kept.is_empty() && kept.len() < lines.len());
    assert_eq!(kept, lines[lines.len() - kept.len()..]);
}

#[test]
fn stop_reports_storage_full_writes_nothing_more_and_resumes_after_the_bound_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 100, 50, OnFull::Stop);
    cfg.compress = false;
    cfg.max_total_bytes = 250;
    let lines = numbered(0, 20, 24); // 25 bytes each with LF: 10 fit in 250 bytes.
    let mut f = AuditFile::open(cfg.clone()).unwrap();
    let out = f.write_batch(&as_bytes(&lines)).unwrap();
    match &out {
        WriteOutcome::StorageFull {
            written,
            needed_bytes,
            cause,
            removed,
            ..
        } => {
            assert_eq!(*written, 10);
            assert_eq!(*needed_bytes, 25);
            assert_eq!(
                *cause,
                FullCause::TotalBytes {
                    used: 250,
                    limit: 250
                }
            );
            assert!(removed.is_empty());
        }
        other => panic!("expected StorageFull, got {other:?}"),
    }
    assert_eq!(all_lines(dir.path(), "messages"), lines[..10]);
    // A retry while still full writes nothing and says so again.
    let again = f.write_batch(&as_bytes(&lines[10..])).unwrap();
    assert!(again.is_storage_full());
    assert_eq!(again.written(), 0);
    assert_eq!(all_lines(dir.path(), "messages"), lines[..10]);
    drop(f);

    // The operator raises the bound: the rest goes in, nothing lost, nothing twice.
    cfg.max_total_bytes = 10_000;
    let mut f = AuditFile::open(cfg).unwrap();
    let out = f.write_batch(&as_bytes(&lines[10..])).unwrap();
    assert_eq!(out.written(), 10);
    assert!(!out.is_storage_full());
    assert_eq!(all_lines(dir.path(), "messages"), lines);
}

#[test]
fn stop_with_every_archive_slot_taken_resumes_after_an_archive_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 30, 2, OnFull::Stop);
    let lines = numbered(0, 6, 29); // one line per file
    let mut f = AuditFile::open(cfg).unwrap();
    let out = f.write_batch(&as_bytes(&lines)).unwrap();
    assert_eq!(
        out,
        WriteOutcome::StorageFull {
            written: 3,
            needed_bytes: 0,
            cause: FullCause::ArchiveSlots { archives: 2 },
            rotations: 2,
            removed: Vec::new(),
        }
    );
    assert_eq!(all_lines(dir.path(), "messages"), lines[..3]);
    // The operator exports and removes the oldest archive: one more rotation fits.
    let oldest = dir.path().join("messages.1.gz");
    assert_eq!(content(&oldest), format!("{}\n", lines[0]).as_bytes());
    fs::remove_file(&oldest).unwrap();
    let out = f.write_batch(&as_bytes(&lines[3..])).unwrap();
    assert_eq!(out.written(), 1);
    assert_eq!(all_lines(dir.path(), "messages"), lines[1..4]);
}

#[test]
fn stop_under_the_byte_bound_at_rotation_time_retries_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 100, 10, OnFull::Stop);
    cfg.max_total_bytes = cfg.min_total_bytes();
    let lines = numbered(0, 12, 49);
    let mut f = AuditFile::open(cfg).unwrap();
    let mut accepted = 0;
    for _ in 0..5 {
        let out = f.write_batch(&as_bytes(&lines[accepted..])).unwrap();
        accepted += out.written();
        assert!(f.usage().total_bytes() <= f.config().max_total_bytes);
        if out.is_storage_full() {
            break;
        }
    }
    assert!(accepted < lines.len(), "the bound was never reached");
    assert_eq!(all_lines(dir.path(), "messages"), lines[..accepted]);
    // No temporary archive is left behind by the refused rotation.
    assert!(!dir.path().join("messages.rotating.tmp").exists());
}

#[test]
fn a_partial_trailing_line_is_cut_on_open_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1000, 3, OnFull::Stop);
    let mut f = AuditFile::open(cfg.clone()).unwrap();
    f.write_batch(&[b"first", b"second"]).unwrap();
    drop(f);
    let mut raw = fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("messages"))
        .unwrap();
    raw.write_all(b"half a li").unwrap();
    drop(raw);
    let mut f = AuditFile::open(cfg.clone()).unwrap();
    assert_eq!(f.recovery().truncated_partial_line, Some(9));
    assert_eq!(f.usage().current_bytes, 13);
    f.write_batch(&[b"third"]).unwrap();
    assert_eq!(
        all_lines(dir.path(), "messages"),
        ["first", "second", "third"]
    );
    drop(f);

    // A file with no LF at all is cut to nothing.
    fs::write(dir.path().join("messages"), b"no newline").unwrap();
    let f = AuditFile::open(cfg).unwrap();
    assert_eq!(f.recovery().truncated_partial_line, Some(10));
    assert_eq!(fs::read(dir.path().join("messages")).unwrap(), b"");
}

#[test]
fn a_rotation_interrupted_after_the_archive_rename_is_undone_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 1000, 3, OnFull::Stop);
    let current = dir.path().join("messages");
    fs::write(&current, b"a\nb\n").unwrap();
    // The state after step 4 of a rotation: name.0.gz holds the current file's lines.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(b"a\nb\n").unwrap();
    fs::write(dir.path().join("messages.0.gz"), gz.finish().unwrap()).unwrap();
    let f = AuditFile::open(cfg.clone()).unwrap();
    assert_eq!(
        f.recovery().emptied_duplicate_of.as_deref(),
        Some(dir.path().join("messages.0.gz").as_path())
    );
    assert_eq!(all_lines(dir.path(), "messages"), ["a", "b"]);
    drop(f);

    // Different content of the same length is not a duplicate: nothing is touched.
    fs::write(&current, b"a\nc\n").unwrap();
    let f = AuditFile::open(cfg).unwrap();
    assert!(f.recovery().is_clean());
    assert_eq!(all_lines(dir.path(), "messages"), ["a", "b", "a", "c"]);
}

#[test]
fn a_rotation_interrupted_before_the_commit_leaves_a_consistent_set() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 30, 3, OnFull::Stop);
    let lines = numbered(0, 3, 29);
    let mut f = AuditFile::open(cfg.clone()).unwrap();
    f.write_batch(&as_bytes(&lines[..2])).unwrap(); // messages.0.gz + current
    drop(f);
    // Crash after step 3: the temp archive is written and slot 0 was shifted to slot 1.
    fs::write(dir.path().join("messages.rotating.tmp"), b"garbage").unwrap();
    fs::rename(
        dir.path().join("messages.0.gz"),
        dir.path().join("messages.1.gz"),
    )
    .unwrap();
    let mut f = AuditFile::open(cfg).unwrap();
    assert!(f.recovery().removed_temp_archive.is_some());
    assert!(!dir.path().join("messages.rotating.tmp").exists());
    assert_eq!(all_lines(dir.path(), "messages"), lines[..2]);
    // The next rotation fills the gap at slot 0 without shifting: order is kept.
    f.write_batch(&as_bytes(&lines[2..])).unwrap();
    assert!(dir.path().join("messages.0.gz").exists());
    assert!(!dir.path().join("messages.2.gz").exists());
    assert_eq!(all_lines(dir.path(), "messages"), lines);
}

#[test]
fn lines_with_line_breaks_or_too_long_are_refused_whole_batch_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = AuditFile::open(config(dir.path(), 20, 3, OnFull::Stop)).unwrap();
    let err = f.write_batch(&[b"fine", b"bad\rline"]).unwrap_err();
    assert!(matches!(
        err,
        AuditFileError::LineContainsNewline {
            index: 1,
            offset: 3,
            what: "CR",
            ..
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains("line 1") && msg.contains("messages"), "{msg}");
    let err = f.write_batch(&[b"x\n"]).unwrap_err();
    assert!(matches!(
        err,
        AuditFileError::LineContainsNewline {
            index: 0,
            what: "LF",
            ..
        }
    ));
    let err = f.write_batch(&[b"ok", &[b'y'; 20]]).unwrap_err();
    assert!(matches!(
        err,
        AuditFileError::LineTooLong {
            index: 1,
            bytes: 21,
            max_file_bytes: 20,
            ..
        }
    ));
    // Nothing of the refused batches was written.
    assert_eq!(fs::read(dir.path().join("messages")).unwrap(), b"");
    assert_eq!(f.usage().current_bytes, 0);
}

#[test]
fn a_directory_under_a_regular_file_gives_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let audit_dir = file.join("audit");
    let err = AuditFile::open(config(&audit_dir, 100, 3, OnFull::Stop)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AuditFileError::Io { .. }), "{err:?}");
    assert!(msg.contains(&*audit_dir.to_string_lossy()), "{msg}");
    assert!(msg.contains("create audit directory"), "{msg}");
    assert!(msg.to_lowercase().contains("not a directory"), "{msg}");
}

#[test]
fn a_directory_where_files_cannot_be_created_gives_an_error_naming_the_file() {
    // /proc/self exists but refuses new files, even for root.
    let dir = std::path::Path::new("/proc/self");
    let err = AuditFile::open(config(dir, 100, 3, OnFull::Stop)).unwrap_err();
    let msg = err.to_string();
    // The lock file is the first file created.
    assert!(msg.contains("/proc/self/messages.lock"), "{msg}");
    assert!(msg.contains("open lock file"), "{msg}");
}

#[test]
fn a_current_file_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("messages")).unwrap();
    let err = AuditFile::open(config(dir.path(), 100, 3, OnFull::Stop)).unwrap_err();
    assert!(
        matches!(
            err,
            AuditFileError::NotRegularFile {
                kind: "a directory",
                ..
            }
        ),
        "{err:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    fs::write(&target, b"").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("messages")).unwrap();
    let err = AuditFile::open(config(dir.path(), 100, 3, OnFull::Stop)).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn archives_left_beyond_a_smaller_count_go_first_under_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let lines = numbered(0, 6, 29);
    let mut f = AuditFile::open(config(dir.path(), 30, 5, OnFull::OverwriteOldest)).unwrap();
    f.write_batch(&as_bytes(&lines)).unwrap(); // archives 0..=4
    drop(f);
    let mut f = AuditFile::open(config(dir.path(), 30, 2, OnFull::OverwriteOldest)).unwrap();
    let more = numbered(6, 1, 29);
    let out = f.write_batch(&as_bytes(&more)).unwrap();
    assert_eq!(out.removed().len(), 4);
    assert!(out
        .removed()
        .iter()
        .all(|r| r.reason == RemovalReason::ArchiveCount));
    assert_eq!(f.usage().archive_files, 2);
    let mut expected = lines[4..].to_vec();
    expected.extend(more);
    assert_eq!(all_lines(dir.path(), "messages"), expected);
}

#[test]
fn files_are_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit");
    let mut f = AuditFile::open(config(&audit, 30, 2, OnFull::Stop)).unwrap();
    f.write_batch(&as_bytes(&numbered(0, 2, 29))).unwrap();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&audit), 0o750);
    assert_eq!(mode(&audit.join("messages")), 0o640);
    assert_eq!(mode(&audit.join("messages.0.gz")), 0o640);
}

#[test]
fn only_one_writer_may_have_a_family_open() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 100, 3, OnFull::Stop);
    let first = AuditFile::open(cfg.clone()).unwrap();
    let err = AuditFile::open(cfg.clone()).unwrap_err();
    assert!(matches!(err, AuditFileError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("messages.lock"), "{err}");
    // Another family in the same directory is independent.
    let mut other = cfg.clone();
    other.name = "interactive-commands".into();
    assert!(AuditFile::open(other).is_ok());
    drop(first);
    assert!(AuditFile::open(cfg).is_ok());
}

#[test]
fn stop_resumes_on_the_same_handle_each_time_an_operator_moves_the_oldest_archive_away() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), 100, 10, OnFull::Stop);
    cfg.max_total_bytes = cfg.min_total_bytes();
    let lines = numbered(0, 120, 49);
    let mut f = AuditFile::open(cfg).unwrap();
    let mut next = 0;
    let mut moved_away = Vec::new();
    let mut fulls = 0;
    for _ in 0..200 {
        if next == lines.len() {
            break;
        }
        let out = f.write_batch(&as_bytes(&lines[next..])).unwrap();
        next += out.written();
        if let WriteOutcome::StorageFull { cause, .. } = out {
            fulls += 1;
            assert!(matches!(cause, FullCause::TotalBytes { .. }), "{cause:?}");
            // Nothing changes until space is freed.
            assert_eq!(
                f.write_batch(&as_bytes(&lines[next..])).unwrap().written(),
                0
            );
            let oldest = f
                .refresh_usage()
                .map(|_| f.archives().last().cloned())
                .unwrap();
            let oldest = oldest.expect("full with no archive to move");
            moved_away.extend(
                String::from_utf8(content(&oldest.path))
                    .unwrap()
                    .lines()
                    .map(str::to_string),
            );
            fs::remove_file(&oldest.path).unwrap();
        }
    }
    assert_eq!(next, lines.len(), "did not get through all lines");
    assert!(fulls > 5, "the bound was reached only {fulls} times");
    // Moved-away archives, then what is left, are exactly the lines in order.
    moved_away.extend(all_lines(dir.path(), "messages"));
    assert_eq!(moved_away, lines);
}
