//! What the store is configured with: where its files are, how hard a
//! commit waits for the disk, epoch and partition sizes, retention.

use std::path::PathBuf;
use std::time::Duration;

use crate::paths::{stem, with_suffix};

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
/// beyond the newest `max_events`; with `archive_to`, only once each is
/// archived there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Drop sealed partitions whose newest event is older than this.
    pub max_age: Option<Duration>,
    /// Keep at most about this many events: whole sealed partitions beyond
    /// the newest `max_events` are dropped.
    pub max_events: Option<u64>,
    /// Before a partition is dropped, it is exported to a signed archive
    /// there and read back; while that fails, retention waits
    /// ([`Store::retention_waiting`](crate::Store::retention_waiting)).
    pub archive_to: Option<ArchiveDestination>,
    /// What an archive holds besides the JSON lines its chain is verified from.
    pub archive_format: ArchiveFormat,
}

/// The events' form in an archive (docs/archives.md). The JSON lines are
/// always there: they are what the chain is recomputed from and what
/// `archive import` reads back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// `events.jsonl.gz` only.
    #[default]
    JsonLines,
    /// `events.jsonl.gz` and `events.syslog.gz`: each event as an RFC 5424
    /// line, as the syslog outputs write the structured format (with its
    /// own facility and `[meta sequenceId]`), covered by the signed manifest.
    Syslog,
}

/// Where retention puts a partition's archive before it drops the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveDestination {
    /// A local (or mounted) folder, created when missing.
    Folder(PathBuf),
    /// A folder on a remote host, uploaded to by SFTP; the archive is
    /// written and verified locally first (in `<path minus .db>.archive-outbox/`).
    Sftp(SftpDestination),
}

impl ArchiveDestination {
    /// Where the archive named `file_name` is (or will be) at this destination.
    pub fn location(&self, file_name: &str) -> String {
        match self {
            ArchiveDestination::Folder(dir) => dir.join(file_name).display().to_string(),
            ArchiveDestination::Sftp(sftp) => {
                format!("{}/{file_name}", sftp.to_string().trim_end_matches('/'))
            }
        }
    }
}

impl std::fmt::Display for ArchiveDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArchiveDestination::Folder(dir) => write!(f, "{}", dir.display()),
            ArchiveDestination::Sftp(sftp) => write!(f, "{sftp}"),
        }
    }
}

/// A remote folder reached by SFTP with a private key; the server's host
/// key must be in `known_hosts` (never trusted on first use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpDestination {
    /// The user to log in as.
    pub user: String,
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// TCP port (22 by default in a URL).
    pub port: u16,
    /// The remote folder, an absolute path; created when missing.
    pub dir: String,
    /// The private key file (OpenSSH format, no passphrase).
    pub private_key: PathBuf,
    /// An OpenSSH `known_hosts` file holding the server's host key.
    pub known_hosts: PathBuf,
}

impl std::fmt::Display for SftpDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "sftp://{}@{host}:{}{}", self.user, self.port, self.dir)
    }
}

/// Where and how the store keeps its files.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The catalog database; partitions live in `<path minus .db>.parts/`.
    pub path: PathBuf,
    /// The key file; default `<path minus .db>.key`.
    pub key_path: Option<PathBuf>,
    /// SQLite's `synchronous` for the writer (how durable a commit is).
    pub synchronous: Synchronous,
    /// An epoch ends after this many events ...
    pub epoch_events: u64,
    /// ... or after this much time, whichever comes first.
    pub epoch_interval: Duration,
    /// A partition is sealed (and its epoch ends) once it holds this many events.
    pub partition_events: u64,
    /// Run the background thread (indexing, time-based epochs, retention).
    pub background: bool,
    /// Which partitions to drop, checked by the background thread.
    pub retention: RetentionPolicy,
    /// How much of each partition file the store's shared reader (queries,
    /// outputs, policies) maps into memory. Mapped pages a query touched
    /// count in the process's resident memory for as long as the reader
    /// keeps the partition open (it keeps every one it read), so a full
    /// read-back of a burst added the partitions' size to the RSS; with 0
    /// pages are read through read(2) into a bounded page cache.
    pub reader_mmap_bytes: u64,
}

/// The catalog path when none is configured.
pub const DEFAULT_PATH: &str = "./data/netaudit.db";

impl StoreConfig {
    /// The defaults for a store at `path`: `synchronous = FULL`, epochs of
    /// 100,000 events or 15 minutes, partitions of 131,072 events, the
    /// background thread on, no retention, partition files not mapped.
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
            reader_mmap_bytes: 0,
        }
    }

    /// The key file: `key_path`, or `<path minus .db>.key`.
    pub fn key_path(&self) -> PathBuf {
        self.key_path
            .clone()
            .unwrap_or_else(|| with_suffix(&stem(&self.path), ".key"))
    }

    /// The local copy of the verify key, until `keys export-verify` removes it.
    pub fn verify_key_path(&self) -> PathBuf {
        with_suffix(&stem(&self.path), ".verify-key")
    }
}
