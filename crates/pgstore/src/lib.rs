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
//! Connection strings: [`ConnectionSpec`].

mod checkpoints;
mod connection;
mod copy;
mod error;
mod event_rows;
mod follow;
mod node;
mod node_writer;
mod query;
mod schema;
#[cfg(feature = "test-cluster")]
pub mod test_cluster;
mod verify;

pub use connection::{ConnectionSpec, PASSWORD_ENV};
pub use copy::{copy_sqlite_store, CopySummary};
pub use error::{PgStoreError, Result};
pub use follow::{events_after, NodeHeads};
pub use node::{check_node_id, find_node, list_nodes, lock_node, NodeInfo};
pub use node_writer::{verify_key_path, NodeWriter, DEFAULT_EPOCH_EVENTS};
pub use query::{
    node_heads, query_global, GlobalKey, GlobalPage, GlobalQuery, GlobalReader, NodeEvent,
};
pub use schema::{check_schema, migrate, schema_version, Migrated, SCHEMA_VERSION};
pub use verify::{verify_nodes, NodeOutcome, NodeVerification};
