//! Outputs: consumers of the store, each with its own durable cursor.
//!
//! ```text
//! store (committed events) --query after cursor--> filter --> format --> transport / file
//!                                 ^                                           |
//!                                 +------ advance cursor after delivery <-----+
//! ```
//!
//! Every `[[output.syslog]]`, `[[output.file]]` and `[[output.radius]]` is
//! one tokio task. It reads
//! the store in chunks after its cursor (named by `consumer::OutputKind`),
//! skips what its filters reject (those events still advance the cursor),
//! formats the rest and delivers them; the cursor moves only once delivery is
//! confirmed (see `syslog.rs` and `file.rs` for what "confirmed" means for
//! each). After an outage or a restart an output resumes from its cursor, in
//! order: delivery is at-least-once. See docs/operations.md, "Outputs".
//!
//! On a PostgreSQL store (a cluster node), each output runs on the one node
//! holding its lease (`ownership.rs`) and reads every node's events after
//! its cursor per node (`pg_source.rs`); the delivery code is the same.

pub(crate) mod backoff;
pub(crate) mod cluster;
pub(crate) mod consumer;
pub(crate) mod context;
pub(crate) mod control;
pub(crate) mod file;
pub(crate) mod filter;
pub(crate) mod format;
pub(crate) mod ownership;
pub(crate) mod pg_source;
pub(crate) mod radius;
mod relp;
pub(crate) mod route;
pub(crate) mod spec;
pub(crate) mod syslog;
pub(crate) mod transport;

use tokio_util::sync::CancellationToken;

use crate::config::OutputConfig;
pub(crate) use context::{OutputContext, OutputStore};
pub(crate) use spec::OutputSpec;

struct RunningOutput {
    spec: OutputSpec,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The running outputs of a server.
#[derive(Default)]
pub(crate) struct Outputs {
    running: Vec<RunningOutput>,
}

impl Outputs {
    /// Starts one task per configured output.
    pub(crate) fn start(config: &OutputConfig, ctx: &OutputContext) -> Outputs {
        let mut outputs = Outputs::default();
        for spec in OutputSpec::all(config) {
            outputs.running.push(spawn(spec, ctx.clone()));
        }
        outputs
    }

    /// SIGHUP: outputs whose configuration is unchanged keep running (and
    /// their connections); changed ones are stopped and started again from
    /// their durable cursor; removed ones stop (their cursor stays in the
    /// store); new ones start. Returns (kept, stopped, started).
    pub(crate) async fn reload(
        &mut self,
        config: &OutputConfig,
        ctx: &OutputContext,
    ) -> (usize, usize, usize) {
        let wanted = OutputSpec::all(config);
        let (keep, stop): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| wanted.contains(&r.spec));
        let stopped = stop.len();
        for running in stop {
            stop_one(running).await;
        }
        self.running = keep;
        let kept = self.running.len();
        let mut started = 0;
        for spec in wanted {
            if self.running.iter().any(|r| r.spec == spec) {
                continue;
            }
            self.running.push(spawn(spec, ctx.clone()));
            started += 1;
        }
        (kept, stopped, started)
    }

    /// Stops every output; what was delivered is already behind its cursor.
    pub(crate) async fn stop(self) {
        for running in self.running {
            stop_one(running).await;
        }
    }
}

fn spawn(spec: OutputSpec, ctx: OutputContext) -> RunningOutput {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let task_spec = spec.clone();
    let task = tokio::spawn(async move {
        let name = task_spec.name().to_owned();
        tracing::info!(output = %name, cursor = %task_spec.cursor_name(), "output started");
        match ctx.store.clone() {
            OutputStore::Sqlite(_) => run_spec(task_spec, ctx, token).await,
            OutputStore::Postgres { cluster, .. } => {
                // One node at a time: run while this node holds the lease
                // named like the output's cursor.
                let metrics = ctx.metrics.output(&name);
                ownership::run_owned(
                    task_spec.cursor_name(),
                    cluster.clone(),
                    metrics,
                    token,
                    |owned, lost| {
                        let ctx = OutputContext {
                            store: OutputStore::Postgres {
                                cluster: cluster.clone(),
                                owned: Some(owned),
                            },
                            ..ctx.clone()
                        };
                        run_spec(task_spec.clone(), ctx, lost)
                    },
                )
                .await
            }
        }
        tracing::info!(output = %name, "output stopped");
    });
    RunningOutput { spec, cancel, task }
}

/// Runs one output until `cancel`.
async fn run_spec(spec: OutputSpec, ctx: OutputContext, cancel: CancellationToken) {
    match spec {
        OutputSpec::Syslog(config) => syslog::run(config, ctx, cancel).await,
        OutputSpec::File(config) => file::run(config, ctx, cancel).await,
        OutputSpec::Radius(config) => {
            let (client_metrics, consumer_metrics) = ctx.metrics.radius(&config.name);
            radius::run_output(config, ctx, client_metrics, consumer_metrics, cancel).await
        }
    }
}

async fn stop_one(running: RunningOutput) {
    running.cancel.cancel();
    if let Err(err) = running.task.await {
        tracing::error!(output = %running.spec.name(), error = %err, "output task failed");
    }
}
