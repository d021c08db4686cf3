//! [`ConfigError`]: what was wrong with a configuration, and where.

use std::path::PathBuf;

use super::locate::locate;

/// What was wrong with a configuration file, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigError {
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
    /// A file that sets no key at all (empty, or only comments and empty
    /// table headers): most likely the wrong file or a truncated one, and
    /// taking it would silently replace every setting with the defaults.
    #[error("{origin}: the file sets no configuration key (it is empty or holds only comments and empty tables); write at least one setting, or start `netaudit serve` without --config for the embedded defaults")]
    Empty {
        /// The file name, or `<config>` for text without a file.
        origin: String,
    },
    /// A value that refers outside the file (a secret file or variable, a
    /// host name, a dictionary) and cannot be used as it is now. Found after
    /// parsing, when the text is no longer at hand: the key says where.
    #[error("{key}: {message}")]
    Unresolved {
        /// The key path, e.g. `output.radius[0].secret_file`.
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// A rejected value at `key`; [`ConfigError::in_text`] adds the file
    /// and line once the whole file has been resolved.
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            origin: String::new(),
            location: String::new(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub(crate) fn unresolved(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Unresolved {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same error with the key path under `prefix` (`output.radius[0]`).
    pub(crate) fn under(self, prefix: &str) -> ConfigError {
        match self {
            ConfigError::Invalid {
                origin,
                location,
                key,
                message,
            } => ConfigError::Invalid {
                origin,
                location,
                key: format!("{prefix}.{key}"),
                message,
            },
            ConfigError::Unresolved { key, message } => ConfigError::Unresolved {
                key: format!("{prefix}.{key}"),
                message,
            },
            other => other,
        }
    }

    /// Names the file and the line of the key in `text`.
    pub(crate) fn in_text(self, text: &str, origin: &str) -> ConfigError {
        match self {
            ConfigError::Invalid { key, message, .. } => ConfigError::Invalid {
                location: locate(text, &key)
                    .map(|(line, column)| format!(":{line}:{column}"))
                    .unwrap_or_default(),
                origin: origin.to_owned(),
                key,
                message,
            },
            other => other,
        }
    }
}
