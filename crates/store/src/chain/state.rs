//! The writer's place in the chain: epoch, key, head and next sequence
//! number; advancing to the next epoch and sealing one with a checkpoint.

use ed25519_dalek::{Signer, SigningKey};

use super::checkpoint::Checkpoint;
use super::keys::{evolve, SecretKey};

/// The chain's moving parts; cloned for a batch and swapped in on commit,
/// so a failed batch leaves the store exactly as it was.
#[derive(Clone)]
pub(crate) struct ChainState {
    pub(crate) epoch: u64,
    pub(crate) key: SecretKey,
    pub(crate) head: [u8; 32],
    pub(crate) next_seq: u64,
    pub(crate) epoch_events: u64,
    pub(crate) epoch_started_ns: i64,
}

impl ChainState {
    /// The checkpoint that ends this epoch at the current head.
    pub(crate) fn checkpoint(
        &self,
        store_id: &[u8; 16],
        signing: &SigningKey,
        time_ns: i64,
    ) -> Checkpoint {
        let last_seq = self.next_seq - 1;
        let bytes = Checkpoint::signed_bytes(store_id, self.epoch, last_seq, &self.head, time_ns);
        Checkpoint {
            epoch: self.epoch,
            last_seq,
            chain: self.head,
            time_ns,
            mac: Checkpoint::mac_of(&self.key, &bytes),
            signature: signing.sign(&bytes).to_bytes(),
        }
    }

    /// Advances to the next epoch (in memory only): the key evolves.
    pub(crate) fn next_epoch(&mut self, now: i64) {
        self.epoch += 1;
        self.key = evolve(&self.key, self.epoch);
        self.epoch_events = 0;
        self.epoch_started_ns = now;
    }
}
