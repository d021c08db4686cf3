//! rustls server configuration for TLS listeners (RFC 5425): certificate and
//! key from PEM files (read by `crate::pem`), optional client-certificate verification against a CA.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::ListenerTlsConfig;
use crate::pem::{read_certs, read_key};

/// The acceptor for one TLS listener; errors name the key and file.
pub(crate) fn acceptor(config: &ListenerTlsConfig) -> anyhow::Result<TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs("cert", &config.cert)?;
    let key = read_key("key", &config.key)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS: {e}"))?;
    let builder = match &config.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs("client_ca", ca)? {
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
