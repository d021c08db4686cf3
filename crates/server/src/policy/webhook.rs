//! The `webhook` action: an HTTP(S) POST of the derived event as JSON,
//! signed with HMAC-SHA256, retried with exponential backoff. A delivery
//! counts once the receiver answers 2xx; `X-Netaudit-Delivery` names it so
//! that a receiver can drop a repeat (delivery is at least once). Over
//! HTTPS (rustls) the server's certificate is always verified: it must
//! chain to the CA file and name the URL's host.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Request, Uri};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use sha2::Sha256;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::output::consumer::sleep_or_cancel;
use crate::output::transport::Stream;

/// The header carrying `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub(crate) const SIGNATURE_HEADER: &str = "x-netaudit-signature";
/// The header naming the delivery (`<policy>:<seq of the derived event>`).
pub(crate) const DELIVERY_HEADER: &str = "x-netaudit-delivery";
/// First wait between attempts; doubled after each, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One webhook delivery.
pub(crate) struct Delivery<'a> {
    pub url: &'a str,
    pub secret: &'a [u8],
    pub delivery_id: &'a str,
    /// The CA certificates an https:// receiver must chain to (`None`:
    /// plain http).
    pub ca_file: Option<&'a Path>,
    pub body: Bytes,
    pub timeout: Duration,
    pub max_attempts: u32,
}

/// Posts until a 2xx answer, `max_attempts` or `cancel`; returns whether
/// it was delivered and what happened (attempts, last status or error).
/// `None` when cancelled.
pub(crate) async fn deliver(
    delivery: &Delivery<'_>,
    cancel: &CancellationToken,
) -> Option<(bool, String)> {
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=delivery.max_attempts {
        let result = tokio::select! {
            _ = cancel.cancelled() => return None,
            result = tokio::time::timeout(delivery.timeout, post_once(delivery)) => result,
        };
        match result {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                return Some((true, format!("HTTP {status} after {attempt} attempt(s)")));
            }
            Ok(Ok(status)) => last = format!("HTTP {status}"),
            Ok(Err(err)) => last = err,
            Err(_) => last = format!("no answer within {} s", delivery.timeout.as_secs()),
        }
        tracing::warn!(url = %delivery.url, attempt, error = %last, "webhook not delivered; retrying");
        if attempt < delivery.max_attempts {
            if !sleep_or_cancel(backoff, cancel).await {
                return None;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    Some((
        false,
        format!(
            "not delivered after {} attempt(s): {last}",
            delivery.max_attempts
        ),
    ))
}

/// The TLS client of an https:// webhook: the server certificate must
/// chain to the certificates in `ca_file` (read at each connection, so a
/// replaced file takes effect at the next attempt).
fn tls_connector(ca_file: &Path) -> Result<TlsConnector, String> {
    let pem = std::fs::read(ca_file).map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| format!("ca_file {}: bad PEM: {e}", ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("ca_file {}: {e}", ca_file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "ca_file {}: no CERTIFICATE in the file",
            ca_file.display()
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A connection to the URL's host: TCP, and TLS for https.
async fn connect(uri: &Uri, ca_file: Option<&Path>) -> Result<Box<dyn Stream>, String> {
    let host = uri.host().ok_or("URL without host")?;
    // An IPv6 literal is written in brackets in a URL, not to connect().
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri
        .port_u16()
        .unwrap_or(if ca_file.is_some() { 443 } else { 80 });
    let stream = TcpStream::connect((bare, port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let Some(ca_file) = ca_file else {
        return Ok(Box::new(stream));
    };
    let connector = tls_connector(ca_file)?;
    let name = ServerName::try_from(bare.to_owned())
        .map_err(|e| format!("TLS: {host} is not a server name: {e}"))?;
    let tls = connector
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
    Ok(Box::new(tls))
}

async fn post_once(delivery: &Delivery<'_>) -> Result<u16, String> {
    let uri: Uri = delivery.url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let stream = connect(&uri, delivery.ca_file).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let path = uri
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    let authority = uri
        .authority()
        .map_or_else(String::new, |a| a.as_str().to_owned());
    let request = Request::post(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature(delivery.secret, &delivery.body))
        .header(DELIVERY_HEADER, delivery.delivery_id)
        .body(Full::new(delivery.body.clone()))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"));
    driver.abort();
    Ok(response?.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
