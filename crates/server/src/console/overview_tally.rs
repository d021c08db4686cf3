//! The Overview's counts, kept per partition and per minute so that each
//! stored event is read once, not on every view: a sealed partition's
//! events never change, and an open partition is read again only after
//! the last event counted. A view sums the minutes of its window.
//!
//! Only the minutes of the longest window ([`KEPT_MINUTES`] before the
//! current minute, and any later ones) are kept: older ones can never be
//! shown again while the clock goes forward. Should it go back, the
//! partitions are read again. Partitions dropped by retention are
//! forgotten. The counts live in memory: a restart counts again, on the
//! first view.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use netaudit_store::{EventSummary, PartitionInfo, PartitionState, Store, StoreError};

/// The code whose events are the failed logins, counted by client address.
pub(super) const LOGIN_FAILURE: &str = "JUNOSCOPE_LOGIN_FAILURE";
/// Minutes kept before the current one: the longest window, 24 hours.
pub(super) const KEPT_MINUTES: i64 = 24 * 60;
pub(super) const MINUTE_NS: i64 = 60 * 1_000_000_000;
/// Severity slots: codes 0..=7, then "none".
pub(super) const SEVERITY_SLOTS: usize = 9;

/// A host's events in a minute and the latest time one was received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HostCount {
    pub events: u64,
    pub last_received_ns: i64,
}

/// The counts of some events: one minute's, or a window's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// By severity code (index 8: no severity).
    pub severity: [u64; SEVERITY_SLOTS],
    pub codes: HashMap<Box<str>, u64>,
    pub hosts: HashMap<Box<str>, HostCount>,
    pub devices: HashMap<Box<str>, u64>,
    /// Failed logins by client address.
    pub failed: HashMap<Box<str>, u64>,
}

impl Counts {
    pub(super) fn events(&self) -> u64 {
        self.severity.iter().sum()
    }

    fn add_event(&mut self, e: &EventSummary<'_>) {
        let slot = e.severity.map_or(SEVERITY_SLOTS - 1, usize::from);
        self.severity[slot.min(SEVERITY_SLOTS - 1)] += 1;
        let code = e.code.unwrap_or("(none)");
        bump(&mut self.codes, code, 1);
        if let Some(host) = e.host {
            let entry = entry(&mut self.hosts, host);
            entry.events += 1;
            entry.last_received_ns = entry.last_received_ns.max(e.received_ns);
        }
        if let Some(device) = e.device {
            bump(&mut self.devices, device, 1);
        }
        if code == LOGIN_FAILURE {
            bump(&mut self.failed, e.client_addr.unwrap_or("(unknown)"), 1);
        }
    }

    /// Adds `other`'s counts to these.
    pub(super) fn merge(&mut self, other: &Counts) {
        for (mine, theirs) in self.severity.iter_mut().zip(other.severity) {
            *mine += theirs;
        }
        for (key, n) in &other.codes {
            bump(&mut self.codes, key, *n);
        }
        for (key, h) in &other.hosts {
            let entry = entry(&mut self.hosts, key);
            entry.events += h.events;
            entry.last_received_ns = entry.last_received_ns.max(h.last_received_ns);
        }
        for (key, n) in &other.devices {
            bump(&mut self.devices, key, *n);
        }
        for (key, n) in &other.failed {
            bump(&mut self.failed, key, *n);
        }
    }
}

fn entry<'m, V: Default>(map: &'m mut HashMap<Box<str>, V>, key: &str) -> &'m mut V {
    // Looked up by &str first: a key is allocated once, not per event.
    if !map.contains_key(key) {
        map.insert(key.into(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn bump(map: &mut HashMap<Box<str>, u64>, key: &str, n: u64) {
    *entry(map, key) += n;
}

/// One partition's counts per minute (of query time), through a sequence
/// number.
#[derive(Debug)]
struct PartitionCounts {
    /// The last sequence number counted.
    through: u64,
    /// Minutes before this one were not counted (or were let go).
    kept_from: i64,
    minutes: BTreeMap<i64, Counts>,
}

/// The counts of every partition, shared by the Overview's views.
#[derive(Debug, Default)]
pub(super) struct OverviewTally {
    partitions: Mutex<HashMap<i64, PartitionCounts>>,
}

/// The minute (since the epoch) a time falls in.
pub(super) fn minute_of(ns: i64) -> i64 {
    ns.div_euclid(MINUTE_NS)
}

impl OverviewTally {
    /// Brings the counts up to date with `store` (reading only events not
    /// counted yet) and calls `f` with each minute's counts from
    /// `from_minute` on (later minutes too: events whose time is ahead of
    /// the clock), minutes in order. Blocking: call it off the async
    /// workers. `now_minute` is the current minute; `from_minute` must not
    /// be before `now_minute - KEPT_MINUTES`.
    pub(super) fn visit(
        &self,
        store: &Store,
        now_minute: i64,
        from_minute: i64,
        mut f: impl FnMut(i64, &Counts),
    ) -> Result<(), StoreError> {
        let keep_from = now_minute - KEPT_MINUTES;
        let parts = store.partitions()?;
        let mut tally = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        tally.retain(|id, _| parts.iter().any(|p| p.id == *id));
        for part in &parts {
            if old(part, keep_from) {
                tally.remove(&part.id);
                continue;
            }
            let counts = tally.entry(part.id).or_insert_with(|| PartitionCounts {
                through: part.first_seq.saturating_sub(1),
                kept_from: keep_from,
                minutes: BTreeMap::new(),
            });
            if counts.kept_from > keep_from {
                // The clock went back: count this partition again.
                *counts = PartitionCounts {
                    through: part.first_seq.saturating_sub(1),
                    kept_from: keep_from,
                    minutes: BTreeMap::new(),
                };
            } else if counts.kept_from < keep_from {
                counts.minutes = counts.minutes.split_off(&keep_from);
                counts.kept_from = keep_from;
            }
            let minutes = &mut counts.minutes;
            counts.through = store.summaries(
                part,
                counts.through,
                keep_from.saturating_mul(MINUTE_NS),
                |e| minutes.entry(minute_of(e.ts)).or_default().add_event(e),
            )?;
        }
        for part in &parts {
            if let Some(counts) = tally.get(&part.id) {
                for (minute, c) in counts.minutes.range(from_minute..) {
                    f(*minute, c);
                }
            }
        }
        Ok(())
    }

    /// The minutes kept, over all partitions (for tests).
    #[cfg(test)]
    fn kept_minutes(&self) -> std::collections::BTreeSet<i64> {
        let tally = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        tally
            .values()
            .flat_map(|c| c.minutes.keys().copied())
            .collect()
    }
}

/// A sealed partition whose events are all before the kept minutes (its
/// time range is known once it is indexed).
fn old(part: &PartitionInfo, keep_from: i64) -> bool {
    part.state == PartitionState::Indexed
        && part.max_ts.is_some_and(|max| minute_of(max) < keep_from)
}

#[cfg(test)]
mod tests {
    use netaudit_event::{Event, Severity};
    use netaudit_store::StoreConfig;

    use super::*;

    fn event(ts: i64, severity: u8, code: &str, host: &str, client: Option<&str>) -> Event {
        Event {
            received_ns: ts + 7,
            time_ns: Some(ts),
            host: Some(host.into()),
            severity: Some(Severity::from_code(severity).expect("severity")),
            code: Some(code.into()),
            client_addr: client.map(Into::into),
            raw: b"x".to_vec(),
            ..Event::default()
        }
    }

    fn store(dir: &std::path::Path) -> Store {
        let mut config = StoreConfig::new(dir.join("netaudit.db"));
        config.partition_events = 10;
        config.epoch_events = 5;
        config.background = false;
        Store::open(config).expect("store")
    }

    /// Every minute's counts from `from` on, merged.
    fn window(tally: &OverviewTally, store: &Store, now: i64, from: i64) -> Counts {
        let mut all = Counts::default();
        tally
            .visit(store, now, from, |_, c| all.merge(c))
            .expect("visit");
        all
    }

    #[test]
    fn counts_follow_new_events_sealed_partitions_and_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let now = 30_000_000i64; // a minute number
        let at = |m: i64| m * MINUTE_NS + 5;
        // Too old to be kept, then 25 events over the last 5 minutes.
        store
            .append_batch(&[event(at(now - KEPT_MINUTES - 1), 3, "OLD", "h0", None)])
            .expect("append");
        let mut batch = Vec::new();
        for i in 0..25 {
            let code = if i % 5 == 0 {
                LOGIN_FAILURE
            } else {
                "UI_COMMIT"
            };
            batch.push(event(
                at(now - 4 + i % 5),
                (i % 8) as u8,
                code,
                &format!("h{}", i % 3),
                Some("10.0.0.9"),
            ));
        }
        for chunk in batch.chunks(4) {
            store.append_batch(chunk).expect("append");
        }
        store.index_sealed().expect("index");
        let tally = OverviewTally::default();
        let all = window(&tally, &store, now, now - KEPT_MINUTES);
        assert_eq!(all.events(), 25);
        assert_eq!(all.codes.get("UI_COMMIT"), Some(&20));
        assert_eq!(all.failed.get("10.0.0.9"), Some(&5));
        assert_eq!(all.hosts.get("h1").map(|h| h.events), Some(8));
        assert!(!all.codes.contains_key("OLD"));
        // A narrower window: the minutes from now - 1 on.
        let recent = window(&tally, &store, now, now - 1);
        assert_eq!(recent.events(), 10);
        // New events (into the open partition, and a new one): counted
        // once more each, the others not again.
        store
            .append_batch(&[
                event(at(now), 4, "UI_COMMIT", "h9", None),
                event(at(now + 3), 4, "AHEAD", "h9", None),
            ])
            .expect("append");
        let all = window(&tally, &store, now, now - KEPT_MINUTES);
        assert_eq!(all.events(), 27);
        assert_eq!(all.codes.get("AHEAD"), Some(&1));
        assert_eq!(
            all.hosts.get("h9"),
            Some(&HostCount {
                events: 2,
                last_received_ns: at(now + 3) + 7
            })
        );
        // The clock moves on: minutes older than the longest window go.
        let later = window(&tally, &store, now + KEPT_MINUTES - 1, now - 1);
        assert_eq!(later.events(), 12);
        assert_eq!(
            tally.kept_minutes().into_iter().collect::<Vec<_>>(),
            vec![now - 1, now, now + 3]
        );
        // And back: counted again from the store.
        let again = window(&tally, &store, now, now - KEPT_MINUTES);
        assert_eq!(again.events(), 27);
    }
}
