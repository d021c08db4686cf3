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

mod append_event;
mod archive;
mod batch;
mod chain;
mod chain_walk;
mod checkpoint_copies;
mod clock;
mod config;
mod cursors;
mod encoding;
mod error;
mod event_insert;
mod file_mode;
mod indexer;
mod maintenance;
mod params_column;
mod partitions;
mod paths;
mod query;
mod recovery;
mod retention;
mod rows;
mod schema;
mod shared;
mod sqlite;
mod startup_check;
mod static_insert;
mod store;
mod summary;
mod verify;
mod verify_report;
mod writer;
mod writer_lock;

pub use append_event::AppendEvent;
pub use archive::{archive_file_name, read_archive_events, verify_archive, ArchiveReport};
pub use batch::PreparedBatch;
pub use chain::{
    chain_value, derive, erase_local_verify_key, evolve, fingerprint, genesis,
    read_local_verify_key, Checkpoint, KeyFile, KeyState, SecretKey, VerifyKey,
};
pub use chain_walk::ChainWalk;
pub use config::{
    ArchiveDestination, ArchiveFormat, RetentionPolicy, SftpDestination, StoreConfig, Synchronous,
    DEFAULT_PATH,
};
pub use encoding::{decode_event, encode_event, DecodeError, ENCODING_VERSION};
pub use error::{
    ArchiveProblem, EventProblem, ForeignReason, Inconsistency, KeyProblem, Result, StoreError,
};
pub use params_column::{params_column, params_from_column};
pub use partitions::{PartitionInfo, PartitionState};
pub use paths::partitions_dir;
pub use query::{like_pattern, Order, Page, Query, Reader, RetentionRecord};
pub use retention::RetentionReport;
pub use rows::{query_time, StoredEvent};
pub use startup_check::{check_store, Damage};
pub use store::Store;
pub use summary::EventSummary;
pub use verify::{verify, verify_after};
pub use verify_report::{Break, BreakKind, VerifiedThrough, VerifyReport};
pub use writer_lock::WriterLock;
