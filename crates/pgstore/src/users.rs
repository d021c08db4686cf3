//! The users every node shares: names, roles and argon2 password hashes
//! in `netaudit.users`, their lock state in `netaudit.login_state` (the
//! lockout's table, see `lockout.rs`), their API tokens' SHA-256 digests in
//! `netaudit.api_tokens`, and the outbox of audit events of changes made
//! where no node's chain is at hand (`netaudit user --store`): each change
//! and its event commit in one transaction, and a node moves the event into
//! its own chain later ([`claim_outbox`], [`remove_from_outbox`]).
//!
//! This module stores what it is given: the server checks names and
//! passwords and makes the hashes (the database's CHECKs refuse a name or
//! role it would not have made).

use std::time::Duration;

use postgres::{Client, GenericClient, Row};

use crate::error::Result;
use crate::row_value::RowValues;
use crate::schema::query_error;

/// One user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user name.
    pub name: String,
    /// `admin`, `auditor` or `reporter`.
    pub role: String,
    /// Locked by the policy or by an administrator.
    pub locked: bool,
    /// When the user was created (ns since the epoch).
    pub created_ns: i64,
    /// Counts the password's changes (1 at creation): a session opened
    /// under an older count is over, on every node.
    pub credentials: i64,
}

/// An audit event (its JSON) queued with a change, and when it was made.
#[derive(Debug, Clone, Copy)]
pub struct QueuedAudit<'a> {
    /// The event as JSON.
    pub event: &'a str,
    /// When the change was made (ns since the epoch).
    pub created_ns: i64,
}

/// One queued audit event taken by a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The row's id (for [`remove_from_outbox`]).
    pub id: i64,
    /// The event as JSON.
    pub event: String,
    /// When the change was made.
    pub created_ns: i64,
}

const USER_COLUMNS: &str = "u.name, u.role, coalesce(s.locked, false), u.created_ns, \
     u.credentials FROM netaudit.users u \
     LEFT JOIN netaudit.login_state s ON s.user_name = u.name";

fn user_record(row: &Row, target: &str) -> Result<UserRecord> {
    let mut v = RowValues::new(row, target, "users", "a user".into());
    let name: String = v.get(0)?;
    v.set_place(format!("user {name:?}"));
    Ok(UserRecord {
        role: v.get(1)?,
        locked: v.get(2)?,
        created_ns: v.get(3)?,
        credentials: v.get(4)?,
        name,
    })
}

fn queue(tx: &mut impl GenericClient, target: &str, audit: Option<QueuedAudit<'_>>) -> Result<()> {
    if let Some(audit) = audit {
        tx.execute(
            "INSERT INTO netaudit.audit_outbox (event, created_ns) VALUES ($1, $2)",
            &[&audit.event, &audit.created_ns],
        )
        .map_err(|e| query_error(target, "queue an audit event", &e))?;
    }
    Ok(())
}

/// Creates `name` (with `audit` queued in the same transaction); `false`
/// when the name is taken. A lock state left by an earlier user of the
/// same name is forgotten.
pub fn add_user(
    client: &mut Client,
    target: &str,
    user: &UserRecord,
    password_hash: &str,
    audit: Option<QueuedAudit<'_>>,
) -> Result<bool> {
    let q = |op, e: postgres::Error| query_error(target, op, &e);
    let mut tx = client.transaction().map_err(|e| q("begin", e))?;
    let inserted = tx
        .execute(
            "INSERT INTO netaudit.users (name, role, password_hash, created_ns) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
            &[&user.name, &user.role, &password_hash, &user.created_ns],
        )
        .map_err(|e| q("add a user", e))?;
    if inserted == 0 {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM netaudit.login_state WHERE user_name = $1",
        &[&user.name],
    )
    .map_err(|e| q("add a user", e))?;
    queue(&mut tx, target, audit)?;
    tx.commit().map_err(|e| q("commit a new user", e))?;
    Ok(true)
}

/// Deletes `name`, its tokens and its lock state; `false` when there was
/// no such user.
pub fn delete_user(
    client: &mut Client,
    target: &str,
    name: &str,
    audit: Option<QueuedAudit<'_>>,
) -> Result<bool> {
    let q = |op, e: postgres::Error| query_error(target, op, &e);
    let mut tx = client.transaction().map_err(|e| q("begin", e))?;
    let deleted = tx
        .execute("DELETE FROM netaudit.users WHERE name = $1", &[&name])
        .map_err(|e| q("delete a user", e))?;
    if deleted == 0 {
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM netaudit.login_state WHERE user_name = $1",
        &[&name],
    )
    .map_err(|e| q("delete a user", e))?;
    queue(&mut tx, target, audit)?;
    tx.commit().map_err(|e| q("commit a deletion", e))?;
    Ok(true)
}

/// The user `name`, if any.
pub fn find_user(
    client: &mut impl GenericClient,
    target: &str,
    name: &str,
) -> Result<Option<UserRecord>> {
    client
        .query_opt(
            &format!("SELECT {USER_COLUMNS} WHERE u.name = $1"),
            &[&name],
        )
        .map_err(|e| query_error(target, "read a user", &e))?
        .map(|row| user_record(&row, target))
        .transpose()
}

/// Every user, by name.
pub fn list_users(client: &mut impl GenericClient, target: &str) -> Result<Vec<UserRecord>> {
    client
        .query(&format!("SELECT {USER_COLUMNS} ORDER BY u.name"), &[])
        .map_err(|e| query_error(target, "list the users", &e))?
        .iter()
        .map(|row| user_record(row, target))
        .collect()
}

/// The password hash of `name`, if there is such a user.
pub fn password_hash(
    client: &mut impl GenericClient,
    target: &str,
    name: &str,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT password_hash FROM netaudit.users WHERE name = $1",
            &[&name],
        )
        .map_err(|e| query_error(target, "read a password hash", &e))?;
    row.map(|row| RowValues::new(&row, target, "users", format!("user {name:?}")).get(0))
        .transpose()
}

/// Replaces the password hash of `name` and counts the change (sessions
/// opened before it end); the new count, or `None` when there is no such
/// user.
pub fn set_password_hash(
    client: &mut Client,
    target: &str,
    name: &str,
    password_hash: &str,
    audit: Option<QueuedAudit<'_>>,
) -> Result<Option<i64>> {
    let q = |op, e: postgres::Error| query_error(target, op, &e);
    let mut tx = client.transaction().map_err(|e| q("begin", e))?;
    let changed = tx
        .query_opt(
            "UPDATE netaudit.users SET password_hash = $2, credentials = credentials + 1 \
             WHERE name = $1 RETURNING credentials",
            &[&name, &password_hash],
        )
        .map_err(|e| q("change a password", e))?;
    let Some(row) = changed else {
        return Ok(None);
    };
    let credentials: i64 =
        RowValues::new(&row, target, "users", format!("user {name:?}")).get(0)?;
    queue(&mut tx, target, audit)?;
    tx.commit().map_err(|e| q("commit a password change", e))?;
    Ok(Some(credentials))
}

/// An administrator locks or unlocks the existing user `name` (see
/// [`crate::set_user_locked`]); `false` when there is no such user.
pub fn lock_user(
    client: &mut Client,
    target: &str,
    name: &str,
    locked: bool,
    audit: Option<QueuedAudit<'_>>,
) -> Result<bool> {
    let q = |op, e: postgres::Error| query_error(target, op, &e);
    let mut tx = client.transaction().map_err(|e| q("begin", e))?;
    // The user's row stays while the lock is set (a deletion waits).
    let exists = tx
        .query_opt(
            "SELECT 1 FROM netaudit.users WHERE name = $1 FOR SHARE",
            &[&name],
        )
        .map_err(|e| q("lock or unlock a user", e))?
        .is_some();
    if !exists {
        return Ok(false);
    }
    crate::lockout::set_user_locked(&mut tx, target, name, locked)?;
    queue(&mut tx, target, audit)?;
    tx.commit().map_err(|e| q("commit a lock change", e))?;
    Ok(true)
}

/// Keeps the digest of a new API token of `name`; `false` when there is
/// no such user.
pub fn add_token(
    client: &mut impl GenericClient,
    target: &str,
    digest: &str,
    name: &str,
    now_ns: i64,
) -> Result<bool> {
    let inserted = client
        .execute(
            "INSERT INTO netaudit.api_tokens (digest, user_name, created_ns) \
             SELECT $1, name, $3 FROM netaudit.users WHERE name = $2",
            &[&digest, &name, &now_ns],
        )
        .map_err(|e| query_error(target, "add an API token", &e))?;
    Ok(inserted == 1)
}

/// The user whose API token has the digest `digest`, if any.
pub fn token_owner(
    client: &mut impl GenericClient,
    target: &str,
    digest: &str,
) -> Result<Option<UserRecord>> {
    client
        .query_opt(
            &format!(
                "SELECT {USER_COLUMNS} JOIN netaudit.api_tokens t ON t.user_name = u.name \
                 WHERE t.digest = $1"
            ),
            &[&digest],
        )
        .map_err(|e| query_error(target, "read an API token", &e))?
        .map(|row| user_record(&row, target))
        .transpose()
}

/// Takes up to `limit` queued audit events for `node` to store, oldest
/// first, for `hold`: no other node takes them meanwhile; if `node` has not
/// removed them by then (it died), another node takes them again (at least
/// once).
pub fn claim_outbox(
    client: &mut impl GenericClient,
    target: &str,
    node: &str,
    limit: i64,
    hold: Duration,
) -> Result<Vec<OutboxEvent>> {
    let hold_secs = hold.as_secs_f64();
    let rows = client
        .query(
            "UPDATE netaudit.audit_outbox SET claimed_by = $1, \
                 claimed_until = clock_timestamp() + make_interval(secs => $3) \
             WHERE id IN (SELECT id FROM netaudit.audit_outbox \
                 WHERE claimed_until IS NULL OR claimed_until < clock_timestamp() \
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING id, event, created_ns",
            &[&node, &limit, &hold_secs],
        )
        .map_err(|e| query_error(target, "take queued audit events", &e))?;
    let mut events = rows
        .iter()
        .map(|row| {
            let v = RowValues::new(row, target, "audit_outbox", "a queued event".into());
            Ok(OutboxEvent {
                id: v.get(0)?,
                event: v.get(1)?,
                created_ns: v.get(2)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// Removes stored events from the outbox.
pub fn remove_from_outbox(
    client: &mut impl GenericClient,
    target: &str,
    ids: &[i64],
) -> Result<u64> {
    client
        .execute(
            "DELETE FROM netaudit.audit_outbox WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(|e| query_error(target, "remove stored audit events", &e))
}
