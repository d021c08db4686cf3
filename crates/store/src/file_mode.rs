//! Who may read the store: its directories are made 0750 and its database
//! files (catalog, partitions, their `-wal`/`-shm`) 0640, both further
//! narrowed by the umask. Files of an older store that allow more are
//! narrowed when the store opens them.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Context, Result};
use crate::paths::with_suffix;

/// Mode of a directory the store creates (before the umask).
pub(crate) const DIR_MODE: u32 = 0o750;
/// Mode of a database file the store creates (before the umask); SQLite
/// gives a file's `-wal` and `-shm` the mode of the file itself.
pub(crate) const FILE_MODE: u32 = 0o640;

/// Creates `dir` (and missing parents) with [`DIR_MODE`]; an existing one is
/// left as it is.
pub(crate) fn create_dir(dir: &Path, op: &'static str) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .at(dir, op)
}

/// Narrows a directory of the store's own (the partitions directory) to at
/// most [`DIR_MODE`] and the files in it to at most [`FILE_MODE`] (one
/// `stat` per file, at start).
pub(crate) fn narrow_dir(dir: &Path) -> Result<()> {
    narrow(dir, DIR_MODE, "narrow directory permissions")?;
    for entry in std::fs::read_dir(dir).at(dir, "list directory")? {
        let entry = entry.at(dir, "list directory")?;
        if entry.file_type().at(dir, "list directory")?.is_file() {
            narrow(&entry.path(), FILE_MODE, "narrow file permissions")?;
        }
    }
    Ok(())
}

/// Makes sure the database file `path` exists with at most [`FILE_MODE`]
/// before SQLite opens it (SQLite itself would create it 0644), and narrows
/// an existing file and its `-wal`/`-shm` that allow more.
pub(crate) fn prepare_db_file(path: &Path) -> Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).at(path, "create database file"),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = with_suffix(path, suffix);
        if file.exists() {
            narrow(&file, FILE_MODE, "narrow file permissions")?;
        }
    }
    Ok(())
}

fn narrow(path: &Path, allowed: u32, op: &'static str) -> Result<()> {
    let mode = std::fs::metadata(path).at(path, op)?.permissions().mode() & 0o7777;
    if mode & !allowed == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & allowed)).at(path, op)
}
