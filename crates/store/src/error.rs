//! The store's one error type: every message names the file and the cause.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file system operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the store was doing.
        op: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An SQLite call failed.
    #[error("{path}: {op}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing.
        op: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An SQLite database that is not a netaudit catalog or partition.
    #[error("{path}: not a netaudit database ({reason})")]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// How it was told apart.
        reason: ForeignReason,
    },
    /// SQLite says so when it first reads the file.
    #[error(
        "{path}: not a netaudit database (the file is not an SQLite database (or it is corrupt))"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// A schema written by a newer netaudit.
    #[error("{path}: database schema version {found} is newer than this netaudit supports ({supported}); use a newer netaudit")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version (`user_version`).
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The key file or a verify key is missing, malformed or does not
    /// belong to this store.
    #[error("{path}: key file: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process holds the store's writer lock.
    #[error("{path}: the store is in use by another netaudit process (lock held)")]
    Locked {
        /// The locked catalog.
        path: PathBuf,
    },
    /// The files disagree with each other or with what the store wrote.
    #[error("{path}: inconsistent store: {reason}")]
    Inconsistent {
        /// The file where it was found.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// A query with `limit` 0.
    #[error("invalid query: limit must be at least 1")]
    ZeroLimit,
    /// A compare-and-set cursor advance lost against another one.
    #[error("cursor '{name}': expected position {expected}, found {found} (another consumer advanced it)")]
    CursorConflict {
        /// The cursor.
        name: String,
        /// The position the caller read.
        expected: u64,
        /// The position it has now.
        found: u64,
    },
    /// A cursor advance past the last stored event.
    #[error("cursor '{name}': cannot advance to {to}: the store ends at sequence {last}")]
    CursorBeyondEnd {
        /// The cursor.
        name: String,
        /// The position asked for.
        to: u64,
        /// The last sequence number stored.
        last: u64,
    },
    /// A sequence number or time beyond what SQLite's signed integers hold.
    #[error("{what}: value {value} does not fit (sequence numbers and times must fit in a signed 64-bit integer)")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value.
        value: u64,
    },
}

/// Why an SQLite file is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignReason {
    /// A catalog opened as a partition, or the other way round.
    OtherKind,
    /// Another application's database (not empty, not ours).
    ApplicationId {
        /// Its `application_id`.
        found: i64,
        /// How many schema objects it has.
        objects: i64,
    },
    /// Opened read-only as a catalog, with another application id.
    NotACatalog {
        /// Its `application_id`.
        found: i64,
    },
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

/// The store's result type.
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
