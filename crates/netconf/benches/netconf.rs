//! Throughput of the chunked decoder and of notification parsing.
//!
//! Workloads: 10,000 netaudit notifications (one stored event each, ~690
//! bytes, a Junos structured-data line with XML-special characters), framed
//! in NETCONF 1.1 chunks of at most 4096 bytes. `chunked/decode` cuts the
//! stream into 1460-byte reads (a TCP segment's payload) and decodes whole
//! messages with `MessageCodec`; `notification/parse` parses each message
//! into a `Notification` (eventTime and the event's fields, unescaped).
//!
//! Run: `cargo bench -p netaudit-netconf --bench netconf`.

// criterion_main! defines an undocumented `main`.
#![allow(missing_docs)]

use std::borrow::Cow;
use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use netaudit_netconf::framing::{encode_message, Framing, MessageCodec};
use netaudit_netconf::notification::{notification_xml, parse_notification, SyslogEventContent};
use time::macros::datetime;
use tokio_util::codec::Decoder;

const MESSAGES: usize = 10_000;
const READ: usize = 1460;

fn messages() -> Vec<String> {
    (0..MESSAGES)
        .map(|i| {
            let line = format!(
                "<14>1 2026-12-06T10:{:02}:{:02}.{:03}Z r{} mgd {} UI_CMDLINE_READ_LINE \
                 [junos@2636.1.1.1.2.18 username=\"audit{}\" command=\"show log messages | match \\\"<&>\\\"\"] \
                 User 'audit{}', command 'show log messages | match \"<&>\" '",
                i / 60 % 60,
                i % 60,
                i % 1000,
                i % 200,
                4000 + i,
                i % 7,
                i % 7
            );
            let content = SyslogEventContent {
                sequence: i as u64,
                chain: Cow::Owned(format!("{:064x}", i * 7919)),
                code: Cow::Borrowed("UI_CMDLINE_READ_LINE"),
                severity: Cow::Borrowed("info"),
                host: Cow::Owned(format!("r{}", i % 200)),
                line: Cow::Owned(line),
            };
            notification_xml(datetime!(2026-12-06 10:00:00.123 UTC), &content.to_xml())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    let mut stream = BytesMut::new();
    for m in &messages {
        encode_message(Framing::Chunked, 4096, m.as_bytes(), &mut stream).unwrap();
    }
    let stream = stream.freeze();

    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut codec = MessageCodec::new(1 << 20, 1 << 20);
            codec.switch_to(Framing::Chunked).unwrap();
            let mut buf = BytesMut::with_capacity(8192);
            let mut count = 0;
            for read in stream.chunks(READ) {
                buf.extend_from_slice(read);
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    black_box(&m);
                    count += 1;
                }
            }
            assert_eq!(count, MESSAGES);
        })
    });
    group.finish();

    let bytes: usize = messages.iter().map(String::len).sum();
    let mut group = c.benchmark_group("notification");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(parse_notification(m.as_bytes()).unwrap());
            }
        })
    });
    group.finish();
    eprintln!(
        "workload: {MESSAGES} notifications, {bytes} bytes of XML ({} per message), {} bytes chunked",
        bytes / MESSAGES,
        stream.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
