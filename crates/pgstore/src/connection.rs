//! Connection strings and connecting: the libpq URL or key=value forms
//! (several hosts, `target_session_attrs=read-write`, `sslmode`), with two
//! keys of our own that the client library does not read: `password_file`
//! (the password is the file's first line) and `sslrootcert` (the CA that
//! signed the server's certificate; TLS is then required and the server's
//! name checked). Without a password in the string or a file, `PGPASSWORD`
//! from the environment is used. The password never appears in a message:
//! errors name the database by [`ConnectionSpec::target`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, Config, NoTls};

use crate::error::{PgStoreError, Result};

/// How long a connection attempt to one host may take when the string does
/// not say (`connect_timeout`): an unreachable database is reported
/// promptly instead of after the operating system's minutes.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable read for the password when neither the string
/// nor a `password_file` gives one (libpq's name for it).
pub const PASSWORD_ENV: &str = "PGPASSWORD";

/// A parsed connection string, ready to connect.
#[derive(Clone)]
pub struct ConnectionSpec {
    config: Config,
    tls_roots: Option<Arc<rustls::RootCertStore>>,
    target: String,
}

impl fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password: only what `target` shows.
        f.debug_struct("ConnectionSpec")
            .field("target", &self.target)
            .field("tls", &self.tls_roots.is_some())
            .finish()
    }
}

impl ConnectionSpec {
    /// Reads a connection string (`postgres://...`, `postgresql://...` or
    /// `key=value ...`), the password file it names, or `PGPASSWORD`.
    pub fn parse(text: &str) -> Result<ConnectionSpec> {
        let password_env = std::env::var(PASSWORD_ENV).ok();
        Self::parse_with_env(text, password_env.as_deref())
    }

    /// [`ConnectionSpec::parse`] with the environment's password given.
    pub fn parse_with_env(text: &str, password_env: Option<&str>) -> Result<ConnectionSpec> {
        let (rest, ours) = split_own_keys(text)?;
        let mut config: Config = rest.parse().map_err(|e| PgStoreError::Malformed {
            detail: error_chain(&e),
        })?;
        if config.get_hosts().is_empty() {
            return Err(PgStoreError::Malformed {
                detail: "no host (give host=... or postgres://HOST/...)".into(),
            });
        }
        if config.get_user().is_none() {
            return Err(PgStoreError::Malformed {
                detail: "no user (give user=... or postgres://USER@HOST/...)".into(),
            });
        }
        if config.get_password().is_none() {
            if let Some(path) = &ours.password_file {
                let text = std::fs::read_to_string(path).map_err(|source| PgStoreError::File {
                    what: "password_file",
                    path: path.clone(),
                    source,
                })?;
                config.password(text.lines().next().unwrap_or(""));
            } else if let Some(p) = password_env {
                config.password(p);
            }
        } else if ours.password_file.is_some() {
            return Err(PgStoreError::Malformed {
                detail: "both a password and password_file are given; keep one".into(),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("netaudit");
        }
        let tls_roots = match (&ours.sslrootcert, config.get_ssl_mode()) {
            (Some(_), SslMode::Disable) => {
                return Err(PgStoreError::Malformed {
                    detail: "sslrootcert is given but sslmode=disable".into(),
                })
            }
            (Some(path), _) => {
                config.ssl_mode(SslMode::Require);
                Some(Arc::new(read_roots(path)?))
            }
            (None, SslMode::Require) => {
                return Err(PgStoreError::Malformed {
                    detail: "sslmode=require needs sslrootcert=FILE (the CA certificate that \
                             signed the server's certificate; the server's name is checked)"
                        .into(),
                })
            }
            // `prefer` (the default) without roots: no TLS is attempted.
            (None, _) => {
                config.ssl_mode(SslMode::Disable);
                None
            }
        };
        let target = describe_target(&config);
        Ok(ConnectionSpec {
            config,
            tls_roots,
            target,
        })
    }

    /// `host:port,host:port/dbname as user`: how messages name the database.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls_roots.is_some()
    }

    /// Connects to the first host that accepts (and, with
    /// `target_session_attrs=read-write`, takes writes).
    pub fn connect(&self) -> Result<Client> {
        let connected = match &self.tls_roots {
            Some(roots) => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| PgStoreError::Malformed {
                        detail: format!("TLS: {e}"),
                    })?
                    .with_root_certificates(Arc::clone(roots))
                    .with_no_client_auth();
                self.config
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
            None => self.config.connect(NoTls),
        };
        connected.map_err(|e| self.connect_error(&e))
    }

    fn connect_error(&self, e: &postgres::Error) -> PgStoreError {
        let target = self.target.clone();
        if let Some(db) = e.as_db_error() {
            // Class 28: invalid authorization specification (wrong
            // password, unknown user, no pg_hba.conf entry).
            if db.code().code().starts_with("28") {
                return PgStoreError::Authentication {
                    target,
                    detail: db.message().to_string(),
                };
            }
            return PgStoreError::Query {
                target,
                op: "connect",
                detail: error_chain(e),
            };
        }
        let detail = error_chain(e);
        if detail.starts_with("authentication error") {
            return PgStoreError::Authentication { target, detail };
        }
        if detail.starts_with("error performing TLS handshake") {
            return PgStoreError::Tls { target, detail };
        }
        PgStoreError::Unreachable { target, detail }
    }
}

/// The message of a client error with its causes, `a: b: c`; for a server
/// error its message and SQLSTATE.
pub(crate) fn error_chain(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

fn describe_target(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports
                .get(i)
                .or_else(|| (ports.len() == 1).then(|| &ports[0]))
                .copied()
                .unwrap_or(5432);
            match h {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or("?");
    let db = config.get_dbname().unwrap_or(user);
    format!("{}/{db} as {user}", hosts.join(","))
}

fn read_roots(path: &Path) -> Result<rustls::RootCertStore> {
    let file_error = |source| PgStoreError::File {
        what: "sslrootcert",
        path: path.to_path_buf(),
        source,
    };
    let pem = std::fs::read(path).map_err(file_error)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.map_err(file_error)?).map_err(|e| {
            file_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(file_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no PEM certificate in it",
        )));
    }
    Ok(roots)
}

/// Our keys, taken out of the string before the client library reads it.
#[derive(Debug, Default, PartialEq, Eq)]
struct OwnKeys {
    password_file: Option<PathBuf>,
    sslrootcert: Option<PathBuf>,
}

impl OwnKeys {
    fn take(&mut self, key: &str, value: String) -> Result<bool> {
        let slot = match key {
            "password_file" => &mut self.password_file,
            "sslrootcert" => &mut self.sslrootcert,
            _ => return Ok(false),
        };
        if value.is_empty() {
            return Err(PgStoreError::Malformed {
                detail: format!("{key} is empty"),
            });
        }
        *slot = Some(PathBuf::from(value));
        Ok(true)
    }
}

/// Splits `password_file` and `sslrootcert` off the string; returns the
/// rest in the same form (URL or key=value).
fn split_own_keys(text: &str) -> Result<(String, OwnKeys)> {
    let mut ours = OwnKeys::default();
    let text = text.trim();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let Some((base, query)) = text.split_once('?') else {
            return Ok((text.to_string(), ours));
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !ours.take(key, percent_decode(value)?)? {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, ours));
    }
    if text.contains("://") {
        return Err(PgStoreError::Malformed {
            detail: "a URL must start with postgres:// or postgresql://".into(),
        });
    }
    let mut kept = Vec::new();
    for (key, value) in key_values(text)? {
        if !ours.take(&key, value.clone())? {
            kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    Ok((kept.join(" "), ours))
}

/// The pairs of a `key=value` string (values may be single-quoted, with
/// `\'` and `\\` escapes), as libpq reads them.
fn key_values(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    loop {
        while it.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            it.next();
        }
        let Some(&(start, _)) = it.peek() else {
            return Ok(out);
        };
        let mut key = String::new();
        while let Some(&(_, c)) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            it.next();
        }
        if it.next().map(|(_, c)| c) != Some('=') {
            return Err(PgStoreError::Malformed {
                detail: format!("expected key=value at byte {start} (after \"{key}\")"),
            });
        }
        while it.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            it.next();
        }
        let mut value = String::new();
        if it.peek().map(|(_, c)| *c) == Some('\'') {
            it.next();
            let mut closed = false;
            while let Some((_, c)) = it.next() {
                match c {
                    '\'' => {
                        closed = true;
                        break;
                    }
                    '\\' => {
                        if let Some((_, n)) = it.next() {
                            value.push(n);
                        }
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(PgStoreError::Malformed {
                    detail: format!("the quoted value of \"{key}\" is not closed"),
                });
            }
        } else {
            while let Some(&(_, c)) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                it.next();
            }
        }
        out.push((key, value));
    }
}

fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| PgStoreError::Malformed {
                    detail: format!("bad %-escape at byte {i} of the URL's parameters"),
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PgStoreError::Malformed {
        detail: "a URL parameter is not UTF-8 once decoded".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_several_hosts_and_read_write() {
        let spec = ConnectionSpec::parse_with_env(
            "postgres://audit@db1:5433,db2:5434/netaudit?target_session_attrs=read-write",
            None,
        )
        .unwrap();
        assert_eq!(spec.target(), "db1:5433,db2:5434/netaudit as audit");
        assert_eq!(
            spec.config.get_target_session_attrs(),
            postgres::config::TargetSessionAttrs::ReadWrite
        );
        assert!(!spec.uses_tls());
    }

    #[test]
    fn key_value_with_password_file_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret pass\n").unwrap();
        let text = format!(
            "host=127.0.0.1 port=5999 user=netaudit dbname='audit db' password_file='{}'",
            file.display()
        );
        let spec = ConnectionSpec::parse_with_env(&text, Some("from-env")).unwrap();
        assert_eq!(spec.config.get_password(), Some(&b"s3cret pass"[..]));
        assert_eq!(spec.config.get_dbname(), Some("audit db"));
        assert_eq!(spec.target(), "127.0.0.1:5999/audit db as netaudit");
        assert!(!format!("{spec:?}").contains("s3cret"));
    }

    #[test]
    fn password_from_the_environment_only_when_not_given() {
        let spec = ConnectionSpec::parse_with_env("host=h user=u", Some("envpass")).unwrap();
        assert_eq!(spec.config.get_password(), Some(&b"envpass"[..]));
        let spec =
            ConnectionSpec::parse_with_env("host=h user=u password=own", Some("envpass")).unwrap();
        assert_eq!(spec.config.get_password(), Some(&b"own"[..]));
    }

    #[test]
    fn url_password_file_is_percent_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p w");
        std::fs::write(&file, "pw").unwrap();
        let url = format!(
            "postgresql://u@h/d?password_file={}&connect_timeout=3",
            file.display().to_string().replace(' ', "%20")
        );
        let spec = ConnectionSpec::parse_with_env(&url, None).unwrap();
        assert_eq!(spec.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(
            spec.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
    }

    #[test]
    fn malformed_strings_are_refused_without_echoing_the_password() {
        for bad in [
            "host=h user=u password=hunter2 port=notaport",
            "postgres://u:hunter2@h:99999/d",
            "host=h user=u password='hunter2",
            "mysql://u:hunter2@h/d",
            "host=h user=u password=hunter2 bogus_key=1",
            "host=h password=hunter2",
            "host=h user=u password=hunter2 sslmode=require",
        ] {
            let err = ConnectionSpec::parse_with_env(bad, None).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, PgStoreError::Malformed { .. }),
                "{bad}: {text}"
            );
            assert!(!text.contains("hunter2"), "{bad}: {text}");
        }
    }

    #[test]
    fn missing_password_file_names_the_file() {
        let err = ConnectionSpec::parse_with_env(
            "host=h user=u password_file=/nonexistent/netaudit-pw",
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("password_file /nonexistent/netaudit-pw"),
            "{err}"
        );
    }
}
