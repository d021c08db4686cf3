//! Users: creating, listing, deleting, locking and changing passwords.

use rusqlite::{params, OptionalExtension};

use super::db::AuthDb;
use super::error::AuthError;
use super::names::validate_name;
use super::passwords::{hash_password, validate_password};
use super::role::Role;
use crate::clock::now_ns;

/// One user as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct User {
    pub name: String,
    pub role: Role,
    pub locked: bool,
    pub created_ns: i64,
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
    })
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

    pub(crate) fn delete_user(&self, name: &str) -> Result<(), AuthError> {
        let deleted = self
            .conn()?
            .execute("DELETE FROM users WHERE name = ?1", params![name])?;
        if deleted == 0 {
            return Err(AuthError::NoSuchUser(name.to_string()));
        }
        Ok(())
    }

    pub(crate) fn user(&self, name: &str) -> Result<Option<User>, AuthError> {
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

    pub(crate) fn set_password(&self, name: &str, password: &str) -> Result<(), AuthError> {
        self.set_password_audited(name, password, None)
    }

    /// [`AuthDb::set_password`], queueing `audit` with it.
    pub(crate) fn set_password_audited(
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
}
