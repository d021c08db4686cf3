//! The crate's one error type: every message names the file (or config key) and the cause.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while opening or writing a local audit file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditFileError {
    /// The configuration cannot work; `key` is the configuration key at fault.
    #[error("audit file configuration: `{key}` {reason}")]
    Config {
        /// The configuration key.
        key: &'static str,
        /// What is wrong with its value.
        reason: String,
    },

    /// The storage holding `path` is full (ENOSPC or EDQUOT). Nothing after the last complete
    /// line was kept: treat it like `WriteOutcome::StorageFull` and retry later.
    #[error("audit file {path}: storage full while trying to {op}: {source}")]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// What was being done, e.g. `append lines`.
        op: &'static str,
        /// The error the system returned.
        #[source]
        source: io::Error,
    },

    /// Any other I/O failure on `path` while doing `op`.
    #[error("audit file {path}: cannot {op}: {source}")]
    Io {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// What was being done, e.g. `open lock file`.
        op: &'static str,
        /// The error the system returned.
        #[source]
        source: io::Error,
    },

    /// Another `AuditFile` (in this or another process) has the family open.
    #[error("audit file {path}: locked by another writer of the same audit file; only one may have it open")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// The current audit file exists but is not a regular file (a directory, a FIFO, a device).
    #[error("audit file {path}: exists but is not a regular file ({kind}); refusing to write audit records to it")]
    NotRegularFile {
        /// The current audit file.
        path: PathBuf,
        /// What it is instead, e.g. `a directory`.
        kind: &'static str,
    },

    /// A line of the batch contains a line break; nothing of the batch was written.
    #[error("audit file {path}: line {index} of the batch contains a {what} byte at offset {offset}; lines must be formatted without line breaks (nothing of the batch was written)")]
    LineContainsNewline {
        /// The current audit file.
        path: PathBuf,
        /// The line's position in the batch, from 0.
        index: usize,
        /// The byte's offset in the line.
        offset: usize,
        /// Which byte, e.g. `LF`.
        what: &'static str,
    },

    /// A line of the batch can never fit in one file; nothing of the batch was written.
    #[error("audit file {path}: line {index} of the batch needs {bytes} bytes with its LF, more than max_file_bytes = {max_file_bytes} (nothing of the batch was written)")]
    LineTooLong {
        /// The current audit file.
        path: PathBuf,
        /// The line's position in the batch, from 0.
        index: usize,
        /// Its size with the LF.
        bytes: u64,
        /// The configured largest file size.
        max_file_bytes: u64,
    },
}

impl AuditFileError {
    /// True for the errors that mean "no space": the caller stops, alerts and retries later.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, AuditFileError::DiskFull { .. })
    }

    /// The path the error is about, if it is about a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            AuditFileError::Config { .. } => None,
            AuditFileError::DiskFull { path, .. }
            | AuditFileError::Io { path, .. }
            | AuditFileError::Locked { path }
            | AuditFileError::NotRegularFile { path, .. }
            | AuditFileError::LineContainsNewline { path, .. }
            | AuditFileError::LineTooLong { path, .. } => Some(path),
        }
    }
}

/// Maps an I/O error on `path` during `op`, keeping "disk full" apart from the rest.
pub(crate) fn io_error(path: &Path, op: &'static str, source: io::Error) -> AuditFileError {
    if is_no_space(&source) {
        AuditFileError::DiskFull {
            path: path.to_path_buf(),
            op,
            source,
        }
    } else {
        AuditFileError::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    }
}

/// ENOSPC and EDQUOT both mean the audit storage is full; matched on the OS code because
/// `io::ErrorKind::StorageFull` needs a newer Rust than the workspace's minimum.
fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == libc::ENOSPC || code == libc::EDQUOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_edquot_map_to_disk_full_and_name_the_path() {
        for code in [libc::ENOSPC, libc::EDQUOT] {
            let e = io_error(
                Path::new("/var/log/x/messages"),
                "append",
                io::Error::from_raw_os_error(code),
            );
            assert!(e.is_disk_full(), "{e}");
            let msg = e.to_string();
            assert!(msg.contains("/var/log/x/messages"), "{msg}");
            assert!(msg.contains("storage full"), "{msg}");
        }
    }

    #[test]
    fn other_errors_stay_io_errors() {
        let e = io_error(
            Path::new("/a/b"),
            "open for append",
            io::Error::from_raw_os_error(libc::EROFS),
        );
        assert!(!e.is_disk_full());
        let msg = e.to_string();
        assert!(
            msg.contains("/a/b") && msg.contains("open for append"),
            "{msg}"
        );
        assert_eq!(e.path(), Some(Path::new("/a/b")));
    }
}
