//! Signed checkpoints of the chain head, one at the end of every epoch.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hmac::Mac;
use rusqlite::{params, Connection};
use std::path::Path;

use super::keys::{HmacSha256, SecretKey};
use crate::error::{Context, Inconsistency, Result, StoreError};
use crate::rows::to_i64;

/// The chain head at the end of an epoch: MAC'd with that epoch's key (so it
/// is forward-secure) and signed with Ed25519 (so that anyone holding the
/// public key can check a copy sent off the machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The epoch this checkpoint closes.
    pub epoch: u64,
    /// The last sequence number of the epoch (0 when the store is empty).
    pub last_seq: u64,
    /// The chain value of `last_seq` (the genesis value when empty).
    pub chain: [u8; 32],
    /// When the checkpoint was written (Unix nanoseconds, UTC).
    pub time_ns: i64,
    /// HMAC-SHA256 of [`Checkpoint::signed_bytes`] under the epoch's chain key.
    pub mac: [u8; 32],
    /// Ed25519 signature of [`Checkpoint::signed_bytes`] by the store's signing key.
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// "netaudit/checkpoint/v1" || store_id || be64(epoch) || be64(last_seq) || chain || be64(time_ns)
    pub fn signed_bytes(
        store_id: &[u8; 16],
        epoch: u64,
        last_seq: u64,
        chain: &[u8; 32],
        time_ns: i64,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(22 + 16 + 8 + 8 + 32 + 8);
        out.extend_from_slice(b"netaudit/checkpoint/v1");
        out.extend_from_slice(store_id);
        out.extend_from_slice(&epoch.to_be_bytes());
        out.extend_from_slice(&last_seq.to_be_bytes());
        out.extend_from_slice(chain);
        out.extend_from_slice(&time_ns.to_be_bytes());
        out
    }

    /// The checkpoint that ends `epoch` at `last_seq` with chain value
    /// `chain`: MAC under the epoch's own key, signature with the store's
    /// signing key (what the embedded writer stores; a PostgreSQL node
    /// seals its epochs the same way).
    pub fn seal(
        store_id: &[u8; 16],
        epoch: u64,
        last_seq: u64,
        chain: &[u8; 32],
        time_ns: i64,
        key: &SecretKey,
        signing: &ed25519_dalek::SigningKey,
    ) -> Checkpoint {
        use ed25519_dalek::Signer;
        let bytes = Self::signed_bytes(store_id, epoch, last_seq, chain, time_ns);
        Checkpoint {
            epoch,
            last_seq,
            chain: *chain,
            time_ns,
            mac: Self::mac_of(key, &bytes),
            signature: signing.sign(&bytes).to_bytes(),
        }
    }

    pub(crate) fn mac_of(key: &SecretKey, bytes: &[u8]) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key.bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// Whether `mac` is the HMAC of this checkpoint under `key` (the key of
    /// its epoch), compared in constant time.
    pub fn mac_ok(&self, store_id: &[u8; 16], key: &SecretKey) -> bool {
        let bytes = Self::signed_bytes(
            store_id,
            self.epoch,
            self.last_seq,
            &self.chain,
            self.time_ns,
        );
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key.bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(&bytes);
        mac.verify_slice(&self.mac).is_ok()
    }

    /// Whether `signature` is a valid Ed25519 signature of this checkpoint
    /// by `public` (the store's checkpoint signing key).
    pub fn signature_ok(&self, store_id: &[u8; 16], public: &VerifyingKey) -> bool {
        let bytes = Self::signed_bytes(
            store_id,
            self.epoch,
            self.last_seq,
            &self.chain,
            self.time_ns,
        );
        public
            .verify(&bytes, &Signature::from_bytes(&self.signature))
            .is_ok()
    }

    /// One line for sending to outputs: `netaudit-checkpoint v1 store=.. epoch=.. seq=.. chain=.. time_ns=.. sig=..`
    pub fn to_line(&self, store_id: &[u8; 16]) -> String {
        format!(
            "netaudit-checkpoint v1 store={} epoch={} seq={} chain={} time_ns={} sig={}",
            hex::encode(store_id),
            self.epoch,
            self.last_seq,
            hex::encode(self.chain),
            self.time_ns,
            hex::encode(self.signature)
        )
    }

    pub(crate) fn insert(&self, conn: &Connection, path: &Path) -> Result<()> {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO checkpoints(epoch, last_seq, chain, time_ns, mac, signature) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut st| {
            st.execute(params![
                to_i64("epoch", self.epoch).unwrap_or(i64::MAX),
                to_i64("sequence", self.last_seq).unwrap_or(i64::MAX),
                &self.chain[..],
                self.time_ns,
                &self.mac[..],
                &self.signature[..]
            ])
        })
        .at(path, "insert checkpoint")?;
        Ok(())
    }

    /// All checkpoints of one database (catalog or partition), by epoch.
    pub(crate) fn load_all(conn: &Connection, path: &Path) -> Result<Vec<Checkpoint>> {
        let mut st = conn
            .prepare("SELECT epoch, last_seq, chain, time_ns, mac, signature FROM checkpoints ORDER BY epoch")
            .at(path, "read checkpoints")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                ))
            })
            .at(path, "read checkpoints")?;
        let mut out = Vec::new();
        for row in rows {
            let (epoch, last_seq, chain, time_ns, mac, signature) =
                row.at(path, "read checkpoint")?;
            let bad = || StoreError::Inconsistent {
                path: path.to_path_buf(),
                reason: Inconsistency::MalformedCheckpoint { epoch },
            };
            out.push(Checkpoint {
                epoch: u64::try_from(epoch).map_err(|_| bad())?,
                last_seq: u64::try_from(last_seq).map_err(|_| bad())?,
                chain: chain.try_into().map_err(|_| bad())?,
                time_ns,
                mac: mac.try_into().map_err(|_| bad())?,
                signature: signature.try_into().map_err(|_| bad())?,
            });
        }
        Ok(out)
    }
}
