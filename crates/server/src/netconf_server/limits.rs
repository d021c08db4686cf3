//! Session limits: at most `max_sessions` NETCONF sessions in total and
//! `max_sessions_per_user` per user; a slot is held for as long as its
//! session runs and given back when it is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_user: HashMap<String, usize>,
}

/// The open sessions, counted.
#[derive(Debug, Clone)]
pub(crate) struct SessionLimits {
    max_total: usize,
    max_per_user: usize,
    counts: Arc<Mutex<Counts>>,
}

/// One session's place under the limits.
#[derive(Debug)]
pub(crate) struct SessionSlot {
    user: String,
    counts: Arc<Mutex<Counts>>,
}

impl SessionLimits {
    pub(crate) fn new(max_total: usize, max_per_user: usize) -> Self {
        SessionLimits {
            max_total,
            max_per_user,
            counts: Arc::default(),
        }
    }

    /// A slot for `user`, or why there is none.
    pub(crate) fn acquire(&self, user: &str) -> Result<SessionSlot, String> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(format!(
                "{} NETCONF sessions are open (netconf_server.max_sessions)",
                counts.total
            ));
        }
        let mine = counts.per_user.get(user).copied().unwrap_or(0);
        if mine >= self.max_per_user {
            return Err(format!(
                "user {user} has {mine} NETCONF sessions open (netconf_server.max_sessions_per_user)"
            ));
        }
        counts.total += 1;
        *counts.per_user.entry(user.to_string()).or_insert(0) += 1;
        Ok(SessionSlot {
            user: user.to_string(),
            counts: self.counts.clone(),
        })
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_user.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_and_total_limits_and_slots_given_back() {
        let limits = SessionLimits::new(3, 2);
        let a1 = limits.acquire("a").unwrap();
        let _a2 = limits.acquire("a").unwrap();
        let err = limits.acquire("a").unwrap_err();
        assert!(err.contains("max_sessions_per_user"), "{err}");
        let _b1 = limits.acquire("b").unwrap();
        let err = limits.acquire("c").unwrap_err();
        assert!(err.contains("netconf_server.max_sessions)"), "{err}");
        drop(a1);
        let _c1 = limits.acquire("c").unwrap();
    }
}
