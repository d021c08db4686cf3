//! Where events came from, as far as the pipeline carries it: each chunk
//! names its origin (a listener, the API, netaudit itself), each batch
//! keeps the runs of origins of its events, so that a shutdown that has to
//! give up on a failing store can say how many events of which origin were
//! not stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;

/// The name of an origin, as the shutdown report shows it.
pub(crate) type Origin = Arc<str>;

/// Events submitted through the HTTP API.
pub(crate) const API_ORIGIN: &str = "api";
/// netaudit's own events (alerts of the outputs, reload audit, damage).
pub(crate) const INTERNAL_ORIGIN: &str = "internal";

/// The origin of a listener's events: `listener <name>`.
pub(crate) fn listener_origin(name: &str) -> Origin {
    Arc::from(format!("listener {name}"))
}

/// The origin of the events collected from a `[[input.netconf]]` device.
pub(crate) fn netconf_origin(device: &str) -> Origin {
    Arc::from(format!("netconf {device}"))
}

/// What travels on the pipeline channel: events of one origin.
pub(crate) struct Chunk {
    pub origin: Origin,
    pub events: Vec<RawBackedEvent>,
}

impl Chunk {
    /// netaudit's own events.
    pub(crate) fn internal(events: Vec<RawBackedEvent>) -> Chunk {
        Chunk {
            origin: Arc::from(INTERNAL_ORIGIN),
            events,
        }
    }
}

/// Passes the untagged chunks of netaudit's own senders (the outputs'
/// alerts) onto the pipeline channel as internal ones, until every sender
/// of `untagged` is gone or the pipeline has closed.
pub(crate) async fn forward_internal(
    mut untagged: mpsc::Receiver<Vec<RawBackedEvent>>,
    pipeline: mpsc::Sender<Chunk>,
) {
    while let Some(events) = untagged.recv().await {
        if pipeline.send(Chunk::internal(events)).await.is_err() {
            return;
        }
    }
}

/// The origins of a batch's events, in order: runs of (origin, count).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct OriginRuns(Vec<(Origin, usize)>);

impl OriginRuns {
    /// One run.
    pub(crate) fn of(origin: Origin, count: usize) -> OriginRuns {
        let mut runs = OriginRuns::default();
        runs.push(origin, count);
        runs
    }

    /// `count` more events from `origin`, after the others.
    pub(crate) fn push(&mut self, origin: Origin, count: usize) {
        if count == 0 {
            return;
        }
        match self.0.last_mut() {
            Some((last, n)) if *last == origin => *n += count,
            _ => self.0.push((origin, count)),
        }
    }

    /// Appends `other`'s runs after these.
    pub(crate) fn append(&mut self, other: &mut OriginRuns) {
        for (origin, count) in other.0.drain(..) {
            self.push(origin, count);
        }
    }

    /// Keeps the first `at` events' runs and returns the rest's.
    pub(crate) fn split_off(&mut self, at: usize) -> OriginRuns {
        let mut kept = 0;
        let mut rest = OriginRuns::default();
        let mut runs = std::mem::take(&mut self.0).into_iter();
        for (origin, count) in runs.by_ref() {
            if kept + count <= at {
                kept += count;
                self.0.push((origin, count));
                continue;
            }
            let here = at - kept;
            self.push(origin.clone(), here);
            rest.push(origin, count - here);
            break;
        }
        for (origin, count) in runs {
            rest.push(origin, count);
        }
        rest
    }

    /// Adds these runs to `counts`, by origin.
    pub(crate) fn add_to(&self, counts: &mut BTreeMap<Origin, u64>) {
        for (origin, count) in &self.0 {
            *counts.entry(origin.clone()).or_default() += *count as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(runs: &OriginRuns) -> usize {
        runs.0.iter().map(|(_, n)| n).sum()
    }

    fn o(name: &str) -> Origin {
        Arc::from(name)
    }

    #[test]
    fn runs_merge_and_split_at_any_event() {
        let mut runs = OriginRuns::default();
        runs.push(o("a"), 3);
        runs.push(o("a"), 2);
        runs.push(o("b"), 0);
        runs.push(o("b"), 4);
        runs.push(o("a"), 1);
        assert_eq!(runs.0, vec![(o("a"), 5), (o("b"), 4), (o("a"), 1)]);
        for at in 0..=total(&runs) {
            let mut head = runs.clone();
            let tail = head.split_off(at);
            assert_eq!(total(&head), at);
            assert_eq!(total(&tail), total(&runs) - at);
            let mut whole = head.clone();
            whole.append(&mut tail.clone());
            assert_eq!(whole, runs, "split at {at}");
        }
        let mut counts = BTreeMap::new();
        runs.add_to(&mut counts);
        assert_eq!(counts.get("a"), Some(&6));
        assert_eq!(counts.get("b"), Some(&4));
    }
}
