//! The tamper-evident chain (docs/store.md, "The chain"): every event is
//! sealed with an HMAC over the previous chain value under the epoch's key
//! ([`seal`]); the key evolves one way at each epoch and lives in the key
//! file, with the verify key exported once ([`keys`]); each epoch ends with
//! a signed checkpoint of the chain head ([`checkpoint`]); the writer's
//! place in it is a [`ChainState`] ([`state`]). The bytes sealed are the
//! canonical encoding (`crate::encoding`); `crate::verify` walks the chain.

mod checkpoint;
mod keys;
mod seal;
mod state;

pub use checkpoint::Checkpoint;

pub use keys::{
    derive, erase_local_verify_key, evolve, fingerprint, read_local_verify_key, KeyFile, KeyState,
    SecretKey, VerifyKey,
};
pub(crate) use seal::ChainHasher;
pub use seal::{chain_value, genesis};
pub(crate) use state::ChainState;
