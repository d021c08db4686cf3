//! Exporting a sealed partition to a signed archive in a folder: the
//! members are written to temporary files in that folder, packed into a
//! temporary tar, synced and renamed into place, then read back and
//! verified before retention may drop the partition.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::contents::{
    append_member, archive_file_name, ArchivedCheckpoint, ArchivedEvent, Manifest, CHECKPOINTS,
    EVENTS, MANIFEST, SIGNATURE,
};
use super::read::check_archive;
use crate::clock::now_ns;
use crate::error::{ArchiveProblem, Context, Result, StoreError};
use crate::partitions::PartitionInfo;
use crate::query::Reader;
use crate::shared::{lock, Shared};

/// The archive of `part` in `dir`: an existing one that verifies is kept
/// (a retention pass that stopped after writing it), otherwise it is
/// written now. Returns its path once it has been read back and verified.
pub(crate) fn archive_partition(
    shared: &Shared,
    part: &PartitionInfo,
    dir: &Path,
) -> Result<PathBuf> {
    let last = part.last_seq.ok_or_else(|| StoreError::Archive {
        path: part.path.clone(),
        problem: ArchiveProblem::Malformed("the partition is not sealed".into()),
    })?;
    let signing = lock(&shared.writer).signing.clone();
    let public = signing.verifying_key();
    let path = dir.join(archive_file_name(&shared.store_id, part.first_seq, last));
    if path.exists() && check_archive(&path, &shared.store_id, &public, None).is_ok() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).at(dir, "create the archive folder")?;
    let tmp_events = dir.join(format!(".{}.events.tmp", part.first_seq));
    let tmp_tar = dir.join(format!(".{}.tar.tmp", part.first_seq));
    let result = write_archive(shared, part, last, &signing, &tmp_events, &tmp_tar, &path);
    let _ = std::fs::remove_file(&tmp_events);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_tar);
    }
    result?;
    check_archive(&path, &shared.store_id, &public, None)?;
    Ok(path)
}

fn write_archive(
    shared: &Shared,
    part: &PartitionInfo,
    last: u64,
    signing: &ed25519_dalek::SigningKey,
    tmp_events: &Path,
    tmp_tar: &Path,
    path: &Path,
) -> Result<()> {
    let catalog = &shared.config.path;
    // A reader of its own: the export must not hold the store's reader.
    let mut reader = Reader::open(catalog)?;
    let checkpoints: Vec<ArchivedCheckpoint> = reader
        .catalog_checkpoints()?
        .iter()
        .filter(|c| c.last_seq + 1 >= part.first_seq && c.last_seq <= last)
        .map(ArchivedCheckpoint::of)
        .collect();
    let mut checkpoint_lines = Vec::new();
    for c in &checkpoints {
        serde_json::to_writer(&mut checkpoint_lines, c).map_err(|e| malformed(tmp_tar, e))?;
        checkpoint_lines.push(b'\n');
    }

    let file = File::create(tmp_events).at(tmp_events, "create archive events file")?;
    let mut gz = GzEncoder::new(
        HashingWriter::new(BufWriter::new(file)),
        flate2::Compression::default(),
    );
    let mut count = 0u64;
    let mut write_error = None;
    reader.scan(part.first_seq, last, |row| {
        let line = serde_json::to_vec(&ArchivedEvent::of(row));
        let written = line
            .map_err(std::io::Error::other)
            .and_then(|l| gz.write_all(&l).and_then(|()| gz.write_all(b"\n")));
        match written {
            Ok(()) => {
                count += 1;
                Ok(true)
            }
            Err(e) => {
                write_error = Some(e);
                Ok(false)
            }
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).at(tmp_events, "write archive events");
    }
    let hashing = gz.finish().at(tmp_events, "write archive events")?;
    let events_digest = hashing.digest();
    let file = hashing
        .inner
        .into_inner()
        .map_err(|e| e.into_error())
        .at(tmp_events, "write archive events")?;
    file.sync_all().at(tmp_events, "sync archive events")?;
    drop(file);

    let manifest = Manifest {
        store_id: shared.store_id,
        first_seq: part.first_seq,
        last_seq: last,
        events: count,
        created_ns: now_ns(),
        digests: vec![
            (EVENTS.to_string(), events_digest),
            (
                CHECKPOINTS.to_string(),
                Sha256::digest(&checkpoint_lines).into(),
            ),
        ],
    }
    .render();
    let signature = format!(
        "{}\n",
        hex::encode(signing.sign(manifest.as_bytes()).to_bytes())
    );

    let file = File::create(tmp_tar).at(tmp_tar, "create archive")?;
    let mut tar = tar::Builder::new(BufWriter::new(file));
    for (name, bytes) in [
        (MANIFEST, manifest.as_bytes()),
        (SIGNATURE, signature.as_bytes()),
        (CHECKPOINTS, checkpoint_lines.as_slice()),
    ] {
        append_member(&mut tar, name, bytes.len() as u64, bytes).at(tmp_tar, "write archive")?;
    }
    let events = File::open(tmp_events).at(tmp_events, "read archive events")?;
    let size = events
        .metadata()
        .at(tmp_events, "read archive events")?
        .len();
    append_member(&mut tar, EVENTS, size, std::io::BufReader::new(events))
        .at(tmp_tar, "write archive")?;
    let file = tar
        .into_inner()
        .at(tmp_tar, "write archive")?
        .into_inner()
        .map_err(|e| e.into_error())
        .at(tmp_tar, "write archive")?;
    file.sync_all().at(tmp_tar, "sync archive")?;
    drop(file);
    std::fs::rename(tmp_tar, path).at(path, "rename archive into place")?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .at(dir, "sync archive folder")?;
    }
    Ok(())
}

fn malformed(path: &Path, e: serde_json::Error) -> StoreError {
    StoreError::Archive {
        path: path.to_path_buf(),
        problem: ArchiveProblem::Malformed(e.to_string()),
    }
}

/// SHA-256 of what passes through to `inner`.
struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Sha256::new(),
        }
    }

    fn digest(&self) -> [u8; 32] {
        self.hash.clone().finalize().into()
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
