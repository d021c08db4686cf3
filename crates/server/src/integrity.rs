//! The scheduled integrity check (`[integrity] verify_every`): a thread at
//! idle priority walks the chain the way `netaudit verify` does, only what
//! was sealed since the last verified checkpoint each period, and the whole
//! store every `full_verify_every`. Each result is stored as an event
//! (`NETAUDIT_VERIFY_OK`, or `NETAUDIT_VERIFY_FAILED` at severity alert,
//! which the outputs forward like any event) and shown in `/metrics`.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use netaudit_event::{Param, Severity};
use netaudit_store::{verify_after, BreakKind, VerifiedThrough, VerifyKey, VerifyReport};
use tokio::sync::mpsc;

use crate::config::{IntegrityConfig, IntegritySchedule};
use crate::metrics::Metrics;
use crate::pipeline::ingest::send_internal_blocking;
use crate::pipeline::origin::Chunk;
use crate::self_events::{internal_event, NETAUDIT_SD_ID};
use crate::stop_flag::StopFlag;

/// The code of the event a walk that found no break stores.
pub(crate) const VERIFY_OK_CODE: &str = "NETAUDIT_VERIFY_OK";
/// The code of the alert a walk that found a break (or could not run) stores.
pub(crate) const VERIFY_FAILED_CODE: &str = "NETAUDIT_VERIFY_FAILED";

/// The running check; [`IntegrityCheck::stop`] ends it at its next wake-up.
pub(crate) struct IntegrityCheck {
    stop: StopFlag,
}

/// What the walks read: the store, its live key and the verify key.
struct Target {
    catalog: PathBuf,
    live_key: PathBuf,
    verify_key: VerifyKey,
}

impl IntegrityCheck {
    /// Starts the check when `config` schedules one. The verify key is read
    /// now (`integrity.verify_key`, or the local copy beside the store while
    /// it has not been exported): a schedule that cannot run is an error at
    /// start, not a silence. Events go to `events` while the pipeline is
    /// open (a weak sender: the check never holds the pipeline open).
    pub(crate) fn start(
        config: &IntegrityConfig,
        store: &netaudit_store::StoreConfig,
        metrics: Arc<Metrics>,
        events: mpsc::WeakSender<Chunk>,
    ) -> anyhow::Result<Option<IntegrityCheck>> {
        let Some(schedule) = config.schedule else {
            return Ok(None);
        };
        let verify_key = match &config.verify_key {
            Some(path) => VerifyKey::read(path)
                .with_context(|| format!("integrity.verify_key {}", path.display()))?,
            None => netaudit_store::read_local_verify_key(store).context(
                "integrity.verify_every is set but the verify key is not beside the store (it was \
                 exported): set integrity.verify_key to the file `netaudit keys export-verify` wrote",
            )?,
        };
        let target = Target {
            catalog: store.path.clone(),
            live_key: store.key_path(),
            verify_key,
        };
        let stop = StopFlag::default();
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("netaudit-verify".into())
            .spawn(move || {
                set_idle_priority();
                Schedule::new(target, schedule, metrics, events).run(&thread_stop);
            })
            .context("cannot start the integrity check thread")?;
        Ok(Some(IntegrityCheck { stop }))
    }

    /// Ends the thread at its next wake-up; a walk in progress (read-only)
    /// finishes first, and its event is dropped once the pipeline is closed.
    pub(crate) fn stop(self) {
        self.stop.stop();
    }
}

/// Linux `SCHED_IDLE` for the calling thread: the walks use only CPU time
/// that ingest, the outputs and the rest of the machine leave unused (as
/// the store's indexer does).
fn set_idle_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler with pid 0 changes only the calling
        // thread's policy; `param` is a valid sched_param for the call.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if rc != 0 {
            tracing::warn!(
                "integrity check: cannot run at idle priority; it runs at normal priority"
            );
        }
    }
}

/// The state the walks carry from one period to the next.
struct Schedule {
    target: Target,
    schedule: IntegritySchedule,
    metrics: Arc<Metrics>,
    events: mpsc::WeakSender<Chunk>,
    /// The newest checkpoint a walk verified: where the next incremental
    /// walk starts.
    verified: Option<VerifiedThrough>,
    last_full: Option<Instant>,
    /// The break last alerted, so that a persisting one is alerted once
    /// (and logged and counted every period).
    alerted: Option<(u64, BreakKind)>,
}

impl Schedule {
    fn new(
        target: Target,
        schedule: IntegritySchedule,
        metrics: Arc<Metrics>,
        events: mpsc::WeakSender<Chunk>,
    ) -> Schedule {
        Schedule {
            target,
            schedule,
            metrics,
            events,
            verified: None,
            last_full: None,
            alerted: None,
        }
    }

    fn run(mut self, stop: &StopFlag) {
        while !stop.wait(self.schedule.every) {
            self.round();
        }
    }

    fn walk(&self, full: bool) -> netaudit_store::Result<VerifyReport> {
        let after = if full { None } else { self.verified.as_ref() };
        verify_after(
            &self.target.catalog,
            &self.target.verify_key,
            Some(&self.target.live_key),
            after,
        )
    }

    /// One period: an incremental walk (or a full one when due); a break
    /// or an error is confirmed by a full walk before it is reported, since
    /// the server writes while the walk reads (an epoch sealed between
    /// reading the checkpoints and the live key looks like truncation).
    fn round(&mut self) {
        let full = self.verified.is_none()
            || self
                .last_full
                .is_none_or(|t| t.elapsed() >= self.schedule.full_every);
        let mut walked_full = full;
        let mut result = self.walk(full);
        if !matches!(&result, Ok(r) if r.ok()) {
            result = self.walk(true);
            walked_full = true;
        }
        if walked_full {
            self.last_full = Some(Instant::now());
        }
        let kind = if walked_full { "full" } else { "incremental" };
        match result {
            Ok(report) => match &report.failure {
                None => self.passed(&report, kind),
                Some(b) => {
                    // Until a full walk passes again, every walk is a full
                    // one: an incremental walk starts past the break.
                    self.verified = None;
                    self.metrics.verify_failures.fetch_add(1, Relaxed);
                    tracing::error!(seq = b.seq, kind = %b.kind, detail = %b.detail, "integrity check: the chain is broken");
                    if self.alerted != Some((b.seq, b.kind)) {
                        self.alerted = Some((b.seq, b.kind));
                        let mut event = internal_event(
                            VERIFY_FAILED_CODE,
                            Severity::Alert,
                            format!(
                                "scheduled integrity check: the chain is broken at sequence {} ({}): {}",
                                b.seq, b.kind, b.detail
                            ),
                        );
                        add_params(
                            &mut event,
                            &[("seq", b.seq.to_string()), ("kind", b.kind.to_string())],
                        );
                        self.store_event(event);
                    }
                }
            },
            Err(err) => {
                self.metrics.verify_failures.fetch_add(1, Relaxed);
                tracing::error!(error = %err, "integrity check: cannot walk the chain");
                let event = internal_event(
                    VERIFY_FAILED_CODE,
                    Severity::Error,
                    format!("scheduled integrity check: cannot walk the chain: {err}"),
                );
                self.store_event(event);
            }
        }
    }

    fn passed(&mut self, report: &VerifyReport, kind: &str) {
        if report.verified_through.is_some() {
            self.verified = report.verified_through;
        }
        self.alerted = None;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.metrics.verify_last_success_seconds.store(now, Relaxed);
        let unsealed = report
            .unsealed
            .map(|(a, b)| format!("; events {a}..{b} are not sealed yet"))
            .unwrap_or_default();
        let message = format!(
            "scheduled integrity check ({kind}): {} events verified, sealed through {}{unsealed}",
            report.events_verified, report.sealed_through
        );
        tracing::info!("{message}");
        let mut event = internal_event(VERIFY_OK_CODE, Severity::Info, message);
        add_params(
            &mut event,
            &[
                ("walk", kind.to_string()),
                ("sealed_through", report.sealed_through.to_string()),
                ("events", report.events_verified.to_string()),
            ],
        );
        self.store_event(event);
    }

    /// Hands the event to the pipeline while it is open.
    fn store_event(&self, event: netaudit_event::Event) {
        send_internal_blocking(&self.events, &self.metrics, event);
    }
}

fn add_params(event: &mut netaudit_event::Event, params: &[(&str, String)]) {
    for (name, value) in params {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: (*name).into(),
            value: value.as_str().into(),
        });
    }
}
