//! Property tests: many rotations over random line lengths and limits keep the invariants.
//!
//! * OverwriteOldest: the family never exceeds `max_total_bytes`, every batch is accepted
//!   whole, and what is on disk is exactly a contiguous tail of the accepted lines.
//! * Stop: nothing is ever deleted, and archives oldest..newest + current hold exactly the
//!   accepted lines, in order, each once.

mod common;

use common::{all_lines, content, disk_bytes, family_files};
use netaudit_auditfile::{AuditFile, AuditFileConfig, OnFull, SyncPolicy};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    max_file: u64,
    archives: u32,
    compress: bool,
    extra_total: u64,
    /// Per batch: the line lengths, and whether to close and reopen before it.
    batches: Vec<(Vec<usize>, bool)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        16u64..300,
        1u32..6,
        any::<bool>(),
        0u64..800,
        prop::collection::vec(
            (
                prop::collection::vec(0usize..120, 0..15),
                prop::bool::weighted(0.2),
            ),
            1..25,
        ),
    )
        .prop_map(
            |(max_file, archives, compress, extra_total, batches)| Case {
                max_file,
                archives,
                compress,
                extra_total,
                batches,
            },
        )
}

/// A scratch directory, on tmpfs when there is one: these cases rotate thousands of times and
/// the fsyncs of a disk would make them slow without testing anything more.
fn scratch() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("auditfile-prop")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fn config(dir: &std::path::Path, case: &Case, on_full: OnFull) -> AuditFileConfig {
    let mut cfg = AuditFileConfig {
        dir: dir.to_path_buf(),
        name: "messages".into(),
        max_file_bytes: case.max_file,
        archives: case.archives,
        compress: case.compress,
        max_total_bytes: 0,
        on_full,
        sync: SyncPolicy::Never,
    };
    cfg.max_total_bytes = cfg.min_total_bytes() + case.extra_total;
    cfg
}

/// A distinct line: its sequence number, then filler up to `len` (within the file size).
fn line(seq: usize, len: usize, max_file: u64) -> String {
    let mut s = format!("{seq}:");
    let len = len.min(max_file as usize - 1);
    while s.len() < len {
        s.push(char::from(b'a' + (seq % 26) as u8));
    }
    s
}

fn check_files_hold_whole_lines_within_size(dir: &std::path::Path, max_file: u64) {
    for path in family_files(dir, "messages") {
        let bytes = content(&path);
        assert!(bytes.len() as u64 <= max_file, "{}", path.display());
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn overwrite_oldest_never_exceeds_the_bound_and_keeps_a_tail(case in case()) {
        let dir = scratch();
        let cfg = config(dir.path(), &case, OnFull::OverwriteOldest);
        let mut file = AuditFile::open(cfg.clone()).unwrap();
        let mut accepted = Vec::new();
        let mut seq = 0;
        for (lens, reopen) in &case.batches {
            if *reopen {
                drop(file);
                file = AuditFile::open(cfg.clone()).unwrap();
                prop_assert!(file.recovery().is_clean());
            }
            let lines: Vec<String> = lens.iter().map(|&l| { seq += 1; line(seq, l, case.max_file) }).collect();
            let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
            let out = file.write_batch(&refs).unwrap();
            prop_assert!(!out.is_storage_full(), "{out:?}");
            prop_assert_eq!(out.written(), lines.len());
            accepted.extend(lines);
            let usage = file.usage();
            prop_assert!(usage.total_bytes() <= cfg.max_total_bytes, "{usage:?} > {}", cfg.max_total_bytes);
            prop_assert_eq!(usage.total_bytes(), disk_bytes(dir.path(), "messages"));
            prop_assert!(usage.archive_files <= cfg.archives as usize);
        }
        check_files_hold_whole_lines_within_size(dir.path(), case.max_file);
        let kept = all_lines(dir.path(), "messages");
        prop_assert!(kept.len() <= accepted.len());
        prop_assert_eq!(&kept[..], &accepted[accepted.len() - kept.len()..]);
    }

    #[test]
    fn stop_loses_and_duplicates_nothing_and_resumes_when_the_limits_grow(case in case()) {
        let dir = scratch();
        let mut cfg = config(dir.path(), &case, OnFull::Stop);
        let mut file = AuditFile::open(cfg.clone()).unwrap();
        let mut accepted = Vec::new();
        let mut seq = 0;
        let mut raises_left = 3;
        'batches: for (lens, reopen) in &case.batches {
            if *reopen {
                drop(file);
                file = AuditFile::open(cfg.clone()).unwrap();
                prop_assert!(file.recovery().is_clean());
            }
            let mut pending: Vec<String> = lens.iter().map(|&l| { seq += 1; line(seq, l, case.max_file) }).collect();
            for _attempt in 0..4 {
                let refs: Vec<&[u8]> = pending.iter().map(|l| l.as_bytes()).collect();
                let out = file.write_batch(&refs).unwrap();
                prop_assert!(out.removed().is_empty());
                let written = out.written();
                prop_assert!(written <= pending.len());
                accepted.extend(pending.drain(..written));
                prop_assert!(file.usage().total_bytes() <= cfg.max_total_bytes);
                prop_assert_eq!(file.usage().total_bytes(), disk_bytes(dir.path(), "messages"));
                if !out.is_storage_full() {
                    break;
                }
                // The caller keeps the rest and retries later: a retry now changes nothing.
                let refs: Vec<&[u8]> = pending.iter().map(|l| l.as_bytes()).collect();
                let again = file.write_batch(&refs).unwrap();
                prop_assert!(again.is_storage_full());
                prop_assert_eq!(again.written(), 0);
                if raises_left == 0 {
                    break 'batches;
                }
                // The operator grows the storage; the writer is reopened with the new limits.
                raises_left -= 1;
                cfg.archives += 2;
                cfg.max_total_bytes += cfg.min_total_bytes();
                drop(file);
                file = AuditFile::open(cfg.clone()).unwrap();
            }
        }
        check_files_hold_whole_lines_within_size(dir.path(), case.max_file);
        prop_assert_eq!(all_lines(dir.path(), "messages"), accepted);
    }
}
