//! The events the policy engine stores: the derived event of a firing
//! (`NETAUDIT_POLICY_TRIGGERED`, the "syslog entry creation" of NDcPP) and
//! the record of each action taken (`NETAUDIT_POLICY_ACTION`). Both carry
//! their fields under netaudit's SD-ID, are chained like every event and
//! forwarded by the outputs. docs/catalog.md lists them.

use netaudit_event::{Event, Facility, Param, Severity};

use super::correlation::Firing;
use crate::clock::now_ns;
use crate::output::route::FORWARD_TO_PARAM;
use crate::self_events::{hostname, is_policy_engine_event, NETAUDIT_SD_ID};

/// A policy fired.
pub(crate) const TRIGGERED_CODE: &str = "NETAUDIT_POLICY_TRIGGERED";
/// A policy's action was taken (or failed).
pub(crate) const ACTION_CODE: &str = "NETAUDIT_POLICY_ACTION";
pub(crate) use crate::self_events::POLICY_APP;
/// The derived event lists at most this many contributing sequence numbers.
const MAX_SEQS: usize = 200;

fn param(name: &str, value: impl Into<String>) -> Param {
    Param {
        sd_id: NETAUDIT_SD_ID.into(),
        name: name.into(),
        value: value.into().into(),
    }
}

fn event(code: &str, severity: Severity, message: String, params: Vec<Param>) -> Event {
    let now = now_ns();
    Event {
        received_ns: now,
        time_ns: Some(now),
        host: hostname().map(Into::into),
        app: Some(POLICY_APP.into()),
        facility: Some(Facility::Syslog),
        severity: Some(severity),
        code: Some(code.into()),
        message: Some(message.into()),
        params,
        ..Event::default()
    }
}

/// Routes a derived event to the outputs of the policy's `forward`
/// actions, and to them only (`output/route.rs`).
pub(crate) fn route_to<'a>(event: &mut Event, outputs: impl Iterator<Item = &'a str>) {
    for name in outputs {
        event.params.push(param(FORWARD_TO_PARAM, name));
    }
}

/// The derived event of `firing` of policy `policy`.
pub(crate) fn triggered(policy: &str, kind: &str, severity: Severity, firing: &Firing) -> Event {
    let mut params = vec![
        param("policy", policy),
        param("correlation", kind),
        param("key", firing.key.clone()),
    ];
    for (name, value) in &firing.group {
        params.push(param(&sd_name(name), value.clone()));
    }
    for (name, value) in &firing.details {
        params.push(param(&sd_name(name), value.clone()));
    }
    let listed: Vec<String> = firing
        .seqs
        .iter()
        .take(MAX_SEQS)
        .map(u64::to_string)
        .collect();
    params.push(param("seqs", listed.join(",")));
    params.push(param("seq-count", firing.seqs.len().to_string()));
    let user = firing
        .group
        .iter()
        .find(|(name, _)| name == "user" || name == "param:username")
        .map(|(_, value)| value.clone());
    let mut event = event(
        TRIGGERED_CODE,
        severity,
        format!("policy {policy}: {}", firing.summary),
        params,
    );
    event.user = user.filter(|u| !u.is_empty()).map(Into::into);
    event
}

/// The record of one action of `policy` for the derived event `trigger_seq`.
pub(crate) fn action(policy: &str, kind: &str, trigger_seq: u64, ok: bool, outcome: &str) -> Event {
    event(
        ACTION_CODE,
        if ok {
            Severity::Notice
        } else {
            Severity::Error
        },
        format!("policy {policy}: {kind} for event {trigger_seq}: {outcome}"),
        vec![
            param("policy", policy),
            param("action", kind),
            param("trigger-seq", trigger_seq.to_string()),
            param("result", if ok { "ok" } else { "failed" }),
            param("outcome", outcome),
        ],
    )
}

/// Whether `event` is a derived event of `policy`, and its firing key.
pub(crate) fn key_of<'e>(event: &'e Event, policy: &str) -> Option<&'e str> {
    if event.code.as_deref() != Some(TRIGGERED_CODE) || !is_policy_engine_event(event) {
        return None;
    }
    if event.param("policy") != Some(policy) {
        return None;
    }
    event.param("key")
}

/// An RFC 5424 PARAM-NAME: at most 32 characters, no `=`, space, `]`, `"`.
fn sd_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, '=' | ' ' | ']' | '"') {
                '_'
            } else {
                c
            }
        })
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_event_names_policy_group_and_contributing_events() {
        let firing = Firing {
            key: "seq:5".into(),
            group: vec![
                ("user".into(), "root".into()),
                ("param:source-address".into(), "10.0.0.1".into()),
            ],
            seqs: vec![1, 2, 5],
            summary: "3 matching events".into(),
            details: vec![],
        };
        let event = triggered("brute", "count", Severity::Warning, &firing);
        assert_eq!(event.code.as_deref(), Some(TRIGGERED_CODE));
        assert_eq!(event.param("policy"), Some("brute"));
        assert_eq!(event.param("param:source-address"), Some("10.0.0.1"));
        assert_eq!(event.param("seqs"), Some("1,2,5"));
        assert_eq!(event.user.as_deref(), Some("root"));
        assert_eq!(key_of(&event, "brute"), Some("seq:5"));
        assert_eq!(key_of(&event, "other"), None);
        // The same event received from the network (it has raw bytes) is a
        // sender's message, not a firing: its actions must not run.
        let mut received = event;
        received.raw = b"<12>1 - host netaudit-policy - NETAUDIT_POLICY_TRIGGERED -".to_vec();
        assert_eq!(key_of(&received, "brute"), None);
    }
}
