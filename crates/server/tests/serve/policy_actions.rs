//! Event policies, continued: webhooks over HTTPS to a real local TLS
//! receiver (its certificate made by rcgen at test time; a receiver the CA
//! file does not vouch for is refused and the failure recorded), the
//! per-policy counters in /metrics, and the audit storage near-full event
//! with the built-in policy that reacts to it (docs/policies.md).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netaudit_event::Event;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use super::policies::{derived, line, send, start, wait_derived};
use crate::support::*;

/// A CA: its certificate PEM, and what signs with it.
struct Ca {
    pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        cert,
        key,
    }
}

/// An HTTPS receiver on loopback with a certificate for 127.0.0.1 signed by
/// `ca`; answers 200 to every request and keeps their bodies. Handshakes
/// the client refuses leave no request.
struct TlsReceiver {
    port: u16,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TlsReceiver {
    fn start(ca: &Ca) -> TlsReceiver {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            // Bounded: a test makes a handful of connections.
            for stream in listener.incoming().take(50) {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let tls = rustls::StreamOwned::new(connection, stream);
                if let Some(body) = serve_one(tls) {
                    kept.lock().unwrap().push(body);
                }
            }
        });
        TlsReceiver { port, bodies }
    }
}

/// Reads one HTTP request, answers 200; its body (`None` when no request
/// came, e.g. the client refused the certificate).
fn serve_one(stream: impl Read + Write) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return None;
        }
        let header = header.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    let _ = stream.flush();
    Some(body)
}

/// The action record of `policy`, waited for (bounded).
fn wait_action(server: &Netaudit, policy: &str) -> Event {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = stored_events(&server.db).into_iter().find(|e| {
            e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION") && e.param("policy") == Some(policy)
        });
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{policy}: no action recorded within 30 s\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn webhook_policy(name: &str, port: u16, secret: &Path, ca_file: &Path) -> String {
    format!(
        "[[policy]]\nname = \"{name}\"\n[policy.match]\ncodes = [\"UI_CLI_IDLE_TIMEOUT\"]\n\
         [[policy.action]]\nkind = \"webhook\"\nurl = \"https://127.0.0.1:{port}/hook\"\n\
         secret_file = \"{}\"\nca_file = \"{}\"\ntimeout_secs = 5\nmax_attempts = 2\n\n",
        secret.display(),
        ca_file.display()
    )
}

#[test]
fn an_https_webhook_is_verified_against_its_ca_file_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let ours = ca("netaudit webhook test CA");
    let stranger = ca("some other CA");
    let receiver = TlsReceiver::start(&ours);
    let (ours_file, stranger_file) = (dir.path().join("ca.pem"), dir.path().join("other.pem"));
    std::fs::write(&ours_file, &ours.pem).unwrap();
    std::fs::write(&stranger_file, &stranger.pem).unwrap();
    let secret = dir.path().join("webhook.secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let policies = webhook_policy("hook", receiver.port, &secret, &ours_file)
        + &webhook_policy("hook-wrong-ca", receiver.port, &secret, &stranger_file);
    let (mut server, port) = start(dir.path(), &policies);
    send(
        port,
        &[line(
            "r1",
            "cli",
            "UI_CLI_IDLE_TIMEOUT",
            "username=\"root\"",
            "Idle timeout for user 'root' exceeded and session terminated",
        )],
    );
    let ok = wait_action(&server, "hook");
    assert_eq!(ok.param("result"), Some("ok"), "{ok:?}");
    assert_eq!(ok.param("outcome"), Some("HTTP 200 after 1 attempt(s)"));
    let refused = wait_action(&server, "hook-wrong-ca");
    assert_eq!(refused.param("result"), Some("failed"), "{refused:?}");
    let outcome = refused.param("outcome").unwrap_or_default();
    assert!(
        outcome.contains("not delivered after 2 attempt(s): TLS handshake with 127.0.0.1:")
            && outcome.contains("invalid peer certificate"),
        "{outcome}"
    );
    // The counters per policy.
    for (series, value) in [
        ("netaudit_policy_firings_total{policy=\"hook\"}", 1),
        ("netaudit_policy_firings_total{policy=\"hook-wrong-ca\"}", 1),
        (
            "netaudit_policy_actions_total{policy=\"hook\",action=\"webhook\",result=\"ok\"}",
            1,
        ),
        (
            "netaudit_policy_actions_total{policy=\"hook-wrong-ca\",action=\"webhook\",result=\"failed\"}",
            1,
        ),
    ] {
        assert_eq!(server.metric(series), value, "{series}\n{}", server.metrics());
    }
    assert!(
        !server.metrics().contains(
            "netaudit_policy_actions_total{policy=\"hook\",action=\"webhook\",result=\"failed\"}"
        ),
        "{}",
        server.metrics()
    );
    // Evaluation has caught up: no lag left (bounded wait for the gauge).
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.metric("netaudit_policy_lag_events{policy=\"hook\"}") != 0 {
        assert!(Instant::now() < deadline, "{}", server.metrics());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.stop().success());
    // The receiver got exactly the one verified delivery.
    let bodies = receiver.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1);
    let event: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(event["code"], "NETAUDIT_POLICY_TRIGGERED");
}

/// A server with a TCP listener, the built-in policies on (the silent-host
/// one off) and `store` keys in `[store]` instead of `near_full_percent = 0`.
fn start_with_store_keys(dir: &Path, store: &str) -> (Netaudit, u16) {
    let port = free_tcp_port();
    let rest = format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n");
    let config = config_text(dir, free_tcp_port(), &rest)
        .replace("near_full_percent = 0\n", &format!("{store}\n"))
        .replace(
            "[builtin_policies]\nenabled = false\n",
            "[builtin_policies]\nsilent_host = false\n",
        );
    (Netaudit::start(dir, &config), port)
}

fn near_full(events: &[Event], measure: &str) -> Vec<Event> {
    events
        .iter()
        .filter(|e| {
            e.code.as_deref() == Some("NETAUDIT_STORE_NEAR_FULL")
                && e.param("measure") == Some(measure)
        })
        .cloned()
        .collect()
}

#[test]
fn a_store_near_its_maximum_is_told_once_and_the_builtin_policy_reacts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = start_with_store_keys(
        dir.path(),
        "retention_max_events = 50\nnear_full_percent = 60",
    );
    let lines: Vec<String> = (0..40)
        .map(|i| {
            line(
                "r1",
                "cli",
                "UI_CMDLINE_READ_LINE",
                &format!("username=\"u{i}\" command=\"show version\""),
                "User 'u', command 'show version'",
            )
        })
        .collect();
    send(port, &lines);
    let fired = wait_derived(&server, "ndcpp-audit-storage", 1);
    assert_eq!(
        fired[0].param("event-code"),
        Some("NETAUDIT_STORE_NEAR_FULL")
    );
    // Another measure round or two: still told once.
    std::thread::sleep(Duration::from_secs(5));
    assert!(server.stop().success());
    let all = stored_events(&server.db);
    let told = near_full(&all, "events");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].param("limit"), Some("50"));
    assert_eq!(told[0].param("threshold-percent"), Some("60"));
    let used: u64 = told[0].param("used").unwrap().parse().unwrap();
    assert!((30..=41).contains(&used), "{used}");
    assert!(
        told[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("of store.retention_max_events = 50"),
        "{told:?}"
    );
    assert_eq!(
        derived(&all, "ndcpp-audit-storage")
            .iter()
            .filter(|e| e.param("event-code") == Some("NETAUDIT_STORE_NEAR_FULL"))
            .count(),
        told.len() + near_full(&all, "disk").len()
    );
}

#[test]
fn the_filesystem_of_the_store_is_measured_too() {
    let dir = tempfile::tempdir().unwrap();
    // Any filesystem in use is at least 1% full.
    let (mut server, _) = start_with_store_keys(dir.path(), "near_full_percent = 1");
    let fired = wait_derived(&server, "ndcpp-audit-storage", 1);
    assert!(server.stop().success());
    let told = near_full(&stored_events(&server.db), "disk");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        fired[0].param("event-code"),
        Some("NETAUDIT_STORE_NEAR_FULL")
    );
    let limit: u64 = told[0].param("limit").unwrap().parse().unwrap();
    assert!(limit > 0);
    assert_eq!(told[0].param("path"), Some(dir.path().to_str().unwrap()));
}

/// `netaudit user -c CONFIG ARGS...`; its standard output.
fn netaudit_user(server: &Netaudit, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .arg("user")
        .arg("-c")
        .arg(&server.config_path)
        .args(args)
        .output()
        .expect("run netaudit user");
    assert!(
        output.status.success(),
        "netaudit user {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn lock_user_locks_the_netaudit_account_the_firing_names() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "[[policy]]\nname = \"lock\"\n[policy.match]\ncodes = [\"LOGIN_FAILED\"]\n\
                  [policy.count]\nthreshold = 2\nwindow_secs = 60\ngroup_by = [\"user\"]\n\
                  [[policy.action]]\nkind = \"lock-user\"\n";
    let (mut server, port) = start(dir.path(), policy);
    let password = dir.path().join("alice.pw");
    std::fs::write(&password, "correct horse battery staple 1\n").unwrap();
    netaudit_user(
        &server,
        &[
            "add",
            "alice",
            "--role",
            "auditor",
            "--password-file",
            password.to_str().unwrap(),
        ],
    );
    let failed = |user: &str| {
        line(
            "r1",
            "login",
            "LOGIN_FAILED",
            &format!("username=\"{user}\""),
            &format!("Login failed for user {user}"),
        )
    };
    send(
        port,
        &[
            failed("alice"),
            failed("bob"),
            failed("alice"),
            failed("bob"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let records = loop {
        let records: Vec<Event> = stored_events(&server.db)
            .into_iter()
            .filter(|e| e.code.as_deref() == Some("NETAUDIT_POLICY_ACTION"))
            .collect();
        if records.len() >= 2 {
            break records;
        }
        assert!(Instant::now() < deadline, "{records:?}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    };
    let outcome = |result: &str| {
        records
            .iter()
            .find(|e| e.param("result") == Some(result))
            .and_then(|e| e.param("outcome"))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(outcome("ok"), "netaudit user alice locked");
    // bob is a device user, not a netaudit one: recorded as failed.
    assert!(outcome("failed").contains("bob"), "{records:?}");
    let list = netaudit_user(&server, &["list"]);
    let alice = list
        .lines()
        .find(|l| l.contains("alice"))
        .unwrap_or_default();
    assert!(alice.contains("locked"), "{list}");
    assert!(server.stop().success());
}

#[test]
fn the_trusted_channel_and_silent_host_builtins_fire_on_real_input() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let rest = format!("[[listener]]\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n");
    let config = config_text(dir.path(), free_tcp_port(), &rest).replace(
        "[builtin_policies]\nenabled = false\n",
        "[builtin_policies]\nsilent_host_secs = 2\n",
    );
    let mut server = Netaudit::start(dir.path(), &config);
    // Seed 003's FCS_SSHS_EXT.1 failure, five times within the minute.
    let lines: Vec<String> = (0..5)
        .map(|i| {
            line(
                "fw2",
                "sshd",
                "SSHD_MESSAGE",
                "",
                &format!("Unable to negotiate with 10.0.0.{i} port 22: no matching key exchange method found"),
            )
            .replace(" [junos@2636.1.1.1.2.164 ]", " -")
        })
        .collect();
    send(port, &lines);
    let burst = wait_derived(&server, "ndcpp-trusted-channel", 1);
    assert_eq!(burst[0].param("host"), Some("fw2"), "{burst:?}");
    assert_eq!(burst[0].param("seq-count"), Some("5"), "{burst:?}");
    // fw2 then falls silent for the configured 2 s.
    let silent = wait_derived(&server, "ndcpp-silent-host", 1);
    assert_eq!(silent[0].param("host"), Some("fw2"), "{silent:?}");
    assert!(server.stop().success());
    let all = stored_events(&server.db);
    assert_eq!(derived(&all, "ndcpp-trusted-channel").len(), 1);
    assert_eq!(derived(&all, "ndcpp-silent-host").len(), 1);
}
