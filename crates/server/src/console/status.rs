//! Monitor > Status (admin, auditor): every operation (archive, inventory
//! scan, restore) with its leaves and their final statuses, filtered by
//! type, status and name, reloaded by the browser every few seconds.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use serde_json::Value;

use super::layout::page_refreshed;
use super::page_error::PageError;
use super::state::ConsoleState;
use super::viewer::Viewer;
use crate::api::operations::operation_list;

type St = State<Arc<ConsoleState>>;

/// Seconds between reloads of the page.
const REFRESH_SECS: u64 = 5;
const TYPES: [&str; 3] = ["archive", "scan", "restore"];
/// Leaf statuses, and `running` for a leaf without one yet.
const STATUSES: [&str; 6] = [
    "running",
    "success",
    "no-change",
    "connection-error",
    "no-access-information",
    "system-error",
];

/// `GET /status?type=&status=&name=` (admin, auditor).
pub(super) async fn view(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let mut problems = Vec::new();
    let (mut kind, mut status, mut name) = (String::new(), String::new(), String::new());
    for (key, value) in pairs {
        match key.as_str() {
            "type" if value.is_empty() || TYPES.contains(&value.as_str()) => kind = value,
            "status" if value.is_empty() || STATUSES.contains(&value.as_str()) => status = value,
            "name" if value.len() <= 255 && !value.contains(char::is_control) => name = value,
            "type" | "status" | "name" => {
                problems.push(format!("{key}: not one of the choices offered"))
            }
            other => problems.push(format!("'{other}' is not a filter of this page")),
        }
    }
    let operations = match operation_list(&state.api).await {
        Ok(ops) => ops,
        Err(err) => return PageError::from(err).into_response(),
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let leaf_status = |leaf: &Value| {
        leaf.get("status")
            .and_then(Value::as_str)
            .unwrap_or("running")
            .to_string()
    };
    // Newest first; each operation with the leaves the filters keep.
    let shown: Vec<(&Value, Vec<&Value>)> = operations
        .iter()
        .rev()
        .filter(|op| kind.is_empty() || text(op, "type") == kind)
        .filter(|op| name.is_empty() || text(op, "name").contains(&name))
        .map(|op| {
            let leaves: Vec<&Value> = op
                .get("leaves")
                .and_then(Value::as_array)
                .map(|l| l.iter().collect())
                .unwrap_or_default();
            let kept: Vec<&Value> = leaves
                .into_iter()
                .filter(|leaf| status.is_empty() || leaf_status(leaf) == status)
                .filter(|leaf| {
                    name.is_empty()
                        || text(op, "name").contains(&name)
                        || text(leaf, "device").contains(&name)
                })
                .collect();
            (op, kept)
        })
        .filter(|(_, leaves)| status.is_empty() || !leaves.is_empty())
        .collect();
    let body = html! {
        h1 { "Monitor > Status" }
        form.search method="get" action="/status" {
            div.filters {
                label { span { "Type" } select name="type" {
                    option value="" selected[kind.is_empty()] { "any" }
                    @for t in TYPES { option value=(t) selected[kind == t] { (t) } }
                } }
                label { span { "Leaf status" } select name="status" {
                    option value="" selected[status.is_empty()] { "any" }
                    @for s in STATUSES { option value=(s) selected[status == s] { (s) } }
                } }
                label { span { "Operation or device" } input type="text" name="name" value=(name) maxlength="255"; }
            }
            div.actions { button type="submit" { "Filter" } a href="/status" { "Clear" } span.count { "reloads every " (REFRESH_SECS) " s" } }
        }
        @if !problems.is_empty() { ul.problems role="alert" { @for p in &problems { li { (p) } } } }
        @if shown.is_empty() {
            p.empty { "No operation matches." }
        }
        @for (op, leaves) in &shown {
            section.card.operation data-operation=(text(op, "name")) {
                h2 { (text(op, "name")) " " span.badge { (text(op, "type")) } }
                p.count { "by " (text(op, "user")) " · started " (text(op, "start_time")) " · last updated " (text(op, "last_updated_time")) }
                table.leaves {
                    thead { tr { th { "Device" } th { "Status" } th { "Details" } th { "Updated" } } }
                    tbody {
                        @for leaf in leaves {
                            @let s = leaf_status(leaf);
                            tr {
                                td { (text(leaf, "device")) }
                                td { span class={ "badge leaf-" (status_class(&s)) } { (s) } }
                                td { (text(leaf, "details")) }
                                td { (text(leaf, "updated")) }
                            }
                        }
                    }
                }
            }
        }
    };
    let code = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        code,
        page_refreshed(
            "Monitor > Status",
            &viewer,
            "/status",
            body,
            Some(REFRESH_SECS),
        ),
    )
        .into_response()
}

/// A CSS class from a fixed set (never from stored data).
fn status_class(status: &str) -> &'static str {
    match status {
        "success" | "no-change" => "ok",
        "running" => "running",
        _ => "failed",
    }
}
