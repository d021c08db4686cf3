//! Certificates and private keys from PEM files, for the TLS listeners and
//! the TLS syslog outputs alike. Errors name the configuration key and file.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A PEM file that could not be used; `key` is the `tls.*` key naming it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PemError {
    #[error("tls.{key} {}: {source}", path.display())]
    Open {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tls.{key} {}: bad PEM: {source}", path.display())]
    Parse {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tls.{key} {}: no CERTIFICATE in the file", path.display())]
    NoCertificate { key: &'static str, path: PathBuf },
    #[error("tls.{key} {}: no private key in the file", path.display())]
    NoKey { key: &'static str, path: PathBuf },
}

fn open(key: &'static str, path: &Path) -> Result<BufReader<File>, PemError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| PemError::Open {
            key,
            path: path.to_owned(),
            source,
        })
}

/// Every certificate in `path` (at least one).
pub(crate) fn read_certs(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = rustls_pemfile::certs(&mut open(key, path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PemError::Parse {
            key,
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate {
            key,
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key in `path`.
pub(crate) fn read_key(key: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    rustls_pemfile::private_key(&mut open(key, path)?)
        .map_err(|source| PemError::Parse {
            key,
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| PemError::NoKey {
            key,
            path: path.to_owned(),
        })
}
