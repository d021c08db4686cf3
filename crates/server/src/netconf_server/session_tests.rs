//! A whole exporter session over an in-memory pipe against a real store:
//! the hellos, the stream list, an unknown operation, a subscription with
//! a filter, its replay and a live event, a second subscription refused,
//! close-session; and malformed XML ending the session.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use netaudit_event::{Event, Severity};
use netaudit_netconf::framing::Framing;
use netaudit_store::{Store, StoreConfig};
use tokio::io::DuplexStream;
use tokio_util::sync::CancellationToken;

use super::session::{hello, End, SessionContext};
use super::wire::{MessageReader, MessageWriter};
use crate::metrics::Metrics;

fn event(code: &str, n: u32) -> Event {
    Event {
        received_ns: 1_765_000_000_000_000_000,
        time_ns: Some(1_765_000_000_000_000_000 + i64::from(n)),
        host: Some("r1".into()),
        app: Some("mgd".into()),
        severity: Some(Severity::Info),
        code: Some(code.into()),
        message: Some(format!("event {n}").into()),
        raw: b"x".to_vec(),
        ..Event::default()
    }
}

struct Client {
    reader: MessageReader<tokio::io::ReadHalf<DuplexStream>>,
    writer: MessageWriter<tokio::io::WriteHalf<DuplexStream>>,
}

impl Client {
    async fn next(&mut self) -> String {
        let message: Bytes =
            tokio::time::timeout(Duration::from_secs(10), self.reader.next_message())
                .await
                .expect("a message within 10 s")
                .expect("framing")
                .expect("not the end");
        String::from_utf8(message.to_vec()).expect("utf-8")
    }

    async fn rpc(&mut self, id: u32, operation: &str) {
        self.writer
            .message(&format!(
                r#"<rpc message-id="{id}" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{operation}</rpc>"#
            ))
            .await
            .expect("write");
    }
}

/// A store, a session task on one end of a pipe, the client on the other
/// after the hellos (base:1.1).
async fn open(
    dir: &std::path::Path,
) -> (
    Arc<Store>,
    Arc<Metrics>,
    Client,
    tokio::task::JoinHandle<(End, u64)>,
) {
    let mut config = StoreConfig::new(dir.join("netaudit.db"));
    config.background = false;
    let store = Arc::new(Store::open(config).expect("store"));
    let metrics = Arc::new(Metrics::new());
    let ctx = SessionContext {
        store: store.clone(),
        committed: metrics.committed.clone(),
        metrics: metrics.clone(),
        cancel: CancellationToken::new(),
        hello_timeout: Duration::from_secs(10),
    };
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move {
        match hello(ours, 7, ctx).await {
            Ok(session) => session.serve().await,
            Err(reason) => (End::Protocol(reason), 0),
        }
    });
    let (read, write) = tokio::io::split(theirs);
    let mut client = Client {
        reader: MessageReader::new(read),
        writer: MessageWriter::new(write),
    };
    let server_hello = client.next().await;
    assert!(
        server_hello.contains("<session-id>7</session-id>"),
        "{server_hello}"
    );
    assert!(
        server_hello.contains("capability:interleave:1.0"),
        "{server_hello}"
    );
    client
        .writer
        .message(r#"<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>"#)
        .await
        .expect("hello");
    client.reader.switch_to(Framing::Chunked).expect("switch");
    client.writer.switch_to(Framing::Chunked);
    (store, metrics, client, server)
}

#[tokio::test]
async fn streams_errors_a_filtered_replay_then_live_and_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, metrics, mut client, server) = open(dir.path()).await;
    store
        .append_batch(&[event("WANTED", 1), event("OTHER", 2)])
        .expect("append");

    client.rpc(1, "<edit-config/>").await;
    let reply = client.next().await;
    assert!(
        reply.contains(r#"message-id="1""#) && reply.contains("operation-not-supported"),
        "{reply}"
    );

    client.rpc(2, "<get/>").await;
    let reply = client.next().await;
    assert!(
        reply.contains("<name>NETCONF</name>") && reply.contains("<name>syslog</name>"),
        "{reply}"
    );
    assert!(
        reply.contains("<replaySupport>true</replaySupport>"),
        "{reply}"
    );

    client.rpc(3, r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><stream>nope</stream></create-subscription>"#).await;
    assert!(client.next().await.contains("invalid-value"));

    // A filter outside the subset is answered with where and why; the
    // session goes on (the next subscription below is served).
    client.rpc(30, r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><filter type="subtree"><syslog-event xmlns="urn:netaudit:xml:ns:syslog-event:1"><severity>loud</severity></syslog-event></filter></create-subscription>"#).await;
    let reply = client.next().await;
    assert!(
        reply.contains(r#"message-id="30""#)
            && reply.contains("bad-element")
            && reply.contains("unknown severity"),
        "{reply}"
    );
    client.rpc(31, r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><filter type="xpath" select="/syslog-event"/></create-subscription>"#).await;
    let reply = client.next().await;
    assert!(
        reply.contains("bad-element") && reply.contains("xpath"),
        "{reply}"
    );

    client
        .rpc(
            4,
            r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><filter type="subtree"><syslog-event xmlns="urn:netaudit:xml:ns:syslog-event:1"><code>WANTED</code></syslog-event></filter><startTime>2020-01-01T00:00:00Z</startTime></create-subscription>"#,
        )
        .await;
    assert!(client.next().await.contains("<ok/>"));
    let replayed = client.next().await;
    assert!(
        replayed.contains("<sequence>1</sequence>") && replayed.contains("event 1"),
        "{replayed}"
    );
    assert!(client.next().await.contains("<replayComplete/>"));

    // Interleave: another request is answered while the subscription runs.
    client
        .rpc(
            5,
            r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"/>"#,
        )
        .await;
    assert!(client.next().await.contains("operation-failed"));

    let seqs = store
        .append_batch(&[event("OTHER", 3), event("WANTED", 4)])
        .expect("append");
    metrics.committed.publish(*seqs.last().expect("seq"));
    let live = client.next().await;
    assert!(
        live.contains("<sequence>4</sequence>") && live.contains("event 4"),
        "{live}"
    );

    client.rpc(6, "<close-session/>").await;
    let reply = client.next().await;
    assert!(
        reply.contains(r#"message-id="6""#) && reply.contains("<ok/>"),
        "{reply}"
    );
    let (end, sent) = server.await.expect("session task");
    assert_eq!(end, End::CloseSession);
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn malformed_xml_is_answered_then_ends_the_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, metrics, mut client, server) = open(dir.path()).await;
    client
        .writer
        .message("<rpc message-id=\"1\"><get>")
        .await
        .expect("write");
    let reply = client.next().await;
    assert!(
        reply.contains("malformed-message") && !reply.contains("message-id"),
        "{reply}"
    );
    let (end, _) = server.await.expect("session task");
    assert!(matches!(end, End::Protocol(_)), "{end:?}");
    assert_eq!(
        metrics
            .netconf_server
            .protocol_errors
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn a_stop_time_in_the_past_replays_up_to_it_then_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _metrics, mut client, server) = open(dir.path()).await;
    // Event times 1_765_000_000 s + n ns: 2025-12-06T05:46:40Z.
    store
        .append_batch(&[event("A", 1), event("A", 2)])
        .expect("append");
    let mut late = event("A", 3);
    late.time_ns = Some(1_766_000_000_000_000_000);
    store.append_batch(&[late]).expect("append");
    client
        .rpc(
            1,
            r#"<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><startTime>2025-01-01T00:00:00Z</startTime><stopTime>2025-12-07T00:00:00Z</stopTime></create-subscription>"#,
        )
        .await;
    assert!(client.next().await.contains("<ok/>"));
    for n in [1, 2] {
        let replayed = client.next().await;
        assert!(replayed.contains(&format!("event {n}")), "{replayed}");
    }
    assert!(client.next().await.contains("<replayComplete/>"));
    assert!(client.next().await.contains("<notificationComplete/>"));
    // The session goes on after the subscription ended.
    client.rpc(2, "<close-session/>").await;
    assert!(client.next().await.contains("<ok/>"));
    let (end, sent) = server.await.expect("session task");
    assert_eq!((end, sent), (End::CloseSession, 2));
}
