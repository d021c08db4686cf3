//! Users: creating, listing, deleting, locking and changing passwords.

use rusqlite::{params, OptionalExtension};

use super::db::AuthDb;
use super::error::AuthError;
use super::names::validate_name;
use super::passwords::{hash_password, validate_password};
use super::role::Role;
use super::shared_users::queued;
use crate::clock::now_ns;

/// One user as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct User {
    pub name: String,
    pub role: Role,
    pub locked: bool,
    pub created_ns: i64,
    /// On a PostgreSQL store, the count of password changes (a session
    /// opened under an older one is over on every node); 0 in `auth.db`.
    #[serde(skip)]
    pub credentials: i64,
}

type UserRow = (String, String, bool, i64);

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_user((name, role, locked, created_ns): UserRow) -> Result<User, AuthError> {
    Ok(User {
        name,
        role: role.parse()?,
        locked,
        created_ns,
        credentials: 0,
    })
}

/// A user stored in a PostgreSQL store, as the auth layer lists it.
pub(super) fn shared_user(record: netaudit_pgstore::UserRecord) -> Result<User, AuthError> {
    Ok(User {
        role: record.role.parse::<Role>()?,
        name: record.name,
        locked: record.locked,
        created_ns: record.created_ns,
        credentials: record.credentials,
    })
}

/// An audit event as the outboxes keep it.
fn audit_text(audit: Option<&netaudit_event::Event>) -> Result<Option<String>, AuthError> {
    audit
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| AuthError::Outbox(e.to_string()))
}

impl AuthDb {
    pub(crate) fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, AuthError> {
        self.add_user_audited(name, role, password, None)
    }

    /// [`AuthDb::add_user`], queueing `audit` with it (see `run_audited`).
    pub(crate) fn add_user_audited(
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
        if let Some(shared) = &self.shared {
            let text = audit_text(audit)?;
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            let record = netaudit_pgstore::UserRecord {
                name: name.to_string(),
                role: role.as_str().to_string(),
                locked: false,
                created_ns,
                credentials: 1,
            };
            let queued = queued(text.as_deref(), created_ns);
            if !netaudit_pgstore::add_user(c.client(), &target, &record, &hash, queued)? {
                return Err(AuthError::UserExists(name.to_string()));
            }
            return shared_user(record);
        }
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
                credentials: 0,
            })
        })
    }

    pub(crate) fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        if let Some(shared) = &self.shared {
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            if !netaudit_pgstore::delete_user(c.client(), &target, name, None)? {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            return Ok(());
        }
        let deleted = self
            .conn()?
            .execute("DELETE FROM users WHERE name = ?1", params![name])?;
        if deleted == 0 {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        Ok(())
    }

    pub(crate) fn user(&self, name: &str) -> Result<Option<User>, AuthError> {
        if let Some(shared) = &self.shared {
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            return netaudit_pgstore::find_user(c.client(), &target, name)?
                .map(shared_user)
                .transpose();
        }
        let row = self
            .conn()?
            .query_row(
                "SELECT name, role, locked, created_ns FROM users WHERE name = ?1",
                params![name],
                user_row,
            )
            .optional()?;
        row.map(to_user).transpose()
    }

    pub(crate) fn users(&self) -> Result<Vec<User>, AuthError> {
        if let Some(shared) = &self.shared {
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            return netaudit_pgstore::list_users(c.client(), &target)?
                .into_iter()
                .map(shared_user)
                .collect();
        }
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT name, role, locked, created_ns FROM users ORDER BY name")?;
        let rows = stmt.query_map([], user_row)?;
        let mut users = Vec::new();
        for row in rows {
            users.push(to_user(row?)?);
        }
        Ok(users)
    }

    /// Locks or unlocks; unlocking also forgets counted failures.
    pub(crate) fn set_locked(&self, name: &str, locked: bool) -> Result<(), AuthError> {
        self.set_locked_audited(name, locked, None)
    }

    /// [`AuthDb::set_locked`], queueing `audit` with it. An
    /// administrator's lock has no time-based unlock.
    pub(crate) fn set_locked_audited(
        &self,
        name: &str,
        locked: bool,
        audit: Option<&netaudit_event::Event>,
    ) -> Result<(), AuthError> {
        if let Some(shared) = &self.shared {
            let text = audit_text(audit)?;
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            let queued = queued(text.as_deref(), now_ns());
            if !netaudit_pgstore::lock_user(c.client(), &target, name, locked, queued)? {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            return Ok(());
        }
        self.run_audited(audit, |conn| {
            let changed = conn.execute(
                "UPDATE users SET locked = ?2, failures = 0, first_failure_ns = NULL, auto_locked_ns = NULL WHERE name = ?1",
                params![name, locked],
            )?;
            if changed == 0 {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            Ok(())
        })
    }

    /// Sets the password; the new count of password changes (see
    /// [`User::credentials`]).
    pub(crate) fn set_password(&self, name: &str, password: &str) -> Result<i64, AuthError> {
        self.set_password_audited(name, password, None)
    }

    /// [`AuthDb::set_password`], queueing `audit` with it.
    pub(crate) fn set_password_audited(
        &self,
        name: &str,
        password: &str,
        audit: Option<&netaudit_event::Event>,
    ) -> Result<i64, AuthError> {
        validate_password(password)?;
        let hash = hash_password(password)?;
        if let Some(shared) = &self.shared {
            let text = audit_text(audit)?;
            let mut c = shared.conn()?;
            let target = c.target().to_string();
            let queued = queued(text.as_deref(), now_ns());
            return netaudit_pgstore::set_password_hash(c.client(), &target, name, &hash, queued)?
                .ok_or_else(|| AuthError::NoSuchUser(name.to_string()));
        }
        self.run_audited(audit, |conn| {
            let changed = conn.execute(
                "UPDATE users SET password_hash = ?2 WHERE name = ?1",
                params![name, hash],
            )?;
            if changed == 0 {
                return Err(AuthError::NoSuchUser(name.to_string()));
            }
            Ok(0)
        })
    }
}
