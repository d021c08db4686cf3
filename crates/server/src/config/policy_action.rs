//! `[[policy.action]]`: what a policy does when it fires, besides storing
//! its derived event (which it always does): `exec` a program, POST a
//! `webhook`, `lock-user` a netaudit account, `forward` it to named outputs.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::Uri;
use serde::Deserialize;

use super::error::ConfigError;

const DEFAULT_EXEC_TIMEOUT_SECS: u64 = 10;
const DEFAULT_EXEC_CONCURRENCY: usize = 4;
const DEFAULT_WEBHOOK_TIMEOUT_SECS: u64 = 10;
const DEFAULT_WEBHOOK_ATTEMPTS: u32 = 8;
const DEFAULT_FORWARD_TIMEOUT_SECS: u64 = 60;
/// The CA bundle an `https://` webhook trusts unless `ca_file` says
/// otherwise: Debian's (package ca-certificates).
pub(crate) const DEFAULT_WEBHOOK_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// One `[[policy.action]]` as written; `kind` says which keys apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAction {
    kind: String,
    program: Option<PathBuf>,
    args: Option<Vec<String>>,
    timeout_secs: Option<u64>,
    max_concurrent: Option<usize>,
    url: Option<String>,
    secret_file: Option<PathBuf>,
    max_attempts: Option<u32>,
    user_field: Option<String>,
    outputs: Option<Vec<String>>,
    ca_file: Option<PathBuf>,
}

/// An output a `forward` action names, resolved against `[output]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForwardTarget {
    pub name: String,
    /// An `[[output.file]]` (else an `[[output.syslog]]`): which cursor
    /// tells that it has delivered.
    pub file: bool,
}

/// One action, checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) enum ActionConfig {
    /// Run `program` with `args` (no shell), the derived event as JSON on
    /// standard input; killed after `timeout`.
    Exec {
        program: PathBuf,
        args: Vec<String>,
        timeout: Duration,
        max_concurrent: usize,
    },
    /// POST the derived event as JSON to `url`, signed with HMAC-SHA256 of
    /// the body under the key in `secret_file`; retried with backoff. Over
    /// `https://` the server's certificate must chain to `ca_file` (`Some`
    /// exactly for https; always verified) and name the URL's host.
    Webhook {
        url: String,
        secret_file: PathBuf,
        ca_file: Option<PathBuf>,
        timeout: Duration,
        max_attempts: u32,
    },
    /// Lock the netaudit account named by the firing's `user_field` group
    /// value (default `user`).
    LockUser { user_field: String },
    /// Send the derived event to these outputs only (it carries their
    /// names; `output/route.rs`), and record once each has delivered it,
    /// or that one had not within `timeout`.
    Forward {
        outputs: Vec<ForwardTarget>,
        timeout: Duration,
    },
}

impl ActionConfig {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            ActionConfig::Exec { .. } => "exec",
            ActionConfig::Webhook { .. } => "webhook",
            ActionConfig::LockUser { .. } => "lock-user",
            ActionConfig::Forward { .. } => "forward",
        }
    }

    /// Checks what the action refers to outside the file: the program
    /// exists and is executable, the secret file is readable and not empty.
    pub(crate) fn check_references(&self) -> Result<(), ConfigError> {
        match self {
            ActionConfig::Exec { program, .. } => {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(program).map_err(|err| {
                    ConfigError::unresolved("program", format!("{}: {err}", program.display()))
                })?;
                if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                    return Err(ConfigError::unresolved(
                        "program",
                        format!("{}: not an executable file", program.display()),
                    ));
                }
                Ok(())
            }
            ActionConfig::Webhook {
                secret_file,
                ca_file,
                ..
            } => {
                if let Some(ca_file) = ca_file {
                    let pem = std::fs::read(ca_file).map_err(|err| {
                        ConfigError::unresolved("ca_file", format!("{}: {err}", ca_file.display()))
                    })?;
                    let certificates = rustls_pemfile::certs(&mut pem.as_slice())
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|err| {
                            ConfigError::unresolved(
                                "ca_file",
                                format!("{}: bad PEM: {err}", ca_file.display()),
                            )
                        })?;
                    if certificates.is_empty() {
                        return Err(ConfigError::unresolved(
                            "ca_file",
                            format!("{}: no CERTIFICATE in the file", ca_file.display()),
                        ));
                    }
                }
                let secret = std::fs::read(secret_file).map_err(|err| {
                    ConfigError::unresolved(
                        "secret_file",
                        format!("{}: {err}", secret_file.display()),
                    )
                })?;
                if secret.iter().all(u8::is_ascii_whitespace) {
                    return Err(ConfigError::unresolved(
                        "secret_file",
                        format!("{}: empty", secret_file.display()),
                    ));
                }
                Ok(())
            }
            ActionConfig::LockUser { .. } | ActionConfig::Forward { .. } => Ok(()),
        }
    }
}

fn refuse(present: bool, key: &str, kind: &str) -> Result<(), ConfigError> {
    if present {
        return Err(ConfigError::invalid(
            key,
            format!("does not apply to kind = \"{kind}\""),
        ));
    }
    Ok(())
}

fn positive_secs(value: Option<u64>, default: u64) -> Result<Duration, ConfigError> {
    match value.unwrap_or(default) {
        0 => Err(ConfigError::invalid("timeout_secs", "must be at least 1")),
        secs => Ok(Duration::from_secs(secs)),
    }
}

impl RawAction {
    /// Checks the table; key paths are relative to it.
    pub(crate) fn resolve(self) -> Result<ActionConfig, ConfigError> {
        match self.kind.as_str() {
            "exec" => {
                refuse(self.outputs.is_some(), "outputs", "exec")?;
                refuse(self.ca_file.is_some(), "ca_file", "exec")?;
                refuse(self.url.is_some(), "url", "exec")?;
                refuse(self.secret_file.is_some(), "secret_file", "exec")?;
                refuse(self.max_attempts.is_some(), "max_attempts", "exec")?;
                refuse(self.user_field.is_some(), "user_field", "exec")?;
                let Some(program) = self.program else {
                    return Err(ConfigError::invalid(
                        "program",
                        "required for kind = \"exec\"",
                    ));
                };
                if !program.is_absolute() {
                    return Err(ConfigError::invalid(
                        "program",
                        "must be an absolute path (no shell, no PATH search)",
                    ));
                }
                let max_concurrent = self.max_concurrent.unwrap_or(DEFAULT_EXEC_CONCURRENCY);
                if max_concurrent == 0 {
                    return Err(ConfigError::invalid("max_concurrent", "must be at least 1"));
                }
                Ok(ActionConfig::Exec {
                    program,
                    args: self.args.unwrap_or_default(),
                    timeout: positive_secs(self.timeout_secs, DEFAULT_EXEC_TIMEOUT_SECS)?,
                    max_concurrent,
                })
            }
            "webhook" => {
                refuse(self.outputs.is_some(), "outputs", "webhook")?;
                refuse(self.program.is_some(), "program", "webhook")?;
                refuse(self.args.is_some(), "args", "webhook")?;
                refuse(self.max_concurrent.is_some(), "max_concurrent", "webhook")?;
                refuse(self.user_field.is_some(), "user_field", "webhook")?;
                let Some(url) = self.url else {
                    return Err(ConfigError::invalid(
                        "url",
                        "required for kind = \"webhook\"",
                    ));
                };
                let https = check_url(&url)?;
                if self.ca_file.is_some() && !https {
                    return Err(ConfigError::invalid(
                        "ca_file",
                        "applies to https:// URLs only",
                    ));
                }
                let ca_file = https.then(|| {
                    self.ca_file
                        .unwrap_or_else(|| PathBuf::from(DEFAULT_WEBHOOK_CA_FILE))
                });
                let Some(secret_file) = self.secret_file else {
                    return Err(ConfigError::invalid(
                        "secret_file",
                        "required for kind = \"webhook\" (the HMAC key)",
                    ));
                };
                let max_attempts = self.max_attempts.unwrap_or(DEFAULT_WEBHOOK_ATTEMPTS);
                if max_attempts == 0 {
                    return Err(ConfigError::invalid("max_attempts", "must be at least 1"));
                }
                Ok(ActionConfig::Webhook {
                    url,
                    secret_file,
                    ca_file,
                    timeout: positive_secs(self.timeout_secs, DEFAULT_WEBHOOK_TIMEOUT_SECS)?,
                    max_attempts,
                })
            }
            "lock-user" => {
                for (present, key) in [
                    (self.program.is_some(), "program"),
                    (self.args.is_some(), "args"),
                    (self.timeout_secs.is_some(), "timeout_secs"),
                    (self.max_concurrent.is_some(), "max_concurrent"),
                    (self.url.is_some(), "url"),
                    (self.secret_file.is_some(), "secret_file"),
                    (self.max_attempts.is_some(), "max_attempts"),
                    (self.outputs.is_some(), "outputs"),
                    (self.ca_file.is_some(), "ca_file"),
                ] {
                    refuse(present, key, "lock-user")?;
                }
                Ok(ActionConfig::LockUser {
                    user_field: self.user_field.unwrap_or_else(|| "user".into()),
                })
            }
            "forward" => {
                for (present, key) in [
                    (self.program.is_some(), "program"),
                    (self.args.is_some(), "args"),
                    (self.max_concurrent.is_some(), "max_concurrent"),
                    (self.url.is_some(), "url"),
                    (self.secret_file.is_some(), "secret_file"),
                    (self.max_attempts.is_some(), "max_attempts"),
                    (self.user_field.is_some(), "user_field"),
                    (self.ca_file.is_some(), "ca_file"),
                ] {
                    refuse(present, key, "forward")?;
                }
                let outputs = self.outputs.unwrap_or_default();
                if outputs.is_empty() {
                    return Err(ConfigError::invalid(
                        "outputs",
                        "required for kind = \"forward\": the names of [[output.*]] tables",
                    ));
                }
                let mut targets: Vec<ForwardTarget> = Vec::with_capacity(outputs.len());
                for name in outputs {
                    if targets.iter().any(|t| t.name == name) {
                        return Err(ConfigError::invalid(
                            "outputs",
                            format!("names {name:?} twice"),
                        ));
                    }
                    // Which kind of output it is: resolve_forward_targets.
                    targets.push(ForwardTarget { name, file: false });
                }
                Ok(ActionConfig::Forward {
                    outputs: targets,
                    timeout: positive_secs(self.timeout_secs, DEFAULT_FORWARD_TIMEOUT_SECS)?,
                })
            }
            other => Err(ConfigError::invalid(
                "kind",
                format!("unknown action {other:?}: exec, webhook, lock-user or forward"),
            )),
        }
    }
}

/// An `http://` or `https://` URL with a host; true for https.
fn check_url(url: &str) -> Result<bool, ConfigError> {
    let uri: Uri = url
        .parse()
        .map_err(|err| ConfigError::invalid("url", format!("not a URL: {err}")))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(ConfigError::invalid(
                "url",
                "must start with http:// or https://",
            ))
        }
    };
    if uri.host().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid("url", "has no host"));
    }
    Ok(https)
}
