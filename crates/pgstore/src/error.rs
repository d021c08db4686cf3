//! `PgStoreError`: what went wrong, and where (the database as
//! `host:port/dbname`, the node, the file), never the password.

use std::path::PathBuf;

/// The result of the PostgreSQL store's operations.
pub type Result<T, E = PgStoreError> = std::result::Result<T, E>;

/// Errors of the PostgreSQL store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgStoreError {
    /// The connection string is not a libpq URL or key=value string we read.
    #[error("malformed PostgreSQL connection string: {detail}")]
    Malformed {
        /// What is wrong (never the string itself, which may hold a password).
        detail: String,
    },
    /// A file the connection string names could not be read.
    #[error("{what} {}: {source}", path.display())]
    File {
        /// Which file (`password_file`, `sslrootcert`).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No host of the connection string answered.
    #[error("database {target} is unreachable: {detail}")]
    Unreachable {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The cause, as the client reports it.
        detail: String,
    },
    /// The TLS handshake with the database failed (certificate, name, protocol).
    #[error("database {target}: TLS handshake failed: {detail}")]
    Tls {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The cause (e.g. the server's certificate is not signed by `sslrootcert`).
        detail: String,
    },
    /// The server refused the user's password (or the user).
    #[error("database {target} refused the login: {detail}")]
    Authentication {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The server's message.
        detail: String,
    },
    /// The database's netaudit schema is newer than this build.
    #[error("database {target}: netaudit schema version {found} is newer than this netaudit supports ({supported})")]
    SchemaNewer {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The version in the database.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The database has a `netaudit` schema that netaudit did not make.
    #[error("database {target}: schema \"netaudit\" exists but has no netaudit version table (not made by netaudit)")]
    ForeignSchema {
        /// `host:port,.../dbname as user`.
        target: String,
    },
    /// The database has no netaudit schema yet (`netaudit store migrate`).
    #[error(
        "database {target} has no netaudit schema yet (run `netaudit store migrate --to ...`)"
    )]
    NotMigrated {
        /// `host:port,.../dbname as user`.
        target: String,
    },
    /// Another live process holds the node id.
    #[error("node id \"{node}\" is in use by another live netaudit process (database backend pid {holder}): a node id belongs to one node at a time")]
    NodeInUse {
        /// The node id.
        node: String,
        /// The PostgreSQL backend pid of the session holding it, 0 when unknown.
        holder: i32,
    },
    /// A node id that is not allowed.
    #[error("node id \"{node}\" is not valid: 1 to 64 letters, digits, '.', '_' or '-'")]
    BadNodeId {
        /// The node id given.
        node: String,
    },
    /// The node already holds events (copy goes into a new node only).
    #[error("node \"{node}\" already exists in database {target} with {events} events: copy into a new node id (--node)")]
    NodeExists {
        /// The node id.
        node: String,
        /// `host:port,.../dbname as user`.
        target: String,
        /// How many events it holds.
        events: i64,
    },
    /// A node's key file does not belong to the node's chain in the database.
    #[error("key file {}: {detail}", path.display())]
    NodeKey {
        /// The key file.
        path: PathBuf,
        /// What does not match.
        detail: String,
    },
    /// The node's chain in the database does not end where this writer
    /// left it (after a failover: acknowledged events are missing).
    #[error("database {target}: node \"{node}\" ends at sequence {stored} in the database but this writer had committed through {committed}{pending}: acknowledged events are missing or another writer appended (was an asynchronous standby promoted?)")]
    NodeHead {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The node.
        node: String,
        /// The last sequence number in the database.
        stored: u64,
        /// The last sequence number this writer saw committed.
        committed: u64,
        /// `" (a batch through N was in doubt)"` or empty.
        pending: String,
    },
    /// Another node took the output over (its lease has a newer generation
    /// or another holder).
    #[error("database {target}: the lease on output \"{output}\" of node \"{node}\" (generation {generation}) is lost: {detail}")]
    LeaseLost {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The output.
        output: String,
        /// This node.
        node: String,
        /// The generation this node held.
        generation: i64,
        /// Who holds it now, or that the row is gone.
        detail: String,
    },
    /// A cursor may only move forward in the global order.
    #[error(
        "database {target}: output \"{output}\": the cursor cannot move back from {from} to {to}"
    )]
    CursorBack {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The output.
        output: String,
        /// Where it is, `received_ns/node/seq`.
        from: String,
        /// Where it was asked to go.
        to: String,
    },
    /// A statement failed.
    #[error("database {target}: {op}: {detail}")]
    Query {
        /// `host:port,.../dbname as user`.
        target: String,
        /// What was being done.
        op: &'static str,
        /// The server's or client's message.
        detail: String,
    },
    /// A stored value is not what the schema allows (hand-edited rows).
    #[error("database {target}: node \"{node}\", event {seq}: {detail}")]
    BadRow {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The node.
        node: String,
        /// The event's sequence number.
        seq: i64,
        /// What is wrong.
        detail: String,
    },
    /// An event of a prepared batch does not decode (a bug, not input).
    #[error("prepared batch: event {index} does not decode: {detail}")]
    BadBatch {
        /// Its index in the batch.
        index: usize,
        /// Why.
        detail: String,
    },
    /// A page key of a global-order query is not one this store gave out.
    #[error("page key {key:?} is not RECEIVED_NS.SEQ.NODE (as a page's `next` gives it)")]
    BadPageKey {
        /// The key as given (it names events, not secrets).
        key: String,
    },
    /// A tail's position (an SSE id) that this store did not give out.
    #[error("position {position:?} is not NODE:SEQ,NODE:SEQ... ({detail})")]
    BadPosition {
        /// The position as given.
        position: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A code glob a query cannot use (PostgreSQL would refuse its
    /// regular expression).
    #[error("code glob {glob:?}: {detail}")]
    BadCodeGlob {
        /// The glob as given (a filter, not a secret).
        glob: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A column of a fetched row is NULL or of another type than the
    /// schema gives it (a table altered by hand).
    #[error("database {target}: table {table}, column {column}, {row}: {detail}")]
    BadValue {
        /// `host:port,.../dbname as user`.
        target: String,
        /// The table (in the schema `netaudit`).
        table: &'static str,
        /// The column.
        column: Box<str>,
        /// Which row (`node "n1", sequence 5`).
        row: Box<str>,
        /// What is wrong.
        detail: Box<str>,
    },
    /// The embedded store (copy source, key files) failed.
    #[error(transparent)]
    Store(#[from] netaudit_store::StoreError),
    /// The embedded store cannot be copied as it is.
    #[error("cannot copy {}: {detail}", path.display())]
    Source {
        /// The SQLite store.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}
