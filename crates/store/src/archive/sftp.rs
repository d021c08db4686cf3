//! Uploading a written and verified archive to a remote folder by SFTP:
//! the server's host key must be in the configured `known_hosts`, the file
//! goes to a temporary name, is synced and renamed into place, then read
//! back and compared (size and SHA-256) with the local one.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use ssh2::{CheckResult, KnownHostFileKind, RenameFlags, Session, Sftp};

use crate::config::SftpDestination;
use crate::error::{Context, Result, StoreError};

/// How long connecting, and then any one network operation, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const IO_TIMEOUT_MS: u32 = 60_000;

/// Uploads `local` into `dest`'s folder unless an identical file is there
/// already; returns its location (`sftp://user@host:port/dir/NAME`) once it
/// has been read back and matches.
pub(crate) fn upload(dest: &SftpDestination, local: &Path) -> Result<String> {
    let fail = |problem: String| StoreError::Upload {
        destination: dest.to_string(),
        problem,
    };
    let name = local
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| fail(format!("{}: not an archive file name", local.display())))?;
    let (size, digest) = digest_of(File::open(local).at(local, "read archive to upload")?)
        .at(local, "read archive to upload")?;
    let session = connect(dest).map_err(fail)?;
    let sftp = session
        .sftp()
        .map_err(|e| fail(format!("cannot start SFTP: {e}")))?;
    let dir = Path::new(&dest.dir);
    // Created when missing, with its parents, like a local archive folder.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| sftp.stat(d).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        sftp.mkdir(d, 0o750)
            .map_err(|e| fail(format!("cannot create {}: {e}", d.display())))?;
    }
    let remote = dir.join(name);
    let location = format!("{}/{name}", dest.to_string().trim_end_matches('/'));
    // A pass that stopped after uploading leaves an identical file: kept.
    if remote_digest(&sftp, &remote).ok() == Some((size, digest)) {
        return Ok(location);
    }
    let part = dir.join(format!(".{name}.part"));
    send(&sftp, local, &part).map_err(|e| fail(format!("cannot write {}: {e}", part.display())))?;
    sftp.rename(
        &part,
        &remote,
        Some(RenameFlags::OVERWRITE | RenameFlags::ATOMIC | RenameFlags::NATIVE),
    )
    .map_err(|e| fail(format!("cannot rename {} into place: {e}", part.display())))?;
    let back = remote_digest(&sftp, &remote)
        .map_err(|e| fail(format!("cannot read back {}: {e}", remote.display())))?;
    if back != (size, digest) {
        return Err(fail(format!(
            "read back {}: {} bytes with SHA-256 {}, not the {size} bytes with SHA-256 {} sent",
            remote.display(),
            back.0,
            hex::encode(back.1),
            hex::encode(digest)
        )));
    }
    Ok(location)
}

/// An authenticated session with a server whose host key is known.
fn connect(dest: &SftpDestination) -> std::result::Result<Session, String> {
    let addrs: Vec<_> = (dest.host.as_str(), dest.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", dest.host))?
        .collect();
    let mut last = format!("{} resolves to no address", dest.host);
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let mut session = Session::new().map_err(|e| format!("cannot start SSH: {e}"))?;
    session.set_timeout(IO_TIMEOUT_MS);
    session.set_tcp_stream(tcp);
    session
        .handshake()
        .map_err(|e| format!("SSH handshake failed: {e}"))?;
    check_host_key(&session, dest)?;
    session
        .userauth_pubkey_file(&dest.user, None, &dest.private_key, None)
        .map_err(|e| {
            format!(
                "authentication as {} with {} refused: {e}",
                dest.user,
                dest.private_key.display()
            )
        })?;
    if !session.authenticated() {
        return Err(format!("authentication as {} refused", dest.user));
    }
    Ok(session)
}

fn check_host_key(session: &Session, dest: &SftpDestination) -> std::result::Result<(), String> {
    let file = dest.known_hosts.display();
    let mut known = session
        .known_hosts()
        .map_err(|e| format!("cannot check host keys: {e}"))?;
    known
        .read_file(&dest.known_hosts, KnownHostFileKind::OpenSSH)
        .map_err(|e| format!("cannot read known hosts {file}: {e}"))?;
    let (key, _) = session
        .host_key()
        .ok_or("the server sent no host key".to_string())?;
    match known.check_port(&dest.host, dest.port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(format!(
            "the server's host key does not match the one for {} in {file}",
            dest.host
        )),
        CheckResult::NotFound => Err(format!(
            "{}:{} is not in {file} (host keys are never trusted on first use)",
            dest.host, dest.port
        )),
        CheckResult::Failure => Err(format!("cannot check the host key against {file}")),
    }
}

/// Copies `local` to `remote` and syncs it on the server.
fn send(sftp: &Sftp, local: &Path, remote: &Path) -> std::io::Result<()> {
    let mut from = File::open(local)?;
    let mut to = sftp.create(remote)?;
    std::io::copy(&mut from, &mut to)?;
    to.flush()?;
    to.fsync().map_err(std::io::Error::other)?;
    to.close().map_err(std::io::Error::other)
}

fn remote_digest(sftp: &Sftp, remote: &Path) -> std::io::Result<(u64, [u8; 32])> {
    digest_of(sftp.open(remote)?)
}

/// Size and SHA-256 of what `from` reads.
fn digest_of(mut from: impl Read) -> std::io::Result<(u64, [u8; 32])> {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hash.finalize().into()));
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
}
