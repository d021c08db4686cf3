//! The auth database's schema and its numbered migrations on `user_version`.

pub(super) const SCHEMA_VERSION: i64 = 3;

pub(super) const SCHEMA_V1: &str = "
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

/// Version 2: the audit outbox (see the module documentation of `auth`).
pub(super) const SCHEMA_V2: &str = "
CREATE TABLE audit_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    created_ns INTEGER NOT NULL
);
";

/// Version 3: when the policy locked an account (NULL for an
/// administrator's lock), for the time-based unlock (`api.lockout_secs`).
pub(super) const SCHEMA_V3: &str = "
ALTER TABLE users ADD COLUMN auto_locked_ns INTEGER;
";

/// Every migration, in order; version N has applied the first N.
pub(super) const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];
