//! First-page query times on a PostgreSQL store (docs/benchmarks.md): the
//! four queries of the embedded store's query benchmark
//! (`crates/store/benches/query.rs`), oldest and newest first, over every
//! node's events in the global order, against a private durable PostgreSQL
//! started on a loopback port and stopped by PID at the end. The events
//! are an embedded store's, moved in with `store copy`'s own function:
//!
//! cargo run --release -p netaudit-store --example append_rate -- /tmp/store5m 5000000 10000
//! cargo run --release -p netaudit-pgstore --features test-cluster --example pg_query -- /tmp/store5m/netaudit.db 11

use std::time::{Duration, Instant};

use netaudit_event::Severity;
use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};
use netaudit_pgstore::{copy_sqlite_store, migrate, ConnectionSpec, GlobalQuery, GlobalReader};
use netaudit_store::{Order, Query};

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The embedded store's four benchmark queries, word for word.
fn queries() -> Vec<(&'static str, Query)> {
    let now = now_ns();
    let hour = 3_600 * 1_000_000_000i64;
    vec![
        (
            "one user, all time",
            Query {
                user: Some("user07".into()),
                ..Query::default()
            },
        ),
        (
            "one code, last day",
            Query {
                code: Some("UI_COMMIT".into()),
                since_ns: Some(now - 24 * hour),
                ..Query::default()
            },
        ),
        (
            "severity >= error, last week",
            Query {
                min_severity: Some(Severity::Error),
                since_ns: Some(now - 7 * 24 * hour),
                ..Query::default()
            },
        ),
        (
            "text substring, last hour",
            Query {
                text: Some("ge-0/0/17 from 10.1".into()),
                since_ns: Some(now - hour),
                ..Query::default()
            },
        ),
    ]
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let store = args
        .next()
        .ok_or("usage: pg_query SQLITE_STORE/netaudit.db [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(11), |a| a.parse())?;
    let pg = PgCluster::start_with(ClusterOptions {
        durable: true,
        ..ClusterOptions::default()
    })?;
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None)?;
    let mut client = spec.connect()?;
    migrate(&mut client, spec.target())?;
    let started = Instant::now();
    let summary = copy_sqlite_store(
        std::path::Path::new(&store),
        &mut client,
        spec.target(),
        "copied",
        |_, _| {},
    )?;
    println!(
        "store copy: {} events in {:.1} s",
        summary.events,
        started.elapsed().as_secs_f64()
    );
    client.batch_execute("VACUUM ANALYZE netaudit.events")?;
    drop(client);

    println!("first page (100 events), median of {runs}; cold = a new connection each run");
    println!("| query | oldest first: warm / cold | newest first: warm / cold |");
    println!("|---|---|---|");
    let warm_reader = GlobalReader::new(spec.clone());
    for (name, filter) in queries() {
        let mut cells = Vec::new();
        for order in [Order::Ascending, Order::Descending] {
            let query = GlobalQuery {
                filter: Query {
                    order,
                    limit: 100,
                    ..filter.clone()
                },
                ..GlobalQuery::default()
            };
            let mut cold = Vec::with_capacity(runs);
            let mut warm = Vec::with_capacity(runs);
            let mut found = 0;
            for _ in 0..runs {
                let reader = GlobalReader::new(spec.clone());
                reader.heads()?; // connects and checks the schema: not timed
                let t = Instant::now();
                found = reader.query(&query)?.events.len();
                cold.push(t.elapsed());
                let t = Instant::now();
                warm_reader.query(&query)?;
                warm.push(t.elapsed());
            }
            cells.push(format!(
                "{} / {} ({found} events)",
                ms(median(warm)),
                ms(median(cold))
            ));
        }
        println!("| {name} | {} | {} |", cells[0], cells[1]);
    }
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}
