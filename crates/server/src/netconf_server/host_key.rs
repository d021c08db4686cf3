//! The exporter's SSH host key: read from its file, or made on the first
//! start (Ed25519, OpenSSH format, mode 0600, created exclusively so that
//! two starts never overwrite each other's key), with the public half
//! beside it as `<file>.pub` for clients' known_hosts and `host_key`.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rand::RngCore as _;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::ssh_key::LineEnding;
use russh::keys::{HashAlg, PrivateKey};

/// The host key at `path`; created (with `path.pub`) when the file does not exist.
pub(crate) fn load_or_create(path: &Path) -> anyhow::Result<PrivateKey> {
    match std::fs::metadata(path) {
        Ok(_) => read(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(err) => Err(err)
            .with_context(|| format!("netconf_server.host_key: cannot read {}", path.display())),
    }
}

fn read(path: &Path) -> anyhow::Result<PrivateKey> {
    let key = russh::keys::load_secret_key(path, None).with_context(|| {
        format!(
            "netconf_server.host_key: {} is not an unencrypted OpenSSH private key",
            path.display()
        )
    })?;
    Ok(key)
}

fn create(path: &Path) -> anyhow::Result<PrivateKey> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    let pem = key
        .to_openssh(LineEnding::LF)
        .context("netconf_server.host_key: cannot encode the new key")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("netconf_server.host_key: cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("netconf_server.host_key: cannot create {}", path.display()))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("netconf_server.host_key: cannot write {}", path.display()))?;
    let public = key
        .public_key()
        .to_openssh()
        .context("netconf_server.host_key: cannot encode the public key")?;
    let pub_path = public_path(path);
    std::fs::write(&pub_path, format!("{public}\n")).with_context(|| {
        format!(
            "netconf_server.host_key: cannot write {}",
            pub_path.display()
        )
    })?;
    tracing::info!(
        path = %path.display(),
        fingerprint = %key.fingerprint(HashAlg::Sha256),
        "NETCONF exporter: a new SSH host key was created (its public half is in {})",
        pub_path.display()
    );
    Ok(key)
}

/// `<path>.pub`.
fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn created_once_with_0600_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/host_key");
        let made = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let public = std::fs::read_to_string(dir.path().join("keys/host_key.pub")).unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        let again = load_or_create(&path).unwrap();
        assert_eq!(made.public_key(), again.public_key());
    }

    #[test]
    fn a_file_that_is_not_a_key_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_key");
        std::fs::write(&path, "not a key").unwrap();
        let err = format!("{:#}", load_or_create(&path).unwrap_err());
        assert!(
            err.contains("netconf_server.host_key") && err.contains("host_key"),
            "{err}"
        );
    }
}
