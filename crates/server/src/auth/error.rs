//! The auth crate part's one error type.

use super::schema::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AuthError {
    #[error("auth database {path}: {source}")]
    Database {
        path: String,
        source: rusqlite::Error,
    },
    #[error("auth database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("unknown role '{0}' (expected admin, auditor or reporter)")]
    InvalidRole(String),
    #[error("invalid user name '{0}': 1 to 64 characters of A-Z a-z 0-9 . _ - @")]
    InvalidName(String),
    #[error("password must be 12 to 1024 characters")]
    WeakPassword,
    #[error("user '{0}' already exists")]
    UserExists(String),
    #[error("no user '{0}'")]
    NoSuchUser(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(
        "auth database schema version {0} is newer than this netaudit knows ({SCHEMA_VERSION})"
    )]
    SchemaTooNew(i64),
    #[error("cannot queue the audit event: {0}")]
    Outbox(String),
    /// The users' database on a PostgreSQL store.
    #[error("users database: {0}")]
    Shared(#[from] netaudit_pgstore::PgStoreError),
}

impl AuthError {
    /// True when another process holds the database's lock beyond the
    /// busy timeout: a passing condition, not a fault of this server.
    pub(crate) fn is_busy(&self) -> bool {
        let sql = match self {
            AuthError::Sql(e) => e,
            AuthError::Database { source, .. } => source,
            _ => return false,
        };
        matches!(
            sql.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}
