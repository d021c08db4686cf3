//! What the audit file reports back: the outcome of a write, the removed
//! archives and why, the usage of the family, and what opening recovered.

use std::path::PathBuf;

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
