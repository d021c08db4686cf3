//! `AuditFile`: appends whole lines, rotates by size, keeps N archives, bounds the total.
//!
//! Invariants kept between calls:
//! * `current_bytes` is the length of the current file and always ends on a line boundary
//!   (when a write or a truncation fails, `needs_repair` makes the next call cut the file back
//!   to it before anything else is written);
//! * archive slots are filled from 0 (newest) upwards; a rotation shifts only up to the first
//!   free slot, so gaps left by an operator or by a crash are harmless and ages stay in order;
//! * with `OnFull::Stop` nothing is ever deleted.

use std::fs::{self, DirBuilder, File};
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::archive::{gzip_holds_exactly, remove_if_exists, write_gzip};
use crate::config::{AuditFileConfig, OnFull, SyncPolicy};
use crate::error::{io_error, AuditFileError};
use crate::family::{sync_dir, ArchiveFile, Family};
use crate::file_io::{
    check_regular_file, first_free_slot, last_line_end, lock_family, open_append, truncate_synced,
};
use crate::outcome::{FullCause, Recovery, RemovalReason, RemovedArchive, Usage, WriteOutcome};

/// Mode of a directory the crate creates.
const DIR_MODE: u32 = 0o750;

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

#[cfg(test)]
mod tests;
