//! rustls server configuration for TLS listeners (RFC 5425): certificate and
//! key from PEM files, optional client-certificate verification against a CA.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::ListenerTlsConfig;

fn read_certs(path: &Path, key: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("tls.{key} {}: {e}", path.display()))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("tls.{key} {}: bad PEM: {e}", path.display()))?;
    if certs.is_empty() {
        anyhow::bail!("tls.{key} {}: no CERTIFICATE in the file", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let file = File::open(path).map_err(|e| anyhow::anyhow!("tls.key {}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("tls.key {}: bad PEM: {e}", path.display()))?
        .ok_or_else(|| anyhow::anyhow!("tls.key {}: no private key in the file", path.display()))
}

/// The acceptor for one TLS listener; errors name the key and file.
pub fn acceptor(config: &ListenerTlsConfig) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&config.cert, "cert")?;
    let key = read_key(&config.key)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    let builder = match &config.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca, "client_ca")? {
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("tls.client_ca {}: {e}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if config.require_client_cert {
                verifier.build()
            } else {
                verifier.allow_unauthenticated().build()
            }
            .map_err(|e| anyhow::anyhow!("tls.client_ca {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| anyhow::anyhow!("tls.cert/tls.key: {e}"))?;
    // Syslog senders never read: TLS 1.3 session tickets sent after the
    // handshake would sit unread in the sender's socket, and its close()
    // would then reset the connection, discarding messages still in flight.
    server.send_tls13_tickets = 0;
    Ok(TlsAcceptor::from(Arc::new(server)))
}
