//! `[log]`: netaudit's own diagnostics (tracing), written to stderr.

use serde::Deserialize;

/// `[log]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    level: Option<String>,
    format: Option<LogFormat>,
}

/// `[log]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogConfig {
    /// A tracing filter, e.g. `info` or `info,netaudit::serve=debug`;
    /// the `RUST_LOG` environment variable overrides it.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::default(),
        }
    }
}

impl RawLog {
    pub(crate) fn resolve(self) -> LogConfig {
        let default = LogConfig::default();
        LogConfig {
            level: self.level.unwrap_or(default.level),
            format: self.format.unwrap_or(default.format),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}
