//! Outputs (admin, auditor): every syslog, file and RADIUS output with its
//! cursor and lag (as `GET /api/v1/outputs`) and its figures from
//! `/metrics` (connected, errors, resent ...); reloading the outputs from
//! the configuration file (admin; audited like the API's reload); below
//! them the NETCONF devices the collector connects to (`netconf_devices.rs`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::html;
use serde_json::Value;

use super::guard::see_other;
use super::layout::page;
use super::netconf_devices::netconf_devices_section;
use super::page_error::PageError;
use super::state::ConsoleState;
use super::viewer::{Viewer, CSRF_FIELD};
use crate::api::outputs::{output_list, reload_outputs};
use crate::api::principal::Principal;
use crate::auth::Role;

type St = State<Arc<ConsoleState>>;

/// `GET /outputs` (admin, auditor).
pub(super) async fn view(
    State(state): St,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(err) =
        super::guard::only_parameters(raw.as_deref(), &["added", "changed", "removed"])
    {
        return err.into_response();
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    // The reload's outcome, from its redirect: numbers only.
    let count = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let notice = count("added").map(|added| {
        format!(
            "Reloaded from the configuration file: {added} added, {} changed, {} removed.",
            count("changed").unwrap_or(0),
            count("removed").unwrap_or(0)
        )
    });
    outputs_page(&state, &viewer, StatusCode::OK, notice.as_deref(), None).await
}

async fn outputs_page(
    state: &ConsoleState,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let outputs = match output_list(&state.api).await {
        Ok(outputs) => outputs,
        Err(err) => return PageError::from(err).into_response(),
    };
    let metrics = state.api.metrics.render();
    let devices = state.api.metrics.netconf_status();
    let text = |v: &Value, key: &str| match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let body = html! {
        h1 { "Outputs" }
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        @if let Some(problem) = problem { p.message role="alert" { (problem) } }
        @if outputs.is_empty() {
            p.empty { "No output is configured ([[output.syslog]], [[output.file]], [[output.radius]] in the configuration file)." }
        } @else {
            table.events id="outputs" {
                thead { tr { th { "Output" } th { "Kind" } th { "Destination" } th { "Connected" } th { "Cursor" } th { "Lag (events)" } th { "Errors" } th { "Figures from /metrics" } } }
                tbody {
                    @for o in &outputs {
                        @let name = text(o, "name");
                        @let figures = figures_of(&metrics, &name);
                        @let figure = |short: &str| figures.iter().find(|(n, _)| n == short).map(|(_, v)| v.clone()).unwrap_or_default();
                        tr data-output=(name) {
                            td { (name) }
                            td { (text(o, "kind")) @if o.get("transport").is_some() { " / " (text(o, "transport")) } }
                            td { (text(o, "address")) (text(o, "dir")) (text(o, "servers")) }
                            td { @match (text(o, "kind") == "file", figure("connected").as_str()) { (true, _) => "n/a", (false, "1") => span.badge.ok { "yes" }, (false, "0") => span.badge.locked { "no" }, _ => "" } }
                            td { (text(o, "cursor")) }
                            td { (text(o, "lag")) }
                            td { (figure("errors_total")) }
                            td.figures { @for (n, v) in &figures { span.figure { (n) " " (v) } " " } }
                        }
                    }
                }
            }
        }
        @if viewer.role == Role::Admin {
            form method="post" action="/outputs/reload" {
                input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf);
                button id="reload" type="submit" { "Reload from the configuration file" }
            }
        }
        (netconf_devices_section(&devices))
    };
    (status, page("Outputs", viewer, "/outputs", body)).into_response()
}

/// The `/metrics` series of output `name`: (name without the
/// `netaudit_output_`/`netaudit_` prefix, value).
fn figures_of(metrics: &str, name: &str) -> Vec<(String, String)> {
    let label = format!("{{output=\"{name}\"}}");
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric = series.strip_suffix(label.as_str())?;
            let short = metric
                .strip_prefix("netaudit_output_")
                .or_else(|| metric.strip_prefix("netaudit_"))
                .unwrap_or(metric);
            Some((short.to_string(), value.to_string()))
        })
        .collect()
}

/// `POST /outputs/reload` (admin): as `POST /api/v1/outputs/reload`.
pub(super) async fn reload(State(state): St, Extension(viewer): Extension<Viewer>) -> Response {
    let actor = Principal {
        user: viewer.user.clone(),
        role: viewer.role,
        token: false,
        client: viewer.client.clone(),
        session: Some(viewer.session_key.clone()),
    };
    match reload_outputs(&state.api, &actor).await {
        Ok(summary) => {
            let n = |k: &str| summary.get(k).and_then(Value::as_array).map_or(0, Vec::len);
            see_other(&format!(
                "/outputs?added={}&changed={}&removed={}",
                n("added"),
                n("changed"),
                n("removed")
            ))
        }
        Err(err) => {
            let err = PageError::from(err);
            outputs_page(&state, &viewer, err.status, None, Some(&err.message)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::figures_of;

    #[test]
    fn figures_are_the_series_of_the_output() {
        let metrics = "# TYPE x counter\nnetaudit_output_errors_total{output=\"siem\"} 3\nnetaudit_output_errors_total{output=\"siem2\"} 9\nnetaudit_output_connected{output=\"siem\"} 1\n";
        assert_eq!(
            figures_of(metrics, "siem"),
            vec![
                ("errors_total".to_string(), "3".to_string()),
                ("connected".to_string(), "1".to_string())
            ]
        );
    }
}
