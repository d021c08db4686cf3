//! The store's one error type: every message names the file and the cause.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file system operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the store was doing.
        op: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An SQLite call failed.
    #[error("{path}: {op}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing.
        op: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An SQLite database that is not a netaudit catalog or partition.
    #[error("{path}: not a netaudit database ({reason})")]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// How it was told apart.
        reason: ForeignReason,
    },
    /// SQLite says so when it first reads the file.
    #[error(
        "{path}: not a netaudit database (the file is not an SQLite database (or it is corrupt))"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// A schema written by a newer netaudit.
    #[error("{path}: database schema version {found} is newer than this netaudit supports ({supported}); use a newer netaudit")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version (`user_version`).
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The key file or a verify key is missing, malformed or does not
    /// belong to this store.
    #[error("{path}: key file: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: KeyProblem,
    },
    /// A partition archive that is malformed or does not verify.
    #[error("{path}: archive: {problem}")]
    Archive {
        /// The archive file (or the temporary file being written).
        path: PathBuf,
        /// What is wrong with it.
        problem: ArchiveProblem,
    },
    /// Another process holds the store's writer lock.
    #[error("{path}: the store is in use by another netaudit process (lock held)")]
    Locked {
        /// The locked catalog.
        path: PathBuf,
    },
    /// The files disagree with each other or with what the store wrote.
    #[error("{path}: inconsistent store: {reason}")]
    Inconsistent {
        /// The file where it was found.
        path: PathBuf,
        /// What disagrees.
        reason: Inconsistency,
    },
    /// A query with `limit` 0.
    #[error("invalid query: limit must be at least 1")]
    ZeroLimit,
    /// A compare-and-set cursor advance lost against another one.
    #[error("cursor '{name}': expected position {expected}, found {found} (another consumer advanced it)")]
    CursorConflict {
        /// The cursor.
        name: String,
        /// The position the caller read.
        expected: u64,
        /// The position it has now.
        found: u64,
    },
    /// A cursor advance past the last stored event.
    #[error("cursor '{name}': cannot advance to {to}: the store ends at sequence {last}")]
    CursorBeyondEnd {
        /// The cursor.
        name: String,
        /// The position asked for.
        to: u64,
        /// The last sequence number stored.
        last: u64,
    },
    /// A sequence number or time beyond what SQLite's signed integers hold.
    #[error("{what}: value {value} does not fit (sequence numbers and times must fit in a signed 64-bit integer)")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value.
        value: u64,
    },
}

/// The first line of a verify key file.
pub(crate) const VERIFY_KEY_HEADER: &str = "netaudit-verify-key v1";

/// What is wrong with a key file or a verify key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Shorter than the two slots of a key file.
    TooShort,
    /// The file is not the size of two slots.
    WrongSize {
        /// Its size in bytes.
        size: u64,
        /// The size of a key file.
        expected: u64,
    },
    /// Both slots are valid but name different stores.
    SlotsDisagree,
    /// Neither slot has a valid checksum.
    NoValidSlot,
    /// Group or others may read the file.
    ReadableByOthers {
        /// Its permission bits.
        mode: u32,
    },
    /// The store exists but its key file does not.
    Missing,
    /// The key file belongs to another store.
    OtherStore {
        /// The store the key file belongs to.
        key_store: [u8; 16],
        /// The catalog.
        catalog: PathBuf,
        /// The store the catalog belongs to.
        store: [u8; 16],
    },
    /// A key file past epoch 0 next to a new, empty catalog.
    KeyForEmptyDatabase {
        /// The key file's epoch.
        epoch: u64,
        /// The catalog.
        catalog: PathBuf,
    },
    /// The key is at a later epoch than the catalog's checkpoints reach.
    AheadOfCheckpoints {
        /// The key file's epoch.
        key_epoch: u64,
        /// The epoch of the catalog's last checkpoint (-1 without one).
        last_checkpoint_epoch: i128,
        /// The last sequence number that checkpoint covers.
        sealed_seq: u64,
    },
    /// The local verify key is gone (exported) or was never written.
    NoLocalVerifyKey,
    /// A verify key file without the header line.
    NotAVerifyKey,
    /// A verify key line whose value is not hex.
    BadHex {
        /// The line number in the file, from 1.
        line: usize,
        /// The field name on that line.
        field: String,
        /// Why it is not hex.
        cause: hex::FromHexError,
    },
    /// A verify key field is absent or has the wrong length.
    MissingField {
        /// The field name.
        field: &'static str,
    },
    /// The signing public key is not a valid Ed25519 key.
    BadPublicKey {
        /// Why (ed25519-dalek's message).
        cause: String,
    },
    /// The verify key is for another store.
    VerifyKeyForOtherStore {
        /// The store the verify key is for.
        key_store: [u8; 16],
        /// The store being verified.
        store: [u8; 16],
    },
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyProblem::TooShort => f.write_str("not a netaudit key file (too short)"),
            KeyProblem::WrongSize { size, expected } => write!(
                f,
                "not a netaudit key file (size {size} bytes, expected {expected})"
            ),
            KeyProblem::SlotsDisagree => {
                f.write_str("the two key slots belong to different stores")
            }
            KeyProblem::NoValidSlot => {
                f.write_str("corrupt or not a netaudit key file (no slot has a valid checksum)")
            }
            KeyProblem::ReadableByOthers { mode } => write!(
                f,
                "mode {mode:04o} lets other users read it; run chmod 600 on it"
            ),
            KeyProblem::Missing => f.write_str(
                "missing: the store exists but its key file does not; without it no event can \
                 be appended (verify still works with the exported verify key)",
            ),
            KeyProblem::OtherStore {
                key_store,
                catalog,
                store,
            } => write!(
                f,
                "belongs to store {} but {} is store {}",
                hex::encode(key_store),
                catalog.display(),
                hex::encode(store)
            ),
            KeyProblem::KeyForEmptyDatabase { epoch, catalog } => write!(
                f,
                "a key file at epoch {epoch} exists but {} is a new, empty database; move the \
                 key file away or point --db at the store it belongs to",
                catalog.display()
            ),
            KeyProblem::AheadOfCheckpoints {
                key_epoch,
                last_checkpoint_epoch,
                sealed_seq,
            } => write!(
                f,
                "the key is at epoch {key_epoch} but the database's checkpoints end with epoch \
                 {last_checkpoint_epoch} (sequence {sealed_seq}): the database was truncated or \
                 restored from an older copy; run `netaudit verify`"
            ),
            KeyProblem::NoLocalVerifyKey => f.write_str(
                "no local verify key: it was exported already (the epoch 0 key is no longer on \
                 this machine; use the exported copy), or the store was never created",
            ),
            KeyProblem::NotAVerifyKey => write!(
                f,
                "not a netaudit verify key (first line must be '{VERIFY_KEY_HEADER}')"
            ),
            KeyProblem::BadHex { line, field, cause } => write!(f, "line {line}: {field}: {cause}"),
            KeyProblem::MissingField { field } => write!(f, "missing or malformed {field}"),
            KeyProblem::BadPublicKey { cause } => write!(f, "signing-public-key: {cause}"),
            KeyProblem::VerifyKeyForOtherStore { key_store, store } => write!(
                f,
                "the verify key is for store {}, this is store {}",
                hex::encode(key_store),
                hex::encode(store)
            ),
        }
    }
}

/// What disagrees in an inconsistent store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inconsistency {
    /// The catalog's `store_id` is not 16 bytes.
    StoreIdLength,
    /// The catalog lists partitions but has no store identity.
    PartitionsWithoutIdentity,
    /// Read-only access to a catalog that was never opened for writing.
    NoStoreIdentity,
    /// The catalog lists no open partition.
    NoOpenPartition,
    /// The open partition has no checkpoint or partition before it.
    NothingPrecedes {
        /// Its first sequence number.
        first_seq: u64,
    },
    /// A stored chain value is not 32 bytes.
    ChainValueLength,
    /// A partition row of the catalog has a negative first sequence number.
    PartitionFirstSeq {
        /// The catalog's partition id.
        id: i64,
    },
    /// A partition row of the catalog has an unknown state.
    PartitionState {
        /// The catalog's partition id.
        id: i64,
        /// The state it has.
        state: String,
    },
    /// A partition file without an events table.
    NoEventsTable,
    /// SQLite would not switch the file to WAL mode.
    NoWal {
        /// The journal mode SQLite reported.
        mode: String,
    },
    /// A checkpoint row that does not decode.
    MalformedCheckpoint {
        /// Its epoch, as the catalog holds it.
        epoch: i64,
    },
    /// A sealed partition retention would drop has no checkpoint to anchor
    /// the chain after it.
    NoRetentionAnchor {
        /// The partition's last sequence number.
        last_seq: u64,
    },
    /// An event of a prepared batch does not decode.
    BatchEvent {
        /// Its index in the batch.
        index: usize,
        /// Why.
        cause: crate::encoding::DecodeError,
    },
    /// A stored event row is malformed.
    Event {
        /// Its sequence number.
        seq: i64,
        /// What is wrong with it.
        what: EventProblem,
    },
}

/// What is wrong with a stored event row.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventProblem {
    /// A column out of its range or of the wrong type.
    Column(&'static str),
    /// The `params` column is not the JSON the store writes.
    ParamsNotJson(String),
}

impl std::fmt::Display for EventProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventProblem::Column(what) => f.write_str(what),
            EventProblem::ParamsNotJson(e) => write!(f, "params are not valid JSON: {e}"),
        }
    }
}

impl std::fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inconsistency::StoreIdLength => f.write_str("store_id is not 16 bytes"),
            Inconsistency::PartitionsWithoutIdentity => {
                f.write_str("the catalog has partitions but no store identity")
            }
            Inconsistency::NoStoreIdentity => {
                f.write_str("no store identity (the store was never opened for writing)")
            }
            Inconsistency::NoOpenPartition => f.write_str("no open partition"),
            Inconsistency::NothingPrecedes { first_seq } => write!(
                f,
                "open partition starts at {first_seq} but nothing precedes it"
            ),
            Inconsistency::ChainValueLength => f.write_str("chain value is not 32 bytes"),
            Inconsistency::PartitionFirstSeq { id } => {
                write!(f, "partition {id}: negative first_seq")
            }
            Inconsistency::PartitionState { id, state } => {
                write!(f, "partition {id}: unknown state '{state}'")
            }
            Inconsistency::NoEventsTable => f.write_str("partition file has no events table"),
            Inconsistency::NoWal { mode } => {
                write!(f, "could not enable WAL mode (journal_mode is {mode})")
            }
            Inconsistency::MalformedCheckpoint { epoch } => {
                write!(f, "checkpoint of epoch {epoch} is malformed")
            }
            Inconsistency::NoRetentionAnchor { last_seq } => write!(
                f,
                "partition ending at {last_seq} has no checkpoint in the catalog; not dropping it"
            ),
            Inconsistency::BatchEvent { index, cause } => {
                write!(f, "batch event {index}: {cause}")
            }
            Inconsistency::Event { seq, what } => write!(f, "event {seq}: {what}"),
        }
    }
}

/// Why an SQLite file is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForeignReason {
    /// A catalog opened as a partition, or the other way round.
    OtherKind,
    /// Another application's database (not empty, not ours).
    ApplicationId {
        /// Its `application_id`.
        found: i64,
        /// How many schema objects it has.
        objects: i64,
    },
    /// Opened read-only as a catalog, with another application id.
    NotACatalog {
        /// Its `application_id`.
        found: i64,
    },
}

impl std::fmt::Display for ForeignReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForeignReason::OtherKind => {
                f.write_str("it is a netaudit file of another kind (catalog vs partition)")
            }
            ForeignReason::ApplicationId { found, objects } => write!(
                f,
                "application_id is {found:#x} and it has {objects} schema objects"
            ),
            ForeignReason::NotACatalog { found } => {
                write!(f, "application_id is {found:#x}, not a netaudit catalog")
            }
        }
    }
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches a path and an operation to SQLite and I/O errors.
pub(crate) trait Context<T> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T>;
}

/// [`Context::at`] for the first statements that read a file: SQLite finds
/// out only then that a file is not a database, which is reported as such.
pub(crate) fn at_first_read(
    path: &std::path::Path,
    op: &'static str,
    e: rusqlite::Error,
) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            op,
            source: e,
        },
    }
}

impl<T> Context<T> for std::result::Result<T, rusqlite::Error> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            op,
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn at(self, path: &std::path::Path, op: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            op,
            source,
        })
    }
}

/// What is wrong with a partition archive (docs/archives.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveProblem {
    /// Not the archive format: a member missing, unreadable or unexpected.
    #[error("not a valid netaudit archive: {0}")]
    Malformed(String),
    /// The manifest's Ed25519 signature does not verify.
    #[error("the signature of MANIFEST does not verify with the store's signing key (MANIFEST or MANIFEST.sig was changed, or the key is another store's)")]
    Signature,
    /// A member's SHA-256 is not the one in the manifest.
    #[error("the SHA-256 of {member} differs from the one in MANIFEST ({member} was changed)")]
    Digest {
        /// The member's name.
        member: String,
    },
    /// The archive belongs to another store than the key.
    #[error("the archive is of store {archive}, the verify key of store {key}")]
    OtherStore {
        /// The archive's store id (hex).
        archive: String,
        /// The key's store id (hex).
        key: String,
    },
    /// An archived event breaks the chain.
    #[error("event {seq}: {detail}")]
    Chain {
        /// Its sequence number.
        seq: u64,
        /// What is wrong.
        detail: String,
    },
    /// An archived checkpoint does not verify.
    #[error("the checkpoint of epoch {epoch}: {detail}")]
    Checkpoint {
        /// Its epoch.
        epoch: u64,
        /// What is wrong.
        detail: String,
    },
}
