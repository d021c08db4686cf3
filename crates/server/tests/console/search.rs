//! The events search in Chromium: each filter finds what `netaudit query`
//! finds, the detail page shows the raw bytes, an event's markup shows as
//! text, and bad parameters get a message, never a 500.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{one_at_a_time, Browser};
use crate::site::{catalog_line, http, Site, AUDITOR};

const XSS: &str = "<script>alert(1)</script><img src=x onerror=\"document.title='pwned'\">";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_detail_export_and_escaping() {
    let _browser_lock = one_at_a_time().await;
    let site = Site::start();
    let mut lines = Vec::new();
    for (i, (host, device, user)) in [
        ("js1", "edge1", "ops"),
        ("js1", "edge2", "eve"),
        ("js2", "core1", "ops"),
    ]
    .iter()
    .enumerate()
    {
        lines.push(catalog_line(
            "JUNOSCOPE_COMMIT_PERFORMED",
            &[
                ("device-name", device),
                ("username", user),
                ("client-address", "10.1.2.3"),
            ],
            host,
            &format!("2026-11-23T10:0{i}:00Z"),
        ));
    }
    lines.push(catalog_line(
        "JUNOSCOPE_LOGIN_FAILURE",
        &[("username", "mallory"), ("client-address", "10.6.6.6")],
        "js2",
        "2026-11-23T11:00:00Z",
    ));
    // An error (PRI 147: local2.err) whose text is markup.
    lines.push(format!(
        "<147>1 2026-11-23T12:00:00Z evilhost app - TEST_XSS - {XSS}"
    ));
    site.send(&lines);
    site.wait_stored(
        &[
            "--since",
            "2026-11-23T00:00:00Z",
            "--until",
            "2026-11-24T00:00:00Z",
        ],
        5,
    );

    let browser = Browser::start().await;
    let base = &site.base;
    browser.sign_in(base, AUDITOR.0, AUDITOR.1).await;
    browser
        .wait_text("h1", "Events", Duration::from_secs(10))
        .await;

    // One search through the form itself.
    browser.fill("input[name=code]", "JUNOSCOPE_COMMIT_*").await;
    browser.submit("#search").await;
    browser
        .wait_text(
            "#results",
            "JUNOSCOPE_COMMIT_PERFORMED",
            Duration::from_secs(10),
        )
        .await;
    let url = browser.client.current_url().await.expect("url");
    assert!(
        url.query()
            .unwrap_or("")
            .contains("code=JUNOSCOPE_COMMIT_*"),
        "{url}"
    );
    assert_eq!(browser.texts("#results tbody tr").await.len(), 3);
    browser.screenshot("events").await;

    // Every filter, by its bookmarkable URL, against `netaudit query`.
    for (param, value) in [
        ("since", "2026-11-23T10:01:00Z"),
        ("until", "2026-11-23T10:02:00Z"),
        ("code", "JUNOSCOPE_LOGIN_FAILURE"),
        ("severity", "error"),
        ("user", "ops"),
        ("host", "js2"),
        ("device", "edge2"),
        ("text", "alert(1)"),
    ] {
        let encoded = serde_urlencoded::to_string([(param, value)]).expect("encode");
        browser
            .goto(&format!(
                "{base}/events?{encoded}&order=oldest&col=seq&limit=1000"
            ))
            .await;
        let shown: Vec<u64> = browser
            .texts("#results td.seq")
            .await
            .iter()
            .map(|s| s.parse().expect("seq"))
            .collect();
        let expected = site.query_seqs(&[&format!("--{param}"), value]);
        assert!(!expected.is_empty(), "{param}: the test data has no match");
        assert_eq!(shown, expected, "{param}={value}");
    }

    // The markup of an event is text: shown as written, never run.
    browser.goto(&format!("{base}/events?host=evilhost")).await;
    assert_eq!(browser.text("#results td.message").await, XSS);
    let title = browser.client.title().await.expect("title");
    assert!(!title.contains("pwned"), "{title}");
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "an alert opened"
    );

    // The detail: every field, sequence, epoch, sealed or not, raw bytes.
    browser.click("#results td.seq a").await;
    browser
        .wait_text("h1", "Event ", Duration::from_secs(10))
        .await;
    let fields = browser.text("#fields").await;
    for name in [
        "Sequence",
        "Epoch",
        "Sealed",
        "Received",
        "Host evilhost",
        "Code TEST_XSS",
    ] {
        assert!(fields.contains(name), "{name} not in {fields}");
    }
    let raw = browser.text("#raw").await;
    assert!(
        raw.starts_with("<147>1 2026-11-23T12:00:00Z evilhost"),
        "{raw}"
    );
    assert!(raw.contains(XSS), "{raw}");
    browser.screenshot("event-detail").await;

    // A catalog event's structured-data parameters.
    let login_failure = site.query_seqs(&["--code", "JUNOSCOPE_LOGIN_FAILURE"])[0];
    browser
        .goto(&format!("{base}/events/{login_failure}"))
        .await;
    let params = browser.text("#params").await;
    assert!(params.contains("username mallory"), "{params}");

    // Export of the current search, as the API's.
    let cookie = browser.session_cookie().await.expect("cookie");
    let (status, body) = http(
        site.server.http,
        "GET",
        "/events/export?code=JUNOSCOPE_COMMIT_*&format=json",
        Some(&format!("netaudit_console={cookie}")),
        "",
    );
    assert_eq!(status, 200);
    assert!(
        body.matches("JUNOSCOPE_COMMIT_PERFORMED").count() >= 3,
        "{body}"
    );

    // Bad parameters: a message on the page naming each, never a 500.
    let huge = "x".repeat(5000);
    for (query, expected) in [
        ("limit=abc".to_string(), "limit:"),
        ("limit=99999999999999999999999".to_string(), "limit:"),
        ("since=%FF%FE".to_string(), "since:"),
        ("severity=%3Cb%3Ebold%3C%2Fb%3E".to_string(), "severity:"),
        (format!("text={huge}"), "text:"),
        ("from=-1".to_string(), "from:"),
        ("code=%27%3B%20DROP%20TABLE%20events%3B--".to_string(), ""),
        ("nope=1".to_string(), "'nope'"),
    ] {
        browser.goto(&format!("{base}/events?{query}")).await;
        let problems = browser.texts("ul.problems li").await.join("\n");
        if expected.is_empty() {
            assert!(problems.is_empty(), "{query}: {problems}");
            assert_eq!(
                browser.texts("#results").await.len(),
                0,
                "{query}: results for a bogus code"
            );
        } else {
            assert!(problems.contains(expected), "{query}: {problems}");
        }
        assert!(
            browser
                .client
                .find(Locator::Css("ul.problems b"))
                .await
                .is_err(),
            "markup from a parameter"
        );
    }
    browser
        .goto(&format!("{base}/events?severity=%3Cb%3Ebold%3C%2Fb%3E"))
        .await;
    browser.screenshot("events-bad-input").await;
    // Overview: events of now (nil timestamp: the received time), a failed
    // login through the API, every host silent after 0 minutes.
    site.send(&[
        "<131>1 - nowhost app - TEST_NOW - an error now".to_string(),
        "<134>1 - nowhost app - TEST_NOW - info now".to_string(),
    ]);
    let refused = site.api(
        "POST",
        "/api/v1/login",
        "none",
        r#"{"username": "zed", "password": "not the password"}"#,
    );
    assert_eq!(refused, 401);
    site.wait_stored(&["--code", "TEST_NOW"], 2);
    site.wait_stored(&["--user", "zed"], 1);
    browser.goto(&format!("{base}/overview?silent=0")).await;
    let codes = browser.text("section.bars").await.replace('\n', " ");
    assert!(codes.contains("TEST_NOW 2"), "{codes}");
    let failed = browser
        .texts("section.bars")
        .await
        .join(" ")
        .replace('\n', " ");
    assert!(
        failed.contains("Failed logins by source address 127.0.0.1 1"),
        "{failed}"
    );
    assert!(browser
        .text("tr[data-host=nowhost]")
        .await
        .contains("(silent)"));
    assert!(browser
        .client
        .find(Locator::Css("#rate svg rect"))
        .await
        .is_ok());
    browser.goto(&format!("{base}/overview")).await;
    assert!(!browser
        .text("tr[data-host=nowhost]")
        .await
        .contains("(silent)"));
    browser.screenshot("overview").await;
    browser
        .goto(&format!("{base}/overview?window=2d&silent=x"))
        .await;
    assert_eq!(browser.texts("ul.problems li").await.len(), 2);

    // Integrity: verify runs in the background, the page shows its result.
    browser.goto(&format!("{base}/integrity")).await;
    assert!(browser.text("#chain-now").await.contains("Last sequence"));
    browser.click("#run-verify").await;
    browser
        .wait_text(
            "#verify-state",
            "Verified: the chain is intact",
            Duration::from_secs(60),
        )
        .await;
    let report = browser.text("#verify-report").await;
    assert!(report.contains("Run by alice"), "{report}");
    browser.screenshot("integrity").await;

    // Monitor > Status: an operation reported through the API, its leaves.
    let token = site.reporter_token();
    assert!(token.starts_with("na_tok_"), "{token}");
    let created = site.api(
        "POST",
        "/api/v1/operations",
        &token,
        r#"{"name": "archive edge", "type": "archive", "devices": ["edge1", "edge2"], "user": "ops"}"#,
    );
    assert_eq!(created, 201);
    let reported = site.api(
        "PUT",
        "/api/v1/operations/archive%20edge/leaves/edge1",
        &token,
        r#"{"status": "success", "revision": "17"}"#,
    );
    assert_eq!(reported, 200);
    browser.goto(&format!("{base}/status")).await;
    let operation = browser.text("section.operation").await;
    assert!(operation.contains("archive edge"), "{operation}");
    assert!(operation.contains("edge1 success"), "{operation}");
    assert!(operation.contains("edge2 running"), "{operation}");
    browser.screenshot("status").await;
    browser.goto(&format!("{base}/status?status=running")).await;
    let leaves = browser.texts("section.operation tbody tr").await;
    assert_eq!(leaves.len(), 1, "{leaves:?}");
    assert!(leaves[0].starts_with("edge2"), "{leaves:?}");
    browser
        .goto(&format!("{base}/status?status=%3Cscript%3E&bogus=1"))
        .await;
    assert_eq!(browser.texts("ul.problems li").await.len(), 2);

    for path in [
        "/events/abc",
        "/events/0",
        "/events/99999999999999999999999",
        "/events/123456",
    ] {
        let (status, body) = http(
            site.server.http,
            "GET",
            path,
            Some(&format!("netaudit_console={cookie}")),
            "",
        );
        assert!(status == 400 || status == 404, "{path}: {status} {body}");
        assert!(body.contains("<!DOCTYPE html>"), "{path}: {body}");
    }
    browser.close().await;
}
