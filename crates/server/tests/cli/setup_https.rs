//! `netaudit setup` with an HTTP address beyond loopback: HTTPS files
//! that must parse and match, or plain HTTP said explicitly with a
//! warning, through the terminal (`--reconfigure http_address`, whose
//! questions the whole wizard asks too) and through an answers file; the
//! file written always passes `check-config`.

use std::path::Path;
use std::process::Command;

use super::setup::{answers, netaudit, text};

/// A configuration written from an answers file, then `--reconfigure
/// http_address` on the terminal.
fn reconfigure_http_address(dir: &Path) -> rexpect::session::PtySession {
    let config = dir.join("netaudit.toml");
    let path = answers(dir, 1, 2, 3, "");
    let out = netaudit(&[
        "setup",
        "-c",
        config.to_str().unwrap(),
        "--non-interactive",
        "--answers",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut command = Command::new(env!("CARGO_BIN_EXE_netaudit"));
    command.args([
        "setup",
        "-c",
        config.to_str().unwrap(),
        "--reconfigure",
        "http_address",
    ]);
    let mut p = rexpect::session::spawn_command(command, Some(30_000)).unwrap();
    p.exp_string("Address of /health, /metrics and the HTTP API (IP:PORT) [127.0.0.1:1]:")
        .unwrap();
    p.send_line("0.0.0.0:18515").unwrap();
    p.exp_string("0.0.0.0:18515 is not a loopback address")
        .unwrap();
    p
}

#[test]
fn an_address_beyond_loopback_asks_for_https_files_that_parse_and_match() {
    let dir = tempfile::tempdir().unwrap();
    let made = |name: &str| {
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (crt, key) = (
            dir.path().join(format!("{name}.crt")),
            dir.path().join(format!("{name}.key")),
        );
        std::fs::write(&crt, pair.cert.pem()).unwrap();
        std::fs::write(&key, pair.key_pair.serialize_pem()).unwrap();
        (crt, key)
    };
    let (crt, key) = made("http");
    let (_, other_key) = made("other");
    let mut p = reconfigure_http_address(dir.path());
    p.send_line("ftp").unwrap();
    p.exp_string("\"ftp\" is not one of https, plain").unwrap();
    p.send_line("").unwrap();
    p.exp_string("HTTPS certificate chain file (PEM)").unwrap();
    p.send_line("/no/such/http.crt").unwrap();
    p.exp_string("/no/such/http.crt: No such file").unwrap();
    p.send_line(key.to_str().unwrap()).unwrap();
    p.exp_string("no CERTIFICATE in the file").unwrap();
    p.send_line(crt.to_str().unwrap()).unwrap();
    p.exp_string("HTTPS private key file (PEM)").unwrap();
    p.send_line(other_key.to_str().unwrap()).unwrap();
    p.exp_string("is not the private key of").unwrap();
    p.send_line(key.to_str().unwrap()).unwrap();
    p.exp_string("+tls_cert = ").unwrap();
    p.exp_string("Write ").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("passes check-config").unwrap();
    p.exp_eof().unwrap();
    let config = dir.path().join("netaudit.toml");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(
        written.contains(&format!(
            "address = \"0.0.0.0:18515\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            crt.display(),
            key.display()
        )),
        "{written}"
    );
    let out = netaudit(&["check-config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn an_address_beyond_loopback_may_serve_plain_http_only_when_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = reconfigure_http_address(dir.path());
    p.send_line("plain").unwrap();
    p.exp_string(
        "warning: the console on 0.0.0.0:18515 will carry passwords and session cookies in clear",
    )
    .unwrap();
    p.exp_string("+console_plain_http = true").unwrap();
    p.exp_string("Write ").unwrap();
    p.send_line("y").unwrap();
    p.exp_string("passes check-config").unwrap();
    p.exp_eof().unwrap();
    let config = dir.path().join("netaudit.toml");
    let out = netaudit(&["check-config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same by an answers file, on a file that did not say so yet: the
    // choice is written, with the warning.
    let second = dir.path().join("second");
    std::fs::create_dir(&second).unwrap();
    let config = second.join("netaudit.toml");
    let path = answers(&second, 1, 2, 3, "");
    let out = netaudit(&[
        "setup",
        "-c",
        config.to_str().unwrap(),
        "--non-interactive",
        "--answers",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = std::fs::read_to_string(&path).unwrap().replace(
        "http_address = \"127.0.0.1:1\"",
        "http_address = \"[::]:18516\"\nconsole_plain_http = true",
    );
    std::fs::write(&path, t).unwrap();
    let out = netaudit(&[
        "setup",
        "-c",
        config.to_str().unwrap(),
        "--reconfigure",
        "http_address",
        "--non-interactive",
        "--answers",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: the console on [::]:18516 will carry passwords"),
        "{}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("console_plain_http = true"), "{written}");
    let out = netaudit(&["check-config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
