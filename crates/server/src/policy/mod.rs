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
//! with its own durable cursor; `feed.rs` reads new events once for all
//! policies; `derived.rs` makes the events they store.

pub(crate) mod actions;
pub(crate) mod context;
pub(crate) mod correlation;
pub(crate) mod derived;
pub(crate) mod engine;
pub(crate) mod exec;
pub(crate) mod feed;
pub(crate) mod field;
pub(crate) mod forward;
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
    /// The one store reader whose chunks every policy evaluates.
    feed: Option<feed::Feed>,
}

impl Policies {
    /// Starts every enabled policy. A policy never run before starts at
    /// the end of the store as it is now: its cursors are created before
    /// this returns (and so before the listeners open).
    pub(crate) async fn start(configs: &[PolicyConfig], ctx: &PolicyContext) -> Policies {
        let mut policies = Policies::default();
        let feed = policies.feed.insert(feed::Feed::start(ctx));
        for config in configs.iter().filter(|p| p.enabled) {
            let chunks = feed.subscribe();
            policies
                .running
                .push(spawn(config.clone(), ctx.clone(), chunks).await);
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
            stop_one(running).await;
        }
        self.running = keep;
        let kept = self.running.len();
        let mut started = 0;
        for config in wanted {
            if self.running.iter().any(|r| &r.config == config) {
                continue;
            }
            let feed = self.feed.get_or_insert_with(|| feed::Feed::start(ctx));
            let chunks = feed.subscribe();
            self.running
                .push(spawn(config.clone(), ctx.clone(), chunks).await);
            started += 1;
        }
        (kept, stopped, started)
    }

    /// Stops every policy; what each has done is behind its cursors.
    pub(crate) async fn stop(self) {
        for running in self.running {
            stop_one(running).await;
        }
        if let Some(feed) = self.feed {
            feed.stop().await;
        }
    }
}

async fn spawn(
    config: PolicyConfig,
    ctx: PolicyContext,
    chunks: tokio::sync::broadcast::Receiver<feed::FeedChunk>,
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
    let mut tasks = vec![tokio::spawn(engine::run(
        config.clone(),
        ctx.clone(),
        chunks,
        cancel.clone(),
    ))];
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

async fn stop_one(running: RunningPolicy) {
    running.cancel.cancel();
    for task in running.tasks {
        if let Err(err) = task.await {
            tracing::error!(policy = %running.config.name, error = %err, "policy task failed");
        }
    }
}
