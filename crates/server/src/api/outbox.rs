//! Audit events queued in the auth database's outbox by `netaudit user`
//! (see `crate::auth`), moved into the store by the running server.

use std::sync::Arc;
use std::time::Duration;

use netaudit_event::Event;

use super::error::ApiError;
use super::state::ApiState;

/// How often the server looks for audit events queued by `netaudit user`.
pub(super) const OUTBOX_POLL: Duration = Duration::from_secs(2);

/// Moves queued audit events into the store: at start, then every
/// [`OUTBOX_POLL`], until `cancel`. A row leaves the outbox only after its
/// event has committed; a crash between the two stores it twice (at least
/// once, never lost).
pub(crate) async fn drain_outbox(
    state: Arc<ApiState>,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        match drain_outbox_once(&state).await {
            Ok(0) => {}
            Ok(moved) => tracing::info!(events = moved, "audit events of `netaudit user` stored"),
            Err(err) => {
                tracing::warn!(error = %err, "cannot move queued audit events into the store; retrying")
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(OUTBOX_POLL) => {}
        }
    }
}

async fn drain_outbox_once(state: &Arc<ApiState>) -> Result<usize, ApiError> {
    let local = drain_local_outbox(state).await?;
    Ok(local + drain_shared_outbox(state).await?)
}

/// On a PostgreSQL store, the events of `netaudit user --store` queued in
/// the database: taken by one node at a time, removed once in its chain
/// (taken again by another node if this one dies meanwhile).
async fn drain_shared_outbox(state: &Arc<ApiState>) -> Result<usize, ApiError> {
    if state.auth.shared().is_none() {
        return Ok(0);
    }
    let rows = state.db(|auth| auth.claim_shared_outbox(1000)).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let (ids, events): (Vec<i64>, Vec<Event>) = rows.into_iter().unzip();
    let moved = events.len();
    state.commit(events).await?;
    state
        .db(move |auth| auth.remove_from_shared_outbox(&ids))
        .await?;
    Ok(moved)
}

async fn drain_local_outbox(state: &Arc<ApiState>) -> Result<usize, ApiError> {
    let rows = state.db(|auth| auth.outbox(1000)).await?;
    let Some(&(last_id, _)) = rows.last() else {
        return Ok(0);
    };
    let events: Vec<Event> = rows.into_iter().map(|(_, event)| event).collect();
    let moved = events.len();
    state.commit(events).await?;
    state
        .db(move |auth| auth.remove_from_outbox(last_id))
        .await?;
    Ok(moved)
}
