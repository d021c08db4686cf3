//! `[builtin_policies]`: the NDcPP policies netaudit runs unless told not
//! to (docs/policies.md, "Built-in policies"). Each becomes an ordinary
//! [`PolicyConfig`] named `ndcpp-*` and marked `builtin`; a switched-off one
//! is still listed (disabled).

use netaudit_event::Severity;
use regex::Regex;
use serde::Deserialize;

use super::error::ConfigError;
use super::policy::{PolicyConfig, DEFAULT_MAX_PER_MINUTE};
use crate::policy::correlation::Correlation;
use crate::policy::field::GroupField;
use crate::policy::matcher::{Matcher, Pattern};

const NS_PER_SEC: i64 = 1_000_000_000;

/// The failed logins the failed-login policy counts: Junos sshd and
/// login (seed 003, FIA_AFL.1 and FIA_UIA_EXT.1) and JUNOScope's.
pub(crate) const FAILED_LOGIN_CODES: &[&str] = &[
    "SSHD_LOGIN_FAILED",
    "LOGIN_FAILED",
    "JUNOSCOPE_LOGIN_FAILURE",
];

/// Audit storage near full or full (FAU_STG_EXT.1): the store passing
/// `store.near_full_percent` (`storage_watch.rs`), retention unable to
/// free room because an archive cannot be written, an audit file output
/// at its bound (refusing, or deleting its oldest archive).
pub(crate) const AUDIT_STORAGE_CODES: &[&str] = &[
    "NETAUDIT_STORE_NEAR_FULL",
    "NETAUDIT_RETENTION_WAITING",
    "NETAUDIT_AUDIT_STORAGE_FULL",
    "NETAUDIT_AUDIT_ARCHIVE_REMOVED",
];

/// Trusted channel failures (FTP_ITC.1, FCS_SSHS_EXT.1): SSH negotiation
/// failures as seed 003 shows them, and TLS handshake failures.
const CHANNEL_FAILURE_REGEX: &str =
    r"(?i)unable to negotiate|no matching (cipher|key exchange|host key|mac)|handshake fail";

/// `[builtin_policies]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuiltins {
    /// All of them at once; each switch below turns one off.
    enabled: Option<bool>,
    failed_login: Option<bool>,
    failed_login_threshold: Option<u32>,
    failed_login_window_secs: Option<u64>,
    time_change: Option<bool>,
    trusted_channel: Option<bool>,
    trusted_channel_threshold: Option<u32>,
    trusted_channel_window_secs: Option<u64>,
    audit_storage: Option<bool>,
    silent_host: Option<bool>,
    silent_host_secs: Option<u64>,
    clock_jump: Option<bool>,
    clock_jump_max_secs: Option<u64>,
}

fn positive(value: Option<u64>, default: u64, key: &str) -> Result<i64, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(ConfigError::invalid(key, "must be at least 1")),
        secs if secs > 366 * 24 * 3600 => Err(ConfigError::invalid(key, "must be at most a year")),
        secs => Ok(secs as i64 * NS_PER_SEC),
    }
}

fn codes(codes: &[&str]) -> Matcher {
    Matcher {
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        ..Matcher::default()
    }
}

impl RawBuiltins {
    /// The built-in policies, in the order docs/policies.md lists them.
    pub(crate) fn resolve(self) -> Result<Vec<PolicyConfig>, ConfigError> {
        let all = self.enabled.unwrap_or(true);
        let on = |switch: Option<bool>| all && switch.unwrap_or(true);
        let threshold = self.failed_login_threshold.unwrap_or(3);
        if threshold == 0 {
            return Err(ConfigError::invalid(
                "builtin_policies.failed_login_threshold",
                "must be at least 1",
            ));
        }
        let channel_threshold = self.trusted_channel_threshold.unwrap_or(5);
        if channel_threshold == 0 {
            return Err(ConfigError::invalid(
                "builtin_policies.trusted_channel_threshold",
                "must be at least 1",
            ));
        }
        let silence_ns = positive(
            self.silent_host_secs,
            3600,
            "builtin_policies.silent_host_secs",
        )?;
        let policy = |name: &str, enabled: bool, severity, matcher, correlation| PolicyConfig {
            name: name.to_owned(),
            enabled,
            severity,
            matcher,
            correlation,
            max_per_minute: DEFAULT_MAX_PER_MINUTE,
            actions: Vec::new(),
            builtin: true,
        };
        let channel_failures = Regex::new(CHANNEL_FAILURE_REGEX)
            .map_err(|err| ConfigError::invalid("builtin_policies", err.to_string()))?;
        Ok(vec![
            policy(
                "ndcpp-failed-login",
                on(self.failed_login),
                Severity::Warning,
                codes(FAILED_LOGIN_CODES),
                Correlation::Count {
                    threshold,
                    window_ns: positive(
                        self.failed_login_window_secs,
                        300,
                        "builtin_policies.failed_login_window_secs",
                    )?,
                    group_by: vec![
                        GroupField::Host,
                        GroupField::User,
                        GroupField::ClientAddress,
                    ],
                },
            ),
            policy(
                "ndcpp-time-change",
                on(self.time_change),
                Severity::Notice,
                Matcher {
                    message: Some(Pattern(
                        Regex::new(r"System time has changed|command 'set date ").map_err(
                            |err| ConfigError::invalid("builtin_policies", err.to_string()),
                        )?,
                    )),
                    ..codes(&["NSD_SYS_TIME_CHANGE", "UI_CMDLINE_READ_LINE"])
                },
                Correlation::Each,
            ),
            policy(
                "ndcpp-trusted-channel",
                on(self.trusted_channel),
                Severity::Warning,
                Matcher {
                    message: Some(Pattern(channel_failures)),
                    ..Matcher::default()
                },
                Correlation::Count {
                    threshold: channel_threshold,
                    window_ns: positive(
                        self.trusted_channel_window_secs,
                        60,
                        "builtin_policies.trusted_channel_window_secs",
                    )?,
                    group_by: vec![GroupField::Host],
                },
            ),
            policy(
                "ndcpp-audit-storage",
                on(self.audit_storage),
                Severity::Alert,
                codes(AUDIT_STORAGE_CODES),
                Correlation::Each,
            ),
            policy(
                "ndcpp-silent-host",
                on(self.silent_host),
                Severity::Warning,
                Matcher::default(),
                Correlation::Absence {
                    silence_ns,
                    forget_ns: silence_ns.max(24 * 3600 * NS_PER_SEC),
                },
            ),
            policy(
                "ndcpp-clock-jump",
                on(self.clock_jump),
                Severity::Warning,
                Matcher::default(),
                Correlation::ClockJump {
                    max_jump_ns: positive(
                        self.clock_jump_max_secs,
                        60,
                        "builtin_policies.clock_jump_max_secs",
                    )?,
                },
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_builtins_are_on_by_default_and_switchable() {
        let config = Config::from_toml("[log]\nlevel = \"info\"\n", "t").unwrap();
        let builtins: Vec<_> = config.policies.iter().filter(|p| p.builtin).collect();
        assert_eq!(builtins.len(), 6);
        assert!(builtins
            .iter()
            .all(|p| p.enabled && p.name.starts_with("ndcpp-")));
        let config = Config::from_toml(
            "[builtin_policies]\nsilent_host = false\nfailed_login_threshold = 5\n",
            "t",
        )
        .unwrap();
        let silent = config
            .policies
            .iter()
            .find(|p| p.name == "ndcpp-silent-host")
            .unwrap();
        assert!(!silent.enabled);
        let config = Config::from_toml("[builtin_policies]\nenabled = false\n", "t").unwrap();
        assert!(config.policies.iter().all(|p| !p.enabled));
        let err = Config::from_toml("[builtin_policies]\nsilent_host_secs = 0\n", "t")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("builtin_policies.silent_host_secs") && err.contains(":2:"),
            "{err}"
        );
        let err = Config::from_toml("[[policy]]\nname = \"ndcpp-silent-host\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("policy[0].name"), "{err}");
    }
}
