//! `[store]`: where and how events are kept (netaudit-store's `StoreConfig`).

use std::path::PathBuf;
use std::time::Duration;

use netaudit_store::{ArchiveDestination, ArchiveFormat, Synchronous};
use serde::Deserialize;

use super::error::ConfigError;

/// `store.near_full_percent` unless set.
const DEFAULT_NEAR_FULL_PERCENT: u8 = 90;

/// `store.reader_mmap_mb` at most (64 GiB, more than any partition).
const MAX_READER_MMAP_MB: u64 = 65_536;

/// `[store]` as written; absent keys take the defaults of [`StoreConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStore {
    path: Option<PathBuf>,
    key_path: Option<PathBuf>,
    synchronous: Option<Synchronous>,
    epoch_events: Option<u64>,
    epoch_interval_secs: Option<u64>,
    partition_events: Option<u64>,
    reader_mmap_mb: Option<u64>,
    retention_max_age_days: Option<u64>,
    retention_max_events: Option<u64>,
    retention_archive_to: Option<String>,
    retention_archive_sftp_key: Option<PathBuf>,
    retention_archive_sftp_known_hosts: Option<PathBuf>,
    near_full_percent: Option<u8>,
    retention_archive_format: Option<RawArchiveFormat>,
    backend: Option<super::store_backend::RawBackend>,
    connection: Option<String>,
    node: Option<String>,
    output_lease_secs: Option<u64>,
}

/// `store.retention_archive_format` as written.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawArchiveFormat {
    Jsonl,
    Syslog,
}

/// `[store]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreConfig {
    /// The catalog database; partitions live in `<path minus .db>.parts/`;
    /// its directory is created when missing.
    pub path: PathBuf,
    /// The chain key file; default `<path minus .db>.key`.
    pub key_path: Option<PathBuf>,
    /// SQLite `synchronous`: `full` survives power loss, `normal` survives a
    /// crash of netaudit but may lose the last commits on power loss.
    pub synchronous: Synchronous,
    /// A chain epoch (checkpoint + key evolution) ends after this many events ...
    pub epoch_events: u64,
    /// ... or after this many seconds, whichever comes first.
    pub epoch_interval_secs: u64,
    /// A partition file is sealed once it holds this many events.
    pub partition_events: u64,
    /// How many MiB of each partition file the shared reader maps (0: none;
    /// mapped pages count in the RSS while the partition stays open).
    pub reader_mmap_mb: u64,
    /// Drop sealed partitions older than this many days (unset: keep).
    pub retention_max_age_days: Option<u64>,
    /// Drop sealed partitions beyond the newest this many events (unset: keep).
    pub retention_max_events: Option<u64>,
    /// Before retention drops a partition, it is archived (signed) in this
    /// folder, or uploaded by SFTP, and read back; while that fails,
    /// retention waits (unset: no archive is kept).
    pub retention_archive_to: Option<ArchiveDestination>,
    /// `NETAUDIT_STORE_NEAR_FULL` when the store holds this share of
    /// `retention_max_events`, or its filesystem is this full (0: never).
    pub near_full_percent: u8,
    /// `jsonl` (the default) or `syslog`: the events as RFC 5424 lines too.
    pub retention_archive_format: ArchiveFormat,
    /// `sqlite` (the embedded store at `path`) or a PostgreSQL node
    /// (`connection`, `node`; `path` is then the node's local folder for its
    /// key file and the user database).
    pub backend: super::store_backend::StoreBackend,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("./data/netaudit.db"),
            key_path: None,
            synchronous: Synchronous::default(),
            epoch_events: 100_000,
            epoch_interval_secs: 15 * 60,
            partition_events: 131_072,
            reader_mmap_mb: 0,
            retention_max_age_days: None,
            retention_max_events: None,
            retention_archive_to: None,
            near_full_percent: DEFAULT_NEAR_FULL_PERCENT,
            retention_archive_format: ArchiveFormat::JsonLines,
            backend: super::store_backend::StoreBackend::Sqlite,
        }
    }
}

impl RawStore {
    pub(crate) fn resolve(self) -> Result<StoreConfig, ConfigError> {
        let default = StoreConfig::default();
        let store = StoreConfig {
            path: self.path.unwrap_or(default.path),
            key_path: self.key_path,
            synchronous: self.synchronous.unwrap_or(default.synchronous),
            epoch_events: self.epoch_events.unwrap_or(default.epoch_events),
            epoch_interval_secs: self
                .epoch_interval_secs
                .unwrap_or(default.epoch_interval_secs),
            partition_events: self.partition_events.unwrap_or(default.partition_events),
            reader_mmap_mb: self.reader_mmap_mb.unwrap_or(default.reader_mmap_mb),
            retention_max_age_days: self.retention_max_age_days,
            retention_max_events: self.retention_max_events,
            retention_archive_to: super::archive_destination::resolve(
                self.retention_archive_to,
                self.retention_archive_sftp_key,
                self.retention_archive_sftp_known_hosts,
            )?,
            near_full_percent: self.near_full_percent.unwrap_or(DEFAULT_NEAR_FULL_PERCENT),
            retention_archive_format: match self.retention_archive_format {
                None | Some(RawArchiveFormat::Jsonl) => ArchiveFormat::JsonLines,
                Some(RawArchiveFormat::Syslog) => ArchiveFormat::Syslog,
            },
            backend: super::store_backend::resolve(
                self.backend,
                self.connection,
                self.node,
                self.output_lease_secs,
            )?,
        };
        if self.retention_archive_format.is_some() && store.retention_archive_to.is_none() {
            return Err(ConfigError::invalid(
                "store.retention_archive_format",
                "is set but store.retention_archive_to is not: there are no archives to format",
            ));
        }
        if store.near_full_percent > 100 {
            return Err(ConfigError::invalid(
                "store.near_full_percent",
                "must be a percentage, 1 to 100 (0: no near-full events)",
            ));
        }
        if store.reader_mmap_mb > MAX_READER_MMAP_MB {
            return Err(ConfigError::invalid(
                "store.reader_mmap_mb",
                "must be at most 65536 (MiB of each partition file; 0: none)",
            ));
        }
        if store.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid("store.path", "must not be empty"));
        }
        for (value, key) in [
            (store.epoch_events, "store.epoch_events"),
            (store.epoch_interval_secs, "store.epoch_interval_secs"),
            (store.partition_events, "store.partition_events"),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        Ok(store)
    }
}

impl StoreConfig {
    /// The store crate's configuration for this section.
    pub(crate) fn to_store_config(&self) -> netaudit_store::StoreConfig {
        let mut store = netaudit_store::StoreConfig::new(self.path.clone());
        store.key_path = self.key_path.clone();
        store.synchronous = self.synchronous;
        store.epoch_events = self.epoch_events;
        store.epoch_interval = Duration::from_secs(self.epoch_interval_secs);
        store.partition_events = self.partition_events;
        store.reader_mmap_bytes = self.reader_mmap_mb << 20;
        store.retention = netaudit_store::RetentionPolicy {
            max_age: self
                .retention_max_age_days
                .map(|days| Duration::from_secs(days.saturating_mul(86_400))),
            max_events: self.retention_max_events,
            archive_to: self.retention_archive_to.clone(),
            archive_format: self.retention_archive_format,
        };
        store
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<StoreConfig, String> {
        toml::from_str::<RawStore>(text)
            .map_err(|e| e.to_string())?
            .resolve()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_reader_maps_nothing_unless_told_and_at_most_64_gib() {
        assert_eq!(resolve("").unwrap().to_store_config().reader_mmap_bytes, 0);
        let mapped = resolve("reader_mmap_mb = 256").unwrap();
        assert_eq!(mapped.to_store_config().reader_mmap_bytes, 256 << 20);
        let err = resolve("reader_mmap_mb = 65537").unwrap_err();
        assert!(err.contains("store.reader_mmap_mb"), "{err}");
        assert!(resolve("reader_mmap_mb = -1").is_err());
    }

    #[test]
    fn the_archive_format_is_jsonl_or_syslog_and_only_with_archives() {
        let to = "retention_archive_to = \"/var/a\"\n";
        assert_eq!(
            resolve(to).unwrap().retention_archive_format,
            ArchiveFormat::JsonLines
        );
        let syslog = resolve(&format!("{to}retention_archive_format = \"syslog\"")).unwrap();
        assert_eq!(syslog.retention_archive_format, ArchiveFormat::Syslog);
        assert_eq!(
            syslog.to_store_config().retention.archive_format,
            ArchiveFormat::Syslog
        );
        let err = resolve(&format!("{to}retention_archive_format = \"xml\"")).unwrap_err();
        assert!(
            err.contains("unknown variant `xml`, expected `jsonl` or `syslog`"),
            "{err}"
        );
        let err = resolve("retention_archive_format = \"syslog\"").unwrap_err();
        assert!(
            err.contains("store.retention_archive_format")
                && err.contains("store.retention_archive_to is not"),
            "{err}"
        );
    }
}
