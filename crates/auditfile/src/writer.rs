//! `AuditFile`: appends whole lines, rotates by size, keeps N archives, bounds the total.
//!
//! Invariants kept between calls:
//! * `current_bytes` is the length of the current file and always ends on a line boundary
//!   (when a write or a truncation fails, `needs_repair` makes the next call cut the file back
//!   to it before anything else is written);
//! * archive slots are filled from 0 (newest) upwards; a rotation shifts only up to the first
//!   free slot, so gaps left by an operator or by a crash are harmless and ages stay in order;
//! * with `OnFull::Stop` nothing is ever deleted.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::archive::{gzip_holds_exactly, remove_if_exists, write_gzip, FILE_MODE};
use crate::config::{AuditFileConfig, OnFull, SyncPolicy};
use crate::error::{io_error, AuditFileError};
use crate::family::{sync_dir, ArchiveFile, Family};

/// Mode of a directory the crate creates.
const DIR_MODE: u32 = 0o750;

/// Why an archive was deleted (only ever with `OnFull::OverwriteOldest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// A rotation needed a slot and all `archives` slots were taken (or the archive lay beyond
    /// the configured count).
    ArchiveCount,
    /// The next line would have taken the family over `max_total_bytes`.
    TotalBytes,
}

/// An archive deleted to make room; the caller should record it (it is an auditable loss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedArchive {
    /// Where it was.
    pub path: PathBuf,
    /// Its size on disk.
    pub bytes: u64,
    /// Why it went.
    pub reason: RemovalReason,
}

/// Why the storage counts as full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullCause {
    /// The next line would take current file + archives over `limit` bytes; `used` is their
    /// size now.
    TotalBytes {
        /// Bytes of current file and archives now.
        used: u64,
        /// `max_total_bytes`.
        limit: u64,
    },
    /// A rotation is due and all `archives` slots hold an archive (with `Stop`, none is deleted).
    ArchiveSlots {
        /// The configured number of archives.
        archives: u32,
    },
}

/// The result of `write_batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Every line of the batch was appended.
    Written {
        /// The lines appended (the whole batch).
        lines: usize,
        /// Rotations this call made.
        rotations: u32,
        /// Archives this call deleted.
        removed: Vec<RemovedArchive>,
    },
    /// The audit storage is full: the first `written` lines were appended, the others were not
    /// (nothing of them is on disk). Store and forward an alert, retry the rest later.
    StorageFull {
        /// The lines appended, from the start of the batch.
        written: usize,
        /// Bytes to free (or to add to `max_total_bytes`) before the next line fits;
        /// 0 when the cause is `ArchiveSlots` (an archive must go, or `archives` grow).
        needed_bytes: u64,
        /// Why the storage counts as full.
        cause: FullCause,
        /// Rotations this call made.
        rotations: u32,
        /// Archives this call deleted.
        removed: Vec<RemovedArchive>,
    },
}

impl WriteOutcome {
    /// How many lines of the batch (from its start) are now in the file.
    pub fn written(&self) -> usize {
        match self {
            WriteOutcome::Written { lines, .. } => *lines,
            WriteOutcome::StorageFull { written, .. } => *written,
        }
    }

    /// Archives deleted by this call.
    pub fn removed(&self) -> &[RemovedArchive] {
        match self {
            WriteOutcome::Written { removed, .. } | WriteOutcome::StorageFull { removed, .. } => {
                removed
            }
        }
    }

    /// Rotations made by this call.
    pub fn rotations(&self) -> u32 {
        match self {
            WriteOutcome::Written { rotations, .. }
            | WriteOutcome::StorageFull { rotations, .. } => *rotations,
        }
    }

    /// True when the storage was full before the whole batch was written.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, WriteOutcome::StorageFull { .. })
    }
}

/// Bytes of the family on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Size of the current file.
    pub current_bytes: u64,
    /// Size of all archives together.
    pub archive_bytes: u64,
    /// How many archives there are.
    pub archive_files: usize,
}

impl Usage {
    /// Current file and archives together: what `max_total_bytes` bounds.
    pub fn total_bytes(&self) -> u64 {
        self.current_bytes.saturating_add(self.archive_bytes)
    }
}

/// What `open` found and repaired after an unclean stop; the caller should log anything here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a trailing partial line cut from the current file (a crash mid-write).
    pub truncated_partial_line: Option<u64>,
    /// A temporary archive of an interrupted rotation, removed (the current file still held
    /// its lines).
    pub removed_temp_archive: Option<PathBuf>,
    /// The current file was emptied because this archive already held exactly its content
    /// (a crash between the archive's rename and the current file's truncation).
    pub emptied_duplicate_of: Option<PathBuf>,
}

impl Recovery {
    /// True when `open` had nothing to repair.
    pub fn is_clean(&self) -> bool {
        *self == Recovery::default()
    }
}

/// A local audit file family, opened for appending.
#[derive(Debug)]
pub struct AuditFile {
    /// Keeps the family's exclusive lock for as long as this value lives.
    _lock: File,
    cfg: AuditFileConfig,
    family: Family,
    current_path: PathBuf,
    file: File,
    current_bytes: u64,
    archives: Vec<ArchiveFile>,
    needs_repair: bool,
    /// A rotation renamed the current file away and failed before `file` was replaced.
    needs_reopen: bool,
    recovery: Recovery,
    buf: Vec<u8>,
    /// (current file length, its archive size) computed by a rotation that found the storage
    /// full; lets a retry under `Stop` decide without compressing again.
    pending_archive: Option<(u64, u64)>,
}

impl AuditFile {
    /// Validates `cfg`, creates the directory, continues an existing current file and repairs
    /// what an unclean stop left (see `Recovery`).
    pub fn open(cfg: AuditFileConfig) -> Result<Self, AuditFileError> {
        cfg.validate()?;
        let family = Family::new(&cfg.dir, &cfg.name);
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(&cfg.dir)
            .map_err(|e| io_error(&cfg.dir, "create audit directory", e))?;
        let lock = lock_family(&family.lock())?;
        let mut recovery = Recovery::default();
        let temp = family.temp();
        if remove_if_exists(&temp)? {
            recovery.removed_temp_archive = Some(temp);
        }
        let current_path = family.current();
        let existed = check_regular_file(&current_path)?;
        let file = open_append(&current_path)?;
        if !existed {
            sync_dir(family.dir())?;
        }
        let len = file
            .metadata()
            .map_err(|e| io_error(&current_path, "read size", e))?
            .len();
        let keep = last_line_end(&current_path, len)?;
        if keep < len {
            truncate_synced(&file, &current_path, keep)?;
            recovery.truncated_partial_line = Some(len - keep);
        }
        let archives = family.scan()?;
        let mut current_bytes = keep;
        if let Some(newest) = archives.iter().find(|a| a.index == 0 && a.compressed) {
            if current_bytes > 0 && gzip_holds_exactly(&newest.path, &current_path, current_bytes)?
            {
                truncate_synced(&file, &current_path, 0)?;
                recovery.emptied_duplicate_of = Some(newest.path.clone());
                current_bytes = 0;
            }
        }
        Ok(AuditFile {
            _lock: lock,
            cfg,
            family,
            current_path,
            file,
            current_bytes,
            archives,
            needs_repair: false,
            needs_reopen: false,
            recovery,
            buf: Vec::new(),
            pending_archive: None,
        })
    }

    /// Appends each line plus one LF, rotating between lines as needed.
    ///
    /// The whole batch is checked first: a line with CR or LF, or one that can never fit in a
    /// file, fails the call before anything is written. Lines are never split across files.
    /// On `Err`, the lines before the failure may already be in the file (whole lines only):
    /// delivery is at-least-once, so the caller retries the batch and may write some twice.
    pub fn write_batch(&mut self, lines: &[&[u8]]) -> Result<WriteOutcome, AuditFileError> {
        self.repair_tail()?;
        self.check_lines(lines)?;
        let mut rotations = 0u32;
        let mut removed = Vec::new();
        self.buf.clear();
        for (index, line) in lines.iter().enumerate() {
            let need = line.len() as u64 + 1;
            let in_file = self.current_bytes + self.buf.len() as u64;
            if in_file > 0 && in_file + need > self.cfg.max_file_bytes {
                self.append_buffer()?;
                if let Some((needed_bytes, cause)) = self.rotate(need, &mut removed)? {
                    return self.finish_full(index, needed_bytes, cause, rotations, removed);
                }
                rotations += 1;
            }
            if let Some((needed_bytes, cause)) = self.make_room(need, &mut removed)? {
                return self.finish_full(index, needed_bytes, cause, rotations, removed);
            }
            self.buf.extend_from_slice(line);
            self.buf.push(b'\n');
        }
        self.append_buffer()?;
        self.sync_per_policy()?;
        Ok(WriteOutcome::Written {
            lines: lines.len(),
            rotations,
            removed,
        })
    }

    /// Forces every appended line to stable storage (`fdatasync`).
    pub fn flush_sync(&mut self) -> Result<(), AuditFileError> {
        self.repair_tail()?;
        self.file
            .sync_data()
            .map_err(|e| io_error(&self.current_path, "sync", e))
    }

    /// Sizes as of the last call (no disk access); see `refresh_usage`.
    pub fn usage(&self) -> Usage {
        Usage {
            current_bytes: self.current_bytes,
            archive_bytes: self.archives.iter().map(|a| a.bytes).sum(),
            archive_files: self.archives.len(),
        }
    }

    /// Rescans the directory (an operator may have removed archives) and returns the sizes.
    pub fn refresh_usage(&mut self) -> Result<Usage, AuditFileError> {
        self.archives = self.family.scan()?;
        Ok(self.usage())
    }

    /// Archives as of the last scan, newest (index 0) first.
    pub fn archives(&self) -> &[ArchiveFile] {
        &self.archives
    }

    /// What `open` repaired.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The file lines are appended to.
    pub fn current_path(&self) -> &Path {
        &self.current_path
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &AuditFileConfig {
        &self.cfg
    }

    fn check_lines(&self, lines: &[&[u8]]) -> Result<(), AuditFileError> {
        for (index, line) in lines.iter().enumerate() {
            if let Some(offset) = memchr::memchr2(b'\n', b'\r', line) {
                let what = if line.get(offset) == Some(&b'\n') {
                    "LF"
                } else {
                    "CR"
                };
                return Err(AuditFileError::LineContainsNewline {
                    path: self.current_path.clone(),
                    index,
                    offset,
                    what,
                });
            }
            let bytes = line.len() as u64 + 1;
            if bytes > self.cfg.max_file_bytes {
                return Err(AuditFileError::LineTooLong {
                    path: self.current_path.clone(),
                    index,
                    bytes,
                    max_file_bytes: self.cfg.max_file_bytes,
                });
            }
        }
        Ok(())
    }

    /// Writes the buffered lines; on failure cuts the file back to the last whole line.
    fn append_buffer(&mut self) -> Result<(), AuditFileError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        let len = self.buf.len() as u64;
        self.buf.clear();
        match result {
            Ok(()) => {
                self.current_bytes += len;
                Ok(())
            }
            Err(e) => {
                // A partial write leaves half a line: remove it now, or before the next write.
                if self.file.set_len(self.current_bytes).is_err() {
                    self.needs_repair = true;
                }
                Err(io_error(&self.current_path, "append lines", e))
            }
        }
    }

    fn repair_tail(&mut self) -> Result<(), AuditFileError> {
        if self.needs_reopen {
            self.reopen_current()?;
        }
        if self.needs_repair {
            self.file
                .set_len(self.current_bytes)
                .map_err(|e| io_error(&self.current_path, "cut a partially written line", e))?;
            self.needs_repair = false;
        }
        Ok(())
    }

    /// Opens (creating it if a failed rotation left none) the current file as `self.file`.
    fn reopen_current(&mut self) -> Result<(), AuditFileError> {
        self.file = open_append(&self.current_path)?;
        self.current_bytes = self
            .file
            .metadata()
            .map_err(|e| io_error(&self.current_path, "read size", e))?
            .len();
        self.needs_reopen = false;
        Ok(())
    }

    fn sync_per_policy(&mut self) -> Result<(), AuditFileError> {
        match self.cfg.sync {
            SyncPolicy::EveryBatch => self
                .file
                .sync_data()
                .map_err(|e| io_error(&self.current_path, "sync", e)),
            SyncPolicy::Never => Ok(()),
        }
    }

    fn finish_full(
        &mut self,
        written: usize,
        needed_bytes: u64,
        cause: FullCause,
        rotations: u32,
        removed: Vec<RemovedArchive>,
    ) -> Result<WriteOutcome, AuditFileError> {
        self.append_buffer()?;
        self.sync_per_policy()?;
        Ok(WriteOutcome::StorageFull {
            written,
            needed_bytes,
            cause,
            rotations,
            removed,
        })
    }

    fn used_bytes(&self) -> u64 {
        self.archives.iter().map(|a| a.bytes).sum::<u64>()
            + self.current_bytes
            + self.buf.len() as u64
    }

    /// Makes sure `extra` more bytes fit under `max_total_bytes`; `Some` when they cannot.
    fn make_room(
        &mut self,
        extra: u64,
        removed: &mut Vec<RemovedArchive>,
    ) -> Result<Option<(u64, FullCause)>, AuditFileError> {
        let limit = self.cfg.max_total_bytes;
        if self.used_bytes() + extra <= limit {
            return Ok(None);
        }
        // An operator may have freed space since the last scan.
        self.archives = self.family.scan()?;
        loop {
            let used = self.used_bytes();
            if used + extra <= limit {
                return Ok(None);
            }
            if self.cfg.on_full == OnFull::OverwriteOldest && self.remove_oldest(removed)? {
                continue;
            }
            return Ok(Some((
                used + extra - limit,
                FullCause::TotalBytes { used, limit },
            )));
        }
    }

    /// Deletes the highest-index (oldest) archive; false when there is none.
    fn remove_oldest(&mut self, removed: &mut Vec<RemovedArchive>) -> Result<bool, AuditFileError> {
        let Some(oldest) = self.archives.pop() else {
            return Ok(false);
        };
        self.remove_archive(oldest, RemovalReason::TotalBytes, removed)?;
        Ok(true)
    }

    fn remove_archive(
        &mut self,
        archive: ArchiveFile,
        reason: RemovalReason,
        removed: &mut Vec<RemovedArchive>,
    ) -> Result<(), AuditFileError> {
        // One an operator already moved away was not deleted by us: nothing to report.
        if !remove_if_exists(&archive.path)? {
            return Ok(());
        }
        removed.push(RemovedArchive {
            path: archive.path,
            bytes: archive.bytes,
            reason,
        });
        Ok(())
    }

    /// Turns the current file into archive 0; `Some` when the storage is full instead.
    ///
    /// Order, chosen so that a crash at any point leaves every line in exactly one place or
    /// (at worst) an exact duplicate that `open` recognises and removes:
    /// 1. gzip the current file into `name.rotating.tmp` and fsync it;
    /// 2. delete archives if the policy allows and room is needed (uncompressed: fsync the
    ///    current file and create an empty `name.rotating.tmp`);
    /// 3. shift `name.<i>` to `name.<i+1>` for the slots below the first free one, newest last;
    /// 4. rename the temp archive to `name.0.gz` (or the current file to `name.0` and the empty
    ///    temp file to `name`), fsync the directory: this is the commit point;
    /// 5. (compressed) truncate the current file to 0 and fsync it.
    ///
    /// A crash before 4 leaves the current file intact (the temp file is removed on open, a
    /// gap in the slots is filled by the next rotation); a crash between 4 and 5 leaves the
    /// current file equal to `name.0.gz`, which `open` detects byte for byte and empties.
    fn rotate(
        &mut self,
        need: u64,
        removed: &mut Vec<RemovedArchive>,
    ) -> Result<Option<(u64, FullCause)>, AuditFileError> {
        let slots = self.cfg.archives;
        let overwrite = self.cfg.on_full == OnFull::OverwriteOldest;
        self.archives = self.family.scan()?;
        if overwrite {
            // Archives beyond the configured count (left by a larger earlier setting) go first.
            while self.archives.last().is_some_and(|a| a.index >= slots) {
                if let Some(a) = self.archives.pop() {
                    self.remove_archive(a, RemovalReason::ArchiveCount, removed)?;
                }
            }
        }
        if first_free_slot(&self.archives, slots).is_none() {
            if !overwrite {
                return Ok(Some((0, FullCause::ArchiveSlots { archives: slots })));
            }
            while self.archives.last().is_some_and(|a| a.index + 1 >= slots) {
                if let Some(a) = self.archives.pop() {
                    self.remove_archive(a, RemovalReason::ArchiveCount, removed)?;
                }
            }
        }
        let old_bytes = |archives: &[ArchiveFile]| archives.iter().map(|a| a.bytes).sum::<u64>();
        let limit = self.cfg.max_total_bytes;
        // Under Stop, a retry while nothing changed need not compress the file again.
        if let Some((len, size)) = self.pending_archive {
            let used = old_bytes(&self.archives) + self.current_bytes;
            let after = old_bytes(&self.archives) + size + need;
            if !overwrite && len == self.current_bytes && after > limit {
                return Ok(Some((after - limit, FullCause::TotalBytes { used, limit })));
            }
        }
        let temp = self.family.temp();
        let archive_size = if self.cfg.compress {
            write_gzip(&self.current_path, self.current_bytes, &temp)?
        } else {
            self.current_bytes
        };
        loop {
            let used = old_bytes(&self.archives) + self.current_bytes;
            let after = old_bytes(&self.archives) + archive_size + need;
            if after <= limit {
                break;
            }
            if overwrite {
                if let Some(a) = self.archives.pop() {
                    self.remove_archive(a, RemovalReason::TotalBytes, removed)?;
                    continue;
                }
            }
            remove_if_exists(&temp)?;
            self.pending_archive = Some((self.current_bytes, archive_size));
            return Ok(Some((after - limit, FullCause::TotalBytes { used, limit })));
        }
        let result = self.commit_rotation(&temp, archive_size);
        if result.is_err() {
            // Best effort: the temp file is also removed by the next rotation or open.
            let _ = remove_if_exists(&temp);
        }
        result?;
        self.pending_archive = None;
        Ok(None)
    }

    fn commit_rotation(&mut self, temp: &Path, archive_size: u64) -> Result<(), AuditFileError> {
        let slots = self.cfg.archives;
        let free = first_free_slot(&self.archives, slots).unwrap_or(0);
        // Oldest first, so that no rename lands on a name still in use. The in-memory list
        // follows each rename, so it stays exact even if a later step fails.
        for a in self.archives.iter_mut().rev() {
            if a.index < free {
                let to = self.family.archive(a.index + 1, a.compressed);
                fs::rename(&a.path, &to).map_err(|e| io_error(&a.path, "shift archive", e))?;
                a.index += 1;
                a.path = to;
            }
        }
        let dir = self.family.dir().to_path_buf();
        if self.cfg.compress {
            let newest = self.family.archive(0, true);
            fs::rename(temp, &newest).map_err(|e| io_error(&newest, "rename new archive", e))?;
            self.record_new_archive(newest, archive_size, true);
            sync_dir(&dir)?;
            self.current_bytes = 0;
            if let Err(e) = truncate_synced(&self.file, &self.current_path, 0) {
                self.needs_repair = true;
                return Err(e);
            }
        } else {
            // The lines must be durable before their file changes name.
            self.file
                .sync_all()
                .map_err(|e| io_error(&self.current_path, "sync before rotation", e))?;
            remove_if_exists(temp)?;
            open_append(temp)?;
            let newest = self.family.archive(0, false);
            fs::rename(&self.current_path, &newest)
                .map_err(|e| io_error(&newest, "rename current file to archive", e))?;
            self.record_new_archive(newest, self.current_bytes, false);
            // From here `self.file` is the archive's inode: if a step below fails, the next
            // call must open a current file again before writing anything.
            self.needs_reopen = true;
            self.current_bytes = 0;
            fs::rename(temp, &self.current_path).map_err(|e| {
                io_error(&self.current_path, "put the new current file in place", e)
            })?;
            sync_dir(&dir)?;
            self.reopen_current()?;
        }
        Ok(())
    }
}

impl AuditFile {
    fn record_new_archive(&mut self, path: PathBuf, bytes: u64, compressed: bool) {
        self.archives.insert(
            0,
            ArchiveFile {
                index: 0,
                path,
                bytes,
                compressed,
            },
        );
    }
}

/// Opens `path` and takes an exclusive, non-blocking `flock` on it.
// The crate's one unsafe call: std's `File::try_lock` needs Rust 1.89, newer
// than the workspace's rust-version.
#[allow(unsafe_code)]
fn lock_family(path: &Path) -> Result<File, AuditFileError> {
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

fn first_free_slot(archives: &[ArchiveFile], slots: u32) -> Option<u32> {
    (0..slots).find(|i| !archives.iter().any(|a| a.index == *i))
}

/// True when `path` is an existing regular file, false when absent; an error for anything else.
fn check_regular_file(path: &Path) -> Result<bool, AuditFileError> {
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

fn open_append(path: &Path) -> Result<File, AuditFileError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_error(path, "open for append", e))
}

fn truncate_synced(file: &File, path: &Path, len: u64) -> Result<(), AuditFileError> {
    file.set_len(len)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, "truncate", e))
}

/// Length of the prefix of `file` that ends with its last LF (0 when it has none).
fn last_line_end(path: &Path, len: u64) -> Result<u64, AuditFileError> {
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

#[cfg(test)]
mod tests {
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
}
