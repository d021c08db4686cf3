//! `netaudit setup --reconfigure KEY`: one answer changed in an existing
//! file (everything else kept, comments included), asked on the terminal
//! with the current value as the default, or read from the answers file.

use std::path::Path;

use anyhow::Context as _;

use super::answers::{check_choice, check_path, check_socket_address, Answers};
use super::apply::{current_facility, with_facility};
use super::https::{is_loopback, plain_http_warning, HttpSecurity};
use super::policy::{policy_key, AdminAnswer, FirstAdmin};
use super::prompt;

/// Every answer `--reconfigure` changes.
pub(crate) const KEYS: [&str; 14] = [
    "facility",
    "listener",
    "destination",
    "radius",
    "store_path",
    "synchronous",
    "http_address",
    "api.max_login_attempts",
    "api.access_window_secs",
    "api.lockout_secs",
    "api.session_idle_timeout_secs",
    "api.client_max_login_failures",
    "api.client_login_window_secs",
    "admin",
];

/// True for the answers a running server applies on SIGHUP (its outputs
/// and listeners, docs/operations.md); the others wait for a restart.
pub(crate) fn reloads(key: &str) -> bool {
    matches!(key, "facility" | "listener" | "destination" | "radius")
}

/// What a reconfiguration does.
#[derive(Debug)]
pub(crate) enum Change {
    /// The file's new text, and what changed (for the audit event).
    File { text: String, what: String },
    /// Another administrator in the auth database (`admin`).
    Admin(FirstAdmin),
}

/// The answers file of a reconfiguration: checked as a whole, and the key
/// changed must be written in it (a default is not an answer).
pub(crate) struct AnswersFile<'a> {
    pub answers: &'a Answers,
    pub raw: &'a toml::Table,
    pub path: &'a Path,
}

impl AnswersFile<'_> {
    fn require(&self, key: &str) -> anyhow::Result<()> {
        let present = match key.split_once('.') {
            Some((table, k)) => self.raw.get(table).and_then(|t| t.get(k)).is_some(),
            None => self.raw.contains_key(key),
        };
        if present {
            Ok(())
        } else {
            anyhow::bail!(
                "{}: {key}: missing (the answer to change)",
                self.path.display()
            )
        }
    }
}

/// The change of `key` in the configuration `old`; `auth_db` is the auth
/// database it names (for `admin`).
pub(crate) fn change(
    key: &str,
    old: &str,
    file: Option<&AnswersFile<'_>>,
    auth_db: &Path,
    secrets_dir: &Path,
) -> anyhow::Result<Change> {
    if let Some(file) = file {
        file.require(key)?;
    }
    let doc: toml_edit::DocumentMut = old.parse().context("the configuration is not TOML")?;
    let text_at = |table: &str, k: &str| {
        doc.get(table)
            .and_then(|t| t.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let (table, item, value): (&str, &str, toml_edit::Item) = match key {
        "facility" => {
            let facility = match file {
                Some(f) => f.answers.facility.clone(),
                None => {
                    prompt::ask_facility(&current_facility(old).unwrap_or_else(|| "local2".into()))?
                }
            };
            return Ok(Change::File {
                text: with_facility(old, &facility)?,
                what: format!("reconfigured: facility set to {facility}"),
            });
        }
        "listener" | "destination" | "radius" => {
            return replace_list(key, old, file, secrets_dir);
        }
        "admin" => {
            let admin = match file.and_then(|f| f.answers.admin.as_ref()) {
                Some(answer) => resolve(answer, file, auth_db)?,
                None => prompt::ask_admin(auth_db)?,
            };
            return Ok(Change::Admin(admin));
        }
        "store_path" => {
            let path = match file {
                Some(f) => f.answers.store_path.clone(),
                None => prompt::ask(
                    "Store location (the catalog database)",
                    &text_at("store", "path").unwrap_or_default(),
                    check_path,
                )?,
            };
            (
                "store",
                "path",
                toml_edit::value(path.to_string_lossy().as_ref()),
            )
        }
        "synchronous" => {
            let mode = match file {
                Some(f) => f.answers.synchronous.clone(),
                None => prompt::ask(
                    "Synchronous mode: full survives power loss, normal is faster (full, normal)",
                    &text_at("store", "synchronous").unwrap_or_else(|| "full".into()),
                    |t| check_choice(t, &["full", "normal"]),
                )?,
            };
            ("store", "synchronous", toml_edit::value(mode))
        }
        "http_address" => {
            let address = match file {
                Some(f) => f.answers.http_address.clone(),
                None => prompt::ask(
                    "Address of /health, /metrics and the HTTP API (IP:PORT)",
                    &text_at("http", "address").unwrap_or_else(|| "127.0.0.1:8514".into()),
                    check_socket_address,
                )?,
            };
            return with_http_address(doc, &address, file);
        }
        other => {
            let policy = policy_key(other)
                .ok_or_else(|| anyhow::anyhow!("{other}: not an answer --reconfigure changes"))?;
            let current = doc
                .get("api")
                .and_then(|t| t.get(policy.key))
                .and_then(|v| v.as_integer())
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(policy.default);
            let n = match file {
                Some(f) => f
                    .answers
                    .api
                    .get(policy.key)
                    .copied()
                    .unwrap_or(policy.default),
                None => prompt::ask_policy(policy, current)?,
            };
            let item = if policy.key == "lockout_secs" && n == 0 {
                toml_edit::Item::None
            } else {
                toml_edit::value(i64::try_from(n).context("too large")?)
            };
            ("api", policy.key, item)
        }
    };
    let what = match value.as_value() {
        Some(v) => format!("reconfigured: {key} set to {}", v.to_string().trim()),
        None => format!("reconfigured: {key} removed (its default)"),
    };
    let mut doc = doc;
    if value.is_none() {
        if let Some(t) = doc.get_mut(table).and_then(|t| t.as_table_like_mut()) {
            t.remove(item);
        }
    } else {
        if doc.get(table).is_none() {
            doc.insert(table, toml_edit::table());
        }
        doc[table][item] = value;
    }
    Ok(Change::File {
        text: doc.to_string(),
        what,
    })
}

/// `http_address`: beyond loopback, a file whose `[http]` has neither
/// HTTPS files nor `console_plain_http = true` (and a console) would be
/// refused by the server, so the HTTPS files or plain HTTP are asked (or
/// read from the answers file) and written with the address.
fn with_http_address(
    mut doc: toml_edit::DocumentMut,
    address: &str,
    file: Option<&AnswersFile<'_>>,
) -> anyhow::Result<Change> {
    let http_value = |k: &str| doc.get("http").and_then(|t| t.get(k)).cloned();
    let protected = http_value("tls_cert").is_some()
        || http_value("console_plain_http").and_then(|v| v.as_bool()) == Some(true)
        || http_value("console").and_then(|v| v.as_bool()) == Some(false);
    let security = if protected || is_loopback(address) {
        HttpSecurity::default()
    } else {
        match file {
            Some(f) => HttpSecurity {
                tls: f
                    .answers
                    .http_tls_cert
                    .clone()
                    .zip(f.answers.http_tls_key.clone()),
                plain_http: f.answers.console_plain_http,
            },
            None => prompt::ask_http_security(address)?,
        }
    };
    if doc.get("http").is_none() {
        doc.insert("http", toml_edit::table());
    }
    doc["http"]["address"] = toml_edit::value(address);
    let mut what = format!("reconfigured: http_address set to \"{address}\"");
    if let Some((cert, key)) = &security.tls {
        doc["http"]["tls_cert"] = toml_edit::value(cert.to_string_lossy().as_ref());
        doc["http"]["tls_key"] = toml_edit::value(key.to_string_lossy().as_ref());
        what.push_str(" with HTTPS");
    } else if security.plain_http {
        doc["http"]["console_plain_http"] = toml_edit::value(true);
        what.push_str(" with the console over plain HTTP");
        if file.is_some() {
            eprintln!("{}", plain_http_warning(address));
        }
    }
    Ok(Change::File {
        text: doc.to_string(),
        what,
    })
}

/// `listener`, `destination` or `radius`: the whole list asked again (or
/// read) and put in place of the file's `[[listener]]`, `[[output.syslog]]`
/// or `[[output.radius]]` (the destinations keep the file's facility).
fn replace_list(
    key: &str,
    old: &str,
    file: Option<&AnswersFile<'_>>,
    secrets_dir: &Path,
) -> anyhow::Result<Change> {
    let mut made = Answers::empty();
    made.facility = current_facility(old).unwrap_or_else(|| made.facility.clone());
    let (table, item): (Option<&str>, &str) = match key {
        "listener" => {
            made.listeners = match file {
                Some(f) => f.answers.listeners.clone(),
                None => prompt::ask_listeners()?,
            };
            (None, "listener")
        }
        "destination" => {
            made.destinations = match file {
                Some(f) => f.answers.destinations.clone(),
                None => prompt::ask_destinations()?,
            };
            (Some("output"), "syslog")
        }
        _ => {
            made.radius = match file {
                Some(f) => f.answers.radius.clone(),
                None => prompt::ask_radius(secrets_dir)?,
            };
            (Some("output"), "radius")
        }
    };
    let rendered: toml_edit::DocumentMut = made.render().parse().context("the new list")?;
    let new_item = match table {
        Some(t) => rendered.get(t).and_then(|t| t.get(item)).cloned(),
        None => rendered.get(item).cloned(),
    };
    let count = new_item
        .as_ref()
        .and_then(|i| i.as_array_of_tables())
        .map_or(0, |a| a.len());
    let mut doc: toml_edit::DocumentMut = old.parse().context("the configuration is not TOML")?;
    let parent = match table {
        Some(t) => {
            if doc.get(t).is_none() && new_item.is_some() {
                let mut implicit = toml_edit::Table::new();
                implicit.set_implicit(true);
                doc.insert(t, toml_edit::Item::Table(implicit));
            }
            doc.get_mut(t).and_then(|t| t.as_table_like_mut())
        }
        None => Some(doc.as_table_mut() as &mut dyn toml_edit::TableLike),
    };
    if let Some(parent) = parent {
        match new_item {
            Some(new_item) => {
                parent.insert(item, new_item);
            }
            None => {
                parent.remove(item);
            }
        }
    }
    Ok(Change::File {
        text: doc.to_string(),
        what: format!("reconfigured: {key} set to {count} entries"),
    })
}

fn resolve(
    answer: &AdminAnswer,
    file: Option<&AnswersFile<'_>>,
    auth_db: &Path,
) -> anyhow::Result<FirstAdmin> {
    let at = file
        .map(|f| f.path.display().to_string())
        .unwrap_or_default();
    answer
        .resolve(auth_db)
        .map_err(|e| anyhow::anyhow!("{at}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_change(key: &str, old: &str, answers: &str) -> anyhow::Result<String> {
        let raw: toml::Table = toml::from_str(answers).unwrap();
        let typed: Answers = toml::from_str(answers).unwrap();
        let file = AnswersFile {
            answers: &typed,
            raw: &raw,
            path: Path::new("a.toml"),
        };
        match change(
            key,
            old,
            Some(&file),
            Path::new("/no/auth.db"),
            Path::new("."),
        )? {
            Change::File { text, .. } => Ok(text),
            Change::Admin(_) => unreachable!(),
        }
    }

    #[test]
    fn one_answer_changes_and_the_rest_is_kept() {
        let old = "# kept\n[store]\npath = \"a.db\"\n\n[api]\nmax_login_attempts = 5 # kept\nlockout_secs = 60\n";
        let new = file_change(
            "api.max_login_attempts",
            old,
            "[api]\nmax_login_attempts = 3\n",
        )
        .unwrap();
        assert!(
            new.contains("max_login_attempts = 3") && new.contains("# kept\n"),
            "{new}"
        );
        let new = file_change("api.lockout_secs", old, "[api]\nlockout_secs = 0\n").unwrap();
        assert!(!new.contains("lockout_secs"), "{new}");
        let new = file_change("http_address", old, "http_address = \"127.0.0.1:9\"\n").unwrap();
        assert!(new.contains("[http]\naddress = \"127.0.0.1:9\""), "{new}");
        let new = file_change("synchronous", old, "synchronous = \"normal\"\n").unwrap();
        assert!(
            new.contains("path = \"a.db\"\nsynchronous = \"normal\""),
            "{new}"
        );
        let new = file_change(
            "destination",
            old,
            "[[destination]]\ntransport = \"udp\"\naddress = \"h:514\"\n",
        )
        .unwrap();
        assert!(
            new.contains("[[output.syslog]]\nname = \"syslog-1\"\ntransport = \"udp\""),
            "{new}"
        );
        let gone = file_change("destination", &new, "destination = []\n").unwrap();
        assert!(
            !gone.contains("output.syslog") && gone.contains("# kept\n"),
            "{gone}"
        );
        let err = file_change("api.lockout_secs", old, "facility = \"local2\"\n").unwrap_err();
        assert!(
            err.to_string().contains("api.lockout_secs: missing"),
            "{err}"
        );
    }
}
