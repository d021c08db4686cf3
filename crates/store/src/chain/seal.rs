//! Sealing events: each event's chain value, an HMAC under the epoch key
//! over the previous value, its position, its epoch and its encoding.

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::keys::{HmacSha256, SecretKey};

/// The chain value before the first event: bound to the store's identity.
pub fn genesis(store_id: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"netaudit/chain-genesis/v1");
    h.update(store_id);
    h.finalize().into()
}

/// chain_s = HMAC(k_epoch, "netaudit/chain/v1" || prev || be64(seq) || be64(epoch) || encoding).
pub fn chain_value(
    key: &SecretKey,
    prev: &[u8; 32],
    seq: u64,
    epoch: u64,
    encoding: &[u8],
) -> [u8; 32] {
    ChainHasher::new(key).value(prev, seq, epoch, encoding)
}

/// [`chain_value`] under one epoch key, keyed once: each event then costs
/// only the hashing of its own bytes, not HMAC's key schedule. Holds what
/// the key holds; keep it no longer than the key (a batch).
#[derive(Clone)]
pub(crate) struct ChainHasher {
    keyed: HmacSha256,
}

impl ChainHasher {
    pub(crate) fn new(key: &SecretKey) -> ChainHasher {
        ChainHasher {
            keyed: <HmacSha256 as Mac>::new_from_slice(&key.0)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length")),
        }
    }

    pub(crate) fn value(&self, prev: &[u8; 32], seq: u64, epoch: u64, encoding: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(b"netaudit/chain/v1");
        mac.update(prev);
        mac.update(&seq.to_be_bytes());
        mac.update(&epoch.to_be_bytes());
        mac.update(encoding);
        mac.finalize().into_bytes().into()
    }
}
