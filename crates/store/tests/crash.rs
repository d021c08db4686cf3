//! Crash safety: a writer process is killed with SIGKILL at random moments,
//! 20 times; after each kill every acknowledged sequence number must be
//! present with exactly the event that was sent, and at the end the whole
//! chain must verify (no partial event, no broken seal, keys in step).
//!
//! The writer is this test binary itself, started with
//! NETAUDIT_CRASH_WRITER=<dir>: it runs `crash_writer_child`, which appends
//! batches forever and prints `ACK first last` after each acknowledged one.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use netaudit_store::{read_local_verify_key, verify, Reader, Store, StoreConfig};
use rand::Rng;

fn child_config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir.join("netaudit.db"));
    // Small epochs and partitions, so kills land in key evolution and in
    // partition rolls too; the background thread runs as in production.
    c.epoch_events = 97;
    c.partition_events = 3_000;
    c
}

#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var("NETAUDIT_CRASH_WRITER") else {
        return; // only meaningful as the child of `sigkill_never_loses_acknowledged_events`
    };
    let store = Store::open(child_config(std::path::Path::new(&dir))).expect("open store");
    let mut rng = rand::thread_rng();
    let stdout = std::io::stdout();
    // Bounded: the parent kills it long before this ends.
    for _ in 0..100_000 {
        let next = store.last_seq() + 1;
        let n = rng.gen_range(1..400u64);
        let seqs = store
            .append_batch(&common::events(next - 1, n))
            .expect("append");
        let mut out = stdout.lock();
        writeln!(out, "ACK {} {}", seqs[0], seqs[seqs.len() - 1]).expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn sigkill_never_loses_acknowledged_events() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut acked: Vec<(u64, u64)> = Vec::new();
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("NETAUDIT_CRASH_WRITER", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_ack, acking) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("ACK ") {
                    let mut it = rest.split(' ').map(|n| n.parse::<u64>().unwrap());
                    acks.push((it.next().unwrap(), it.next().unwrap()));
                    let _ = first_ack.send(());
                }
            }
            acks
        });
        // The child's start (process, store recovery) takes what it takes
        // on a loaded machine: the random moment counts from its first
        // acknowledged batch (bounded wait).
        let _ = acking.recv_timeout(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..550)));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let round_acks = reader.join().unwrap();
        if !still_running {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            panic!("round {round}: the writer stopped by itself ({status}): {err}");
        }
        assert!(
            !round_acks.is_empty(),
            "round {round}: the writer acknowledged nothing"
        );
        acked.extend(round_acks);
        // Every acknowledged event is there, exactly as sent.
        let max = acked.iter().map(|a| a.1).max().unwrap();
        let mut reader = Reader::open(&dir.path().join("netaudit.db")).unwrap();
        let last = reader.last_seq().unwrap();
        assert!(
            last >= max,
            "round {round}: store ends at {last}, {max} was acknowledged"
        );
        let mut seen = 0u64;
        reader
            .scan(1, max, |e| {
                assert_eq!(e.event, common::event(e.seq - 1), "event {}", e.seq);
                seen += 1;
                Ok(true)
            })
            .unwrap();
        assert_eq!(seen, max, "round {round}: events missing below {max}");
    }
    let c = child_config(dir.path());
    let key = read_local_verify_key(&c).unwrap();
    let report = verify(&c.path, &key, Some(&c.key_path())).unwrap();
    assert!(report.ok(), "{report:?}");
    assert!(report.checkpoints_verified > 5, "{report:?}");
    // And the store still opens for writing and continues the sequence.
    let store = Store::open(child_config(dir.path())).unwrap();
    let next = store.last_seq() + 1;
    assert_eq!(
        store.append_batch(&common::events(next - 1, 1)).unwrap(),
        vec![next]
    );
}
