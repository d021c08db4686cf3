//! Local audit files, like Junos `syslog file NAME archive files N size S`.
//!
//! An [`AuditFile`] receives already formatted lines (a store consumer's batch), appends each
//! with one LF, rotates by size into N archives (`name.0.gz` newest .. `name.<N-1>.gz` oldest),
//! bounds the bytes of the whole family, and, when the storage is full, either deletes the
//! oldest archives or stops and reports `StorageFull` (NDcPP FAU_STG_EXT.1). Lines are never
//! split or half-written; rotation is rename-based and survives a crash at any point.
//! See `docs/audit-files.md`.

mod archive;
mod config;
mod error;
mod family;
mod file_io;
mod outcome;
mod writer;

pub use config::{archive_size_bound, AuditFileConfig, OnFull, SyncPolicy, MAX_ARCHIVES};
pub use error::AuditFileError;
pub use family::ArchiveFile;
pub use outcome::{FullCause, Recovery, RemovalReason, RemovedArchive, Usage, WriteOutcome};
pub use writer::AuditFile;
