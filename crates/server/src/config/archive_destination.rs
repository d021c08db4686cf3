//! `store.retention_archive_to`: a folder, or `sftp://user@host:port/dir`
//! with `retention_archive_sftp_key` and `retention_archive_sftp_known_hosts`.

use std::path::PathBuf;

use netaudit_store::{ArchiveDestination, SftpDestination};

use super::error::ConfigError;

const KEY: &str = "store.retention_archive_to";
const PRIVATE_KEY: &str = "store.retention_archive_sftp_key";
const KNOWN_HOSTS: &str = "store.retention_archive_sftp_known_hosts";

/// The destination for `archive_to` and the SFTP files that go with it;
/// the SFTP keys are refused without an `sftp://` destination.
pub(super) fn resolve(
    archive_to: Option<String>,
    private_key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
) -> Result<Option<ArchiveDestination>, ConfigError> {
    let Some(text) = archive_to else {
        refuse_sftp_files(&private_key, &known_hosts)?;
        return Ok(None);
    };
    if text.is_empty() {
        return Err(ConfigError::invalid(KEY, "must not be empty"));
    }
    let Some(rest) = text.strip_prefix("sftp://") else {
        if text.contains("://") {
            return Err(ConfigError::invalid(
                KEY,
                format!("'{text}': a folder or sftp://user@host:port/dir; no other scheme"),
            ));
        }
        refuse_sftp_files(&private_key, &known_hosts)?;
        return Ok(Some(ArchiveDestination::Folder(PathBuf::from(text))));
    };
    let (authority, dir) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let bad = |why: &str| {
        ConfigError::invalid(
            KEY,
            format!("'{text}': {why} (expected sftp://user@host:port/absolute/dir)"),
        )
    };
    if dir.len() < 2 {
        return Err(bad("no remote folder"));
    }
    let (user, hostport) = authority.split_once('@').ok_or_else(|| bad("no user"))?;
    if user.is_empty() {
        return Err(bad("no user"));
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None => 22,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(&format!("port '{p}' is not a number from 1 to 65535")))?,
    };
    let private_key = private_key.ok_or_else(|| {
        ConfigError::invalid(PRIVATE_KEY, "required with an sftp:// retention_archive_to")
    })?;
    // Never trust on first use: the host key must be known beforehand.
    let known_hosts = known_hosts.ok_or_else(|| {
        ConfigError::invalid(
            KNOWN_HOSTS,
            "required with an sftp:// retention_archive_to (the server's host key is never trusted on first use)",
        )
    })?;
    Ok(Some(ArchiveDestination::Sftp(SftpDestination {
        user: user.to_string(),
        host: host.to_string(),
        port,
        dir: dir.trim_end_matches('/').to_string(),
        private_key,
        known_hosts,
    })))
}

/// The SFTP files are an error without an `sftp://` destination.
fn refuse_sftp_files(
    private_key: &Option<PathBuf>,
    known_hosts: &Option<PathBuf>,
) -> Result<(), ConfigError> {
    match (private_key, known_hosts) {
        (None, None) => Ok(()),
        (Some(_), _) => Err(ConfigError::invalid(PRIVATE_KEY, ONLY_WITH_SFTP)),
        (None, Some(_)) => Err(ConfigError::invalid(KNOWN_HOSTS, ONLY_WITH_SFTP)),
    }
}

const ONLY_WITH_SFTP: &str = "only goes with an sftp:// store.retention_archive_to";

#[cfg(test)]
mod tests {
    use super::*;

    fn sftp(text: &str) -> Result<Option<ArchiveDestination>, ConfigError> {
        resolve(
            Some(text.to_string()),
            Some("id".into()),
            Some("known".into()),
        )
    }

    #[test]
    fn an_sftp_url_gives_user_host_port_and_folder() {
        let Some(ArchiveDestination::Sftp(d)) = sftp("sftp://arch@127.0.0.1:2222/srv/a/").unwrap()
        else {
            panic!("not sftp")
        };
        assert_eq!(
            (d.user.as_str(), d.host.as_str(), d.port, d.dir.as_str()),
            ("arch", "127.0.0.1", 2222, "/srv/a")
        );
        let Some(ArchiveDestination::Sftp(d)) = sftp("sftp://a@[::1]/x").unwrap() else {
            panic!("not sftp")
        };
        assert_eq!((d.host.as_str(), d.port), ("::1", 22));
        assert_eq!(d.to_string(), "sftp://a@[::1]:22/x");
    }

    #[test]
    fn bad_urls_and_missing_keys_are_refused_with_the_key_named() {
        for (text, why) in [
            ("sftp://127.0.0.1:22/x", "no user"),
            ("sftp://a@127.0.0.1:22", "no remote folder"),
            ("sftp://a@127.0.0.1:port/x", "port 'port'"),
            ("sftp://a@127.0.0.1:0/x", "port '0'"),
            ("sftp://a@:22/x", "no host"),
            ("ftp://a@h/x", "no other scheme"),
        ] {
            let err = sftp(text).unwrap_err().to_string();
            assert!(err.contains(KEY) && err.contains(why), "{text}: {err}");
        }
        let err = resolve(Some("sftp://a@h/x".into()), Some("id".into()), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(KNOWN_HOSTS) && err.contains("never trusted"),
            "{err}"
        );
        let err = resolve(Some("sftp://a@h/x".into()), None, Some("k".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(PRIVATE_KEY), "{err}");
        let err = resolve(Some("/var/a".into()), Some("id".into()), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(PRIVATE_KEY), "{err}");
        assert_eq!(
            resolve(Some("/var/a".into()), None, None).unwrap(),
            Some(ArchiveDestination::Folder("/var/a".into()))
        );
    }
}
