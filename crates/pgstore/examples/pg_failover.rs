//! The cluster's figures (docs/benchmarks.md): a node's append rate with and
//! without a synchronous standby (one node, then two nodes at once), the
//! time a NodeWriter takes to go on after its primary is killed and the
//! standby promoted, and the time another node takes an output over after
//! its holder died. Private durable PostgreSQL clusters (fsync and
//! synchronous_commit on) on loopback ports, stopped by PID at the end.
//!
//! cargo run --release -p netaudit-pgstore --features test-cluster --example pg_failover -- [EVENTS] [BATCH] [RUNS]

use std::path::Path;
use std::time::{Duration, Instant};

use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};
use netaudit_pgstore::{
    migrate, Acquire, ConnectionSpec, NodeWriter, OutputLease, ReconnectPolicy,
    DEFAULT_EPOCH_EVENTS,
};
use netaudit_syslog::RawBackedEvent;

mod common;
use common::event;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn durable() -> ClusterOptions {
    ClusterOptions {
        durable: true,
        ..ClusterOptions::default()
    }
}

/// `nodes` writers appending `events` each at once; events/s over all.
fn append_rate(
    spec: &ConnectionSpec,
    dir: &Path,
    run: usize,
    nodes: usize,
    events: u64,
    batch: u64,
) -> Result<f64, Failure> {
    let started = Instant::now();
    let writers: Vec<_> = (0..nodes)
        .map(|n| {
            let spec = spec.clone();
            let key = dir.join(format!("r{run}-n{n}.key"));
            std::thread::spawn(move || -> Result<(), Failure> {
                let mut w =
                    NodeWriter::open(&spec, &format!("r{run}-n{n}"), &key, DEFAULT_EPOCH_EVENTS)?;
                let mut i = 0;
                while i < events {
                    let k = batch.min(events - i);
                    let chunk: Vec<RawBackedEvent> = (i..i + k).map(event).collect();
                    w.append_batch(&chunk)?;
                    i += k;
                }
                Ok(())
            })
        })
        .collect();
    for w in writers {
        w.join().map_err(|_| "a writer panicked")??;
    }
    Ok((events * nodes as u64) as f64 / started.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let batch: u64 = args.next().map_or(Ok(1_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let dir = tempfile::tempdir()?;

    // Append rates: one primary alone, then a primary with a synchronous standby.
    let alone = PgCluster::start_with(durable())?;
    let spec = ConnectionSpec::parse_with_env(&alone.url(), None)?;
    migrate(&mut spec.connect()?, spec.target())?;
    let rates: Vec<f64> = (0..runs)
        .map(|r| append_rate(&spec, dir.path(), r, 1, events, batch))
        .collect::<Result<_, _>>()?;
    println!(
        "append, no standby, 1 node: median {:.0} events/s ({rates:.0?}), batches of {batch}",
        median(rates.clone())
    );
    drop(alone);

    let mut primary = PgCluster::start_with(durable())?;
    let standby = primary.start_standby()?;
    let spec = ConnectionSpec::parse_with_env(&primary.url(), None)?;
    migrate(&mut spec.connect()?, spec.target())?;
    for nodes in [1, 2] {
        let rates: Vec<f64> = (0..runs)
            .map(|r| append_rate(&spec, dir.path(), 10 * nodes + r, nodes, events, batch))
            .collect::<Result<_, _>>()?;
        println!(
            "append, synchronous standby, {nodes} node(s) at once: median {:.0} events/s in all ({rates:.0?})",
            median(rates.clone())
        );
    }

    // Failover: the primary is killed between two batches; how long until
    // the writer's next batch is acknowledged by the promoted standby.
    let both = format!(
        "postgres://netaudit:{}@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2",
        primary.password(),
        primary.port(),
        standby.port()
    );
    let spec = ConnectionSpec::parse_with_env(&both, None)?;
    let mut writer = NodeWriter::open(&spec, "failover", &dir.path().join("f.key"), 1_000)?
        .with_reconnect(ReconnectPolicy {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            give_up_after: Duration::from_secs(120),
        });
    let chunk: Vec<RawBackedEvent> = (0..batch).map(event).collect();
    writer.append_batch(&chunk)?;
    let killed = Instant::now();
    primary.kill();
    standby.promote()?;
    let promoted = killed.elapsed();
    writer.append_batch(&chunk)?;
    println!(
        "primary killed: promoted after {:.0} ms, next batch acknowledged after {:.0} ms",
        promoted.as_secs_f64() * 1e3,
        killed.elapsed().as_secs_f64() * 1e3
    );

    // Output take-over: the holder renews and dies at once; another node
    // polling every 100 ms takes the output.
    let ttl = Duration::from_secs(2);
    let poll = Duration::from_millis(100);
    let mut takeovers = Vec::new();
    for r in 0..runs.max(3) {
        let output = format!("syslog:bench{r}");
        let Acquire::Acquired(mut holder) = OutputLease::try_acquire(&spec, &output, "a", ttl)?
        else {
            return Err("a fresh output was held".into());
        };
        holder.renew()?;
        drop(holder);
        let died = Instant::now();
        let got = OutputLease::acquire(&spec, &output, "b", ttl, poll, Duration::from_secs(60))?;
        if !matches!(got, Acquire::Acquired(_)) {
            return Err("the output was never taken over".into());
        }
        takeovers.push(died.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "output take-over after the holder died: median {:.0} ms ({takeovers:.0?}), lease ttl {ttl:?}, poll {poll:?}",
        median(takeovers.clone())
    );
    Ok(())
}
