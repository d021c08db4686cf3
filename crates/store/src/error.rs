//! The store's one error type: every message names the file and the cause.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    Foreign {
        path: PathBuf,
        reason: ForeignReason,
    },
    /// SQLite says so when it first reads the file.
    #[error(
        "{path}: not a netaudit database (the file is not an SQLite database (or it is corrupt))"
    )]
    NotADatabase { path: PathBuf },
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
    #[error("invalid query: limit must be at least 1")]
    ZeroLimit,
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

/// Why an SQLite file is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignReason {
    /// A catalog opened as a partition, or the other way round.
    OtherKind,
    /// Another application's database (not empty, not ours).
    ApplicationId { found: i64, objects: i64 },
    /// Opened read-only as a catalog, with another application id.
    NotACatalog { found: i64 },
}

impl std::fmt::Display for ForeignReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForeignReason::OtherKind => {
                f.write_str("it is a netaudit file of another kind (catalog vs partition)")
            }
            ForeignReason::ApplicationId { found, objects } => write!(
                f,
                "application_id is {found:#x} and it has {objects} schema objects"
            ),
            ForeignReason::NotACatalog { found } => {
                write!(f, "application_id is {found:#x}, not a netaudit catalog")
            }
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches a path and an operation to SQLite and I/O errors.
pub(crate) trait Context<T> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T>;
}

/// [`Context::at`] for the first statements that read a file: SQLite finds
/// out only then that a file is not a database, which is reported as such.
pub(crate) fn at_first_read(
    path: &std::path::Path,
    op: &'static str,
    e: rusqlite::Error,
) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            op,
            source: e,
        },
    }
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
