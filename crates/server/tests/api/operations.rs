//! Operations in-process: leaves reported by a reporter become catalog
//! events; the status is visible to an auditor.

use serde_json::json;

use crate::client::Fixture;

#[tokio::test(flavor = "multi_thread")]
async fn operation_leaves_become_catalog_events_and_monitor_status() {
    let f = Fixture::start("").await;
    let t = Some(f.token.as_str());
    let reply = f.post("/api/v1/operations",
        t,
        &json!({"name": "archive edge routers", "type": "archive", "devices": ["edge1", "edge2"], "user": "ops"}),
    ).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        f.post(
            "/api/v1/operations",
            t,
            &json!({"name": "x", "type": "dance", "devices": ["d"]})
        )
        .await
        .status,
        400
    );
    let path = "/api/v1/operations/archive%20edge%20routers/leaves/edge1";
    let reply = f
        .request(
            "PUT",
            path,
            t,
            Some(
                json!({"status": "success", "revision": "17"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["code"], "JUNOSCOPE_ARCHIVE_SUCCESS");
    assert_eq!(
        f.request(
            "PUT",
            path,
            t,
            Some(
                json!({"status": "success", "revision": "18"})
                    .to_string()
                    .as_bytes()
            )
        )
        .await
        .status,
        409
    );
    let reply = f
        .request(
            "PUT",
            "/api/v1/operations/archive%20edge%20routers/leaves/edge2",
            t,
            Some(
                json!({"status": "connection-error", "details": "timed out"})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        f.request(
            "PUT",
            "/api/v1/operations/archive%20edge%20routers/leaves/edge9",
            t,
            Some(json!({"status": "success"}).to_string().as_bytes())
        )
        .await
        .status,
        404
    );

    let ok = f.events_with_code("JUNOSCOPE_ARCHIVE_SUCCESS");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].device.as_deref(), Some("edge1"));
    assert_eq!(ok[0].operation.as_deref(), Some("archive edge routers"));
    assert_eq!(ok[0].param("revision"), Some("17"));
    assert_eq!(ok[0].param("username"), Some("ops"));
    assert!(ok[0].param("start-time").is_some() && ok[0].param("last-updated-time").is_some());
    assert_eq!(
        f.events_with_code("JUNOSCOPE_ARCHIVE_CONNECTION_ERROR")
            .len(),
        1
    );

    let auditor = f.login("alice").await;
    let status = f
        .request("GET", "/api/v1/operations", Some(&auditor), None)
        .await
        .json();
    let op = &status["operations"][0];
    assert_eq!(op["name"], "archive edge routers");
    assert_eq!(op["leaves"][0]["status"], "success");
    assert_eq!(op["leaves"][1]["status"], "connection-error");
    f.close().await;
}
