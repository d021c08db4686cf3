//! The writable store: a catalog database, time-ordered partition files
//! (the open one without secondary indexes, sealed ones indexed in bulk by a
//! background thread), the forward-secure chain, checkpoints and cursors.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use netaudit_event::Event;
use rusqlite::{params, Connection, OptionalExtension};

use crate::checkpoint::Checkpoint;
use crate::encoding::{decode_fields, Encoded, PreparedBatch};
use crate::error::{Context, Result, StoreError};
use crate::keys::{self, evolve, KeyFile, KeyState, SecretKey, VerifyKey};
use crate::query::{Page, Query, Reader};
use crate::rows::{to_i64, INSERT_SQL};
use crate::schema::{
    self, CATALOG_APP_ID, CATALOG_MIGRATIONS, PARTITION_APP_ID, PARTITION_MIGRATIONS,
};
use crate::static_insert::{Bind, StaticInsert};

/// How hard a commit waits for the disk; `full` or `normal` in a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// fsync at every commit: an acknowledged batch survives power loss.
    #[default]
    Full,
    /// WAL with `synchronous=NORMAL`: survives a process crash, but the
    /// last commits may be lost on power loss or an OS crash.
    Normal,
}

/// Retention: drop whole sealed partitions older than `max_age` and/or
/// beyond the newest `max_events`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub max_age: Option<Duration>,
    pub max_events: Option<u64>,
}

/// Where and how the store keeps its files.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The catalog database; partitions live in `<path minus .db>.parts/`.
    pub path: PathBuf,
    /// The key file; default `<path minus .db>.key`.
    pub key_path: Option<PathBuf>,
    pub synchronous: Synchronous,
    /// An epoch ends after this many events ...
    pub epoch_events: u64,
    /// ... or after this much time, whichever comes first.
    pub epoch_interval: Duration,
    /// A partition is sealed (and its epoch ends) once it holds this many events.
    pub partition_events: u64,
    /// Run the background thread (indexing, time-based epochs, retention).
    pub background: bool,
    pub retention: RetentionPolicy,
}

pub const DEFAULT_PATH: &str = "./data/netaudit.db";

impl StoreConfig {
    pub fn new(path: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            path: path.into(),
            key_path: None,
            synchronous: Synchronous::Full,
            epoch_events: 100_000,
            epoch_interval: Duration::from_secs(15 * 60),
            partition_events: 131_072,
            background: true,
            retention: RetentionPolicy::default(),
        }
    }

    fn stem(&self) -> PathBuf {
        if self.path.extension().is_some_and(|e| e == "db") {
            self.path.with_extension("")
        } else {
            self.path.clone()
        }
    }

    pub fn key_path(&self) -> PathBuf {
        self.key_path
            .clone()
            .unwrap_or_else(|| with_suffix(&self.stem(), ".key"))
    }

    /// The local copy of the verify key, until `keys export-verify` removes it.
    pub fn verify_key_path(&self) -> PathBuf {
        with_suffix(&self.stem(), ".verify-key")
    }
}

pub(crate) fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Reads the local copy of the verify key (written on first start).
pub fn read_local_verify_key(config: &StoreConfig) -> Result<VerifyKey> {
    let path = config.verify_key_path();
    if !path.exists() {
        return Err(StoreError::Key {
            path,
            reason: "no local verify key: it was exported already (the epoch 0 key is no longer on                      this machine; use the exported copy), or the store was never created"
                .into(),
        });
    }
    VerifyKey::read(&path)
}

/// Overwrites and removes the local copy of the verify key, once it is
/// safely elsewhere: from then on nobody on this machine can re-seal the past.
pub fn erase_local_verify_key(config: &StoreConfig) -> Result<()> {
    keys::shred(&config.verify_key_path())
}

/// The directory of partition files for a catalog path.
pub fn partitions_dir(catalog: &Path) -> PathBuf {
    let stem = if catalog.extension().is_some_and(|e| e == "db") {
        catalog.with_extension("")
    } else {
        catalog.to_path_buf()
    };
    with_suffix(&stem, ".parts")
}

pub(crate) fn partition_file(catalog: &Path, first_seq: u64) -> PathBuf {
    partitions_dir(catalog).join(format!("{first_seq:020}.db"))
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn configure(conn: &Connection, path: &Path, sync: Synchronous) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))
        .at(path, "set busy timeout")?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Foreign {
                path: path.to_path_buf(),
                reason: "the file is not an SQLite database (or it is corrupt)".into(),
            },
            _ => StoreError::Sqlite {
                path: path.to_path_buf(),
                op: "enable WAL",
                source: e,
            },
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Inconsistent {
            path: path.to_path_buf(),
            reason: format!("could not enable WAL mode (journal_mode is {mode})"),
        });
    }
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
    ))
    .at(path, "set pragmas")
}

fn open_rw(path: &Path, sync: Synchronous, app_id: i64, migrations: &[&str]) -> Result<Connection> {
    let mut conn = Connection::open(path).at(path, "open database")?;
    configure(&conn, path, sync)?;
    schema::migrate(&mut conn, path, app_id, migrations)?;
    Ok(conn)
}

/// The appending connection of a partition. With the background thread,
/// WAL checkpoints (copying the log into the database file) happen there,
/// off the append path.
fn open_partition_writer(path: &Path, config: &StoreConfig) -> Result<Connection> {
    let conn = open_rw(
        path,
        config.synchronous,
        PARTITION_APP_ID,
        PARTITION_MIGRATIONS,
    )?;
    if config.background {
        conn.execute_batch("PRAGMA wal_autocheckpoint=0;")
            .at(path, "set checkpointing")?;
    }
    Ok(conn)
}

/// Page size of new partition files (existing ones keep theirs).
pub const PARTITION_PAGE_SIZE: u32 = 65_536;

/// Creates a partition file completely under a temporary name and renames
/// it into place, so that a partition file either does not exist or has its
/// schema and chain position (a crash cannot leave a half-made one).
fn create_partition_file(
    path: &Path,
    config: &StoreConfig,
    store_id: &[u8; 16],
    first_seq: u64,
    prev_chain: &[u8; 32],
) -> Result<Connection> {
    let tmp = with_suffix(path, ".tmp");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = with_suffix(&tmp, suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Io {
                    path: file,
                    op: "remove leftover temporary partition",
                    source: e,
                })
            }
        }
    }
    {
        // Large pages: a batch commit writes a tenth as many WAL frames
        // (each with its header, checksum and page-cache work), which is
        // most of the append cost; events are never updated in place.
        // Must be set before the file gets its first page (and WAL mode).
        let conn = Connection::open(&tmp).at(&tmp, "create partition")?;
        conn.execute_batch(&format!("PRAGMA page_size={PARTITION_PAGE_SIZE};"))
            .at(&tmp, "set page size")?;
        configure(&conn, &tmp, config.synchronous)?;
        let mut conn = conn;
        schema::migrate(&mut conn, &tmp, PARTITION_APP_ID, PARTITION_MIGRATIONS)?;
        let tx = conn.unchecked_transaction().at(&tmp, "begin")?;
        meta_set(&tx, &tmp, "store_id", store_id)?;
        meta_set(&tx, &tmp, "first_seq", &first_seq.to_be_bytes())?;
        meta_set(&tx, &tmp, "prev_chain", prev_chain)?;
        tx.commit().at(&tmp, "commit partition meta")?;
        // Fold the WAL into the file before the rename.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .at(&tmp, "checkpoint new partition")?;
    }
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .at(&tmp, "sync new partition")?;
    std::fs::rename(&tmp, path).at(path, "rename new partition into place")?;
    if let Some(dir) = path.parent() {
        keys::sync_dir(dir)?;
    }
    open_partition_writer(path, config)
}

/// Copies the open partition's WAL into its database file (background).
fn checkpoint_wal(path: &Path) -> Result<()> {
    let conn = Connection::open(path).at(path, "open for WAL checkpoint")?;
    conn.busy_timeout(Duration::from_secs(1))
        .at(path, "set busy timeout")?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .at(path, "WAL checkpoint")
}

fn meta_get(conn: &Connection, path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .at(path, "read meta")
}

fn meta_set(conn: &Connection, path: &Path, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta(name, value) VALUES (?1, ?2)",
        params![name, value],
    )
    .at(path, "write meta")?;
    Ok(())
}

/// One partition as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i64,
    pub first_seq: u64,
    pub last_seq: Option<u64>,
    pub state: PartitionState,
    pub rows: Option<u64>,
    pub min_ts: Option<i64>,
    pub max_ts: Option<i64>,
    pub max_received_ns: Option<i64>,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionState {
    /// Being appended to; no secondary index.
    Open,
    /// Complete, waiting for its indexes.
    Sealed,
    /// Complete and indexed.
    Indexed,
}

pub(crate) fn load_partitions(catalog: &Connection, path: &Path) -> Result<Vec<PartitionInfo>> {
    let mut st = catalog
        .prepare_cached(
            "SELECT id, first_seq, last_seq, state, rows, min_ts, max_ts, max_received_ns \
             FROM partitions ORDER BY first_seq",
        )
        .at(path, "read partitions")?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })
        .at(path, "read partitions")?;
    let mut out = Vec::new();
    for row in rows {
        let (id, first, last, state, count, min_ts, max_ts, max_rx) =
            row.at(path, "read partition")?;
        let bad = |what: &str| StoreError::Inconsistent {
            path: path.to_path_buf(),
            reason: format!("partition {id}: {what}"),
        };
        let first_seq = u64::try_from(first).map_err(|_| bad("negative first_seq"))?;
        out.push(PartitionInfo {
            id,
            first_seq,
            last_seq: last.and_then(|l| u64::try_from(l).ok()),
            state: match state.as_str() {
                "open" => PartitionState::Open,
                "sealed" => PartitionState::Sealed,
                "indexed" => PartitionState::Indexed,
                other => return Err(bad(&format!("unknown state '{other}'"))),
            },
            rows: count.and_then(|c| u64::try_from(c).ok()),
            min_ts,
            max_ts,
            max_received_ns: max_rx,
            path: partition_file(path, first_seq),
        });
    }
    Ok(out)
}

/// The chain's moving parts; cloned for a batch and swapped in on commit,
/// so a failed batch leaves the store exactly as it was.
#[derive(Clone)]
struct ChainState {
    epoch: u64,
    key: SecretKey,
    head: [u8; 32],
    next_seq: u64,
    epoch_events: u64,
    epoch_started_ns: i64,
}

struct OpenPartition {
    first_seq: u64,
    path: PathBuf,
    conn: Connection,
    rows: u64,
}

struct Writer {
    /// Connections of partitions just sealed: closing one checkpoints its
    /// whole WAL, so the background thread closes them, not the appender.
    retired: Vec<Connection>,
    catalog: Connection,
    part: OpenPartition,
    chain: ChainState,
    key_file: KeyFile,
    signing: ed25519_dalek::SigningKey,
    /// Checkpoints committed to a partition but not yet copied to the catalog.
    unsynced: Vec<Checkpoint>,
    /// The key file could not be advanced after a commit; retried first.
    key_file_behind: bool,
    /// `Shared::unindexed`, counted up when a partition is sealed.
    unindexed: Arc<AtomicU64>,
}

struct Shared {
    config: StoreConfig,
    store_id: [u8; 16],
    writer: Mutex<Writer>,
    cursors: Mutex<Connection>,
    reader: Mutex<Reader>,
    stop: Mutex<bool>,
    wake: Condvar,
    /// The last error of the background thread (indexing, time-based epoch,
    /// WAL checkpoint, retention), cleared when a round succeeds.
    background_error: Mutex<Option<String>>,
    /// Nanoseconds spent in `append_batch` since opening: the background
    /// thread reads how busy ingest is from it.
    append_busy_ns: AtomicU64,
    /// Writer connections of sealed partitions, their page caches freed,
    /// left for the indexer to close (closing folds the WAL into the file).
    retired: Mutex<Vec<Connection>>,
    /// The partition the indexer thread is building indexes for, and how
    /// to interrupt that build.
    indexing: Mutex<Option<(i64, rusqlite::InterruptHandle)>>,
    /// The last error of the indexer thread, cleared when a round succeeds.
    index_error: Mutex<Option<String>>,
    /// Sealed partitions whose indexes are not built yet (see
    /// [`Store::unindexed_partitions`]).
    unindexed: Arc<AtomicU64>,
}

/// While appends keep the writer busier than this share of the time, the
/// background thread defers the open partition's WAL checkpoint, so that
/// the CPU goes to ingest during a burst.
pub const BUSY_WRITER_SHARE: f64 = 0.2;

/// How long a sealed partition may wait for the indexer thread, which runs
/// at idle priority (it only gets CPU that ingest and everything else leave
/// unused), before the maintenance thread builds its indexes at normal
/// priority. A burst shorter than this is taken in at full speed and
/// indexed afterwards; under longer overload, indexing takes its share
/// again. Queries stay correct meanwhile (an unindexed partition is
/// scanned).
pub const MAX_INDEX_WAIT: Duration = Duration::from_secs(30);

/// When the maintenance thread first saw each sealed partition: which ones
/// have waited too long for the idle indexer.
#[derive(Debug, Default)]
struct IndexWait {
    first_seen: std::collections::HashMap<i64, Instant>,
}

impl IndexWait {
    fn overdue(&mut self, partition: &PartitionInfo) -> bool {
        let first = *self
            .first_seen
            .entry(partition.id)
            .or_insert_with(Instant::now);
        first.elapsed() >= MAX_INDEX_WAIT
    }
}

/// Who builds indexes: the idle-priority indexer thread (every sealed
/// partition, interruptible), the maintenance thread (only those that
/// waited too long), or a caller of [`Store::index_sealed`] (all, now).
enum IndexBuilder<'a> {
    Idle,
    Overdue(&'a mut IndexWait),
    Now,
}

/// The store. `append_batch` is serialized internally; queries and cursor
/// operations may run from other threads at the same time.
pub struct Store {
    shared: Arc<Shared>,
    background: Option<JoinHandle<()>>,
    indexer: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread while holding the lock leaves consistent
    // data (state is only swapped in after a commit), so poisoning is ignored.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The result of a retention pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub partitions_dropped: u64,
    pub events_dropped: u64,
    /// Events before this sequence number are gone.
    pub first_kept_seq: Option<u64>,
}

impl Store {
    /// Opens (creating on first start) the store at `config.path`.
    pub fn open(config: StoreConfig) -> Result<Store> {
        let path = config.path.clone();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).at(dir, "create data directory")?;
            }
        }
        let parts = partitions_dir(&path);
        std::fs::create_dir_all(&parts).at(&parts, "create partitions directory")?;
        let mut catalog = open_rw(
            &path,
            config.synchronous,
            CATALOG_APP_ID,
            CATALOG_MIGRATIONS,
        )?;
        let key_path = config.key_path();
        let (key_file, key_state) = match meta_get(&catalog, &path, "store_id")? {
            Some(id) => {
                let store_id: [u8; 16] = id.try_into().map_err(|_| StoreError::Inconsistent {
                    path: path.clone(),
                    reason: "store_id is not 16 bytes".into(),
                })?;
                if !key_path.exists() {
                    return Err(StoreError::Key {
                        path: key_path,
                        reason: "missing: the store exists but its key file does not; \
                                 without it no event can be appended (verify still works with the exported verify key)"
                            .into(),
                    });
                }
                let (kf, state) = KeyFile::open(&key_path)?;
                if state.store_id != store_id {
                    return Err(StoreError::Key {
                        path: key_path,
                        reason: format!(
                            "belongs to store {} but {} is store {}",
                            hex::encode(state.store_id),
                            path.display(),
                            hex::encode(store_id)
                        ),
                    });
                }
                (kf, state)
            }
            None => Self::initialise(&mut catalog, &config, &key_path)?,
        };
        key_file.lock_exclusive()?;
        let store_id = key_state.store_id;
        let signing = key_state.signing.clone();
        let (part, chain, unsynced) =
            Self::recover(&mut catalog, &config, &store_id, key_state, &key_file)?;
        let writer = Writer {
            retired: Vec::new(),
            catalog,
            part,
            chain,
            key_file,
            signing,
            unsynced,
            key_file_behind: false,
            unindexed: Arc::new(AtomicU64::new(0)),
        };
        let mut writer = writer;
        writer.write_key_file(&store_id)?;
        writer.sync_checkpoints()?;
        let cursors = open_rw(
            &path,
            config.synchronous,
            CATALOG_APP_ID,
            CATALOG_MIGRATIONS,
        )?;
        let reader = Reader::open(&path)?;
        let unindexed = Arc::clone(&writer.unindexed);
        let shared = Arc::new(Shared {
            config,
            store_id,
            writer: Mutex::new(writer),
            cursors: Mutex::new(cursors),
            reader: Mutex::new(reader),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            background_error: Mutex::new(None),
            append_busy_ns: AtomicU64::new(0),
            retired: Mutex::new(Vec::new()),
            indexing: Mutex::new(None),
            index_error: Mutex::new(None),
            unindexed,
        });
        let mut store = Store {
            shared,
            background: None,
            indexer: None,
        };
        if store.shared.config.background {
            let spawn = |name: &str, f: fn(&Shared)| {
                let bg = Arc::clone(&store.shared);
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || f(&bg))
                    .map_err(|e| StoreError::Io {
                        path: path.clone(),
                        op: "start background thread",
                        source: e,
                    })
            };
            store.background = Some(spawn("netaudit-maint", background_loop)?);
            store.indexer = Some(spawn("netaudit-index", indexer_loop)?);
        }
        Ok(store)
    }

    /// First start: keys, verify key, identity.
    fn initialise(
        catalog: &mut Connection,
        config: &StoreConfig,
        key_path: &Path,
    ) -> Result<(KeyFile, KeyState)> {
        let path = &config.path;
        let partitions: i64 = catalog
            .query_row("SELECT count(*) FROM partitions", [], |r| r.get(0))
            .at(path, "read partitions")?;
        if partitions != 0 {
            return Err(StoreError::Inconsistent {
                path: path.clone(),
                reason: "the catalog has partitions but no store identity".into(),
            });
        }
        // A key file without a store identity is what a crash during the
        // first start leaves: adopt it if its epoch is still 0.
        let (kf, state) = if key_path.exists() {
            let (kf, state) = KeyFile::open(key_path)?;
            if state.epoch != 0 {
                return Err(StoreError::Key {
                    path: key_path.to_path_buf(),
                    reason: format!(
                        "a key file at epoch {} exists but {} is a new, empty database; \
                         move the key file away or point --db at the store it belongs to",
                        state.epoch,
                        path.display()
                    ),
                });
            }
            (kf, state)
        } else {
            let mut id = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
            let state = KeyState::generate(id, now_ns());
            let kf = KeyFile::create(key_path, &state)?;
            (kf, state)
        };
        let verify_path = config.verify_key_path();
        if !verify_path.exists() {
            VerifyKey {
                store_id: state.store_id,
                epoch0_key: state.chain_key.clone(),
                public_key: state.signing.verifying_key(),
            }
            .write_new(&verify_path)?;
        }
        let tx = catalog.transaction().at(path, "begin")?;
        meta_set(&tx, path, "store_id", &state.store_id)?;
        meta_set(
            &tx,
            path,
            "public_key",
            &state.signing.verifying_key().to_bytes(),
        )?;
        meta_set(&tx, path, "created_ns", &now_ns().to_be_bytes())?;
        tx.commit().at(path, "commit store identity")?;
        Ok((kf, state))
    }

    /// Finds the chain head, the open partition and the current epoch, and
    /// brings the key file forward to the epoch the database has reached.
    fn recover(
        catalog: &mut Connection,
        config: &StoreConfig,
        store_id: &[u8; 16],
        key_state: KeyState,
        key_file: &KeyFile,
    ) -> Result<(OpenPartition, ChainState, Vec<Checkpoint>)> {
        let path = &config.path;
        let mut partitions = load_partitions(catalog, path)?;
        if partitions.is_empty() {
            catalog
                .execute(
                    "INSERT INTO partitions(first_seq, state) VALUES (1, 'open')",
                    [],
                )
                .at(path, "create first partition")?;
            partitions = load_partitions(catalog, path)?;
        }
        let open = partitions
            .iter()
            .rev()
            .find(|p| p.state == PartitionState::Open)
            .cloned()
            .ok_or_else(|| StoreError::Inconsistent {
                path: path.clone(),
                reason: "no open partition".into(),
            })?;
        // Where the open partition starts in the chain: after the last
        // event of the partition before it, or at the genesis value.
        let before = partitions
            .iter()
            .rev()
            .find(|p| p.first_seq < open.first_seq)
            .cloned();
        let mut catalog_ckpts = Checkpoint::load_all(catalog, path)?;
        let (prev_chain, prev_seq) = match &before {
            None if open.first_seq == 1 => (keys::genesis(store_id), 0),
            _ => {
                // The catalog keeps every checkpoint; a partition always
                // starts right after one.
                let anchor = catalog_ckpts
                    .iter()
                    .rev()
                    .find(|c| c.last_seq + 1 == open.first_seq);
                match anchor {
                    Some(c) => (c.chain, c.last_seq),
                    None => {
                        let prev = before.as_ref().ok_or_else(|| StoreError::Inconsistent {
                            path: path.clone(),
                            reason: format!(
                                "open partition starts at {} but nothing precedes it",
                                open.first_seq
                            ),
                        })?;
                        let conn = crate::rows::open_read_only(&prev.path)?;
                        let (seq, chain): (i64, Vec<u8>) = conn
                            .query_row(
                                "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1",
                                [],
                                |r| Ok((r.get(0)?, r.get(1)?)),
                            )
                            .at(&prev.path, "read last event")?;
                        (
                            chain.try_into().map_err(|_| StoreError::Inconsistent {
                                path: prev.path.clone(),
                                reason: "chain value is not 32 bytes".into(),
                            })?,
                            u64::try_from(seq).unwrap_or(0),
                        )
                    }
                }
            }
        };
        let part_conn = if open.path.exists() {
            open_partition_writer(&open.path, config)?
        } else {
            create_partition_file(&open.path, config, store_id, open.first_seq, &prev_chain)?
        };
        if meta_get(&part_conn, &open.path, "first_seq")?.is_none() {
            let tx = part_conn.unchecked_transaction().at(&open.path, "begin")?;
            meta_set(&tx, &open.path, "store_id", store_id)?;
            meta_set(&tx, &open.path, "first_seq", &open.first_seq.to_be_bytes())?;
            meta_set(&tx, &open.path, "prev_chain", &prev_chain)?;
            tx.commit().at(&open.path, "commit partition meta")?;
        }
        let last: Option<(i64, Vec<u8>)> = part_conn
            .query_row(
                "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .at(&open.path, "read last event")?;
        let rows: i64 = part_conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .at(&open.path, "count events")?;
        let (head, last_seq) = match last {
            Some((seq, chain)) => (
                chain.try_into().map_err(|_| StoreError::Inconsistent {
                    path: open.path.clone(),
                    reason: "chain value is not 32 bytes".into(),
                })?,
                u64::try_from(seq).unwrap_or(0),
            ),
            None => (prev_chain, prev_seq),
        };
        // Checkpoints: the catalog's copy plus any in the newest partitions
        // that a crash kept from being copied.
        let mut unsynced = Vec::new();
        for p in partitions.iter().rev().take(2) {
            let conn = if p.first_seq == open.first_seq {
                None
            } else if p.path.exists() {
                Some(crate::rows::open_read_only(&p.path)?)
            } else {
                continue;
            };
            let list = Checkpoint::load_all(conn.as_ref().unwrap_or(&part_conn), &p.path)?;
            for c in list {
                if !catalog_ckpts.iter().any(|k| k.epoch == c.epoch) {
                    unsynced.push(c.clone());
                    catalog_ckpts.push(c);
                }
            }
        }
        catalog_ckpts.sort_by_key(|c| c.epoch);
        let last_ckpt = catalog_ckpts.last();
        let epoch = last_ckpt.map_or(0, |c| c.epoch + 1);
        let sealed_seq = last_ckpt.map_or(0, |c| c.last_seq);
        if key_state.epoch > epoch {
            return Err(StoreError::Key {
                path: key_file.path().to_path_buf(),
                reason: format!(
                    "the key is at epoch {} but the database's checkpoints end with epoch {} \
                     (sequence {}): the database was truncated or restored from an older copy; \
                     run `netaudit verify`",
                    key_state.epoch,
                    i128::from(epoch) - 1,
                    sealed_seq
                ),
            });
        }
        let key = keys::derive(&key_state.chain_key, key_state.epoch, epoch);
        let epoch_started_ns = if key_state.epoch == epoch {
            key_state.epoch_started_ns
        } else {
            last_ckpt.map_or(key_state.epoch_started_ns, |c| c.time_ns)
        };
        Ok((
            OpenPartition {
                first_seq: open.first_seq,
                path: open.path.clone(),
                conn: part_conn,
                rows: u64::try_from(rows).unwrap_or(0),
            },
            ChainState {
                epoch,
                key,
                head,
                next_seq: last_seq + 1,
                epoch_events: last_seq.saturating_sub(sealed_seq),
                epoch_started_ns,
            },
            unsynced,
        ))
    }

    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }

    pub fn store_id(&self) -> [u8; 16] {
        self.shared.store_id
    }

    /// Appends a batch in one transaction and returns its sequence numbers.
    /// When this returns `Ok`, the batch is committed (and, with
    /// [`Synchronous::Full`], on disk).
    pub fn append_batch(&self, events: &[Event]) -> Result<Vec<u64>> {
        self.append_encoded(&Encoded::of(events))
    }

    /// Like [`Store::append_batch`], with the encoding work already done
    /// (see [`PreparedBatch`]).
    pub fn append_prepared(&self, batch: &PreparedBatch) -> Result<Vec<u64>> {
        self.append_encoded(&batch.encoded)
    }

    fn append_encoded(&self, encoded: &Encoded) -> Result<Vec<u64>> {
        let mut w = lock(&self.shared.writer);
        let started = Instant::now();
        let result = w.append(&self.shared.config, &self.shared.store_id, encoded);
        let busy = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.shared.append_busy_ns.fetch_add(busy, Relaxed);
        let seqs = result?;
        let roll = w.part.rows >= self.shared.config.partition_events;
        drop(w);
        if roll {
            self.shared.wake.notify_all();
        }
        Ok(seqs)
    }

    /// Ends the current epoch now: writes its checkpoint and evolves the key.
    pub fn seal_epoch(&self) -> Result<Checkpoint> {
        let mut w = lock(&self.shared.writer);
        w.close_epoch_now(&self.shared.store_id)
    }

    /// The sequence number of the last stored event (0 when empty).
    pub fn last_seq(&self) -> u64 {
        lock(&self.shared.writer).chain.next_seq - 1
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        lock(&self.shared.writer).chain.epoch
    }

    pub fn query(&self, query: &Query) -> Result<Page> {
        lock(&self.shared.reader).query(query)
    }

    /// The position of a named consumer cursor (0 when it has never advanced).
    pub fn cursor(&self, name: &str) -> Result<u64> {
        let conn = lock(&self.shared.cursors);
        read_cursor(&conn, &self.shared.config.path, name)
    }

    /// Moves cursor `name` from `from` to `to` atomically; fails with
    /// [`StoreError::CursorConflict`] if it is not at `from`.
    pub fn advance_cursor(&self, name: &str, from: u64, to: u64) -> Result<()> {
        let last = self.last_seq();
        if to > last {
            return Err(StoreError::CursorBeyondEnd {
                name: name.to_string(),
                to,
                last,
            });
        }
        let path = &self.shared.config.path;
        let mut conn = lock(&self.shared.cursors);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .at(path, "begin cursor update")?;
        let found = read_cursor(&tx, path, name)?;
        if found != from {
            return Err(StoreError::CursorConflict {
                name: name.to_string(),
                expected: from,
                found,
            });
        }
        tx.execute(
            "INSERT INTO cursors(name, seq, updated_ns) VALUES (?1, ?2, ?3) \
             ON CONFLICT(name) DO UPDATE SET seq = excluded.seq, updated_ns = excluded.updated_ns",
            params![name, to_i64("cursor", to)?, now_ns()],
        )
        .at(path, "advance cursor")?;
        tx.commit().at(path, "commit cursor")
    }

    /// All cursors and their positions.
    pub fn cursors(&self) -> Result<Vec<(String, u64)>> {
        let conn = lock(&self.shared.cursors);
        list_cursors(&conn, &self.shared.config.path)
    }

    /// Builds the indexes of every sealed partition now (the background
    /// thread does this by itself; tests and benchmarks call it to wait).
    pub fn index_sealed(&self) -> Result<u64> {
        index_sealed(&self.shared, IndexBuilder::Now)
    }

    /// Drops whole sealed partitions as the policy says, at most
    /// `max_partitions` of them in this call (retention works in bounded steps).
    pub fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        max_partitions: u64,
    ) -> Result<RetentionReport> {
        apply_retention(&self.shared, policy, max_partitions)
    }

    /// How many sealed partitions wait for their indexes, as last seen by
    /// the background threads (a gauge for metrics: it grows during a burst,
    /// while the idle-priority indexer waits, and falls back to 0 after).
    pub fn unindexed_partitions(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.shared.unindexed)
    }

    /// The last error of the background work, if its latest round failed
    /// (it retries every half second); for health checks.
    pub fn background_error(&self) -> Option<String> {
        lock(&self.shared.background_error)
            .clone()
            .or_else(|| lock(&self.shared.index_error).clone())
    }

    /// Stops the background thread and seals the current epoch if it holds
    /// events, so that a clean shutdown leaves no unsealed tail.
    pub fn close(mut self) -> Result<()> {
        self.stop_background();
        let mut w = lock(&self.shared.writer);
        if w.chain.epoch_events > 0 {
            w.close_epoch_now(&self.shared.store_id)?;
        }
        Ok(())
    }

    fn stop_background(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        // A build under way is rolled back; the next start does it again.
        if let Some((_, build)) = lock(&self.shared.indexing).as_ref() {
            build.interrupt();
        }
        for handle in [self.background.take(), self.indexer.take()]
            .into_iter()
            .flatten()
        {
            let _ = handle.join();
        }
        lock(&self.shared.retired).clear();
    }

    /// The partitions, oldest first.
    pub fn partitions(&self) -> Result<Vec<PartitionInfo>> {
        let conn = lock(&self.shared.cursors);
        load_partitions(&conn, &self.shared.config.path)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.stop_background();
    }
}

pub(crate) fn read_cursor(conn: &Connection, path: &Path, name: &str) -> Result<u64> {
    let seq: Option<i64> = conn
        .query_row("SELECT seq FROM cursors WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .at(path, "read cursor")?;
    Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

pub(crate) fn list_cursors(conn: &Connection, path: &Path) -> Result<Vec<(String, u64)>> {
    let mut st = conn
        .prepare("SELECT name, seq FROM cursors ORDER BY name")
        .at(path, "read cursors")?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .at(path, "read cursors")?;
    let mut out = Vec::new();
    for row in rows {
        let (name, seq) = row.at(path, "read cursor")?;
        out.push((name, u64::try_from(seq).unwrap_or(0)));
    }
    Ok(out)
}

impl Writer {
    fn make_checkpoint(&self, store_id: &[u8; 16], chain: &ChainState, time_ns: i64) -> Checkpoint {
        let last_seq = chain.next_seq - 1;
        let bytes = Checkpoint::signed_bytes(store_id, chain.epoch, last_seq, &chain.head, time_ns);
        Checkpoint {
            epoch: chain.epoch,
            last_seq,
            chain: chain.head,
            time_ns,
            mac: Checkpoint::mac_of(&chain.key, &bytes),
            signature: ed25519_dalek::Signer::sign(&self.signing, &bytes).to_bytes(),
        }
    }

    /// Advances `chain` to the next epoch (in memory only).
    fn next_epoch(chain: &mut ChainState, now: i64) {
        chain.epoch += 1;
        chain.key = evolve(&chain.key, chain.epoch);
        chain.epoch_events = 0;
        chain.epoch_started_ns = now;
    }

    fn write_key_file(&mut self, store_id: &[u8; 16]) -> Result<()> {
        let state = KeyState {
            store_id: *store_id,
            epoch: self.chain.epoch,
            epoch_started_ns: self.chain.epoch_started_ns,
            chain_key: self.chain.key.clone(),
            signing: self.signing.clone(),
        };
        match self.key_file.write_both(&state) {
            Ok(()) => {
                self.key_file_behind = false;
                Ok(())
            }
            Err(e) => {
                self.key_file_behind = true;
                Err(e)
            }
        }
    }

    fn sync_checkpoints(&mut self) -> Result<()> {
        if self.unsynced.is_empty() {
            return Ok(());
        }
        let path = self.catalog.path().map(PathBuf::from).unwrap_or_default();
        let tx = self.catalog.transaction().at(&path, "begin")?;
        for c in &self.unsynced {
            c.insert(&tx, &path)?;
        }
        tx.commit().at(&path, "commit checkpoints")?;
        self.unsynced.clear();
        Ok(())
    }

    /// Work left over from a previous call that failed after its commit.
    fn catch_up(&mut self, store_id: &[u8; 16]) -> Result<()> {
        if self.key_file_behind {
            self.write_key_file(store_id)?;
        }
        self.sync_checkpoints()
    }

    fn close_epoch_now(&mut self, store_id: &[u8; 16]) -> Result<Checkpoint> {
        self.catch_up(store_id)?;
        let now = now_ns();
        let ckpt = self.make_checkpoint(store_id, &self.chain, now);
        let path = self.part.path.clone();
        let tx = self.part.conn.unchecked_transaction().at(&path, "begin")?;
        ckpt.insert(&tx, &path)?;
        tx.commit().at(&path, "commit checkpoint")?;
        Self::next_epoch(&mut self.chain, now);
        self.unsynced.push(ckpt.clone());
        self.write_key_file(store_id)?;
        self.sync_checkpoints()?;
        Ok(ckpt)
    }

    /// Closes the epoch and starts a new partition file.
    fn roll(&mut self, store_id: &[u8; 16], config: &StoreConfig) -> Result<()> {
        // A partition starts right after a checkpoint (retention relies on it).
        if self.chain.epoch_events > 0 {
            self.close_epoch_now(store_id)?;
        }
        let catalog_path = self.catalog.path().map(PathBuf::from).unwrap_or_default();
        let first_seq = self.chain.next_seq;
        let last_seq = first_seq - 1;
        let tx = self.catalog.transaction().at(&catalog_path, "begin")?;
        tx.execute(
            "UPDATE partitions SET state = 'sealed', last_seq = ?1, rows = ?2 WHERE first_seq = ?3",
            params![
                to_i64("sequence", last_seq)?,
                to_i64("rows", self.part.rows)?,
                to_i64("sequence", self.part.first_seq)?
            ],
        )
        .at(&catalog_path, "seal partition")?;
        tx.execute(
            "INSERT INTO partitions(first_seq, state) VALUES (?1, 'open')",
            [to_i64("sequence", first_seq)?],
        )
        .at(&catalog_path, "create partition")?;
        tx.commit().at(&catalog_path, "commit partition roll")?;
        let path = partition_file(&catalog_path, first_seq);
        let conn = create_partition_file(&path, config, store_id, first_seq, &self.chain.head)?;
        let old = std::mem::replace(
            &mut self.part,
            OpenPartition {
                first_seq,
                path,
                conn,
                rows: 0,
            },
        );
        if config.background {
            self.retired.push(old.conn);
        }
        self.unindexed.fetch_add(1, Relaxed);
        Ok(())
    }

    fn append(
        &mut self,
        config: &StoreConfig,
        store_id: &[u8; 16],
        encoded: &Encoded,
    ) -> Result<Vec<u64>> {
        if encoded.is_empty() {
            return Ok(Vec::new());
        }
        self.catch_up(store_id)?;
        let now = now_ns();
        let interval = i64::try_from(config.epoch_interval.as_nanos()).unwrap_or(i64::MAX);
        let len = u64::try_from(encoded.len()).unwrap_or(u64::MAX);
        if self.part.rows > 0 && self.part.rows.saturating_add(len) > config.partition_events {
            self.roll(store_id, config)?;
        } else if now.saturating_sub(self.chain.epoch_started_ns) >= interval {
            self.close_epoch_now(store_id)?;
        }
        let mut chain = self.chain.clone();
        let mut hasher = keys::ChainHasher::new(&chain.key);
        let mut ckpts = Vec::new();
        let mut seqs = Vec::with_capacity(encoded.len());
        let path = self.part.path.clone();
        let tx = self
            .part
            .conn
            .unchecked_transaction()
            .at(&path, "begin batch")?;
        {
            let mut insert = StaticInsert::prepare(&tx, INSERT_SQL, &path)?;
            for i in 0..encoded.len() {
                let seq = chain.next_seq;
                let (encoding, params) = encoded.get(i);
                // The columns come from the bytes the chain covers.
                let event = decode_fields(encoding).map_err(|e| StoreError::Inconsistent {
                    path: path.clone(),
                    reason: format!("batch event {i}: {e}"),
                })?;
                let value = hasher.value(&chain.head, seq, chain.epoch, encoding);
                insert.insert(
                    &[
                        Bind::Int(to_i64("sequence", seq)?),
                        Bind::Int(to_i64("epoch", chain.epoch)?),
                        Bind::Int(event.received_ns),
                        // As `query_time`.
                        Bind::Int(event.time_ns.unwrap_or(event.received_ns)),
                        event.time_ns.into(),
                        event.severity.map(i64::from).into(),
                        event.facility.map(i64::from).into(),
                        event.code.into(),
                        event.user.into(),
                        event.host.into(),
                        event.device.into(),
                        event.app.into(),
                        event.pid.into(),
                        event.client_addr.into(),
                        event.operation.into(),
                        params.into(),
                        event.message.into(),
                        event.parse_error.into(),
                        Bind::Blob(event.raw),
                        Bind::Blob(&value),
                    ],
                    &path,
                )?;
                chain.head = value;
                chain.next_seq += 1;
                chain.epoch_events += 1;
                seqs.push(seq);
                // The epoch ends with its last event, in the same transaction,
                // so the key evolves as early as possible.
                if chain.epoch_events >= config.epoch_events {
                    let ckpt = {
                        let last_seq = chain.next_seq - 1;
                        let bytes = Checkpoint::signed_bytes(
                            store_id,
                            chain.epoch,
                            last_seq,
                            &chain.head,
                            now,
                        );
                        Checkpoint {
                            epoch: chain.epoch,
                            last_seq,
                            chain: chain.head,
                            time_ns: now,
                            mac: Checkpoint::mac_of(&chain.key, &bytes),
                            signature: ed25519_dalek::Signer::sign(&self.signing, &bytes)
                                .to_bytes(),
                        }
                    };
                    ckpt.insert(&tx, &path)?;
                    ckpts.push(ckpt);
                    Self::next_epoch(&mut chain, now);
                    hasher = keys::ChainHasher::new(&chain.key);
                }
            }
        }
        tx.commit().at(&path, "commit batch")?;
        let epoch_changed = chain.epoch != self.chain.epoch;
        self.chain = chain;
        self.part.rows += len;
        if epoch_changed {
            self.unsynced.extend(ckpts);
            // The batch is committed: report key-file trouble at the next
            // call (which retries) rather than make the caller resend it.
            let _ = self.write_key_file(store_id);
            let _ = self.sync_checkpoints();
        }
        Ok(seqs)
    }
}

/// Builds indexes of sealed partitions, oldest first, as `builder` may;
/// returns how many were indexed.
fn index_sealed(shared: &Shared, mut builder: IndexBuilder<'_>) -> Result<u64> {
    let path = &shared.config.path;
    let sealed: Vec<PartitionInfo> = {
        let conn = lock(&shared.cursors);
        load_partitions(&conn, path)?
            .into_iter()
            .filter(|p| p.state == PartitionState::Sealed)
            .collect()
    };
    shared.unindexed.store(sealed.len() as u64, Relaxed);
    if let IndexBuilder::Overdue(wait) = &mut builder {
        wait.first_seen
            .retain(|id, _| sealed.iter().any(|p| p.id == *id));
    }
    let idle = matches!(builder, IndexBuilder::Idle);
    let mut done = 0;
    for p in sealed {
        if *lock(&shared.stop) {
            break;
        }
        if let IndexBuilder::Overdue(wait) = &mut builder {
            if !wait.overdue(&p) {
                continue;
            }
        }
        if !idle {
            // The idle indexer may be starved on this very partition:
            // its build is rolled back and this one goes ahead.
            if let Some((id, build)) = lock(&shared.indexing).as_ref() {
                if *id == p.id {
                    build.interrupt();
                }
            }
            // Closing the sealed writer connections folds their WALs
            // into the files, which the index scans then read.
            lock(&shared.retired).clear();
        }
        match build_indexes(shared, &p, idle) {
            Ok(true) => {
                done += 1;
                let _ = shared
                    .unindexed
                    .fetch_update(Relaxed, Relaxed, |n| Some(n.saturating_sub(1)));
            }
            Ok(false) => {}
            // Interrupted: taken over by another builder, or stopping.
            Err(StoreError::Sqlite { source, .. })
                if idle
                    && source.sqlite_error_code()
                        == Some(rusqlite::ErrorCode::OperationInterrupted) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Builds one sealed partition's indexes and marks it indexed; `false`
/// when another builder got there first. An `interruptible` build can be
/// interrupted through `Shared::indexing`.
fn build_indexes(shared: &Shared, p: &PartitionInfo, interruptible: bool) -> Result<bool> {
    let path = &shared.config.path;
    let state: Option<String> = lock(&shared.cursors)
        .query_row("SELECT state FROM partitions WHERE id = ?1", [p.id], |r| {
            r.get(0)
        })
        .optional()
        .at(path, "read partition state")?;
    if state.as_deref() != Some("sealed") {
        return Ok(false);
    }
    let conn = open_rw(
        &p.path,
        shared.config.synchronous,
        PARTITION_APP_ID,
        PARTITION_MIGRATIONS,
    )?;
    if interruptible {
        *lock(&shared.indexing) = Some((p.id, conn.get_interrupt_handle()));
    }
    let built = (|| {
        // Each index scans the whole table: fold the WAL into the file
        // first, so that the scans do not look every page up in the WAL
        // index. (Not memory-mapped: mapped pages would count in the
        // server's resident size, which must stay bounded under load.)
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .at(&p.path, "checkpoint before indexing")?;
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {} COMMIT;", schema::INDEX_SQL))
            .at(&p.path, "build indexes")?;
        conn.query_row(
            "SELECT (SELECT min(ts) FROM events), (SELECT max(ts) FROM events), \
             (SELECT received_ns FROM events ORDER BY seq DESC LIMIT 1), (SELECT count(*) FROM events)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .at(&p.path, "read partition bounds")
    })();
    if interruptible {
        *lock(&shared.indexing) = None;
    }
    // Dropping the connection rolls back an interrupted build.
    drop(conn);
    let (min_ts, max_ts, max_rx, rows): (Option<i64>, Option<i64>, Option<i64>, i64) = built?;
    let changed = lock(&shared.cursors)
        .execute(
            "UPDATE partitions SET state = 'indexed', min_ts = ?1, max_ts = ?2, max_received_ns = ?3, rows = ?4 \
             WHERE id = ?5 AND state = 'sealed'",
            params![min_ts, max_ts, max_rx, rows, p.id],
        )
        .at(path, "mark partition indexed")?;
    Ok(changed == 1)
}

fn apply_retention(
    shared: &Shared,
    policy: &RetentionPolicy,
    max_partitions: u64,
) -> Result<RetentionReport> {
    let path = &shared.config.path;
    let mut report = RetentionReport::default();
    if policy.max_age.is_none() && policy.max_events.is_none() {
        return Ok(report);
    }
    let now = now_ns();
    let cutoff = policy
        .max_age
        .map(|age| now.saturating_sub(i64::try_from(age.as_nanos()).unwrap_or(i64::MAX)));
    while report.partitions_dropped < max_partitions {
        let mut cat = lock(&shared.cursors);
        let parts = load_partitions(&cat, path)?;
        let last = lock(&shared.writer).chain.next_seq - 1;
        let Some(oldest) = parts.first().cloned() else {
            break;
        };
        // Only complete, indexed partitions go, and never the open one.
        if oldest.state != PartitionState::Indexed || parts.len() < 2 {
            break;
        }
        let Some(p_last) = oldest.last_seq else { break };
        let too_old = match (cutoff, oldest.max_received_ns) {
            (Some(c), Some(rx)) => rx < c,
            _ => false,
        };
        let too_many = policy
            .max_events
            .is_some_and(|max| last.saturating_sub(p_last) >= max);
        if !too_old && !too_many {
            break;
        }
        let anchor: Option<i64> = cat
            .query_row(
                "SELECT epoch FROM checkpoints WHERE last_seq = ?1 ORDER BY epoch DESC LIMIT 1",
                [to_i64("sequence", p_last)?],
                |r| r.get(0),
            )
            .optional()
            .at(path, "find retention anchor")?;
        let Some(anchor) = anchor else {
            return Err(StoreError::Inconsistent {
                path: path.clone(),
                reason: format!(
                    "partition ending at {p_last} has no checkpoint in the catalog; not dropping it"
                ),
            });
        };
        let tx = cat.transaction().at(path, "begin retention")?;
        tx.execute("DELETE FROM partitions WHERE id = ?1", [oldest.id])
            .at(path, "drop partition")?;
        tx.execute(
            "INSERT INTO retention(time_ns, first_seq, last_seq, anchor_epoch, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now,
                to_i64("sequence", oldest.first_seq)?,
                to_i64("sequence", p_last)?,
                anchor,
                if too_old { "age" } else { "count" }
            ],
        )
        .at(path, "record retention")?;
        tx.commit().at(path, "commit retention")?;
        drop(cat);
        // Readers holding the file open keep reading it until they close it.
        lock(&shared.reader).forget(oldest.id);
        for suffix in ["", "-wal", "-shm"] {
            let file = with_suffix(&oldest.path, suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(StoreError::Io {
                        path: file,
                        op: "remove dropped partition",
                        source: e,
                    })
                }
            }
        }
        report.partitions_dropped += 1;
        report.events_dropped += oldest.rows.unwrap_or(0);
        report.first_kept_seq = Some(p_last + 1);
    }
    Ok(report)
}

fn background_loop(shared: &Shared) {
    let mut last = (Instant::now(), shared.append_busy_ns.load(Relaxed));
    let mut wait = IndexWait::default();
    while wait_round(shared, Duration::from_millis(500)) {
        // Errors here are retried on the next round and kept for
        // `background_error`; the writer reports its own errors to callers.
        let now = (Instant::now(), shared.append_busy_ns.load(Relaxed));
        let wall = now.0.duration_since(last.0).as_nanos() as f64;
        let busy = now.1.saturating_sub(last.1) as f64;
        last = now;
        let ingest_busy = wall > 0.0 && busy / wall > BUSY_WRITER_SHARE;
        let result = background_round(shared, ingest_busy, &mut wait);
        *lock(&shared.background_error) = result.err().map(|e| e.to_string());
    }
}

/// Waits up to `timeout` for a wake-up; `false` when the store is stopping.
fn wait_round(shared: &Shared, timeout: Duration) -> bool {
    let stop = lock(&shared.stop);
    if *stop {
        return false;
    }
    let (stop, _) = shared
        .wake
        .wait_timeout(stop, timeout)
        .unwrap_or_else(|p| p.into_inner());
    !*stop
}

fn background_round(shared: &Shared, ingest_busy: bool, wait: &mut IndexWait) -> Result<()> {
    let (open_path, retired) = {
        let mut w = lock(&shared.writer);
        let interval = i64::try_from(shared.config.epoch_interval.as_nanos()).unwrap_or(i64::MAX);
        if now_ns().saturating_sub(w.chain.epoch_started_ns) >= interval {
            w.close_epoch_now(&shared.store_id)?;
        }
        if w.part.rows >= shared.config.partition_events {
            w.roll(&shared.store_id, &shared.config)?;
        }
        (w.part.path.clone(), std::mem::take(&mut w.retired))
    };
    if !retired.is_empty() {
        // Their page caches go now (memory stays bounded however long the
        // indexer waits); closing them, which checkpoints, is left to it.
        for conn in &retired {
            let _ = conn.execute_batch("PRAGMA shrink_memory;");
        }
        lock(&shared.retired).extend(retired);
        shared.wake.notify_all();
    }
    // The open partition's WAL is bounded by the partition size, so its
    // checkpoint can wait for a quieter moment.
    if !ingest_busy {
        checkpoint_wal(&open_path)?;
    }
    index_sealed(shared, IndexBuilder::Overdue(wait))?;
    apply_retention(shared, &shared.config.retention, 1)?;
    Ok(())
}

/// The indexer thread: closes sealed partitions' writer connections and
/// builds their indexes, at idle priority (see [`MAX_INDEX_WAIT`]).
fn indexer_loop(shared: &Shared) {
    lower_thread_priority();
    while wait_round(shared, Duration::from_millis(250)) {
        let retired = std::mem::take(&mut *lock(&shared.retired));
        drop(retired);
        let result = index_sealed(shared, IndexBuilder::Idle);
        *lock(&shared.index_error) = result.err().map(|e| e.to_string());
    }
}

/// Puts the calling thread in the idle scheduling class (Linux
/// `SCHED_IDLE`): it runs only when a CPU has nothing else to do. Where
/// that is not available the thread keeps its priority.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler with pid 0 changes only the calling
        // thread; `param` is a valid, initialised struct for the call.
        // Failure is not fatal: the indexer then runs at normal priority.
        let _ = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(id: i64) -> PartitionInfo {
        PartitionInfo {
            id,
            first_seq: 1,
            last_seq: Some(10),
            state: PartitionState::Sealed,
            rows: Some(10),
            min_ts: None,
            max_ts: None,
            max_received_ns: None,
            path: PathBuf::from("p.db"),
        }
    }

    #[test]
    fn sealed_partitions_are_overdue_after_the_longest_wait() {
        let mut wait = IndexWait::default();
        assert!(!wait.overdue(&partition(1)), "just sealed: the indexer's");
        assert!(!wait.overdue(&partition(2)));
        // Seen sealed longer ago than the bound: built at normal priority.
        let long_ago = Instant::now()
            .checked_sub(MAX_INDEX_WAIT + Duration::from_millis(1))
            .unwrap();
        wait.first_seen.insert(1, long_ago);
        assert!(wait.overdue(&partition(1)));
        assert!(!wait.overdue(&partition(2)));
    }
}
