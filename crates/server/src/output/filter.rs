//! Which events an output forwards: minimum severity, code globs, host globs,
//! and the routes of policies' `forward` actions (`route.rs`).

use netaudit_event::{Event, Severity};

use super::route::{route_of, Route};
use crate::config::SyslogOutputConfig;
use crate::glob::glob_match;

/// The filters of one output; empty lists let everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub min_severity: Option<Severity>,
    pub codes: Vec<String>,
    pub hosts: Vec<String>,
    /// The output's name, for routed events.
    pub output: String,
}

impl Filter {
    /// The filters a syslog output's configuration sets.
    pub(crate) fn of_syslog_output(config: &SyslogOutputConfig) -> Filter {
        Filter {
            min_severity: config.min_severity,
            codes: config.codes.clone(),
            hosts: config.hosts.clone(),
            output: config.name.clone(),
        }
    }

    /// Whether `event` is forwarded. An event without a severity passes the
    /// severity filter; an event without a code (or host) never matches a
    /// non-empty code (or host) list. An event a policy routes is
    /// forwarded by the outputs it names only, whatever their filters.
    pub(crate) fn accepts(&self, event: &Event) -> bool {
        match route_of(event, &self.output) {
            Route::Here => return true,
            Route::Elsewhere => return false,
            Route::Unrouted => {}
        }
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
            output: "siem".into(),
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
