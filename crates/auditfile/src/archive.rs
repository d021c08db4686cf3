//! Writing a gzip archive of the current file, and recognising one after a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, Crc};

use crate::error::{io_error, AuditFileError};

/// Mode of every file the crate creates: audit records are not for every local user.
pub(crate) const FILE_MODE: u32 = 0o640;

/// Compresses the first `len` bytes of `src` into a new `tmp`, fsyncs it and returns its size.
/// On failure `tmp` is removed: a half-written archive must not keep holding scarce space.
pub(crate) fn write_gzip(src: &Path, len: u64, tmp: &Path) -> Result<u64, AuditFileError> {
    remove_if_exists(tmp)?;
    let result = write_gzip_into(src, len, tmp);
    if result.is_err() {
        // The original error matters more than a failure to clean up (open removes it too).
        let _ = fs::remove_file(tmp);
    }
    result
}

fn write_gzip_into(src: &Path, len: u64, tmp: &Path) -> Result<u64, AuditFileError> {
    let input = File::open(src).map_err(|e| io_error(src, "open for archiving", e))?;
    let out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(tmp)
        .map_err(|e| io_error(tmp, "create temporary archive", e))?;
    let mut encoder = GzEncoder::new(BufWriter::new(out), Compression::default());
    let mut reader = BufReader::new(input).take(len);
    let copied = copy_reporting(&mut reader, &mut encoder, src, tmp)?;
    if copied != len {
        return Err(io_error(
            src,
            "read for archiving",
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("file shrank to {copied} bytes while {len} were expected"),
            ),
        ));
    }
    let out = encoder
        .finish()
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| io_error(tmp, "write temporary archive", e))?;
    out.sync_all()
        .map_err(|e| io_error(tmp, "sync temporary archive", e))?;
    let meta = out
        .metadata()
        .map_err(|e| io_error(tmp, "read temporary archive size", e))?;
    Ok(meta.len())
}

/// `io::copy` that says which side failed.
fn copy_reporting(
    reader: &mut impl Read,
    writer: &mut impl Write,
    src: &Path,
    dst: &Path,
) -> Result<u64, AuditFileError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(src, "read for archiving", e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        writer
            .write_all(chunk)
            .map_err(|e| io_error(dst, "write temporary archive", e))?;
        total += n as u64;
    }
}

/// True when the gzip `archive` holds exactly the first `len` bytes of `current`.
///
/// Used on open: a crash after the archive's rename but before the current file's truncation
/// leaves the same lines twice. The gzip trailer (CRC-32 and size) is checked first, then the
/// whole content, so a false match is impossible; and even a match only drops an exact copy.
pub(crate) fn gzip_holds_exactly(
    archive: &Path,
    current: &Path,
    len: u64,
) -> Result<bool, AuditFileError> {
    let Some((crc, isize)) = read_gzip_trailer(archive)? else {
        return Ok(false);
    };
    if isize != (len & 0xffff_ffff) as u32 {
        return Ok(false);
    }
    let mut hasher = Crc::new();
    let mut cur = File::open(current)
        .map_err(|e| io_error(current, "open for duplicate check", e))?
        .take(len);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = cur
            .read(&mut buf)
            .map_err(|e| io_error(current, "read for duplicate check", e))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    if hasher.sum() != crc || u64::from(hasher.amount()) != (len & 0xffff_ffff) {
        return Ok(false);
    }
    let archived = File::open(archive).map_err(|e| io_error(archive, "open archive", e))?;
    let current_file =
        File::open(current).map_err(|e| io_error(current, "open for duplicate check", e))?;
    // A corrupt archive is simply "not the same content": the current file is kept.
    Ok(same_bytes(
        GzDecoder::new(BufReader::new(archived)),
        current_file.take(len),
    )
    .unwrap_or(false))
}

fn read_gzip_trailer(path: &Path) -> Result<Option<(u32, u32)>, AuditFileError> {
    let mut f = File::open(path).map_err(|e| io_error(path, "open archive", e))?;
    let size = f
        .metadata()
        .map_err(|e| io_error(path, "read archive size", e))?
        .len();
    // 10-byte header + 8-byte trailer at least.
    if size < 18 {
        return Ok(None);
    }
    let mut trailer = [0u8; 8];
    f.seek(SeekFrom::End(-8))
        .and_then(|_| f.read_exact(&mut trailer))
        .map_err(|e| io_error(path, "read archive trailer", e))?;
    let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
    Ok(Some((
        u32::from_le_bytes([c0, c1, c2, c3]),
        u32::from_le_bytes([s0, s1, s2, s3]),
    )))
}

fn same_bytes(mut a: impl Read, mut b: impl Read) -> io::Result<bool> {
    let mut ba = vec![0u8; 32 * 1024];
    let mut bb = vec![0u8; 32 * 1024];
    loop {
        let na = read_full(&mut a, &mut ba)?;
        let nb = read_full(&mut b, &mut bb)?;
        if ba.get(..na) != bb.get(..nb) {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or EOF, so both sides of a comparison advance in equal steps.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn remove_if_exists(path: &Path) -> Result<bool, AuditFileError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path, "remove", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::archive_size_bound;

    fn decompress(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(File::open(path).unwrap())
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_round_trips_a_prefix_and_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("messages");
        let tmp = dir.path().join("messages.rotating.tmp");
        fs::write(&src, b"one\ntwo\nthree\n").unwrap();
        let size = write_gzip(&src, 8, &tmp).unwrap();
        assert_eq!(size, fs::metadata(&tmp).unwrap().len());
        assert_eq!(decompress(&tmp), b"one\ntwo\n");
        assert!(gzip_holds_exactly(&tmp, &src, 8).unwrap());
        assert!(!gzip_holds_exactly(&tmp, &src, 14).unwrap());
        // Same length, different content.
        fs::write(&src, b"one\ntwX\n").unwrap();
        assert!(!gzip_holds_exactly(&tmp, &src, 8).unwrap());
    }

    #[test]
    fn a_corrupt_or_tiny_archive_is_not_a_match() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("messages");
        fs::write(&src, b"abc\n").unwrap();
        let bad = dir.path().join("messages.0.gz");
        fs::write(&bad, b"xx").unwrap();
        assert!(!gzip_holds_exactly(&bad, &src, 4).unwrap());
        // Right trailer, garbage body.
        let mut crc = Crc::new();
        crc.update(b"abc\n");
        let mut body = vec![0u8; 20];
        body.extend_from_slice(&crc.sum().to_le_bytes());
        body.extend_from_slice(&4u32.to_le_bytes());
        fs::write(&bad, &body).unwrap();
        assert!(!gzip_holds_exactly(&bad, &src, 4).unwrap());
    }

    #[test]
    fn incompressible_lines_stay_within_the_archive_bound() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("messages");
        let tmp = dir.path().join("t");
        // xorshift bytes without CR/LF: as incompressible as audit lines can get.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in [1u64, 17, 300, 5000, 70_000, 200_000] {
            let mut data = Vec::new();
            while (data.len() as u64) < len - 1 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let b = (x >> 24) as u8;
                data.push(if b == b'\n' || b == b'\r' { b'x' } else { b });
            }
            data.push(b'\n');
            fs::write(&src, &data).unwrap();
            let size = write_gzip(&src, len, &tmp).unwrap();
            assert!(
                size <= archive_size_bound(len, true),
                "{len} bytes compressed to {size}"
            );
        }
    }
}
