//! Unit tests of `writer.rs`.

use super::*;

#[test]
fn the_last_line_end_is_found_across_read_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    // An LF just before a 64 KiB chunk boundary, then a long partial line after it.
    let mut data = vec![b'a'; 65_535];
    data.push(b'\n');
    data.extend(std::iter::repeat_n(b'b', 70_000));
    fs::write(&path, &data).unwrap();
    assert_eq!(last_line_end(&path, data.len() as u64).unwrap(), 65_536);
    fs::write(&path, b"no lf").unwrap();
    assert_eq!(last_line_end(&path, 5).unwrap(), 0);
    fs::write(&path, b"a\nb\n").unwrap();
    assert_eq!(last_line_end(&path, 4).unwrap(), 4);
    assert_eq!(last_line_end(&path, 0).unwrap(), 0);
}

#[test]
fn the_first_free_slot_skips_taken_ones_and_ignores_those_beyond_the_count() {
    let at = |index| ArchiveFile {
        index,
        path: PathBuf::new(),
        bytes: 0,
        compressed: true,
    };
    assert_eq!(first_free_slot(&[], 3), Some(0));
    assert_eq!(first_free_slot(&[at(0), at(2)], 3), Some(1));
    assert_eq!(first_free_slot(&[at(0), at(1), at(2)], 3), None);
    assert_eq!(first_free_slot(&[at(0), at(5)], 1), None);
}

#[test]
fn outcome_accessors_agree_with_the_variants() {
    let full = WriteOutcome::StorageFull {
        written: 2,
        needed_bytes: 9,
        cause: FullCause::ArchiveSlots { archives: 1 },
        rotations: 1,
        removed: Vec::new(),
    };
    assert_eq!((full.written(), full.rotations()), (2, 1));
    assert!(full.is_storage_full());
    let ok = WriteOutcome::Written {
        lines: 5,
        rotations: 0,
        removed: Vec::new(),
    };
    assert_eq!(ok.written(), 5);
    assert!(!ok.is_storage_full() && ok.removed().is_empty());
}
