//! `[[policy]]`: event policies (docs/policies.md). Each table is a match
//! rule, an optional correlation (`count`, `absence`, `sequence`,
//! `clock_jump`; at most one) and its actions (`[[policy.action]]`,
//! `config/policy_action.rs`).

use std::collections::{BTreeMap, HashSet};

use netaudit_event::Severity;
use regex::Regex;
use serde::Deserialize;

use super::error::ConfigError;
use super::output::OutputConfig;
use super::policy_action::{ActionConfig, RawAction};
use crate::policy::correlation::Correlation;
use crate::policy::field::GroupField;
use crate::policy::matcher::{Matcher, ParamTest, Pattern};

const NS_PER_SEC: i64 = 1_000_000_000;
/// Firings per minute and policy unless `max_per_minute` says otherwise.
pub(crate) const DEFAULT_MAX_PER_MINUTE: u32 = 60;
/// An absent host is forgotten after this long unless `forget_secs` says.
const DEFAULT_FORGET_SECS: u64 = 7 * 24 * 3600;
/// Longest window or silence accepted (one year): keeps nanoseconds in i64.
const MAX_SECS: u64 = 366 * 24 * 3600;

/// `[policy.match]` (and `[policy.sequence.then]`) as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMatch {
    codes: Option<Vec<String>>,
    min_severity: Option<Severity>,
    hosts: Option<Vec<String>>,
    device: Option<String>,
    user: Option<String>,
    app: Option<String>,
    params: Option<BTreeMap<String, String>>,
    params_regex: Option<BTreeMap<String, String>>,
    message_regex: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCount {
    threshold: u32,
    window_secs: u64,
    group_by: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbsence {
    silence_secs: u64,
    forget_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSequence {
    then: RawMatch,
    window_secs: u64,
    group_by: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClockJump {
    max_jump_secs: u64,
}

/// One `[[policy]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    name: String,
    enabled: Option<bool>,
    severity: Option<Severity>,
    #[serde(rename = "match")]
    matcher: Option<RawMatch>,
    count: Option<RawCount>,
    absence: Option<RawAbsence>,
    sequence: Option<RawSequence>,
    clock_jump: Option<RawClockJump>,
    max_per_minute: Option<u32>,
    #[serde(rename = "action")]
    actions: Option<Vec<RawAction>>,
}

/// One policy, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PolicyConfig {
    /// Unique; names the policy's durable cursor (`policy:<name>`).
    pub name: String,
    pub enabled: bool,
    /// The severity of the derived event.
    pub severity: Severity,
    pub matcher: Matcher,
    pub correlation: Correlation,
    /// Firings per minute at most (0: no limit).
    pub max_per_minute: u32,
    pub actions: Vec<ActionConfig>,
    /// One of the built-in NDcPP policies (`[builtin_policies]`).
    pub builtin: bool,
}

impl PolicyConfig {
    /// The names of the outputs its `forward` actions send to.
    pub(crate) fn forward_outputs(&self) -> impl Iterator<Item = &str> {
        self.actions
            .iter()
            .flat_map(|action| match action {
                ActionConfig::Forward { outputs, .. } => outputs.as_slice(),
                _ => &[],
            })
            .map(|target| target.name.as_str())
    }
}

impl RawMatch {
    pub(crate) fn resolve(self) -> Result<Matcher, ConfigError> {
        let mut params = Vec::new();
        for (name, value) in self.params.unwrap_or_default() {
            params.push((name, ParamTest::Equals(value)));
        }
        for (name, source) in self.params_regex.unwrap_or_default() {
            let pattern = compile(&source, &format!("params_regex.{name}"))?;
            params.push((name, ParamTest::Regex(pattern)));
        }
        let message = match self.message_regex {
            Some(source) => Some(compile(&source, "message_regex")?),
            None => None,
        };
        Ok(Matcher {
            codes: self.codes.unwrap_or_default(),
            min_severity: self.min_severity,
            hosts: self.hosts.unwrap_or_default(),
            device: self.device,
            user: self.user,
            app: self.app,
            params,
            message,
        })
    }
}

fn compile(source: &str, key: &str) -> Result<Pattern, ConfigError> {
    Regex::new(source)
        .map(Pattern)
        .map_err(|err| ConfigError::invalid(key, format!("not a valid regular expression: {err}")))
}

fn seconds(value: u64, key: &str) -> Result<i64, ConfigError> {
    if value == 0 || value > MAX_SECS {
        return Err(ConfigError::invalid(
            key,
            format!("must be between 1 and {MAX_SECS} seconds"),
        ));
    }
    Ok(value as i64 * NS_PER_SEC)
}

fn group_fields(raw: Option<Vec<String>>, key: &str) -> Result<Vec<GroupField>, ConfigError> {
    raw.unwrap_or_default()
        .iter()
        .map(|name| {
            GroupField::parse(name).ok_or_else(|| {
                ConfigError::invalid(
                    key,
                    format!("unknown field {name:?}: host, device, user, app, code, client-address or param:NAME"),
                )
            })
        })
        .collect()
}

impl RawPolicy {
    /// Checks the table; key paths are relative to it.
    fn resolve(self) -> Result<PolicyConfig, ConfigError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::invalid(
                "name",
                "must be letters, digits, '-', '_' or '.'",
            ));
        }
        let matcher = self
            .matcher
            .unwrap_or_default()
            .resolve()
            .map_err(|err| err.under("match"))?;
        let mut correlations = Vec::new();
        if let Some(count) = self.count {
            if count.threshold == 0 {
                return Err(ConfigError::invalid(
                    "count.threshold",
                    "must be at least 1",
                ));
            }
            correlations.push(Correlation::Count {
                threshold: count.threshold,
                window_ns: seconds(count.window_secs, "count.window_secs")?,
                group_by: group_fields(count.group_by, "count.group_by")?,
            });
        }
        if let Some(absence) = self.absence {
            let silence_ns = seconds(absence.silence_secs, "absence.silence_secs")?;
            let forget_ns = seconds(
                absence.forget_secs.unwrap_or(DEFAULT_FORGET_SECS),
                "absence.forget_secs",
            )?;
            if forget_ns < silence_ns {
                return Err(ConfigError::invalid(
                    "absence.forget_secs",
                    "must be at least absence.silence_secs",
                ));
            }
            correlations.push(Correlation::Absence {
                silence_ns,
                forget_ns,
            });
        }
        if let Some(sequence) = self.sequence {
            correlations.push(Correlation::Sequence {
                then: Box::new(
                    sequence
                        .then
                        .resolve()
                        .map_err(|err| err.under("sequence.then"))?,
                ),
                window_ns: seconds(sequence.window_secs, "sequence.window_secs")?,
                group_by: group_fields(sequence.group_by, "sequence.group_by")?,
            });
        }
        if let Some(jump) = self.clock_jump {
            correlations.push(Correlation::ClockJump {
                max_jump_ns: seconds(jump.max_jump_secs, "clock_jump.max_jump_secs")?,
            });
        }
        if correlations.len() > 1 {
            return Err(ConfigError::invalid(
                "name",
                "at most one of count, absence, sequence and clock_jump",
            ));
        }
        let mut actions = Vec::new();
        for (index, raw) in self.actions.unwrap_or_default().into_iter().enumerate() {
            actions.push(
                raw.resolve()
                    .map_err(|err| err.under(&format!("action[{index}]")))?,
            );
        }
        Ok(PolicyConfig {
            name: self.name,
            enabled: self.enabled.unwrap_or(true),
            severity: self.severity.unwrap_or(Severity::Warning),
            matcher,
            correlation: correlations.pop().unwrap_or(Correlation::Each),
            max_per_minute: self.max_per_minute.unwrap_or(DEFAULT_MAX_PER_MINUTE),
            actions,
            builtin: false,
        })
    }
}

/// Every `[[policy]]`, checked; names are unique.
/// Names may not repeat one of the `builtins`.
pub(crate) fn resolve_policies(
    raw: Vec<RawPolicy>,
    builtins: &[PolicyConfig],
) -> Result<Vec<PolicyConfig>, ConfigError> {
    let mut names: HashSet<String> = builtins.iter().map(|p| p.name.clone()).collect();
    let mut policies = Vec::with_capacity(raw.len());
    for (index, raw) in raw.into_iter().enumerate() {
        let policy = raw
            .resolve()
            .map_err(|err| err.under(&format!("policy[{index}]")))?;
        if !names.insert(policy.name.clone()) {
            return Err(ConfigError::invalid(
                format!("policy[{index}].name"),
                "another policy (or a built-in one) has the same name",
            ));
        }
        policies.push(policy);
    }
    Ok(policies)
}

/// Resolves the outputs `forward` actions name against `[output]`: each
/// must be an `[[output.syslog]]` or `[[output.file]]` (a RADIUS output
/// sends accounting records of catalog events, which a derived event is
/// not). The error names the policy, and its key the line.
pub(crate) fn resolve_forward_targets(
    policies: &mut [PolicyConfig],
    outputs: &OutputConfig,
) -> Result<(), ConfigError> {
    // Numbered as in the file: the built-ins come first and have no actions.
    for (index, policy) in policies.iter_mut().filter(|p| !p.builtin).enumerate() {
        for (action_index, action) in policy.actions.iter_mut().enumerate() {
            let ActionConfig::Forward {
                outputs: targets, ..
            } = action
            else {
                continue;
            };
            for target in targets.iter_mut() {
                let syslog = outputs.syslog.iter().any(|o| o.name == target.name);
                let file = outputs.file.iter().any(|o| o.name == target.name);
                let radius = outputs.radius.iter().any(|o| o.name == target.name);
                if !(syslog || file) {
                    let known: Vec<&str> = outputs
                        .syslog
                        .iter()
                        .map(|o| o.name.as_str())
                        .chain(outputs.file.iter().map(|o| o.name.as_str()))
                        .collect();
                    let why = if radius {
                        "is a RADIUS output, which sends accounting records of catalog events only"
                            .to_owned()
                    } else if known.is_empty() {
                        "is not the name of an output: there is no [[output.syslog]] or [[output.file]]".to_owned()
                    } else {
                        format!(
                            "is not the name of an [[output.syslog]] or [[output.file]] (there are: {})",
                            known.join(", ")
                        )
                    };
                    return Err(ConfigError::invalid(
                        format!("policy[{index}].action[{action_index}].outputs"),
                        format!("policy {:?}: output {:?} {why}", policy.name, target.name),
                    ));
                }
                target.file = file;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{ActionConfig, Config, ConfigError};
    use crate::policy::correlation::Correlation;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, "test.toml")
    }

    #[test]
    fn a_policy_parses_with_defaults() {
        let config = parse("[[policy]]\nname = \"brute\"\n[policy.match]\ncodes = [\"SSHD_LOGIN_FAILED\"]\nparams_regex = { \"source-address\" = \"^10\\\\.\" }\n[policy.count]\nthreshold = 3\nwindow_secs = 60\ngroup_by = [\"user\", \"param:source-address\"]\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/usr/bin/logger\"\nargs = [\"-t\", \"netaudit\"]\n").unwrap();
        let policy = config.policies.iter().find(|p| !p.builtin).unwrap();
        assert!(policy.enabled && !policy.builtin);
        assert_eq!(policy.max_per_minute, super::DEFAULT_MAX_PER_MINUTE);
        assert!(matches!(
            policy.correlation,
            Correlation::Count { threshold: 3, .. }
        ));
        assert!(matches!(
            &policy.actions[0],
            ActionConfig::Exec {
                max_concurrent: 4,
                ..
            }
        ));
    }

    #[test]
    fn bad_policies_name_the_key_and_line() {
        let cases = [
            ("[[policy]]\nname = \"a\"\n[policy.match]\nmessage_regex = \"(\"\n", "policy[0].match.message_regex", ":4:"),
            ("[[policy]]\nname = \"a\"\n[policy.match]\nparams_regex = { x = \"[\" }\n", "policy[0].match.params_regex.x", ""),
            ("[[policy]]\nname = \"a\"\n[policy.count]\nthreshold = 3\nwindow_secs = 0\n", "policy[0].count.window_secs", ":5:"),
            ("[[policy]]\nname = \"a\"\n[policy.count]\nthreshold = 0\nwindow_secs = 5\n", "policy[0].count.threshold", ":4:"),
            ("[[policy]]\nname = \"a\"\n[policy.count]\nthreshold = 2\nwindow_secs = 5\ngroup_by = [\"source-address\"]\n", "policy[0].count.group_by", ":6:"),
            ("[[policy]]\nname = \"a\"\n[policy.absence]\nsilence_secs = 0\n", "policy[0].absence.silence_secs", ""),
            ("[[policy]]\nname = \"a\"\n[policy.sequence]\nwindow_secs = 5\n[policy.sequence.then]\nmessage_regex = \"*\"\n", "policy[0].sequence.then.message_regex", ""),
            ("[[policy]]\nname = \"a b\"\n", "policy[0].name", ":2:"),
            ("[[policy]]\nname = \"a\"\n[[policy]]\nname = \"a\"\n", "policy[1].name", ":4:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"shell\"\n", "policy[0].action[0].kind", ":4:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"logger\"\n", "policy[0].action[0].program", ":5:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/true\"\nurl = \"http://x/\"\n", "policy[0].action[0].url", ""),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"ftp://host/x\"\nsecret_file = \"s\"\n", "policy[0].action[0].url", ":5:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"not a url\"\nsecret_file = \"s\"\n", "policy[0].action[0].url", ""),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"http://h/x\"\n", "policy[0].action[0].secret_file", ""),
            ("[[policy]]\nname = \"a\"\n[policy.count]\nthreshold = 2\nwindow_secs = 5\n[policy.absence]\nsilence_secs = 5\n", "policy[0]", ""),
            ("[[policy]]\nname = \"a\"\n[policy.match]\ncode = \"X\"\n", "policy[0].match", ""),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"http://h/x\"\nsecret_file = \"s\"\nca_file = \"ca.pem\"\n", "policy[0].action[0].ca_file", ":7:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/true\"\nca_file = \"ca.pem\"\n", "policy[0].action[0].ca_file", ":6:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"forward\"\n", "policy[0].action[0].outputs", ""),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"forward\"\noutputs = [\"x\", \"x\"]\n", "policy[0].action[0].outputs", ":5:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"forward\"\noutputs = [\"x\"]\nurl = \"http://h/\"\n", "policy[0].action[0].url", ":6:"),
            ("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/bin/true\"\noutputs = [\"x\"]\n", "policy[0].action[0].outputs", ":6:"),
        ];
        for (text, key, line) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in {err}");
            assert!(err.contains(line), "expected {line} in {err}");
        }
    }

    #[test]
    fn a_forward_to_an_unknown_output_names_the_policy_the_key_and_the_line() {
        let outputs = "[[output.file]]\nname = \"audit\"\ndir = \"/tmp/x\"\n[[output.syslog]]\nname = \"siem\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:6514\"\n";
        let policy = |to: &str| {
            format!("{outputs}[[policy]]\nname = \"brute\"\n[[policy]]\nname = \"silent\"\n[[policy.action]]\nkind = \"forward\"\noutputs = [\"siem\", {to}]\n")
        };
        let err = parse(&policy("\"siem2\"")).unwrap_err().to_string();
        assert!(err.contains("policy[1].action[0].outputs"), "{err}");
        assert!(err.contains("test.toml:14:"), "{err}");
        assert!(err.contains("policy \"silent\""), "{err}");
        assert!(
            err.contains("\"siem2\"") && err.contains("(there are: siem, audit)"),
            "{err}"
        );
        let config = parse(&policy("\"audit\"")).unwrap();
        let silent = config.policies.iter().find(|p| p.name == "silent").unwrap();
        let ActionConfig::Forward { outputs, timeout } = &silent.actions[0] else {
            panic!("{:?}", silent.actions);
        };
        assert_eq!(timeout.as_secs(), 60);
        assert_eq!(
            outputs
                .iter()
                .map(|t| (t.name.as_str(), t.file))
                .collect::<Vec<_>>(),
            [("siem", false), ("audit", true)]
        );
        let err = parse("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"forward\"\noutputs = [\"siem\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("policy[0].action[0].outputs") && err.contains("there is no"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_program_or_secret_file_is_found_before_start() {
        let mut config = parse("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"exec\"\nprogram = \"/nonexistent/notify\"\n").unwrap();
        let err = config.resolve_outputs().unwrap_err().to_string();
        assert!(err.contains("policy[0].action[0].program"), "{err}");
        assert!(err.contains("/nonexistent/notify"), "{err}");
        let mut config = parse("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:1/x\"\nsecret_file = \"/nonexistent/secret\"\n").unwrap();
        let err = config.resolve_outputs().unwrap_err().to_string();
        assert!(err.contains("policy[0].action[0].secret_file"), "{err}");
        // An https:// webhook: its CA file must hold certificates.
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret").unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "no certificate here\n").unwrap();
        for (ca_file, expected) in [
            ("/nonexistent/ca.pem", "/nonexistent/ca.pem"),
            (not_pem.to_str().unwrap(), "no CERTIFICATE in the file"),
        ] {
            let mut config = parse(&format!("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"https://127.0.0.1:1/x\"\nsecret_file = \"{}\"\nca_file = \"{ca_file}\"\n", secret.display())).unwrap();
            let err = config.resolve_outputs().unwrap_err().to_string();
            assert!(err.contains("policy[0].action[0].ca_file"), "{err}");
            assert!(err.contains(expected), "{err}");
        }
        // Without ca_file, https:// trusts Debian's bundle.
        let config = parse("[[policy]]\nname = \"a\"\n[[policy.action]]\nkind = \"webhook\"\nurl = \"https://h/x\"\nsecret_file = \"s\"\n").unwrap();
        let policy = config.policies.iter().find(|p| !p.builtin).unwrap();
        assert!(matches!(
            &policy.actions[0],
            ActionConfig::Webhook { ca_file: Some(path), .. } if path.to_str() == Some(super::super::policy_action::DEFAULT_WEBHOOK_CA_FILE)
        ));
    }
}
