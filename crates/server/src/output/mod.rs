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
//! the store in chunks after its cursor (`syslog:<name>`, `file:<name>`),
//! skips what its filters reject (those events still advance the cursor),
//! formats the rest and delivers them; the cursor moves only once delivery is
//! confirmed (see `syslog.rs` and `file.rs` for what "confirmed" means for
//! each). After an outage or a restart an output resumes from its cursor, in
//! order: delivery is at-least-once. See docs/operations.md, "Outputs".

pub mod control;
pub mod file;
pub mod filter;
pub mod format;
pub mod syslog;
pub mod transport;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use netaudit_event::Event;
use netaudit_store::{Query, Store, StoredEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{FileOutputConfig, OutputConfig, SyslogOutputConfig};
use crate::radius::config::RadiusOutputConfig;
use crate::serve::metrics::{Metrics, OutputMetrics};

/// Events read from the store per step.
pub const CHUNK_EVENTS: usize = 1000;

/// How long an idle output waits for a commit notification before looking
/// at the store anyway (a missed notification costs at most this).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What every output task shares with the server.
#[derive(Clone)]
pub struct OutputContext {
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    /// The pipeline into the store, for alert events (e.g. audit storage full).
    pub alerts: mpsc::Sender<Vec<Event>>,
}

/// One output's configuration, as the reload compares them.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputSpec {
    Syslog(SyslogOutputConfig),
    File(FileOutputConfig),
    Radius(RadiusOutputConfig),
}

impl OutputSpec {
    pub fn name(&self) -> &str {
        match self {
            OutputSpec::Syslog(c) => &c.name,
            OutputSpec::File(c) => &c.name,
            OutputSpec::Radius(c) => &c.name,
        }
    }

    /// The durable cursor's name in the store.
    pub fn cursor_name(&self) -> String {
        match self {
            OutputSpec::Syslog(c) => format!("syslog:{}", c.name),
            OutputSpec::File(c) => format!("file:{}", c.name),
            OutputSpec::Radius(c) => format!("radius:{}", c.name),
        }
    }

    pub fn all(config: &OutputConfig) -> Vec<OutputSpec> {
        config
            .syslog
            .iter()
            .cloned()
            .map(OutputSpec::Syslog)
            .chain(config.file.iter().cloned().map(OutputSpec::File))
            .chain(config.radius.iter().cloned().map(OutputSpec::Radius))
            .collect()
    }
}

struct RunningOutput {
    spec: OutputSpec,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The running outputs of a server.
#[derive(Default)]
pub struct Outputs {
    running: Vec<RunningOutput>,
}

impl Outputs {
    /// Starts one task per configured output.
    pub fn start(config: &OutputConfig, ctx: &OutputContext) -> Outputs {
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
    pub async fn reload(
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
    pub async fn stop(self) {
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
        match task_spec {
            OutputSpec::Syslog(config) => syslog::run(config, ctx, token).await,
            OutputSpec::File(config) => file::run(config, ctx, token).await,
            OutputSpec::Radius(config) => {
                let (client_metrics, consumer_metrics) = ctx.metrics.radius(&config.name);
                crate::radius::run_output(config, ctx, client_metrics, consumer_metrics, token)
                    .await
            }
        }
        tracing::info!(output = %name, "output stopped");
    });
    RunningOutput { spec, cancel, task }
}

async fn stop_one(running: RunningOutput) {
    running.cancel.cancel();
    if let Err(err) = running.task.await {
        tracing::error!(output = %running.spec.name(), error = %err, "output task failed");
    }
}

/// Reads from the store for one output: its cursor, its chunks, its wake-ups.
pub struct Consumer {
    pub ctx: OutputContext,
    pub cursor_name: String,
    pub metrics: Arc<OutputMetrics>,
    /// The durable cursor: every event up to here has been delivered.
    pub cursor: u64,
}

/// A store operation failed; the output logs it, counts it and retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreOpError(String);

impl Consumer {
    /// Reads the durable cursor (retrying every second until the store
    /// answers or `cancel` fires; `None` when cancelled).
    pub async fn open(
        name: &str,
        cursor_name: String,
        ctx: OutputContext,
        cancel: &CancellationToken,
    ) -> Option<Consumer> {
        let metrics = ctx.metrics.output(name);
        for attempt in 0u64.. {
            let store = ctx.store.clone();
            let cursor_key = cursor_name.clone();
            let result = tokio::task::spawn_blocking(move || store.cursor(&cursor_key)).await;
            match result {
                Ok(Ok(cursor)) => {
                    metrics.delivered_seq.store(cursor, Relaxed);
                    return Some(Consumer {
                        ctx,
                        cursor_name,
                        metrics,
                        cursor,
                    });
                }
                Ok(Err(err)) => {
                    tracing::error!(output = %name, attempt, error = %err, "cannot read the output cursor; retrying");
                }
                Err(err) => {
                    tracing::error!(output = %name, attempt, error = %err, "cursor read task failed; retrying");
                }
            }
            metrics.errors.fetch_add(1, Relaxed);
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        None
    }

    /// Up to `limit` events after `after`, in sequence order.
    pub async fn read_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreOpError> {
        let store = self.ctx.store.clone();
        let query = Query {
            after_seq: Some(after),
            limit,
            ..Query::default()
        };
        match tokio::task::spawn_blocking(move || store.query(&query)).await {
            Ok(Ok(page)) => Ok(page.events),
            Ok(Err(err)) => Err(StoreOpError(format!("read events after {after}: {err}"))),
            Err(err) => Err(StoreOpError(format!("read task failed: {err}"))),
        }
    }

    /// Moves the durable cursor to `to` (no-op when already there).
    pub async fn advance(&mut self, to: u64) -> Result<(), StoreOpError> {
        if to <= self.cursor {
            return Ok(());
        }
        let store = self.ctx.store.clone();
        let (name, from) = (self.cursor_name.clone(), self.cursor);
        match tokio::task::spawn_blocking(move || store.advance_cursor(&name, from, to)).await {
            Ok(Ok(())) => {
                self.cursor = to;
                self.metrics.delivered_seq.store(to, Relaxed);
                Ok(())
            }
            Ok(Err(netaudit_store::StoreError::CursorConflict { found, .. })) => {
                // Someone else moved it (an operator tool): follow the store.
                tracing::warn!(cursor = %self.cursor_name, expected = from, found, "cursor moved by someone else; following it");
                self.cursor = found;
                self.metrics.delivered_seq.store(found, Relaxed);
                Err(StoreOpError(format!(
                    "cursor {} was at {found}, expected {from}",
                    self.cursor_name
                )))
            }
            Ok(Err(err)) => Err(StoreOpError(format!(
                "advance cursor {} to {to}: {err}",
                self.cursor_name
            ))),
            Err(err) => Err(StoreOpError(format!("cursor task failed: {err}"))),
        }
    }

    /// The last committed sequence number, as the batcher published it.
    pub fn last_committed(&self) -> u64 {
        self.ctx.metrics.last_seq.load(Relaxed)
    }

    /// Waits until events after `after` may exist, `timeout` passes, or
    /// `cancel` fires (then `false`).
    pub async fn wait_for_events(
        &self,
        after: u64,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> bool {
        let notified = self.ctx.metrics.committed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.last_committed() > after {
            return !cancel.is_cancelled();
        }
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = notified => true,
            _ = tokio::time::sleep(timeout.min(POLL_INTERVAL)) => true,
        }
    }
}

/// Sleeps `delay` unless cancelled first (then `false`).
pub async fn sleep_or_cancel(delay: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

/// Exponential backoff with jitter: the nth delay is drawn from
/// `[d/2, d]` where `d = min(initial * 2^n, max)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            ^ u64::from(std::process::id()).rotate_left(32);
        Backoff {
            initial,
            max: max.max(initial),
            attempt: 0,
            rng: seed | 1,
        }
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The next delay (and one more attempt counted).
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        let full = self.initial.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64*: jitter only, no security role.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let half = full / 2;
        let span = (full - half).as_nanos() as u64;
        let jitter = if span == 0 { 0 } else { random % (span + 1) };
        half + Duration::from_nanos(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let bounds = [100u64, 200, 400, 800, 1000, 1000, 1000];
        for full in bounds {
            let d = backoff.next_delay();
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "{d:?} not in [{}, {full}] ms",
                full / 2
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_jitter_varies() {
        let mut backoff = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff.next_delay()).collect();
        assert!(delays.len() > 1);
    }

    #[test]
    fn cursor_names_say_the_kind() {
        let config = crate::config::Config::from_toml(
            "[[output.syslog]]\nname = \"siem\"\ntransport = \"udp\"\naddress = \"127.0.0.1:514\"\n[[output.file]]\nname = \"audit\"\ndir = \"/tmp/x\"\n",
            "t",
        )
        .unwrap();
        let names: Vec<String> = OutputSpec::all(&config.output)
            .iter()
            .map(OutputSpec::cursor_name)
            .collect();
        assert_eq!(names, ["syslog:siem", "file:audit"]);
    }
}
