//! Where the store's files are, named from the catalog path.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Context, Result, StoreError};

pub(crate) fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The catalog path without its `.db` extension: the stem of the key,
/// verify key and partition directory names.
pub(crate) fn stem(catalog: &Path) -> PathBuf {
    if catalog.extension().is_some_and(|e| e == "db") {
        catalog.with_extension("")
    } else {
        catalog.to_path_buf()
    }
}

/// The directory of partition files for a catalog path.
pub fn partitions_dir(catalog: &Path) -> PathBuf {
    with_suffix(&stem(catalog), ".parts")
}

pub(crate) fn partition_file(catalog: &Path, first_seq: u64) -> PathBuf {
    partitions_dir(catalog).join(format!("{first_seq:020}.db"))
}

/// Makes a directory entry (a new or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .at(dir, "sync directory")
}

/// Removes `base` and each of its SQLite companions (`base` + suffix, e.g.
/// `-wal`); a file that is already gone is not an error.
pub(crate) fn remove_with_suffixes(base: &Path, suffixes: &[&str], op: &'static str) -> Result<()> {
    for suffix in suffixes {
        let file = with_suffix(base, suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Io {
                    path: file,
                    op,
                    source: e,
                })
            }
        }
    }
    Ok(())
}
