//! Unit tests of `client.rs`.

use super::*;
use netaudit_radius::{attr, decode, encode_accounting_response, verify_accounting_request, Code};

const SECRET: &str = "a-test-secret-0123456789";

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET).unwrap()
}

fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(100),
        max_timeout: Duration::from_millis(400),
        retransmissions: 2,
        dead_time: Duration::from_secs(30),
    }
}

fn attributes(delay: u32) -> Vec<Attribute> {
    vec![
        Attribute::integer(attr::ACCT_STATUS_TYPE, 1),
        Attribute::string(attr::USER_NAME, "bob"),
        Attribute::string(attr::ACCT_SESSION_ID, "S1"),
        Attribute::string(attr::NAS_IDENTIFIER, "netaudit-test"),
        Attribute::integer(attr::ACCT_DELAY_TIME, delay),
    ]
}

async fn bind() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

async fn client(servers: &[&UdpSocket], options: ClientOptions) -> AccountingClient {
    let specs = servers
        .iter()
        .map(|s| ServerSpec {
            address: s.local_addr().unwrap(),
            secret: secret(),
        })
        .collect();
    AccountingClient::new(specs, options, Arc::new(RadiusMetrics::default()))
        .await
        .unwrap()
}

/// Receives one request within a second.
async fn next_request(server: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buffer = vec![0u8; 4096];
    let (len, from) = tokio::time::timeout(Duration::from_secs(1), server.recv_from(&mut buffer))
        .await
        .expect("a request within a second")
        .unwrap();
    buffer.truncate(len);
    (buffer, from)
}

fn reply_to(request: &[u8], secret: &SharedSecret) -> Vec<u8> {
    let packet = decode(request).unwrap();
    encode_accounting_response(packet.identifier, &packet.authenticator, &[], secret).unwrap()
}

#[tokio::test]
async fn acknowledged_request() {
    let server = bind().await;
    let c = client(&[&server], fast()).await;
    let (ack, ()) = tokio::join!(c.send(|| attributes(0)), async {
        let (request, from) = next_request(&server).await;
        let packet = verify_accounting_request(&request, &secret()).unwrap();
        assert_eq!(packet.code, Code::AccountingRequest);
        server
            .send_to(&reply_to(&request, &secret()), from)
            .await
            .unwrap();
    });
    let ack = ack.unwrap();
    assert_eq!(ack.tries, 1);
    assert_eq!(ack.server, server.local_addr().unwrap());
    assert_eq!(c.metrics().acknowledged.load(Relaxed), 1);
    assert_eq!(c.metrics().requests.load(Relaxed), 1);
}

#[tokio::test]
async fn retransmissions_are_identical_and_bad_replies_are_discarded() {
    let server = bind().await;
    let stranger = bind().await;
    let c = client(&[&server], fast()).await;
    let (ack, ()) = tokio::join!(c.send(|| attributes(0)), async {
        let (first, from) = next_request(&server).await;
        let id = first[1];
        let auth: [u8; 16] = first[4..20].try_into().unwrap();
        let good = reply_to(&first, &secret());
        // Every kind of bad reply: stranger, wrong secret, wrong id,
        // wrong code, truncated, oversized, lying length.
        stranger.send_to(&good, from).await.unwrap();
        let other = SharedSecret::new("another-secret-0123456789").unwrap();
        server
            .send_to(
                &encode_accounting_response(id, &auth, &[], &other).unwrap(),
                from,
            )
            .await
            .unwrap();
        let mut wrong_id = good.clone();
        wrong_id[1] = id.wrapping_add(1);
        server.send_to(&wrong_id, from).await.unwrap();
        let mut wrong_code = good.clone();
        wrong_code[0] = 2;
        server.send_to(&wrong_code, from).await.unwrap();
        server.send_to(&good[..10], from).await.unwrap();
        let mut oversized = good.clone();
        oversized.resize(5000, 0);
        server.send_to(&oversized, from).await.unwrap();
        let mut lying = good.clone();
        lying[3] = 200;
        server.send_to(&lying, from).await.unwrap();
        // No valid reply: the client sends the same octets again.
        let (second, _) = next_request(&server).await;
        assert_eq!(
            second, first,
            "a retransmission keeps identifier and authenticator"
        );
        server.send_to(&good, from).await.unwrap();
    });
    let ack = ack.unwrap();
    assert_eq!(ack.tries, 2);
    let m = c.metrics();
    assert_eq!(m.invalid_replies.load(Relaxed), 7);
    assert_eq!(m.retransmissions.load(Relaxed), 1);
    assert_eq!(m.requests.load(Relaxed), 1);
}

#[tokio::test]
async fn fails_over_with_a_new_identifier_and_reports_every_server() {
    let silent = bind().await;
    let second = bind().await;
    let c = client(&[&silent, &second], fast()).await;
    let delay = std::sync::atomic::AtomicU32::new(0);
    let build = || attributes(delay.fetch_add(5, Relaxed));
    let (ack, ()) = tokio::join!(c.send(build), async {
        let (a, _) = next_request(&silent).await;
        let (b, _) = next_request(&silent).await;
        let (c3, _) = next_request(&silent).await;
        assert!(a == b && b == c3);
        let (moved, from) = next_request(&second).await;
        assert_ne!(
            moved[4..20],
            a[4..20],
            "a changed request has a new authenticator"
        );
        let delay = decode(&moved)
            .unwrap()
            .get(attr::ACCT_DELAY_TIME)
            .and_then(Attribute::as_u32);
        assert_eq!(delay, Some(5));
        second
            .send_to(&reply_to(&moved, &secret()), from)
            .await
            .unwrap();
    });
    assert_eq!(ack.unwrap().server, second.local_addr().unwrap());
    assert_eq!(c.metrics().failovers.load(Relaxed), 1);
    assert_eq!(c.metrics().timeouts.load(Relaxed), 3);

    // The silent server is now skipped first; with nobody answering,
    // the error names both servers.
    drop(second);
    let error = c.send(|| attributes(0)).await.unwrap_err().to_string();
    assert!(error.contains("no reply to 3 tries"), "{error}");
    assert!(
        error.contains(&silent.local_addr().unwrap().to_string()),
        "{error}"
    );
    assert!(error.contains("shared secret"), "{error}");
}

#[tokio::test]
async fn a_wrong_secret_is_named_in_the_error() {
    let server = bind().await;
    let c = client(
        &[&server],
        ClientOptions {
            retransmissions: 0,
            ..fast()
        },
    )
    .await;
    let (result, ()) = tokio::join!(c.send(|| attributes(0)), async {
        let (request, from) = next_request(&server).await;
        let other = SharedSecret::new("another-secret-0123456789").unwrap();
        server
            .send_to(&reply_to(&request, &other), from)
            .await
            .unwrap();
    });
    let error = result.unwrap_err().to_string();
    assert!(error.contains("1 reply(ies) discarded"), "{error}");
    assert!(error.contains("wrong shared secret"), "{error}");
}

#[tokio::test]
async fn at_most_256_outstanding_and_identifiers_are_freed() {
    let server = bind().await;
    let c = Arc::new(
        client(
            &[&server],
            ClientOptions {
                timeout: Duration::from_secs(5),
                max_timeout: Duration::from_secs(5),
                retransmissions: 0,
                ..fast()
            },
        )
        .await,
    );
    let mut tasks = Vec::new();
    for _ in 0..300 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.send(|| attributes(0)).await }));
    }
    // Collect what arrives: exactly 256 before any is answered.
    let mut first = Vec::new();
    for _ in 0..256 {
        first.push(next_request(&server).await);
    }
    let mut buffer = [0u8; 4096];
    let more =
        tokio::time::timeout(Duration::from_millis(200), server.recv_from(&mut buffer)).await;
    assert!(
        more.is_err(),
        "a 257th request went out while 256 were outstanding"
    );
    let mut ids: Vec<u8> = first.iter().map(|(r, _)| r[1]).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 256);
    for (request, from) in &first {
        server
            .send_to(&reply_to(request, &secret()), from)
            .await
            .unwrap();
    }
    for _ in 0..44 {
        let (request, from) = next_request(&server).await;
        server
            .send_to(&reply_to(&request, &secret()), from)
            .await
            .unwrap();
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(c.metrics().acknowledged.load(Relaxed), 300);
}

#[tokio::test]
async fn unencodable_attributes_fail_at_once() {
    let server = bind().await;
    let c = client(&[&server], fast()).await;
    let error = c
        .send(|| vec![Attribute::string(attr::USER_NAME, "")])
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Encode(_)), "{error}");
    assert!(AccountingClient::new(Vec::new(), fast(), Arc::default())
        .await
        .is_err());
}
