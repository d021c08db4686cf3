//! Opening `auth.db`, its connections, and changes made together with
//! their audit record.
//!
//! Connections come from a small pool (a new one is opened when all are in
//! use), so that a request waiting for another process's lock does not hold
//! up every other request behind one mutex. Each waits at most
//! [`BUSY_TIMEOUT`]; callers run on the blocking pool, never on the async
//! workers.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection};

use super::error::AuthError;
use super::schema::{MIGRATIONS, SCHEMA_VERSION};
use super::shared_users::SharedUsers;
use crate::clock::now_ns;

/// How long one statement waits for another process's lock on `auth.db`
/// before it fails as busy (the API answers 503 then).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Idle connections kept for reuse.
const POOL_KEEP: usize = 8;

/// The auth database: `auth.db`, and on a PostgreSQL store the users
/// shared by every node (`shared`), which then hold users, tokens and the
/// lockout in place of `auth.db`'s tables (`auth.db` keeps this node's
/// operations and its outbox).
pub(crate) struct AuthDb {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    pub(super) shared: Option<SharedUsers>,
}

/// A connection taken from the pool; it goes back when dropped.
pub(super) struct Pooled<'a> {
    db: &'a AuthDb,
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Present from creation until drop.
        self.conn.as_ref().expect("pooled connection present")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("pooled connection present")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.db.idle();
            if idle.len() < POOL_KEEP && conn.is_autocommit() {
                idle.push(conn);
            }
        }
    }
}

fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

impl AuthDb {
    /// Opens (creating when missing, mode 0600) and migrates `path`.
    pub(crate) fn open(path: &Path) -> Result<AuthDb, AuthError> {
        let db_err = |source| AuthError::Database {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = connect(path).map_err(db_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.execute_batch("PRAGMA journal_mode=WAL;")
            .map_err(db_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(AuthError::SchemaTooNew(version));
        }
        if version < SCHEMA_VERSION {
            // Numbered migrations, all in one transaction.
            let steps: String = MIGRATIONS
                .iter()
                .skip(usize::try_from(version).unwrap_or(0))
                .copied()
                .collect();
            conn.execute_batch(&format!(
                "BEGIN; {steps} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(db_err)?;
        }
        Ok(AuthDb {
            path: path.to_owned(),
            idle: Mutex::new(vec![conn]),
            shared: None,
        })
    }

    /// The auth database a configuration names: `api.auth_db`, and on
    /// `store.backend = "postgres"` the users in that database.
    pub(crate) fn open_configured(config: &crate::config::Config) -> anyhow::Result<AuthDb> {
        AuthDb::open_for(&config.api, &config.store)
    }

    /// [`AuthDb::open_configured`] from the `[api]` and `[store]` tables.
    pub(crate) fn open_for(
        api: &crate::config::ApiConfig,
        store: &crate::config::StoreConfig,
    ) -> anyhow::Result<AuthDb> {
        let db = AuthDb::open(&api.auth_db_path(store))?;
        Ok(match &store.backend {
            crate::config::store_backend::StoreBackend::Postgres(node) => {
                db.with_shared(SharedUsers::new(node.spec()?, &node.node))
            }
            _ => db,
        })
    }

    /// Only the users of a PostgreSQL store (`netaudit user --store`): the
    /// local part, which such a change does not use, is an empty database
    /// in memory.
    pub(crate) fn shared_only(shared: SharedUsers) -> Result<AuthDb, AuthError> {
        Ok(AuthDb::open(Path::new(":memory:"))?.with_shared(shared))
    }

    /// Users, tokens and the lockout in PostgreSQL rather than here.
    pub(crate) fn with_shared(mut self, shared: SharedUsers) -> AuthDb {
        self.shared = Some(shared);
        self
    }

    /// The shared users' database, on a PostgreSQL store.
    pub(crate) fn shared(&self) -> Option<&SharedUsers> {
        self.shared.as_ref()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The pool is a plain list: a panic elsewhere leaves it consistent.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, or a new one.
    pub(super) fn conn(&self) -> Result<Pooled<'_>, AuthError> {
        let reused = self.idle().pop();
        let conn = match reused {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        Ok(Pooled {
            db: self,
            conn: Some(conn),
        })
    }

    /// Runs `change` in one transaction (taking the write lock at its
    /// start); with `audit`, queues that event in the outbox in the same
    /// transaction, so that the change is made only if its audit record is
    /// kept.
    pub(super) fn run_audited<T>(
        &self,
        audit: Option<&netaudit_event::Event>,
        change: impl FnOnce(&Connection) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let text = audit
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| AuthError::Outbox(e.to_string()))?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let value = change(&tx)?;
        if let Some(text) = text {
            tx.execute(
                "INSERT INTO audit_outbox (event, created_ns) VALUES (?1, ?2)",
                params![text, now_ns()],
            )?;
        }
        tx.commit()?;
        Ok(value)
    }

    /// Queues `event` in the outbox alone (a change made outside this
    /// database, e.g. by `netaudit setup`); `netaudit serve` stores it.
    pub(crate) fn queue_audit_event(&self, event: &netaudit_event::Event) -> Result<(), AuthError> {
        self.run_audited(Some(event), |_| Ok(()))
    }

    /// A connection, for the operations table (api::operations).
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let conn = self.conn()?;
        f(&conn)
    }

    /// `f` in one transaction that holds the write lock from its start
    /// (check-and-set without a race between connections).
    pub(crate) fn with_write_tx<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        self.run_audited(None, f)
    }
}
