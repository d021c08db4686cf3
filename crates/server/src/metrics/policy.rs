//! Counters of one event policy (`netaudit_policy_*`): how often it fired,
//! how its actions went, how far behind the store its evaluation is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use super::prometheus;

/// Counters of one policy, kept across reloads (by name).
#[derive(Debug, Default)]
pub(crate) struct PolicyMetrics {
    /// Derived events stored (firings over the rate limit are not counted).
    pub firings: AtomicU64,
    /// The last sequence number the policy has evaluated (ahead of its
    /// durable cursor by at most a second).
    pub evaluated_seq: AtomicU64,
    /// Actions taken, by (kind, ok).
    actions: Mutex<BTreeMap<(&'static str, bool), u64>>,
}

impl PolicyMetrics {
    /// Counts one action of `kind` taken, successfully or not.
    pub(crate) fn action_taken(&self, kind: &'static str, ok: bool) {
        let mut map = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry((kind, ok)).or_default() += 1;
    }
}

/// Renders the policy families for the policies in `policies`; `last_seq`
/// is the store's last committed sequence number.
pub(crate) fn render<'a>(
    out: &mut String,
    policies: impl Iterator<Item = (&'a String, &'a PolicyMetrics)> + Clone,
    last_seq: u64,
) {
    let name = "netaudit_policy_firings_total";
    prometheus::header(
        out,
        name,
        "counter",
        "Derived events (NETAUDIT_POLICY_TRIGGERED) a policy stored.",
    );
    for (policy, m) in policies.clone() {
        prometheus::sample(out, name, &[("policy", policy)], m.firings.load(Relaxed));
    }
    let name = "netaudit_policy_actions_total";
    prometheus::header(
        out,
        name,
        "counter",
        "Actions a policy took, by kind and result (ok, failed); each is also a NETAUDIT_POLICY_ACTION event.",
    );
    for (policy, m) in policies.clone() {
        let actions = m.actions.lock().unwrap_or_else(PoisonError::into_inner);
        for ((kind, ok), count) in actions.iter() {
            let result = if *ok { "ok" } else { "failed" };
            let labels = [
                ("policy", policy.as_str()),
                ("action", kind),
                ("result", result),
            ];
            prometheus::sample(out, name, &labels, count);
        }
    }
    let name = "netaudit_policy_lag_events";
    prometheus::header(
        out,
        name,
        "gauge",
        "Committed events a policy has not evaluated yet.",
    );
    for (policy, m) in policies {
        let lag = last_seq.saturating_sub(m.evaluated_seq.load(Relaxed));
        prometheus::sample(out, name, &[("policy", policy)], lag);
    }
}
