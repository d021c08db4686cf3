//! The public keys each user may authenticate with: one file per user in
//! `netconf_server.authorized_keys_dir`, named as the user, in OpenSSH
//! authorized_keys format (one key per line, `#` comments; options before
//! the key are refused rather than ignored). Read at each attempt, so a
//! key added or removed takes effect at once.

use std::path::Path;

use russh::keys::PublicKey;

use crate::auth::validate_name;

/// Whether `key` is one of `user`'s authorized keys. A missing file means
/// none; a line that does not parse is logged (with file and line) and
/// skipped; a name that cannot be a user name never names a file.
pub(crate) fn is_authorized(dir: &Path, user: &str, key: &PublicKey) -> bool {
    if validate_name(user).is_err() || user.starts_with('.') {
        return false;
    }
    let path = dir.join(user);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return false,
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "NETCONF exporter: cannot read the user's authorized keys");
            return false;
        }
    };
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match PublicKey::from_openssh(line) {
            Ok(allowed) if allowed.key_data() == key.key_data() => return true,
            Ok(_) => {}
            Err(err) => tracing::warn!(
                path = %path.display(),
                line = index + 1,
                error = %err,
                "NETCONF exporter: an authorized_keys line is not a public key (options are not supported); skipped"
            ),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use russh::keys::ssh_key::private::Ed25519Keypair;
    use russh::keys::PrivateKey;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
            .public_key()
            .clone()
    }

    #[test]
    fn only_the_users_own_listed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let listed = key(1);
        std::fs::write(
            dir.path().join("audit"),
            format!(
                "# the auditor's keys\nno-pty {}\ngarbage\n{}\n",
                key(3).to_openssh().unwrap(),
                listed.to_openssh().unwrap()
            ),
        )
        .unwrap();
        assert!(is_authorized(dir.path(), "audit", &listed));
        assert!(!is_authorized(dir.path(), "audit", &key(2)));
        // The line with options is skipped, not taken.
        assert!(!is_authorized(dir.path(), "audit", &key(3)));
        assert!(!is_authorized(dir.path(), "other", &listed));
        assert!(!is_authorized(dir.path(), "../audit", &listed));
    }
}
