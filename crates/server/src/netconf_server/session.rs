//! One client's NETCONF session over any byte stream (the SSH channel, or
//! an in-memory pipe in the tests): netaudit's hello (base 1.0 and 1.1,
//! notification, interleave) and the framing it negotiates, then each
//! `<rpc>` answered (the stream list, `create-subscription`,
//! `get-syslog-events`, `close-session`, `rpc-error` for the rest) while
//! a subscription's notifications go out between the replies (interleave).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use netaudit_netconf::framing::Framing;
use netaudit_netconf::hello::{
    build_hello, negotiate, parse_hello, Sender, BASE_1_0, BASE_1_1, BASE_NS, INTERLEAVE,
    NOTIFICATION,
};
use netaudit_netconf::reply::{ok_reply_xml, reply_xml, RpcError};
use netaudit_netconf::rpc::{parse_rpc, Operation, Rpc};
use netaudit_netconf::streams::{streams_data_xml, StreamInfo};
use netaudit_netconf::subscription::CreateSubscription;
use netaudit_netconf::syslog_events::{
    syslog_events_open, GetSyslogEvents, DEFAULT_SYSLOG_STREAM, SYSLOG_EVENTS_CLOSE,
};
use netaudit_netconf::xml::parse_document;
use netaudit_netconf::NetconfError;
use netaudit_store::Store;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::feed::{Feed, Outgoing, Shape};
use super::wire::{MessageReader, MessageWriter};
use crate::commit_signal::CommitSignal;
use crate::metrics::netconf_server::NetconfServerMetrics;

/// The capabilities netaudit's hello offers.
pub(crate) const SERVER_CAPABILITIES: [&str; 5] = [
    BASE_1_0,
    BASE_1_1,
    NOTIFICATION,
    INTERLEAVE,
    // <get-syslog-events> answered as a Junos device answers it.
    "http://xml.juniper.net/netconf/junos/1.0",
];

/// The RFC 5277 streams netaudit offers: both carry every stored event.
pub(crate) const STREAMS: [&str; 2] = ["NETCONF", "syslog"];

/// Notifications queued between the store reader and the client.
const FEED_QUEUE: usize = 256;

/// What a session needs from the server.
#[derive(Clone)]
pub(crate) struct SessionContext {
    pub store: Arc<Store>,
    pub committed: Arc<CommitSignal>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Fires when netaudit stops.
    pub cancel: CancellationToken,
    /// How long the client has for its hello.
    pub hello_timeout: Duration,
}

/// Why a session ended (the `reason` of its termination event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// `<close-session/>`.
    CloseSession,
    /// The client closed the channel.
    ClientClosed,
    /// netaudit is stopping.
    ServerStopping,
    /// Bad input from the client: framing, XML, a message that is not an `<rpc>`.
    Protocol(String),
    /// The channel could not be written (the client went away).
    Write(String),
}

impl End {
    pub(crate) fn reason(&self) -> String {
        match self {
            End::CloseSession => "close-session".into(),
            End::ClientClosed => "the client closed the channel".into(),
            End::ServerStopping => "netaudit is stopping".into(),
            End::Protocol(what) => format!("bad input from the client: {what}"),
            End::Write(what) => format!("cannot write to the client: {what}"),
        }
    }
}

/// What is running on the session besides the replies.
enum Active {
    Nothing,
    /// A create-subscription: notifications until stopTime or the end.
    Subscription,
    /// The open `<get-syslog-events>` reply.
    SyslogReply,
}

/// A session after the hellos.
pub(crate) struct ServerSession<S> {
    reader: MessageReader<ReadHalf<S>>,
    writer: MessageWriter<WriteHalf<S>>,
    ctx: SessionContext,
    /// What the hellos settled, for the events and the log.
    pub negotiated: String,
    active: Active,
    feed: Option<mpsc::Receiver<Outgoing>>,
    feed_cancel: CancellationToken,
    /// Events sent (notifications carrying one, and lines).
    pub sent: u64,
}

fn metrics(ctx: &SessionContext) -> &NetconfServerMetrics {
    &ctx.metrics.netconf_server
}

/// Sends netaudit's hello with `session_id`, reads the client's within the
/// hello timeout and switches to the framing both offer.
pub(crate) async fn hello<S>(
    io: S,
    session_id: u32,
    ctx: SessionContext,
) -> Result<ServerSession<S>, String>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let mut reader = MessageReader::new(read);
    let mut writer = MessageWriter::new(write);
    writer
        .message(&build_hello(&SERVER_CAPABILITIES, Some(session_id)))
        .await
        .map_err(|e| format!("cannot send the hello: {e}"))?;
    let message = match tokio::time::timeout(ctx.hello_timeout, reader.next_message()).await {
        Err(_) => {
            return Err(format!(
                "no hello from the client within {} s",
                ctx.hello_timeout.as_secs()
            ))
        }
        Ok(Ok(Some(message))) => message,
        Ok(Ok(None)) => return Err("the client closed the channel before its hello".into()),
        Ok(Err(e)) => return Err(e.to_string()),
    };
    let client = parse_hello(&message, Sender::Client).map_err(|e| e.to_string())?;
    let framing = negotiate(&SERVER_CAPABILITIES, &client, 0).map_err(|e| e.to_string())?;
    reader.switch_to(framing).map_err(|e| e.to_string())?;
    writer.switch_to(framing);
    let negotiated = match framing {
        Framing::Chunked => "base:1.1 (chunked framing)",
        _ => "base:1.0 (end-of-message framing)",
    };
    Ok(ServerSession {
        reader,
        writer,
        negotiated: format!("{negotiated}, session-id {session_id}"),
        feed_cancel: ctx.cancel.child_token(),
        ctx,
        active: Active::Nothing,
        feed: None,
        sent: 0,
    })
}

/// The next item of the feed, or never when there is none.
async fn next_item(feed: &mut Option<mpsc::Receiver<Outgoing>>) -> Option<Outgoing> {
    match feed {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl<S: AsyncRead + AsyncWrite + Send + 'static> ServerSession<S> {
    /// Answers requests and sends the feed until the session ends.
    pub(crate) async fn serve(mut self) -> (End, u64) {
        let end = self.run().await;
        self.feed_cancel.cancel();
        if matches!(self.active, Active::SyslogReply) && !matches!(end, End::Write(_)) {
            let _ = self.close_syslog_reply().await;
        }
        self.writer.shutdown().await;
        (end, self.sent)
    }

    async fn run(&mut self) -> End {
        loop {
            tokio::select! {
                biased;
                _ = self.ctx.cancel.cancelled() => return End::ServerStopping,
                message = self.reader.next_message() => {
                    let message = match message {
                        Ok(Some(message)) => message,
                        Ok(None) => return End::ClientClosed,
                        Err(err) => {
                            metrics(&self.ctx).protocol_errors.fetch_add(1, Relaxed);
                            return End::Protocol(err.to_string());
                        }
                    };
                    if let Some(end) = self.request(&message).await {
                        return end;
                    }
                }
                item = next_item(&mut self.feed) => {
                    if let Err(end) = self.send_item(item).await {
                        return end;
                    }
                }
            }
        }
    }

    async fn send_item(&mut self, item: Option<Outgoing>) -> Result<(), End> {
        let written = match item {
            Some(Outgoing::Notification(xml)) => {
                metrics(&self.ctx).notifications.fetch_add(1, Relaxed);
                self.sent += 1;
                self.writer.message(&xml).await
            }
            Some(Outgoing::Marker(xml)) => {
                metrics(&self.ctx).notifications.fetch_add(1, Relaxed);
                self.writer.message(&xml).await
            }
            Some(Outgoing::Line(xml)) => {
                metrics(&self.ctx).syslog_events.fetch_add(1, Relaxed);
                self.sent += 1;
                self.writer.piece(&xml).await
            }
            Some(Outgoing::Complete(xml)) => {
                metrics(&self.ctx).notifications.fetch_add(1, Relaxed);
                self.feed = None;
                self.active = Active::Nothing;
                self.writer.message(&xml).await
            }
            None => {
                // The store could not be read (logged by the feed): the
                // subscription ends; an open reply is closed.
                self.feed = None;
                match std::mem::replace(&mut self.active, Active::Nothing) {
                    Active::SyslogReply => self.close_syslog_reply_now().await,
                    _ => Ok(()),
                }
            }
        };
        written.map_err(|e| End::Write(e.to_string()))
    }

    /// Answers one message; `Some` when the session must end.
    async fn request(&mut self, message: &[u8]) -> Option<End> {
        // A request while the get-syslog-events reply is open ends that
        // reply first: no other message can start inside it.
        if matches!(self.active, Active::SyslogReply) {
            if let Err(e) = self.close_syslog_reply().await {
                return Some(End::Write(e.to_string()));
            }
        }
        let rpc = match parse_rpc(message) {
            Ok(rpc) => rpc,
            Err(err) => return self.bad_request(message, err).await,
        };
        let answer = self.answer(&rpc).await;
        let written = match &answer {
            Answer::Reply(xml) => self.writer.message(xml).await,
            Answer::Error(error) => {
                self.writer
                    .message(&reply_xml(&rpc.message_id, &error.to_xml()))
                    .await
            }
            Answer::Close => self.writer.message(&ok_reply_xml(&rpc.message_id)).await,
            Answer::Started(start) => self.start(&rpc.message_id, start.clone()).await,
        };
        if let Err(e) = written {
            return Some(End::Write(e.to_string()));
        }
        matches!(answer, Answer::Close).then_some(End::CloseSession)
    }

    /// A message that is not a valid `<rpc>`: an `<rpc>` whose operation
    /// does not check out is answered with the reason and the session goes
    /// on; anything else (malformed XML, another root, no message-id) is
    /// answered `malformed-message` and ends the session (RFC 6241 4.3).
    async fn bad_request(&mut self, message: &[u8], err: NetconfError) -> Option<End> {
        let message_id = parse_document(message).ok().and_then(|root| {
            (root.name == "rpc")
                .then(|| root.attribute("message-id").map(|id| id.to_string()))
                .flatten()
                .filter(|id| !id.is_empty() && id.len() <= netaudit_netconf::rpc::MAX_MESSAGE_ID)
        });
        let text = err.to_string();
        match message_id {
            Some(id)
                if matches!(
                    err,
                    NetconfError::Unexpected { .. } | NetconfError::Filter { .. }
                ) =>
            {
                let reply = reply_xml(&id, &rpc_error("protocol", "bad-element", &text).to_xml());
                self.writer
                    .message(&reply)
                    .await
                    .err()
                    .map(|e| End::Write(e.to_string()))
            }
            _ => {
                metrics(&self.ctx).protocol_errors.fetch_add(1, Relaxed);
                let error = rpc_error("rpc", "malformed-message", &text);
                let reply = format!(
                    r#"<rpc-reply xmlns="{BASE_NS}">{}</rpc-reply>"#,
                    error.to_xml()
                );
                let _ = self.writer.message(&reply).await;
                Some(End::Protocol(text))
            }
        }
    }

    async fn answer(&self, rpc: &Rpc<'_>) -> Answer {
        match &rpc.operation {
            Operation::GetStreams => Answer::Reply(reply_xml(
                &rpc.message_id,
                &streams_data_xml(&self.streams().await),
            )),
            Operation::CreateSubscription(sub) => self.check_subscription(sub),
            Operation::GetSyslogEvents(get) => self.check_syslog_events(get),
            Operation::CloseSession => Answer::Close,
            Operation::Other { name } => Answer::Error(rpc_error(
                "protocol",
                "operation-not-supported",
                &format!("netaudit's NETCONF server does not support <{name}> (docs/netconf.md)"),
            )),
            _ => Answer::Error(rpc_error(
                "protocol",
                "operation-not-supported",
                "netaudit's NETCONF server does not support this operation",
            )),
        }
    }

    fn busy(&self) -> Option<Answer> {
        match self.active {
            Active::Nothing => None,
            _ => Some(Answer::Error(rpc_error(
                "protocol",
                "operation-failed",
                "a subscription is already active on this session (RFC 5277 section 2.1.1)",
            ))),
        }
    }

    fn check_subscription(&self, sub: &CreateSubscription) -> Answer {
        if let Some(busy) = self.busy() {
            return busy;
        }
        let stream = sub.stream_name();
        if !STREAMS.contains(&stream) {
            return Answer::Error(rpc_error(
                "application",
                "invalid-value",
                &format!("no stream {stream:?}: netaudit offers NETCONF and syslog"),
            ));
        }
        if sub
            .start_time
            .is_some_and(|start| start > OffsetDateTime::now_utc())
        {
            return Answer::Error(rpc_error(
                "protocol",
                "bad-element",
                "startTime is later than the current time (RFC 5277 section 2.1.1)",
            ));
        }
        Answer::Started(Start {
            shape: Shape::Notifications,
            filter: sub.filter.clone(),
            start_ns: sub.start_time.map(unix_ns),
            stop_ns: sub.stop_time.map(unix_ns),
        })
    }

    fn check_syslog_events(&self, get: &GetSyslogEvents) -> Answer {
        if let Some(busy) = self.busy() {
            return busy;
        }
        if get.stream != DEFAULT_SYSLOG_STREAM {
            return Answer::Error(rpc_error(
                "application",
                "invalid-value",
                &format!(
                    "no syslog stream {:?}: netaudit's is {DEFAULT_SYSLOG_STREAM:?}",
                    get.stream
                ),
            ));
        }
        Answer::Started(Start {
            shape: Shape::SyslogLines,
            filter: get.filter.clone(),
            start_ns: None,
            stop_ns: None,
        })
    }

    /// Replies, then starts the feed from the store's head as it is now,
    /// so that every event stored after the reply is sent.
    async fn start(&mut self, message_id: &str, start: Start) -> Result<(), NetconfError> {
        let head = self.ctx.store.last_seq();
        match start.shape {
            Shape::Notifications => {
                self.writer.message(&ok_reply_xml(message_id)).await?;
                self.active = Active::Subscription;
            }
            Shape::SyslogLines => {
                self.writer.piece(&syslog_events_open(message_id)).await?;
                self.active = Active::SyslogReply;
            }
        }
        let (tx, rx) = mpsc::channel(FEED_QUEUE);
        self.feed_cancel = self.ctx.cancel.child_token();
        let feed = Feed {
            store: self.ctx.store.clone(),
            committed: self.ctx.committed.clone(),
            shape: start.shape,
            filter: start.filter,
            start_ns: start.start_ns,
            stop_ns: start.stop_ns,
            head,
        };
        tokio::spawn(feed.run(tx, self.feed_cancel.clone()));
        self.feed = Some(rx);
        Ok(())
    }

    async fn close_syslog_reply(&mut self) -> Result<(), NetconfError> {
        self.feed_cancel.cancel();
        self.feed = None;
        self.active = Active::Nothing;
        self.close_syslog_reply_now().await
    }

    async fn close_syslog_reply_now(&mut self) -> Result<(), NetconfError> {
        self.writer.piece(SYSLOG_EVENTS_CLOSE).await?;
        self.writer.end_message().await
    }

    /// The stream list: both streams replay from the oldest stored event.
    async fn streams(&self) -> Vec<StreamInfo> {
        let store = self.ctx.store.clone();
        let oldest = tokio::task::spawn_blocking(move || store.partitions())
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|parts| parts.iter().filter_map(|p| p.min_ts).min());
        let created = oldest
            .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        [
            (
                "NETCONF",
                "every event netaudit stores (RFC 5277 default stream)",
            ),
            (
                "syslog",
                "every event netaudit stores, as Junos structured-data syslog lines",
            ),
        ]
        .into_iter()
        .map(|(name, description)| StreamInfo {
            name: name.into(),
            description: description.into(),
            replay_support: true,
            replay_log_creation_time: Some(created),
        })
        .collect()
    }
}

/// What a feed starts with.
#[derive(Clone)]
struct Start {
    shape: Shape,
    filter: Option<netaudit_netconf::filter::EventFilter>,
    start_ns: Option<i64>,
    stop_ns: Option<i64>,
}

enum Answer {
    Reply(String),
    Error(RpcError<'static>),
    Close,
    Started(Start),
}

fn rpc_error(error_type: &'static str, tag: &'static str, message: &str) -> RpcError<'static> {
    RpcError {
        error_type: error_type.into(),
        tag: tag.into(),
        severity: "error".into(),
        message: Some(message.to_string().into()),
    }
}

fn unix_ns(time: OffsetDateTime) -> i64 {
    i64::try_from(time.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}
