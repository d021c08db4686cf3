//! Outputs on a PostgreSQL store: each output runs on one node of the
//! cluster at a time, the one holding its lease (`netaudit_pgstore::OutputLease`,
//! docs/cluster.md).
//!
//! ```text
//! wait for the lease (poll) --> run the output (pg_source reads, cursors fenced by the lease)
//!        ^                         | renewed every third of the time to live;
//!        +---- lease lost ---------+ lost (taken over, or not renewed in time): stopped at once
//! ```
//!
//! A node that does not own an output polls for its lease; when the owner
//! dies, its lease expires after `store.output_lease_secs` and the next
//! poll takes it: the take-over bound is the time to live plus the poll
//! interval. The owner stops writing the moment it learns the lease is
//! lost, and also when it could not renew for a whole time to live (the
//! database away: another node may have taken the output meanwhile).

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use netaudit_pgstore::{Acquire, OutputLease, PgStoreError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::OutputMetrics;
use crate::output::cluster::ClusterOutputs;
use crate::output::consumer::sleep_or_cancel;
use crate::output::pg_source::OwnedOutput;

/// Runs `output` whenever this node owns it, until `cancel`: waits for the
/// lease named `lease_name`, runs the output with a token cancelled when the
/// lease is lost, and waits for the lease again. At `cancel` the lease is
/// released, so another node takes the output at once.
pub(crate) async fn run_owned<F, Fut>(
    lease_name: String,
    cluster: Arc<ClusterOutputs>,
    metrics: Arc<OutputMetrics>,
    cancel: CancellationToken,
    output: F,
) where
    F: Fn(Arc<OwnedOutput>, CancellationToken) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let Some(lease) = acquire(&lease_name, &cluster, &cancel).await else {
            return;
        };
        metrics.lease_owned.store(1, Relaxed);
        metrics
            .lease_generation
            .store(u64::try_from(lease.generation()).unwrap_or(0), Relaxed);
        match lease.previous_holder() {
            Some(previous) => {
                metrics.takeovers.fetch_add(1, Relaxed);
                tracing::warn!(output = %lease_name, from = %previous, generation = lease.generation(), "took the output over; resuming from its cursors");
            }
            None => {
                tracing::info!(output = %lease_name, generation = lease.generation(), "this node owns the output")
            }
        }
        let lost = cancel.child_token();
        let owned = Arc::new(OwnedOutput {
            spec: cluster.spec.clone(),
            ttl: cluster.ttl,
            lease: Arc::new(Mutex::new(Some(lease))),
            lost: lost.clone(),
        });
        let renewer = tokio::spawn(renew(owned.clone(), lease_name.clone()));
        output(owned.clone(), lost.clone()).await;
        lost.cancel();
        let _ = renewer.await;
        metrics.lease_owned.store(0, Relaxed);
        let release = cancel.is_cancelled();
        let slot = owned.lease.clone();
        let handed = tokio::task::spawn_blocking(move || {
            let lease = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            match lease {
                Some(lease) if release => lease.release(),
                // Dropped here, off the async threads (the client closes).
                _ => Ok(()),
            }
        })
        .await;
        if let Ok(Err(error)) = handed {
            tracing::warn!(output = %lease_name, %error, "cannot release the output's lease; it expires by itself");
        }
        if cancel.is_cancelled() {
            return;
        }
        tracing::warn!(output = %lease_name, "this node no longer owns the output; waiting for its lease");
    }
}

/// Tries the lease every poll interval until this node has it (`None`
/// when cancelled first).
async fn acquire(
    lease_name: &str,
    cluster: &ClusterOutputs,
    cancel: &CancellationToken,
) -> Option<OutputLease> {
    let mut reported: Option<String> = None;
    loop {
        let (spec, name, node, ttl) = (
            cluster.spec.clone(),
            lease_name.to_string(),
            cluster.node.clone(),
            cluster.ttl,
        );
        let attempt =
            tokio::task::spawn_blocking(move || OutputLease::try_acquire(&spec, &name, &node, ttl))
                .await;
        match attempt {
            Ok(Ok(Acquire::Acquired(lease))) => return Some(*lease),
            Ok(Ok(Acquire::Held(holder))) => {
                if reported.as_deref() != Some(holder.node_id.as_str()) {
                    tracing::info!(output = %lease_name, owner = %holder.node_id, expires_in_ms = holder.expires_in.as_millis() as u64, "another node owns the output; waiting for its lease");
                    reported = Some(holder.node_id);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                if reported.as_deref() != Some("") {
                    tracing::warn!(output = %lease_name, %error, "cannot try the output's lease; trying again");
                    reported = Some(String::new());
                }
            }
            Err(error) => tracing::error!(output = %lease_name, %error, "lease task failed"),
        }
        if !sleep_or_cancel(cluster.poll_interval(), cancel).await {
            return None;
        }
    }
}

/// Renews the lease every third of its time to live until `owned.lost`;
/// cancels it when the lease is lost, or when no renewal succeeded for a
/// whole time to live (another node may own the output by now).
async fn renew(owned: Arc<OwnedOutput>, lease_name: String) {
    let every = owned.ttl / 3;
    let mut valid_until = Instant::now() + owned.ttl;
    loop {
        if !sleep_or_cancel(every, &owned.lost).await {
            return;
        }
        let started = Instant::now();
        let slot = owned.lease.clone();
        let renewal = tokio::task::spawn_blocking(move || {
            match slot.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
                Some(lease) => lease.renew(),
                None => Ok(()),
            }
        });
        let outcome = tokio::select! {
            _ = owned.lost.cancelled() => return,
            _ = tokio::time::sleep_until(valid_until) => None,
            outcome = renewal => Some(outcome),
        };
        match outcome {
            Some(Ok(Ok(()))) => valid_until = started + owned.ttl,
            Some(Ok(Err(error @ PgStoreError::LeaseLost { .. }))) => {
                tracing::warn!(output = %lease_name, %error, "the output's lease was lost; stopping it");
                owned.lost.cancel();
                return;
            }
            Some(Ok(Err(error))) => {
                tracing::warn!(output = %lease_name, %error, "cannot renew the output's lease");
            }
            Some(Err(error)) => tracing::error!(output = %lease_name, %error, "lease task failed"),
            None => {}
        }
        if Instant::now() + every >= valid_until {
            tracing::warn!(output = %lease_name, "the output's lease could not be renewed within its time to live; stopping it");
            owned.lost.cancel();
            return;
        }
    }
}
