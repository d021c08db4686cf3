//! What a subscription or a `<get-syslog-events>` reply sends: the store's
//! events read by sequence number (the store is the queue), the replay of
//! `startTime` first, then each commit's new events as the commit signal
//! wakes it (as the API's live stream does), each as a notification or a
//! streamed line. Runs as its own task, handing finished XML to the
//! session through a bounded channel: a slow client holds this task, not
//! the store.

use std::sync::Arc;
use std::time::Duration;

use netaudit_event::{Event, Severity};
use netaudit_netconf::filter::EventFilter;
use netaudit_netconf::notification::{
    notification_complete_xml, notification_xml, replay_complete_xml, SyslogEventContent,
};
use netaudit_netconf::syslog_events::syslog_event_xml;
use netaudit_store::{Order, Query, Store, StoredEvent};
use netaudit_syslog::{write_forwarded, ForwardFormat};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::commit_signal::CommitSignal;

/// Events read from the store per query.
const PAGE: usize = 512;
/// How long the live part waits for a commit before looking again (and
/// checking stopTime).
const POLL: Duration = Duration::from_secs(1);

/// How the events go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// RFC 5277 `<notification>` messages.
    Notifications,
    /// `<syslog-event>` elements of the open `<get-syslog-events>` reply.
    SyslogLines,
}

/// What the feed hands to the session.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A whole `<notification>` message.
    Notification(String),
    /// One `<syslog-event>` element of the open reply.
    Line(String),
    /// `replayComplete`: a notification that carries no event.
    Marker(String),
    /// The last notification (`notificationComplete`): the subscription is over.
    Complete(String),
}

/// One subscription's reading of the store.
pub(crate) struct Feed {
    pub store: Arc<Store>,
    pub committed: Arc<CommitSignal>,
    pub shape: Shape,
    pub filter: Option<EventFilter>,
    /// Replay the stored events from this time (Unix ns) first.
    pub start_ns: Option<i64>,
    /// End at this time (Unix ns), with `notificationComplete`.
    pub stop_ns: Option<i64>,
    /// The store's last sequence number when the request was answered:
    /// the replay ends there, the live part starts after it.
    pub head: u64,
}

impl Feed {
    /// Sends until the session goes away, `cancel` fires or stopTime passes.
    pub(crate) async fn run(self, tx: mpsc::Sender<Outgoing>, cancel: CancellationToken) {
        if let Err(err) = self.send_all(&tx, &cancel).await {
            // The client sees its session end; the cause goes to the log only.
            tracing::warn!(error = %err, "NETCONF exporter: the store cannot be read for a subscription; ending it");
        }
    }

    async fn send_all(
        &self,
        tx: &mpsc::Sender<Outgoing>,
        cancel: &CancellationToken,
    ) -> Result<(), netaudit_store::StoreError> {
        let head = self.head;
        if let Some(start) = self.start_ns {
            let mut after = 0;
            loop {
                let query = Query {
                    since_ns: Some(start),
                    until_ns: self.stop_ns,
                    after_seq: Some(after),
                    before_seq: Some(head.saturating_add(1)),
                    order: Order::Ascending,
                    limit: PAGE,
                    ..Query::default()
                };
                let events = self.read(query).await?;
                let Some(last) = events.last().map(|e| e.seq) else {
                    break;
                };
                after = last;
                if !self.send_events(events, tx, cancel).await {
                    return Ok(());
                }
            }
            let now = OffsetDateTime::now_utc();
            if !send(tx, cancel, Outgoing::Marker(replay_complete_xml(now))).await {
                return Ok(());
            }
        }
        let mut after = head;
        loop {
            if let Some(stop) = self.stop_ns {
                if now_ns() >= stop {
                    let now = OffsetDateTime::now_utc();
                    let _ = send(
                        tx,
                        cancel,
                        Outgoing::Complete(notification_complete_xml(now)),
                    )
                    .await;
                    return Ok(());
                }
            }
            // Registered before the read, so a commit between the read and
            // the wait is not missed.
            let committed = self.committed.notified();
            let query = Query {
                after_seq: Some(after),
                until_ns: self.stop_ns,
                order: Order::Ascending,
                limit: PAGE,
                ..Query::default()
            };
            let events = self.read(query).await?;
            if let Some(last) = events.last().map(|e| e.seq) {
                after = last;
                if !self.send_events(events, tx, cancel).await {
                    return Ok(());
                }
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tx.closed() => return Ok(()),
                _ = tokio::time::timeout(POLL, committed) => {}
            }
        }
    }

    async fn read(&self, query: Query) -> Result<Vec<StoredEvent>, netaudit_store::StoreError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.query(&query)).await {
            Ok(page) => Ok(page?.events),
            // The blocking pool is shutting down with the server.
            Err(_) => Ok(Vec::new()),
        }
    }

    /// `false` once the session is gone.
    async fn send_events(
        &self,
        events: Vec<StoredEvent>,
        tx: &mpsc::Sender<Outgoing>,
        cancel: &CancellationToken,
    ) -> bool {
        for stored in events {
            if !self.passes(&stored.event) {
                continue;
            }
            let item = render(stored, self.shape);
            if !send(tx, cancel, item).await {
                return false;
            }
        }
        true
    }

    fn passes(&self, event: &Event) -> bool {
        self.filter.as_ref().is_none_or(|f| {
            f.matches(
                event.code.as_deref().unwrap_or(""),
                event_severity(event),
                event.host.as_deref().unwrap_or(""),
            )
        })
    }
}

/// An event without a PRI is taken as notice (the RFC 3164 default).
fn event_severity(event: &Event) -> Severity {
    event.severity.unwrap_or(Severity::Notice)
}

async fn send(tx: &mpsc::Sender<Outgoing>, cancel: &CancellationToken, item: Outgoing) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        sent = tx.send(item) => sent.is_ok(),
    }
}

fn now_ns() -> i64 {
    crate::clock::now_ns()
}

/// A stored event as its notification or streamed line: the Junos
/// structured-data line (with `meta sequenceId`), and in a notification its
/// sequence number and chain value too.
pub(crate) fn render(stored: StoredEvent, shape: Shape) -> Outgoing {
    let StoredEvent {
        seq,
        chain,
        mut event,
        ..
    } = stored;
    let time_ns = event.time_ns.unwrap_or(event.received_ns);
    let severity = event_severity(&event);
    let code = event.code.clone().unwrap_or_default();
    let host = event.host.clone().unwrap_or_default();
    let mut line = Vec::with_capacity(event.raw.len() + 128);
    write_forwarded(seq, &mut event, ForwardFormat::Structured, &mut line);
    let line = String::from_utf8_lossy(&line);
    match shape {
        Shape::SyslogLines => Outgoing::Line(syslog_event_xml(&line)),
        Shape::Notifications => {
            let content = SyslogEventContent {
                sequence: seq,
                chain: hex::encode(chain).into(),
                code: code.as_str().into(),
                severity: severity.name().into(),
                host: host.as_str().into(),
                line: line.as_ref().into(),
            };
            let event_time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ns))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            Outgoing::Notification(notification_xml(event_time, &content.to_xml()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netaudit_netconf::notification::{parse_notification, NotificationContent};

    #[test]
    fn a_notification_carries_sequence_chain_and_the_structured_line() {
        let event = Event {
            received_ns: 1_765_000_000_000_000_000,
            time_ns: Some(1_765_000_000_123_000_000),
            host: Some("r1".into()),
            app: Some("mgd".into()),
            severity: Some(Severity::Info),
            code: Some("UI_CMDLINE_READ_LINE".into()),
            message: Some("User 'audit', command 'show <x> & y'".into()),
            ..Event::default()
        };
        let stored = StoredEvent {
            seq: 4711,
            epoch: 1,
            ts: 0,
            chain: [0xab; 32],
            event,
            params_in_raw: false,
        };
        let Outgoing::Notification(xml) = render(stored, Shape::Notifications) else {
            panic!("not a notification");
        };
        let parsed = parse_notification(xml.as_bytes()).unwrap();
        let NotificationContent::SyslogEvent(content) = parsed.content else {
            panic!("{xml}");
        };
        assert_eq!(content.sequence, 4711);
        assert_eq!(content.chain, "ab".repeat(32));
        assert_eq!(content.code, "UI_CMDLINE_READ_LINE");
        assert_eq!(content.severity, "info");
        assert!(content.line.contains("r1 mgd"), "{}", content.line);
        assert!(
            content.line.contains("sequenceId=\"4711\""),
            "{}",
            content.line
        );
        assert!(content.line.contains("show <x> & y"), "{}", content.line);
    }
}
