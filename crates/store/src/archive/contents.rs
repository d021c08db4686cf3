//! What a partition archive holds: `MANIFEST` (format, store, sequence
//! range, SHA-256 of each other member), `MANIFEST.sig` (Ed25519 by the
//! store's checkpoint signing key, hex), `events.jsonl.gz` (one archived
//! event per line), `checkpoints.jsonl` (the checkpoint the partition's
//! chain continues from, if any, and those sealed in it) and, in the syslog
//! format, `events.syslog.gz` (one RFC 5424 line per event).

use netaudit_event::Event;
use serde::{Deserialize, Serialize};

use crate::chain::Checkpoint;
use crate::error::ArchiveProblem;
use crate::rows::StoredEvent;

pub(crate) const MANIFEST: &str = "MANIFEST";
pub(crate) const SIGNATURE: &str = "MANIFEST.sig";
pub(crate) const EVENTS: &str = "events.jsonl.gz";
pub(crate) const CHECKPOINTS: &str = "checkpoints.jsonl";
pub(crate) const EVENTS_SYSLOG: &str = "events.syslog.gz";
const FORMAT_LINE: &str = "netaudit-archive v1";

/// Appends member `name` to an archive the way every archive is written
/// (GNU header, mode 0640, no owner, no time): an archive's bytes follow
/// from its members alone, which `read.rs` checks, so that no byte of the
/// file (padding included) can change unnoticed.
pub(crate) fn append_member<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: impl std::io::Read,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o640);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, name, data)
}

/// The order of the members in an archive; the syslog format adds
/// [`EVENTS_SYSLOG`] at the end.
pub(crate) const MEMBER_ORDER: [&str; 4] = [MANIFEST, SIGNATURE, CHECKPOINTS, EVENTS];

/// The members written whole into memory; the others are streamed.
pub(crate) fn is_small(name: &str) -> bool {
    name != EVENTS && name != EVENTS_SYSLOG
}

/// The archive of events `first..=last` of store `store_id`:
/// `netaudit-<store id>-<first, 20 digits>-<last, 20 digits>.tar`.
pub fn archive_file_name(store_id: &[u8; 16], first: u64, last: u64) -> String {
    format!(
        "netaudit-{}-{first:020}-{last:020}.tar",
        hex::encode(store_id)
    )
}

/// The manifest, which the signature covers byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) store_id: [u8; 16],
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    pub(crate) events: u64,
    pub(crate) created_ns: i64,
    /// (member name, SHA-256), in the order written.
    pub(crate) digests: Vec<(String, [u8; 32])>,
}

impl Manifest {
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "{FORMAT_LINE}\nstore {}\nevents {} {} {}\ncreated_ns {}\n",
            hex::encode(self.store_id),
            self.first_seq,
            self.last_seq,
            self.events,
            self.created_ns
        );
        for (name, digest) in &self.digests {
            out.push_str(&format!("sha256 {} {name}\n", hex::encode(digest)));
        }
        out
    }

    pub(crate) fn parse(text: &str) -> Result<Manifest, ArchiveProblem> {
        let bad = |what: &str| ArchiveProblem::Malformed(format!("MANIFEST: {what}"));
        let mut lines = text.lines();
        if lines.next() != Some(FORMAT_LINE) {
            return Err(bad("the first line is not `netaudit-archive v1`"));
        }
        let mut manifest = Manifest {
            store_id: [0; 16],
            first_seq: 0,
            last_seq: 0,
            events: 0,
            created_ns: 0,
            digests: Vec::new(),
        };
        let (mut store, mut range, mut created) = (false, false, false);
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            match words.as_slice() {
                ["store", id] => {
                    manifest.store_id = hex16(id).ok_or_else(|| bad("bad store id"))?;
                    store = true;
                }
                ["events", first, last, count] => {
                    let n = |s: &str| s.parse::<u64>().map_err(|_| bad("bad events line"));
                    (manifest.first_seq, manifest.last_seq, manifest.events) =
                        (n(first)?, n(last)?, n(count)?);
                    range = true;
                }
                ["created_ns", ns] => {
                    manifest.created_ns = ns.parse().map_err(|_| bad("bad created_ns"))?;
                    created = true;
                }
                ["sha256", digest, name] => {
                    let digest = hex32(digest).ok_or_else(|| bad("bad sha256 line"))?;
                    manifest.digests.push(((*name).to_string(), digest));
                }
                _ => return Err(bad(&format!("unexpected line {line:?}"))),
            }
        }
        if !(store && range && created) {
            return Err(bad("the store, events or created_ns line is missing"));
        }
        Ok(manifest)
    }
}

/// One line of `events.jsonl.gz`: the event as stored, with what its chain
/// value covers (so that the chain can be recomputed from the archive).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedEvent {
    pub(crate) seq: u64,
    pub(crate) epoch: u64,
    pub(crate) chain: String,
    pub(crate) params_in_raw: bool,
    pub(crate) event: Event,
}

impl ArchivedEvent {
    pub(crate) fn of(stored: StoredEvent) -> ArchivedEvent {
        ArchivedEvent {
            seq: stored.seq,
            epoch: stored.epoch,
            chain: hex::encode(stored.chain),
            params_in_raw: stored.params_in_raw,
            event: stored.event,
        }
    }

    pub(crate) fn into_stored(self) -> Result<StoredEvent, ArchiveProblem> {
        let chain = hex32(&self.chain).ok_or_else(|| {
            ArchiveProblem::Malformed(format!("event {}: bad chain value", self.seq))
        })?;
        Ok(StoredEvent {
            seq: self.seq,
            epoch: self.epoch,
            ts: crate::rows::query_time(&self.event),
            chain,
            event: self.event,
            params_in_raw: self.params_in_raw,
        })
    }
}

/// One line of `checkpoints.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ArchivedCheckpoint {
    pub(crate) epoch: u64,
    pub(crate) last_seq: u64,
    pub(crate) chain: String,
    pub(crate) time_ns: i64,
    pub(crate) mac: String,
    pub(crate) signature: String,
}

impl ArchivedCheckpoint {
    pub(crate) fn of(c: &Checkpoint) -> ArchivedCheckpoint {
        ArchivedCheckpoint {
            epoch: c.epoch,
            last_seq: c.last_seq,
            chain: hex::encode(c.chain),
            time_ns: c.time_ns,
            mac: hex::encode(c.mac),
            signature: hex::encode(c.signature),
        }
    }

    pub(crate) fn into_checkpoint(self) -> Result<Checkpoint, ArchiveProblem> {
        let bad = || ArchiveProblem::Malformed(format!("checkpoint of epoch {}", self.epoch));
        let signature: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        Ok(Checkpoint {
            epoch: self.epoch,
            last_seq: self.last_seq,
            chain: hex32(&self.chain).ok_or_else(bad)?,
            time_ns: self.time_ns,
            mac: hex32(&self.mac).ok_or_else(bad)?,
            signature,
        })
    }
}

fn hex16(text: &str) -> Option<[u8; 16]> {
    hex::decode(text).ok()?.try_into().ok()
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_reads_back_as_written_and_refuses_strangers() {
        let m = Manifest {
            store_id: [7; 16],
            first_seq: 1001,
            last_seq: 2000,
            events: 1000,
            created_ns: 1_700_000_000_000_000_000,
            digests: vec![(EVENTS.into(), [1; 32]), (CHECKPOINTS.into(), [2; 32])],
        };
        assert_eq!(Manifest::parse(&m.render()).unwrap(), m);
        for bad in [
            "",
            "netaudit-archive v2\n",
            "netaudit-archive v1\nstore 00\n",
            "netaudit-archive v1\nsurprise\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            archive_file_name(&[0xab; 16], 1, 1000),
            "netaudit-abababababababababababababababab-00000000000000000001-00000000000000001000.tar"
        );
    }
}
