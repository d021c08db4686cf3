//! Event policies (`[[policy]]`, docs/policies.md): automated responses to
//! audit events.
//!
//! ```text
//! store --policy:<name>--> engine (matcher, correlation) --> NETAUDIT_POLICY_TRIGGERED --> store
//! store --policy-action:<name>--> actions (exec, webhook, lock-user) --> NETAUDIT_POLICY_ACTION --> store
//! ```
//!
//! The evaluation is pure (`matcher.rs`, `field.rs`, `correlation.rs`);
//! `engine.rs` and `actions.rs` are the store consumers around it, each
//! with its own durable cursor; `group.rs` is the one task that reads new
//! events once and evaluates them for all policies; `derived.rs` makes the
//! events they store.

pub(crate) mod actions;
pub(crate) mod context;
pub(crate) mod correlation;
pub(crate) mod derived;
pub(crate) mod engine;
pub(crate) mod exec;
pub(crate) mod field;
pub(crate) mod forward;
pub(crate) mod group;
pub(crate) mod matcher;
pub(crate) mod webhook;

use tokio_util::sync::CancellationToken;

use crate::config::PolicyConfig;
pub(crate) use context::PolicyContext;

struct RunningPolicy {
    config: PolicyConfig,
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The running policies of a server.
#[derive(Default)]
pub(crate) struct Policies {
    running: Vec<RunningPolicy>,
    /// The one task that evaluates every policy.
    group: Option<group::Group>,
}

impl Policies {
    /// Starts every enabled policy. A policy never run before starts at
    /// the end of the store as it is now: its cursors are created before
    /// this returns (and so before the listeners open).
    pub(crate) async fn start(configs: &[PolicyConfig], ctx: &PolicyContext) -> Policies {
        let mut policies = Policies::default();
        let group = policies.group.insert(group::Group::start(ctx));
        for config in configs.iter().filter(|p| p.enabled) {
            let sender = group.sender();
            policies
                .running
                .push(spawn(config.clone(), ctx.clone(), sender).await);
        }
        policies
    }

    /// SIGHUP: unchanged policies keep running (and their state); changed
    /// ones restart from their cursors (their state rebuilt from the
    /// store); removed or disabled ones stop. Returns (kept, stopped, started).
    pub(crate) async fn reload(
        &mut self,
        configs: &[PolicyConfig],
        ctx: &PolicyContext,
    ) -> (usize, usize, usize) {
        let wanted: Vec<&PolicyConfig> = configs.iter().filter(|p| p.enabled).collect();
        let (keep, stop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| wanted.contains(&&r.config));
        let stopped = stop.len();
        for running in stop {
            stop_one(running, self.group.as_ref()).await;
        }
        self.running = keep;
        let kept = self.running.len();
        let mut started = 0;
        for config in wanted {
            if self.running.iter().any(|r| &r.config == config) {
                continue;
            }
            let group = self.group.get_or_insert_with(|| group::Group::start(ctx));
            let sender = group.sender();
            self.running
                .push(spawn(config.clone(), ctx.clone(), sender).await);
            started += 1;
        }
        (kept, stopped, started)
    }

    /// Stops every policy; what each has done is behind its cursors.
    pub(crate) async fn stop(self) {
        for running in self.running {
            // The group moves every cursor when it stops.
            stop_one(running, None).await;
        }
        if let Some(group) = self.group {
            group.stop().await;
        }
    }
}

async fn spawn(
    config: PolicyConfig,
    ctx: PolicyContext,
    group: tokio::sync::mpsc::UnboundedSender<group::Control>,
) -> RunningPolicy {
    let store = ctx.store.clone();
    let names = engine::cursor_names(&config.name);
    // On failure the tasks create them (retrying) when they open.
    match tokio::task::spawn_blocking(move || engine::create_cursors(&store, &names)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::error!(policy = %config.name, error = %err, "policy: cannot create its cursors yet");
        }
        Err(err) => {
            tracing::error!(policy = %config.name, error = %err, "policy: cursor task failed")
        }
    }
    let cancel = CancellationToken::new();
    // The state is rebuilt on its own task; the policy then joins the group.
    let prepare = {
        let (config, ctx, cancel) = (config.clone(), ctx.clone(), cancel.clone());
        async move {
            if let Some(run) = engine::prepare(config, ctx, cancel).await {
                let _ = group.send(group::Control::Add(Box::new(run)));
            }
        }
    };
    let mut tasks = vec![tokio::spawn(prepare)];
    if !config.actions.is_empty() {
        tasks.push(tokio::spawn(actions::run(
            config.clone(),
            ctx,
            cancel.clone(),
        )));
    }
    RunningPolicy {
        config,
        cancel,
        tasks,
    }
}

/// Stops one policy: its preparation and actions, then (with `group`) its
/// evaluation, whose cursor is moved to where it evaluated. A prepared
/// policy is sent to the group before its task ends, so the removal,
/// sent after, always finds it.
async fn stop_one(running: RunningPolicy, group: Option<&group::Group>) {
    running.cancel.cancel();
    for task in running.tasks {
        if let Err(err) = task.await {
            tracing::error!(policy = %running.config.name, error = %err, "policy task failed");
        }
    }
    if let Some(group) = group {
        group.remove(&running.config.name).await;
    }
}
