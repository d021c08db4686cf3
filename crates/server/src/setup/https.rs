//! How the HTTP port is protected when it listens beyond loopback: the
//! server refuses a console served over plain HTTP on such an address
//! unless `http.console_plain_http` says so (config/http.rs), so the
//! wizard asks for HTTPS files (checked to exist, parse and match) or for
//! that explicit choice, and never writes a file the server refuses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::pem::{read_certs, read_key};

/// The answers about HTTPS: the files, or plain HTTP explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HttpSecurity {
    /// `http.tls_cert` and `http.tls_key`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `http.console_plain_http`.
    pub plain_http: bool,
}

/// The warning shown (and logged in the answers path) when plain HTTP is chosen.
pub(crate) fn plain_http_warning(address: &str) -> String {
    format!(
        "warning: the console on {address} will carry passwords and session cookies in clear over the network (http.console_plain_http = true); prefer HTTPS"
    )
}

/// True when `address` (already checked as IP:PORT) is a loopback address,
/// where plain HTTP stays on the machine.
pub(crate) fn is_loopback(address: &str) -> bool {
    address
        .trim()
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback())
}

/// A certificate chain file that exists and holds at least one PEM certificate.
pub(crate) fn check_cert(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text.trim());
    read_certs("cert", &path).map_err(|e| without_key_prefix(&e.to_string()))?;
    Ok(path)
}

/// A private key file that parses and belongs to the certificate in `cert`.
pub(crate) fn check_key_of(cert: &Path, text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text.trim());
    let key = read_key("key", &path).map_err(|e| without_key_prefix(&e.to_string()))?;
    let certs = read_certs("cert", cert).map_err(|e| without_key_prefix(&e.to_string()))?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(certs, key, &provider).map_err(|e| {
        format!(
            "{} is not the private key of {}: {e}",
            path.display(),
            cert.display()
        )
    })?;
    Ok(path)
}

/// `read_certs`/`read_key` name the configuration key (`tls.cert ...`);
/// the wizard's question already says which file it is.
fn without_key_prefix(message: &str) -> String {
    message
        .strip_prefix("tls.cert ")
        .or_else(|| message.strip_prefix("tls.key "))
        .unwrap_or(message)
        .to_string()
}

/// The check of the answers file: an address beyond loopback needs both
/// files (which must parse and match) or `console_plain_http = true`.
pub(crate) fn check_http_security(address: &str, security: &HttpSecurity) -> Result<(), String> {
    if let Some((cert, key)) = &security.tls {
        check_cert(&cert.to_string_lossy()).map_err(|e| format!("http_tls_cert: {e}"))?;
        check_key_of(cert, &key.to_string_lossy()).map_err(|e| format!("http_tls_key: {e}"))?;
        return Ok(());
    }
    if is_loopback(address) || security.plain_http {
        return Ok(());
    }
    Err(format!(
        "http_address: {} is not a loopback address: the console needs HTTPS (http_tls_cert and http_tls_key) or, explicitly, console_plain_http = true",
        address.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
        (cert, key)
    }

    #[test]
    fn beyond_loopback_needs_matching_files_or_plain_http_said_explicitly() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair(dir.path(), "a");
        let (_, other_key) = pair(dir.path(), "b");
        let none = HttpSecurity::default();
        assert!(check_http_security("127.0.0.1:8514", &none).is_ok());
        assert!(check_http_security("[::1]:8514", &none).is_ok());
        let refused = check_http_security("0.0.0.0:8514", &none).unwrap_err();
        assert!(
            refused.contains("0.0.0.0:8514 is not a loopback address"),
            "{refused}"
        );
        let plain = HttpSecurity {
            tls: None,
            plain_http: true,
        };
        assert!(check_http_security("0.0.0.0:8514", &plain).is_ok());
        let https = HttpSecurity {
            tls: Some((cert.clone(), key.clone())),
            plain_http: false,
        };
        assert!(check_http_security("0.0.0.0:8514", &https).is_ok());
        let mismatched = HttpSecurity {
            tls: Some((cert.clone(), other_key.clone())),
            plain_http: false,
        };
        let err = check_http_security("0.0.0.0:8514", &mismatched).unwrap_err();
        assert!(
            err.starts_with("http_tls_key:") && err.contains("is not the private key of"),
            "{err}"
        );
        // A key is not a certificate, a certificate is not a key, a missing file.
        assert!(check_cert(&key.to_string_lossy())
            .unwrap_err()
            .contains("no CERTIFICATE"));
        assert!(check_key_of(&cert, &cert.to_string_lossy())
            .unwrap_err()
            .contains("no private key"));
        assert!(check_cert("/no/such.crt")
            .unwrap_err()
            .starts_with("/no/such.crt:"));
    }
}
