//! Local users, roles, argon2id password hashes, API tokens and the
//! authentication policy, kept in a small SQLite file (`auth.db`) of its own.
//!
//! Events are not kept here: whatever happens to a user is an event in the
//! main store. This file holds only the state the policy needs, and the
//! audit outbox: events of changes made while the store belongs to a
//! running server (`netaudit user`), queued in the change's own transaction
//! until the server moves them into the store.

use std::path::Path;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Users, policy, outputs.
    Admin,
    /// Read, query, verify, export.
    Auditor,
    /// Submit events and operations only.
    Reporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Reporter => "reporter",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = AuthError;
    fn from_str(s: &str) -> Result<Role, AuthError> {
        match s {
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            "reporter" => Ok(Role::Reporter),
            other => Err(AuthError::InvalidRole(other.to_string())),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
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
}

/// One user as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub locked: bool,
    pub created_ns: i64,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Unknown user or wrong password.
    BadCredentials,
    /// The account is locked (even the right password is refused).
    Locked,
}

impl LoginRefusal {
    /// Juniper-JUNOScope-Login-Failure-Reason wording.
    pub fn reason(self) -> &'static str {
        match self {
            LoginRefusal::BadCredentials => "Authentication Failure",
            LoginRefusal::Locked => "User Account Locked",
        }
    }
}

/// The outcome of a password check under the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Accepted(User),
    /// Refused; `now_locked` when this failure reached Maximum Login Attempts.
    Refused {
        refusal: LoginRefusal,
        now_locked: bool,
    },
}

/// Maximum Login Attempts within an Access Window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_login_attempts: u32,
    pub access_window_ns: i64,
}

/// The longest user name; names end up in syslog lines and RADIUS attributes.
pub const NAME_MAX: usize = 64;

/// Checks a user name: 1..=64 of `A-Z a-z 0-9 . _ - @`.
pub fn validate_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::InvalidName(name.chars().take(80).collect()))
    }
}

fn validate_password(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if (12..=1024).contains(&chars) {
        Ok(())
    } else {
        Err(AuthError::WeakPassword)
    }
}

/// argon2id with OWASP's first recommended setting: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// True when `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    match hasher() {
        Ok(argon) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A PHC string for a password nobody has: unknown users cost the same
/// verification time as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("netaudit-no-such-user-password").unwrap_or_default())
}

/// A fresh random secret with a prefix naming its kind (`na_tok_`, `na_ses_`).
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Tokens are stored as SHA-256 digests (they are random, so no salt).
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub const TOKEN_PREFIX: &str = "na_tok_";

const SCHEMA_VERSION: i64 = 2;

const SCHEMA_V1: &str = "
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    locked INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    first_failure_ns INTEGER,
    created_ns INTEGER NOT NULL
);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created_ns INTEGER NOT NULL
);
CREATE TABLE operations (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    user TEXT NOT NULL,
    client_addr TEXT,
    started_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
CREATE TABLE leaves (
    operation TEXT NOT NULL REFERENCES operations(name) ON DELETE CASCADE,
    device TEXT NOT NULL,
    status TEXT,
    detail TEXT,
    updated_ns INTEGER,
    PRIMARY KEY (operation, device)
);
";

/// Version 2: the audit outbox (see the module documentation).
const SCHEMA_V2: &str = "
CREATE TABLE audit_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);
";

/// The auth database. One connection behind a mutex: traffic is small
/// (logins, user changes, token lookups).
pub struct AuthDb {
    conn: Mutex<Connection>,
}

pub use crate::clock::now_ns;

impl AuthDb {
    /// Opens (creating when missing, mode 0600) and migrates `path`.
    pub fn open(path: &Path) -> Result<AuthDb, AuthError> {
        let db_err = |source| AuthError::Database {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let conn = Connection::open(path).map_err(db_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db_err)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
            .map_err(db_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(AuthError::SchemaTooNew(version));
        }
        if version < SCHEMA_VERSION {
            // Numbered migrations, all in one transaction.
            let steps: String = [SCHEMA_V1, SCHEMA_V2]
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
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (transactions roll back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `change`; with `audit`, queues that event in the outbox in the
    /// same transaction, so that the change is made only if its audit
    /// record is kept.
    fn run_audited<T>(
        &self,
        audit: Option<&netaudit_event::Event>,
        change: impl FnOnce(&Connection) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let mut conn = self.conn();
        let Some(event) = audit else {
            return change(&conn);
        };
        let text = serde_json::to_string(event).map_err(|e| AuthError::Outbox(e.to_string()))?;
        let tx = conn.transaction()?;
        let value = change(&tx)?;
        tx.execute(
            "INSERT INTO audit_outbox (event, created_ns) VALUES (?1, ?2)",
            params![text, now_ns()],
        )?;
        tx.commit()?;
        Ok(value)
    }

    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<User, AuthError> {
        self.add_user_audited(name, role, password, None)
    }

    /// [`AuthDb::add_user`], queueing `audit` with it (see `run_audited`).
    pub fn add_user_audited(
        &self,
        name: &str,
        role: Role,
        password: &str,
        audit: Option<&netaudit_event::Event>,
    ) -> Result<User, AuthError> {
        validate_name(name)?;
        validate_password(password)?;
        let hash = hash_password(password)?;
        let created_ns = now_ns();
        self.run_audited(audit, |conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO users (name, role, password_hash, created_ns) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), hash, created_ns],
            )?;
            if inserted == 0 {
                return Err(AuthError::UserExists(name.to_string()));
            }
            Ok(User {
                name: name.to_string(),
                role,
                locked: false,
                created_ns,
            })
        })
    }

    /// Up to `limit` queued audit events, oldest first, with their ids. A
    /// row that is not a valid event (edited by hand) comes back as an
    /// unparsed event carrying its text, so that it is stored, not lost.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(i64, netaudit_event::Event)>, AuthError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, event, created_ns FROM audit_outbox ORDER BY id LIMIT ?1")?;
        let rows = stmt.query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (id, text, created_ns) = row?;
            let event = serde_json::from_str(&text).unwrap_or_else(|e| netaudit_event::Event {
                received_ns: created_ns,
                raw: text.clone().into_bytes(),
                parse_error: Some(
                    format!("audit outbox row {id} is not a valid event: {e}").into(),
                ),
                ..netaudit_event::Event::default()
            });
            events.push((id, event));
        }
        Ok(events)
    }

    /// Forgets queued audit events up to `id` (they are in the store).
    pub fn remove_from_outbox(&self, through_id: i64) -> Result<usize, AuthError> {
        Ok(self.conn().execute(
            "DELETE FROM audit_outbox WHERE id <= ?1",
            params![through_id],
        )?)
    }

    pub fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        let deleted = self
            .conn()
            .execute("DELETE FROM users WHERE name = ?1", params![name])?;
        if deleted == 0 {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        Ok(())
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, AuthError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT name, role, locked, created_ns FROM users WHERE name = ?1",
                params![name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(name, role, locked, created_ns)| {
            Ok(User {
                name,
                role: role.parse()?,
                locked,
                created_ns,
            })
        })
        .transpose()
    }

    pub fn users(&self) -> Result<Vec<User>, AuthError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT name, role, locked, created_ns FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut users = Vec::new();
        for row in rows {
            let (name, role, locked, created_ns) = row?;
            users.push(User {
                name,
                role: role.parse()?,
                locked,
                created_ns,
            });
        }
        Ok(users)
    }

    /// Locks or unlocks; unlocking also forgets counted failures.
    pub fn set_locked(&self, name: &str, locked: bool) -> Result<(), AuthError> {
        self.set_locked_audited(name, locked, None)
    }

    /// [`AuthDb::set_locked`], queueing `audit` with it.
    pub fn set_locked_audited(
        &self,
        name: &str,
        locked: bool,
        audit: Option<&netaudit_event::Event>,
    ) -> Result<(), AuthError> {
        self.run_audited(audit, |conn| {
            let changed = conn.execute(
                "UPDATE users SET locked = ?2, failures = 0, first_failure_ns = NULL WHERE name = ?1",
                params![name, locked],
            )?;
            if changed == 0 {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            Ok(())
        })
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        self.set_password_audited(name, password, None)
    }

    /// [`AuthDb::set_password`], queueing `audit` with it.
    pub fn set_password_audited(
        &self,
        name: &str,
        password: &str,
        audit: Option<&netaudit_event::Event>,
    ) -> Result<(), AuthError> {
        validate_password(password)?;
        let hash = hash_password(password)?;
        self.run_audited(audit, |conn| {
            let changed = conn.execute(
                "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                params![name, hash],
            )?;
            if changed == 0 {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            Ok(())
        })
    }

    /// Makes an API token for `name` (shown once; only its digest is kept).
    pub fn create_token(&self, name: &str) -> Result<String, AuthError> {
        if self.user(name)?.is_none() {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        let token = random_secret(TOKEN_PREFIX);
        self.conn().execute(
            "INSERT INTO tokens (digest, user, created_ns) VALUES (?1, ?2, ?3)",
            params![token_digest(&token), name, now_ns()],
        )?;
        Ok(token)
    }

    /// The user an API token belongs to (locked users' tokens are refused).
    pub fn token_user(&self, token: &str) -> Result<Option<User>, AuthError> {
        let name: Option<String> = self
            .conn()
            .query_row(
                "SELECT user FROM tokens WHERE digest = ?1",
                params![token_digest(token)],
                |r| r.get(0),
            )
            .optional()?;
        match name {
            Some(name) => Ok(self.user(&name)?.filter(|u| !u.locked)),
            None => Ok(None),
        }
    }

    /// Checks a password under `policy`: failures within the access window
    /// are counted and reaching the maximum locks the account; a locked
    /// account is refused whatever the password.
    pub fn check_login(
        &self,
        name: &str,
        password: &str,
        policy: Policy,
        now: i64,
    ) -> Result<LoginOutcome, AuthError> {
        let row: Option<(String, String, bool, i64)> = self
            .conn()
            .query_row(
                "SELECT role, password_hash, locked, created_ns FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((role, hash, locked, created_ns)) = row else {
            // Same cost as a real check, so timing does not tell names apart.
            let _ = verify_password(password, dummy_hash());
            return Ok(LoginOutcome::Refused {
                refusal: LoginRefusal::BadCredentials,
                now_locked: false,
            });
        };
        if locked {
            return Ok(LoginOutcome::Refused {
                refusal: LoginRefusal::Locked,
                now_locked: false,
            });
        }
        if verify_password(password, &hash) {
            // Locked (or deleted) while the password was being checked: refused.
            let reset = self.conn().execute(
                "UPDATE users SET failures = 0, first_failure_ns = NULL WHERE name = ?1 AND locked = 0",
                params![name],
            )?;
            if reset == 0 {
                return Ok(LoginOutcome::Refused {
                    refusal: LoginRefusal::Locked,
                    now_locked: false,
                });
            }
            return Ok(LoginOutcome::Accepted(User {
                name: name.to_string(),
                role: role.parse()?,
                locked: false,
                created_ns,
            }));
        }
        // Counted under one lock: concurrent failures cannot be lost, and
        // only the failure that reaches the maximum reports the lock.
        let conn = self.conn();
        let current: Option<(bool, u32, Option<i64>)> = conn
            .query_row(
                "SELECT locked, failures, first_failure_ns FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((already_locked, failures, first_failure)) = current else {
            // Deleted meanwhile.
            return Ok(LoginOutcome::Refused {
                refusal: LoginRefusal::BadCredentials,
                now_locked: false,
            });
        };
        if already_locked {
            return Ok(LoginOutcome::Refused {
                refusal: LoginRefusal::Locked,
                now_locked: false,
            });
        }
        // A failure outside the window starts a new count.
        let (failures, first) = match first_failure {
            Some(first) if now.saturating_sub(first) <= policy.access_window_ns => {
                (failures.saturating_add(1), first)
            }
            _ => (1, now),
        };
        let now_locked = failures >= policy.max_login_attempts;
        conn.execute(
            "UPDATE users SET failures = ?2, first_failure_ns = ?3, locked = ?4 WHERE name = ?1",
            params![name, failures, first, now_locked],
        )?;
        Ok(LoginOutcome::Refused {
            refusal: LoginRefusal::BadCredentials,
            now_locked,
        })
    }

    /// The connection, for the operations table (api::operations).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        f(&self.conn())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_database_gains_the_outbox_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA_V1} PRAGMA user_version = 1; COMMIT;"
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO users (name, role, password_hash, created_ns) VALUES ('old', 'admin', 'x', 1)",
                [],
            )
            .unwrap();
        }
        let db = AuthDb::open(&path).unwrap();
        assert!(db.user("old").unwrap().is_some(), "users kept");
        let event = netaudit_event::Event {
            code: Some("JUNOSCOPE_USER_LOCKED_BY_ADMIN".into()),
            ..netaudit_event::Event::default()
        };
        db.set_locked_audited("old", true, Some(&event)).unwrap();
        // A refused change queues nothing.
        assert!(db.set_locked_audited("ghost", true, Some(&event)).is_err());
        let queued = db.outbox(10).unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].1, event);
        assert_eq!(db.remove_from_outbox(queued[0].0).unwrap(), 1);
        assert!(db.outbox(10).unwrap().is_empty());
        // A row edited into garbage is handed over as an unparsed event.
        db.with_conn(|c| {
            c.execute(
                "INSERT INTO audit_outbox (event, created_ns) VALUES ('not json', 5)",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        let garbage = db.outbox(10).unwrap();
        assert_eq!(garbage[0].1.raw, b"not json");
        assert!(garbage[0]
            .1
            .parse_error
            .as_deref()
            .unwrap()
            .contains("not a valid event"));
        drop(db);
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 3;")
            .unwrap();
        assert!(matches!(
            AuthDb::open(&path),
            Err(AuthError::SchemaTooNew(3))
        ));
    }

    fn policy() -> Policy {
        Policy {
            max_login_attempts: 3,
            access_window_ns: 60_000_000_000,
        }
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn failures_within_the_window_lock_and_a_locked_user_cannot_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("alice", Role::Auditor, "a long enough password")
            .unwrap();
        let t0 = 1_000_000_000_000;
        for i in 0..3 {
            let outcome = db.check_login("alice", "wrong", policy(), t0 + i).unwrap();
            assert_eq!(
                outcome,
                LoginOutcome::Refused {
                    refusal: LoginRefusal::BadCredentials,
                    now_locked: i == 2
                }
            );
        }
        let outcome = db
            .check_login("alice", "a long enough password", policy(), t0 + 10)
            .unwrap();
        assert_eq!(
            outcome,
            LoginOutcome::Refused {
                refusal: LoginRefusal::Locked,
                now_locked: false
            }
        );
        db.set_locked("alice", false).unwrap();
        assert!(matches!(
            db.check_login("alice", "a long enough password", policy(), t0 + 20)
                .unwrap(),
            LoginOutcome::Accepted(_)
        ));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("bob", Role::Reporter, "a long enough password")
            .unwrap();
        let window = policy().access_window_ns;
        for i in 0..5 {
            let outcome = db
                .check_login("bob", "wrong", policy(), i * (window + 1))
                .unwrap();
            assert!(matches!(
                outcome,
                LoginOutcome::Refused {
                    now_locked: false,
                    ..
                }
            ));
        }
    }

    #[test]
    fn tokens_name_their_user_and_names_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = AuthDb::open(&dir.path().join("auth.db")).unwrap();
        db.add_user("app1", Role::Reporter, "a long enough password")
            .unwrap();
        let token = db.create_token("app1").unwrap();
        assert_eq!(db.token_user(&token).unwrap().unwrap().name, "app1");
        assert!(db.token_user("na_tok_wrong").unwrap().is_none());
        assert!(matches!(
            db.add_user("app1", Role::Admin, "a long enough password"),
            Err(AuthError::UserExists(_))
        ));
        assert!(matches!(
            db.add_user("bad\nname", Role::Admin, "a long enough password"),
            Err(AuthError::InvalidName(_))
        ));
        assert!(matches!(
            db.add_user("short", Role::Admin, "short"),
            Err(AuthError::WeakPassword)
        ));
        db.delete_user("app1").unwrap();
        assert!(db.token_user(&token).unwrap().is_none());
    }
}

#[cfg(test)]
mod concurrency_tests {
    use super::*;

    #[test]
    fn concurrent_failures_are_all_counted_and_lock_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = std::sync::Arc::new(AuthDb::open(&dir.path().join("auth.db")).unwrap());
        db.add_user("carol", Role::Auditor, "a long enough password")
            .unwrap();
        let policy = Policy {
            max_login_attempts: 4,
            access_window_ns: i64::MAX,
        };
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    db.check_login("carol", "wrong", policy, 1_000 + i).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<LoginOutcome> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let locks = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    LoginOutcome::Refused {
                        now_locked: true,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(locks, 1, "{outcomes:?}");
        assert!(db.user("carol").unwrap().unwrap().locked);
    }
}
