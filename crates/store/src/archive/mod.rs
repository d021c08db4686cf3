//! Signed partition archives: what retention writes before it drops a
//! partition (when `RetentionPolicy::archive_to` is set), and what
//! `netaudit archive verify` and `import` read, offline (docs/archives.md).
//!
//! ```text
//! contents.rs  the manifest, the archived event and checkpoint records, names
//! write.rs     exporting a partition: temp files, tar, fsync, rename
//! read.rs      opening an archive: digests, signature, chain; its events
//! ```

mod contents;
mod read;
mod write;

pub use contents::archive_file_name;
pub use read::{read_archive_events, verify_archive, ArchiveReport};
pub(crate) use write::archive_partition;
