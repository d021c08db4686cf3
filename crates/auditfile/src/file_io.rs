//! The file operations of the audit file writer: the family lock, checks
//! and opening of the current file, truncation and finding the last line end.

use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use crate::archive::FILE_MODE;
use crate::error::{io_error, AuditFileError};
use crate::family::ArchiveFile;

/// Opens `path` and takes an exclusive, non-blocking `flock` on it.
// The crate's one unsafe call: std's `File::try_lock` needs Rust 1.89, newer
// than the workspace's rust-version.
#[allow(unsafe_code)]
pub(crate) fn lock_family(path: &Path) -> Result<File, AuditFileError> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_error(path, "open lock file", e))?;
    // SAFETY: flock only reads the descriptor, which `file` keeps open during the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(AuditFileError::Locked {
                path: path.to_path_buf(),
            });
        }
        return Err(io_error(path, "lock", e));
    }
    Ok(file)
}

pub(crate) fn first_free_slot(archives: &[ArchiveFile], slots: u32) -> Option<u32> {
    (0..slots).find(|i| !archives.iter().any(|a| a.index == *i))
}

/// True when `path` is an existing regular file, false when absent; an error for anything else.
pub(crate) fn check_regular_file(path: &Path) -> Result<bool, AuditFileError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            let kind = if ft.is_file() {
                return Ok(true);
            } else if ft.is_dir() {
                "a directory"
            } else if ft.is_symlink() {
                "a symbolic link"
            } else {
                "a device, FIFO or socket"
            };
            Err(AuditFileError::NotRegularFile {
                path: path.to_path_buf(),
                kind,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path, "inspect", e)),
    }
}

pub(crate) fn open_append(path: &Path) -> Result<File, AuditFileError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_error(path, "open for append", e))
}

pub(crate) fn truncate_synced(file: &File, path: &Path, len: u64) -> Result<(), AuditFileError> {
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, "truncate", e))
}

/// Length of the prefix of `file` that ends with its last LF (0 when it has none).
pub(crate) fn last_line_end(path: &Path, len: u64) -> Result<u64, AuditFileError> {
    const CHUNK: u64 = 64 * 1024;
    // Opened append-only for writing: read through a second descriptor.
    let reader = File::open(path).map_err(|e| io_error(path, "open for reading", e))?;
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let Some(chunk) = buf.get_mut(..(end - start) as usize) else {
            break;
        };
        reader
            .read_exact_at(chunk, start)
            .map_err(|e| io_error(path, "read the last line", e))?;
        if let Some(pos) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + pos as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}
