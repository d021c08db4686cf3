//! The Events search on a PostgreSQL store (docs/cluster.md): every node's
//! events in the global order, with the node shown, paged by page keys
//! (`page=RECEIVED_NS.SEQ.NODE`, a page's "next") and `node=` to keep one
//! node's; an event is (node, sequence): its detail is
//! `/events/SEQ?node=NODE`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use netaudit_pgstore::{GlobalKey, GlobalPage, GlobalQuery, GlobalReader, NodeEvent};

use super::events::{cell, search_form, severity_class};
use super::layout::page;
use super::page_error::PageError;
use super::search::{Column, Search};
use super::state::ConsoleState;
use super::viewer::Viewer;
use crate::api::error::ApiError;

/// `GET /events` (auditor): on a PostgreSQL store here, on the embedded
/// store `events::search`.
pub(super) async fn search_route(
    State(state): State<Arc<ConsoleState>>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Response {
    match state.api.cluster() {
        Some(reader) => search(reader, &viewer, raw.as_deref()).await,
        None => super::events::search(State(state), Extension(viewer), RawQuery(raw)).await,
    }
}

/// `GET /events` on a node: the form and one page of every node's events.
async fn search(reader: Arc<GlobalReader>, viewer: &Viewer, raw: Option<&str>) -> Response {
    let mut problems = Vec::new();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let (ours, rest): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| k == "page" || k == "node");
    let value = |name: &str| {
        ours.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (node, page_key) = (value("node"), value("page"));
    let rest = serde_urlencoded::to_string(&rest).unwrap_or_default();
    let (mut search, more) = Search::parse(Some(&rest));
    problems.extend(more);
    if search.from.is_some() {
        problems.push("from: pages here are page keys (page=), as the Next link gives them".into());
        search.from = None;
    }
    let after = match page_key.as_deref().map(str::parse::<GlobalKey>).transpose() {
        Ok(after) => after,
        Err(e) => {
            problems.push(format!("page: {e}"));
            None
        }
    };
    if let Some(n) = &node {
        if let Err(e) = netaudit_pgstore::check_node_id(n) {
            problems.push(format!("node: {e}"));
        }
    }
    let mut found: Option<GlobalPage> = None;
    if problems.is_empty() {
        match search.to_query() {
            Ok(filter) => match read(reader, filter, node.clone(), after).await {
                Ok(page) => found = Some(page),
                Err(e) => problems.push(PageError::from(e).message),
            },
            Err(problem) => problems.push(problem),
        }
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = html! {
        h1 { "Events" }
        p.count { "Every node's events, in the global order (received time, node, sequence)." }
        (search_form(&search))
        @if !problems.is_empty() {
            ul.problems role="alert" { @for problem in &problems { li { (problem) } } }
        }
        @if let Some(found) = &found {
            (results(&search, node.as_deref(), found))
        }
    };
    (status, page("Events", viewer, "/events", body)).into_response()
}

async fn read(
    reader: Arc<GlobalReader>,
    filter: netaudit_store::Query,
    node: Option<String>,
    after: Option<GlobalKey>,
) -> Result<GlobalPage, ApiError> {
    crate::api::global_events::check_filter(&filter)?;
    let query = GlobalQuery {
        filter,
        node,
        after,
        upto: None,
    };
    tokio::task::spawn_blocking(move || reader.query(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::hiding(
                StatusCode::SERVICE_UNAVAILABLE,
                "search: the PostgreSQL store could not run it (see the server log)",
                e,
            )
        })
}

/// A search's URL with `node` and `page` added.
fn url(search: &Search, node: Option<&str>, page: Option<&GlobalKey>) -> String {
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(node) = node {
        extra.push(("node", node.to_string()));
    }
    if let Some(page) = page {
        extra.push(("page", page.to_string()));
    }
    let base = search.query_string(None);
    let extra = serde_urlencoded::to_string(&extra).unwrap_or_default();
    match (base.is_empty(), extra.is_empty()) {
        (_, true) => base,
        (true, false) => extra,
        (false, false) => format!("{base}&{extra}"),
    }
}

fn results(search: &Search, node: Option<&str>, found: &GlobalPage) -> Markup {
    let here = url(search, node, None);
    let export = |format: &str| {
        if here.is_empty() {
            format!("/events/export?format={format}")
        } else {
            format!("/events/export?{here}&format={format}")
        }
    };
    html! {
        div.bar {
            span.count { (found.events.len()) " events on this page" }
            span.links {
                a href={ "/events?" (here) } { "First page" }
                @if let Some(next) = &found.next {
                    a id="next-page" href={ "/events?" (url(search, node, Some(next))) } {
                        @if search.newest_first { "Older →" } @else { "Newer →" }
                    }
                }
                a href=(export("json")) { "Export JSON lines" }
                a href=(export("standard")) { "Export syslog" }
            }
        }
        @if found.events.is_empty() {
            p.empty { "No event matches this search." }
        } @else {
            table.events id="results" {
                thead { tr { th { "Node" } @for c in &search.columns { th { (c.label()) } } } }
                tbody {
                    @for e in &found.events {
                        tr data-node=(e.node) data-seq=(e.event.seq) class=(severity_class(&e.event)) {
                            td.node { (e.node) }
                            @for c in &search.columns { td class=(c.key()) { (node_cell(e, *c)) } }
                        }
                    }
                }
            }
        }
    }
}

/// A cell; the sequence number links to the event's detail on its node.
fn node_cell(e: &NodeEvent, column: Column) -> Markup {
    match column {
        Column::Seq => {
            let href = format!(
                "/events/{}?{}",
                e.event.seq,
                serde_urlencoded::to_string([("node", e.node.as_str())]).unwrap_or_default()
            );
            html! { a href=(href) { (e.event.seq) } }
        }
        other => cell(&e.event, other),
    }
}
