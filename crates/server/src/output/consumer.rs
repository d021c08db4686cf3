//! The one way an output reads the store: its durable cursor (named by
//! [`OutputKind::cursor_name`]), reads after it, waiting for commits, and
//! moving the cursor once delivery is confirmed. Every output (syslog,
//! audit file, RADIUS) and every event policy (`policy/`) goes through a
//! [`Consumer`]. On the embedded store it reads by sequence number; on a
//! PostgreSQL store (`pg_source.rs`, while this node owns the output) by
//! each node's cursor, in ordinals the outputs count the same way.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use netaudit_store::{Page, Query, Store, StoreError, StoredEvent};
use tokio_util::sync::CancellationToken;

use crate::commit_signal::CommitSignal;
use crate::metrics::OutputMetrics;
use crate::output::context::{OutputContext, OutputStore};
use crate::output::pg_source::{PgSource, PgSourceError};

/// Events read from the store per step.
pub(crate) const CHUNK_EVENTS: usize = 1000;

/// How long an idle output waits for a commit notification before looking
/// at the store anyway (a missed notification costs at most this).
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The kinds of output; each kind's cursors have their own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum OutputKind {
    Syslog,
    File,
    Radius,
    /// A policy's evaluation (`policy:<name>`).
    Policy,
    /// A policy's actions (`policy-action:<name>`).
    PolicyAction,
}

impl OutputKind {
    /// The durable cursor's name in the store for output `name`; the only
    /// place these names are spelled.
    pub(crate) fn cursor_name(self, name: &str) -> String {
        let prefix = match self {
            OutputKind::Syslog => "syslog",
            OutputKind::File => "file",
            OutputKind::Radius => "radius",
            OutputKind::Policy => "policy",
            OutputKind::PolicyAction => "policy-action",
        };
        format!("{prefix}:{name}")
    }
}

/// A store operation of an output failed; the output logs it, counts it
/// and retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreOpError {
    #[error("cursor {cursor}: cannot read it: {source}")]
    ReadCursor {
        cursor: String,
        #[source]
        source: StoreError,
    },
    #[error("cursor {cursor}: read events after {after}: {source}")]
    Read {
        cursor: String,
        after: u64,
        #[source]
        source: StoreError,
    },
    #[error("cursor {cursor} was at {found}, expected {expected}")]
    CursorMoved {
        cursor: String,
        expected: u64,
        found: u64,
    },
    #[error("advance cursor {cursor} to {to}: {source}")]
    Advance {
        cursor: String,
        to: u64,
        #[source]
        source: StoreError,
    },
    #[error("cursor {cursor}: store task failed: {source}")]
    Task {
        cursor: String,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("output {cursor} on the PostgreSQL store: {source}")]
    Cluster {
        cursor: String,
        #[source]
        source: PgSourceError,
    },
    #[error("output {cursor}: {what} is not available on a PostgreSQL store")]
    NotOnCluster { cursor: String, what: &'static str },
}

/// Where a consumer reads.
enum Source {
    /// The embedded store, by sequence number.
    Sqlite(Arc<Store>),
    /// A PostgreSQL store, while this node owns the output.
    Postgres(PgSource),
}

/// Reads from the store for one output: its cursor, its chunks, its wake-ups.
pub(crate) struct Consumer {
    source: Source,
    /// Commit wake-ups; without them (an output run outside `serve`) the
    /// consumer polls.
    commits: Option<Arc<CommitSignal>>,
    cursor_name: String,
    pub metrics: Arc<OutputMetrics>,
    /// The durable cursor: every event up to here has been delivered.
    cursor: u64,
    /// On PostgreSQL: the commit count when the last read began.
    seen_commits: std::sync::atomic::AtomicU64,
}

impl Consumer {
    /// Reads the durable cursor of output `name` (retrying every second
    /// until the store answers or `cancel` fires; `None` when cancelled).
    pub(crate) async fn open(
        kind: OutputKind,
        name: &str,
        ctx: &OutputContext,
        cancel: &CancellationToken,
    ) -> Option<Consumer> {
        let metrics = ctx.metrics.output(name);
        for attempt in 0u64.. {
            let opened = match &ctx.store {
                OutputStore::Sqlite(store) => {
                    let commits = Some(ctx.metrics.committed.clone());
                    Consumer::try_open(kind, name, store.clone(), commits, metrics.clone()).await
                }
                OutputStore::Postgres { cluster, owned } => {
                    Consumer::try_open_cluster(kind, name, cluster, owned.as_deref(), &metrics)
                        .await
                }
            };
            match opened {
                Ok(consumer) => return Some(consumer),
                Err(error) => {
                    tracing::error!(output = %name, attempt, %error, "cannot read the output cursor; retrying");
                }
            }
            metrics.errors.fetch_add(1, Relaxed);
            if !sleep_or_cancel(Duration::from_secs(1), cancel).await {
                return None;
            }
        }
        None
    }

    /// Reads the durable cursor once.
    pub(crate) async fn try_open(
        kind: OutputKind,
        name: &str,
        store: Arc<Store>,
        commits: Option<Arc<CommitSignal>>,
        metrics: Arc<OutputMetrics>,
    ) -> Result<Consumer, StoreOpError> {
        let cursor_name = kind.cursor_name(name);
        let key = cursor_name.clone();
        let cursor = match blocking(&store, move |store| store.cursor(&key)).await {
            Ok(Ok(cursor)) => cursor,
            Ok(Err(source)) => {
                return Err(StoreOpError::ReadCursor {
                    cursor: cursor_name,
                    source,
                })
            }
            Err(source) => {
                return Err(StoreOpError::Task {
                    cursor: cursor_name,
                    source,
                })
            }
        };
        metrics.delivered_seq.store(cursor, Relaxed);
        Ok(Consumer {
            source: Source::Sqlite(store),
            commits,
            cursor_name,
            metrics,
            cursor,
            seen_commits: Default::default(),
        })
    }

    /// Reads the output's cursors on a PostgreSQL store through this node's
    /// lease (`owned`, set by `ownership::run_owned`).
    async fn try_open_cluster(
        kind: OutputKind,
        name: &str,
        cluster: &crate::output::cluster::ClusterOutputs,
        owned: Option<&crate::output::pg_source::OwnedOutput>,
        metrics: &Arc<OutputMetrics>,
    ) -> Result<Consumer, StoreOpError> {
        let cursor_name = kind.cursor_name(name);
        let Some(owned) = owned else {
            return Err(StoreOpError::NotOnCluster {
                cursor: cursor_name,
                what: "an output run without its lease",
            });
        };
        let source = PgSource::open(owned)
            .await
            .map_err(|source| StoreOpError::Cluster {
                cursor: cursor_name.clone(),
                source,
            })?;
        metrics.delivered_seq.store(0, Relaxed);
        Ok(Consumer {
            source: Source::Postgres(source),
            commits: Some(cluster.commits.clone()),
            cursor_name,
            metrics: metrics.clone(),
            cursor: 0,
            seen_commits: Default::default(),
        })
    }

    /// Counts into `metrics` from now on (the cursor included).
    pub(crate) fn set_metrics(&mut self, metrics: Arc<OutputMetrics>) {
        metrics.delivered_seq.store(self.cursor, Relaxed);
        self.metrics = metrics;
    }

    /// Waits on `commits` from now on instead of only polling.
    pub(crate) fn set_commits(&mut self, commits: Arc<CommitSignal>) {
        self.commits = Some(commits);
    }

    /// The durable cursor: every event up to here has been delivered.
    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    /// One page of the store.
    pub(crate) async fn query(&self, query: Query) -> Result<Page, StoreOpError> {
        let after = query.after_seq.unwrap_or(0);
        let store = match &self.source {
            Source::Sqlite(store) => store,
            Source::Postgres(_) => {
                return Err(StoreOpError::NotOnCluster {
                    cursor: self.cursor_name.clone(),
                    what: "a query by sequence number",
                })
            }
        };
        match blocking(store, move |store| store.query(&query)).await {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(source)) => Err(StoreOpError::Read {
                cursor: self.cursor_name.clone(),
                after,
                source,
            }),
            Err(source) => Err(StoreOpError::Task {
                cursor: self.cursor_name.clone(),
                source,
            }),
        }
    }

    /// Up to `limit` events after `after`, in sequence order.
    pub(crate) async fn read_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreOpError> {
        if let Source::Postgres(source) = &self.source {
            let commits = self.commits.as_ref().map_or(0, |c| c.last_seq());
            self.seen_commits.store(commits, Relaxed);
            return source
                .read_after(after, limit)
                .await
                .map_err(|source| StoreOpError::Cluster {
                    cursor: self.cursor_name.clone(),
                    source,
                });
        }
        let query = Query {
            after_seq: Some(after),
            limit,
            ..Query::default()
        };
        Ok(self.query(query).await?.events)
    }

    /// [`Consumer::read_after`] with the SD parameters left in the raw
    /// bytes (`StoredEvent::with_params` parses one event's): the policies
    /// look at few events' parameters, and parsing them was most of the
    /// read-back's cost.
    pub(crate) async fn read_after_params_unparsed(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreOpError> {
        let store = match &self.source {
            Source::Sqlite(store) => store,
            // Events read from PostgreSQL come with their parameters parsed.
            Source::Postgres(_) => return self.read_after(after, limit).await,
        };
        let query = Query {
            after_seq: Some(after),
            limit,
            ..Query::default()
        };
        let cursor = self.cursor_name.clone();
        match blocking(store, move |store| store.query_params_unparsed(&query)).await {
            Ok(Ok(page)) => Ok(page.events),
            Ok(Err(source)) => Err(StoreOpError::Read {
                cursor,
                after,
                source,
            }),
            Err(source) => Err(StoreOpError::Task { cursor, source }),
        }
    }

    /// Moves the durable cursor to `to` (no-op when already there). When
    /// someone else moved it, the consumer follows the store and reports
    /// [`StoreOpError::CursorMoved`].
    pub(crate) async fn advance(&mut self, to: u64) -> Result<(), StoreOpError> {
        if to <= self.cursor {
            return Ok(());
        }
        let store = match &self.source {
            Source::Sqlite(store) => store,
            Source::Postgres(source) => {
                let again = source
                    .advance(to)
                    .await
                    .map_err(|source| StoreOpError::Cluster {
                        cursor: self.cursor_name.clone(),
                        source,
                    })?;
                PgSource::count_again(&self.metrics, again);
                self.cursor = to;
                self.metrics.delivered_seq.store(to, Relaxed);
                return Ok(());
            }
        };
        let (name, from) = (self.cursor_name.clone(), self.cursor);
        match blocking(store, move |store| store.advance_cursor(&name, from, to)).await {
            Ok(Ok(())) => {
                self.cursor = to;
                self.metrics.delivered_seq.store(to, Relaxed);
                Ok(())
            }
            Ok(Err(StoreError::CursorConflict { found, .. })) => {
                // Someone else moved it (an operator tool): follow the store.
                tracing::warn!(cursor = %self.cursor_name, expected = from, found, "cursor moved by someone else; following it");
                self.cursor = found;
                self.metrics.delivered_seq.store(found, Relaxed);
                Err(StoreOpError::CursorMoved {
                    cursor: self.cursor_name.clone(),
                    expected: from,
                    found,
                })
            }
            Ok(Err(source)) => Err(StoreOpError::Advance {
                cursor: self.cursor_name.clone(),
                to,
                source,
            }),
            Err(source) => Err(StoreOpError::Task {
                cursor: self.cursor_name.clone(),
                source,
            }),
        }
    }

    /// The store's last sequence number, whoever appended it (on a
    /// PostgreSQL store, where positions are ordinals: the cursor).
    pub(crate) fn store_last_seq(&self) -> u64 {
        match &self.source {
            Source::Sqlite(store) => store.last_seq(),
            Source::Postgres(_) => self.cursor,
        }
    }

    /// Waits until events after `after` may exist, `timeout` passes, or
    /// `cancel` fires (then `false`).
    pub(crate) async fn wait_for_events(
        &self,
        after: u64,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> bool {
        let Some(commits) = &self.commits else {
            return sleep_or_cancel(timeout.min(POLL_INTERVAL), cancel).await;
        };
        let notified = commits.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // On PostgreSQL the signal counts commits of every node: any since
        // the last read may have brought events.
        let seen = match &self.source {
            Source::Sqlite(_) => after,
            Source::Postgres(_) => self.seen_commits.load(Relaxed),
        };
        if commits.last_seq() > seen {
            return !cancel.is_cancelled();
        }
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = notified => true,
            _ = tokio::time::sleep(timeout.min(POLL_INTERVAL)) => true,
        }
    }
}

/// Runs a store call off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<Store>,
    call: impl FnOnce(&Store) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(&store)).await
}

/// Sleeps `delay` unless cancelled first (then `false`).
pub(crate) async fn sleep_or_cancel(delay: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_cursor_prefix() {
        assert_eq!(OutputKind::Syslog.cursor_name("siem"), "syslog:siem");
        assert_eq!(OutputKind::File.cursor_name("audit"), "file:audit");
        assert_eq!(OutputKind::Radius.cursor_name("aaa"), "radius:aaa");
        assert_eq!(OutputKind::Policy.cursor_name("p"), "policy:p");
        assert_eq!(OutputKind::PolicyAction.cursor_name("p"), "policy-action:p");
    }
}
