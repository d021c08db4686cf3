//! The live tail in Chromium: an event sent over TCP syslog shows up,
//! also after a pause and resume; the stream resumes from `Last-Event-ID`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::browser::{one_at_a_time, Browser};
use crate::site::{Site, AUDITOR};

fn line(text: &str) -> String {
    format!("<134>1 2026-12-06T10:00:00Z tailhost app - TEST_TAIL - {text}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_tail_shows_new_events_and_misses_none_on_resume() {
    let _browser_lock = one_at_a_time().await;
    let site = Site::start();
    let browser = Browser::start().await;
    let base = &site.base;
    browser.sign_in(base, AUDITOR.0, AUDITOR.1).await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;
    browser.goto(&format!("{base}/tail?host=tailhost")).await;
    browser
        .wait_text("#tail-state", "live", Duration::from_secs(10))
        .await;

    // Sent over TCP syslog, shown as a row. The latency is printed (a
    // figure, docs/benchmarks.md), not asserted: the deadline is generous.
    let sent = Instant::now();
    site.send(&[line("first live event")]);
    browser
        .wait_text("#tail td", "first live event", Duration::from_secs(20))
        .await;
    println!("live tail: TCP send to row shown in {:?}", sent.elapsed());
    browser.screenshot("tail").await;

    // Paused, an event arrives; resumed, it is shown (nothing missed).
    browser.click("#tail-toggle").await;
    browser
        .wait_text("#tail-state", "paused", Duration::from_secs(5))
        .await;
    site.send(&[line("sent while paused")]);
    site.wait_stored(&["--text", "sent while paused"], 1);
    browser.click("#tail-toggle").await;
    browser
        .wait_text("#tail td", "sent while paused", Duration::from_secs(20))
        .await;
    let rows = browser.texts("#tail td:last-child").await;
    assert_eq!(
        rows.iter()
            .filter(|r| r.contains("first live event"))
            .count(),
        1,
        "an event shown twice after the resume: {rows:?}"
    );

    // A reconnecting EventSource sends Last-Event-ID: the stream goes on
    // after it, with the page's filters.
    let cookie = browser.session_cookie().await.expect("session cookie");
    let first_seq: u64 = browser.texts("#tail td:first-child").await[0]
        .parse()
        .expect("seq");
    let mut stream = TcpStream::connect(site.server.http).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /tail/stream?host=tailhost HTTP/1.1\r\nHost: x\r\nCookie: netaudit_console={cookie}\r\nLast-Event-ID: {first_seq}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buffer = [0u8; 4096];
    while !seen.contains("sent while paused") && Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
        }
    }
    assert!(seen.contains("sent while paused"), "{seen}");
    assert!(
        !seen.contains("first live event"),
        "resumed before Last-Event-ID: {seen}"
    );

    // Logging out ends the session, and with it the open stream.
    browser.click("header form button").await;
    browser
        .wait_text("p.note", "You are signed out", Duration::from_secs(10))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
        assert!(
            Instant::now() < deadline,
            "the stream went on 30 s after the logout"
        );
    }
    browser.close().await;
}
