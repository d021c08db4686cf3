//! `[[output.file]]`: a local audit file with rotation (netaudit-auditfile).

use std::path::PathBuf;

use netaudit_auditfile::{OnFull, SyncPolicy};
use serde::Deserialize;

use super::format::OutputFormat;
use crate::config::error::ConfigError;

const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
const DEFAULT_ARCHIVES: u32 = 10;
const DEFAULT_MAX_TOTAL_BYTES: u64 = 1024 * 1024 * 1024;

/// One `[[output.file]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileOutput {
    name: String,
    dir: PathBuf,
    max_file_bytes: Option<u64>,
    archives: Option<u32>,
    compress: Option<bool>,
    max_total_bytes: Option<u64>,
    on_full: Option<OnFull>,
    sync: Option<SyncPolicy>,
    format: Option<OutputFormat>,
}

/// One `[[output.file]]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileOutputConfig {
    /// Unique; the file's base name and the name of its durable cursor.
    pub name: String,
    pub dir: PathBuf,
    /// Rotate when the current file would grow past this.
    pub max_file_bytes: u64,
    /// How many rotated files are kept.
    pub archives: u32,
    /// gzip rotated files.
    pub compress: bool,
    /// Limit for the current file plus archives together.
    pub max_total_bytes: u64,
    /// `overwrite-oldest` (default) or `stop`.
    pub on_full: OnFull,
    /// When written lines are forced to disk: `every-batch` (default) or `never`.
    pub sync: SyncPolicy,
    pub format: OutputFormat,
}

impl RawFileOutput {
    /// Checks the table; key paths are relative to it.
    pub(crate) fn resolve(self) -> Result<FileOutputConfig, ConfigError> {
        if self.name.is_empty() || self.name.contains(['/', '\\']) {
            return Err(ConfigError::invalid(
                "name",
                "must be a non-empty file name",
            ));
        }
        let max_file_bytes = self.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
        let max_total_bytes = self.max_total_bytes.unwrap_or(DEFAULT_MAX_TOTAL_BYTES);
        if max_file_bytes == 0 || max_total_bytes < max_file_bytes {
            return Err(ConfigError::invalid(
                "max_total_bytes",
                "max_file_bytes must be at least 1 and at most max_total_bytes",
            ));
        }
        Ok(FileOutputConfig {
            name: self.name,
            dir: self.dir,
            max_file_bytes,
            archives: self.archives.unwrap_or(DEFAULT_ARCHIVES),
            compress: self.compress.unwrap_or(false),
            max_total_bytes,
            on_full: self.on_full.unwrap_or(OnFull::OverwriteOldest),
            sync: self.sync.unwrap_or(SyncPolicy::EveryBatch),
            format: self.format.unwrap_or_default(),
        })
    }
}
