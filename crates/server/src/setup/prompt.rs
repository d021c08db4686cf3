//! Asking the answers on the terminal (dialoguer, plain theme: the default
//! in brackets, as JUNOScope's installer shows it). A rejected answer is
//! asked again with the reason; a secret is read without echo.

use std::path::{Path, PathBuf};

use dialoguer::theme::SimpleTheme;
use dialoguer::{Confirm, Input, Password};

use super::answers::{
    check_choice, check_facility, check_host_port, check_path, check_readable,
    check_socket_address, default_format, default_http_address, default_store_path,
    default_synchronous, Answers, DestinationAnswer, ListenerAnswer, RadiusAnswer, FACILITY_PROMPT,
};
use super::https::{check_cert, check_key_of, is_loopback, plain_http_warning, HttpSecurity};
use super::policy::{
    auth_db_beside, check_admin_name, check_number, check_password, FirstAdmin, PolicyKey,
    POLICY_KEYS,
};

/// Asks `prompt` with `default` until `check` accepts the answer.
pub(crate) fn ask<T>(
    prompt: &str,
    default: &str,
    check: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    let text: String = Input::with_theme(&SimpleTheme)
        .with_prompt(prompt)
        .default(default.to_string())
        .validate_with(|text: &String| check(text).map(|_| ()))
        .interact_text()?;
    check(&text).map_err(anyhow::Error::msg)
}

/// The facility question alone (also `--reconfigure facility`).
pub(crate) fn ask_facility(default: &str) -> anyhow::Result<String> {
    ask(FACILITY_PROMPT, default, check_facility)
}

/// One authentication policy question (also `--reconfigure api.KEY`).
pub(crate) fn ask_policy(key: &PolicyKey, default: u64) -> anyhow::Result<u64> {
    ask(key.question, &default.to_string(), |t| check_number(t, key))
}

/// The first administrator: a user name `auth_db` does not hold and a
/// password typed twice without echo (also `--reconfigure admin`).
pub(crate) fn ask_admin(auth_db: &Path) -> anyhow::Result<FirstAdmin> {
    println!("The first administrator (role admin) of the HTTP API:");
    let name = ask("Administrator's user name", "admin", |t| {
        check_admin_name(t, auth_db)
    })?;
    let password = Password::with_theme(&SimpleTheme)
        .with_prompt("Administrator's password, 12 characters or more (not shown)")
        .with_confirmation("Again", "the two entries differ")
        .validate_with(|p: &String| check_password(p))
        .interact()?;
    Ok(FirstAdmin { name, password })
}

/// Every question, in order; `secrets_dir` is where RADIUS secrets go.
pub(crate) fn ask_all(secrets_dir: &Path) -> anyhow::Result<(Answers, FirstAdmin)> {
    let facility = ask_facility("local2")?;
    let store_path = ask(
        "Store location (the catalog database)",
        &default_store_path().to_string_lossy(),
        check_path,
    )?;
    let synchronous = ask(
        "Synchronous mode: full survives power loss, normal is faster (full, normal)",
        &default_synchronous(),
        |t| check_choice(t, &["full", "normal"]),
    )?;
    let http_address = ask(
        "Address of /health, /metrics and the HTTP API (IP:PORT)",
        &default_http_address(),
        check_socket_address,
    )?;
    let security = ask_http_security(&http_address)?;
    let listeners = ask_listeners()?;
    let destinations = ask_destinations()?;
    let radius = ask_radius(secrets_dir)?;
    println!("The authentication policy of the HTTP API:");
    let mut api = std::collections::BTreeMap::new();
    for key in &POLICY_KEYS {
        api.insert(key.key.to_string(), ask_policy(key, key.default)?);
    }
    let admin = ask_admin(&auth_db_beside(&store_path))?;
    let answers = Answers {
        facility,
        store_path,
        synchronous,
        http_address,
        http_tls_cert: security.tls.as_ref().map(|(cert, _)| cert.clone()),
        http_tls_key: security.tls.map(|(_, key)| key),
        console_plain_http: security.plain_http,
        listeners,
        destinations,
        radius,
        api,
        admin: None,
    };
    Ok((answers, admin))
}

/// Beyond loopback, HTTPS files (checked to parse and match) or plain
/// HTTP chosen explicitly, with a warning (also `--reconfigure http_address`);
/// nothing to ask on a loopback address.
pub(crate) fn ask_http_security(address: &str) -> anyhow::Result<HttpSecurity> {
    if is_loopback(address) {
        return Ok(HttpSecurity::default());
    }
    let how = ask(
        &format!(
            "{} is not a loopback address: serve the console with HTTPS or plain HTTP (https, plain)",
            address.trim()
        ),
        "https",
        |t| check_choice(t, &["https", "plain"]),
    )?;
    if how == "plain" {
        println!("{}", plain_http_warning(address.trim()));
        return Ok(HttpSecurity {
            tls: None,
            plain_http: true,
        });
    }
    let cert = ask(
        "HTTPS certificate chain file (PEM)",
        "/etc/netaudit/http.crt",
        check_cert,
    )?;
    let key = ask(
        "HTTPS private key file (PEM)",
        "/etc/netaudit/http.key",
        |t| check_key_of(&cert, t),
    )?;
    Ok(HttpSecurity {
        tls: Some((cert, key)),
        plain_http: false,
    })
}

/// The syslog listeners, one at a time until `done` (also `--reconfigure listener`).
pub(crate) fn ask_listeners() -> anyhow::Result<Vec<ListenerAnswer>> {
    let mut listeners = Vec::new();
    loop {
        let protocol = ask(
            "Add a syslog listener (udp, tcp, tls, or done)",
            "done",
            |t| check_choice(t, &["udp", "tcp", "tls", "done"]),
        )?;
        if protocol == "done" {
            break;
        }
        let address = ask("Listen on (IP:PORT)", "0.0.0.0:514", check_socket_address)?;
        let (cert, key) = if protocol == "tls" {
            // Checked as the listener will load them: a certificate, and
            // the private key of that certificate.
            let cert = ask(
                "Certificate chain file (PEM)",
                "/etc/netaudit/server.crt",
                check_cert,
            )?;
            let key = ask("Private key file (PEM)", "/etc/netaudit/server.key", |t| {
                check_key_of(&cert, t)
            })?;
            (Some(cert), Some(key))
        } else {
            (None, None)
        };
        listeners.push(ListenerAnswer {
            protocol,
            address,
            cert,
            key,
        });
    }
    Ok(listeners)
}

/// The remote syslog destinations (also `--reconfigure destination`).
pub(crate) fn ask_destinations() -> anyhow::Result<Vec<DestinationAnswer>> {
    let mut destinations = Vec::new();
    loop {
        let transport = ask(
            "Add a remote syslog destination (udp, tcp, tls, or done)",
            "done",
            |t| check_choice(t, &["udp", "tcp", "tls", "done"]),
        )?;
        if transport == "done" {
            break;
        }
        let address = ask(
            "Destination (HOST:PORT)",
            "siem.example.net:6514",
            check_host_port,
        )?;
        let format = ask(
            "Format (standard, structured, brief)",
            &default_format(),
            |t| check_choice(t, &["standard", "structured", "brief"]),
        )?;
        let ca = if transport == "tls" {
            Some(ask(
                "CA certificates the server's certificate must chain to (PEM)",
                "/etc/netaudit/siem-ca.crt",
                check_readable,
            )?)
        } else {
            None
        };
        destinations.push(DestinationAnswer {
            transport,
            address,
            format,
            ca,
        });
    }
    Ok(destinations)
}

/// The RADIUS accounting servers, their secrets written to 0600 files in
/// `secrets_dir` (also `--reconfigure radius`).
pub(crate) fn ask_radius(secrets_dir: &Path) -> anyhow::Result<Vec<RadiusAnswer>> {
    let mut radius = Vec::new();
    loop {
        let server = ask(
            "Add a RADIUS accounting server (HOST:PORT, or done)",
            "done",
            |t| {
                if t.trim() == "done" {
                    Ok("done".to_string())
                } else {
                    check_host_port(t)
                }
            },
        )?;
        if server == "done" {
            break;
        }
        let secret = Password::with_theme(&SimpleTheme)
            .with_prompt("Shared secret (not shown)")
            .with_confirmation("Again", "the two entries differ")
            .interact()?;
        let secret_file = secrets_dir.join(format!("radius-{}.secret", radius.len() + 1));
        write_secret(&secret_file, &secret)?;
        radius.push(RadiusAnswer {
            server,
            secret_file,
        });
    }
    Ok(radius)
}

/// Asks whether to write the file (after its diff was shown).
pub(crate) fn confirm_write(path: &Path) -> anyhow::Result<bool> {
    Ok(Confirm::with_theme(&SimpleTheme)
        .with_prompt(format!("Write {}?", path.display()))
        .default(false)
        .interact()?)
}

/// A secret file readable only by its owner (0600), created new.
pub(crate) fn write_secret(path: &PathBuf, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
    }
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot write the secret: {e}", path.display()))?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    Ok(())
}
