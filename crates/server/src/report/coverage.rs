//! The coverage of the requirement table by stored events: for each row,
//! per host, how many events satisfied it, the first and last, and one
//! sample record with the row's additional contents checked in it. Pure:
//! events in (one pass, any number), a [`Coverage`] out.

use std::collections::BTreeMap;

use netaudit_event::Event;
use serde::Serialize;

use super::requirements::{Check, Requirement};

/// One sample record, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// The node whose chain holds it (a PostgreSQL store), else none.
    pub node: Option<String>,
    pub seq: u64,
    /// The event's own time, else its receive time (Unix ns).
    pub time_ns: i64,
    pub code: Option<String>,
    pub app: Option<String>,
    pub user: Option<String>,
    pub client_addr: Option<String>,
    pub message: Option<String>,
}

/// A row's evidence from one host.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HostEvidence {
    pub host: String,
    pub count: u64,
    pub first_ns: i64,
    pub last_ns: i64,
    pub sample: Sample,
    /// Each check of the row, and whether the sample carries it.
    pub checks: Vec<(String, bool)>,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RowCoverage {
    pub id: String,
    pub events: String,
    pub contents: Option<String>,
    pub required: bool,
    pub seed_sample: Option<String>,
    /// `covered`, `no-evidence` or `not-required`.
    pub status: &'static str,
    pub count: u64,
    pub hosts: Vec<HostEvidence>,
}

/// The report's rows, built one event at a time.
pub(crate) struct Coverage {
    rows: Vec<Requirement>,
    /// Per row: host -> evidence.
    seen: Vec<BTreeMap<String, HostEvidence>>,
    /// Events looked at.
    pub events: u64,
}

/// An IPv4 or IPv6-looking address in a text.
fn has_address(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '\'' | '"' | '(' | ')' | '/'))
        .any(|word| {
            let word = word.trim_end_matches([':', '.']);
            word.parse::<std::net::IpAddr>().is_ok()
        })
}

fn check(check: Check, event: &Event) -> bool {
    match check {
        Check::User => event.user.as_deref().is_some_and(|u| !u.is_empty()),
        Check::Origin => {
            event
                .client_addr
                .as_deref()
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
                || ["remote-address", "ssh-connection"]
                    .iter()
                    .any(|name| event.param(name).is_some_and(has_address))
                || event.message.as_deref().is_some_and(has_address)
        }
        Check::Addresses => {
            event.param("source-address").is_some() && event.param("destination-address").is_some()
        }
        Check::Reason => event
            .message
            .as_deref()
            .is_some_and(|m| !m.trim().is_empty()),
    }
}

fn sample(node: Option<&str>, seq: u64, time_ns: i64, event: &Event) -> Sample {
    Sample {
        node: node.map(str::to_owned),
        seq,
        time_ns,
        code: event.code.as_deref().map(str::to_owned),
        app: event.app.as_deref().map(str::to_owned),
        user: event.user.as_deref().map(str::to_owned),
        client_addr: event.client_addr.as_deref().map(str::to_owned),
        message: event.message.as_deref().map(str::to_owned),
    }
}

fn time_of(event: &Event) -> i64 {
    event.time_ns.unwrap_or(event.received_ns)
}

impl Coverage {
    pub(crate) fn new(rows: Vec<Requirement>) -> Coverage {
        let seen = rows.iter().map(|_| BTreeMap::new()).collect();
        Coverage {
            rows,
            seen,
            events: 0,
        }
    }

    /// Counts `event` (stored as `seq`, in `node`'s chain on a PostgreSQL
    /// store) for every row it satisfies.
    pub(crate) fn observe(&mut self, node: Option<&str>, seq: u64, event: &Event) {
        self.events += 1;
        for (row, seen) in self.rows.iter().zip(self.seen.iter_mut()) {
            if !row.evidence.iter().any(|m| m.matches(event)) {
                continue;
            }
            let at = time_of(event);
            let host = event.host.as_deref().unwrap_or("-");
            let checks: Vec<(String, bool)> = row
                .checks
                .iter()
                .map(|&c| (c.name().to_owned(), check(c, event)))
                .collect();
            let passed = checks.iter().filter(|(_, ok)| *ok).count();
            match seen.get_mut(host) {
                Some(evidence) => {
                    evidence.count += 1;
                    evidence.first_ns = evidence.first_ns.min(at);
                    evidence.last_ns = evidence.last_ns.max(at);
                    // The sample is the first record that carries the most
                    // of the row's additional contents.
                    if passed > evidence.checks.iter().filter(|(_, ok)| *ok).count() {
                        evidence.sample = sample(node, seq, at, event);
                        evidence.checks = checks;
                    }
                }
                None => {
                    seen.insert(
                        host.to_owned(),
                        HostEvidence {
                            host: host.to_owned(),
                            count: 1,
                            first_ns: at,
                            last_ns: at,
                            sample: sample(node, seq, at, event),
                            checks,
                        },
                    );
                }
            }
        }
    }

    /// The rows in table order.
    pub(crate) fn finish(self) -> Vec<RowCoverage> {
        self.rows
            .into_iter()
            .zip(self.seen)
            .map(|(row, seen)| {
                let hosts: Vec<HostEvidence> = seen.into_values().collect();
                let count = hosts.iter().map(|h| h.count).sum();
                let required = row.required();
                RowCoverage {
                    status: match (required, count) {
                        (false, _) => "not-required",
                        (true, 0) => "no-evidence",
                        (true, _) => "covered",
                    },
                    id: row.id,
                    events: row.events,
                    contents: row.contents,
                    required,
                    seed_sample: row.sample,
                    count,
                    hosts,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use netaudit_event::Param;

    use super::*;
    use crate::report::requirements::ndcpp;

    fn event(host: &str, code: &str, params: &[(&str, &str)], message: &str, at: i64) -> Event {
        Event {
            time_ns: Some(at),
            host: Some(host.into()),
            code: Some(code.into()),
            user: params
                .iter()
                .find(|(n, _)| *n == "username")
                .map(|(_, v)| (*v).into()),
            client_addr: params
                .iter()
                .find(|(n, _)| *n == "source-address")
                .map(|(_, v)| (*v).into()),
            params: params
                .iter()
                .map(|(n, v)| Param {
                    sd_id: "junos@2636.1.1.1.2.164".into(),
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            message: Some(message.into()),
            ..Event::default()
        }
    }

    #[test]
    fn rows_count_per_host_and_check_their_contents() {
        let mut coverage = Coverage::new(ndcpp());
        let failed = [("username", "root"), ("source-address", "10.223.5.251")];
        coverage.observe(
            None,
            1,
            &event("r1", "SSHD_LOGIN_FAILED", &failed, "Login failed", 10),
        );
        coverage.observe(
            None,
            2,
            &event("r1", "SSHD_LOGIN_FAILED", &failed, "Login failed", 5),
        );
        coverage.observe(
            Some("n2"),
            3,
            &event("r2", "SSHD_LOGIN_FAILED", &failed, "Login failed", 20),
        );
        coverage.observe(
            None,
            4,
            &event(
                "r1",
                "SSHD_LOGIN_ATTEMPTS_THRESHOLD",
                &[("limit", "3"), ("username", "root")],
                "Threshold reached by user 'root'",
                30,
            ),
        );
        let rows = coverage.finish();
        let row = |id: &str| rows.iter().find(|r| r.id == id).unwrap();
        let uia = row("FIA_UIA_EXT.1");
        assert_eq!((uia.status, uia.count, uia.hosts.len()), ("covered", 3, 2));
        assert_eq!((uia.hosts[0].first_ns, uia.hosts[0].last_ns), (5, 10));
        assert_eq!(uia.hosts[0].sample.seq, 1);
        assert_eq!(uia.hosts[0].sample.node, None);
        assert_eq!(uia.hosts[1].sample.node.as_deref(), Some("n2"));
        assert_eq!(
            uia.hosts[0].checks,
            vec![("user".to_string(), true), ("origin".to_string(), true)]
        );
        // The seed's own threshold line carries no origin: the check says so.
        let afl = row("FIA_AFL.1");
        assert_eq!(afl.hosts[0].checks, vec![("origin".to_string(), false)]);
        assert_eq!(row("FTA_SSL.4").status, "no-evidence");
        assert_eq!(row("FCS_CKM.1").status, "not-required");
    }

    #[test]
    fn addresses_are_found_in_messages() {
        assert!(has_address(
            "Unable to negotiate with 1.1.1.2 port 42168: no matching cipher"
        ));
        assert!(has_address(
            "Disconnected from user root 10.223.5.251 port 42482"
        ));
        assert!(has_address("from 2001:db8::1 port 22"));
        assert!(!has_address("Idle timeout for user 'root' exceeded"));
    }
}
