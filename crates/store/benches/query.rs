//! First-page query latency on a large store (5 million events over 30
//! days, built by the append_rate example):
//!
//! cargo run --release -p netaudit-store --example append_rate -- /tmp/store5m 5000000 10000
//! NETAUDIT_BENCH_STORE=/tmp/store5m/netaudit.db cargo bench -p netaudit-store --bench query
//!
//! Without NETAUDIT_BENCH_STORE the benchmark says so and does nothing.

// criterion_main! defines an undocumented `main`.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use netaudit_event::Severity;
use netaudit_store::{Order, Query, Reader};

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn queries() -> Vec<(&'static str, Query)> {
    let now = now_ns();
    let hour = 3_600 * 1_000_000_000i64;
    vec![
        (
            "user_all_time",
            Query {
                user: Some("user07".into()),
                ..Query::default()
            },
        ),
        (
            "code_last_day",
            Query {
                code: Some("UI_COMMIT".into()),
                since_ns: Some(now - 24 * hour),
                ..Query::default()
            },
        ),
        (
            "severity_error_last_week",
            Query {
                min_severity: Some(Severity::Error),
                since_ns: Some(now - 7 * 24 * hour),
                ..Query::default()
            },
        ),
        (
            "text_last_hour",
            Query {
                text: Some("ge-0/0/17 from 10.1".into()),
                since_ns: Some(now - hour),
                ..Query::default()
            },
        ),
    ]
}

fn first_page(c: &mut Criterion) {
    let Ok(path) = std::env::var("NETAUDIT_BENCH_STORE") else {
        eprintln!("NETAUDIT_BENCH_STORE is not set: no store to query (see the file's header)");
        return;
    };
    let path = std::path::PathBuf::from(path);
    let mut group = c.benchmark_group("first_page");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    for order in [Order::Ascending, Order::Descending] {
        for (name, mut q) in queries() {
            q.order = order;
            q.limit = 100;
            // Cold: a fresh reader (opens the catalog and partitions it needs).
            let t = Instant::now();
            let mut reader = Reader::open(&path).expect("open store");
            let page = reader.query(&q).expect("query");
            eprintln!(
                "cold {name} {order:?}: {:.2} ms, {} events",
                t.elapsed().as_secs_f64() * 1e3,
                page.events.len()
            );
            group.bench_function(format!("{name}/{order:?}"), |b| {
                b.iter(|| reader.query(&q).expect("query").events.len())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, first_page);
criterion_main!(benches);
