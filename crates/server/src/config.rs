//! The `netaudit serve` configuration: one TOML file, every key documented in
//! `config/netaudit.example.toml`.
//!
//! Every table denies unknown keys, and every error names the key path (and
//! the file and line where the TOML parser knows it), so that a typo never
//! silently falls back to a default. A missing section takes its defaults;
//! [`Config::default`] is what `netaudit serve` runs with when no file is
//! given.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use netaudit_event::{Facility, Severity};
use serde::Deserialize;

/// What was wrong with a configuration file, and where.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}{location}: {message}")]
    Syntax {
        /// The file name, or `<config>` for text without a file.
        origin: String,
        /// `:LINE:COLUMN`, or empty when the parser gave no position.
        location: String,
        /// The parser's message, which names the key path.
        message: String,
    },
    #[error("{origin}{location}: {key}: {message}")]
    Invalid {
        origin: String,
        /// `:LINE:COLUMN` of the key (or of the nearest table that holds
        /// it), or empty when the text is not at hand.
        location: String,
        /// The key path, e.g. `listener[1].tls.cert`.
        key: String,
        message: String,
    },
}

/// An `[[output.radius]]` table whose secret, addresses or dictionary do
/// not resolve (see [`Config::resolve_outputs`]).
#[derive(Debug, thiserror::Error)]
#[error("output.radius[{index}]: {source}")]
pub struct UnresolvedOutput {
    pub index: usize,
    #[source]
    pub source: crate::radius::config::RadiusConfigError,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// `[[listener]]` tables; a file without any gets the default listeners.
    #[serde(default = "default_listeners", rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub output: OutputConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub api: ApiConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            store: StoreConfig::default(),
            pipeline: PipelineConfig::default(),
            listeners: default_listeners(),
            http: HttpConfig::default(),
            output: OutputConfig::default(),
            log: LogConfig::default(),
            api: ApiConfig::default(),
        }
    }
}

/// `[api]`: the HTTP API on `http.address` (users, sessions, policy).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Users, API tokens and operations; default `auth.db` beside the store.
    #[serde(default)]
    pub auth_db: Option<PathBuf>,
    /// A session unused for this many seconds ends (JUNOSCOPE_SESSION_TIMEOUT).
    #[serde(default = "default_session_idle_timeout_secs")]
    pub session_idle_timeout_secs: u64,
    /// Failed logins within `access_window_secs` that lock the account.
    #[serde(default = "default_max_login_attempts")]
    pub max_login_attempts: u32,
    #[serde(default = "default_access_window_secs")]
    pub access_window_secs: u64,
    /// Largest accepted request body in bytes.
    #[serde(default = "default_body_limit_bytes")]
    pub body_limit_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            auth_db: None,
            session_idle_timeout_secs: default_session_idle_timeout_secs(),
            max_login_attempts: default_max_login_attempts(),
            access_window_secs: default_access_window_secs(),
            body_limit_bytes: default_body_limit_bytes(),
        }
    }
}

impl ApiConfig {
    /// `api.auth_db`, or `auth.db` in the store's directory.
    pub fn auth_db_path(&self, store: &StoreConfig) -> PathBuf {
        match &self.auth_db {
            Some(path) => path.clone(),
            None => store
                .path
                .parent()
                .map(|dir| dir.join("auth.db"))
                .unwrap_or_else(|| PathBuf::from("auth.db")),
        }
    }
}

fn default_session_idle_timeout_secs() -> u64 {
    900
}

fn default_max_login_attempts() -> u32 {
    5
}

fn default_access_window_secs() -> u64 {
    300
}

fn default_body_limit_bytes() -> usize {
    8 * 1024 * 1024
}

/// `[store]`: where and how events are kept (netaudit-store's `StoreConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The catalog database; partitions live in `<path minus .db>.parts/`;
    /// its directory is created when missing.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// The chain key file; default `<path minus .db>.key`.
    #[serde(default)]
    pub key_path: Option<PathBuf>,
    /// SQLite `synchronous`: `full` survives power loss, `normal` survives a
    /// crash of netaudit but may lose the last commits on power loss.
    #[serde(default)]
    pub synchronous: Synchronous,
    /// A chain epoch (checkpoint + key evolution) ends after this many events ...
    #[serde(default = "default_epoch_events")]
    pub epoch_events: u64,
    /// ... or after this many seconds, whichever comes first.
    #[serde(default = "default_epoch_interval_secs")]
    pub epoch_interval_secs: u64,
    /// A partition file is sealed once it holds this many events.
    #[serde(default = "default_partition_events")]
    pub partition_events: u64,
    /// Drop sealed partitions older than this many days (unset: keep).
    #[serde(default)]
    pub retention_max_age_days: Option<u64>,
    /// Drop sealed partitions beyond the newest this many events (unset: keep).
    #[serde(default)]
    pub retention_max_events: Option<u64>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_store_path(),
            key_path: None,
            synchronous: Synchronous::default(),
            epoch_events: default_epoch_events(),
            epoch_interval_secs: default_epoch_interval_secs(),
            partition_events: default_partition_events(),
            retention_max_age_days: None,
            retention_max_events: None,
        }
    }
}

impl StoreConfig {
    /// The store crate's configuration for this section.
    pub fn to_store_config(&self) -> netaudit_store::StoreConfig {
        let mut store = netaudit_store::StoreConfig::new(self.path.clone());
        store.key_path = self.key_path.clone();
        store.synchronous = match self.synchronous {
            Synchronous::Full => netaudit_store::Synchronous::Full,
            Synchronous::Normal => netaudit_store::Synchronous::Normal,
        };
        store.epoch_events = self.epoch_events;
        store.epoch_interval = std::time::Duration::from_secs(self.epoch_interval_secs);
        store.partition_events = self.partition_events;
        store.retention = netaudit_store::RetentionPolicy {
            max_age: self
                .retention_max_age_days
                .map(|days| std::time::Duration::from_secs(days.saturating_mul(86_400))),
            max_events: self.retention_max_events,
        };
        store
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("./data/netaudit.db")
}
fn default_epoch_events() -> u64 {
    100_000
}
fn default_epoch_interval_secs() -> u64 {
    15 * 60
}
fn default_partition_events() -> u64 {
    131_072
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

/// `[pipeline]`: channels and batching between the listeners and the store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// A batch is committed when it holds this many events ...
    #[serde(default = "default_batch_max_events")]
    pub batch_max_events: usize,
    /// ... or when its first event has waited this long, whichever is first.
    #[serde(default = "default_batch_max_delay_ms")]
    pub batch_max_delay_ms: u64,
    /// How many chunks (of up to `chunk_max_events` events each) may wait
    /// between the listeners and the batcher. Bounds memory; when it is full
    /// TCP and TLS readers stop reading and UDP datagrams are dropped.
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// The most events one connection hands over at once.
    #[serde(default = "default_chunk_max_events")]
    pub chunk_max_events: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_max_events: default_batch_max_events(),
            batch_max_delay_ms: default_batch_max_delay_ms(),
            channel_capacity: default_channel_capacity(),
            chunk_max_events: default_chunk_max_events(),
        }
    }
}

fn default_batch_max_events() -> usize {
    5_000
}
fn default_batch_max_delay_ms() -> u64 {
    50
}
fn default_channel_capacity() -> usize {
    16
}
fn default_chunk_max_events() -> usize {
    512
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Udp,
    Tcp,
    Tls,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Tls => "tls",
        })
    }
}

/// What happens to a message that does not parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnParseError {
    /// Store it with its raw bytes and the parse error.
    #[default]
    Store,
    /// Count it and drop it.
    Drop,
}

/// One `[[listener]]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Names the listener in logs and metrics; defaults to `PROTOCOL:ADDRESS`.
    #[serde(default)]
    pub name: Option<String>,
    pub protocol: Protocol,
    pub address: SocketAddr,
    /// Longest message accepted; a longer TCP/TLS frame closes the
    /// connection, a longer datagram is cut and flagged.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// TCP and TLS only: connections beyond this are accepted and closed at once.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// TCP and TLS only: a connection silent for this long is closed.
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// TLS only: seconds a client has to complete the handshake.
    #[serde(default)]
    pub handshake_timeout_secs: Option<u64>,
    /// TCP and TLS only: after a read that brought less than 16 KiB, wait
    /// this many milliseconds before reading the connection again, so that a
    /// busy sender's messages are taken many at a time; 0 = read as soon as
    /// anything arrives.
    #[serde(default)]
    pub read_pause_ms: Option<u64>,
    #[serde(default)]
    pub on_parse_error: OnParseError,
    /// UDP only: SO_RCVBUF requested for the socket.
    #[serde(default)]
    pub recv_buffer_bytes: Option<usize>,
    /// TLS only (and required there).
    #[serde(default)]
    pub tls: Option<ListenerTlsConfig>,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
pub const DEFAULT_HANDSHAKE_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_READ_PAUSE_MS: u64 = 1;
/// A longer pause would hold a steady sender back (its window fills).
pub const MAX_READ_PAUSE_MS: u64 = 100;
pub const DEFAULT_RECV_BUFFER_BYTES: usize = 8 * 1024 * 1024;

fn default_max_message_bytes() -> usize {
    64 * 1024
}

impl ListenerConfig {
    fn with_defaults(protocol: Protocol, address: SocketAddr) -> Self {
        ListenerConfig {
            name: None,
            protocol,
            address,
            max_message_bytes: default_max_message_bytes(),
            max_connections: None,
            idle_timeout_secs: None,
            handshake_timeout_secs: None,
            read_pause_ms: None,
            on_parse_error: OnParseError::Store,
            recv_buffer_bytes: None,
            tls: None,
        }
    }

    /// The name used in logs and metric labels.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("{}:{}", self.protocol, self.address),
        }
    }

    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS)
    }

    /// `None` when idle connections are never closed (configured as 0).
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        match self.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS) {
            0 => None,
            secs => Some(std::time::Duration::from_secs(secs)),
        }
    }

    pub fn handshake_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.handshake_timeout_secs
                .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
        )
    }

    /// `None` when reads follow each other without a pause (configured as 0).
    pub fn read_pause(&self) -> Option<std::time::Duration> {
        match self.read_pause_ms.unwrap_or(DEFAULT_READ_PAUSE_MS) {
            0 => None,
            ms => Some(std::time::Duration::from_millis(ms)),
        }
    }

    pub fn recv_buffer_bytes(&self) -> usize {
        self.recv_buffer_bytes.unwrap_or(DEFAULT_RECV_BUFFER_BYTES)
    }
}

fn default_listeners() -> Vec<ListenerConfig> {
    let address = SocketAddr::from(([127, 0, 0, 1], 5514));
    vec![
        ListenerConfig::with_defaults(Protocol::Tcp, address),
        ListenerConfig::with_defaults(Protocol::Udp, address),
    ]
}

/// `[listener.tls]`: the server side of RFC 5425.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTlsConfig {
    /// PEM file: the server certificate, then its chain.
    pub cert: PathBuf,
    /// PEM file: the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM file of CA certificates that client certificates are verified against.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse clients that present no certificate signed by `client_ca`.
    #[serde(default)]
    pub require_client_cert: bool,
}

/// `[http]`: `/health` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_http_address")]
    pub address: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            address: default_http_address(),
        }
    }
}

fn default_http_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8514))
}

/// `[log]`: netaudit's own diagnostics (tracing), written to stderr.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `info,netaudit::serve=debug`;
    /// the `RUST_LOG` environment variable overrides it.
    #[serde(default = "default_log_level")]
    pub level: String,
    #[serde(default)]
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: default_log_level(),
            format: LogFormat::default(),
        }
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[output]`: consumers of the store.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// `[[output.syslog]]`: remote syslog servers.
    #[serde(default)]
    pub syslog: Vec<SyslogOutputConfig>,
    /// `[[output.file]]`: local audit files.
    #[serde(default)]
    pub file: Vec<FileOutputConfig>,
    /// `[[output.radius]]`: RADIUS accounting servers (docs/radius.md).
    #[serde(default)]
    pub radius: Vec<crate::radius::config::RadiusOutputConfig>,
}

impl OutputConfig {
    pub fn is_empty(&self) -> bool {
        self.syslog.is_empty() && self.file.is_empty() && self.radius.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// The JUNOScope standard (BSD-style) line.
    #[default]
    Standard,
    /// Junos RFC 5424 structured-data.
    Structured,
    /// The brief form: code and message only.
    Brief,
}

/// One `[[output.syslog]]`: a remote syslog server fed from the store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogOutputConfig {
    /// Unique; names the output's durable cursor, logs and metrics.
    pub name: String,
    pub transport: Transport,
    /// `HOST:PORT` of the remote server.
    pub address: String,
    #[serde(default)]
    pub format: OutputFormat,
    /// Facility written in the PRI of forwarded events (local0..local7).
    #[serde(default = "default_output_facility")]
    pub facility: Facility,
    /// Only events at least this severe are forwarded (events without a
    /// severity are always forwarded).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Only events whose code matches one of these globs (`*`, `?`); empty = all.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Only events from one of these hosts (globs); empty = all.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// TCP only: `octet-counting` (RFC 6587 3.4.1) or `lf`.
    #[serde(default)]
    pub framing: OutputFraming,
    #[serde(default)]
    pub tls: Option<OutputTlsConfig>,
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    #[serde(default = "default_connect_timeout_secs")]
    pub handshake_timeout_secs: u64,
    /// First reconnect delay after a failure; doubles up to `backoff_max_ms`.
    #[serde(default = "default_backoff_initial_ms")]
    pub backoff_initial_ms: u64,
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFraming {
    #[default]
    OctetCounting,
    Lf,
}

fn default_output_facility() -> Facility {
    Facility::Local2
}
fn default_connect_timeout_secs() -> u64 {
    10
}
fn default_backoff_initial_ms() -> u64 {
    500
}
fn default_backoff_max_ms() -> u64 {
    30_000
}

/// `[output.syslog.tls]`: the client side of RFC 5425.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputTlsConfig {
    /// PEM file of CA certificates the server certificate must chain to.
    pub ca: PathBuf,
    /// Name checked against the server certificate; defaults to the host of `address`.
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM files for mutual authentication; both or neither.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

/// One `[[output.file]]`: a local audit file with rotation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// Unique; the file's base name and the name of its durable cursor.
    pub name: String,
    pub dir: PathBuf,
    /// Rotate when the current file would grow past this.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// How many rotated files are kept.
    #[serde(default = "default_archives")]
    pub archives: u32,
    /// gzip rotated files.
    #[serde(default)]
    pub compress: bool,
    /// Limit for the current file plus archives together.
    #[serde(default = "default_max_total_bytes")]
    pub max_total_bytes: u64,
    #[serde(default)]
    pub on_full: OnFull,
    /// When written lines are forced to disk.
    #[serde(default)]
    pub sync: FileSync,
    #[serde(default)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileSync {
    /// fdatasync after every batch of lines, before the cursor advances.
    #[default]
    EveryBatch,
    /// Page cache only (rotation still syncs).
    Never,
}

fn default_max_file_bytes() -> u64 {
    10 * 1024 * 1024
}
fn default_archives() -> u32 {
    10
}
fn default_max_total_bytes() -> u64 {
    1024 * 1024 * 1024
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFull {
    /// Delete the oldest archive to make room.
    #[default]
    OverwriteOldest,
    /// Stop writing (the cursor waits) until an operator makes room.
    Stop,
}

impl Config {
    /// Read, parse and validate a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, &path.display().to_string())
    }

    /// Parse and validate TOML text; `origin` names it in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let deserializer = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let location = inner
                .span()
                .map(|span| {
                    let (line, column) = line_column(text, span.start);
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            // toml's own message repeats the source excerpt over several
            // lines; its core message is enough next to file:line.
            let message = inner.message().trim().to_owned();
            ConfigError::Syntax {
                origin: origin.to_owned(),
                location,
                message: if path == "." || path.is_empty() {
                    message
                } else {
                    format!("{path}: {message}")
                },
            }
        })?;
        config.validate(origin).map_err(|err| match err {
            ConfigError::Invalid {
                origin,
                key,
                message,
                ..
            } => ConfigError::Invalid {
                location: locate(text, &key)
                    .map(|(line, column)| format!(":{line}:{column}"))
                    .unwrap_or_default(),
                origin,
                key,
                message,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Checks that the types alone cannot express.
    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: &str| ConfigError::Invalid {
            origin: origin.to_owned(),
            location: String::new(),
            key,
            message: message.to_owned(),
        };
        let a = &self.api;
        for (key, zero) in [
            (
                "api.session_idle_timeout_secs",
                a.session_idle_timeout_secs == 0,
            ),
            ("api.max_login_attempts", a.max_login_attempts == 0),
            ("api.access_window_secs", a.access_window_secs == 0),
            ("api.body_limit_bytes", a.body_limit_bytes == 0),
        ] {
            if zero {
                return Err(invalid(key.into(), "must be at least 1"));
            }
        }
        let p = &self.pipeline;
        if p.batch_max_events == 0 {
            return Err(invalid(
                "pipeline.batch_max_events".into(),
                "must be at least 1",
            ));
        }
        if p.channel_capacity == 0 {
            return Err(invalid(
                "pipeline.channel_capacity".into(),
                "must be at least 1",
            ));
        }
        if p.chunk_max_events == 0 {
            return Err(invalid(
                "pipeline.chunk_max_events".into(),
                "must be at least 1",
            ));
        }
        if self.store.path.as_os_str().is_empty() {
            return Err(invalid("store.path".into(), "must not be empty"));
        }
        for (value, key) in [
            (self.store.epoch_events, "store.epoch_events"),
            (self.store.epoch_interval_secs, "store.epoch_interval_secs"),
            (self.store.partition_events, "store.partition_events"),
        ] {
            if value == 0 {
                return Err(invalid(key.into(), "must be at least 1"));
            }
        }
        let mut names = HashSet::new();
        let mut bound = HashSet::new();
        for (i, l) in self.listeners.iter().enumerate() {
            let key = |k: &str| format!("listener[{i}].{k}");
            if !names.insert(l.display_name()) {
                return Err(invalid(key("name"), "another listener has the same name"));
            }
            // UDP and TCP may share a port number; two stream listeners may not.
            let transport = if l.protocol == Protocol::Udp {
                "udp"
            } else {
                "tcp"
            };
            if !bound.insert((transport, l.address)) {
                return Err(invalid(
                    key("address"),
                    "another listener already uses this address and transport",
                ));
            }
            if l.max_message_bytes < 480 {
                // RFC 5426 4.1 and RFC 5425 4.3.1: receivers must take 480 / 2048 octets.
                return Err(invalid(key("max_message_bytes"), "must be at least 480"));
            }
            match l.protocol {
                Protocol::Udp => {
                    for (set, k) in [
                        (l.max_connections.is_some(), "max_connections"),
                        (l.idle_timeout_secs.is_some(), "idle_timeout_secs"),
                        (l.handshake_timeout_secs.is_some(), "handshake_timeout_secs"),
                        (l.read_pause_ms.is_some(), "read_pause_ms"),
                        (l.tls.is_some(), "tls"),
                    ] {
                        if set {
                            return Err(invalid(key(k), "applies to tcp and tls listeners only"));
                        }
                    }
                }
                Protocol::Tcp | Protocol::Tls => {
                    if l.recv_buffer_bytes.is_some() {
                        return Err(invalid(
                            key("recv_buffer_bytes"),
                            "applies to udp listeners only",
                        ));
                    }
                    if l.max_connections == Some(0) {
                        return Err(invalid(key("max_connections"), "must be at least 1"));
                    }
                    if l.read_pause_ms.is_some_and(|ms| ms > MAX_READ_PAUSE_MS) {
                        return Err(invalid(
                            key("read_pause_ms"),
                            &format!("must be at most {MAX_READ_PAUSE_MS}"),
                        ));
                    }
                    if l.handshake_timeout_secs == Some(0) {
                        return Err(invalid(key("handshake_timeout_secs"), "must be at least 1"));
                    }
                    if l.protocol == Protocol::Tcp && l.handshake_timeout_secs.is_some() {
                        return Err(invalid(
                            key("handshake_timeout_secs"),
                            "applies to tls listeners only",
                        ));
                    }
                }
            }
            match (&l.protocol, &l.tls) {
                (Protocol::Tls, None) => {
                    return Err(invalid(key("tls"), "required when protocol = \"tls\""));
                }
                (Protocol::Tcp, Some(_)) => {
                    return Err(invalid(key("tls"), "applies to tls listeners only"));
                }
                (Protocol::Tls, Some(tls))
                    if tls.require_client_cert && tls.client_ca.is_none() =>
                {
                    return Err(invalid(
                        key("tls.client_ca"),
                        "required when require_client_cert = true",
                    ));
                }
                _ => {}
            }
        }
        let mut output_names = HashSet::new();
        for (i, o) in self.output.syslog.iter().enumerate() {
            let key = |k: &str| format!("output.syslog[{i}].{k}");
            if o.name.is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if !output_names.insert(o.name.clone()) {
                return Err(invalid(key("name"), "another output has the same name"));
            }
            if !has_port(&o.address) {
                return Err(invalid(key("address"), "must be HOST:PORT"));
            }
            if !o.facility.is_local() {
                return Err(invalid(key("facility"), "must be one of local0 .. local7"));
            }
            match (o.transport, &o.tls) {
                (Transport::Tls, None) => {
                    return Err(invalid(key("tls"), "required when transport = \"tls\""))
                }
                (Transport::Udp | Transport::Tcp, Some(_)) => {
                    return Err(invalid(key("tls"), "applies to transport = \"tls\" only"))
                }
                (Transport::Tls, Some(tls))
                    if tls.client_cert.is_some() != tls.client_key.is_some() =>
                {
                    return Err(invalid(
                        key("tls.client_key"),
                        "client_cert and client_key go together",
                    ));
                }
                _ => {}
            }
            if o.backoff_initial_ms == 0 || o.backoff_max_ms < o.backoff_initial_ms {
                return Err(invalid(
                    key("backoff_max_ms"),
                    "backoff_initial_ms must be at least 1 and at most backoff_max_ms",
                ));
            }
        }
        for (i, o) in self.output.file.iter().enumerate() {
            let key = |k: &str| format!("output.file[{i}].{k}");
            if o.name.is_empty() || o.name.contains(['/', '\\']) {
                return Err(invalid(key("name"), "must be a non-empty file name"));
            }
            if !output_names.insert(o.name.clone()) {
                return Err(invalid(key("name"), "another output has the same name"));
            }
            if o.max_file_bytes == 0 || o.max_total_bytes < o.max_file_bytes {
                return Err(invalid(
                    key("max_total_bytes"),
                    "max_file_bytes must be at least 1 and at most max_total_bytes",
                ));
            }
        }
        for (i, o) in self.output.radius.iter().enumerate() {
            let key = |k: &str| format!("output.radius[{i}].{k}");
            if o.name.is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if !output_names.insert(o.name.clone()) {
                return Err(invalid(key("name"), "another output has the same name"));
            }
        }
        Ok(())
    }

    /// Reads what the RADIUS outputs refer to (secret files or variables,
    /// dictionaries) and checks their addresses and attribute numbers, so
    /// that `check-config`, start-up and reloads fail on a bad table instead
    /// of the running output. Kept out of parsing, like the TLS files.
    /// Also notes a digest of those files in each table, so that a reload
    /// sees a changed secret or dictionary as a changed output.
    pub fn resolve_outputs(&mut self) -> Result<(), UnresolvedOutput> {
        for (index, radius) in self.output.radius.iter_mut().enumerate() {
            radius.referenced_digest = Some(radius.referenced_content_digest());
            radius
                .resolve()
                .map_err(|source| UnresolvedOutput { index, source })?;
        }
        Ok(())
    }

    /// A few lines saying what this configuration will do.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "store: {} (synchronous = {:?})\n",
            self.store.path.display(),
            self.store.synchronous
        ));
        for l in &self.listeners {
            out.push_str(&format!(
                "listener {}: {} on {}\n",
                l.display_name(),
                l.protocol,
                l.address
            ));
        }
        out.push_str(&format!(
            "http: /health and /metrics on {}\n",
            self.http.address
        ));
        for o in &self.output.syslog {
            out.push_str(&format!(
                "output.syslog {}: {:?} to {}\n",
                o.name, o.transport, o.address
            ));
        }
        for o in &self.output.file {
            out.push_str(&format!("output.file {}: {}\n", o.name, o.dir.display()));
        }
        out
    }
}

fn has_port(address: &str) -> bool {
    match address.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0),
        None => false,
    }
}

/// Line and column of the key at `path` (`listener[1].tls.cert`), or of the
/// deepest table on the way when the key itself is absent.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut item = document.as_item();
    let mut span = None;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(next) = item.get(name) else { break };
        item = next;
        if let Some(index) = index {
            let Some(next) = item.get(index) else { break };
            item = next;
        }
        span = item.span().or(span);
    }
    span.map(|range| line_column(text, range.start))
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, "test.toml")
    }

    #[test]
    fn empty_file_is_the_embedded_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.listeners.len(), 2);
        assert_eq!(config.http.address.to_string(), "127.0.0.1:8514");
        assert_eq!(config.store.path, PathBuf::from("./data/netaudit.db"));
    }

    #[test]
    fn unknown_key_is_rejected_with_its_path_and_line() {
        let err = parse("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nmax_mesage_bytes = 9000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml:"), "{err}");
        assert!(err.contains("listener[1]"), "{err}");
        assert!(err.contains("max_mesage_bytes"), "{err}");
        assert!(
            err.starts_with("test.toml:8:") || err.starts_with("test.toml:5:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_nested_key_names_the_table() {
        let err = parse("[[output.syslog]]\nname = \"a\"\ntransport = \"tls\"\naddress = \"h:6514\"\n[output.syslog.tls]\nca = \"ca.pem\"\nverify = false\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("output.syslog[0].tls"), "{err}");
        assert!(err.contains("verify"), "{err}");
    }

    #[test]
    fn wrong_value_names_the_key() {
        let err = parse("[pipeline]\nbatch_max_events = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.batch_max_events"), "{err}");
        assert!(err.contains(":2:"), "{err}");
        let err = parse("[[listener]]\nprotocol = \"sctp\"\naddress = \"127.0.0.1:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listener[0].protocol"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let cases = [
            ("[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n", "listener[0].tls"),
            ("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nmax_connections = 5\n", "listener[0].max_connections"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nrecv_buffer_bytes = 5\n", "listener[0].recv_buffer_bytes"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nname = \"b\"\n", "listener[1].address"),
            ("[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n[listener.tls]\ncert = \"c\"\nkey = \"k\"\nrequire_client_cert = true\n", "listener[0].tls.client_ca"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"nohost\"\n", "output.syslog[0].address"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"h:514\"\nfacility = \"auth\"\n", "output.syslog[0].facility"),
            ("[[output.syslog]]\nname = \"a\"\ntransport = \"udp\"\naddress = \"h:514\"\n[[output.file]]\nname = \"a\"\ndir = \"/tmp\"\n", "output.file[0].name"),
            ("[pipeline]\nbatch_max_events = 0\n", "pipeline.batch_max_events"),
            ("[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:1\"\nread_pause_ms = 1\n", "listener[0].read_pause_ms"),
            ("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\nread_pause_ms = 101\n", "listener[0].read_pause_ms: must be at most 100"),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in {err}");
        }
    }

    #[test]
    fn read_pause_defaults_to_1_ms_and_0_turns_it_off() {
        let tcp = "[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n";
        let config = parse(tcp).unwrap();
        assert_eq!(
            config.listeners[0].read_pause(),
            Some(std::time::Duration::from_millis(1))
        );
        let config = parse(&format!("{tcp}read_pause_ms = 0\n")).unwrap();
        assert_eq!(config.listeners[0].read_pause(), None);
        let config = parse(&format!("{tcp}read_pause_ms = 100\n")).unwrap();
        assert_eq!(
            config.listeners[0].read_pause(),
            Some(std::time::Duration::from_millis(100))
        );
    }

    #[test]
    fn outputs_parse_with_defaults() {
        let config = parse("[[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:601\"\ncodes = [\"JUNOSCOPE_*\"]\nmin_severity = \"warning\"\n[[output.file]]\nname = \"audit\"\ndir = \"/var/log/netaudit\"\n").unwrap();
        let syslog = &config.output.syslog[0];
        assert_eq!(syslog.facility, Facility::Local2);
        assert_eq!(syslog.min_severity, Some(Severity::Warning));
        assert_eq!(syslog.format, OutputFormat::Standard);
        assert_eq!(config.output.file[0].on_full, OnFull::OverwriteOldest);
    }

    #[test]
    fn the_example_file_is_valid_and_shows_the_defaults() {
        let text = include_str!("../../../config/netaudit.example.toml");
        let config = Config::from_toml(text, "netaudit.example.toml").unwrap();
        let defaults = Config::default();
        assert_eq!(config.store, defaults.store);
        assert_eq!(config.pipeline, defaults.pipeline);
        assert_eq!(config.http, defaults.http);
        assert_eq!(config.log, defaults.log);
        assert_eq!(config.listeners.len(), defaults.listeners.len());
        for (example, default) in config.listeners.iter().zip(&defaults.listeners) {
            assert_eq!(
                (example.protocol, example.address),
                (default.protocol, default.address)
            );
            assert_eq!(example.max_message_bytes, default.max_message_bytes);
            assert_eq!(example.max_connections(), default.max_connections());
            assert_eq!(example.idle_timeout(), default.idle_timeout());
            assert_eq!(example.read_pause(), default.read_pause());
            assert_eq!(example.recv_buffer_bytes(), default.recv_buffer_bytes());
        }
        assert_eq!(config.output.syslog.len(), 1);
        assert_eq!(config.output.file.len(), 1);
        // The commented-out TLS tables are valid too once uncommented.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|rest| is_toml_line(rest))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::from_toml(&uncommented, "uncommented example").unwrap();
        assert_eq!(config.listeners.len(), 3);
        assert_eq!(config.output.syslog.len(), 2);
        assert!(config.store.key_path.is_some() && config.store.retention_max_events.is_some());
    }

    /// A commented-out key or table header (not prose).
    fn is_toml_line(line: &str) -> bool {
        (line.starts_with('[') && line.ends_with(']'))
            || line.split_once(" = ").is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
    }

    #[test]
    fn semantic_errors_give_the_line_of_the_key() {
        let text = "[pipeline]\nbatch_max_events = 10\n\n[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n[[listener]]\nprotocol = \"udp\"\naddress = \"127.0.0.1:2\"\nmax_connections = 5\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("test.toml:11:"), "{err}");
        assert!(err.contains("listener[1].max_connections"), "{err}");
        // An absent key: the line of the table that should hold it.
        let text = "[store]\npath = \"x.db\"\n\n[[listener]]\nprotocol = \"tls\"\naddress = \"127.0.0.1:1\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("listener[0].tls"), "{err}");
        assert!(
            err.starts_with("test.toml:4:") || err.starts_with("test.toml:5:"),
            "{err}"
        );
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
