//! One policy's evaluation as a store consumer (cursor `policy:<name>`).
//!
//! Start ([`prepare`]): a policy never seen before starts at the end of the
//! store. Then its state is rebuilt: the events of its horizon (the window,
//! or how long an absent host is remembered) up to the cursor are replayed
//! without firing, and the derived events it stored after the start of that
//! replay are read, so that a firing already stored (before a crash moved
//! the cursor past its events) is not stored again. Live (`group.rs`, one
//! task for all policies): each chunk read after the cursor is evaluated
//! ([`Run::evaluate`]), the derived events stored and committed, then the
//! position moves ([`Run::evaluated`]). Absences are checked once the policy
//! has read everything stored ([`Run::tick`]).

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netaudit_event::Event;
use netaudit_store::{Order, Query, StoredEvent};
use tokio_util::sync::CancellationToken;

use super::context::PolicyContext;
use super::correlation::Evaluator;
use super::derived::{self, TRIGGERED_CODE};
use crate::clock::now_ns;
use crate::config::PolicyConfig;
use crate::metrics::PolicyMetrics;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, StoreOpError, CHUNK_EVENTS};
use crate::self_events::is_policy_engine_event;

/// The durable cursor is moved at most this often.
const PERSIST_EVERY: Duration = Duration::from_secs(1);
/// Wait after a failed store read.
const READ_RETRY: Duration = Duration::from_secs(1);

/// Opens the consumer of `kind` for `policy`. The first time a policy
/// runs, both its cursors (evaluation and actions) are created at the end
/// of the store, so that the actions start where the evaluation did (an
/// actions cursor created later starts at the evaluation cursor). Retried
/// until the store answers.
pub(crate) async fn open_consumer(
    kind: OutputKind,
    policy: &str,
    ctx: &PolicyContext,
    cancel: &CancellationToken,
) -> Option<Consumer> {
    let cursor = kind.cursor_name(policy);
    let metrics = ctx.metrics.output(&cursor);
    let both = cursor_names(policy);
    loop {
        let store = ctx.store.clone();
        let names = both.clone();
        let created = tokio::task::spawn_blocking(move || create_cursors(&store, &names)).await;
        let opened = match created {
            Ok(Ok(())) => {
                Consumer::try_open(
                    kind,
                    policy,
                    ctx.store.clone(),
                    Some(ctx.metrics.committed.clone()),
                    metrics.clone(),
                )
                .await
            }
            Ok(Err(err)) => {
                tracing::error!(cursor = %cursor, error = %err, "policy: cannot create its cursor; retrying");
                Err(StoreOpError::CursorMoved {
                    cursor: cursor.clone(),
                    expected: 0,
                    found: 0,
                })
            }
            Err(source) => Err(StoreOpError::Task {
                cursor: cursor.clone(),
                source,
            }),
        };
        match opened {
            Ok(consumer) => return Some(consumer),
            Err(err) => {
                tracing::error!(cursor = %cursor, error = %err, "policy: cannot open its cursor; retrying");
                metrics.errors.fetch_add(1, Relaxed);
            }
        }
        if !sleep_or_cancel(READ_RETRY, cancel).await {
            return None;
        }
    }
}

/// Creates the cursors in `names` (evaluation first, then actions) that do
/// not exist yet: at the evaluation cursor when that exists, else at the
/// end of the store.
pub(crate) fn create_cursors(
    store: &netaudit_store::Store,
    names: &[String; 2],
) -> Result<(), netaudit_store::StoreError> {
    let known = store.cursors()?;
    let position = |name: &str| known.iter().find(|(n, _)| n == name).map(|(_, seq)| *seq);
    // Actions added to a policy that ran without: from its evaluation on.
    let start = position(&names[0]).unwrap_or_else(|| store.last_seq());
    for name in names {
        if start > 0 && position(name).is_none() {
            store.advance_cursor(name, 0, start)?;
        }
    }
    Ok(())
}

/// The names of the two cursors of `policy`: evaluation, actions.
pub(crate) fn cursor_names(policy: &str) -> [String; 2] {
    [
        OutputKind::Policy.cursor_name(policy),
        OutputKind::PolicyAction.cursor_name(policy),
    ]
}

/// One policy's evaluation: its state, its durable cursor, how far it is.
pub(crate) struct Run {
    pub(crate) policy: PolicyConfig,
    consumer: Consumer,
    eval: Evaluator,
    /// Keys of firings already stored after the replay start.
    stored: HashSet<String>,
    /// Evaluated up to here; the durable cursor follows at most
    /// [`PERSIST_EVERY`] later (a restart evaluates the difference again,
    /// and the derived events it finds stored are not stored twice).
    pub(crate) position: u64,
    /// When the durable cursor was last moved.
    persisted: Instant,
    /// Firings and how far evaluation is, for /metrics.
    metrics: Arc<PolicyMetrics>,
    /// Fires when the policy is stopped (a reload, the end).
    pub(crate) cancel: CancellationToken,
}

/// Opens `policy`'s cursor and rebuilds its state from the store, retrying
/// until the store answers; `None` when `cancel` fires first.
pub(crate) async fn prepare(
    policy: PolicyConfig,
    ctx: PolicyContext,
    cancel: CancellationToken,
) -> Option<Run> {
    let consumer = open_consumer(OutputKind::Policy, &policy.name, &ctx, &cancel).await?;
    let eval = Evaluator::new(
        policy.matcher.clone(),
        policy.correlation.clone(),
        policy.max_per_minute,
    );
    let metrics = ctx.metrics.policy(&policy.name);
    let mut run = Run {
        metrics,
        policy,
        consumer,
        eval,
        stored: HashSet::new(),
        position: 0,
        persisted: Instant::now(),
        cancel: cancel.clone(),
    };
    loop {
        match run.rebuild().await {
            Ok(()) => break,
            Err(err) => {
                tracing::error!(policy = %run.policy.name, error = %err, "policy: cannot rebuild its state; retrying");
                if !sleep_or_cancel(READ_RETRY, &cancel).await {
                    return None;
                }
            }
        }
    }
    tracing::info!(policy = %run.policy.name, cursor = run.consumer.cursor(), "policy started");
    Some(run)
}

impl Run {
    async fn rebuild(&mut self) -> Result<(), StoreOpError> {
        self.eval = Evaluator::new(
            self.policy.matcher.clone(),
            self.policy.correlation.clone(),
            self.policy.max_per_minute,
        );
        self.stored.clear();
        let cursor = self.consumer.cursor();
        self.position = cursor;
        self.metrics.evaluated_seq.store(cursor, Relaxed);
        let horizon = self.policy.correlation.horizon_ns();
        let start = if horizon > 0 && cursor > 0 {
            self.replay_start(cursor, horizon).await?
        } else {
            cursor
        };
        // Replay (start, cursor]: state only; stored firings noted.
        let mut after = start;
        while after < cursor {
            let events = self.consumer.read_after(after, CHUNK_EVENTS).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                break;
            };
            for stored in events.iter().filter(|e| e.seq <= cursor) {
                self.note(stored);
                if !is_policy_engine_event(&stored.event) {
                    let _ = self.eval.observe(stored.seq, &stored.event);
                }
            }
            after = last;
        }
        // Derived events after the cursor: firings stored before a crash.
        let mut after = cursor;
        loop {
            let page = self
                .consumer
                .query(Query {
                    code: Some(TRIGGERED_CODE.into()),
                    after_seq: Some(after),
                    limit: CHUNK_EVENTS,
                    ..Query::default()
                })
                .await?;
            for stored in &page.events {
                self.note(stored);
            }
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        Ok(())
    }

    /// The first sequence number to replay from: walks back from the
    /// cursor until events were received more than `horizon` before it.
    async fn replay_start(&self, cursor: u64, horizon: i64) -> Result<u64, StoreOpError> {
        let mut before = cursor + 1;
        let mut reference: Option<i64> = None;
        loop {
            let page = self
                .consumer
                .query(Query {
                    before_seq: Some(before),
                    order: Order::Descending,
                    limit: CHUNK_EVENTS,
                    ..Query::default()
                })
                .await?;
            for stored in &page.events {
                let at = stored.event.received_ns;
                let reference = *reference.get_or_insert(at);
                if reference - at > horizon {
                    return Ok(stored.seq);
                }
            }
            match (page.next, page.events.last()) {
                (Some(next), Some(_)) => before = next,
                _ => return Ok(0),
            }
        }
    }

    fn note(&mut self, stored: &StoredEvent) {
        if let Some(key) = derived::key_of(&stored.event, &self.policy.name) {
            self.stored.insert(key.to_owned());
        }
    }

    /// Evaluates the events of `chunk` after the position (in order) and
    /// returns the derived events to store; the position does not move
    /// until [`Run::evaluated`] says they are committed. Pure CPU work, run
    /// on a blocking thread for all policies at once.
    pub(crate) fn evaluate(&mut self, chunk: &[StoredEvent]) -> Vec<Event> {
        let mut derived = Vec::new();
        for stored in chunk.iter().filter(|e| e.seq > self.position) {
            if is_policy_engine_event(&stored.event) {
                continue;
            }
            // The chunk is read with the parameters left in the raw bytes
            // (`policy/group.rs`): parsed only for an event whose parameters
            // the policy would look at; for any other the result is the same.
            let event = if self.eval.needs_params(&stored.event) {
                stored.with_params()
            } else {
                std::borrow::Cow::Borrowed(&stored.event)
            };
            if let Some(firing) = self.eval.observe(stored.seq, &event) {
                if !self.stored.remove(&firing.key) {
                    derived.push(self.derived_event(&firing));
                }
            }
        }
        derived
    }

    /// The derived events of [`Run::evaluate`] up to `last` are committed:
    /// counts them, moves the position, and the durable cursor when due.
    pub(crate) async fn evaluated(&mut self, last: u64, fired: usize) {
        if fired > 0 {
            self.metrics.firings.fetch_add(fired as u64, Relaxed);
            tracing::info!(policy = %self.policy.name, fired, "policy fired");
        }
        if last > self.position {
            self.position = last;
            self.metrics.evaluated_seq.store(last, Relaxed);
        }
        self.persist(false).await;
    }

    /// Silent hosts (absences) now, once everything stored is evaluated:
    /// the derived events to store (their commit then goes through
    /// [`Run::evaluated`] with the position unchanged).
    pub(crate) fn tick(&mut self) -> Vec<Event> {
        let mut silent = Vec::new();
        for firing in self.eval.tick(now_ns()) {
            if !self.stored.remove(&firing.key) {
                silent.push(self.derived_event(&firing));
            }
        }
        silent
    }

    /// Moves the durable cursor to the position, when [`PERSIST_EVERY`]
    /// has passed since the last move (or always, with `now`): one cursor
    /// write a second per policy, not one per chunk.
    pub(crate) async fn persist(&mut self, now: bool) {
        if self.position <= self.consumer.cursor()
            || !(now || self.persisted.elapsed() >= PERSIST_EVERY)
        {
            return;
        }
        self.persisted = Instant::now();
        if let Err(err) = self.consumer.advance(self.position).await {
            tracing::error!(policy = %self.policy.name, error = %err, "policy: cursor not moved; rebuilding from the store");
            let _ = self.rebuild().await;
        }
    }

    fn derived_event(&self, firing: &super::correlation::Firing) -> Event {
        let mut event = derived::triggered(
            &self.policy.name,
            self.policy.correlation.kind(),
            self.policy.severity,
            firing,
        );
        derived::route_to(&mut event, self.policy.forward_outputs());
        event
    }
}
