//! The answers `netaudit setup` collects, the check of each one (the same
//! for the terminal, where a rejected answer is asked again with the
//! reason, and for `--answers FILE`, where it names the key), and the
//! configuration file they make.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::https::{check_cert, check_http_security, check_key_of, HttpSecurity};
use super::policy::{check_policy, render_policy, AdminAnswer};

/// Everything the wizard asks; `--answers FILE` is this as TOML.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Answers {
    /// The facility of the syslog destinations (local0..local7).
    #[serde(default = "default_facility")]
    pub facility: String,
    #[serde(default = "default_store_path")]
    pub store_path: PathBuf,
    #[serde(default = "default_synchronous")]
    pub synchronous: String,
    #[serde(default = "default_http_address")]
    pub http_address: String,
    /// HTTPS on the HTTP port: the certificate chain and the private key
    /// (PEM); needed, or `console_plain_http`, beyond loopback (`https.rs`).
    pub http_tls_cert: Option<PathBuf>,
    pub http_tls_key: Option<PathBuf>,
    /// The console over plain HTTP on an address that is not loopback,
    /// chosen explicitly (`http.console_plain_http`).
    #[serde(default)]
    pub console_plain_http: bool,
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerAnswer>,
    #[serde(default, rename = "destination")]
    pub destinations: Vec<DestinationAnswer>,
    #[serde(default, rename = "radius")]
    pub radius: Vec<RadiusAnswer>,
    /// The authentication policy: `[api]` keys (`policy.rs`), absent ones
    /// take their defaults.
    #[serde(default)]
    pub api: BTreeMap<String, u64>,
    /// The first administrator, created once the file is written.
    #[serde(default)]
    pub admin: Option<AdminAnswer>,
}

/// One `[[listener]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenerAnswer {
    pub protocol: String,
    pub address: String,
    /// TLS only: the certificate chain and the private key (PEM).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// One `[[output.syslog]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DestinationAnswer {
    pub transport: String,
    pub address: String,
    #[serde(default = "default_format")]
    pub format: String,
    /// TLS only: the CA certificates the server's certificate is verified against.
    pub ca: Option<PathBuf>,
}

/// One `[[output.radius]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RadiusAnswer {
    pub server: String,
    /// The shared secret's file (0600); the wizard writes it from the
    /// secret typed without echo.
    pub secret_file: PathBuf,
}

pub(crate) const FACILITY_PROMPT: &str = "Please enter the syslog facility (local0-local7)";

pub(crate) fn default_facility() -> String {
    "local2".into()
}
pub(crate) fn default_store_path() -> PathBuf {
    PathBuf::from("/var/lib/netaudit/netaudit.db")
}
pub(crate) fn default_synchronous() -> String {
    "full".into()
}
pub(crate) fn default_http_address() -> String {
    "127.0.0.1:8514".into()
}
pub(crate) fn default_format() -> String {
    "structured".into()
}

/// `local0` .. `local7`.
pub(crate) fn check_facility(text: &str) -> Result<String, String> {
    let text = text.trim();
    match text
        .strip_prefix("local")
        .and_then(|n| n.parse::<u8>().ok())
    {
        Some(n) if n <= 7 && text.len() == 6 => Ok(text.to_string()),
        _ => Err(format!(
            "{text:?} is not a syslog facility from local0 to local7"
        )),
    }
}

/// One of `choices`.
pub(crate) fn check_choice(text: &str, choices: &[&str]) -> Result<String, String> {
    let text = text.trim();
    if choices.contains(&text) {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not one of {}", choices.join(", ")))
    }
}

/// `IP:PORT` (a listening address).
pub(crate) fn check_socket_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    check_port(text)?;
    text.parse::<SocketAddr>()
        .map(|_| text.to_string())
        .map_err(|_| format!("{text:?} is not IP:PORT (e.g. 0.0.0.0:514 or [::]:514)"))
}

/// `HOST:PORT` with a numeric port from 1 to 65535.
pub(crate) fn check_host_port(text: &str) -> Result<String, String> {
    let text = text.trim();
    check_port(text)?;
    Ok(text.to_string())
}

fn check_port(text: &str) -> Result<(), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("{text:?} has no port: write HOST:PORT"));
    };
    if host.is_empty() {
        return Err(format!("{text:?} has no host: write HOST:PORT"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("{port:?} is not a port number (1 to 65535)")),
    }
}

/// A file netaudit will have to read: it must be readable now.
pub(crate) fn check_readable(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text.trim());
    std::fs::File::open(&path)
        .map(|_| path.clone())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// An absolute or relative path that is not empty.
pub(crate) fn check_path(text: &str) -> Result<PathBuf, String> {
    let text = text.trim();
    if text.is_empty() {
        Err("a path is needed".into())
    } else {
        Ok(PathBuf::from(text))
    }
}

impl Answers {
    /// Every answer at its default, no lists, no administrator.
    pub(crate) fn empty() -> Answers {
        toml::from_str("").unwrap_or_else(|_| unreachable!("every key has a default"))
    }

    /// Every answer checked as the wizard checks it; the error names the
    /// key as written in the answers file.
    pub(crate) fn check(&self) -> Result<(), String> {
        let at = |key: String| move |e: String| format!("{key}: {e}");
        check_facility(&self.facility).map_err(at("facility".into()))?;
        check_choice(&self.synchronous, &["full", "normal"]).map_err(at("synchronous".into()))?;
        check_socket_address(&self.http_address).map_err(at("http_address".into()))?;
        let security = match (&self.http_tls_cert, &self.http_tls_key) {
            (Some(cert), Some(key)) => HttpSecurity {
                tls: Some((cert.clone(), key.clone())),
                plain_http: self.console_plain_http,
            },
            (None, None) => HttpSecurity {
                tls: None,
                plain_http: self.console_plain_http,
            },
            (Some(_), None) => {
                return Err(
                    "http_tls_key: http_tls_cert is set: HTTPS needs the private key too".into(),
                )
            }
            (None, Some(_)) => {
                return Err(
                    "http_tls_cert: http_tls_key is set: HTTPS needs the certificate too".into(),
                )
            }
        };
        check_http_security(&self.http_address, &security)?;
        for (i, l) in self.listeners.iter().enumerate() {
            let key = |k: &str| format!("listener[{i}].{k}");
            check_choice(&l.protocol, &["udp", "tcp", "tls"]).map_err(at(key("protocol")))?;
            check_socket_address(&l.address).map_err(at(key("address")))?;
            if l.protocol == "tls" {
                let needed = |name: &str, file: &Option<PathBuf>| {
                    file.clone()
                        .ok_or_else(|| format!("{}: a TLS listener needs it", key(name)))
                };
                let (cert, tls_key) = (needed("cert", &l.cert)?, needed("key", &l.key)?);
                check_cert(&cert.to_string_lossy()).map_err(at(key("cert")))?;
                check_key_of(&cert, &tls_key.to_string_lossy()).map_err(at(key("key")))?;
            }
        }
        for (i, d) in self.destinations.iter().enumerate() {
            let key = |k: &str| format!("destination[{i}].{k}");
            check_choice(&d.transport, &["udp", "tcp", "tls"]).map_err(at(key("transport")))?;
            check_host_port(&d.address).map_err(at(key("address")))?;
            check_choice(&d.format, &["standard", "structured", "brief"])
                .map_err(at(key("format")))?;
            if let Some(ca) = &d.ca {
                check_readable(&ca.to_string_lossy()).map_err(at(key("ca")))?;
            }
        }
        for (i, r) in self.radius.iter().enumerate() {
            let key = |k: &str| format!("radius[{i}].{k}");
            check_host_port(&r.server).map_err(at(key("server")))?;
            check_readable(&r.secret_file.to_string_lossy()).map_err(at(key("secret_file")))?;
        }
        check_policy(&self.api)
        // `admin` is checked against the auth database by `AdminAnswer::resolve`.
    }

    /// The configuration file these answers make (every other key keeps
    /// its documented default, config/netaudit.example.toml).
    pub(crate) fn render(&self) -> String {
        let q = |p: &Path| toml_string(&p.to_string_lossy());
        let mut out = String::from(
            "# Written by `netaudit setup`; every key is documented in netaudit.toml(5).\n\
             # Change one answer with `netaudit setup --reconfigure`.\n\n",
        );
        out.push_str(&format!(
            "[store]\npath = {}\nsynchronous = {}\n\n[http]\naddress = {}\n",
            q(&self.store_path),
            toml_string(&self.synchronous),
            toml_string(&self.http_address)
        ));
        if let (Some(cert), Some(key)) = (&self.http_tls_cert, &self.http_tls_key) {
            out.push_str(&format!("tls_cert = {}\ntls_key = {}\n", q(cert), q(key)));
        } else if self.console_plain_http {
            out.push_str("console_plain_http = true\n");
        }
        out.push_str(&render_policy(&self.api));
        for l in &self.listeners {
            out.push_str(&format!(
                "\n[[listener]]\nprotocol = {}\naddress = {}\n",
                toml_string(&l.protocol),
                toml_string(&l.address)
            ));
            if let (Some(cert), Some(key)) = (&l.cert, &l.key) {
                out.push_str(&format!(
                    "[listener.tls]\ncert = {}\nkey = {}\n",
                    q(cert),
                    q(key)
                ));
            }
        }
        for (i, d) in self.destinations.iter().enumerate() {
            out.push_str(&format!(
                "\n[[output.syslog]]\nname = \"syslog-{}\"\ntransport = {}\naddress = {}\nformat = {}\nfacility = {}\n",
                i + 1,
                toml_string(&d.transport),
                toml_string(&d.address),
                toml_string(&d.format),
                toml_string(&self.facility)
            ));
            if d.transport == "tls" {
                if let Some(ca) = &d.ca {
                    out.push_str(&format!("[output.syslog.tls]\nca = {}\n", q(ca)));
                }
            }
        }
        for (i, r) in self.radius.iter().enumerate() {
            out.push_str(&format!(
                "\n[[output.radius]]\nname = \"radius-{}\"\nservers = [{}]\nsecret_file = {}\n",
                i + 1,
                toml_string(&r.server),
                q(&r.secret_file)
            ));
        }
        out
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_answers_are_refused_with_the_reason() {
        assert_eq!(check_facility("local2"), Ok("local2".into()));
        assert!(check_facility("local8")
            .unwrap_err()
            .contains("local0 to local7"));
        assert!(check_facility("local22").is_err());
        assert!(check_facility("user").is_err());
        assert!(check_socket_address("0.0.0.0:five")
            .unwrap_err()
            .contains("not a port number"));
        assert!(check_socket_address("0.0.0.0:0").is_err());
        assert!(check_socket_address("host:514")
            .unwrap_err()
            .contains("IP:PORT"));
        assert!(check_host_port("siem.example.net:6514").is_ok());
        assert!(check_host_port("siem.example.net")
            .unwrap_err()
            .contains("no port"));
        assert!(check_readable("/no/such/file")
            .unwrap_err()
            .contains("/no/such/file"));
        assert!(check_choice("tcp ", &["udp", "tcp"]).is_ok());
    }
}
