//! `[[output.radius]]`: one RADIUS accounting output (see docs/radius.md).
//!
//! ```toml
//! [[output.radius]]
//! name = "aaa"                          # cursor `radius:aaa`, logs, metrics
//! servers = ["192.0.2.10:1813", "192.0.2.11:1813"]   # failover order
//! secret_file = "/etc/netaudit/radius.secret"        # or secret_env = "VAR"
//! nas_identifier = "netaudit-1"
//! nas_ip_address = "192.0.2.5"          # optional
//! timeout_ms = 2000                     # first wait; doubles per retransmission
//! max_timeout_ms = 16000
//! retransmissions = 2                   # identical re-sends per server
//! dead_time_secs = 30                   # a failed server is tried last this long
//! retry_initial_ms = 1000               # when no server answered: first pause,
//! retry_max_ms = 60000                  #   doubling up to this
//! alert_after_secs = 300                # then a stored alert event
//! ```

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use netaudit_radius::mapping::NasIdentity;
use netaudit_radius::{Dictionary, SharedSecret};
use serde::Deserialize;

use crate::config::error::ConfigError;
use crate::output::radius::client::{ClientOptions, ServerSpec};

/// One `[[output.radius]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRadiusOutput {
    name: String,
    servers: Vec<String>,
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    allow_short_secret: Option<bool>,
    nas_identifier: Option<String>,
    nas_ip_address: Option<Ipv4Addr>,
    timeout_ms: Option<u64>,
    max_timeout_ms: Option<u64>,
    retransmissions: Option<u32>,
    dead_time_secs: Option<u64>,
    retry_initial_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    alert_after_secs: Option<u64>,
    dictionary: Option<PathBuf>,
    attribute_numbers: Option<BTreeMap<String, u8>>,
}

/// One `[[output.radius]]` table, parsed; [`RadiusOutputConfig::resolve`]
/// checks what it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RadiusOutputConfig {
    /// Unique; names the durable cursor (`radius:<name>`), logs and metrics.
    pub name: String,
    /// `HOST:PORT` of each accounting server, in failover order.
    pub servers: Vec<String>,
    /// File holding the shared secret (one trailing newline is ignored).
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the shared secret.
    pub secret_env: Option<String>,
    /// Accept a secret shorter than 16 octets (RFC 2865's "SHOULD").
    pub allow_short_secret: bool,
    pub nas_identifier: String,
    pub nas_ip_address: Option<Ipv4Addr>,
    pub timeout_ms: u64,
    pub max_timeout_ms: u64,
    pub retransmissions: u32,
    pub dead_time_secs: u64,
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
    /// After this long without delivering a pending record, store an alert
    /// event (and again each time as long as it lasts).
    pub alert_after_secs: u64,
    /// A FreeRADIUS-format dictionary read on top of the built-in one.
    pub dictionary: Option<PathBuf>,
    /// Other numbers for the JUNOScope vendor attributes, by name.
    pub attribute_numbers: BTreeMap<String, u8>,
    /// A digest of what the table refers to outside the configuration
    /// (the secret's file or variable, the dictionary file), set by
    /// `Config::resolve_outputs`: part of the comparison, so that a reload
    /// restarts the output when only the secret file's content changed.
    pub referenced_digest: Option<[u8; 32]>,
}

impl RawRadiusOutput {
    /// Fills in the defaults; key paths are relative to the table. What the
    /// table refers to is checked later, by [`RadiusOutputConfig::resolve`].
    pub(crate) fn resolve(self) -> Result<RadiusOutputConfig, ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::invalid("name", "must not be empty"));
        }
        Ok(RadiusOutputConfig {
            name: self.name,
            servers: self.servers,
            secret_file: self.secret_file,
            secret_env: self.secret_env,
            allow_short_secret: self.allow_short_secret.unwrap_or(false),
            nas_identifier: self
                .nas_identifier
                .unwrap_or_else(|| "netaudit".to_string()),
            nas_ip_address: self.nas_ip_address,
            timeout_ms: self.timeout_ms.unwrap_or(2_000),
            max_timeout_ms: self.max_timeout_ms.unwrap_or(16_000),
            retransmissions: self.retransmissions.unwrap_or(2),
            dead_time_secs: self.dead_time_secs.unwrap_or(30),
            retry_initial_ms: self.retry_initial_ms.unwrap_or(1_000),
            retry_max_ms: self.retry_max_ms.unwrap_or(60_000),
            alert_after_secs: self.alert_after_secs.unwrap_or(300),
            dictionary: self.dictionary,
            attribute_numbers: self.attribute_numbers.unwrap_or_default(),
            referenced_digest: None,
        })
    }
}

/// Everything a RADIUS output needs, checked.
#[derive(Debug, Clone)]
pub(crate) struct RadiusOutput {
    pub name: String,
    pub servers: Vec<ServerSpec>,
    pub options: ClientOptions,
    pub nas: NasIdentity,
    pub dictionary: Dictionary,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub alert_after: Duration,
}

/// Reads a secret from a file's contents or an environment variable's value;
/// the error's key is `secret_file` or `secret_env`, whichever is at fault.
pub(crate) fn load_secret(
    file: Option<&std::path::Path>,
    env: Option<&str>,
    allow_short: bool,
) -> Result<SharedSecret, ConfigError> {
    let (key, bytes) = match (file, env) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::unresolved(
                "secret_file",
                "give secret_file or secret_env, not both",
            ))
        }
        (None, None) => {
            return Err(ConfigError::unresolved(
                "secret_file",
                "a shared secret is required: set secret_file or secret_env",
            ))
        }
        (Some(path), None) => {
            let contents = std::fs::read(path).map_err(|e| {
                ConfigError::unresolved(
                    "secret_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let trimmed = contents
                .strip_suffix(b"\r\n")
                .or_else(|| contents.strip_suffix(b"\n"))
                .unwrap_or(&contents)
                .to_vec();
            ("secret_file", trimmed)
        }
        (None, Some(var)) => (
            "secret_env",
            std::env::var_os(var)
                .ok_or_else(|| {
                    ConfigError::unresolved(
                        "secret_env",
                        format!("environment variable {var} is not set"),
                    )
                })?
                .into_encoded_bytes(),
        ),
    };
    let secret = if allow_short {
        SharedSecret::new_allow_short(bytes)
    } else {
        SharedSecret::new(bytes)
    };
    secret.map_err(|e| ConfigError::unresolved(key, e.to_string()))
}

impl RadiusOutputConfig {
    /// SHA-256 over the secret (file content or variable value) and the
    /// dictionary file, as they are now; unreadable ones count as empty
    /// (`resolve` reports them).
    pub(crate) fn referenced_content_digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let mut part = |label: &[u8], bytes: &[u8]| {
            hasher.update(label);
            hasher.update(u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_be_bytes());
            hasher.update(bytes);
        };
        let read = |path: &Option<PathBuf>| {
            path.as_ref()
                .and_then(|p| std::fs::read(p).ok())
                .unwrap_or_default()
        };
        part(b"secret_file", &read(&self.secret_file));
        let env = self
            .secret_env
            .as_ref()
            .and_then(std::env::var_os)
            .map(|v| v.into_encoded_bytes())
            .unwrap_or_default();
        part(b"secret_env", &env);
        part(b"dictionary", &read(&self.dictionary));
        hasher.finalize().into()
    }

    /// Checks the table and loads the secret and dictionary; key paths in
    /// errors are relative to the table.
    pub(crate) fn resolve(&self) -> Result<RadiusOutput, ConfigError> {
        let invalid = ConfigError::unresolved;
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty".to_string()));
        }
        if self.servers.is_empty() {
            return Err(invalid(
                "servers",
                "list at least one HOST:PORT".to_string(),
            ));
        }
        let mut addresses = Vec::with_capacity(self.servers.len());
        for server in &self.servers {
            addresses.push(resolve_address(server)?);
        }
        let secret = load_secret(
            self.secret_file.as_deref(),
            self.secret_env.as_deref(),
            self.allow_short_secret,
        )?;
        let servers = addresses
            .into_iter()
            .map(|address| ServerSpec {
                address,
                secret: secret.clone(),
            })
            .collect();
        if self.timeout_ms == 0 || self.max_timeout_ms < self.timeout_ms {
            return Err(invalid(
                "timeout_ms",
                "must be above 0 and at most max_timeout_ms".to_string(),
            ));
        }
        if self.retry_initial_ms == 0 || self.retry_max_ms < self.retry_initial_ms {
            return Err(invalid(
                "retry_initial_ms",
                "must be above 0 and at most retry_max_ms".to_string(),
            ));
        }
        let nas = NasIdentity::new(self.nas_identifier.clone(), self.nas_ip_address)
            .map_err(|e| invalid("nas_identifier", e.to_string()))?;
        let mut dictionary = Dictionary::builtin();
        if let Some(path) = &self.dictionary {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid("dictionary", format!("cannot read {}: {e}", path.display()))
            })?;
            dictionary
                .load_freeradius(&text, &path.display().to_string())
                .map_err(|e| invalid("dictionary", e.to_string()))?;
        }
        let dictionary = dictionary
            .with_overrides(
                self.attribute_numbers
                    .iter()
                    .map(|(name, number)| (name.as_str(), *number)),
            )
            .map_err(|e| invalid("attribute_numbers", e.to_string()))?;
        // The mapper needs the three JUNOScope attributes.
        netaudit_radius::mapping::AccountingMapper::new(&dictionary, nas.clone())
            .map_err(|e| invalid("dictionary", e.to_string()))?;
        Ok(RadiusOutput {
            name: self.name.clone(),
            servers,
            options: ClientOptions {
                timeout: Duration::from_millis(self.timeout_ms),
                max_timeout: Duration::from_millis(self.max_timeout_ms),
                retransmissions: self.retransmissions,
                dead_time: Duration::from_secs(self.dead_time_secs),
            },
            nas,
            dictionary,
            retry_initial: Duration::from_millis(self.retry_initial_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            alert_after: Duration::from_secs(self.alert_after_secs),
        })
    }
}

/// `HOST:PORT` to one socket address (the first the resolver gives); the
/// error's key is `servers`.
pub(crate) fn resolve_address(text: &str) -> Result<SocketAddr, ConfigError> {
    text.to_socket_addrs()
        .map_err(|e| {
            ConfigError::unresolved(
                "servers",
                format!("{text:?} is not a usable HOST:PORT: {e}"),
            )
        })?
        .next()
        .ok_or_else(|| {
            ConfigError::unresolved("servers", format!("{text:?} resolves to no address"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RadiusOutputConfig, String> {
        toml::from_str::<RawRadiusOutput>(text)
            .map_err(|e| e.to_string())?
            .resolve()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn resolves_a_full_table_and_never_shows_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "a-long-enough-secret-42\n").unwrap();
        let config = parse(&format!(
            "name = \"aaa\"\nservers = [\"127.0.0.1:1813\", \"127.0.0.1:1814\"]\nsecret_file = {:?}\nnas_ip_address = \"192.0.2.5\"\nattribute_numbers = {{ \"Juniper-JUNOScope-Target\" = 205 }}\n",
            path.display().to_string()
        ))
        .unwrap();
        let output = config.resolve().unwrap();
        assert_eq!(output.servers.len(), 2);
        assert_eq!(output.options.timeout, Duration::from_secs(2));
        assert_eq!(
            output
                .dictionary
                .attribute("Juniper-JUNOScope-Target")
                .unwrap()
                .number,
            205
        );
        let shown = format!("{output:?}");
        assert!(!shown.contains("a-long-enough"), "{shown}");
    }

    #[test]
    fn bad_tables_name_the_key() {
        assert!(parse("name = \"a\"\nservers = []\nsecrets = 1\n")
            .unwrap_err()
            .to_string()
            .contains("secrets"));
        let error = parse("name = \"a\"\nservers = [\"127.0.0.1:1813\"]\n")
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("secret_file") && error.contains("required"),
            "{error}"
        );
        let error = parse("name = \"a\"\nservers = [\"127.0.0.1:1813\"]\nsecret_env = \"NETAUDIT_TEST_UNSET_VARIABLE\"\n")
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("secret_env") && error.contains("not set"),
            "{error}"
        );
        let error = parse("name = \"a\"\nservers = [\"no-port\"]\nsecret_env = \"PATH\"\n")
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(error.contains("servers"), "{error}");
    }

    #[test]
    fn secret_length_rules() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "short\n").unwrap();
        let error = load_secret(Some(&short), None, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("5 octets") && error.contains("16"),
            "{error}"
        );
        assert!(load_secret(Some(&short), None, true).is_ok());
        let long = dir.path().join("long");
        std::fs::write(&long, "x".repeat(129)).unwrap();
        assert!(load_secret(Some(&long), None, true)
            .unwrap_err()
            .to_string()
            .contains("129 octets"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(load_secret(Some(&empty), None, true)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(load_secret(Some(&dir.path().join("missing")), None, false)
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
        assert!(load_secret(Some(&short), Some("X"), false)
            .unwrap_err()
            .to_string()
            .contains("not both"));
    }

    #[test]
    fn bad_dictionaries_and_numbers_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "a-long-enough-secret-42").unwrap();
        let dictionary = dir.path().join("extra.dict");
        std::fs::write(
            &dictionary,
            "# site attributes\nATTRIBUTE\tSite-Thing\t240\tipv6addr\n",
        )
        .unwrap();
        let table = |extra: &str| {
            parse(&format!(
                "name = \"a\"\nservers = [\"127.0.0.1:1813\"]\nsecret_file = {:?}\n{extra}",
                secret.display().to_string()
            ))
            .unwrap()
            .resolve()
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        let error = table(&format!(
            "dictionary = {:?}\n",
            dictionary.display().to_string()
        ))
        .unwrap_err();
        assert!(
            error.contains("dictionary") && error.contains("extra.dict:2"),
            "{error}"
        );
        let error =
            table("attribute_numbers = { \"Juniper-JUNOScope-Target\" = 202 }\n").unwrap_err();
        assert!(
            error.contains("attribute_numbers") && error.contains("already used"),
            "{error}"
        );
        let error = table("attribute_numbers = { \"User-Name\" = 9 }\n").unwrap_err();
        assert!(error.contains("only vendor attributes"), "{error}");
        assert!(table("nas_identifier = \"\"\n")
            .unwrap_err()
            .contains("nas_identifier"));
        assert!(table("timeout_ms = 0\n")
            .unwrap_err()
            .contains("timeout_ms"));
        assert!(table("").is_ok());
    }
}
