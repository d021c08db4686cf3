//! Audit storage near full (FAU_STG_EXT.1), told as netaudit's own event
//! before it happens: `NETAUDIT_STORE_NEAR_FULL` when the store passes
//! `store.near_full_percent` of its configured maximum
//! (`store.retention_max_events`, beyond which retention drops or archives
//! the oldest partitions) or when the filesystem holding it passes that
//! share of its size (where it would stop storing). The built-in policy
//! `ndcpp-audit-storage` reacts to it. Each measure is told once per
//! crossing; it is told again after it has fallen [`REARM_POINTS`] below
//! the threshold and risen again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use netaudit_event::{Event, Param, Severity};
use netaudit_store::Store;
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::pipeline::ingest::send_internal_blocking;
use crate::pipeline::origin::Chunk;
use crate::self_events::{internal_event, NETAUDIT_SD_ID};
use crate::stop_flag::StopFlag;

/// The code of the event stored when a measure passes the threshold.
pub(crate) const NEAR_FULL_CODE: &str = "NETAUDIT_STORE_NEAR_FULL";

/// How often the fill is measured.
const PERIOD: Duration = Duration::from_secs(2);
/// Points under the threshold a measure must fall to be told again.
const REARM_POINTS: u64 = 5;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// Events held against `store.retention_max_events`.
    Events,
    /// Bytes used on the filesystem of the store.
    Disk,
}

impl Measure {
    fn name(self) -> &'static str {
        match self {
            Measure::Events => "events",
            Measure::Disk => "disk",
        }
    }
}

/// One reading: how much is used of how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fill {
    used: u64,
    limit: u64,
}

impl Fill {
    /// Whole percent, rounded down (a store at 89.9% is not at 90%).
    fn percent(self) -> u64 {
        if self.limit == 0 {
            return 0;
        }
        (u128::from(self.used) * 100 / u128::from(self.limit)) as u64
    }
}

/// Whether a measure is past its threshold; decides when to tell.
#[derive(Debug, Default)]
struct Crossing {
    above: bool,
}

impl Crossing {
    /// True when `percent` has just passed `threshold` (told once until it
    /// falls [`REARM_POINTS`] below it).
    fn passes(&mut self, percent: u64, threshold: u64) -> bool {
        if self.above {
            if percent + REARM_POINTS <= threshold {
                self.above = false;
            }
            return false;
        }
        if percent >= threshold {
            self.above = true;
            return true;
        }
        false
    }
}

/// The running watch; [`StorageWatch::stop`] ends it.
pub(crate) struct StorageWatch {
    stop: StopFlag,
}

impl StorageWatch {
    /// Starts measuring `store` every two seconds (the first time at once);
    /// `None` when `threshold_percent` is 0 (switched off).
    pub(crate) fn start(
        store: Arc<Store>,
        threshold_percent: u8,
        metrics: Arc<Metrics>,
        events: mpsc::WeakSender<Chunk>,
    ) -> anyhow::Result<Option<StorageWatch>> {
        if threshold_percent == 0 {
            return Ok(None);
        }
        let stop = StopFlag::default();
        let thread_stop = stop.clone();
        let dir = store
            .config()
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        std::thread::Builder::new()
            .name("netaudit-storage".into())
            .spawn(move || {
                let mut watch = Watch {
                    store,
                    dir,
                    threshold: u64::from(threshold_percent),
                    metrics,
                    events,
                    events_crossing: Crossing::default(),
                    disk_crossing: Crossing::default(),
                };
                loop {
                    watch.round();
                    if thread_stop.wait(PERIOD) {
                        break;
                    }
                }
            })
            .context("cannot start the storage watch thread")?;
        Ok(Some(StorageWatch { stop }))
    }

    pub(crate) fn stop(self) {
        self.stop.stop();
    }
}

struct Watch {
    store: Arc<Store>,
    /// The directory of the store's catalog (its partitions are beside it).
    dir: PathBuf,
    threshold: u64,
    metrics: Arc<Metrics>,
    events: mpsc::WeakSender<Chunk>,
    events_crossing: Crossing,
    disk_crossing: Crossing,
}

impl Watch {
    fn round(&mut self) {
        if let Some(max) = self.store.config().retention.max_events {
            match self.held_events() {
                Ok(held) => {
                    let fill = Fill {
                        used: held,
                        limit: max,
                    };
                    if self.events_crossing.passes(fill.percent(), self.threshold) {
                        self.tell(Measure::Events, fill);
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "storage watch: cannot count the store's events")
                }
            }
        }
        match filesystem_fill(&self.dir) {
            Ok(fill) => {
                if self.disk_crossing.passes(fill.percent(), self.threshold) {
                    self.tell(Measure::Disk, fill);
                }
            }
            Err(err) => {
                tracing::error!(dir = %self.dir.display(), error = %err, "storage watch: cannot measure the filesystem")
            }
        }
    }

    /// Events in the store: from the first of its oldest partition to the
    /// last committed.
    fn held_events(&self) -> Result<u64, netaudit_store::StoreError> {
        let partitions = self.store.partitions()?;
        let last = self.store.last_seq();
        Ok(partitions
            .iter()
            .map(|p| p.first_seq)
            .min()
            .map_or(0, |first| (last + 1).saturating_sub(first)))
    }

    fn tell(&self, measure: Measure, fill: Fill) {
        let event = near_full_event(measure, fill, self.threshold, &self.dir);
        tracing::warn!(
            message = event.message.as_deref().unwrap_or_default(),
            "audit storage near full"
        );
        send_internal_blocking(&self.events, &self.metrics, event);
    }
}

fn near_full_event(measure: Measure, fill: Fill, threshold: u64, dir: &Path) -> Event {
    let percent = fill.percent();
    let message = match measure {
        Measure::Events => format!(
            "audit store near full: it holds {} events, {percent}% of store.retention_max_events = {} (threshold {threshold}%); beyond it retention drops the oldest partitions",
            fill.used, fill.limit
        ),
        Measure::Disk => format!(
            "audit store near full: the filesystem of {} is {percent}% full ({} of {} bytes; threshold {threshold}%); when it is full no event can be stored",
            dir.display(),
            fill.used,
            fill.limit
        ),
    };
    let mut event = internal_event(NEAR_FULL_CODE, Severity::Warning, message);
    for (name, value) in [
        ("measure", measure.name().to_owned()),
        ("used", fill.used.to_string()),
        ("limit", fill.limit.to_string()),
        ("percent", percent.to_string()),
        ("threshold-percent", threshold.to_string()),
        ("path", dir.display().to_string()),
    ] {
        event.params.push(Param {
            sd_id: NETAUDIT_SD_ID.into(),
            name: name.into(),
            value: value.as_str().into(),
        });
    }
    event
}

/// Bytes used and the size of the filesystem holding `dir`, as `df`
/// counts them (used = size - free, where free includes root's reserve).
fn filesystem_fill(dir: &Path) -> std::io::Result<Fill> {
    let stat = rustix::fs::statvfs(dir)?;
    let size = stat.f_blocks.saturating_mul(stat.f_frsize);
    let free = stat.f_bfree.saturating_mul(stat.f_frsize);
    Ok(Fill {
        used: size.saturating_sub(free),
        limit: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crossing_is_told_once_until_the_fill_falls_well_below() {
        let mut crossing = Crossing::default();
        let told: Vec<bool> = [50, 89, 90, 95, 100, 88, 86, 91, 85, 84, 90]
            .into_iter()
            .map(|percent| crossing.passes(percent, 90))
            .collect();
        assert_eq!(
            told,
            [false, false, true, false, false, false, false, false, false, false, true]
        );
    }

    #[test]
    fn the_percent_rounds_down_and_survives_huge_numbers() {
        assert_eq!(
            Fill {
                used: 899,
                limit: 1000
            }
            .percent(),
            89
        );
        assert_eq!(
            Fill {
                used: 900,
                limit: 1000
            }
            .percent(),
            90
        );
        assert_eq!(
            Fill {
                used: u64::MAX,
                limit: u64::MAX
            }
            .percent(),
            100
        );
        assert_eq!(Fill { used: 5, limit: 0 }.percent(), 0);
    }

    #[test]
    fn the_event_names_the_measure_and_the_figures() {
        let event = near_full_event(
            Measure::Events,
            Fill {
                used: 95,
                limit: 100,
            },
            90,
            Path::new("/var/lib/netaudit"),
        );
        assert_eq!(event.code.as_deref(), Some(NEAR_FULL_CODE));
        assert_eq!(event.param("measure"), Some("events"));
        assert_eq!(event.param("percent"), Some("95"));
        assert_eq!(event.param("threshold-percent"), Some("90"));
        assert!(event
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("95% of store.retention_max_events = 100"));
    }

    #[test]
    fn the_builtin_audit_storage_policy_reacts_to_it() {
        assert!(crate::config::builtin_policies::AUDIT_STORAGE_CODES.contains(&NEAR_FULL_CODE));
    }

    #[test]
    fn the_filesystem_of_a_real_directory_is_measured() {
        let fill = filesystem_fill(Path::new(".")).unwrap();
        assert!(fill.limit > 0 && fill.used <= fill.limit, "{fill:?}");
        assert!(filesystem_fill(Path::new("/nonexistent/netaudit")).is_err());
    }
}
