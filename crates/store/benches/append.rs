//! Durable append throughput with the chain (WAL, synchronous=FULL) at
//! batch sizes 1, 100 and 10,000. Partitions roll and get indexed in the
//! background while this runs, as in production.
//!
//! cargo bench -p netaudit-store --bench append

// criterion_main! defines an undocumented `main`.
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use netaudit_store::{Store, StoreConfig};

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    for batch in [1usize, 100, 10_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(StoreConfig::new(dir.path().join("netaudit.db"))).expect("open");
        let mut next = 0u64;
        group.throughput(Throughput::Elements(batch as u64));
        if batch == 10_000 {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(20));
        } else {
            group
                .sample_size(30)
                .measurement_time(Duration::from_secs(8));
        }
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter_batched(
                || {
                    let events: Vec<_> = (0..batch as u64)
                        .map(|i| {
                            support::event(next + i, 1_800_000_000_000_000_000 + (next + i) as i64)
                        })
                        .collect();
                    next += batch as u64;
                    events
                },
                |events| store.append_batch(&events).expect("append"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
