//! `[pipeline]`: channels and batching between the listeners and the store.

use serde::Deserialize;

use super::error::ConfigError;

/// `[pipeline]` as written; absent keys take the defaults of [`PipelineConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    batch_max_events: Option<usize>,
    batch_max_delay_ms: Option<u64>,
    channel_capacity: Option<usize>,
    chunk_max_events: Option<usize>,
    shutdown_store_wait_secs: Option<u64>,
}

/// `[pipeline]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PipelineConfig {
    /// A batch is committed when it holds this many events ...
    pub batch_max_events: usize,
    /// ... or when its first event has waited this long, whichever is first.
    pub batch_max_delay_ms: u64,
    /// How many chunks (of up to `chunk_max_events` events each) may wait
    /// between the listeners and the batcher. Bounds memory; when it is full
    /// TCP and TLS readers stop reading and UDP datagrams are dropped.
    pub channel_capacity: usize,
    /// The most events one connection hands over at once.
    pub chunk_max_events: usize,
    /// On SIGTERM/SIGINT, how long a failing store append is still retried
    /// (from the signal); after it, what could not be stored is given up on
    /// and the process exits non-zero saying how much, from where.
    pub shutdown_store_wait_secs: u64,
}

/// The longest `pipeline.shutdown_store_wait_secs` accepted: a day.
const MAX_SHUTDOWN_STORE_WAIT_SECS: u64 = 86_400;

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            batch_max_events: 5_000,
            batch_max_delay_ms: 50,
            channel_capacity: 16,
            chunk_max_events: 512,
            shutdown_store_wait_secs: 30,
        }
    }
}

impl RawPipeline {
    pub(crate) fn resolve(self) -> Result<PipelineConfig, ConfigError> {
        let default = PipelineConfig::default();
        let pipeline = PipelineConfig {
            batch_max_events: self.batch_max_events.unwrap_or(default.batch_max_events),
            batch_max_delay_ms: self
                .batch_max_delay_ms
                .unwrap_or(default.batch_max_delay_ms),
            channel_capacity: self.channel_capacity.unwrap_or(default.channel_capacity),
            chunk_max_events: self.chunk_max_events.unwrap_or(default.chunk_max_events),
            shutdown_store_wait_secs: self
                .shutdown_store_wait_secs
                .unwrap_or(default.shutdown_store_wait_secs),
        };
        if pipeline.shutdown_store_wait_secs > MAX_SHUTDOWN_STORE_WAIT_SECS {
            return Err(ConfigError::invalid(
                "pipeline.shutdown_store_wait_secs",
                "must be at most 86400 (a day)",
            ));
        }
        for (value, key) in [
            (pipeline.batch_max_events, "pipeline.batch_max_events"),
            (pipeline.channel_capacity, "pipeline.channel_capacity"),
            (pipeline.chunk_max_events, "pipeline.chunk_max_events"),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        Ok(pipeline)
    }
}
