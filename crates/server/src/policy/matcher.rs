//! Which events a policy looks at: the `[policy.match]` rule (and the
//! `then` rule of a sequence). Pure: an event in, yes or no out.

use netaudit_event::{Event, Severity};
use regex::Regex;

use crate::glob::glob_match;

/// A glob without wildcards is compared as it is (no allocation: this runs
/// for every event and every policy).
fn matches_glob(glob: &str, text: &str) -> bool {
    if glob.contains(['*', '?']) {
        glob_match(glob, text)
    } else {
        glob == text
    }
}

/// A compiled regular expression that compares by its source text, so that
/// a configuration holding one can still be compared for reloads.
#[derive(Debug, Clone)]
pub(crate) struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// What an SD parameter must be for the rule to match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamTest {
    Equals(String),
    Regex(Pattern),
}

/// One match rule; every part that is set must hold (empty lists and `None`
/// let everything through).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Matcher {
    /// Code globs (`SSHD_LOGIN_*`); the event's code must match one.
    pub codes: Vec<String>,
    /// At least this severe; an event without a severity does not match.
    pub min_severity: Option<Severity>,
    /// Host globs.
    pub hosts: Vec<String>,
    pub device: Option<String>,
    pub user: Option<String>,
    pub app: Option<String>,
    /// SD parameters by name (any SD-ID), each test must hold.
    pub params: Vec<(String, ParamTest)>,
    pub message: Option<Pattern>,
}

impl Matcher {
    pub(crate) fn matches(&self, event: &Event) -> bool {
        self.matches_but_params(event) && self.params_hold(event)
    }

    /// Every test but the SD parameters' holds: an event for which this is
    /// false cannot match, whatever its parameters (the policies read the
    /// store without parsing them, and parse only these events').
    pub(crate) fn matches_but_params(&self, event: &Event) -> bool {
        if !self.codes.is_empty() {
            let Some(code) = event.code.as_deref() else {
                return false;
            };
            if !self.codes.iter().any(|glob| matches_glob(glob, code)) {
                return false;
            }
        }
        if let Some(min) = self.min_severity {
            if !event.severity.is_some_and(|s| s.at_least(min)) {
                return false;
            }
        }
        if !self.hosts.is_empty() {
            let Some(host) = event.host.as_deref() else {
                return false;
            };
            if !self.hosts.iter().any(|glob| matches_glob(glob, host)) {
                return false;
            }
        }
        for (wanted, have) in [
            (&self.device, &event.device),
            (&self.user, &event.user),
            (&self.app, &event.app),
        ] {
            if let Some(wanted) = wanted {
                if have.as_deref() != Some(wanted.as_str()) {
                    return false;
                }
            }
        }
        if let Some(pattern) = &self.message {
            if !event
                .message
                .as_deref()
                .is_some_and(|m| pattern.0.is_match(m))
            {
                return false;
            }
        }
        true
    }

    /// Whether the SD parameter tests hold.
    fn params_hold(&self, event: &Event) -> bool {
        self.params.iter().all(|(name, test)| {
            event.param(name).is_some_and(|value| match test {
                ParamTest::Equals(expected) => value == expected,
                ParamTest::Regex(pattern) => pattern.0.is_match(value),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use netaudit_event::Param;

    use super::*;

    fn failed_login(user: &str, from: &str) -> Event {
        Event {
            host: Some("fw1".into()),
            app: Some("sshd".into()),
            code: Some("SSHD_LOGIN_FAILED".into()),
            severity: Some(Severity::Info),
            user: Some(user.into()),
            params: vec![
                Param {
                    sd_id: "junos@2636.1.1.1.2.164".into(),
                    name: "username".into(),
                    value: user.into(),
                },
                Param {
                    sd_id: "junos@2636.1.1.1.2.164".into(),
                    name: "source-address".into(),
                    value: from.into(),
                },
            ],
            message: Some(format!("Login failed for user '{user}' from host '{from}'").into()),
            ..Event::default()
        }
    }

    #[test]
    fn every_set_part_must_hold() {
        let event = failed_login("root", "10.0.0.1");
        assert!(Matcher::default().matches(&event));
        let rule = Matcher {
            codes: vec!["SSHD_LOGIN_*".into(), "LOGIN_FAILED".into()],
            min_severity: Some(Severity::Info),
            hosts: vec!["fw*".into()],
            user: Some("root".into()),
            app: Some("sshd".into()),
            params: vec![
                ("username".into(), ParamTest::Equals("root".into())),
                (
                    "source-address".into(),
                    ParamTest::Regex(Pattern(Regex::new(r"^10\.").unwrap())),
                ),
            ],
            message: Some(Pattern(Regex::new("Login failed").unwrap())),
            ..Matcher::default()
        };
        assert!(rule.matches(&event));
        assert!(!rule.matches(&failed_login("admin", "10.0.0.1")));
        assert!(!rule.matches(&failed_login("root", "192.168.0.1")));
        let severe = Matcher {
            min_severity: Some(Severity::Warning),
            ..Matcher::default()
        };
        assert!(!severe.matches(&event));
        let device = Matcher {
            device: Some("r1".into()),
            ..Matcher::default()
        };
        assert!(!device.matches(&event));
        let missing_param = Matcher {
            params: vec![("tty-name".into(), ParamTest::Equals("x".into()))],
            ..Matcher::default()
        };
        assert!(!missing_param.matches(&event));
        let code = Matcher {
            codes: vec!["UI_*".into()],
            ..Matcher::default()
        };
        assert!(!code.matches(&event));
        assert!(!code.matches(&Event::default()));
    }

    #[test]
    fn without_its_parameters_an_event_is_ruled_out_only_by_the_other_tests() {
        let rule = Matcher {
            codes: vec!["SSHD_LOGIN_*".into()],
            params: vec![("username".into(), ParamTest::Equals("root".into()))],
            ..Matcher::default()
        };
        let event = failed_login("root", "10.0.0.1");
        let bare = Event {
            params: Vec::new(),
            ..event.clone()
        };
        // Read without its parameters, the event may still match: it is
        // parsed and tested whole.
        assert!(rule.matches_but_params(&bare) && !rule.matches(&bare));
        assert!(rule.matches(&event));
        // Another code rules it out whatever its parameters say.
        let other = Event {
            code: Some("UI_COMMIT".into()),
            ..event
        };
        assert!(!rule.matches_but_params(&other) && !rule.matches(&other));
    }
}
