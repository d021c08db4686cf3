//! One task evaluates the policies: it reads each chunk of new events from
//! the store once, evaluates it for every policy (on a blocking thread, the
//! policies split between the cores), stores all their derived events in
//! one acknowledged batch, then moves each policy's position (and, at most
//! once a second, its durable cursor). A hundred policies thus cost one
//! read and one decoding of each event, not a hundred, and none of them
//! falls behind a shared buffer. A policy that is behind the others (just
//! added, or restarted by a reload) makes the task read from its position;
//! the others skip what they have already evaluated. The chunk is read with
//! the SD parameters left in the raw bytes: each policy parses those of
//! the events its other tests let through (`Run::evaluate`).

use std::sync::Arc;
use std::time::Duration;

use netaudit_event::Event;
use netaudit_store::StoredEvent;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::context::PolicyContext;
use super::engine::Run;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, CHUNK_EVENTS};

/// How long an idle task waits for a commit before looking for silent hosts.
const IDLE_TICK: Duration = Duration::from_secs(1);
const READ_RETRY: Duration = Duration::from_secs(1);
/// Below this many policies one thread evaluates them all.
const SPLIT_FROM: usize = 8;

/// What the task is told.
pub(crate) enum Control {
    /// A prepared policy (its state rebuilt) joins.
    Add(Box<Run>),
    /// The policy of that name leaves, its durable cursor moved to where it
    /// evaluated; answered once it has.
    Remove(String, oneshot::Sender<()>),
}

/// The running task.
pub(crate) struct Group {
    control: mpsc::UnboundedSender<Control>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Group {
    pub(crate) fn start(ctx: &PolicyContext) -> Group {
        let (control, receiver) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(ctx.clone(), receiver, cancel.clone()));
        Group {
            control,
            cancel,
            task,
        }
    }

    /// Where prepared policies are sent (`Control::Add`).
    pub(crate) fn sender(&self) -> mpsc::UnboundedSender<Control> {
        self.control.clone()
    }

    /// Takes the policy `name` out, its cursor moved; returns once done.
    pub(crate) async fn remove(&self, name: &str) {
        let (done, answer) = oneshot::channel();
        if self
            .control
            .send(Control::Remove(name.to_owned(), done))
            .is_ok()
        {
            let _ = answer.await;
        }
    }

    /// Stops the task; every policy's cursor is moved to where it evaluated.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "policy evaluation task failed");
        }
    }
}

async fn run(
    ctx: PolicyContext,
    mut control: mpsc::UnboundedReceiver<Control>,
    cancel: CancellationToken,
) {
    let Some(reader) = open_reader(&ctx, &cancel).await else {
        return;
    };
    let mut runs: Vec<Run> = Vec::new();
    while !cancel.is_cancelled() {
        while let Ok(message) = control.try_recv() {
            apply(&mut runs, message).await;
        }
        let Some(from) = runs.iter().map(|r| r.position).min() else {
            tokio::select! {
                _ = cancel.cancelled() => break,
                message = control.recv() => match message {
                    Some(message) => apply(&mut runs, message).await,
                    None => break,
                },
            }
            continue;
        };
        if from >= reader.store_last_seq() {
            // Everything stored is evaluated: silent hosts, then wait.
            let silent: Vec<Vec<Event>> = runs.iter_mut().map(Run::tick).collect();
            if !commit(&ctx, &mut runs, silent, None, &cancel).await {
                break;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                message = control.recv() => match message {
                    Some(message) => apply(&mut runs, message).await,
                    None => break,
                },
                _ = reader.wait_for_events(from, IDLE_TICK, &cancel) => {}
            }
            continue;
        }
        let chunk = match reader.read_after_params_unparsed(from, CHUNK_EVENTS).await {
            Ok(chunk) => chunk,
            Err(err) => {
                tracing::error!(error = %err, "policies: store read failed; retrying");
                if !sleep_or_cancel(READ_RETRY, &cancel).await {
                    break;
                }
                continue;
            }
        };
        let Some(last) = chunk.last().map(|e| e.seq) else {
            continue;
        };
        let (back, derived) = evaluate(std::mem::take(&mut runs), Arc::new(chunk)).await;
        runs = back;
        if !commit(&ctx, &mut runs, derived, Some(last), &cancel).await {
            break;
        }
    }
    // A clean stop leaves each cursor where evaluation is.
    for run in &mut runs {
        run.persist(true).await;
    }
}

/// A reader without a durable cursor (each policy has its own) and outside
/// /metrics; retried until the store answers.
async fn open_reader(ctx: &PolicyContext, cancel: &CancellationToken) -> Option<Consumer> {
    loop {
        match Consumer::try_open(
            OutputKind::Policy,
            "(all)",
            ctx.store.clone(),
            Some(ctx.metrics.committed.clone()),
            Arc::default(),
        )
        .await
        {
            Ok(reader) => return Some(reader),
            Err(err) => {
                tracing::error!(error = %err, "policies: cannot read the store; retrying");
                if !sleep_or_cancel(READ_RETRY, cancel).await {
                    return None;
                }
            }
        }
    }
}

async fn apply(runs: &mut Vec<Run>, message: Control) {
    match message {
        Control::Add(run) => {
            if run.cancel.is_cancelled() {
                return;
            }
            runs.push(*run);
        }
        Control::Remove(name, done) => {
            if let Some(index) = runs.iter().position(|r| r.policy.name == name) {
                let mut run = runs.remove(index);
                run.persist(true).await;
            }
            let _ = done.send(());
        }
    }
}

/// Evaluates `chunk` for every policy, on blocking threads (the policies
/// split in two from [`SPLIT_FROM`] of them); returns the policies in the
/// same order with the derived events of each.
async fn evaluate(mut runs: Vec<Run>, chunk: Arc<Vec<StoredEvent>>) -> (Vec<Run>, Vec<Vec<Event>>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let second = if cores > 1 && runs.len() >= SPLIT_FROM {
        runs.split_off(runs.len() / 2)
    } else {
        Vec::new()
    };
    let part = |mut runs: Vec<Run>, chunk: Arc<Vec<StoredEvent>>| {
        tokio::task::spawn_blocking(move || {
            let derived: Vec<Vec<Event>> = runs.iter_mut().map(|r| r.evaluate(&chunk)).collect();
            (runs, derived)
        })
    };
    let first = part(runs, chunk.clone());
    let second = part(second, chunk);
    let mut joined = (Vec::new(), Vec::new());
    for handle in [first, second] {
        match handle.await {
            Ok((runs, derived)) => {
                joined.0.extend(runs);
                joined.1.extend(derived);
            }
            // Evaluation does not panic on input data; if it ever did, the
            // policies of that half are lost until a restart or reload.
            Err(err) => tracing::error!(error = %err, "policy evaluation failed"),
        }
    }
    joined
}

/// Stores the derived events of every policy (`derived[i]` for `runs[i]`)
/// as one batch and waits for the commit, then moves each policy past
/// `last` (or leaves it, for absences). `false` when cancelled first.
async fn commit(
    ctx: &PolicyContext,
    runs: &mut [Run],
    derived: Vec<Vec<Event>>,
    last: Option<u64>,
    cancel: &CancellationToken,
) -> bool {
    let fired: Vec<usize> = derived.iter().map(Vec::len).collect();
    let all: Vec<Event> = derived.into_iter().flatten().collect();
    if !ctx.commit(all, cancel).await {
        return false;
    }
    for (run, fired) in runs.iter_mut().zip(fired) {
        let to = last.unwrap_or(run.position);
        run.evaluated(to, fired).await;
    }
    true
}
