//! Names of the files of one family and the scan of the directory for its archives.
//!
//! `name` is the current file; `name.<i>` / `name.<i>.gz` are archives, index 0 the newest;
//! `name.rotating.tmp` is an archive being written (never counted, removed on open);
//! `name.lock` is empty and locked by the one process that has the family open.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{io_error, AuditFileError};

/// One archive file found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// 0 is the newest archive.
    pub index: u32,
    /// Where it is.
    pub path: PathBuf,
    /// Size on disk (compressed size for `.gz`).
    pub bytes: u64,
    /// True for a gzip archive (`.gz`).
    pub compressed: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Family {
    dir: PathBuf,
    name: String,
}

impl Family {
    pub(crate) fn new(dir: &Path, name: &str) -> Self {
        Family {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn current(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    pub(crate) fn archive(&self, index: u32, compressed: bool) -> PathBuf {
        let ext = if compressed { ".gz" } else { "" };
        self.dir.join(format!("{}.{index}{ext}", self.name))
    }

    /// Held with an exclusive `flock` while the family is open: one writer per family.
    pub(crate) fn lock(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.name))
    }

    pub(crate) fn temp(&self) -> PathBuf {
        self.dir.join(format!("{}.rotating.tmp", self.name))
    }

    /// Parses `name.<i>` / `name.<i>.gz` (no leading zeros, so each index has one spelling).
    pub(crate) fn parse_archive_name(&self, file_name: &str) -> Option<(u32, bool)> {
        let rest = file_name
            .strip_prefix(self.name.as_str())?
            .strip_prefix('.')?;
        let (digits, compressed) = match rest.strip_suffix(".gz") {
            Some(d) => (d, true),
            None => (rest, false),
        };
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        digits.parse().ok().map(|i| (i, compressed))
    }

    /// All archives of this family on disk, sorted by index (newest first), regular files only.
    pub(crate) fn scan(&self) -> Result<Vec<ArchiveFile>, AuditFileError> {
        let entries =
            fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "list audit directory", e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&self.dir, "list audit directory", e))?;
            let file_name = entry.file_name();
            let Some((index, compressed)) =
                file_name.to_str().and_then(|n| self.parse_archive_name(n))
            else {
                continue;
            };
            let path = entry.path();
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                // Removed between the listing and the stat (an operator cleaning up): not ours.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path, "read archive size", e)),
            };
            if !meta.is_file() {
                continue;
            }
            found.push(ArchiveFile {
                index,
                path,
                bytes: meta.len(),
                compressed,
            });
        }
        found.sort_by(|a, b| a.index.cmp(&b.index).then(a.compressed.cmp(&b.compressed)));
        Ok(found)
    }
}

/// Makes renames, creations and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditFileError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, "sync audit directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_parse_one_spelling_per_index() {
        let f = Family::new(Path::new("/d"), "messages");
        assert_eq!(f.parse_archive_name("messages.0.gz"), Some((0, true)));
        assert_eq!(f.parse_archive_name("messages.12"), Some((12, false)));
        for not_ours in [
            "messages",
            "messages.",
            "messages.gz",
            "messages.01.gz",
            "messages.1x",
            "messages.rotating.tmp",
            "messagesX.1",
            "other.1.gz",
            "messages.1.gz.gz",
            "messages.99999999999",
        ] {
            assert_eq!(f.parse_archive_name(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn paths_follow_the_junos_naming() {
        let f = Family::new(Path::new("/d"), "messages");
        assert_eq!(f.current(), Path::new("/d/messages"));
        assert_eq!(f.archive(0, true), Path::new("/d/messages.0.gz"));
        assert_eq!(f.archive(9, false), Path::new("/d/messages.9"));
        assert_eq!(f.parse_archive_name("messages.rotating.tmp"), None);
    }
}
