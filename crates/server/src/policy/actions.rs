//! A policy's actions as a store consumer of its own (cursor
//! `policy-action:<name>`): it reads the policy's derived events, takes
//! every action for each, stores one `NETAUDIT_POLICY_ACTION` event per
//! action taken, and moves its cursor once those are committed. A slow
//! webhook or program therefore never holds up evaluation or ingest, and
//! after a crash the actions of a derived event whose records were not yet
//! committed are taken again (at least once). `forward` is the one action
//! the outputs carry out: it only waits for them to confirm (`forward.rs`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use netaudit_event::Event;
use netaudit_store::{Query, StoredEvent};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::context::PolicyContext;
use super::derived::{self, TRIGGERED_CODE};
use super::engine::open_consumer;
use super::{exec, forward, webhook};
use crate::config::{ActionConfig, PolicyConfig};
use crate::display::json_of;
use crate::output::consumer::{sleep_or_cancel, OutputKind};

/// Derived events handled per step.
const CHUNK: usize = 100;
const READ_RETRY: Duration = Duration::from_secs(1);
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Without actions taken, the cursor is moved at most this often.
const PERSIST_EVERY: Duration = Duration::from_secs(1);

/// Runs the actions of `policy` until `cancel` fires.
pub(crate) async fn run(policy: PolicyConfig, ctx: PolicyContext, cancel: CancellationToken) {
    let Some(mut consumer) =
        open_consumer(OutputKind::PolicyAction, &policy.name, &ctx, &cancel).await
    else {
        return;
    };
    let metrics = ctx.metrics.policy(&policy.name);
    let limits: Vec<Arc<Semaphore>> = policy
        .actions
        .iter()
        .map(|action| match action {
            ActionConfig::Exec { max_concurrent, .. } => Arc::new(Semaphore::new(*max_concurrent)),
            _ => Arc::new(Semaphore::new(1)),
        })
        .collect();
    let mut persisted = std::time::Instant::now();
    // Looked at up to here; the durable cursor follows (see below).
    let mut position = consumer.cursor();
    while !cancel.is_cancelled() {
        let cursor = position;
        // Read before the query: everything up to here is visible to it, so
        // moving the cursor this far skips no derived event.
        let visible = consumer.store_last_seq();
        let page = match consumer
            .query(Query {
                code: Some(TRIGGERED_CODE.into()),
                after_seq: Some(cursor),
                limit: CHUNK,
                ..Query::default()
            })
            .await
        {
            Ok(page) => page,
            Err(err) => {
                tracing::error!(policy = %policy.name, error = %err, "policy actions: store read failed; retrying");
                if !sleep_or_cancel(READ_RETRY, &cancel).await {
                    return;
                }
                continue;
            }
        };
        let mine: Vec<&StoredEvent> = page
            .events
            .iter()
            .filter(|e| derived::key_of(&e.event, &policy.name).is_some())
            .collect();
        let handled = mine.len();
        let mut records = Vec::new();
        for stored in mine {
            let Some(taken) = take_all(&policy, &ctx, &limits, stored, &cancel).await else {
                return;
            };
            for (kind, ok, record) in taken {
                metrics.action_taken(kind, ok);
                records.push(record);
            }
        }
        if !ctx.commit(records, &cancel).await {
            return;
        }
        // Past every derived event read; with the last page, past
        // everything that was visible to the query too.
        let read = page.events.last().map_or(cursor, |last| last.seq);
        let to = if page.next.is_some() {
            read
        } else {
            read.max(visible)
        };
        position = to;
        // A cursor write when actions were taken, else at most once a
        // second (what lies between holds no derived event of this policy).
        if handled > 0 || persisted.elapsed() >= PERSIST_EVERY {
            persisted = std::time::Instant::now();
            if let Err(err) = consumer.advance(to).await {
                tracing::error!(policy = %policy.name, error = %err, "policy actions: cursor not moved");
                position = consumer.cursor();
            }
        }
        if page.next.is_none() && !consumer.wait_for_events(position, IDLE_WAIT, &cancel).await {
            let _ = consumer.advance(position).await;
            return;
        }
    }
    let _ = consumer.advance(position).await;
}

/// Takes every action of `policy` for one derived event, concurrently;
/// returns each one's kind, success and record (`None` when cancelled).
async fn take_all(
    policy: &PolicyConfig,
    ctx: &PolicyContext,
    limits: &[Arc<Semaphore>],
    stored: &StoredEvent,
    cancel: &CancellationToken,
) -> Option<Vec<(&'static str, bool, Event)>> {
    let body = Bytes::from(json_of(stored).to_string());
    let tasks = policy.actions.iter().zip(limits).map(|(action, limit)| {
        let body = body.clone();
        async move {
            let _permit = limit.acquire().await.ok()?;
            let (ok, outcome) = take(policy, ctx, action, stored, body, cancel).await?;
            let record = derived::action(&policy.name, action.kind(), stored.seq, ok, &outcome);
            Some((action.kind(), ok, record))
        }
    });
    let records = futures::future::join_all(tasks).await;
    records.into_iter().collect()
}

async fn take(
    policy: &PolicyConfig,
    ctx: &PolicyContext,
    action: &ActionConfig,
    stored: &StoredEvent,
    body: Bytes,
    cancel: &CancellationToken,
) -> Option<(bool, String)> {
    match action {
        ActionConfig::Exec {
            program,
            args,
            timeout,
            ..
        } => Some(exec::run(program, args, &body, *timeout).await),
        ActionConfig::Webhook {
            url,
            secret_file,
            ca_file,
            timeout,
            max_attempts,
        } => {
            let secret = match tokio::fs::read(secret_file).await {
                Ok(secret) => secret,
                Err(err) => {
                    return Some((
                        false,
                        format!("cannot read {}: {err}", secret_file.display()),
                    ))
                }
            };
            let secret = secret.trim_ascii_end();
            let delivery_id = format!("{}:{}", policy.name, stored.seq);
            let delivery = webhook::Delivery {
                url,
                secret,
                delivery_id: &delivery_id,
                ca_file: ca_file.as_deref(),
                body,
                timeout: *timeout,
                max_attempts: *max_attempts,
            };
            webhook::deliver(&delivery, cancel).await
        }
        ActionConfig::LockUser { user_field } => {
            Some(lock_user(ctx, user_field, &stored.event).await)
        }
        ActionConfig::Forward { outputs, timeout } => {
            forward::confirm(&ctx.store, outputs, stored.seq, *timeout, cancel).await
        }
    }
}

async fn lock_user(ctx: &PolicyContext, field: &str, event: &Event) -> (bool, String) {
    let Some(auth) = ctx.auth.clone() else {
        return (false, "no user database".into());
    };
    let Some(name) = event.param(field).map(str::to_owned) else {
        return (false, format!("the derived event has no {field:?}"));
    };
    let locked = tokio::task::spawn_blocking({
        let name = name.clone();
        move || auth.set_locked(&name, true)
    })
    .await;
    match locked {
        Ok(Ok(())) => (true, format!("netaudit user {name} locked")),
        Ok(Err(err)) => (false, format!("cannot lock netaudit user {name}: {err}")),
        Err(err) => (false, format!("cannot lock netaudit user {name}: {err}")),
    }
}
