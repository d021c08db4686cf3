//! Waking consumers on commit: a session that LISTENs on
//! [`EVENTS_CHANNEL`], which every node's batch notifies in its
//! transaction (PostgreSQL delivers a notification only once its
//! transaction has committed, to every session listening, on any node).
//! Notifications sent while the session was lost are not replayed, so a
//! reconnection is reported as a wake of its own: read again from the
//! cursor.

use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

use crate::batch_write::EVENTS_CHANNEL;
use crate::connection::ConnectionSpec;
use crate::error::Result;
use crate::reconnect::{is_session_lost, reconnect, ReconnectPolicy};
use crate::schema::query_error;

/// Why [`CommitListener::wait`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wake {
    /// A node committed a batch ending at `last_seq`.
    Commit {
        /// The node.
        node_id: String,
        /// The batch's last sequence number.
        last_seq: u64,
    },
    /// The session was lost and opened again: commits may have been missed.
    Reconnected,
    /// Nothing within the timeout.
    Timeout,
}

/// A session listening for commits.
pub struct CommitListener {
    spec: ConnectionSpec,
    client: Option<Client>,
    policy: ReconnectPolicy,
}

impl CommitListener {
    /// Connects and listens.
    pub fn open(spec: &ConnectionSpec) -> Result<CommitListener> {
        let mut client = spec.connect()?;
        listen(&mut client, spec.target())?;
        Ok(CommitListener {
            spec: spec.clone(),
            client: Some(client),
            policy: ReconnectPolicy::default(),
        })
    }

    /// How the session reconnects (default [`ReconnectPolicy::default`]).
    pub fn with_reconnect(mut self, policy: ReconnectPolicy) -> CommitListener {
        self.policy = policy;
        self
    }

    /// Waits up to `timeout` for the next commit (one already received is
    /// returned at once).
    pub fn wait(&mut self, timeout: Duration) -> Result<Wake> {
        let deadline = Instant::now() + timeout;
        loop {
            let Some(client) = self.client.as_mut() else {
                let target = self.spec.target().to_string();
                let (client, _) = reconnect(&self.spec, &self.policy, |c| {
                    listen(c, &target)?;
                    Ok(true)
                })?;
                self.client = Some(client);
                return Ok(Wake::Reconnected);
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let next = client.notifications().timeout_iter(left).next();
            match next {
                Ok(None) => return Ok(Wake::Timeout),
                Ok(Some(n)) => {
                    if let Some(wake) = parse_payload(n.payload()) {
                        return Ok(wake);
                    }
                    // Not one of ours: keep waiting.
                }
                Err(e) if is_session_lost(&e) => self.client = None,
                Err(e) => {
                    return Err(query_error(
                        self.spec.target(),
                        "wait for a notification",
                        &e,
                    ))
                }
            }
        }
    }
}

fn listen(client: &mut Client, target: &str) -> Result<()> {
    client
        .batch_execute(&format!("LISTEN {EVENTS_CHANNEL}"))
        .map_err(|e| query_error(target, "listen for commits", &e))
}

/// `node_id last_seq`, as [`crate::NodeWriter`] sends it.
fn parse_payload(payload: &str) -> Option<Wake> {
    let (node, seq) = payload.split_once(' ')?;
    Some(Wake::Commit {
        node_id: node.to_string(),
        last_seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(
            parse_payload("n1 42"),
            Some(Wake::Commit {
                node_id: "n1".into(),
                last_seq: 42
            })
        );
        for bad in ["", "n1", "n1 x", "n1 -1"] {
            assert_eq!(parse_payload(bad), None, "{bad}");
        }
    }
}
