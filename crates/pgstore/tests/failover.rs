//! The cluster's failure behaviour against real PostgreSQL started by the
//! tests (`test_cluster::PgCluster`, stopped by PID): a node appending with
//! a synchronous standby, the primary killed and the standby promoted;
//! output leases and their take-over, cursors, commit notifications; the
//! login lockout shared by every node.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use netaudit_event::{Event, Facility, Severity};
use netaudit_pgstore::test_cluster::{ClusterOptions, PgCluster};
use netaudit_pgstore::{
    advance_cursor, advance_node_cursors, lease_cursor, migrate, read_cursor, read_node_cursors,
    record_login, record_read_heads, set_user_locked, verify_key_path, verify_nodes, Acquire,
    CommitListener, ConnectionSpec, CursorPosition, LoginDecision, LoginPolicy, NodeCursors,
    NodeHeads, NodeOutcome, NodeWriter, OutputLease, PgStoreError, ReconnectPolicy, Wake,
};
use netaudit_store::PreparedBatch;
use netaudit_store::VerifyKey;

fn event(i: u64) -> Event {
    let t = 1_700_000_000_000_000_000 + i64::try_from(i).unwrap() * 1_000_000;
    Event {
        received_ns: t + 5,
        time_ns: Some(t),
        host: Some(format!("router{}", i % 7).into()),
        app: Some("mgd".into()),
        pid: Some("3046".into()),
        facility: Some(Facility::Local2),
        severity: Some(Severity::Notice),
        code: Some("UI_COMMIT".into()),
        user: Some("admin".into()),
        client_addr: None,
        device: None,
        operation: None,
        params: Vec::new(),
        message: Some(format!("User 'admin' event number {i}").into()),
        raw: format!("<165>1 2023-11-14T22:13:20.000Z router mgd 3046 UI_COMMIT - event {i}")
            .into_bytes(),
        parse_error: None,
    }
}

fn migrated(pg: &PgCluster) -> ConnectionSpec {
    let spec = ConnectionSpec::parse_with_env(&pg.url(), None).unwrap();
    let mut client = spec.connect().unwrap();
    migrate(&mut client, spec.target()).unwrap();
    spec
}

/// Ends every other session of the test user (a cut connection).
fn terminate_other_sessions(pg: &PgCluster) -> i64 {
    pg.client()
        .unwrap()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn the_primary_dies_the_standby_is_promoted_and_nothing_acknowledged_is_lost() {
    let mut primary = PgCluster::start_with(ClusterOptions {
        synchronous_commit: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    let standby = primary.start_standby().unwrap();
    assert!(standby.in_recovery().unwrap());
    migrated(&primary);
    let both = format!(
        "postgres://netaudit:{}@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=read-write&connect_timeout=2",
        primary.password(),
        primary.port(),
        standby.port()
    );
    let spec = ConnectionSpec::parse_with_env(&both, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("n1.key");
    let writer = NodeWriter::open(&spec, "n1", &key, 250)
        .unwrap()
        .with_reconnect(ReconnectPolicy {
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(500),
            give_up_after: Duration::from_secs(120),
        });

    // The node appends batches of 50 in a thread and records every range
    // acknowledged to it; the main thread kills the primary under that load.
    let (tx, rx) = std::sync::mpsc::channel::<(u64, u64)>();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = Arc::clone(&stop);
    let appender = std::thread::spawn(move || {
        let mut writer = writer;
        let mut i = 0u64;
        // Bounded: at most 400 batches (20,000 events).
        for _ in 0..400 {
            if stop_writer.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            let batch: Vec<Event> = (i..i + 50).map(event).collect();
            match writer.append_batch(&batch) {
                Ok(range) => {
                    let _ = tx.send(range);
                    i += 50;
                }
                Err(e) => panic!("append failed: {e}"),
            }
        }
        writer
    });
    let mut acknowledged = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    // Some batches on the primary with its synchronous standby.
    while acknowledged.len() < 10 && Instant::now() < deadline {
        acknowledged.push(rx.recv_timeout(Duration::from_secs(60)).unwrap());
    }
    primary.kill();
    standby.promote().unwrap();
    assert!(!standby.in_recovery().unwrap());
    // The writer carries on by itself on the promoted standby.
    let before_kill = acknowledged.len();
    while acknowledged.len() < before_kill + 10 && Instant::now() < deadline {
        acknowledged.push(rx.recv_timeout(Duration::from_secs(120)).unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let writer = appender.join().unwrap();
    acknowledged.extend(rx.try_iter());
    let stats = writer.stats();
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert_eq!(stats.committed_after_error, 0, "{stats:?}");
    // The ranges follow each other without a gap or an overlap.
    for pair in acknowledged.windows(2) {
        assert_eq!(pair[1].0, pair[0].1 + 1, "{acknowledged:?}");
    }
    let last = acknowledged.last().unwrap().1;
    assert_eq!(writer.last_seq(), last);
    drop(writer);

    // Every acknowledged event is on the promoted standby, once, and the
    // chain verifies end to end with the node's verify key.
    let mut client = standby.client().unwrap();
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT seq), max(seq) FROM netaudit.events WHERE node_id = 'n1'",
            &[],
        )
        .unwrap();
    let (count, distinct, max): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (count, distinct, max),
        (last as i64, last as i64, last as i64)
    );
    let keys = [VerifyKey::read(&verify_key_path(&key)).unwrap()];
    let target = spec.target().to_string();
    let found = verify_nodes(&mut client, &target, &keys, None).unwrap();
    match &found[0].outcome {
        NodeOutcome::Walked(r) => {
            assert!(r.ok(), "{r:?}");
            assert_eq!(r.events_verified, last);
        }
        other => panic!("not walked: {other:?}"),
    }
}

#[test]
fn a_lost_batch_is_written_again_and_a_committed_one_is_not() {
    let pg = PgCluster::start().unwrap();
    let spec = migrated(&pg);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("n1.key");
    let mut writer = NodeWriter::open(&spec, "n1", &key, 100).unwrap();
    let batch: Vec<Event> = (0..30).map(event).collect();
    assert_eq!(writer.append_batch(&batch).unwrap(), (1, 30));
    // The session is cut between two batches: the next one notices, opens a
    // new session, finds the head where it left it and writes the batch.
    assert_eq!(terminate_other_sessions(&pg), 1);
    assert_eq!(writer.append_batch(&batch).unwrap(), (31, 60));
    let stats = writer.stats();
    assert_eq!((stats.reconnects, stats.resolved_lost), (1, 1), "{stats:?}");

    // The database holding more than the writer committed (another writer
    // under the same id, an edited table) is an error naming both.
    let mut client = pg.client().unwrap();
    client
        .execute(
            "DELETE FROM netaudit.events WHERE node_id = 'n1' AND seq > 50",
            &[],
        )
        .unwrap();
    terminate_other_sessions(&pg);
    let err = writer.append_batch(&batch).unwrap_err();
    assert!(
        matches!(
            err,
            PgStoreError::NodeHead {
                stored: 50,
                committed: 60,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("node \"n1\" ends at sequence 50"),
        "{err}"
    );
}

#[test]
fn a_batch_whose_commit_was_in_doubt_but_committed_is_acknowledged_once() {
    let primary = PgCluster::start_with(ClusterOptions {
        synchronous_commit: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    let mut standby = primary.start_standby().unwrap();
    let spec = migrated(&primary);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = NodeWriter::open(&spec, "n1", &dir.path().join("n1.key"), 100).unwrap();
    let batch: Vec<Event> = (0..20).map(event).collect();
    assert_eq!(writer.append_batch(&batch).unwrap(), (1, 20));
    // Without its standby, the primary commits the next batch locally and
    // waits for the standby before answering; the session is then cut, so
    // the writer never hears the outcome of a batch that did commit.
    standby.stop();
    let appender = std::thread::spawn(move || {
        let batch: Vec<Event> = (20..40).map(event).collect();
        let range = writer.append_batch(&batch);
        (writer, range)
    });
    let mut client = primary.client().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting: i32 = loop {
        let pid: Option<i32> = client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        if let Some(pid) = pid {
            break pid;
        }
        assert!(
            Instant::now() < deadline,
            "the batch never waited for the standby"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    client
        .execute("SELECT pg_terminate_backend($1)", &[&waiting])
        .unwrap();
    // Commits no longer wait for the lost standby (as an operator would do).
    client
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = ''")
        .unwrap();
    client.batch_execute("SELECT pg_reload_conf()").unwrap();
    let (mut writer, range) = appender.join().unwrap();
    assert_eq!(range.unwrap(), (21, 40));
    let stats = writer.stats();
    assert_eq!(
        (stats.resolved_committed, stats.resolved_lost),
        (1, 0),
        "{stats:?}"
    );
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM netaudit.events WHERE node_id = 'n1'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(count, 40);
    // The chain goes on after it.
    assert_eq!(writer.append_batch(&batch).unwrap(), (41, 60));
}

/// Waits (bounded) for a session waiting on the synchronous standby;
/// its backend pid.
fn waiting_for_standby(client: &mut postgres::Client) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pid: Option<i32> = client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' LIMIT 1",
                &[],
            )
            .unwrap()
            .map(|r| r.get(0));
        if let Some(pid) = pid {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "the batch never waited for the standby"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_prepared_batch_in_doubt_while_the_epoch_time_runs_out_is_stored_once() {
    // serve's path (append_prepared, epochs ended by time): the epoch's
    // time runs out while the batch's commit is in doubt; the batch given
    // again must be recognised by the decision its attempt took (no seal),
    // not by the clock at the retry.
    let primary = PgCluster::start_with(ClusterOptions {
        synchronous_commit: true,
        ..ClusterOptions::default()
    })
    .unwrap();
    let mut standby = primary.start_standby().unwrap();
    let spec = migrated(&primary);
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_secs(2);
    let mut writer = NodeWriter::open(&spec, "n1", &dir.path().join("n1.key"), 1000).unwrap();
    writer.set_epoch_interval(interval);
    let opened = Instant::now();
    let first: Vec<Event> = (0..20).map(event).collect();
    assert_eq!(
        writer.append_prepared(&PreparedBatch::new(&first)).unwrap(),
        (1, 20)
    );
    standby.stop();
    let appender = std::thread::spawn(move || {
        let batch = PreparedBatch::new(&(20..40).map(event).collect::<Vec<_>>());
        let range = writer.append_prepared(&batch);
        (writer, range)
    });
    let mut client = primary.client().unwrap();
    let waiting = waiting_for_standby(&mut client);
    // The batch was written without a seal; let the epoch's time pass.
    std::thread::sleep((interval + Duration::from_millis(500)).saturating_sub(opened.elapsed()));
    client
        .execute("SELECT pg_terminate_backend($1)", &[&waiting])
        .unwrap();
    client
        .batch_execute("ALTER SYSTEM SET synchronous_standby_names = ''")
        .unwrap();
    client.batch_execute("SELECT pg_reload_conf()").unwrap();
    let (mut writer, range) = appender.join().unwrap();
    assert_eq!(range.unwrap(), (21, 40));
    assert_eq!(writer.stats().resolved_committed, 1);
    let count: i64 = client
        .query_one(
            "SELECT count(*) FROM netaudit.events WHERE node_id = 'n1'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(count, 40);
    // The next batch ends the epoch by time first; the chain verifies.
    let next: Vec<Event> = (40..45).map(event).collect();
    assert_eq!(
        writer.append_prepared(&PreparedBatch::new(&next)).unwrap(),
        (41, 45)
    );
    assert!(writer.epoch() >= 1);
    assert!(writer.seal_epoch().unwrap().is_some());
    let key = VerifyKey::read(&verify_key_path(&dir.path().join("n1.key"))).unwrap();
    let target = spec.target().to_string();
    let found = verify_nodes(&mut client, &target, &[key], None).unwrap();
    match &found[0].outcome {
        NodeOutcome::Walked(r) => {
            assert!(r.ok(), "{r:?}");
            assert_eq!(r.events_verified, 45);
        }
        other => panic!("not walked: {other:?}"),
    }
}

#[test]
fn an_output_has_one_owner_and_another_takes_it_over_after_the_lease_time() {
    let pg = PgCluster::start().unwrap();
    let spec = migrated(&pg);
    let ttl = Duration::from_secs(3);
    let Acquire::Acquired(mut a) =
        OutputLease::try_acquire(&spec, "syslog:siem", "n1", ttl).unwrap()
    else {
        panic!("the first node did not get a free output");
    };
    assert_eq!(a.generation(), 1);
    match OutputLease::try_acquire(&spec, "syslog:siem", "n2", ttl).unwrap() {
        Acquire::Held(h) => {
            assert_eq!((h.node_id.as_str(), h.generation), ("n1", 1));
            assert!(
                h.expires_in > Duration::ZERO && h.expires_in <= ttl,
                "{h:?}"
            );
        }
        other => panic!("two owners: {other:?}"),
    }
    // Cursors move forward only, under the lease.
    assert_eq!(lease_cursor(&mut a).unwrap(), None);
    let at = |received_ns, node: &str, seq| CursorPosition {
        received_ns,
        node_id: node.into(),
        seq,
    };
    advance_cursor(&mut a, &at(100, "n1", 7)).unwrap();
    advance_cursor(&mut a, &at(100, "n2", 1)).unwrap();
    let err = advance_cursor(&mut a, &at(100, "n1", 9)).unwrap_err();
    assert!(matches!(err, PgStoreError::CursorBack { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("cannot move back from 100/n2/1 to 100/n1/9"),
        "{err}"
    );

    // The holder's session is cut: it opens another and keeps its lease.
    assert!(terminate_other_sessions(&pg) >= 1);
    a.renew().unwrap();
    assert!(matches!(
        OutputLease::try_acquire(&spec, "syslog:siem", "n2", ttl).unwrap(),
        Acquire::Held(_)
    ));

    // The holder stops renewing (it hung or died): n2 takes the output
    // within the lease time plus one polling interval, and resumes from the
    // cursor; the old holder is fenced off.
    let waited = Instant::now();
    let poll = Duration::from_millis(100);
    let Acquire::Acquired(mut b) = OutputLease::acquire(
        &spec,
        "syslog:siem",
        "n2",
        ttl,
        poll,
        Duration::from_secs(30),
    )
    .unwrap() else {
        panic!("n2 never took the output over");
    };
    let took = waited.elapsed();
    // Bound of the design (ttl + poll) with room for a loaded machine.
    assert!(took < ttl + poll + Duration::from_secs(5), "{took:?}");
    assert_eq!(b.generation(), 2);
    assert_eq!(lease_cursor(&mut b).unwrap(), Some(at(100, "n2", 1)));
    let err = a.renew().unwrap_err();
    assert!(matches!(err, PgStoreError::LeaseLost { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("node \"n2\" holds it with generation 2"),
        "{err}"
    );
    let err = advance_cursor(&mut a, &at(200, "n1", 1)).unwrap_err();
    assert!(matches!(err, PgStoreError::LeaseLost { .. }), "{err}");
    advance_cursor(&mut b, &at(200, "n1", 1)).unwrap();
    drop(a);

    // A clean release hands it over at once; a restarted node takes its own
    // output back without waiting.
    b.release().unwrap();
    let Acquire::Acquired(c) = OutputLease::try_acquire(&spec, "syslog:siem", "n3", ttl).unwrap()
    else {
        panic!("a released output was not free");
    };
    assert_eq!(c.generation(), 3);
    drop(c);
    let Acquire::Acquired(again) =
        OutputLease::try_acquire(&spec, "syslog:siem", "n3", ttl).unwrap()
    else {
        panic!("n3 could not take its own output back");
    };
    assert_eq!(again.generation(), 4);
    let mut client = pg.client().unwrap();
    assert_eq!(
        read_cursor(&mut client, spec.target(), "syslog:siem").unwrap(),
        Some(at(200, "n1", 1))
    );
    // Bad names are refused before any statement.
    assert!(OutputLease::try_acquire(&spec, "", "n1", ttl).is_err());
    assert!(matches!(
        OutputLease::try_acquire(&spec, "x", "bad node", ttl),
        Err(PgStoreError::BadNodeId { .. })
    ));
}

#[test]
fn node_cursors_move_forward_under_the_lease_and_a_new_owner_sees_how_far_the_old_one_read() {
    let pg = PgCluster::start().unwrap();
    let spec = migrated(&pg);
    let ttl = Duration::from_secs(30);
    let Acquire::Acquired(mut a) =
        OutputLease::try_acquire(&spec, "file:audit", "n1", ttl).unwrap()
    else {
        panic!("a free output was not taken");
    };
    assert_eq!(a.previous_holder(), None);
    assert_eq!(read_node_cursors(&mut a).unwrap(), NodeCursors::default());
    let heads = |pairs: &[(&str, u64)]| -> NodeHeads {
        pairs.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    };
    record_read_heads(&mut a, &heads(&[("n1", 50), ("n2", 20)])).unwrap();
    advance_node_cursors(&mut a, &heads(&[("n1", 30)])).unwrap();
    // Never back: an older position leaves the cursor where it is.
    advance_node_cursors(&mut a, &heads(&[("n1", 10), ("n2", 5)])).unwrap();
    let seen = read_node_cursors(&mut a).unwrap();
    assert_eq!(seen.delivered, heads(&[("n1", 30), ("n2", 5)]));
    assert_eq!(seen.read, heads(&[("n1", 50), ("n2", 20)]));
    // Released, taken by n2: it names n1 as the previous holder, reads n1's
    // cursors, and n1's writes are refused from then on.
    let mut stale = a;
    let Acquire::Acquired(released) =
        OutputLease::try_acquire(&spec, "file:audit", "n1", ttl).unwrap()
    else {
        panic!("n1 could not take its own output back");
    };
    assert_eq!(released.previous_holder(), None);
    released.release().unwrap();
    let Acquire::Acquired(mut b) =
        OutputLease::try_acquire(&spec, "file:audit", "n2", ttl).unwrap()
    else {
        panic!("a released output was not free");
    };
    assert_eq!(b.previous_holder(), Some("n1"));
    assert_eq!(read_node_cursors(&mut b).unwrap(), seen);
    for err in [
        advance_node_cursors(&mut stale, &heads(&[("n1", 40)])).unwrap_err(),
        record_read_heads(&mut stale, &heads(&[("n1", 60)])).unwrap_err(),
    ] {
        assert!(matches!(err, PgStoreError::LeaseLost { .. }), "{err}");
    }
    advance_node_cursors(&mut b, &heads(&[("n1", 50)])).unwrap();
    assert_eq!(read_node_cursors(&mut b).unwrap().delivered["n1"], 50);
}

#[test]
fn consumers_wake_on_commit_and_after_a_lost_session() {
    let pg = PgCluster::start().unwrap();
    let spec = migrated(&pg);
    let dir = tempfile::tempdir().unwrap();
    let mut listener = CommitListener::open(&spec).unwrap();
    assert_eq!(
        listener.wait(Duration::from_millis(200)).unwrap(),
        Wake::Timeout
    );
    let mut writer = NodeWriter::open(&spec, "n1", &dir.path().join("n1.key"), 100).unwrap();
    let batch: Vec<Event> = (0..10).map(event).collect();
    writer.append_batch(&batch).unwrap();
    assert_eq!(
        listener.wait(Duration::from_secs(30)).unwrap(),
        Wake::Commit {
            node_id: "n1".into(),
            last_seq: 10
        }
    );
    // A transaction that rolls back notifies nobody.
    let mut client = pg.client().unwrap();
    let mut tx = client.transaction().unwrap();
    tx.execute("SELECT pg_notify('netaudit_events', 'n9 1')", &[])
        .unwrap();
    tx.rollback().unwrap();
    assert_eq!(
        listener.wait(Duration::from_millis(300)).unwrap(),
        Wake::Timeout
    );
    // The listener's session is cut: it says so (commits may be missed).
    drop(writer);
    assert!(terminate_other_sessions(&pg) >= 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match listener.wait(Duration::from_millis(500)).unwrap() {
            Wake::Reconnected => break,
            Wake::Timeout if Instant::now() < deadline => continue,
            other => panic!("{other:?}"),
        }
    }
    let mut writer = NodeWriter::open(&spec, "n1", &dir.path().join("n1.key"), 100).unwrap();
    writer.append_batch(&batch).unwrap();
    assert_eq!(
        listener.wait(Duration::from_secs(30)).unwrap(),
        Wake::Commit {
            node_id: "n1".into(),
            last_seq: 20
        }
    );
}

#[test]
fn a_brute_force_over_two_nodes_locks_the_account_at_the_limit_exactly() {
    let pg = PgCluster::start().unwrap();
    let spec = migrated(&pg);
    let policy = LoginPolicy {
        max_login_attempts: 5,
        access_window: Duration::from_secs(600),
        lockout: None,
    };
    // Two nodes, each with its own session, 20 wrong passwords each at once.
    let barrier = Arc::new(Barrier::new(2));
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let (spec, barrier) = (spec.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut client = spec.connect().unwrap();
                barrier.wait();
                (0..20)
                    .map(|_| {
                        record_login(&mut client, spec.target(), "admin", false, &policy).unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let decisions: Vec<LoginDecision> = nodes.into_iter().flat_map(|n| n.join().unwrap()).collect();
    let counted: Vec<u32> = decisions
        .iter()
        .filter_map(|d| match d {
            LoginDecision::Refused { failures, .. } => Some(*failures),
            _ => None,
        })
        .collect();
    let mut sorted = counted.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![1, 2, 3, 4, 5], "{decisions:?}");
    let locking = decisions
        .iter()
        .filter(|d| {
            matches!(
                d,
                LoginDecision::Refused {
                    now_locked: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(locking, 1);
    assert_eq!(
        decisions
            .iter()
            .filter(|d| **d == LoginDecision::Locked)
            .count(),
        35
    );
    let mut client = spec.connect().unwrap();
    let target = spec.target().to_string();
    // Locked: even the right password is refused, until an administrator unlocks.
    assert_eq!(
        record_login(&mut client, &target, "admin", true, &policy).unwrap(),
        LoginDecision::Locked
    );
    set_user_locked(&mut client, &target, "admin", false).unwrap();
    assert_eq!(
        record_login(&mut client, &target, "admin", true, &policy).unwrap(),
        LoginDecision::Accepted
    );
    // A success resets the count.
    for _ in 0..4 {
        record_login(&mut client, &target, "admin", false, &policy).unwrap();
    }
    record_login(&mut client, &target, "admin", true, &policy).unwrap();
    assert_eq!(
        record_login(&mut client, &target, "admin", false, &policy).unwrap(),
        LoginDecision::Refused {
            failures: 1,
            now_locked: false
        }
    );
    // With a lockout time, the policy's lock passes; an administrator's does not.
    let timed = LoginPolicy {
        max_login_attempts: 1,
        lockout: Some(Duration::from_millis(300)),
        ..policy
    };
    assert_eq!(
        record_login(&mut client, &target, "op", false, &timed).unwrap(),
        LoginDecision::Refused {
            failures: 1,
            now_locked: true
        }
    );
    assert_eq!(
        record_login(&mut client, &target, "op", true, &timed).unwrap(),
        LoginDecision::Locked
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        record_login(&mut client, &target, "op", true, &timed).unwrap(),
        LoginDecision::Accepted
    );
    set_user_locked(&mut client, &target, "op", true).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        record_login(&mut client, &target, "op", true, &timed).unwrap(),
        LoginDecision::Locked
    );
}
