//! One call-home device's task: it takes the connections the listener
//! identified as this device (host key accepted) and runs the collector's
//! session on each, one at a time. A device that connects again replaces
//! its running session (the old one is closed and its end recorded first).

use std::net::SocketAddr;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::collector::{open_session, DeviceCollector, StopReason, Transport};
use super::ssh::{Attempt, DeviceHandler};

/// Why a session ends when the same device connects again.
const REPLACED: &str = "replaced by a new connection from the device";

/// A connection the listener identified as this device.
pub(crate) struct Accepted {
    pub peer: SocketAddr,
    /// The SSH connection, its host key accepted.
    pub ssh: russh::client::Handle<DeviceHandler>,
    /// What the handshake saw (the host key's fingerprint).
    pub attempt: Attempt,
    /// Counts the connection against `max_pending` until its session is
    /// established or has failed.
    pub permit: OwnedSemaphorePermit,
}

/// The running session of the device, if any.
struct Running {
    cancel: CancellationToken,
    reason: Arc<StopReason>,
    task: JoinHandle<Option<OffsetDateTime>>,
}

/// Runs until `cancel` or the listener goes away.
pub(crate) async fn run(
    collector: Arc<DeviceCollector>,
    mut incoming: mpsc::Receiver<Accepted>,
    cancel: CancellationToken,
) {
    let mut last_line: Option<OffsetDateTime> = None;
    let mut running: Option<Running> = None;
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => None,
            next = incoming.recv() => next,
        };
        if let Some(old) = running.take() {
            if next.is_some() {
                let _ = old.reason.set(REPLACED);
            }
            old.cancel.cancel();
            if let Ok(Some(at)) = old.task.await {
                last_line = Some(at);
            }
        }
        let Some(accepted) = next else { return };
        let session_cancel = cancel.child_token();
        let reason = Arc::new(StopReason::new());
        let task = tokio::spawn(session(
            collector.clone(),
            accepted,
            session_cancel.clone(),
            reason.clone(),
            last_line,
        ));
        running = Some(Running {
            cancel: session_cancel,
            reason,
            task,
        });
    }
}

/// One session over an accepted connection; the time of its last line.
async fn session(
    collector: Arc<DeviceCollector>,
    accepted: Accepted,
    cancel: CancellationToken,
    reason: Arc<StopReason>,
    mut last_line: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    let Accepted {
        peer,
        ssh,
        attempt,
        permit,
    } = accepted;
    let peer = peer.to_string();
    let opened = tokio::select! {
        _ = cancel.cancelled() => return last_line,
        opened = open_session(&collector.device, &attempt, Transport::Accepted(ssh), last_line) => opened,
    };
    drop(permit);
    match opened {
        Err(err) => collector.attempt_failed(&err, &peer, &attempt).await,
        Ok(open) => {
            collector
                .stream(open, &peer, &cancel, &reason, &mut last_line)
                .await;
        }
    }
    last_line
}
