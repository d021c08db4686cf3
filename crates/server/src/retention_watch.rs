//! What retention does, told as netaudit's own events: each drop
//! (`NETAUDIT_RETENTION_PURGED`, naming the archive when
//! `store.retention_archive_to` is set), and retention waiting because a
//! partition's archive cannot be written (`NETAUDIT_RETENTION_WAITING`, at
//! severity alert, in the log and as `netaudit_retention_waiting`).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use netaudit_event::{Param, Severity};
use netaudit_store::{ArchiveDestination, Store};
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::pipeline::ingest::send_internal_blocking;
use crate::pipeline::origin::Chunk;
use crate::self_events::{internal_event, NETAUDIT_SD_ID};
use crate::stop_flag::StopFlag;

/// The code of the event stored for each retention drop.
pub(crate) const PURGED_CODE: &str = "NETAUDIT_RETENTION_PURGED";
/// The code of the alert stored when retention starts waiting for an archive.
pub(crate) const WAITING_CODE: &str = "NETAUDIT_RETENTION_WAITING";

/// How often the store's retention state is looked at.
const PERIOD: Duration = Duration::from_secs(1);

/// The running watch; [`RetentionWatch::stop`] ends it.
pub(crate) struct RetentionWatch {
    stop: StopFlag,
}

impl RetentionWatch {
    /// Starts watching `store` when it has a retention policy. Drops made
    /// before the start are not told again.
    pub(crate) fn start(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        events: mpsc::WeakSender<Chunk>,
    ) -> anyhow::Result<Option<RetentionWatch>> {
        let policy = store.config().retention.clone();
        if policy.max_age.is_none() && policy.max_events.is_none() {
            return Ok(None);
        }
        let mut told = store
            .retention_log()?
            .iter()
            .map(|r| r.last_seq)
            .max()
            .unwrap_or(0);
        let stop = StopFlag::default();
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("netaudit-retention".into())
            .spawn(move || {
                let mut watch = Watch {
                    store,
                    archive_to: policy.archive_to,
                    metrics,
                    events,
                    waiting: None,
                };
                while !thread_stop.wait(PERIOD) {
                    watch.round(&mut told);
                }
            })
            .context("cannot start the retention watch thread")?;
        Ok(Some(RetentionWatch { stop }))
    }

    pub(crate) fn stop(self) {
        self.stop.stop();
    }
}

struct Watch {
    store: Arc<Store>,
    archive_to: Option<ArchiveDestination>,
    metrics: Arc<Metrics>,
    events: mpsc::WeakSender<Chunk>,
    waiting: Option<String>,
}

impl Watch {
    fn round(&mut self, told: &mut u64) {
        let waiting = self.store.retention_waiting();
        self.metrics
            .retention_waiting
            .store(u64::from(waiting.is_some()), Relaxed);
        if waiting != self.waiting {
            match &waiting {
                Some(why) => {
                    tracing::error!(reason = %why, "retention is waiting: no partition is dropped without its archive");
                    self.send(internal_event(
                        WAITING_CODE,
                        Severity::Alert,
                        format!("retention is waiting: {why}"),
                    ));
                }
                None => tracing::info!("retention: the archive was written; retention goes on"),
            }
            self.waiting = waiting;
        }
        let log = match self.store.retention_log() {
            Ok(log) => log,
            Err(err) => {
                tracing::error!(error = %err, "retention watch: cannot read the retention log");
                return;
            }
        };
        let since = *told;
        for record in log.into_iter().filter(|r| r.last_seq > since) {
            *told = record.last_seq;
            let archive = self.archive_to.as_ref().map(|dest| {
                dest.location(&netaudit_store::archive_file_name(
                    &self.store.store_id(),
                    record.first_seq,
                    record.last_seq,
                ))
            });
            let archived = match &archive {
                Some(location) => format!("archived and verified as {location}"),
                None => "not archived (store.retention_archive_to is not set)".to_string(),
            };
            let message = format!(
                "retention dropped events {}..{} ({}): {archived}",
                record.first_seq, record.last_seq, record.reason
            );
            tracing::info!("{message}");
            let mut event = internal_event(PURGED_CODE, Severity::Notice, message);
            let mut params = vec![
                ("first_seq", record.first_seq.to_string()),
                ("last_seq", record.last_seq.to_string()),
                ("reason", record.reason.clone()),
            ];
            if let Some(location) = &archive {
                params.push(("archive", location.clone()));
            }
            for (name, value) in params {
                event.params.push(Param {
                    sd_id: NETAUDIT_SD_ID.into(),
                    name: name.into(),
                    value: value.as_str().into(),
                });
            }
            self.send(event);
        }
    }

    fn send(&self, event: netaudit_event::Event) {
        send_internal_blocking(&self.events, &self.metrics, event);
    }
}
