//! TLS listeners (RFC 5425): certificates made at test time with rcgen;
//! mutual authentication refuses strangers; TLS and plain TCP mixed up on
//! the wrong port are logged and closed while others keep being served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

struct Ca {
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
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca { cert, key }
}

/// A leaf certificate signed by `ca`: (certificate PEM, key PEM).
fn leaf(ca: &Ca, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("client"),
    );
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client: (String, String),
    stranger: (String, String),
}

fn make_pki(dir: &Path) -> Pki {
    let ours = ca("netaudit test CA");
    let theirs = ca("stranger CA");
    let server = leaf(
        &ours,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client = leaf(&ours, &["device1"], ExtendedKeyUsagePurpose::ClientAuth);
    let stranger = leaf(&theirs, &["device2"], ExtendedKeyUsagePurpose::ClientAuth);
    std::fs::write(dir.join("ca.pem"), ours.cert.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), &server.0).unwrap();
    std::fs::write(dir.join("server.key"), &server.1).unwrap();
    Pki {
        dir: dir.to_owned(),
        ca_pem: ours.cert.pem(),
        client,
        stranger,
    }
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .unwrap()
        .unwrap()
}

fn client_config(pki: &Pki, identity: Option<&(String, String)>) -> Arc<rustls::ClientConfig> {
    client_config_trusting(&pki.ca_pem, identity)
}

fn client_config_trusting(
    ca_pem: &str,
    identity: Option<&(String, String)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs(ca_pem) {
        roots.add(cert).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match identity {
        Some((cert, k)) => builder.with_client_auth_cert(certs(cert), key(k)).unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// Connects, sends `frames` over TLS and closes. `Err` when the server
/// refused (handshake or first read failed).
fn send_tls(port: u16, config: Arc<rustls::ClientConfig>, frames: &[&str]) -> Result<(), String> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut conn =
        rustls::ClientConnection::new(config, ServerName::try_from("localhost").unwrap())
            .map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut socket);
    for frame in frames {
        tls.write_all(format!("{} {}", frame.len(), frame).as_bytes())
            .map_err(|e| e.to_string())?;
    }
    tls.flush().map_err(|e| e.to_string())?;
    // With TLS 1.3 a refused client certificate shows up on the next read:
    // close_notify, then read until the server's close_notify or an alert.
    tls.conn.send_close_notify();
    tls.flush().map_err(|e| e.to_string())?;
    let mut rest = Vec::new();
    match tls.read_to_end(&mut rest) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn tls_config(pki: &Pki, tls_port: u16, tcp_port: u16) -> String {
    format!(
        "[[listener]]\nname = \"tls\"\nprotocol = \"tls\"\naddress = \"127.0.0.1:{tls_port}\"\nhandshake_timeout_secs = 3\n\
         [listener.tls]\ncert = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\nclient_ca = \"{d}/ca.pem\"\nrequire_client_cert = true\n\n\
         [[listener]]\nname = \"tcp\"\nprotocol = \"tcp\"\naddress = \"127.0.0.1:{tcp_port}\"\n",
        d = pki.dir.display()
    )
}

fn message(text: &str) -> String {
    format!("<86>1 2026-11-20T10:00:00.000Z jscope junoscope - JUNOSCOPE_TLS_TEST - {text}")
}

#[test]
fn mutual_tls_accepts_our_clients_and_refuses_strangers() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (tls_port, tcp_port) = (free_tcp_port(), free_tcp_port());
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(
            dir.path(),
            free_tcp_port(),
            &tls_config(&pki, tls_port, tcp_port),
        ),
    );

    let first = message("first over tls");
    send_tls(
        tls_port,
        client_config(&pki, Some(&pki.client)),
        &[&first, &message("second over tls")],
    )
    .unwrap_or_else(|e| panic!("accepted client failed: {e}\n{}", server.log()));
    server.wait_metric("netaudit_stored_events_total", 2, Duration::from_secs(10));

    // A client certificate from another CA, and no certificate at all.
    let stranger = send_tls(
        tls_port,
        client_config(&pki, Some(&pki.stranger)),
        &[&message("stranger")],
    );
    assert!(stranger.is_err(), "a stranger's certificate was accepted");
    let anonymous = send_tls(
        tls_port,
        client_config(&pki, None),
        &[&message("anonymous")],
    );
    assert!(
        anonymous.is_err(),
        "a client without certificate was accepted"
    );
    server.wait_metric(
        "netaudit_tls_handshake_failures_total{listener=\"tls\"",
        2,
        Duration::from_secs(10),
    );

    // Everyone else is still served.
    send_tls(
        tls_port,
        client_config(&pki, Some(&pki.client)),
        &[&message("after the strangers")],
    )
    .unwrap();
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(10));
    assert!(server.stop().success());
    let log = server.log();
    assert!(log.contains("TLS handshake failed"), "{log}");
    let events = stored_events(&server.db);
    let texts: Vec<_> = events.iter().filter_map(|e| e.message.as_deref()).collect();
    assert_eq!(
        texts,
        ["first over tls", "second over tls", "after the strangers"]
    );
    assert_eq!(events[0].code.as_deref(), Some("JUNOSCOPE_TLS_TEST"));
    assert_eq!(events[0].raw, first.as_bytes());
}

#[test]
fn plain_tcp_on_the_tls_port_and_tls_on_the_tcp_port_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let (tls_port, tcp_port) = (free_tcp_port(), free_tcp_port());
    let mut server = Netaudit::start(
        dir.path(),
        &config_text(
            dir.path(),
            free_tcp_port(),
            &tls_config(&pki, tls_port, tcp_port),
        ),
    );

    // Plain syslog to the TLS port: the handshake fails, the connection closes.
    let mut plain = TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(format!("{}\n", message("plain text to tls")).as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    let closed = plain.read_to_end(&mut buf);
    assert!(
        closed.is_ok()
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
    server.wait_metric(
        "netaudit_tls_handshake_failures_total{listener=\"tls\"",
        1,
        Duration::from_secs(10),
    );

    // A TLS ClientHello to the plain TCP port: detected, logged, closed.
    let refused = send_tls(
        tcp_port,
        client_config(&pki, Some(&pki.client)),
        &[&message("tls to tcp")],
    );
    assert!(refused.is_err());
    server.wait_metric(
        "netaudit_tls_on_plain_tcp_total{listener=\"tcp\"",
        1,
        Duration::from_secs(10),
    );

    // Both listeners still serve their own kind.
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_port)).unwrap();
    tcp.write_all(format!("{}\n", message("plain tcp still works")).as_bytes())
        .unwrap();
    drop(tcp);
    send_tls(
        tls_port,
        client_config(&pki, Some(&pki.client)),
        &[&message("tls still works")],
    )
    .unwrap();
    server.wait_metric("netaudit_stored_events_total", 2, Duration::from_secs(10));
    assert!(server.stop().success());
    let log = server.log();
    assert!(
        log.contains("TLS handshake on a plain TCP listener"),
        "{log}"
    );
    let mut texts: Vec<_> = stored_events(&server.db)
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    texts.sort();
    assert_eq!(texts, ["plain tcp still works", "tls still works"]);
}

#[test]
fn loggen_over_tls_is_stored_completely() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let port = free_tcp_port();
    // Server authentication only: loggen has no client certificate option.
    let rest = format!(
        "[[listener]]\nname = \"tls\"\nprotocol = \"tls\"\naddress = \"127.0.0.1:{port}\"\n\
         [listener.tls]\ncert = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\n",
        d = pki.dir.display()
    );
    let mut server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    // RFC 5424 (-P) on one run, BSD on the other, 2 connections each.
    for format in [&["-P"][..], &[][..]] {
        run_ok(
            loggen()
                .args([
                    "-U",
                    "-s",
                    "250",
                    "-n",
                    "2000",
                    "-r",
                    "100000000",
                    "-I",
                    "60",
                ])
                .arg("--active-connections=2")
                .args(format)
                .args(["127.0.0.1", &port.to_string()]),
        );
    }
    server.wait_metric(
        "netaudit_stored_events_total",
        8_000,
        Duration::from_secs(30),
    );
    assert_eq!(
        server.metric("netaudit_parse_errors_total"),
        0,
        "{}",
        server.log()
    );
    assert_eq!(
        server.metric("netaudit_tls_handshake_failures_total"),
        0,
        "{}",
        server.log()
    );
    assert!(server.stop().success());
    let events = stored_events(&server.db);
    assert_eq!(events.len(), 8_000);
    assert!(events
        .iter()
        .all(|e| e.host.is_some() && e.message.is_some() && e.severity.is_some()));
}

#[test]
fn sighup_rereads_renewed_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let port = free_tcp_port();
    let rest = format!(
        "[[listener]]\nname = \"tls\"\nprotocol = \"tls\"\naddress = \"127.0.0.1:{port}\"\n\
         [listener.tls]\ncert = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\n",
        d = pki.dir.display()
    );
    let mut server = Netaudit::start(dir.path(), &config_text(dir.path(), free_tcp_port(), &rest));
    let old_roots = pki.ca_pem.clone();
    send_tls(
        port,
        client_config_trusting(&old_roots, None),
        &[&message("old certificate")],
    )
    .unwrap();

    // A renewed server certificate from a new CA, same file names.
    let renewed_ca = ca("renewed CA");
    let (cert, key) = leaf(
        &renewed_ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.path().join("server.pem"), cert).unwrap();
    std::fs::write(dir.path().join("server.key"), key).unwrap();
    server.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server
        .log()
        .contains("TLS certificate, key and CA files re-read")
    {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    send_tls(
        port,
        client_config_trusting(&renewed_ca.cert.pem(), None),
        &[&message("renewed certificate")],
    )
    .unwrap();
    assert!(send_tls(
        port,
        client_config_trusting(&old_roots, None),
        &[&message("old roots")]
    )
    .is_err());

    // A broken key file: logged, the renewed certificate stays in use.
    std::fs::write(dir.path().join("server.key"), "not a key").unwrap();
    server.signal(libc::SIGHUP);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !server.log().contains("TLS files rejected") {
        assert!(std::time::Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    send_tls(
        port,
        client_config_trusting(&renewed_ca.cert.pem(), None),
        &[&message("still renewed")],
    )
    .unwrap();
    server.wait_metric("netaudit_stored_events_total", 3, Duration::from_secs(10));
    assert!(server.stop().success());
    let texts: Vec<_> = stored_events(&server.db)
        .into_iter()
        .filter_map(|e| e.message)
        .collect();
    assert_eq!(
        texts,
        ["old certificate", "renewed certificate", "still renewed"]
    );
}
