//! Event submission and queries in-process: bad bodies and query strings
//! get a clear 4xx and store nothing, the stream delivers new events, the
//! operation filter finds one operation's events, a hundred thousand events
//! in batches lose none.

use std::time::{Duration, Instant};

use axum::http::header;
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::client::{archive_success, build, post, Fixture};
use crate::support::stored_events;

#[tokio::test(flavor = "multi_thread")]
async fn bad_submissions_get_a_clear_4xx_and_nothing_is_stored() {
    let f = Fixture::start("body_limit_bytes = 65536\n").await;
    let t = Some(f.token.as_str());
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "invalid JSON"),
        (json!({"code": "JUNOSCOPE_NOPE"}).to_string().into_bytes(), 400, "unknown catalog code 'JUNOSCOPE_NOPE'"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": "x"}}).to_string().into_bytes(), 400, "missing variable(s) client-address"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": "x", "client-address": "y", "extra": "z"}}).to_string().into_bytes(), 400, "no variable 'extra'"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": "x", "client-address": "y"}, "colour": 1}).to_string().into_bytes(), 400, "unknown field `colour`"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": 5, "client-address": "y"}}).to_string().into_bytes(), 400, "variables.username"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": "x\nJUNOSCOPE_LOGIN_SUCCESSFUL", "client-address": "y"}}).to_string().into_bytes(), 400, "control character"),
        (json!({"code": "JUNOSCOPE_LOGOUT", "variables": {"username": "x".repeat(5000), "client-address": "y"}}).to_string().into_bytes(), 400, "at most 4096"),
        (json!([archive_success("ok1"), {"code": "JUNOSCOPE_LOGOUT"}]).to_string().into_bytes(), 400, "[1]: JUNOSCOPE_LOGOUT is missing"),
        (json!([]).to_string().into_bytes(), 400, "empty array"),
        (b"42".to_vec(), 400, "JSON object or an array"),
        (vec![b' '; 70_000], 413, ""),
    ];
    for (body, status, needle) in cases {
        let reply = f.request("POST", "/api/v1/events", t, Some(&body)).await;
        assert_eq!(
            reply.status,
            status,
            "{}: {}",
            String::from_utf8_lossy(&body[..body.len().min(80)]),
            reply.body
        );
        assert!(
            reply.body.contains(needle),
            "expected '{needle}' in {}",
            reply.body
        );
    }
    // Brackets and quotes are fine (the formatters escape them).
    let mut odd = archive_success("edge\"]x");
    odd["variables"]["revision"] = json!("r] \" \\ [x");
    let reply = f.post("/api/v1/events", t, &odd).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let stored = stored_events(&f.db);
    assert_eq!(
        stored
            .iter()
            .filter(|e| e.app.as_deref() == Some("netaudit-api")
                && e.code.as_deref() == Some("JUNOSCOPE_ARCHIVE_SUCCESS"))
            .count(),
        1
    );
    assert!(stored
        .iter()
        .all(|e| e.code.as_deref() != Some("JUNOSCOPE_LOGOUT")));
    // Bad query strings and bad login bodies are 400s too.
    let auditor = f.login("alice").await;
    for path in [
        "/api/v1/events?limit=0",
        "/api/v1/events?after_seq=x",
        "/api/v1/events?bogus=1",
        "/api/v1/events?severity=loud",
        "/api/v1/export?format=xml",
    ] {
        assert_eq!(
            f.request("GET", path, Some(&auditor), None).await.status,
            400,
            "{path}"
        );
    }
    let reply = f
        .post("/api/v1/login", None, &json!({"username": "alice"}))
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    f.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operation_filter_finds_the_events_of_one_operation() {
    let f = Fixture::start("").await;
    let auditor = f.login("alice").await;
    for (device, operation) in [
        ("edge1", "nightly"),
        ("edge2", "weekly"),
        ("edge3", "nightly"),
    ] {
        let mut event = archive_success(device);
        event["operation"] = json!(operation);
        let reply = f.post("/api/v1/events", Some(&f.token), &event).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let reply = f
        .request(
            "GET",
            "/api/v1/events?operation=nightly",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let page = reply.json();
    let devices: Vec<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["device"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(devices, ["edge1", "edge3"], "{page}");
    // Export takes the same filter; an operation no event has finds none.
    let reply = f
        .request(
            "GET",
            "/api/v1/export?operation=weekly",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.lines().count(), 1, "{}", reply.body);
    assert!(reply.body.contains("edge2"), "{}", reply.body);
    let reply = f
        .request(
            "GET",
            "/api/v1/events?operation=monthly",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.json()["events"].as_array().map(Vec::len), Some(0));
    // Too long a value is refused, naming the parameter.
    let long = "o".repeat(5000);
    let reply = f
        .request(
            "GET",
            &format!("/api/v1/events?operation={long}"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("operation"), "{}", reply.body);
    f.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_delivers_new_events() {
    let f = Fixture::start("").await;
    let auditor = f.login("alice").await;
    let response = f
        .router
        .clone()
        .oneshot(build(
            "GET",
            "/api/v1/events/stream?code=JUNOSCOPE_ARCHIVE_SUCCESS",
            Some(&auditor),
            None,
        ))
        .await
        .expect("the router is infallible");
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(content_type.contains("text/event-stream"), "{content_type}");
    let mut body = response.into_body();
    assert_eq!(
        f.post("/api/v1/events", Some(&f.token), &archive_success("edge7"))
            .await
            .status,
        201
    );
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("edge7") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen.push_str(&String::from_utf8_lossy(data));
                }
            }
            Ok(Some(Err(_))) | Ok(None) | Err(_) => break,
        }
    }
    assert!(
        seen.contains("event: event") && seen.contains("edge7"),
        "{seen}"
    );
    drop(body);
    f.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_thousand_events_through_the_batch_endpoint_lose_none() {
    let f = Fixture::start("").await;
    let token = f.token.clone();
    let batches = 100;
    let per_batch = 1000;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let token = token.clone();
            let router = f.router.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for b in (w..batches).step_by(4) {
                    let events: Vec<Value> = (0..per_batch)
                        .map(|i| archive_success(&format!("dev-{b}-{i}")))
                        .collect();
                    let reply = post(
                        &router,
                        "/api/v1/events",
                        Some(&token),
                        &Value::Array(events),
                    )
                    .await;
                    assert_eq!(reply.status, 201, "{}", reply.body);
                    let got: Vec<u64> = reply.json()["seqs"]
                        .as_array()
                        .expect("seqs")
                        .iter()
                        .filter_map(Value::as_u64)
                        .collect();
                    assert_eq!(got.len(), per_batch);
                    seqs.extend(got);
                }
                seqs
            })
        })
        .collect();
    let mut seqs: Vec<u64> = Vec::new();
    for worker in workers {
        seqs.extend(worker.await.expect("worker"));
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), batches * per_batch);
    let stored = f.events_with_code("JUNOSCOPE_ARCHIVE_SUCCESS");
    assert_eq!(stored.len(), batches * per_batch);
    let mut devices: Vec<&str> = stored.iter().filter_map(|e| e.device.as_deref()).collect();
    devices.sort_unstable();
    devices.dedup();
    assert_eq!(devices.len(), batches * per_batch);
    f.close().await;
}
