//! `[integrity]`: the scheduled verification of the tamper-evident chain
//! while `netaudit serve` runs.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::duration::parse_duration;
use super::error::ConfigError;

/// `[integrity]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntegrity {
    verify_every: Option<String>,
    full_verify_every: Option<String>,
    verify_key: Option<PathBuf>,
}

/// `[integrity]`, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IntegrityConfig {
    /// The schedule, when set: unset means no scheduled check.
    pub schedule: Option<IntegritySchedule>,
    /// The verify key; default: the local copy beside the store.
    pub verify_key: Option<PathBuf>,
}

/// How often the chain is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntegritySchedule {
    /// An incremental walk (what was sealed since the last verified
    /// checkpoint) this often.
    pub every: Duration,
    /// A walk of the whole store this often (default a day, never less
    /// than `every`).
    pub full_every: Duration,
}

/// The default period of the full walk.
const DEFAULT_FULL_EVERY: Duration = Duration::from_secs(86_400);

impl RawIntegrity {
    pub(crate) fn resolve(self) -> Result<IntegrityConfig, ConfigError> {
        let every = self
            .verify_every
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| ConfigError::invalid("integrity.verify_every", m))?;
        let full_every = self
            .full_verify_every
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|m| ConfigError::invalid("integrity.full_verify_every", m))?;
        let schedule = match (every, full_every) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "integrity.full_verify_every",
                    "needs integrity.verify_every (the scheduled check is off without it)",
                ))
            }
            (Some(every), full) => {
                let full_every = full.unwrap_or(DEFAULT_FULL_EVERY.max(every));
                if full_every < every {
                    return Err(ConfigError::invalid(
                        "integrity.full_verify_every",
                        "must not be shorter than integrity.verify_every",
                    ));
                }
                Some(IntegritySchedule { every, full_every })
            }
        };
        if self.verify_key.is_some() && schedule.is_none() {
            return Err(ConfigError::invalid(
                "integrity.verify_key",
                "is only used by the scheduled check: set integrity.verify_every too",
            ));
        }
        Ok(IntegrityConfig {
            schedule,
            verify_key: self.verify_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<IntegrityConfig, ConfigError> {
        toml::from_str::<RawIntegrity>(text).unwrap().resolve()
    }

    #[test]
    fn off_unless_verify_every_is_set_and_full_walk_daily_by_default() {
        assert_eq!(resolve("").unwrap(), IntegrityConfig::default());
        let c = resolve("verify_every = \"1h\"").unwrap();
        let s = c.schedule.unwrap();
        assert_eq!(s.every, Duration::from_secs(3600));
        assert_eq!(s.full_every, Duration::from_secs(86_400));
        let s = resolve("verify_every = \"2d\"").unwrap().schedule.unwrap();
        assert_eq!(s.full_every, Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("verify_every = \"soon\"", "integrity.verify_every"),
            ("verify_every = \"0s\"", "integrity.verify_every"),
            ("full_verify_every = \"1d\"", "integrity.full_verify_every"),
            (
                "verify_every = \"1h\"\nfull_verify_every = \"1m\"",
                "integrity.full_verify_every",
            ),
            ("verify_key = \"k\"", "integrity.verify_key"),
        ] {
            let err = resolve(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }
}
