//! Which events an output forwards: minimum severity, code globs, host globs.

use netaudit_event::{Event, Severity};

use crate::config::SyslogOutputConfig;

/// `*` matches any run of characters (also none), `?` exactly one; every
/// other character matches itself (case-sensitive, as codes and host names
/// are compared in the store).
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with one backtrack point: linear in practice,
    // O(len(p) * len(t)) at worst, never recursive.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// The filters of one output; empty lists let everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub min_severity: Option<Severity>,
    pub codes: Vec<String>,
    pub hosts: Vec<String>,
}

impl Filter {
    /// The filters a syslog output's configuration sets.
    pub(crate) fn of_syslog_output(config: &SyslogOutputConfig) -> Filter {
        Filter {
            min_severity: config.min_severity,
            codes: config.codes.clone(),
            hosts: config.hosts.clone(),
        }
    }

    /// Whether `event` is forwarded. An event without a severity passes the
    /// severity filter; an event without a code (or host) never matches a
    /// non-empty code (or host) list.
    pub(crate) fn accepts(&self, event: &Event) -> bool {
        if let (Some(min), Some(severity)) = (self.min_severity, event.severity) {
            if !severity.at_least(min) {
                return false;
            }
        }
        if !self.codes.is_empty() {
            let Some(code) = event.code.as_deref() else {
                return false;
            };
            if !self.codes.iter().any(|g| glob_match(g, code)) {
                return false;
            }
        }
        if !self.hosts.is_empty() {
            let Some(host) = event.host.as_deref() else {
                return false;
            };
            if !self.hosts.iter().any(|g| glob_match(g, host)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("JUNOSCOPE_*", "JUNOSCOPE_LOGIN_FAILURE"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*LOGIN*", "UI_LOGIN_EVENT"));
        assert!(glob_match("UI_?OGIN_EVENT", "UI_LOGIN_EVENT"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-b-y-"));
        assert!(!glob_match("JUNOSCOPE_*", "UI_LOGIN_EVENT"));
        assert!(!glob_match("abc", "abcd"));
        assert!(!glob_match("abc?", "abc"));
        assert!(glob_match("router*.example.net", "router12.example.net"));
        assert!(!glob_match("junoscope*", "JUNOSCOPE_X"));
        // Many stars against a long text stays fast and correct.
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &long));
    }

    fn event(code: Option<&str>, host: Option<&str>, severity: Option<Severity>) -> Event {
        Event {
            code: code.map(Into::into),
            host: host.map(Into::into),
            severity,
            ..Event::default()
        }
    }

    #[test]
    fn filters_by_severity_code_and_host() {
        let filter = Filter {
            min_severity: Some(Severity::Warning),
            codes: vec!["JUNOSCOPE_*".into(), "UI_COMMIT*".into()],
            hosts: vec!["r?".into()],
        };
        assert!(filter.accepts(&event(
            Some("JUNOSCOPE_LOGIN_FAILURE"),
            Some("r1"),
            Some(Severity::Error)
        )));
        assert!(filter.accepts(&event(Some("UI_COMMIT"), Some("r2"), None)));
        assert!(!filter.accepts(&event(
            Some("JUNOSCOPE_LOGIN_FAILURE"),
            Some("r1"),
            Some(Severity::Info)
        )));
        assert!(!filter.accepts(&event(Some("SNMP_TRAP"), Some("r1"), None)));
        assert!(!filter.accepts(&event(None, Some("r1"), None)));
        assert!(!filter.accepts(&event(Some("UI_COMMIT"), Some("r10"), None)));
        assert!(!filter.accepts(&event(Some("UI_COMMIT"), None, None)));
        assert!(Filter::default().accepts(&Event::default()));
    }
}
