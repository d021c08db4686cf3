//! Exporting a sealed partition to a signed archive in a folder: the
//! members (the JSON lines, and the RFC 5424 lines in the syslog format)
//! are written to temporary files in that folder, packed into a
//! temporary tar, synced and renamed into place, then read back and
//! verified before retention may drop the partition.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use netaudit_syslog::{write_forwarded, ForwardFormat};

use super::contents::{
    append_member, archive_file_name, ArchivedCheckpoint, ArchivedEvent, Manifest, CHECKPOINTS,
    EVENTS, EVENTS_SYSLOG, MANIFEST, SIGNATURE,
};
use super::read::check_archive;
use crate::clock::now_ns;
use crate::config::ArchiveFormat;
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
    format: ArchiveFormat,
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
    let temp = TempFiles {
        events: dir.join(format!(".{}.events.tmp", part.first_seq)),
        syslog: (format == ArchiveFormat::Syslog)
            .then(|| dir.join(format!(".{}.syslog.tmp", part.first_seq))),
        tar: dir.join(format!(".{}.tar.tmp", part.first_seq)),
    };
    let result = write_archive(shared, part, last, &signing, &temp, &path);
    let _ = std::fs::remove_file(&temp.events);
    if let Some(syslog) = &temp.syslog {
        let _ = std::fs::remove_file(syslog);
    }
    if result.is_err() {
        let _ = std::fs::remove_file(&temp.tar);
    }
    result?;
    check_archive(&path, &shared.store_id, &public, None)?;
    Ok(path)
}

/// The temporary files an archive is made from, in its folder.
struct TempFiles {
    events: PathBuf,
    /// In the syslog format only.
    syslog: Option<PathBuf>,
    tar: PathBuf,
}

/// A gzip member written to its temporary file, hashed as it goes.
struct GzMember<'a> {
    path: &'a Path,
    gz: GzEncoder<HashingWriter<BufWriter<File>>>,
}

impl<'a> GzMember<'a> {
    fn create(path: &'a Path) -> Result<GzMember<'a>> {
        let file = File::create(path).at(path, "create archive member")?;
        Ok(GzMember {
            path,
            gz: GzEncoder::new(
                HashingWriter::new(BufWriter::new(file)),
                flate2::Compression::default(),
            ),
        })
    }

    /// Completes and syncs the file; returns the SHA-256 of its bytes.
    fn finish(self) -> Result<[u8; 32]> {
        let path = self.path;
        let hashing = self.gz.finish().at(path, "write archive member")?;
        let digest = hashing.digest();
        let file = hashing
            .inner
            .into_inner()
            .map_err(|e| e.into_error())
            .at(path, "write archive member")?;
        file.sync_all().at(path, "sync archive member")?;
        Ok(digest)
    }
}

fn write_archive(
    shared: &Shared,
    part: &PartitionInfo,
    last: u64,
    signing: &ed25519_dalek::SigningKey,
    temp: &TempFiles,
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
        serde_json::to_writer(&mut checkpoint_lines, c).map_err(|e| malformed(&temp.tar, e))?;
        checkpoint_lines.push(b'\n');
    }

    let mut events = GzMember::create(&temp.events)?;
    let mut syslog = temp.syslog.as_deref().map(GzMember::create).transpose()?;
    let mut count = 0u64;
    let mut write_error: Option<(&Path, std::io::Error)> = None;
    let mut line = Vec::new();
    reader.scan(part.first_seq, last, |row| {
        if let Some(syslog) = syslog.as_mut() {
            // The structured format as the syslog outputs write it, with
            // the event's own facility.
            line.clear();
            let mut event = row.event.clone();
            write_forwarded(row.seq, &mut event, ForwardFormat::Structured, &mut line);
            line.push(b'\n');
            if let Err(e) = syslog.gz.write_all(&line) {
                write_error = Some((syslog.path, e));
                return Ok(false);
            }
        }
        let written = serde_json::to_vec(&ArchivedEvent::of(row))
            .map_err(std::io::Error::other)
            .and_then(|l| {
                events
                    .gz
                    .write_all(&l)
                    .and_then(|()| events.gz.write_all(b"\n"))
            });
        match written {
            Ok(()) => {
                count += 1;
                Ok(true)
            }
            Err(e) => {
                write_error = Some((events.path, e));
                Ok(false)
            }
        }
    })?;
    if let Some((at, e)) = write_error {
        return Err(e).at(at, "write archive member");
    }
    let mut digests = vec![
        (EVENTS.to_string(), events.finish()?),
        (
            CHECKPOINTS.to_string(),
            Sha256::digest(&checkpoint_lines).into(),
        ),
    ];
    if let Some(syslog) = syslog {
        digests.push((EVENTS_SYSLOG.to_string(), syslog.finish()?));
    }

    let manifest = Manifest {
        store_id: shared.store_id,
        first_seq: part.first_seq,
        last_seq: last,
        events: count,
        created_ns: now_ns(),
        digests,
    }
    .render();
    let signature = format!(
        "{}\n",
        hex::encode(signing.sign(manifest.as_bytes()).to_bytes())
    );

    let tmp_tar = &temp.tar;
    let file = File::create(tmp_tar).at(tmp_tar, "create archive")?;
    let mut tar = tar::Builder::new(BufWriter::new(file));
    for (name, bytes) in [
        (MANIFEST, manifest.as_bytes()),
        (SIGNATURE, signature.as_bytes()),
        (CHECKPOINTS, checkpoint_lines.as_slice()),
    ] {
        append_member(&mut tar, name, bytes.len() as u64, bytes).at(tmp_tar, "write archive")?;
    }
    let streamed = [
        (EVENTS, Some(&temp.events)),
        (EVENTS_SYSLOG, temp.syslog.as_ref()),
    ];
    for (name, from) in streamed {
        let Some(from) = from else { continue };
        let member = File::open(from).at(from, "read archive member")?;
        let size = member.metadata().at(from, "read archive member")?.len();
        append_member(&mut tar, name, size, std::io::BufReader::new(member))
            .at(tmp_tar, "write archive")?;
    }
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
