//! `GET /api/v1/report/ndcpp` (auditor): the NDcPP audit coverage report of
//! `netaudit report ndcpp` (docs/report.md) as JSON, HTML or PDF; on a
//! PostgreSQL store over every node's events.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::ApiError;
use super::state::ApiState;
use crate::display::{now_ns, parse_time};
use crate::report::source::{ClusterPages, EmbeddedPages};
use crate::report::{self, pdf, render, Period};
use netaudit_pgstore::GlobalQuery;

/// The Chromium that prints the PDF (Debian's `chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// Longest host name accepted as a filter.
const HOST_MAX: usize = 255;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportParams {
    since: Option<String>,
    until: Option<String>,
    host: Option<String>,
    /// `json` (default), `html` or `pdf`.
    format: Option<String>,
}

/// `-1h` as docs/api.md writes it is `1h` (before now).
fn relative(text: &str) -> &str {
    match text.trim().strip_prefix('-') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    }
}

pub(super) async fn ndcpp(
    State(state): State<Arc<ApiState>>,
    q: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) =
        q.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    let now = now_ns();
    let time = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|s| {
                parse_time(relative(s), now)
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
            })
            .transpose()
    };
    if params.host.as_ref().is_some_and(|h| h.len() > HOST_MAX) {
        return Err(ApiError::bad_request(format!(
            "host: at most {HOST_MAX} bytes"
        )));
    }
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "html" | "pdf") {
        return Err(ApiError::bad_request("format: json, html or pdf"));
    }
    let period = Period {
        since_ns: time("since", &params.since)?,
        until_ns: time("until", &params.until)?,
        host: params.host,
    };
    let (info, rows) = match state.cluster() {
        // Every node's events, up to each node's head when the report began.
        Some(reader) => tokio::task::spawn_blocking(move || {
            let upto = reader.heads()?.into_iter().collect();
            let query = |q: &GlobalQuery| reader.query(q);
            report::ndcpp(&period, ClusterPages { upto, query })
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "report: the PostgreSQL store could not be read (see the server log)",
                e,
            )
        })?,
        None => {
            let store = state.store()?;
            tokio::task::spawn_blocking(move || {
                report::ndcpp(
                    &period,
                    EmbeddedPages(|q: &netaudit_store::Query| store.query(q)),
                )
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
        }
    };
    match format {
        "html" => Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render::html(&info, &rows),
        )
            .into_response()),
        "pdf" => {
            let html = render::html(&info, &rows);
            let pdf = tokio::task::spawn_blocking(move || {
                let dir = tempfile::tempdir()?;
                let out = dir.path().join("report.pdf");
                pdf::print(std::path::Path::new(CHROMIUM), &html, &out)?;
                Ok::<_, anyhow::Error>(std::fs::read(&out)?)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| {
                ApiError::hiding(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the PDF could not be printed (see the server log)",
                    e,
                )
            })?;
            Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
        }
        _ => Ok(Json(render::json(&info, &rows)).into_response()),
    }
}
