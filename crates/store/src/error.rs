//! The store's one error type: every message names the file and the cause.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {op}: {source}")]
    Sqlite {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: not a netaudit database ({reason})")]
    Foreign { path: PathBuf, reason: String },
    #[error("{path}: database schema version {found} is newer than this netaudit supports ({supported}); use a newer netaudit")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{path}: key file: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("{path}: the store is in use by another netaudit process (lock held)")]
    Locked { path: PathBuf },
    #[error("{path}: inconsistent store: {reason}")]
    Inconsistent { path: PathBuf, reason: String },
    #[error("invalid query: {0}")]
    Query(String),
    #[error("cursor '{name}': expected position {expected}, found {found} (another consumer advanced it)")]
    CursorConflict {
        name: String,
        expected: u64,
        found: u64,
    },
    #[error("cursor '{name}': cannot advance to {to}: the store ends at sequence {last}")]
    CursorBeyondEnd { name: String, to: u64, last: u64 },
    #[error("{what}: value {value} does not fit (sequence numbers and times must fit in a signed 64-bit integer)")]
    OutOfRange { what: &'static str, value: u64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches a path and an operation to SQLite and I/O errors.
pub(crate) trait Context<T> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, rusqlite::Error> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op,
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            op,
            source,
        })
    }
}
