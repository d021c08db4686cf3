//! The console over HTTPS (`http.tls_cert`, `http.tls_key`): the session
//! cookie is `Secure`; over plain HTTP on loopback it is not (the browser
//! would not send it back), the documented exception.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::browser::{one_at_a_time, Browser};
use crate::site::{Site, AUDITOR};
use crate::support::rsyslog::make_pki;
use crate::support::{config_text, free_tcp_port, ChildGuard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_session_cookie_is_secure() {
    let _browser_lock = one_at_a_time().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = make_pki(&dir.path().join("pki"));
    let port = free_tcp_port();
    let config = config_text(dir.path(), port, "").replace(
        "[http]\n",
        &format!(
            "[http]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            pki.server_cert.display(),
            pki.server_key.display()
        ),
    );
    let config_path = dir.path().join("netaudit.toml");
    std::fs::write(&config_path, config).expect("config");
    let password = dir.path().join("alice.pw");
    std::fs::write(&password, format!("{}\n", AUDITOR.1)).expect("password");
    let added = Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args([
            "user",
            "add",
            AUDITOR.0,
            "--role",
            "auditor",
            "--password-file",
        ])
        .arg(&password)
        .arg("--config")
        .arg(&config_path)
        .output()
        .expect("netaudit user add");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
    let _server = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_netaudit"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("netaudit serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "netaudit did not listen on HTTPS within 20 s: {}",
            std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let browser = Browser::start_with(true).await;
    let base = format!("https://127.0.0.1:{port}");
    browser.sign_in(&base, AUDITOR.0, AUDITOR.1).await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;
    assert_eq!(browser.session_cookie_flags().await, (true, true));
    browser.close().await;

    // Plain HTTP on loopback: HttpOnly, not Secure.
    let site = Site::start();
    let browser = Browser::start().await;
    browser.sign_in(&site.base, AUDITOR.0, AUDITOR.1).await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;
    assert_eq!(browser.session_cookie_flags().await, (false, true));
    browser.close().await;
}
