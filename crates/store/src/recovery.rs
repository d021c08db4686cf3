//! Opening the writer: the first start (identity, keys, verify key) or
//! recovery (the open partition, chain head and epoch, the key file
//! brought forward to where the database is).

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension};

use crate::chain::{self, ChainState, Checkpoint, KeyFile, KeyState, VerifyKey};
use crate::clock::now_ns;
use crate::config::StoreConfig;
use crate::error::{Context, Inconsistency, KeyProblem, Result, StoreError};
use crate::file_mode::{create_dir, narrow_dir};
use crate::partitions::{
    create_partition_file, load_partitions, open_partition_writer, PartitionState,
};
use crate::paths::partitions_dir;
use crate::schema::{CATALOG_APP_ID, CATALOG_MIGRATIONS};
use crate::sqlite::{meta_get, meta_set, open_read_only, open_rw};
use crate::writer::{OpenPartition, Writer};

/// Opens the writer of the store at `config.path`, creating the store on
/// first start; also returns the store's identity.
pub(crate) fn open_writer(config: &StoreConfig) -> Result<(Writer, [u8; 16])> {
    let path = config.path.clone();
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            create_dir(dir, "create data directory")?;
        }
    }
    let parts = partitions_dir(&path);
    create_dir(&parts, "create partitions directory")?;
    narrow_dir(&parts)?;
    let mut catalog = open_rw(
        &path,
        config.synchronous,
        CATALOG_APP_ID,
        CATALOG_MIGRATIONS,
    )?;
    let key_path = config.key_path();
    let (key_file, key_state) = match meta_get(&catalog, &path, "store_id")? {
        Some(id) => {
            let store_id: [u8; 16] = id.try_into().map_err(|_| StoreError::Inconsistent {
                path: path.clone(),
                reason: Inconsistency::StoreIdLength,
            })?;
            if !key_path.exists() {
                return Err(StoreError::Key {
                    path: key_path,
                    reason: KeyProblem::Missing,
                });
            }
            let (kf, state) = KeyFile::open(&key_path)?;
            if state.store_id != store_id {
                return Err(StoreError::Key {
                    path: key_path,
                    reason: KeyProblem::OtherStore {
                        key_store: state.store_id,
                        catalog: path.clone(),
                        store: store_id,
                    },
                });
            }
            (kf, state)
        }
        None => initialise(&mut catalog, config, &key_path)?,
    };
    key_file.lock_exclusive()?;
    let store_id = key_state.store_id;
    let signing = key_state.signing.clone();
    let (part, chain, unsynced) = recover(&mut catalog, config, &store_id, key_state, &key_file)?;
    let writer = Writer {
        retired: Vec::new(),
        catalog,
        part,
        chain,
        key_file,
        signing,
        unsynced,
        key_file_behind: false,
        wal_after_full: false,
        unindexed: Arc::new(AtomicU64::new(0)),
    };
    let mut writer = writer;
    writer.write_key_file(&store_id)?;
    writer.sync_checkpoints()?;
    Ok((writer, store_id))
}

/// First start: keys, verify key, identity.
fn initialise(
    catalog: &mut Connection,
    config: &StoreConfig,
    key_path: &Path,
) -> Result<(KeyFile, KeyState)> {
    let path = &config.path;
    let partitions: i64 = catalog
        .query_row("SELECT count(*) FROM partitions", [], |r| r.get(0))
        .at(path, "read partitions")?;
    if partitions != 0 {
        return Err(StoreError::Inconsistent {
            path: path.clone(),
            reason: Inconsistency::PartitionsWithoutIdentity,
        });
    }
    // A key file without a store identity is what a crash during the
    // first start leaves: adopt it if its epoch is still 0.
    let (kf, state) = if key_path.exists() {
        let (kf, state) = KeyFile::open(key_path)?;
        if state.epoch != 0 {
            return Err(StoreError::Key {
                path: key_path.to_path_buf(),
                reason: KeyProblem::KeyForEmptyDatabase {
                    epoch: state.epoch,
                    catalog: path.to_path_buf(),
                },
            });
        }
        (kf, state)
    } else {
        let mut id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        let state = KeyState::generate(id, now_ns());
        let kf = KeyFile::create(key_path, &state)?;
        (kf, state)
    };
    let verify_path = config.verify_key_path();
    if !verify_path.exists() {
        VerifyKey {
            store_id: state.store_id,
            epoch0_key: state.chain_key.clone(),
            public_key: state.signing.verifying_key(),
        }
        .write_new(&verify_path)?;
    }
    let tx = catalog.transaction().at(path, "begin")?;
    meta_set(&tx, path, "store_id", &state.store_id)?;
    meta_set(
        &tx,
        path,
        "public_key",
        &state.signing.verifying_key().to_bytes(),
    )?;
    meta_set(&tx, path, "created_ns", &now_ns().to_be_bytes())?;
    tx.commit().at(path, "commit store identity")?;
    Ok((kf, state))
}

/// Finds the chain head, the open partition and the current epoch, and
/// brings the key file forward to the epoch the database has reached.
fn recover(
    catalog: &mut Connection,
    config: &StoreConfig,
    store_id: &[u8; 16],
    key_state: KeyState,
    key_file: &KeyFile,
) -> Result<(OpenPartition, ChainState, Vec<Checkpoint>)> {
    let path = &config.path;
    let mut partitions = load_partitions(catalog, path)?;
    if partitions.is_empty() {
        catalog
            .execute(
                "INSERT INTO partitions(first_seq, state) VALUES (1, 'open')",
                [],
            )
            .at(path, "create first partition")?;
        partitions = load_partitions(catalog, path)?;
    }
    let open = partitions
        .iter()
        .rev()
        .find(|p| p.state == PartitionState::Open)
        .cloned()
        .ok_or_else(|| StoreError::Inconsistent {
            path: path.clone(),
            reason: Inconsistency::NoOpenPartition,
        })?;
    // Where the open partition starts in the chain: after the last
    // event of the partition before it, or at the genesis value.
    let before = partitions
        .iter()
        .rev()
        .find(|p| p.first_seq < open.first_seq)
        .cloned();
    let mut catalog_ckpts = Checkpoint::load_all(catalog, path)?;
    let (prev_chain, prev_seq) = match &before {
        None if open.first_seq == 1 => (chain::genesis(store_id), 0),
        _ => {
            // The catalog keeps every checkpoint; a partition always
            // starts right after one.
            let anchor = catalog_ckpts
                .iter()
                .rev()
                .find(|c| c.last_seq + 1 == open.first_seq);
            match anchor {
                Some(c) => (c.chain, c.last_seq),
                None => {
                    let prev = before.as_ref().ok_or_else(|| StoreError::Inconsistent {
                        path: path.clone(),
                        reason: Inconsistency::NothingPrecedes {
                            first_seq: open.first_seq,
                        },
                    })?;
                    let conn = open_read_only(&prev.path)?;
                    let (seq, chain): (i64, Vec<u8>) = conn
                        .query_row(
                            "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1",
                            [],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .at(&prev.path, "read last event")?;
                    (
                        chain.try_into().map_err(|_| StoreError::Inconsistent {
                            path: prev.path.clone(),
                            reason: Inconsistency::ChainValueLength,
                        })?,
                        u64::try_from(seq).unwrap_or(0),
                    )
                }
            }
        }
    };
    let part_conn = if open.path.exists() {
        open_partition_writer(&open.path, config)?
    } else {
        create_partition_file(&open.path, config, store_id, open.first_seq, &prev_chain)?
    };
    if meta_get(&part_conn, &open.path, "first_seq")?.is_none() {
        let tx = part_conn.unchecked_transaction().at(&open.path, "begin")?;
        meta_set(&tx, &open.path, "store_id", store_id)?;
        meta_set(&tx, &open.path, "first_seq", &open.first_seq.to_be_bytes())?;
        meta_set(&tx, &open.path, "prev_chain", &prev_chain)?;
        tx.commit().at(&open.path, "commit partition meta")?;
    }
    let last: Option<(i64, Vec<u8>)> = part_conn
        .query_row(
            "SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .at(&open.path, "read last event")?;
    let rows: i64 = part_conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .at(&open.path, "count events")?;
    let (head, last_seq) = match last {
        Some((seq, chain)) => (
            chain.try_into().map_err(|_| StoreError::Inconsistent {
                path: open.path.clone(),
                reason: Inconsistency::ChainValueLength,
            })?,
            u64::try_from(seq).unwrap_or(0),
        ),
        None => (prev_chain, prev_seq),
    };
    // Checkpoints: the catalog's copy plus any in the newest partitions
    // that a crash kept from being copied.
    let mut unsynced = Vec::new();
    for p in partitions.iter().rev().take(2) {
        let conn = if p.first_seq == open.first_seq {
            None
        } else if p.path.exists() {
            Some(open_read_only(&p.path)?)
        } else {
            continue;
        };
        let list = Checkpoint::load_all(conn.as_ref().unwrap_or(&part_conn), &p.path)?;
        for c in list {
            if !catalog_ckpts.iter().any(|k| k.epoch == c.epoch) {
                unsynced.push(c.clone());
                catalog_ckpts.push(c);
            }
        }
    }
    catalog_ckpts.sort_by_key(|c| c.epoch);
    let last_ckpt = catalog_ckpts.last();
    let epoch = last_ckpt.map_or(0, |c| c.epoch + 1);
    let sealed_seq = last_ckpt.map_or(0, |c| c.last_seq);
    if key_state.epoch > epoch {
        return Err(StoreError::Key {
            path: key_file.path().to_path_buf(),
            reason: KeyProblem::AheadOfCheckpoints {
                key_epoch: key_state.epoch,
                last_checkpoint_epoch: i128::from(epoch) - 1,
                sealed_seq,
            },
        });
    }
    let key = chain::derive(&key_state.chain_key, key_state.epoch, epoch);
    let epoch_started_ns = if key_state.epoch == epoch {
        key_state.epoch_started_ns
    } else {
        last_ckpt.map_or(key_state.epoch_started_ns, |c| c.time_ns)
    };
    Ok((
        OpenPartition {
            first_seq: open.first_seq,
            path: open.path.clone(),
            conn: part_conn,
            rows: u64::try_from(rows).unwrap_or(0),
        },
        ChainState {
            epoch,
            key,
            head,
            next_seq: last_seq + 1,
            epoch_events: last_seq.saturating_sub(sealed_seq),
            epoch_started_ns,
        },
        unsynced,
    ))
}
