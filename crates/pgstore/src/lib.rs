//! netaudit's PostgreSQL store for a cluster of nodes (docs/cluster.md).
//!
//! Each node appends its own tamper-evident chain (node id, its own
//! sequence numbers, epochs, keys and signed checkpoints, exactly as the
//! embedded store's: docs/store.md), so no lock shared between nodes sits on
//! the append path; a node id is held by one live process at a time (a
//! session advisory lock). [`migrate`] brings the schema up to date
//! (numbered migrations, one transaction each; newer schemas are refused),
//! [`copy_sqlite_store`] moves an embedded store into the database as one
//! node with its chain intact, and [`verify_nodes`] walks every node's chain.
//! Connection strings: [`ConnectionSpec`]. A [`NodeWriter`] reconnects by
//! itself after a failover ([`ReconnectPolicy`]); outputs are owned through
//! an [`OutputLease`] with their cursors in the database ([`advance_cursor`]),
//! consumers wake on commit ([`CommitListener`]), and the login lockout is
//! shared by every node ([`record_login`]), as are the users themselves
//! ([`add_user`], [`find_user`], [`token_owner`], [`claim_outbox`]). The
//! console's Overview counts every node's events with [`count_window`].

mod batch_write;
mod checkpoints;
mod connection;
mod copy;
mod cursor;
mod error;
mod event_rows;
mod follow;
mod lease;
mod listener;
mod lockout;
mod node;
mod node_cursor;
mod node_writer;
mod pattern;
mod query;
mod reconnect;
mod row_value;
mod schema;
#[cfg(feature = "test-cluster")]
pub mod test_cluster;
mod users;
mod verify;
mod window_counts;

pub use connection::{ConnectionSpec, PASSWORD_ENV};
pub use copy::{copy_sqlite_store, CopySummary};
pub use cursor::{advance_cursor, lease_cursor, read_cursor, CursorPosition};
pub use error::{PgStoreError, Result};
pub use follow::{events_after, heads_from_text, heads_to_text};
pub use lease::{lease_holder, Acquire, LeaseHolder, OutputLease};
pub use listener::{CommitListener, Wake};
pub use lockout::{login_state, record_login, set_user_locked, LoginDecision, LoginPolicy};
pub use node::{check_node_id, find_node, list_nodes, lock_node, NodeInfo};
pub use node_cursor::{
    advance_node_cursors, output_node_cursors, read_node_cursors, record_read_heads, NodeCursors,
};
pub use node_writer::{
    verify_key_path, NodeWriter, WriterStats, DEFAULT_EPOCH_EVENTS, EVENTS_CHANNEL,
};
pub use pattern::check_code_glob;
pub use query::{
    node_heads, query_global, GlobalKey, GlobalPage, GlobalQuery, GlobalReader, NodeEvent,
    NodeHeads,
};
pub use reconnect::ReconnectPolicy;
pub use schema::{check_schema, migrate, schema_version, Migrated, SCHEMA_VERSION};
pub use users::{
    add_token, add_user, claim_outbox, delete_user, find_user, list_users, lock_user,
    password_hash, remove_from_outbox, set_password_hash, token_owner, OutboxEvent, QueuedAudit,
    UserRecord,
};
pub use verify::{verify_nodes, NodeOutcome, NodeVerification};
pub use window_counts::{count_window, HostSeen, MinuteCount, WindowCounts, WindowSpec};
