//! netaudit's embedded event database.
//!
//! Events go into SQLite (bundled, WAL) through [`Store::append_batch`], one
//! transaction per batch. Every event carries a chain value, an HMAC under
//! a key that evolves one way at each epoch (forward-secure sealing), and
//! each epoch ends with a signed [`Checkpoint`]. [`verify()`] walks the chain
//! with the exported [`VerifyKey`]. [`Reader::query`] answers filtered,
//! paged queries; named cursors let outputs resume where they stopped.
//!
//! Layout on disk (see docs/store.md): a catalog database (`netaudit.db`),
//! partition files (`netaudit.parts/<first seq>.db`; the open one carries no
//! secondary index, sealed ones are indexed in bulk by a background thread),
//! the key file (`netaudit.key`, 0600) and, until exported, the verify key.

mod checkpoint;
mod encoding;
mod error;
mod keys;
mod query;
mod rows;
mod schema;
mod static_insert;
mod store;
mod verify;

pub use checkpoint::Checkpoint;
pub use encoding::{decode_event, encode_event, DecodeError, PreparedBatch, ENCODING_VERSION};
pub use error::{Result, StoreError};
pub use keys::{chain_value, derive, evolve, fingerprint, genesis, KeyFile, SecretKey, VerifyKey};
pub use query::{Order, Page, Query, Reader, RetentionRecord};
pub use rows::{query_time, StoredEvent};
pub use store::{
    erase_local_verify_key, partitions_dir, read_local_verify_key, PartitionInfo, PartitionState,
    RetentionPolicy, RetentionReport, Store, StoreConfig, Synchronous, DEFAULT_PATH,
};
pub use verify::{verify, Break, BreakKind, VerifyReport};
