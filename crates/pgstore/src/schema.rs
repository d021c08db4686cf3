//! The netaudit schema in PostgreSQL and its migrations: numbered, each
//! applied in one transaction together with the version it sets, under a
//! transaction-scoped advisory lock (two nodes starting at once migrate
//! once); a database whose version is newer than this build is refused.
//!
//! Everything lives in the schema `netaudit`. Tables (docs/cluster.md):
//! `version` (one row), `nodes` (one chain each), `events` (one row per
//! event, key `(node_id, seq)`), `checkpoints` (key `(node_id, epoch)`);
//! `output_leases`, `output_cursors` (one row per output),
//! `output_node_cursors` (one row per output and node) and `login_state`
//! (one row per user) with the function `login_attempt`; `retention` (the
//! retention records of a chain copied from an embedded store, whose kept
//! events start at `nodes.first_seq`); `users`, `api_tokens` and
//! `audit_outbox` (users shared by every node).

use postgres::{Client, GenericClient};

use crate::connection::error_chain;
use crate::error::{PgStoreError, Result};

/// Key of the advisory lock taken while migrating ("netaudit migrate").
const MIGRATION_LOCK: i64 = 0x4e41_4d49_4752_4154;

/// The migrations, in order: migration `i` takes the schema from version
/// `i` to `i + 1`. Never edit one that has shipped; add the next.
const MIGRATIONS: &[&str] = &[
    // 1: nodes, their chains and checkpoints.
    r#"
CREATE TABLE netaudit.nodes (
    node_id     text PRIMARY KEY CHECK (node_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    store_id    bytea NOT NULL UNIQUE CHECK (length(store_id) = 16),
    public_key  bytea NOT NULL CHECK (length(public_key) = 32),
    created_ns  bigint NOT NULL,
    copied_from text
);
CREATE TABLE netaudit.events (
    node_id     text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    epoch       bigint NOT NULL,
    received_ns bigint NOT NULL,
    ts          bigint NOT NULL,
    time_ns     bigint,
    severity    smallint,
    facility    smallint,
    code        text,
    "user"      text,
    host        text,
    device      text,
    app         text,
    pid         text,
    client_addr text,
    operation   text,
    params      text,
    message     text,
    parse_error text,
    raw         bytea NOT NULL,
    chain       bytea NOT NULL,
    PRIMARY KEY (node_id, seq)
);
CREATE INDEX events_global_order ON netaudit.events (received_ns, node_id, seq);
CREATE TABLE netaudit.checkpoints (
    node_id   text NOT NULL REFERENCES netaudit.nodes (node_id),
    epoch     bigint NOT NULL,
    last_seq  bigint NOT NULL,
    chain     bytea NOT NULL CHECK (length(chain) = 32),
    time_ns   bigint NOT NULL,
    mac       bytea NOT NULL CHECK (length(mac) = 32),
    signature bytea NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (node_id, epoch)
);
"#,
    // 2: output leases and cursors, the shared login lockout (docs/cluster.md).
    r#"
CREATE TABLE netaudit.output_leases (
    output      text PRIMARY KEY CHECK (length(output) BETWEEN 1 AND 200),
    node_id     text NOT NULL CHECK (node_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    generation  bigint NOT NULL CHECK (generation >= 1),
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE TABLE netaudit.output_cursors (
    output      text PRIMARY KEY,
    received_ns bigint NOT NULL,
    node_id     text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    generation  bigint NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE TABLE netaudit.login_state (
    user_name        text PRIMARY KEY,
    failures         integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    first_failure_ns bigint,
    locked           boolean NOT NULL DEFAULT false,
    auto_locked_ns   bigint
);
-- One login attempt under the policy, decided under the user's row lock so
-- that attempts on every node count exactly once (crates/pgstore/src/lockout.rs).
CREATE FUNCTION netaudit.login_attempt(
    p_user text, p_password_ok boolean, p_max integer, p_window_ns bigint, p_lockout_ns bigint,
    OUT outcome text, OUT failures integer, OUT now_locked boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    now_ns bigint := (extract(epoch FROM clock_timestamp()) * 1000000000)::bigint;
    s netaudit.login_state%ROWTYPE;
BEGIN
    INSERT INTO netaudit.login_state (user_name) VALUES (p_user) ON CONFLICT (user_name) DO NOTHING;
    SELECT * INTO s FROM netaudit.login_state WHERE user_name = p_user FOR UPDATE;
    now_locked := false;
    IF s.locked THEN
        IF s.auto_locked_ns IS NULL OR p_lockout_ns IS NULL OR now_ns - s.auto_locked_ns < p_lockout_ns THEN
            outcome := 'locked';
            failures := s.failures;
            RETURN;
        END IF;
        s.failures := 0;
        s.first_failure_ns := NULL;
    END IF;
    IF p_password_ok THEN
        UPDATE netaudit.login_state SET failures = 0, first_failure_ns = NULL, locked = false,
            auto_locked_ns = NULL WHERE user_name = p_user;
        outcome := 'accepted';
        failures := 0;
        RETURN;
    END IF;
    IF s.first_failure_ns IS NOT NULL AND now_ns - s.first_failure_ns <= p_window_ns THEN
        s.failures := s.failures + 1;
    ELSE
        s.failures := 1;
        s.first_failure_ns := now_ns;
    END IF;
    now_locked := s.failures >= p_max;
    UPDATE netaudit.login_state SET failures = s.failures, first_failure_ns = s.first_failure_ns,
        locked = now_locked, auto_locked_ns = CASE WHEN now_locked THEN now_ns END
        WHERE user_name = p_user;
    outcome := 'refused';
    failures := s.failures;
END
$fn$;
"#,
    // 3: a chain copied from an embedded store after retention: where its
    // kept events start, and the store's retention records (docs/cluster.md).
    r#"
ALTER TABLE netaudit.nodes ADD COLUMN first_seq bigint NOT NULL DEFAULT 1 CHECK (first_seq >= 1);
CREATE TABLE netaudit.retention (
    node_id      text NOT NULL REFERENCES netaudit.nodes (node_id),
    first_seq    bigint NOT NULL CHECK (first_seq >= 1),
    last_seq     bigint NOT NULL CHECK (last_seq >= first_seq),
    anchor_epoch bigint NOT NULL CHECK (anchor_epoch >= 0),
    time_ns      bigint NOT NULL,
    reason       text NOT NULL,
    PRIMARY KEY (node_id, first_seq)
);
"#,
    // 4: the users shared by every node (their lock state is `login_state`),
    // their API tokens' digests, and the outbox of audit events of changes
    // made by `netaudit user --store` (crates/pgstore/src/users.rs).
    r#"
CREATE TABLE netaudit.users (
    name                text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    role                text NOT NULL CHECK (role IN ('admin', 'auditor', 'reporter')),
    password_hash       text NOT NULL,
    created_ns          bigint NOT NULL,
    -- Counts password changes: a session opened under an older one is over.
    credentials         bigint NOT NULL DEFAULT 1 CHECK (credentials >= 1)
);
CREATE TABLE netaudit.api_tokens (
    digest     text PRIMARY KEY,
    user_name  text NOT NULL REFERENCES netaudit.users (name) ON DELETE CASCADE,
    created_ns bigint NOT NULL
);
CREATE TABLE netaudit.audit_outbox (
    id            bigserial PRIMARY KEY,
    event         text NOT NULL,
    created_ns    bigint NOT NULL,
    claimed_by    text,
    claimed_until timestamptz
);
"#,
    // 5: an output's cursor per node (the last sequence number of each node
    // it delivered, and the last it read, for counting what a take-over
    // delivers again): exact where one position in the global order is not
    // (docs/cluster.md, "Outputs on PostgreSQL").
    r#"
CREATE TABLE netaudit.output_node_cursors (
    output      text NOT NULL CHECK (length(output) BETWEEN 1 AND 200),
    node_id     text NOT NULL CHECK (node_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    seq         bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    read_seq    bigint NOT NULL DEFAULT 0 CHECK (read_seq >= 0),
    generation  bigint NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (output, node_id)
);
"#,
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What [`migrate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The version found.
    pub from: i64,
    /// The version now.
    pub to: i64,
}

/// The database's schema version: 0 when there is no netaudit schema.
pub fn schema_version(client: &mut impl GenericClient, target: &str) -> Result<i64> {
    let q = |e: postgres::Error| query_error(target, "read the schema version", &e);
    let row = client
        .query_one(
            "SELECT to_regnamespace('netaudit') IS NOT NULL, to_regclass('netaudit.version') IS NOT NULL",
            &[],
        )
        .map_err(q)?;
    let (has_schema, has_version): (bool, bool) = (row.get(0), row.get(1));
    match (has_schema, has_version) {
        (false, _) => Ok(0),
        (true, false) => Err(PgStoreError::ForeignSchema {
            target: target.to_string(),
        }),
        (true, true) => Ok(client
            .query_one("SELECT version FROM netaudit.version", &[])
            .map_err(q)?
            .get(0)),
    }
}

/// Refuses a database whose schema is missing, older or newer than this
/// build (what every command but `migrate` checks first).
pub fn check_schema(client: &mut Client, target: &str) -> Result<()> {
    match schema_version(client, target)? {
        0 => Err(PgStoreError::NotMigrated {
            target: target.to_string(),
        }),
        v if v > SCHEMA_VERSION => Err(PgStoreError::SchemaNewer {
            target: target.to_string(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        v if v < SCHEMA_VERSION => Err(PgStoreError::Query {
            target: target.to_string(),
            op: "check the schema",
            detail: format!(
                "netaudit schema version {v} is older than this netaudit's ({SCHEMA_VERSION}): \
                 run `netaudit store migrate --to ...`"
            ),
        }),
        _ => Ok(()),
    }
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per migration.
pub fn migrate(client: &mut Client, target: &str) -> Result<Migrated> {
    let mut from = None;
    loop {
        let q = |op, e: postgres::Error| query_error(target, op, &e);
        let mut tx = client
            .transaction()
            .map_err(|e| q("begin a migration", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(|e| q("take the migration lock", e))?;
        let found = schema_version(&mut tx, target)?;
        from.get_or_insert(found);
        if found > SCHEMA_VERSION {
            return Err(PgStoreError::SchemaNewer {
                target: target.to_string(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            tx.commit().map_err(|e| q("end the migration", e))?;
            return Ok(Migrated {
                from: from.unwrap_or(found),
                to: found,
            });
        }
        if found == 0 {
            tx.batch_execute(
                "CREATE SCHEMA netaudit;
                 CREATE TABLE netaudit.version (
                     one     boolean PRIMARY KEY DEFAULT true CHECK (one),
                     version bigint NOT NULL
                 );
                 INSERT INTO netaudit.version (version) VALUES (0);",
            )
            .map_err(|e| q("create the netaudit schema", e))?;
        }
        let index = usize::try_from(found).unwrap_or(usize::MAX);
        tx.batch_execute(MIGRATIONS[index])
            .map_err(|e| q("apply a migration", e))?;
        tx.execute("UPDATE netaudit.version SET version = $1", &[&(found + 1)])
            .map_err(|e| q("record the schema version", e))?;
        tx.commit().map_err(|e| q("commit a migration", e))?;
    }
}

pub(crate) fn query_error(target: &str, op: &'static str, e: &postgres::Error) -> PgStoreError {
    PgStoreError::Query {
        target: target.to_string(),
        op,
        detail: error_chain(e),
    }
}
