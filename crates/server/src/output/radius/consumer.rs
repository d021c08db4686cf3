//! The RADIUS accounting output: a store consumer with a durable cursor.
//!
//! ```text
//! store --events after `mapped`--> mapper --records--> queue --client--> server
//!   ^                                                                      |
//!   +------------- cursor `radius:<name>` advanced after the ack <---------+
//! ```
//!
//! Events are read in sequence order after the last one mapped, mapped once
//! (the mapper keeps the open sessions, so an event must not be mapped
//! twice) and queued. The queue is sent front first, up to
//! [`MAX_IN_FLIGHT`] events of different sessions at a time; the records of
//! one session go one after the other (a Stop never overtakes its Start). The durable cursor moves over an
//! event only once every record of it and of all events before it has been
//! acknowledged, so a record no server acknowledged is sent again later,
//! after a restart too: delivery is at-least-once.
//!
//! When no server acknowledges, the output pauses with a doubling delay and
//! tries the queue again (each try is a new request: Acct-Delay-Time has
//! grown). A record still undelivered after `alert_after` stores one alert
//! event, `NETAUDIT_RADIUS_UNDELIVERED`, per outage.
//!
//! After a restart the mapper's open sessions are rebuilt by mapping (and
//! discarding) the JUNOScope events of up to [`REPLAY_EVENTS`] sequence
//! numbers before the cursor, so a logout after the restart carries the
//! Acct-Session-Id of its login before it.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FuturesOrdered, StreamExt};
use netaudit_event::Severity;
use netaudit_radius::mapping::{AccountingMapper, AccountingRecord};
use netaudit_store::{Query, Store};
use netaudit_syslog::RawBackedEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::now_seconds;
use crate::commit_signal::CommitSignal;
use crate::config::output::radius::RadiusOutput;
use crate::metrics::radius::{RadiusConsumerMetrics, RadiusMetrics};
use crate::metrics::OutputMetrics;
use crate::output::consumer::{sleep_or_cancel, Consumer, OutputKind, StoreOpError};
use crate::output::radius::client::{AccountingClient, ClientError};
use crate::self_events::internal_event;

/// Events read from the store per step.
pub(crate) const CHUNK_EVENTS: usize = 500;
/// Events whose records are sent at the same time.
pub(crate) const MAX_IN_FLIGHT: usize = 64;
/// How far before the cursor the session replay looks, in sequence numbers.
pub(crate) const REPLAY_EVENTS: u64 = 1_000_000;
/// How often an idle output looks for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The code of the alert event stored when records stay undelivered.
pub(crate) const CODE_UNDELIVERED: &str = "NETAUDIT_RADIUS_UNDELIVERED";

/// One event's records, waiting for acknowledgement.
struct Pending {
    sequence: u64,
    records: Vec<AccountingRecord>,
    /// How many of `records` are already acknowledged.
    acknowledged: usize,
}

/// The running output.
pub(crate) struct RadiusConsumer {
    name: String,
    /// The durable cursor and the server's generic output counters
    /// (`netaudit_output_*`, kept apart when running outside `serve`).
    consumer: Consumer,
    client: AccountingClient,
    mapper: AccountingMapper,
    alerts: mpsc::Sender<Vec<RawBackedEvent>>,
    metrics: Arc<RadiusConsumerMetrics>,
    retry_initial: Duration,
    retry_max: Duration,
    alert_after: Duration,
    /// The last event mapped into `queue`.
    mapped: u64,
    queue: VecDeque<Pending>,
}

impl RadiusConsumer {
    /// Opens the client and reads the cursor; replays the events before it
    /// to learn the open sessions.
    pub(crate) async fn open(
        output: RadiusOutput,
        store: Arc<Store>,
        alerts: mpsc::Sender<Vec<RawBackedEvent>>,
        client_metrics: Arc<RadiusMetrics>,
        metrics: Arc<RadiusConsumerMetrics>,
    ) -> anyhow::Result<RadiusConsumer> {
        let mapper = AccountingMapper::new(&output.dictionary, output.nas.clone())?;
        let client = AccountingClient::new(output.servers, output.options, client_metrics).await?;
        let store_consumer = Consumer::try_open(
            OutputKind::Radius,
            &output.name,
            store,
            None,
            Arc::new(OutputMetrics::default()),
        )
        .await?;
        let cursor = store_consumer.cursor();
        metrics.delivered_seq.store(cursor, Relaxed);
        let mut consumer = RadiusConsumer {
            name: output.name,
            consumer: store_consumer,
            client,
            mapper,
            alerts,
            metrics,
            retry_initial: output.retry_initial,
            retry_max: output.retry_max,
            alert_after: output.alert_after,
            mapped: cursor,
            queue: VecDeque::new(),
        };
        consumer.replay_sessions().await?;
        Ok(consumer)
    }

    /// Also keeps `metrics` (delivered sequence, forwarded records, errors)
    /// up to date.
    pub(crate) fn with_output_metrics(mut self, metrics: Arc<OutputMetrics>) -> RadiusConsumer {
        self.consumer.set_metrics(metrics);
        self
    }

    /// Wakes up at every commit of the pipeline instead of only polling.
    pub(crate) fn with_commits(mut self, commits: Arc<CommitSignal>) -> RadiusConsumer {
        self.consumer.set_commits(commits);
        self
    }

    /// Maps (and discards) the JUNOScope events before the cursor.
    async fn replay_sessions(&mut self) -> Result<(), StoreOpError> {
        let cursor = self.consumer.cursor();
        let mut after = cursor.saturating_sub(REPLAY_EVENTS);
        // Bounded: each page moves `after` forward, and it stops at the cursor.
        while after < cursor {
            let query = Query {
                code: Some("JUNOSCOPE_*".to_string()),
                after_seq: Some(after),
                before_seq: Some(cursor.saturating_add(1)),
                limit: CHUNK_EVENTS,
                ..Query::default()
            };
            let page = self.consumer.query(query).await?;
            for stored in &page.events {
                self.mapper.map(stored.seq, &stored.event);
            }
            match page.next {
                Some(next) if next > after => after = next,
                _ => break,
            }
        }
        if self.mapper.open_sessions() > 0 {
            tracing::info!(output = %self.name, sessions = self.mapper.open_sessions(), "RADIUS sessions still open before the cursor");
        }
        Ok(())
    }

    /// Runs until `cancel` fires. Every error is logged, counted and retried.
    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        let mut delay = self.retry_initial;
        let mut failing_since: Option<Instant> = None;
        let mut alerted = false;
        while !cancel.is_cancelled() {
            if let Err(error) = self.fill_queue().await {
                self.metrics.store_errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, %error, "cannot read events for RADIUS accounting; retrying");
                if !sleep_or_cancel(Duration::from_secs(1), &cancel).await {
                    break;
                }
                continue;
            }
            if self.queue.is_empty() {
                self.advance_cursor_to(self.mapped).await;
                if !self
                    .consumer
                    .wait_for_events(self.mapped, POLL_INTERVAL, &cancel)
                    .await
                {
                    break;
                }
                continue;
            }
            let result = tokio::select! {
                result = self.send_queue() => result,
                _ = cancel.cancelled() => break,
            };
            // Save progress before pausing or going on.
            let delivered = self
                .queue
                .front()
                .map_or(self.mapped, |p| p.sequence.saturating_sub(1));
            self.advance_cursor_to(delivered).await;
            match result {
                Ok(()) => {
                    if failing_since.take().is_some() {
                        tracing::info!(output = %self.name, "RADIUS accounting delivers again");
                    }
                    self.metrics.failing_since.store(0, Relaxed);
                    alerted = false;
                    delay = self.retry_initial;
                }
                Err(error) => {
                    self.consumer.metrics.errors.fetch_add(1, Relaxed);
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if self.metrics.failing_since.load(Relaxed) == 0 {
                        self.metrics.failing_since.store(now_seconds(), Relaxed);
                    }
                    tracing::warn!(output = %self.name, %error, retry_in_ms = delay.as_millis() as u64, "RADIUS accounting records not acknowledged");
                    if !alerted && since.elapsed() >= self.alert_after {
                        alerted = self.store_alert(&error, since.elapsed(), &cancel).await;
                    }
                    if !sleep_or_cancel(delay, &cancel).await {
                        break;
                    }
                    delay = (delay * 2).min(self.retry_max);
                }
            }
        }
        // What was acknowledged is behind the cursor already.
        let delivered = self
            .queue
            .front()
            .map_or(self.mapped, |p| p.sequence.saturating_sub(1));
        self.advance_cursor_to(delivered).await;
    }

    /// Reads and maps events after `mapped` while the queue is short.
    async fn fill_queue(&mut self) -> Result<(), StoreOpError> {
        let last = self.consumer.store_last_seq();
        self.metrics
            .lag_events
            .store(last.saturating_sub(self.consumer.cursor()), Relaxed);
        if self.queue.len() >= CHUNK_EVENTS || self.mapped >= last {
            return Ok(());
        }
        let events = self.consumer.read_after(self.mapped, CHUNK_EVENTS).await?;
        for stored in events {
            let records = self.mapper.map(stored.seq, &stored.event);
            self.mapped = stored.seq;
            if !records.is_empty() {
                self.queue.push_back(Pending {
                    sequence: stored.seq,
                    records,
                    acknowledged: 0,
                });
            }
        }
        self.update_queued();
        Ok(())
    }

    fn update_queued(&self) {
        let queued: usize = self
            .queue
            .iter()
            .map(|p| p.records.len() - p.acknowledged)
            .sum();
        self.metrics.queued_records.store(queued as u64, Relaxed);
    }

    /// Sends the queue front first, up to [`MAX_IN_FLIGHT`] events at once;
    /// removes what was acknowledged, in order, and stops at the first
    /// event that was not.
    async fn send_queue(&mut self) -> Result<(), ClientError> {
        // Events of one session go one after the other (a Stop must not
        // overtake its Start); different sessions go in parallel.
        let mut sessions: Vec<&str> = Vec::new();
        let mut take = 0;
        for pending in self.queue.iter().take(MAX_IN_FLIGHT) {
            let ids: Vec<&str> = pending
                .records
                .iter()
                .map(|r| r.session_id.as_str())
                .collect();
            if take > 0 && ids.iter().any(|id| sessions.contains(id)) {
                break;
            }
            sessions.extend(ids);
            take += 1;
        }
        let client = &self.client;
        let mut sends: FuturesOrdered<_> = self
            .queue
            .iter()
            .take(take)
            .map(|pending| async move {
                let mut acknowledged = pending.acknowledged;
                for record in pending.records.iter().skip(pending.acknowledged) {
                    let sent = client
                        .send(|| record.attributes_with_delay(record.delay_at(now_seconds())))
                        .await;
                    match sent {
                        Ok(_) => acknowledged += 1,
                        Err(error) => return (acknowledged, Err(error)),
                    }
                }
                (acknowledged, Ok(()))
            })
            .collect();
        let mut outcome = Ok(());
        let mut done = Vec::with_capacity(take);
        while let Some((acknowledged, result)) = sends.next().await {
            let failed = result.is_err();
            done.push(acknowledged);
            if let Err(error) = result {
                outcome = Err(error);
            }
            if failed {
                break;
            }
        }
        drop(sends);
        let newly: usize = self
            .queue
            .iter()
            .zip(&done)
            .map(|(pending, acknowledged)| acknowledged.saturating_sub(pending.acknowledged))
            .sum();
        self.consumer
            .metrics
            .forwarded
            .fetch_add(newly as u64, Relaxed);
        for acknowledged in done {
            let complete = match self.queue.front_mut() {
                Some(front) => {
                    front.acknowledged = acknowledged;
                    acknowledged >= front.records.len()
                }
                None => false,
            };
            if !complete {
                break;
            }
            self.queue.pop_front();
        }
        self.update_queued();
        outcome
    }

    /// Writes the durable cursor (no-op when already there); follows it
    /// when an operator tool moved it.
    async fn advance_cursor_to(&mut self, to: u64) {
        match self.consumer.advance(to).await {
            Ok(()) => {}
            Err(StoreOpError::CursorMoved { .. }) => {
                self.metrics.store_errors.fetch_add(1, Relaxed);
            }
            Err(error) => {
                self.metrics.store_errors.fetch_add(1, Relaxed);
                tracing::error!(output = %self.name, %error, "cannot advance the RADIUS output cursor; will retry");
            }
        }
        self.metrics
            .delivered_seq
            .store(self.consumer.cursor(), Relaxed);
    }

    /// Stores one alert event; `false` if the pipeline is closed.
    async fn store_alert(
        &self,
        error: &ClientError,
        for_how_long: Duration,
        cancel: &CancellationToken,
    ) -> bool {
        let first = self.queue.front().map_or(0, |p| p.sequence);
        let message = format!(
            "RADIUS accounting output {} has not delivered event {first} for {}s ({} record(s) waiting): {error}",
            self.name,
            for_how_long.as_secs(),
            self.metrics.queued_records.load(Relaxed)
        );
        tracing::error!(output = %self.name, "{message}");
        let event = internal_event(CODE_UNDELIVERED, Severity::Alert, message);
        let sent = tokio::select! {
            _ = cancel.cancelled() => false,
            result = self.alerts.send(vec![event.into()]) => result.is_ok(),
        };
        if sent {
            self.metrics.alerts.fetch_add(1, Relaxed);
        }
        sent
    }
}
