//! Event submission (applications) and examination (auditors): query,
//! live stream (server-sent events), verify, export.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use netaudit_event::{catalog, Event, EventContext, Severity};
use netaudit_store::{Order, Query as StoreQuery, StoreError};
use serde::Deserialize;

use super::error::ApiError;
use super::input::{check_text, parse_json, VALUE_MAX};
use super::principal::Principal;
use super::state::ApiState;
use crate::display::{json_of, now_ns, parse_time, verify_report_json, write_events, EventFormat};
use crate::self_events::{API_APP, NETAUDIT_SD_ID};

type St = State<Arc<ApiState>>;

/// The most events one request may submit.
pub(super) const SUBMIT_MAX_EVENTS: usize = 50_000;

/// One event as an application submits it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Submission {
    /// Catalog code or alias, e.g. `JUNOSCOPE_ARCHIVE_SUCCESS`.
    pub code: String,
    /// Every variable of the catalog entry, by name; nothing else.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// The acting user (default: the entry's `username` variable).
    pub user: Option<String>,
    /// The acting user's address (default: the `client-address` variable).
    pub client_address: Option<String>,
    pub device: Option<String>,
    pub operation: Option<String>,
    /// When it happened, RFC 3339 (default: now).
    pub time: Option<String>,
    /// The reporting host (HOSTNAME of the syslog line).
    pub host: Option<String>,
}

/// Validates one submission against the catalog and builds its event.
pub(super) fn to_event(s: Submission, received_ns: i64) -> Result<Event, ApiError> {
    check_text("code", &s.code, 64)?;
    let entry = catalog()
        .lookup(&s.code)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    for (name, value) in &s.variables {
        check_text(&format!("variables.{name}"), value, VALUE_MAX)?;
    }
    for (field, value) in [
        ("user", &s.user),
        ("client_address", &s.client_address),
        ("device", &s.device),
        ("operation", &s.operation),
        ("host", &s.host),
    ] {
        if let Some(value) = value {
            check_text(field, value, 255)?;
            if value.is_empty() {
                return Err(ApiError::bad_request(format!("{field}: empty")));
            }
        }
    }
    if let Some(host) = &s.host {
        if host.contains(' ') {
            return Err(ApiError::bad_request(
                "host: no spaces allowed (it is a syslog HOSTNAME)",
            ));
        }
    }
    let time_ns = match &s.time {
        Some(text) => Some(
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .map_err(|e| ApiError::bad_request(format!("time: '{text}' is not RFC 3339: {e}")))
                .and_then(|t| {
                    i64::try_from(t.unix_timestamp_nanos())
                        .map_err(|_| ApiError::bad_request("time: out of range"))
                })?,
        ),
        None => Some(received_ns),
    };
    let vars: Vec<(&str, &str)> = s
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let rendered = entry
        .render(&vars)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let ctx = EventContext {
        time_ns,
        host: s.host.clone(),
        app: Some(API_APP.to_string()),
        received_ns,
        ..EventContext::default()
    };
    let mut event = rendered.into_event(&ctx);
    if s.user.is_some() {
        event.user = s.user.map(Into::into);
    }
    if s.client_address.is_some() {
        event.client_addr = s.client_address.map(Into::into);
    }
    if s.device.is_some() {
        event.device = s.device.map(Into::into);
    }
    if s.operation.is_some() {
        event.operation = s.operation.map(Into::into);
    }
    Ok(event)
}

/// `POST /api/v1/events`: one object or an array; 201 `{"seqs": [...]}`
/// once committed.
pub(super) async fn submit(
    State(state): St,
    principal: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let received = now_ns();
    let events = match first {
        Some(b'[') => {
            let submissions: Vec<Submission> = parse_json(&body)?;
            if submissions.is_empty() {
                return Err(ApiError::bad_request("empty array: nothing to submit"));
            }
            if submissions.len() > SUBMIT_MAX_EVENTS {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{} events in one request; at most {SUBMIT_MAX_EVENTS}",
                        submissions.len()
                    ),
                ));
            }
            let mut events = Vec::with_capacity(submissions.len());
            for (i, s) in submissions.into_iter().enumerate() {
                events.push(to_event(s, received).map_err(|e| e.prefixed(&format!("[{i}]: ")))?);
            }
            events
        }
        Some(b'{') => vec![to_event(parse_json(&body)?, received)?],
        _ => {
            return Err(ApiError::bad_request(
                "body must be a JSON object or an array of objects",
            ))
        }
    };
    // Provenance: which credential submitted the event, from where.
    let mut events = events;
    for event in &mut events {
        for (name, value) in [
            ("submitted-by", &principal.user),
            ("submitted-from", &principal.client),
        ] {
            event.params.push(netaudit_event::Param {
                sd_id: NETAUDIT_SD_ID.into(),
                name: name.into(),
                value: value.as_str().into(),
            });
        }
    }
    let seqs = state.commit(events).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "seqs": seqs })),
    )
        .into_response())
}

/// The filters of `netaudit query`, as query-string parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filters {
    pub since: Option<String>,
    pub until: Option<String>,
    pub code: Option<String>,
    pub severity: Option<String>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub device: Option<String>,
    pub operation: Option<String>,
    pub text: Option<String>,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    #[serde(default)]
    pub reverse: bool,
    pub limit: Option<usize>,
    /// Export only: `json` (default) or `standard`.
    pub format: Option<String>,
    /// PostgreSQL store only: this node's events.
    pub node: Option<String>,
    /// PostgreSQL store only: the page after this key (a page's `next`).
    pub page: Option<String>,
}

/// The largest page.
pub(crate) const PAGE_MAX: usize = 1000;

/// `-1h` as docs/api.md writes it is `1h` (before now).
fn relative(text: &str) -> &str {
    match text.trim().strip_prefix('-') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    }
}

pub(crate) fn to_store_query(f: &Filters, default_limit: usize) -> Result<StoreQuery, ApiError> {
    let now = now_ns();
    let time = |name: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                parse_time(relative(s), now)
                    .map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
            })
            .transpose()
    };
    let min_severity = f
        .severity
        .as_deref()
        .map(|s| {
            s.parse::<Severity>()
                .map_err(|e| ApiError::bad_request(format!("severity: {e}")))
        })
        .transpose()?;
    let limit = f.limit.unwrap_or(default_limit);
    if limit == 0 || limit > PAGE_MAX {
        return Err(ApiError::bad_request(format!("limit: 1 to {PAGE_MAX}")));
    }
    for (name, value) in [
        ("code", &f.code),
        ("user", &f.user),
        ("host", &f.host),
        ("device", &f.device),
        ("operation", &f.operation),
        ("text", &f.text),
    ] {
        if let Some(value) = value {
            check_text(name, value, VALUE_MAX)?;
        }
    }
    Ok(StoreQuery {
        since_ns: time("since", &f.since)?,
        until_ns: time("until", &f.until)?,
        code: f.code.clone(),
        min_severity,
        user: f.user.clone(),
        host: f.host.clone(),
        device: f.device.clone(),
        operation: f.operation.clone(),
        text: f.text.clone(),
        after_seq: f.after_seq,
        before_seq: f.before_seq,
        order: if f.reverse {
            Order::Descending
        } else {
            Order::Ascending
        },
        limit,
    })
}

/// `node` and `page` belong to the query of a PostgreSQL store: refused by
/// the stream and the export rather than ignored.
fn only_query_pages(f: &Filters) -> Result<(), ApiError> {
    if f.node.is_some() || f.page.is_some() {
        return Err(ApiError::bad_request(
            "node and page are parameters of GET /api/v1/events on a PostgreSQL store",
        ));
    }
    Ok(())
}

fn filters(q: Result<Query<Filters>, QueryRejection>) -> Result<Filters, ApiError> {
    q.map(|Query(f)| f)
        .map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))
}

pub(crate) async fn run_query(
    state: &ApiState,
    query: StoreQuery,
) -> Result<netaudit_store::Page, ApiError> {
    let store = state.store()?;
    tokio::task::spawn_blocking(move || store.query(&query))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| match e {
            // The client's own filters: safe and useful to show.
            StoreError::ZeroLimit | StoreError::OutOfRange { .. } => {
                ApiError::bad_request(format!("query: {e}"))
            }
            _ => ApiError::hiding(
                StatusCode::BAD_REQUEST,
                "query: the store could not run it (see the server log)",
                e,
            ),
        })
}

/// `GET /api/v1/events` (auditor): one page, `next` continues it.
pub(super) async fn query(
    State(state): St,
    q: Result<Query<Filters>, QueryRejection>,
) -> Result<Response, ApiError> {
    let f = filters(q)?;
    if let Some(reader) = state.cluster() {
        let filter = to_store_query(&f, 100)?;
        return super::global_events::query(reader, filter, f.node, f.page).await;
    }
    if f.node.is_some() || f.page.is_some() {
        return Err(ApiError::bad_request(
            "node and page are for a PostgreSQL store; this server runs on the embedded store (after_seq, before_seq)",
        ));
    }
    let page = run_query(&state, to_store_query(&f, 100)?).await?;
    let events: Vec<serde_json::Value> = page.events.iter().map(json_of).collect();
    Ok(Json(serde_json::json!({ "events": events, "next": page.next })).into_response())
}

/// `GET /api/v1/events/stream` (auditor): server-sent events, one `event`
/// per stored event (id = sequence number), from `after_seq` or from now.
pub(super) async fn stream(
    State(state): St,
    principal: Principal,
    headers: HeaderMap,
    q: Result<Query<Filters>, QueryRejection>,
) -> Result<Response, ApiError> {
    let f = filters(q)?;
    only_query_pages(&f)?;
    let query = to_store_query(&f, PAGE_MAX)?;
    event_stream(&state, &headers, query, principal.session)
}

/// The server-sent events of `query` (one `event` per stored event, id =
/// sequence number), from the `Last-Event-ID` header, else from the
/// query's `after_seq`, else from now; the API's stream and the console's
/// live tail.
///
/// With `session` (the key of the caller's login session) the stream ends
/// once that session does: logout, idle timeout, a lock or a password
/// change stop it as they stop every other request.
pub(crate) fn event_stream(
    state: &Arc<ApiState>,
    headers: &HeaderMap,
    mut query: StoreQuery,
    session: Option<String>,
) -> Result<Response, ApiError> {
    if let Some(reader) = state.cluster() {
        super::global_events::check_filter(&query)?;
        let resume = super::global_events::resume_position(headers)?;
        let owner = Arc::downgrade(state);
        let alive = move || match &session {
            Some(key) => owner.upgrade().is_some_and(|s| s.sessions.is_open(key)),
            None => true,
        };
        return Ok(super::global_events::stream(
            reader,
            state.metrics.clone(),
            query,
            resume,
            alive,
        ));
    }
    let store = state.store()?;
    // Last-Event-ID resumes a dropped stream.
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    query.after_seq = Some(
        resume
            .or(query.after_seq)
            .unwrap_or_else(|| store.last_seq()),
    );
    query.order = Order::Ascending;
    let metrics = state.metrics.clone();
    let start = (query, VecDeque::<netaudit_store::StoredEvent>::new());
    let owner = Arc::downgrade(state);
    let events = futures::stream::unfold(start, move |(mut query, mut buffer)| {
        let store = store.clone();
        let metrics = metrics.clone();
        let owner = owner.clone();
        let session = session.clone();
        async move {
            loop {
                if let Some(key) = &session {
                    match owner.upgrade() {
                        Some(state) if state.sessions.is_open(key) => {}
                        _ => return None,
                    }
                }
                if let Some(e) = buffer.pop_front() {
                    let data = json_of(&e).to_string();
                    let event = SseEvent::default()
                        .id(e.seq.to_string())
                        .event("event")
                        .data(data);
                    return Some((Ok::<_, Infallible>(event), (query, buffer)));
                }
                let q = query.clone();
                let s = store.clone();
                let page = tokio::task::spawn_blocking(move || s.query(&q)).await;
                match page {
                    Ok(Ok(page)) if !page.events.is_empty() => {
                        if let Some(last) = page.events.last() {
                            query.after_seq = Some(last.seq);
                        }
                        buffer.extend(page.events);
                    }
                    Ok(Ok(_)) => {
                        // Woken by a commit, or polled once a second.
                        let _ = tokio::time::timeout(
                            Duration::from_secs(1),
                            metrics.committed.notified(),
                        )
                        .await;
                    }
                    _ => return None,
                }
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `GET /api/v1/verify` (auditor): the chain walk of `netaudit verify`.
pub(super) async fn verify(State(state): St) -> Result<Response, ApiError> {
    Ok(Json(verify_report(&state).await?).into_response())
}

/// The chain walk of `netaudit verify` with the local verify key, as the
/// JSON `GET /api/v1/verify` answers (the console's Integrity page too);
/// on PostgreSQL every node's, reported per node.
pub(crate) async fn verify_report(state: &ApiState) -> Result<serde_json::Value, ApiError> {
    if let Some(reader) = state.cluster() {
        return super::node_verify::report(reader, state.verify_key_folders()).await;
    }
    let store = state.store()?;
    let config = store.config().clone();
    let report = tokio::task::spawn_blocking(move || {
        let key = netaudit_store::read_local_verify_key(&config)?;
        let live = Some(config.key_path()).filter(|p| std::fs::File::open(p).is_ok());
        netaudit_store::verify(&config.path, &key, live.as_deref())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        // The cause names the store's files: logged, not sent.
        ApiError::hiding(
            StatusCode::CONFLICT,
            "cannot verify here: the store or its verify key cannot be read (the verify key may have been exported and erased; run `netaudit verify --key FILE`)",
            e,
        )
    })?;
    Ok(verify_report_json(&report, report.ok()))
}

/// `GET /api/v1/export` (auditor): every matching event up to the last one
/// stored when the request came, streamed as JSON lines or standard syslog.
pub(super) async fn export(
    State(state): St,
    q: Result<Query<Filters>, QueryRejection>,
) -> Result<Response, ApiError> {
    let f = filters(q)?;
    if state.cluster().is_none() {
        only_query_pages(&f)?;
    } else if f.page.is_some() {
        return Err(ApiError::bad_request(
            "page is a parameter of GET /api/v1/events; an export reads every page",
        ));
    }
    let (format, content_type) = match f.format.as_deref() {
        None | Some("json") => (EventFormat::Json, "application/x-ndjson"),
        Some("standard") => (EventFormat::Standard, "text/plain; charset=utf-8"),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format: '{other}' (expected json or standard)"
            )))
        }
    };
    let query = to_store_query(&f, PAGE_MAX)?;
    if let Some(reader) = state.cluster() {
        return super::global_events::export(reader, query, f.node, format, content_type).await;
    }
    export_stream(&state, query, format, content_type)
}

/// Every event of `query` up to the last one stored now, streamed in
/// `format` with `content_type`: the API's export and the console's.
pub(crate) fn export_stream(
    state: &ApiState,
    mut query: StoreQuery,
    format: EventFormat,
    content_type: &'static str,
) -> Result<Response, ApiError> {
    let store = state.store()?;
    let end = store.last_seq();
    query.order = Order::Ascending;
    query.before_seq = Some(
        query
            .before_seq
            .map_or(end.saturating_add(1), |b| b.min(end.saturating_add(1))),
    );
    let chunks = futures::stream::unfold(Some(query), move |query| {
        let store = store.clone();
        async move {
            let query = query?;
            let q = query.clone();
            let page = tokio::task::spawn_blocking(move || store.query(&q)).await;
            let page = match page {
                Ok(Ok(page)) => page,
                // The body is cut short; the client sees an aborted
                // transfer, the cause goes to the log only.
                Ok(Err(e)) => {
                    tracing::error!(route = "/api/v1/export", cause = %e, "export stopped");
                    return Some((Err(std::io::Error::other("export stopped")), None));
                }
                Err(e) => {
                    tracing::error!(route = "/api/v1/export", cause = %e, "export stopped");
                    return Some((Err(std::io::Error::other("export stopped")), None));
                }
            };
            if page.events.is_empty() {
                return None;
            }
            let mut out = Vec::with_capacity(page.events.len() * 300);
            if let Err(e) = write_events(&mut out, &page.events, format, false) {
                return Some((Err(e), None));
            }
            let next = page.next.map(|next| StoreQuery {
                after_seq: Some(next),
                ..query
            });
            Some((Ok(Bytes::from(out)), next))
        }
    });
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(chunks),
    )
        .into_response())
}
