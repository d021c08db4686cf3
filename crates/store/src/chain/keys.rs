//! Keys: the forward-secure chain key that evolves one way at each epoch,
//! the Ed25519 key that signs checkpoints, the key file that holds them
//! (mode 0600, two slots rewritten in place so the old key is overwritten
//! rather than left behind in a renamed-away inode), and the verify key
//! (epoch 0 key and public key) that is exported once for safe keeping.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::Hmac;
use sha2::{Digest, Sha256};

use crate::config::StoreConfig;
use crate::error::{Context, KeyProblem, Result, StoreError, VERIFY_KEY_HEADER};
use crate::paths::sync_dir;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// A 32-byte secret that is overwritten when dropped.
#[derive(Clone)]
pub struct SecretKey(pub(crate) [u8; 32]);

impl SecretKey {
    /// The raw key bytes (for HMAC; never printed).
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// Overwrites a buffer in a way the optimizer may not elide.
#[allow(unsafe_code)]
pub(crate) fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// k_{e+1} = SHA-256("netaudit/key-evolve/v1" || be64(e+1) || k_e).
/// Binding the epoch number means a key cannot be reused for another epoch.
pub fn evolve(key: &SecretKey, next_epoch: u64) -> SecretKey {
    let mut h = Sha256::new();
    h.update(b"netaudit/key-evolve/v1");
    h.update(next_epoch.to_be_bytes());
    h.update(key.0);
    SecretKey(h.finalize().into())
}

/// The key of `epoch`, derived from the key of epoch `from_epoch`.
pub fn derive(key: &SecretKey, from_epoch: u64, epoch: u64) -> SecretKey {
    let mut k = key.clone();
    let mut e = from_epoch;
    while e < epoch {
        e += 1;
        k = evolve(&k, e);
    }
    k
}

/// A short public fingerprint of a key; domain-separated so that it is not
/// the next epoch's key.
pub fn fingerprint(key: &SecretKey) -> String {
    let mut h = Sha256::new();
    h.update(b"netaudit/key-fingerprint/v1");
    h.update(key.0);
    hex::encode(&h.finalize()[..8])
}

/// The live key state of a store (or of one node's chain in a PostgreSQL store).
pub struct KeyState {
    /// The chain's identity (its genesis is derived from it).
    pub store_id: [u8; 16],
    /// The epoch the chain key belongs to.
    pub epoch: u64,
    /// When that epoch started (Unix ns).
    pub epoch_started_ns: i64,
    /// The chain key of `epoch`.
    pub chain_key: SecretKey,
    /// The checkpoint signing key (not forward-secure).
    pub signing: SigningKey,
}

impl KeyState {
    /// A new chain at epoch 0: random chain key and signing key.
    pub fn generate(store_id: [u8; 16], now_ns: i64) -> KeyState {
        let mut rng = rand::rngs::OsRng;
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rng, &mut key);
        KeyState {
            store_id,
            epoch: 0,
            epoch_started_ns: now_ns,
            chain_key: SecretKey(key),
            signing: SigningKey::generate(&mut rng),
        }
    }

    /// Signs `message` with the checkpoint signing key.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

const SLOT_MAGIC: &[u8; 8] = b"NAKEYv1\0";
const SLOT_LEN: usize = 512;
const SLOT_BODY: usize = 8 + 16 + 8 + 8 + 32 + 32;

fn encode_slot(state: &KeyState) -> [u8; SLOT_LEN] {
    let mut slot = [0u8; SLOT_LEN];
    let mut body = Vec::with_capacity(SLOT_BODY + 32);
    body.extend_from_slice(SLOT_MAGIC);
    body.extend_from_slice(&state.store_id);
    body.extend_from_slice(&state.epoch.to_be_bytes());
    body.extend_from_slice(&state.epoch_started_ns.to_be_bytes());
    body.extend_from_slice(&state.chain_key.0);
    body.extend_from_slice(&state.signing.to_bytes());
    let digest: [u8; 32] = Sha256::digest(&body).into();
    body.extend_from_slice(&digest);
    slot[..body.len()].copy_from_slice(&body);
    wipe(&mut body);
    slot
}

fn take<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn decode_slot(slot: &[u8]) -> Option<KeyState> {
    let body = slot.get(..SLOT_BODY)?;
    let digest: [u8; 32] = take(slot, SLOT_BODY)?;
    if body.get(..8)? != SLOT_MAGIC || <[u8; 32]>::from(Sha256::digest(body)) != digest {
        return None;
    }
    let store_id = take::<16>(body, 8)?;
    let epoch = u64::from_be_bytes(take(body, 24)?);
    let epoch_started_ns = i64::from_be_bytes(take(body, 32)?);
    let chain_key = SecretKey(take(body, 40)?);
    let seed: [u8; 32] = take(body, 72)?;
    Some(KeyState {
        store_id,
        epoch,
        epoch_started_ns,
        chain_key,
        signing: SigningKey::from_bytes(&seed),
    })
}

fn parse_slots(path: &Path, bytes: &[u8]) -> Result<KeyState> {
    let (Some(first), Some(second)) = (bytes.get(..SLOT_LEN), bytes.get(SLOT_LEN..2 * SLOT_LEN))
    else {
        return Err(key_err(path, KeyProblem::TooShort));
    };
    match (decode_slot(first), decode_slot(second)) {
        (Some(a), Some(b)) => {
            if a.store_id != b.store_id {
                return Err(key_err(path, KeyProblem::SlotsDisagree));
            }
            Ok(if a.epoch >= b.epoch { a } else { b })
        }
        (Some(a), None) => Ok(a),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(key_err(path, KeyProblem::NoValidSlot)),
    }
}

fn key_err(path: &Path, reason: KeyProblem) -> StoreError {
    StoreError::Key {
        path: path.to_path_buf(),
        reason,
    }
}

/// The key file: two 512-byte slots, each with magic, store id, epoch,
/// epoch start, chain key, signing seed and a SHA-256 checksum. An update
/// writes the new state into the slot that does not hold the current one,
/// syncs, then overwrites the other slot too, so that after an evolve both
/// slots hold the new key and the old key's bytes are gone from the file.
pub struct KeyFile {
    path: PathBuf,
    file: File,
}

impl KeyFile {
    /// The file this key file was read from or written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a new key file (fails if one exists), mode 0600.
    pub fn create(path: &Path, state: &KeyState) -> Result<KeyFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .at(path, "create key file")?;
        let mut kf = KeyFile {
            path: path.to_path_buf(),
            file,
        };
        kf.write_both(state)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(kf)
    }

    /// Takes an exclusive advisory lock: one writer per store.
    pub fn lock_exclusive(&self) -> Result<()> {
        match self.file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: self.path.clone(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Io {
                path: self.path.clone(),
                op: "lock key file",
                source: e,
            }),
        }
    }

    /// Opens an existing key file and reads the newest valid slot.
    pub fn open(path: &Path) -> Result<(KeyFile, KeyState)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .at(path, "open key file")?;
        let meta = file.metadata().at(path, "stat key file")?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(key_err(path, KeyProblem::ReadableByOthers { mode }));
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).at(path, "read key file")?;
        if bytes.len() != 2 * SLOT_LEN {
            wipe(&mut bytes);
            return Err(key_err(
                path,
                KeyProblem::WrongSize {
                    size: meta.len(),
                    expected: 2 * SLOT_LEN as u64,
                },
            ));
        }
        let state = parse_slots(path, &bytes);
        wipe(&mut bytes);
        let state = state?;
        Ok((
            KeyFile {
                path: path.to_path_buf(),
                file,
            },
            state,
        ))
    }

    /// Reads the key state without opening the file for writing (verify).
    pub fn open_read_only(path: &Path) -> Result<(File, KeyState)> {
        let mut file = File::open(path).at(path, "open key file")?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).at(path, "read key file")?;
        let state = parse_slots(path, &bytes);
        wipe(&mut bytes);
        Ok((file, state?))
    }

    fn write_slot(&mut self, index: u64, slot: &[u8; SLOT_LEN]) -> Result<()> {
        self.file
            .seek(SeekFrom::Start(index * SLOT_LEN as u64))
            .at(&self.path, "seek key file")?;
        self.file.write_all(slot).at(&self.path, "write key file")?;
        self.file.sync_data().at(&self.path, "sync key file")
    }

    /// Replaces the stored state; the previous key is overwritten in both slots.
    pub fn write_both(&mut self, state: &KeyState) -> Result<()> {
        let mut slot = encode_slot(state);
        // The slot of the newer state goes first, so a crash between the two
        // writes leaves the new state in one slot and at most the old in the other.
        let first = state.epoch % 2;
        let result = self
            .write_slot(first, &slot)
            .and_then(|()| self.write_slot(1 - first, &slot));
        wipe(&mut slot);
        result
    }
}

/// What an external verifier needs: the store id, the epoch 0 chain key and
/// the checkpoint signing public key. Text, one `name value` per line.
pub struct VerifyKey {
    /// The identity of the store the key belongs to.
    pub store_id: [u8; 16],
    /// The chain key of epoch 0; later epochs' keys are derived from it.
    pub epoch0_key: SecretKey,
    /// The public half of the checkpoint signing key.
    pub public_key: VerifyingKey,
}

impl VerifyKey {
    /// The key as text, the format [`VerifyKey::parse`] reads.
    pub fn to_text(&self) -> String {
        format!(
            "{VERIFY_KEY_HEADER}\nstore-id {}\nepoch0-key {}\nsigning-public-key {}\n",
            hex::encode(self.store_id),
            hex::encode(self.epoch0_key.0),
            hex::encode(self.public_key.to_bytes())
        )
    }

    /// Reads the text [`VerifyKey::to_text`] writes; `path` is named in the
    /// errors (which line, which field).
    pub fn parse(path: &Path, text: &str) -> Result<VerifyKey> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(VERIFY_KEY_HEADER) {
            return Err(key_err(path, KeyProblem::NotAVerifyKey));
        }
        let (mut id, mut key, mut public) = (None, None, None);
        for (n, line) in lines.enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            let bytes = hex::decode(value.trim()).map_err(|cause| {
                key_err(
                    path,
                    KeyProblem::BadHex {
                        line: n + 2,
                        field: name.to_string(),
                        cause,
                    },
                )
            })?;
            match name {
                "store-id" => id = <[u8; 16]>::try_from(bytes.as_slice()).ok(),
                "epoch0-key" => key = <[u8; 32]>::try_from(bytes.as_slice()).ok(),
                "signing-public-key" => public = <[u8; 32]>::try_from(bytes.as_slice()).ok(),
                _ => {}
            }
        }
        let store_id =
            id.ok_or_else(|| key_err(path, KeyProblem::MissingField { field: "store-id" }))?;
        let epoch0 = key.ok_or_else(|| {
            key_err(
                path,
                KeyProblem::MissingField {
                    field: "epoch0-key",
                },
            )
        })?;
        let public = public.ok_or_else(|| {
            key_err(
                path,
                KeyProblem::MissingField {
                    field: "signing-public-key",
                },
            )
        })?;
        let public_key = VerifyingKey::from_bytes(&public).map_err(|e| {
            key_err(
                path,
                KeyProblem::BadPublicKey {
                    cause: e.to_string(),
                },
            )
        })?;
        Ok(VerifyKey {
            store_id,
            epoch0_key: SecretKey(epoch0),
            public_key,
        })
    }

    /// Reads and parses the verify key file at `path`.
    pub fn read(path: &Path) -> Result<VerifyKey> {
        let text = std::fs::read_to_string(path).at(path, "read verify key")?;
        VerifyKey::parse(path, &text)
    }

    /// Writes the verify key to a new file, mode 0600.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .at(path, "create verify key file")?;
        file.write_all(self.to_text().as_bytes())
            .at(path, "write verify key file")?;
        file.sync_all().at(path, "sync verify key file")?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

/// Reads the local copy of the verify key (written on first start).
pub fn read_local_verify_key(config: &StoreConfig) -> Result<VerifyKey> {
    let path = config.verify_key_path();
    if !path.exists() {
        return Err(StoreError::Key {
            path,
            reason: KeyProblem::NoLocalVerifyKey,
        });
    }
    VerifyKey::read(&path)
}

/// Overwrites and removes the local copy of the verify key, once it is
/// safely elsewhere: from then on nobody on this machine can re-seal the past.
pub fn erase_local_verify_key(config: &StoreConfig) -> Result<()> {
    shred(&config.verify_key_path())
}

/// Overwrites a file's bytes with zeros, syncs, and removes it.
pub(crate) fn shred(path: &Path) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .at(path, "open for erasing")?;
    let len = file.metadata().at(path, "stat")?.len();
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros).at(path, "overwrite")?;
    file.sync_all().at(path, "sync")?;
    drop(file);
    std::fs::remove_file(path).at(path, "remove")?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_evolution_erases_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let mut state = KeyState::generate([7; 16], 5);
        let k0 = state.chain_key.clone();
        let mut kf = KeyFile::create(&path, &state).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        state.chain_key = evolve(&state.chain_key, 1);
        state.epoch = 1;
        kf.write_both(&state).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(32).any(|w| w == k0.bytes()));
        let (_, loaded) = KeyFile::open(&path).unwrap();
        assert_eq!(loaded.epoch, 1);
        assert_eq!(loaded.chain_key.bytes(), derive(&k0, 0, 1).bytes());
    }

    #[test]
    fn torn_slot_falls_back_to_the_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let state = KeyState::generate([1; 16], 0);
        KeyFile::create(&path, &state).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[40] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, loaded) = KeyFile::open(&path).unwrap();
        assert_eq!(loaded.chain_key.bytes(), state.chain_key.bytes());
        bytes[SLOT_LEN + 40] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = KeyFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("no slot has a valid checksum"), "{err}");
    }

    #[test]
    fn world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        KeyFile::create(&path, &KeyState::generate([1; 16], 0)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn verify_key_text_round_trip() {
        let state = KeyState::generate([3; 16], 0);
        let vk = VerifyKey {
            store_id: state.store_id,
            epoch0_key: state.chain_key.clone(),
            public_key: state.signing.verifying_key(),
        };
        let parsed = VerifyKey::parse(Path::new("x"), &vk.to_text()).unwrap();
        assert_eq!(parsed.epoch0_key.bytes(), vk.epoch0_key.bytes());
        assert_eq!(parsed.public_key, vk.public_key);
        assert!(VerifyKey::parse(Path::new("x"), "hello").is_err());
    }
}
