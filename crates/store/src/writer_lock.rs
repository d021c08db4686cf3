//! The store's writer lock held by a process that is not the writer: a
//! whole-store reader such as `store copy` that must see every event, so
//! no `serve` may append while it reads (and none may start).

use std::fs::File;
use std::path::PathBuf;

use crate::config::StoreConfig;
use crate::error::{Context, KeyProblem, Result, StoreError};

/// Holds the exclusive lock on the store's key file (the lock the writer
/// takes, docs/store.md) until dropped.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the writer lock of the store `config` names, without waiting:
    /// [`StoreError::Locked`] naming the catalog when a writer holds it.
    /// The key file is opened read-only; its content is not read.
    pub fn acquire(config: &StoreConfig) -> Result<WriterLock> {
        let key_path = config.key_path();
        if !key_path.exists() {
            return Err(StoreError::Key {
                path: key_path,
                reason: KeyProblem::Missing,
            });
        }
        let file = File::open(&key_path).at(&key_path, "open key file")?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock {
                _file: file,
                path: config.path.clone(),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: config.path.clone(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Io {
                path: key_path,
                op: "lock key file",
                source: e,
            }),
        }
    }

    /// The catalog of the locked store.
    pub fn store_path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn refused_while_the_writer_runs_and_free_after() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path().join("netaudit.db"));
        let store = Store::open(config.clone()).unwrap();
        match WriterLock::acquire(&config) {
            Err(StoreError::Locked { path }) => assert_eq!(path, config.path),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(store);
        let held = WriterLock::acquire(&config).unwrap();
        assert_eq!(held.store_path(), config.path);
        // And the writer cannot start while the lock is held.
        assert!(matches!(
            Store::open(config.clone()),
            Err(StoreError::Locked { .. })
        ));
        drop(held);
        Store::open(config).unwrap();
    }

    #[test]
    fn a_store_without_its_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path().join("netaudit.db"));
        match WriterLock::acquire(&config) {
            Err(StoreError::Key { path, .. }) => assert_eq!(path, config.key_path()),
            other => panic!("expected a key error, got {other:?}"),
        }
    }
}
