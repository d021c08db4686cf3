//! The outputs of a PostgreSQL node (a cluster member): where the
//! database is, which node this is, the outputs' lease time to live
//! (`store.output_lease_secs`), and the commit wake-ups: commit
//! notifications of every node (`netaudit_pgstore::CommitListener`, on a
//! thread of its own) bump one signal the outputs wait on; they still look
//! every half second, so a missed notification costs at most that.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use netaudit_pgstore::{CommitListener, ConnectionSpec, Wake};

use crate::commit_signal::CommitSignal;

/// The cluster's outputs on this node: where the database is, who this
/// node is, the lease's time to live, and the commit wake-ups.
pub(crate) struct ClusterOutputs {
    pub spec: ConnectionSpec,
    pub node: String,
    pub ttl: Duration,
    /// Bumped at every commit of any node (its `last_seq` counts them).
    pub commits: Arc<CommitSignal>,
    stop: Arc<AtomicBool>,
}

impl ClusterOutputs {
    /// Starts listening for commits (a thread of its own, which ends
    /// within a second of this being dropped).
    pub(crate) fn start(spec: ConnectionSpec, node: String, ttl: Duration) -> Arc<ClusterOutputs> {
        let commits = Arc::new(CommitSignal::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (listen_spec, listen_commits, listen_stop) =
            (spec.clone(), commits.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("netaudit-pg-commits".into())
            .spawn(move || listen(&listen_spec, &listen_commits, &listen_stop));
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the commit listener; outputs poll every half second");
        }
        Arc::new(ClusterOutputs {
            spec,
            node,
            ttl,
            commits,
            stop,
        })
    }

    /// How often a node that does not own an output tries its lease.
    pub(crate) fn poll_interval(&self) -> Duration {
        (self.ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
    }
}

impl Drop for ClusterOutputs {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

/// Publishes every commit notification (and a reconnection, which may
/// have missed some) as a bump of `commits`.
fn listen(spec: &ConnectionSpec, commits: &CommitSignal, stop: &AtomicBool) {
    let wakes = AtomicU64::new(0);
    let mut listener: Option<CommitListener> = None;
    let mut failing = false;
    while !stop.load(Relaxed) {
        let current = match listener.as_mut() {
            Some(current) => current,
            None => match CommitListener::open(spec) {
                Ok(opened) => {
                    failing = false;
                    listener.insert(opened)
                }
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "cannot listen for commits; outputs poll every half second meanwhile");
                        failing = true;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
        };
        match current.wait(Duration::from_secs(1)) {
            Ok(Wake::Timeout) => {}
            Ok(_) => commits.publish(wakes.fetch_add(1, Relaxed) + 1),
            Err(_) => listener = None,
        }
    }
    // The blocking client closes its connection here, off the async threads.
    drop(listener);
}
