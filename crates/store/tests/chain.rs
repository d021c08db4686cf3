//! Tamper evidence: every kind of change made directly in the SQLite files
//! is found by `verify`, at the right sequence number, with the right kind.

mod common;

use std::path::Path;

use common::{config, events, open, partition_of, sql};
use netaudit_store::{
    read_local_verify_key, verify, BreakKind, KeyFile, Store, VerifyKey, VerifyReport,
};

/// 95 events with 10 per epoch: epochs 0..=8 sealed, epoch 9 holds 91..=95 unsealed.
fn setup() -> (tempfile::TempDir, VerifyKey) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for batch in 0..19 {
        let seqs = store.append_batch(&events(batch * 5, 5)).unwrap();
        assert_eq!(seqs, (batch * 5 + 1..=batch * 5 + 5).collect::<Vec<_>>());
    }
    drop(store);
    let key = read_local_verify_key(&config(dir.path())).unwrap();
    (dir, key)
}

fn run(dir: &Path, key: &VerifyKey) -> VerifyReport {
    let c = config(dir);
    verify(&c.path, key, Some(&c.key_path())).unwrap()
}

fn broken(dir: &Path, key: &VerifyKey) -> (u64, BreakKind, String) {
    let report = run(dir, key);
    let b = report.failure.expect("tampering must be detected");
    (b.seq, b.kind, b.detail)
}

#[test]
fn intact_store_verifies_and_reports_unsealed_tail() {
    let (dir, key) = setup();
    let report = run(dir.path(), &key);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 95);
    assert_eq!(report.checkpoints_verified, 9);
    assert_eq!(report.sealed_through, 90);
    assert_eq!(report.unsealed, Some((91, 95)));
    assert_eq!(report.live_key_epoch, Some(9));
}

#[test]
fn prepared_batches_chain_like_plain_ones() {
    // The server encodes batches on another thread (PreparedBatch): the
    // result must be the same store, event for event.
    let (plain, key) = setup();
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Each batch is prepared in the buffers of the one before, as the
    // server does.
    let mut spent = netaudit_store::PreparedBatch::default();
    for batch in 0..19 {
        let prepared = netaudit_store::PreparedBatch::new_in(&events(batch * 5, 5), spent);
        assert_eq!(prepared.len(), 5);
        let seqs = store.append_prepared(&prepared).unwrap();
        assert_eq!(seqs, (batch * 5 + 1..=batch * 5 + 5).collect::<Vec<_>>());
        assert_eq!(prepared.decode_events().unwrap(), events(batch * 5, 5));
        spent = prepared;
    }
    drop(store);
    let prepared_key = read_local_verify_key(&config(dir.path())).unwrap();
    let report = run(dir.path(), &prepared_key);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.events_verified, 95);
    // The other store's key is refused: the check above is not vacuous.
    let c = config(dir.path());
    assert!(verify(&c.path, &key, Some(&c.key_path())).map_or(true, |r| !r.ok()));
    let plain_events = open(plain.path())
        .query(&netaudit_store::Query {
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let prepared_events = open(dir.path())
        .query(&netaudit_store::Query {
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let strip = |p: netaudit_store::Page| -> Vec<_> {
        p.events.into_iter().map(|e| (e.seq, e.event)).collect()
    };
    assert_eq!(strip(plain_events), strip(prepared_events));
}

#[test]
fn sealing_the_epoch_covers_the_tail() {
    let (dir, key) = setup();
    let store = open(dir.path());
    let ckpt = store.seal_epoch().unwrap();
    assert_eq!((ckpt.epoch, ckpt.last_seq), (9, 95));
    drop(store);
    let report = run(dir.path(), &key);
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.unsealed, None);
    assert_eq!(report.sealed_through, 95);
}

#[test]
fn edited_event_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 42),
        "UPDATE events SET user = 'mallory' WHERE seq = 42",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (42, BreakKind::Changed), "{detail}");
}

#[test]
fn edited_raw_line_in_unsealed_tail_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 93),
        "UPDATE events SET raw = x'00' WHERE seq = 93",
    );
    let (seq, kind, _) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (93, BreakKind::Changed));
}

#[test]
fn edited_query_time_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 7),
        "UPDATE events SET ts = 0 WHERE seq = 7",
    );
    let (seq, kind, _) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (7, BreakKind::Changed));
}

#[test]
fn deleted_event_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 50),
        "DELETE FROM events WHERE seq = 50",
    );
    let (seq, kind, _) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (50, BreakKind::Deleted));
}

#[test]
fn deleted_and_renumbered_events_are_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 33),
        "DELETE FROM events WHERE seq = 33;
         UPDATE events SET seq = -(seq - 1) WHERE seq > 33;
         UPDATE events SET seq = -seq WHERE seq < 0;",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (33, BreakKind::Deleted), "{detail}");
}

#[test]
fn reordered_events_are_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 61),
        "UPDATE events SET seq = -1 WHERE seq = 61;
         UPDATE events SET seq = 61 WHERE seq = 62;
         UPDATE events SET seq = 62 WHERE seq = -1;",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (61, BreakKind::Reordered), "{detail}");
    assert!(detail.contains("sealed as 62"), "{detail}");
}

#[test]
fn inserted_event_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 20),
        "UPDATE events SET seq = -(seq + 1) WHERE seq >= 20;
         UPDATE events SET seq = -seq WHERE seq < 0;
         INSERT INTO events SELECT 20, epoch, received_ns, ts, time_ns, severity, facility, code,
             'mallory', host, device, app, pid, client_addr, operation, params, message,
             parse_error, raw, chain FROM events WHERE seq = 21;",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (20, BreakKind::Inserted), "{detail}");
}

#[test]
fn truncated_sealed_end_is_detected() {
    let (dir, key) = setup();
    sql(
        &partition_of(dir.path(), 80),
        "DELETE FROM events WHERE seq > 85",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (86, BreakKind::Truncated), "{detail}");
}

#[test]
fn truncation_with_its_checkpoints_is_detected_by_the_live_key() {
    let (dir, key) = setup();
    let c = config(dir.path());
    sql(
        &partition_of(dir.path(), 80),
        "DELETE FROM events WHERE seq > 60; DELETE FROM checkpoints WHERE epoch >= 6;",
    );
    sql(&c.path, "DELETE FROM checkpoints WHERE epoch >= 6;");
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (61, BreakKind::Truncated), "{detail}");
    // The writer refuses to continue on a rolled-back database, too.
    let err = Store::open(config(dir.path())).err().unwrap().to_string();
    assert!(err.contains("truncated or restored"), "{err}");
}

#[test]
fn skipped_epoch_is_detected() {
    // An intruder holding the current key (epoch 9) relabels sealed events
    // of epoch 3 as epoch 10 and reseals them with the key derived forward:
    // the verifier must refuse the jump.
    let (dir, key) = setup();
    let (_, live) = KeyFile::open_read_only(&config(dir.path()).key_path()).unwrap();
    let k10 = netaudit_store::evolve(&live.chain_key, 10);
    reseal(dir.path(), 31, 40, 10, &k10);
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (31, BreakKind::EpochKey), "{detail}");
}

#[test]
fn epoch_key_that_does_not_follow_is_detected() {
    // Epoch 3 resealed with an unrelated key, its chain values made consistent.
    let (dir, key) = setup();
    let stranger = netaudit_store::derive(&key.epoch0_key, 0, 0);
    let stranger = netaudit_store::evolve(&stranger, 999);
    reseal(dir.path(), 31, 40, 3, &stranger);
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (31, BreakKind::EpochKey), "{detail}");
}

#[test]
fn deleted_checkpoint_is_detected() {
    let (dir, key) = setup();
    let c = config(dir.path());
    sql(
        &partition_of(dir.path(), 40),
        "DELETE FROM checkpoints WHERE epoch = 4;",
    );
    sql(&c.path, "DELETE FROM checkpoints WHERE epoch = 4;");
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (51, BreakKind::EpochKey), "{detail}");
}

#[test]
fn altered_checkpoint_is_detected() {
    let (dir, key) = setup();
    sql(
        &config(dir.path()).path,
        "UPDATE checkpoints SET time_ns = time_ns + 1 WHERE epoch = 2;",
    );
    let (_, kind, _) = broken(dir.path(), &key);
    assert_eq!(kind, BreakKind::Checkpoint);
}

#[test]
fn wrong_verify_key_is_refused() {
    let (dir, _) = setup();
    let other = tempfile::tempdir().unwrap();
    drop(open(other.path()));
    let other_key = read_local_verify_key(&config(other.path())).unwrap();
    let c = config(dir.path());
    let err = verify(&c.path, &other_key, None).err().unwrap().to_string();
    assert!(err.contains("verify key is for store"), "{err}");
}

/// Rewrites events `from..=to` as epoch `epoch` sealed under `key`, chained
/// from the stored value before `from`.
fn reseal(dir: &Path, from: u64, to: u64, epoch: u64, key: &netaudit_store::SecretKey) {
    let file = partition_of(dir, from);
    let conn = rusqlite::Connection::open(&file).unwrap();
    let mut reader = netaudit_store::Reader::open(&config(dir).path).unwrap();
    let mut rows = Vec::new();
    reader
        .scan(from - 1, to, |r| {
            rows.push(r);
            Ok(true)
        })
        .unwrap();
    let mut prev = rows[0].chain;
    for r in &rows[1..] {
        let mut enc = Vec::new();
        netaudit_store::encode_event(r, &mut enc);
        let value = netaudit_store::chain_value(key, &prev, r.seq, epoch, &enc);
        conn.execute(
            "UPDATE events SET epoch = ?1, chain = ?2 WHERE seq = ?3",
            rusqlite::params![epoch as i64, &value[..], r.seq as i64],
        )
        .unwrap();
        prev = value;
    }
}

/// Events whose parameters the store keeps only in their raw bytes (what
/// `netaudit serve` stores for received lines) read back whole, verify, and
/// a change to where the parameters come from is a change to the event.
#[test]
fn raw_backed_events_read_back_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let lines: Vec<String> = (0..25)
        .map(|i| {
            format!(
                "<189>1 2026-11-23T00:00:{:02}.000Z mx-core2 mgd {i} UI_COMMIT \
                 [junos@2636.1.1.1.2.18 username=\"u{i}\" command=\"commit\" message=\"a \\\"b\\\" ]\"] \
                 User 'u{i}' requested 'commit' operation",
                i % 60
            )
        })
        .collect();
    let opts = netaudit_syslog::ParseOptions::with_fixed_year(2026);
    let parsed: Vec<_> = lines
        .iter()
        .map(|l| netaudit_syslog::parse(l.as_bytes(), &opts).unwrap())
        .collect();
    let lean: Vec<_> = parsed
        .iter()
        .zip(&lines)
        .map(|(m, l)| m.to_raw_backed_event(1, l.as_bytes()))
        .collect();
    assert!(lean
        .iter()
        .all(|e| e.params_in_raw && e.event.params.is_empty()));
    store.append_batch(&lean).unwrap();
    let page = store.query(&netaudit_store::Query::default()).unwrap();
    assert_eq!(page.events.len(), 25);
    for ((stored, m), l) in page.events.iter().zip(&parsed).zip(&lines) {
        let full = m.to_event(1, l.as_bytes());
        assert_eq!(stored.event.params, full.params);
        assert_eq!(stored.event.params[2].value, "a \"b\" ]");
        assert_eq!(stored.event.user.as_deref(), full.user.as_deref());
        assert!(stored.params_in_raw);
    }
    // Read without parsing them: the same events, parameters left in the
    // raw bytes until `with_params` parses them, to the same values.
    let unparsed = store
        .query_params_unparsed(&netaudit_store::Query::default())
        .unwrap();
    assert_eq!(unparsed.events.len(), 25);
    for (lean, full) in unparsed.events.iter().zip(&page.events) {
        assert!(lean.params_in_raw && lean.event.params.is_empty());
        assert_eq!(lean.event.user, full.event.user);
        assert_eq!(lean.chain, full.chain);
        assert_eq!(*lean.with_params(), full.event);
        assert!(matches!(full.with_params(), std::borrow::Cow::Borrowed(_)));
    }
    // Rows are smaller: no JSON copy of the parameters.
    let conn = rusqlite::Connection::open(partition_of(dir.path(), 1)).unwrap();
    let params: String = conn
        .query_row("SELECT params FROM events WHERE seq = 3", [], |r| r.get(0))
        .unwrap();
    assert_eq!(params, "raw");
    drop(conn);
    drop(store);
    let key = read_local_verify_key(&config(dir.path())).unwrap();
    assert!(run(dir.path(), &key).ok());
    // The same parameters written out as a JSON column: the chain covered
    // "in the raw bytes", so this is an edit.
    sql(
        &partition_of(dir.path(), 3),
        "UPDATE events SET params = '[[\"junos@2636.1.1.1.2.18\",[[\"username\",\"u2\"]]]]' WHERE seq = 3",
    );
    let (seq, kind, detail) = broken(dir.path(), &key);
    assert_eq!((seq, kind), (3, BreakKind::Changed), "{detail}");
}

#[test]
fn an_incremental_walk_starts_after_the_checkpoint_an_earlier_walk_verified() {
    let (dir, key) = setup();
    let c = config(dir.path());
    let full = run(dir.path(), &key);
    let through = full
        .verified_through
        .expect("the walk verified checkpoints");
    assert_eq!((through.epoch, through.last_seq), (8, 90));
    // An edit before the checkpoint is not what an incremental walk reads
    // (the periodic full walk finds it) ...
    sql(
        &partition_of(dir.path(), 42),
        "UPDATE events SET user = 'mallory' WHERE seq = 42",
    );
    let incremental =
        netaudit_store::verify_after(&c.path, &key, Some(&c.key_path()), Some(&through)).unwrap();
    assert!(incremental.ok(), "{incremental:?}");
    assert_eq!(incremental.events_verified, 5);
    assert_eq!(incremental.first_seq, Some(91));
    assert_eq!(incremental.unsealed, Some((91, 95)));
    assert_eq!(broken(dir.path(), &key).0, 42);
    // ... and one after it is.
    sql(
        &partition_of(dir.path(), 93),
        "UPDATE events SET user = 'mallory' WHERE seq = 93",
    );
    let incremental =
        netaudit_store::verify_after(&c.path, &key, Some(&c.key_path()), Some(&through)).unwrap();
    let b = incremental
        .failure
        .expect("the edit after the checkpoint is found");
    assert_eq!((b.seq, b.kind), (93, BreakKind::Changed), "{}", b.detail);
}

#[test]
fn an_incremental_walk_refuses_a_starting_checkpoint_that_changed() {
    let (dir, key) = setup();
    let c = config(dir.path());
    let mut through = run(dir.path(), &key).verified_through.unwrap();
    through.chain[0] ^= 1;
    let report =
        netaudit_store::verify_after(&c.path, &key, Some(&c.key_path()), Some(&through)).unwrap();
    let b = report
        .failure
        .expect("a starting point that does not match is a break");
    assert_eq!((b.seq, b.kind), (90, BreakKind::Checkpoint), "{}", b.detail);
}
