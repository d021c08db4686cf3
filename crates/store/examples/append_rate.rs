//! Appends `COUNT` events in batches of `BATCH` and prints events/s:
//! `cargo run --release -p netaudit-store --example append_rate -- DIR COUNT BATCH [normal]`
//! (also builds the 5-million-event store the query benchmark reads).
//! With `NETAUDIT_APPEND_RATE=N` the appends are paced to N events/s.
//! Prints the longest time a partition waited sealed before its indexes
//! were built (checked every 100 ms).

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

use netaudit_store::{Store, StoreConfig, Synchronous};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .ok_or("usage: append_rate DIR COUNT BATCH [normal]")?;
    let count: u64 = args.get(2).map_or(Ok(1_000_000), |s| s.parse())?;
    let batch: u64 = args.get(3).map_or(Ok(10_000), |s| s.parse())?;
    let mut config = StoreConfig::new(std::path::Path::new(dir).join("netaudit.db"));
    if args.get(4).is_some_and(|s| s == "normal") {
        config.synchronous = Synchronous::Normal;
    }
    let store = Store::open(config)?;
    let start_seq = store.last_seq();
    // Events spread evenly over the 30 days before now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as i64;
    let span: i64 = 30 * 86_400 * 1_000_000_000;
    let step = span / i64::try_from(count.max(1))?;
    let t0 = now - span;
    let rate: Option<f64> = std::env::var("NETAUDIT_APPEND_RATE")
        .ok()
        .map(|r| r.parse())
        .transpose()?;
    let mut index_lag = IndexLag::default();
    let mut last_look = Instant::now();
    let cpu_start = thread_cpu_ns();
    let started = Instant::now();
    let mut gen_time = std::time::Duration::ZERO;
    let mut done = 0u64;
    while done < count {
        let n = batch.min(count - done);
        let g = Instant::now();
        let events: Vec<_> = (done..done + n)
            .map(|i| support::event(start_seq + i, t0 + i as i64 * step))
            .collect();
        gen_time += g.elapsed();
        store.append_batch(&events)?;
        done += n;
        if let Some(rate) = rate {
            let due = started + std::time::Duration::from_secs_f64(done as f64 / rate);
            if let Some(ahead) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(ahead);
            }
        }
        if last_look.elapsed() >= std::time::Duration::from_millis(100) {
            index_lag.look(&store)?;
            last_look = Instant::now();
        }
    }
    let elapsed = started.elapsed() - gen_time;
    let cpu = thread_cpu_ns().saturating_sub(cpu_start);
    println!(
        "appended {count} events in batches of {batch}: {:.2} s, {:.0} events/s (generation excluded)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    println!(
        "appending thread CPU: {:.2} s ({:.1} us/event, generation included); load average: {}",
        cpu as f64 / 1e9,
        cpu as f64 / 1e3 / count as f64,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let wait = Instant::now();
    while store
        .partitions()?
        .iter()
        .any(|p| p.state == netaudit_store::PartitionState::Sealed)
    {
        index_lag.look(&store)?;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    index_lag.look(&store)?;
    println!(
        "indexing caught up {:.2} s after the last append; longest wait sealed -> indexed {:.2} s",
        wait.elapsed().as_secs_f64(),
        index_lag.max.as_secs_f64()
    );
    Ok(())
}

/// When each partition was first seen sealed, and the longest wait until
/// it was seen indexed.
#[derive(Default)]
struct IndexLag {
    sealed_at: std::collections::HashMap<i64, Instant>,
    max: std::time::Duration,
}

impl IndexLag {
    fn look(&mut self, store: &Store) -> Result<(), Box<dyn std::error::Error>> {
        for p in store.partitions()? {
            match p.state {
                netaudit_store::PartitionState::Sealed => {
                    self.sealed_at.entry(p.id).or_insert_with(Instant::now);
                }
                netaudit_store::PartitionState::Indexed => {
                    if let Some(at) = self.sealed_at.remove(&p.id) {
                        self.max = self.max.max(at.elapsed());
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// CPU time of this thread (ns), from /proc/thread-self/schedstat.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}
