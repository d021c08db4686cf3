//! Reading an archive back: the manifest's signature, each member's
//! SHA-256, the checkpoints' signatures, and (with the verify key) every
//! event's chain value and each checkpoint's MAC, so that an archive can be
//! checked offline, alone, long after its store is gone.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::contents::{
    append_member, is_small, ArchivedCheckpoint, ArchivedEvent, Manifest, CHECKPOINTS, EVENTS,
    EVENTS_SYSLOG, MANIFEST, MEMBER_ORDER, SIGNATURE,
};
use crate::chain::{self, Checkpoint, SecretKey, VerifyKey};
use crate::encoding::encode_event;
use crate::error::{ArchiveProblem, Context, Result, StoreError};
use crate::rows::StoredEvent;

/// The small members are read whole; none is larger than this.
const MAX_SMALL_MEMBER: u64 = 64 << 20;

/// What verifying an archive established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveReport {
    /// The store the events come from.
    pub store_id: [u8; 16],
    /// The first and last sequence number archived.
    pub first_seq: u64,
    /// See `first_seq`.
    pub last_seq: u64,
    /// Events in the archive.
    pub events: u64,
    /// Checkpoints in it whose signature (and, with the verify key, MAC) verified.
    pub checkpoints: u64,
    /// When the archive was written (Unix nanoseconds, UTC).
    pub created_ns: i64,
    /// Whether every chain value was recomputed (with the verify key).
    pub chain_recomputed: bool,
    /// Whether the archive holds the events as RFC 5424 lines too
    /// (`events.syslog.gz`, the syslog format), covered by the manifest.
    pub syslog_lines: bool,
}

/// Verifies the archive at `path` with the store's verify key: the
/// signature of its manifest, the digests of its members, and the chain of
/// its events from the checkpoint before them to the one that ends them.
pub fn verify_archive(path: &Path, key: &VerifyKey) -> Result<ArchiveReport> {
    check_archive(path, &key.store_id, &key.public_key, Some(&key.epoch0_key))
}

/// The verified archive's events, in sequence order (for `archive import`).
pub fn read_archive_events(path: &Path, key: &VerifyKey) -> Result<Vec<StoredEvent>> {
    verify_archive(path, key)?;
    let mut events = Vec::new();
    for_each_event(path, |e| {
        events.push(e);
        Ok(())
    })?;
    Ok(events)
}

fn problem(path: &Path, problem: ArchiveProblem) -> StoreError {
    StoreError::Archive {
        path: path.to_path_buf(),
        problem,
    }
}

/// The checks of [`verify_archive`]; without `epoch0` (the server after
/// writing, which no longer holds past keys) the chain values are not
/// recomputed, but each checkpoint must still end on the archived chain.
pub(crate) fn check_archive(
    path: &Path,
    store_id: &[u8; 16],
    public: &VerifyingKey,
    epoch0: Option<&SecretKey>,
) -> Result<ArchiveReport> {
    let members = read_members(path)?;
    let manifest_bytes = members
        .small
        .get(MANIFEST)
        .ok_or_else(|| problem(path, ArchiveProblem::Malformed("no MANIFEST".into())))?;
    let manifest_text = std::str::from_utf8(manifest_bytes).map_err(|_| {
        problem(
            path,
            ArchiveProblem::Malformed("MANIFEST is not text".into()),
        )
    })?;
    let manifest = Manifest::parse(manifest_text).map_err(|p| problem(path, p))?;
    if &manifest.store_id != store_id {
        return Err(problem(
            path,
            ArchiveProblem::OtherStore {
                archive: hex::encode(manifest.store_id),
                key: hex::encode(store_id),
            },
        ));
    }
    // Exactly as written (lower-case hex and a newline): the signature
    // member is the one member no digest covers.
    let signature: Option<[u8; 64]> = members
        .small
        .get(SIGNATURE)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(|s| hex::decode(s).ok().filter(|b| hex::encode(b) == s))
        .and_then(|b| b.try_into().ok());
    let signed = signature.is_some_and(|s| {
        public
            .verify(manifest_bytes, &Signature::from_bytes(&s))
            .is_ok()
    });
    if !signed {
        return Err(problem(path, ArchiveProblem::Signature));
    }
    for (name, digest) in &manifest.digests {
        if members.digests.get(name) != Some(digest) {
            return Err(problem(
                path,
                ArchiveProblem::Digest {
                    member: name.clone(),
                },
            ));
        }
    }
    for name in members.digests.keys() {
        if !manifest.digests.iter().any(|(n, _)| n == name) {
            return Err(problem(
                path,
                ArchiveProblem::Malformed(format!("member {name} is not in the manifest")),
            ));
        }
    }
    canonical(path, &members)?;
    let checkpoints = checkpoints_of(path, &members, store_id, public, epoch0)?;
    let mut chain = ChainCheck::new(path, &manifest, &checkpoints, store_id, epoch0)?;
    for_each_event(path, |e| chain.event(&e))?;
    chain.finish()?;
    Ok(ArchiveReport {
        store_id: manifest.store_id,
        first_seq: manifest.first_seq,
        last_seq: manifest.last_seq,
        events: manifest.events,
        checkpoints: checkpoints.len() as u64,
        created_ns: manifest.created_ns,
        chain_recomputed: epoch0.is_some(),
        syslog_lines: members.digests.contains_key(EVENTS_SYSLOG),
    })
}

struct Members {
    /// The members' names in file order.
    order: Vec<String>,
    /// MANIFEST, MANIFEST.sig and checkpoints.jsonl, read whole.
    small: BTreeMap<String, Vec<u8>>,
    /// SHA-256 of every member but the manifest and its signature.
    digests: BTreeMap<String, [u8; 32]>,
}

fn read_members(path: &Path) -> Result<Members> {
    let file = File::open(path).at(path, "open archive")?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut members = Members {
        order: Vec::new(),
        small: BTreeMap::new(),
        digests: BTreeMap::new(),
    };
    let bad = |what: String| problem(path, ArchiveProblem::Malformed(what));
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if members.small.contains_key(&name) || members.digests.contains_key(&name) {
            return Err(bad(format!("member {name} appears twice")));
        }
        members.order.push(name.clone());
        let mut hash = Sha256::new();
        if !is_small(&name) {
            std::io::copy(&mut entry, &mut HashSink(&mut hash)).map_err(|e| bad(e.to_string()))?;
        } else {
            if entry.size() > MAX_SMALL_MEMBER {
                return Err(bad(format!("member {name} is too large")));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| bad(e.to_string()))?;
            hash.update(&bytes);
            members.small.insert(name.clone(), bytes);
        }
        if name != MANIFEST && name != SIGNATURE {
            members.digests.insert(name, hash.finalize().into());
        }
    }
    Ok(members)
}

/// The file must be exactly what writing its members produces: a byte
/// changed outside the members (a header, the padding, the end blocks) is
/// a change too.
fn canonical(path: &Path, members: &Members) -> Result<()> {
    let bad = |what: String| problem(path, ArchiveProblem::Malformed(what));
    let with_syslog = members.order.len() == MEMBER_ORDER.len() + 1
        && members.order.last().map(String::as_str) == Some(EVENTS_SYSLOG);
    let order = &members.order[..members.order.len() - usize::from(with_syslog)];
    if order != MEMBER_ORDER {
        return Err(bad(format!(
            "the members are {:?}, expected {MEMBER_ORDER:?} (then {EVENTS_SYSLOG} in the syslog format)",
            members.order
        )));
    }
    let mut expected = Sha256::new();
    let mut tar = tar::Builder::new(HashSink(&mut expected));
    for name in [MANIFEST, SIGNATURE, CHECKPOINTS] {
        let bytes = members.small.get(name).map_or(&[][..], Vec::as_slice);
        append_member(&mut tar, name, bytes.len() as u64, bytes).map_err(|e| bad(e.to_string()))?;
    }
    let file = File::open(path).at(path, "open archive")?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        if !is_small(&name) {
            let size = entry.size();
            append_member(&mut tar, &name, size, entry).map_err(|e| bad(e.to_string()))?;
        }
    }
    tar.into_inner().map_err(|e| bad(e.to_string()))?;
    let mut actual = Sha256::new();
    let mut file = File::open(path).at(path, "open archive")?;
    std::io::copy(&mut file, &mut HashSink(&mut actual)).at(path, "read archive")?;
    if actual.finalize() != expected.finalize() {
        return Err(bad(
            "the file is not what its members make (a header, padding or trailing byte was changed)"
                .into(),
        ));
    }
    Ok(())
}

struct HashSink<'a>(&'a mut Sha256);

impl std::io::Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn checkpoints_of(
    path: &Path,
    members: &Members,
    store_id: &[u8; 16],
    public: &VerifyingKey,
    epoch0: Option<&SecretKey>,
) -> Result<BTreeMap<u64, Checkpoint>> {
    let text = members
        .small
        .get(CHECKPOINTS)
        .ok_or_else(|| problem(path, ArchiveProblem::Malformed(format!("no {CHECKPOINTS}"))))?;
    let mut out = BTreeMap::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let archived: ArchivedCheckpoint = serde_json::from_slice(line).map_err(|e| {
            problem(
                path,
                ArchiveProblem::Malformed(format!("{CHECKPOINTS}: {e}")),
            )
        })?;
        let c = archived.into_checkpoint().map_err(|p| problem(path, p))?;
        let fail = |detail: &str| {
            problem(
                path,
                ArchiveProblem::Checkpoint {
                    epoch: c.epoch,
                    detail: detail.into(),
                },
            )
        };
        if !c.signature_ok(store_id, public) {
            return Err(fail("its signature does not verify"));
        }
        if let Some(k0) = epoch0 {
            if !c.mac_ok(store_id, &chain::derive(k0, 0, c.epoch)) {
                return Err(fail("its MAC does not verify under the epoch's key"));
            }
        }
        out.insert(c.last_seq, c);
    }
    Ok(out)
}

fn for_each_event(path: &Path, mut f: impl FnMut(StoredEvent) -> Result<()>) -> Result<()> {
    let file = File::open(path).at(path, "open archive")?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let bad = |what: String| problem(path, ArchiveProblem::Malformed(what));
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        if entry.path().map_err(|e| bad(e.to_string()))?.as_os_str() != EVENTS {
            continue;
        }
        for line in BufReader::new(GzDecoder::new(entry)).lines() {
            let line = line.map_err(|e| bad(format!("{EVENTS}: {e}")))?;
            let archived: ArchivedEvent =
                serde_json::from_str(&line).map_err(|e| bad(format!("{EVENTS}: {e}")))?;
            f(archived.into_stored().map_err(|p| problem(path, p))?)?;
        }
        return Ok(());
    }
    Err(bad(format!("no {EVENTS}")))
}

/// The archived events in order, each epoch ended by its checkpoint.
struct ChainCheck<'a> {
    path: &'a Path,
    checkpoints: &'a BTreeMap<u64, Checkpoint>,
    epoch0: Option<&'a SecretKey>,
    key: Option<(u64, SecretKey)>,
    epoch: u64,
    prev: [u8; 32],
    next_seq: u64,
    last_seq: u64,
    count: u64,
    expected_count: u64,
    buf: Vec<u8>,
}

impl<'a> ChainCheck<'a> {
    fn new(
        path: &'a Path,
        manifest: &Manifest,
        checkpoints: &'a BTreeMap<u64, Checkpoint>,
        store_id: &[u8; 16],
        epoch0: Option<&'a SecretKey>,
    ) -> Result<ChainCheck<'a>> {
        let (epoch, prev) = if manifest.first_seq == 1 {
            (0, chain::genesis(store_id))
        } else {
            let anchor = checkpoints.get(&(manifest.first_seq - 1)).ok_or_else(|| {
                problem(
                    path,
                    ArchiveProblem::Malformed(format!(
                        "no checkpoint ends at {}, where the archived chain continues from",
                        manifest.first_seq - 1
                    )),
                )
            })?;
            (anchor.epoch + 1, anchor.chain)
        };
        Ok(ChainCheck {
            path,
            checkpoints,
            epoch0,
            key: None,
            epoch,
            prev,
            next_seq: manifest.first_seq,
            last_seq: manifest.last_seq,
            count: 0,
            expected_count: manifest.events,
            buf: Vec::with_capacity(4096),
        })
    }

    fn broken(&self, seq: u64, detail: String) -> StoreError {
        problem(self.path, ArchiveProblem::Chain { seq, detail })
    }

    fn event(&mut self, e: &StoredEvent) -> Result<()> {
        if e.seq != self.next_seq || e.seq > self.last_seq {
            return Err(self.broken(e.seq, format!("expected event {} here", self.next_seq)));
        }
        if e.epoch != self.epoch {
            return Err(self.broken(
                e.seq,
                format!("claims epoch {}, expected {}", e.epoch, self.epoch),
            ));
        }
        if let Some(k0) = self.epoch0 {
            if self.key.as_ref().map(|(ep, _)| *ep) != Some(e.epoch) {
                self.key = Some((e.epoch, chain::derive(k0, 0, e.epoch)));
            }
            if let Some((_, key)) = &self.key {
                self.buf.clear();
                encode_event(e, &mut self.buf);
                if chain::chain_value(key, &self.prev, e.seq, e.epoch, &self.buf) != e.chain {
                    return Err(self.broken(e.seq, "does not match its seal (altered)".into()));
                }
            }
        }
        if let Some(c) = self.checkpoints.get(&e.seq) {
            if c.chain != e.chain || c.epoch != e.epoch {
                return Err(self.broken(
                    e.seq,
                    format!(
                        "the checkpoint of epoch {} does not match the chain here",
                        c.epoch
                    ),
                ));
            }
            self.epoch += 1;
        }
        self.prev = e.chain;
        self.next_seq += 1;
        self.count += 1;
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        if self.next_seq != self.last_seq + 1 || self.count != self.expected_count {
            return Err(self.broken(
                self.next_seq,
                format!(
                    "the archive holds {} events up to {}, the manifest says {} up to {}",
                    self.count,
                    self.next_seq - 1,
                    self.expected_count,
                    self.last_seq
                ),
            ));
        }
        if !self.checkpoints.contains_key(&self.last_seq) {
            return Err(self.broken(self.last_seq, "no checkpoint seals the last event".into()));
        }
        Ok(())
    }
}
