//! The `forward` action. The engine has already routed the derived event
//! to the named outputs (its `forward-to` parameters, `output/route.rs`),
//! and those outputs send it from the store like any event, at least once,
//! across outages and restarts. What the action adds is the record: it
//! waits until every named output's durable cursor has passed the derived
//! event (it was delivered), or records which output had not within the
//! timeout (the event stays queued in the store and is still delivered
//! when the output recovers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use netaudit_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::ForwardTarget;
use crate::output::consumer::{sleep_or_cancel, OutputKind};

const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);

/// The durable cursor of the output `target` names.
fn cursor_name(target: &ForwardTarget) -> String {
    let kind = if target.file {
        OutputKind::File
    } else {
        OutputKind::Syslog
    };
    kind.cursor_name(&target.name)
}

/// Waits until every output of `targets` has delivered the event `seq`;
/// returns whether they all did within `timeout`, and what happened.
/// `None` when cancelled.
pub(crate) async fn confirm(
    store: &Arc<Store>,
    targets: &[ForwardTarget],
    seq: u64,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Option<(bool, String)> {
    let names: Vec<String> = targets.iter().map(cursor_name).collect();
    let deadline = Instant::now() + timeout;
    let mut poll = FIRST_POLL;
    loop {
        let reader = store.clone();
        let behind = match tokio::task::spawn_blocking(move || reader.cursors()).await {
            Ok(Ok(cursors)) => {
                let at = |name: &str| {
                    cursors
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or(0, |(_, seq)| *seq)
                };
                names
                    .iter()
                    .filter(|name| at(name) < seq)
                    .map(|name| format!("{name} (cursor at {})", at(name)))
                    .collect::<Vec<_>>()
            }
            Ok(Err(err)) => vec![format!("the cursors cannot be read: {err}")],
            Err(err) => vec![format!("the cursors cannot be read: {err}")],
        };
        if behind.is_empty() {
            return Some((true, format!("delivered by {}", names.join(", "))));
        }
        let now = Instant::now();
        if now >= deadline {
            return Some((
                false,
                format!(
                    "not delivered within {} s by {}; it stays queued in the store for them",
                    timeout.as_secs(),
                    behind.join(", ")
                ),
            ));
        }
        if !sleep_or_cancel(poll.min(deadline - now), cancel).await {
            return None;
        }
        poll = (poll * 2).min(MAX_POLL);
    }
}
