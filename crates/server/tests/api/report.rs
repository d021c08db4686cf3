//! `GET /api/v1/report/ndcpp` in-process: an auditor gets the coverage
//! report of netaudit's own login events as JSON or HTML; bad parameters
//! get a 400, a reporter a 403.

use serde_json::json;

use crate::client::Fixture;

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_gets_the_ndcpp_report_as_json_and_html() {
    let f = Fixture::start("").await;
    // A failed and a successful login: JUNOSCOPE_LOGIN_FAILURE and _SUCCESSFUL.
    let failed = f
        .post(
            "/api/v1/login",
            None,
            &json!({"username": "alice", "password": "wrong password here"}),
        )
        .await;
    assert_eq!(failed.status, 401);
    let auditor = f.login("alice").await;
    let t = Some(auditor.as_str());

    let reply = f.request("GET", "/api/v1/report/ndcpp", t, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let report = reply.json();
    let uia = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "FIA_UIA_EXT.1")
        .unwrap()
        .clone();
    assert_eq!(uia["status"], "covered", "{uia}");
    assert!(uia["count"].as_u64().unwrap() >= 2, "{uia}");
    assert_eq!(uia["hosts"][0]["checks"][0]["present"], true, "user: {uia}");

    let reply = f
        .request("GET", "/api/v1/report/ndcpp?format=html&since=1h", t, None)
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(reply.body.starts_with("<!DOCTYPE html>") && reply.body.contains("FIA_UIA_EXT.1"));

    for bad in [
        "/api/v1/report/ndcpp?format=docx",
        "/api/v1/report/ndcpp?since=yesterday-ish",
        "/api/v1/report/ndcpp?colour=red",
    ] {
        let reply = f.request("GET", bad, t, None).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    let reporter = f
        .request("GET", "/api/v1/report/ndcpp", Some(&f.token), None)
        .await;
    assert_eq!(reporter.status, 403);
    f.close().await;
}
