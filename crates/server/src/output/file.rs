//! `[[output.file]]`: the local audit file (netaudit-auditfile) as a store
//! consumer.
//!
//! Lines are written in chunks; the cursor moves after `write_batch`
//! returned (with `sync = "every-batch"` after the fdatasync), so a crash
//! can only repeat lines, never lose them. When the audit storage is full:
//!
//! * `overwrite-oldest`: the writer deletes the oldest archives; each
//!   deletion is logged, counted and stored as a `NETAUDIT_AUDIT_ARCHIVE_REMOVED`
//!   event (warning);
//! * `stop` (and a real full disk): the cursor stays after the last line
//!   written, one `NETAUDIT_AUDIT_STORAGE_FULL` alert event is stored (and so
//!   forwarded by the syslog outputs) per episode, and the write is retried
//!   every [`FULL_RETRY`] until space is freed.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use netaudit_auditfile::{AuditFile, AuditFileConfig, AuditFileError, FullCause, WriteOutcome};
use netaudit_event::{Event, Severity};
use tokio_util::sync::CancellationToken;

use crate::config::FileOutputConfig;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, CHUNK_EVENTS};
use crate::output::context::OutputContext;
use crate::output::format::OutputFormatter;
use crate::output::route::{route_of, Route};
use crate::self_events::internal_event;

/// Retry period while the audit storage is full or the file cannot be opened.
pub(crate) const FULL_RETRY: Duration = Duration::from_secs(5);

pub(crate) const CODE_STORAGE_FULL: &str = "NETAUDIT_AUDIT_STORAGE_FULL";
pub(crate) const CODE_ARCHIVE_REMOVED: &str = "NETAUDIT_AUDIT_ARCHIVE_REMOVED";

/// The audit file crate's configuration for this output.
pub(crate) fn audit_file_config(config: &FileOutputConfig) -> AuditFileConfig {
    AuditFileConfig {
        dir: config.dir.clone(),
        name: config.name.clone(),
        max_file_bytes: config.max_file_bytes,
        archives: config.archives,
        compress: config.compress,
        max_total_bytes: config.max_total_bytes,
        on_full: config.on_full,
        sync: config.sync,
    }
}

/// A chunk of formatted lines: one buffer, line boundaries, and the store
/// sequence number of each line.
#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    seqs: Vec<u64>,
}

impl Lines {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.seqs.clear();
    }

    fn slices(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let line = self.bytes.get(start..end).unwrap_or_default();
                start = end;
                line
            })
            .collect()
    }
}

struct FileOutput {
    name: String,
    config: FileOutputConfig,
    consumer: Consumer,
    formatter: OutputFormatter,
    /// For internal events: the pipeline and its counters.
    ctx: OutputContext,
    file: Option<AuditFile>,
    lines: Lines,
    /// An alert was stored for the current full episode.
    alerted: bool,
}

pub(crate) async fn run(config: FileOutputConfig, ctx: OutputContext, cancel: CancellationToken) {
    let Some(consumer) = Consumer::open(OutputKind::File, &config.name, &ctx, &cancel).await else {
        return;
    };
    let mut output = FileOutput {
        name: config.name.clone(),
        formatter: OutputFormatter {
            format: config.format,
            facility: None,
            standard_pri: false,
        },
        config,
        consumer,
        ctx,
        file: None,
        lines: Lines::default(),
        alerted: false,
    };
    output.run(&cancel).await;
    if let Some(mut file) = output.file.take() {
        let _ = tokio::task::spawn_blocking(move || file.flush_sync()).await;
    }
}

impl FileOutput {
    async fn run(&mut self, cancel: &CancellationToken) {
        while !cancel.is_cancelled() {
            if self.file.is_none() && !self.open(cancel).await {
                return;
            }
            let events = match self
                .consumer
                .read_after(self.consumer.cursor(), CHUNK_EVENTS)
                .await
            {
                Ok(events) => events,
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, error = %err, "store read failed; retrying in 1 s");
                    if !sleep_or_cancel(Duration::from_secs(1), cancel).await {
                        return;
                    }
                    continue;
                }
            };
            let Some(last_seq) = events.last().map(|e| e.seq) else {
                if !self
                    .consumer
                    .wait_for_events(self.consumer.cursor(), Duration::from_secs(1), cancel)
                    .await
                {
                    return;
                }
                continue;
            };
            self.lines.clear();
            let max_line = self.config.max_file_bytes.saturating_sub(1);
            for mut stored in events {
                // A derived event a policy forwards to other outputs only.
                if route_of(&stored.event, &self.name) == Route::Elsewhere {
                    self.consumer.metrics.filtered.fetch_add(1, Relaxed);
                    continue;
                }
                let start = self.lines.bytes.len();
                self.formatter
                    .write(stored.seq, &mut stored.event, &mut self.lines.bytes);
                if (self.lines.bytes.len() - start) as u64 > max_line {
                    self.lines.bytes.truncate(start);
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, seq = stored.seq, max_file_bytes = self.config.max_file_bytes, "line longer than max_file_bytes; skipped");
                    continue;
                }
                self.lines.ends.push(self.lines.bytes.len());
                self.lines.seqs.push(stored.seq);
            }
            let outcome = self.write().await;
            match outcome {
                Ok(WriteOutcome::Written { lines, removed, .. }) => {
                    self.consumer
                        .metrics
                        .forwarded
                        .fetch_add(lines as u64, Relaxed);
                    self.report_removed(&removed, cancel).await;
                    if self.alerted {
                        tracing::info!(output = %self.name, "audit storage has room again; writing resumed");
                        self.alerted = false;
                    }
                    self.advance(last_seq, cancel).await;
                }
                Ok(WriteOutcome::StorageFull {
                    written,
                    needed_bytes,
                    cause,
                    removed,
                    ..
                }) => {
                    self.consumer
                        .metrics
                        .forwarded
                        .fetch_add(written as u64, Relaxed);
                    self.report_removed(&removed, cancel).await;
                    let through = match written.checked_sub(1) {
                        Some(i) => self.lines.seqs.get(i).copied(),
                        // Skipped lines before the first unwritten one are done too.
                        None => None,
                    };
                    if let Some(seq) = through {
                        self.advance(seq, cancel).await;
                    }
                    let why = match cause {
                        FullCause::TotalBytes { used, limit } => format!(
                            "the audit files use {used} of max_total_bytes = {limit}; {needed_bytes} more bytes are needed"
                        ),
                        FullCause::ArchiveSlots { archives } => format!(
                            "all {archives} archive slots are taken and on_full = \"stop\" deletes none"
                        ),
                    };
                    self.storage_full(why, cancel).await;
                    if !self.retry_later(cancel).await {
                        return;
                    }
                }
                Err(err) if err.is_disk_full() => {
                    self.storage_full(err.to_string(), cancel).await;
                    if !self.retry_later(cancel).await {
                        return;
                    }
                }
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, error = %err, "audit file write failed; reopening and retrying");
                    self.file = None;
                    if !sleep_or_cancel(Duration::from_secs(1), cancel).await {
                        return;
                    }
                }
            }
        }
    }

    async fn open(&mut self, cancel: &CancellationToken) -> bool {
        loop {
            let cfg = audit_file_config(&self.config);
            match tokio::task::spawn_blocking(move || AuditFile::open(cfg)).await {
                Ok(Ok(file)) => {
                    let recovery = file.recovery();
                    if !recovery.is_clean() {
                        tracing::warn!(output = %self.name, ?recovery, "audit file repaired after an unclean stop");
                    }
                    self.file = Some(file);
                    return true;
                }
                Ok(Err(err)) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, error = %err, "cannot open the audit file; retrying");
                }
                Err(err) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    tracing::error!(output = %self.name, error = %err, "audit file open task failed; retrying");
                }
            }
            if !sleep_or_cancel(FULL_RETRY, cancel).await {
                return false;
            }
        }
    }

    async fn write(&mut self) -> Result<WriteOutcome, AuditFileError> {
        let Some(mut file) = self.file.take() else {
            return Err(AuditFileError::Config {
                key: "dir",
                reason: "audit file is not open".into(),
            });
        };
        let lines = std::mem::take(&mut self.lines);
        let joined = tokio::task::spawn_blocking(move || {
            let result = file.write_batch(&lines.slices());
            (file, lines, result)
        })
        .await;
        match joined {
            Ok((file, lines, result)) => {
                self.file = Some(file);
                self.lines = lines;
                result
            }
            Err(err) => Err(AuditFileError::Io {
                path: self.config.dir.clone(),
                op: "run the write task",
                source: std::io::Error::other(err.to_string()),
            }),
        }
    }

    async fn advance(&mut self, seq: u64, cancel: &CancellationToken) {
        if let Err(err) = self.consumer.advance(seq).await {
            self.consumer.metrics.errors.fetch_add(1, Relaxed);
            tracing::error!(output = %self.name, error = %err, "cannot advance the cursor; lines may be written again");
            sleep_or_cancel(Duration::from_secs(1), cancel).await;
        }
    }

    async fn retry_later(&mut self, cancel: &CancellationToken) -> bool {
        if !sleep_or_cancel(FULL_RETRY, cancel).await {
            return false;
        }
        // An operator may have moved archives away.
        if let Some(mut file) = self.file.take() {
            let joined = tokio::task::spawn_blocking(move || {
                let result = file.refresh_usage();
                (file, result)
            })
            .await;
            if let Ok((file, result)) = joined {
                if let Err(err) = result {
                    tracing::warn!(output = %self.name, error = %err, "cannot rescan the audit directory");
                }
                self.file = Some(file);
            }
        }
        true
    }

    async fn storage_full(&mut self, why: String, cancel: &CancellationToken) {
        self.consumer.metrics.full.fetch_add(1, Relaxed);
        if self.alerted {
            return;
        }
        self.alerted = true;
        let message = format!(
            "Audit storage full for audit file {} in {}: {why}; writing stopped, events are kept in the store and written once space is freed",
            self.config.name,
            self.config.dir.display()
        );
        tracing::error!(output = %self.name, "{message}");
        let event = internal_event(CODE_STORAGE_FULL, Severity::Alert, message);
        self.store_internal(event, cancel).await;
    }

    async fn report_removed(
        &mut self,
        removed: &[netaudit_auditfile::RemovedArchive],
        cancel: &CancellationToken,
    ) {
        for archive in removed {
            self.consumer.metrics.archives_removed.fetch_add(1, Relaxed);
            let message = format!(
                "Audit archive {} ({} bytes) deleted to make room ({:?}, on_full = overwrite-oldest)",
                archive.path.display(),
                archive.bytes,
                archive.reason
            );
            tracing::warn!(output = %self.name, "{message}");
            let event = internal_event(CODE_ARCHIVE_REMOVED, Severity::Warning, message);
            self.store_internal(event, cancel).await;
        }
    }

    /// Hands an internal event to the pipeline (it is stored like any other,
    /// then forwarded by the syslog outputs).
    async fn store_internal(&self, event: Event, cancel: &CancellationToken) {
        let metrics = &self.ctx.metrics;
        metrics.pending.fetch_add(1, Relaxed);
        let sent = tokio::select! {
            _ = cancel.cancelled() => false,
            result = self.ctx.alerts.send(vec![event.into()]) => result.is_ok(),
        };
        if sent {
            metrics.internal_events.fetch_add(1, Relaxed);
        } else {
            metrics.pending.fetch_sub(1, Relaxed);
            tracing::error!(output = %self.name, "pipeline closed; internal event not stored");
        }
    }
}
