//! Operations (archive, scan, restore) and the final status of each leaf
//! (device): the Monitor > Status view. Each final leaf status becomes the
//! matching catalog event.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;

use super::error::ApiError;
use super::input::{check_text, parse_json, VALUE_MAX};
use super::principal::Principal;
use super::state::{commit_was_queued, ApiState};
use crate::auth::now_ns;
use crate::display::format_ns;

type St = State<Arc<ApiState>>;

/// Operation types whose leaves are devices, and their catalog prefix.
const TYPES: &[(&str, &str)] = &[
    ("archive", "JUNOSCOPE_ARCHIVE_"),
    ("scan", "JUNOSCOPE_SCAN_"),
    ("restore", "JUNOSCOPE_RESTORE_"),
];

/// Final leaf statuses and their code suffix.
const STATUSES: &[(&str, &str)] = &[
    ("success", "SUCCESS"),
    ("no-change", "NO_CHANGE"),
    ("connection-error", "CONNECTION_ERROR"),
    ("no-access-information", "NO_ACCESS_INFO_ERROR"),
    ("system-error", "SYSTEM_ERROR"),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateOperation {
    pub name: String,
    /// archive | scan | restore
    #[serde(rename = "type")]
    pub kind: String,
    pub devices: Vec<String>,
    /// The JUNOScope user who started it (default: the caller).
    pub user: Option<String>,
}

fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    check_text(field, value, 255)?;
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(format!("{field}: empty")));
    }
    Ok(())
}

/// `POST /api/v1/operations` (reporter): 201.
pub(super) async fn create(
    State(state): St,
    principal: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let op: CreateOperation = parse_json(&body)?;
    check_name("name", &op.name)?;
    if !TYPES.iter().any(|(t, _)| *t == op.kind) {
        return Err(ApiError::bad_request(format!(
            "type: '{}' (expected archive, scan or restore)",
            op.kind.chars().take(64).collect::<String>()
        )));
    }
    if op.devices.is_empty() || op.devices.len() > 10_000 {
        return Err(ApiError::bad_request("devices: 1 to 10000 device names"));
    }
    for (i, d) in op.devices.iter().enumerate() {
        check_name(&format!("devices[{i}]"), d)?;
    }
    let user = op.user.clone().unwrap_or_else(|| principal.user.clone());
    check_name("user", &user)?;
    let now = now_ns();
    let created = {
        let (op, user, client) = (
            CreateOperation {
                name: op.name.clone(),
                kind: op.kind.clone(),
                devices: op.devices.clone(),
                user: None,
            },
            user.clone(),
            principal.client.clone(),
        );
        state
            .db(move |auth| {
                auth.with_write_tx(|tx| {
                    let inserted = tx.execute(
                        "INSERT OR IGNORE INTO operations (name, type, user, client_addr, started_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        params![op.name, op.kind, user, client, now],
                    )?;
                    if inserted == 0 {
                        return Ok(false);
                    }
                    for device in &op.devices {
                        tx.execute(
                            "INSERT OR IGNORE INTO leaves (operation, device) VALUES (?1, ?2)",
                            params![op.name, device],
                        )?;
                    }
                    Ok(true)
                })
            })
            .await?
    };
    if !created {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("operation '{}' exists", op.name),
        ));
    }
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "name": op.name, "type": op.kind, "user": user, "devices": op.devices }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeafReport {
    /// success | no-change | connection-error | no-access-information | system-error
    pub status: String,
    /// The archived revision (archive success).
    pub revision: Option<String>,
    pub details: Option<String>,
}

/// `PUT /api/v1/operations/{name}/leaves/{device}` (reporter): records the
/// leaf's final status and stores its catalog event; 200 with its seq.
pub(super) async fn report_leaf(
    State(state): St,
    Path((name, device)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let report: LeafReport = parse_json(&body)?;
    check_name("name", &name)?;
    check_name("device", &device)?;
    if let Some(d) = &report.details {
        check_text("details", d, VALUE_MAX)?;
    }
    if let Some(r) = &report.revision {
        check_name("revision", r)?;
    }
    let Some((_, suffix)) = STATUSES.iter().find(|(s, _)| *s == report.status) else {
        return Err(ApiError::bad_request(
            "status: expected success, no-change, connection-error, no-access-information or system-error",
        ));
    };
    let row = {
        let (name, device) = (name.clone(), device.clone());
        state
            .db(move |auth| {
                auth.with_conn(|conn| {
                    Ok(conn
                        .query_row(
                            "SELECT o.type, o.user, o.started_ns, l.status FROM operations o JOIN leaves l ON l.operation = o.name WHERE o.name = ?1 AND l.device = ?2",
                            params![name, device],
                            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?)),
                        )
                        .optional()?)
                })
            })
            .await?
    };
    let Some((kind, user, started_ns, previous)) = row else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no device '{device}' in operation '{name}'"),
        ));
    };
    if previous.is_some() {
        return Err(already_final(&name, &device));
    }
    let prefix = TYPES
        .iter()
        .find(|(t, _)| *t == kind)
        .map(|(_, p)| *p)
        .unwrap_or("JUNOSCOPE_ARCHIVE_");
    let code = format!("{prefix}{suffix}");
    let Some(entry) = netaudit_event::catalog().get(&code) else {
        return Err(ApiError::bad_request(format!(
            "status '{}' does not exist for {kind} operations",
            report.status
        )));
    };
    let now = now_ns();
    let start = format_ns(started_ns);
    let updated = format_ns(now);
    let mut vars: Vec<(&str, &str)> = vec![
        ("device-name", &device),
        ("operation-name", &name),
        ("operation-type", &kind),
        ("username", &user),
        ("start-time", &start),
        ("last-updated-time", &updated),
    ];
    let needs_revision = entry.variables.iter().any(|v| v.name == "revision");
    let revision = report.revision.clone().unwrap_or_default();
    if needs_revision {
        if revision.is_empty() {
            return Err(ApiError::bad_request(format!(
                "revision: required for {code}"
            )));
        }
        vars.push(("revision", &revision));
    } else if report.revision.is_some() {
        return Err(ApiError::bad_request(format!(
            "revision: {code} has no revision"
        )));
    }
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if let Some(d) = &report.details {
        extra.push(("details", d));
    }
    // Claim the leaf first (check-and-set in one statement under the write
    // lock): of concurrent reports exactly one gets here, the rest 409.
    let claimed = {
        let (name, device) = (name.clone(), device.clone());
        let (status, details) = (report.status.clone(), report.details.clone());
        state
            .db(move |auth| {
                auth.with_write_tx(|tx| {
                    let claimed = tx.execute(
                        "UPDATE leaves SET status = ?3, detail = ?4, updated_ns = ?5 WHERE operation = ?1 AND device = ?2 AND status IS NULL",
                        params![name, device, status, details, now],
                    )?;
                    if claimed == 1 {
                        tx.execute(
                            "UPDATE operations SET updated_ns = ?2 WHERE name = ?1",
                            params![name, now],
                        )?;
                    }
                    Ok(claimed == 1)
                })
            })
            .await?
    };
    if !claimed {
        return Err(already_final(&name, &device));
    }
    let seq = match state.audit_with(&code, &vars, &extra).await {
        Ok(seq) => seq,
        Err(err) => {
            // Queued events will be stored: the claim stands. Otherwise
            // the event was not taken, and the leaf may be reported again.
            if !commit_was_queued(&err) {
                release_claim(&state, &name, &device, now).await;
            }
            return Err(err);
        }
    };
    Ok(Json(serde_json::json!({ "seq": seq, "code": code })).into_response())
}

fn already_final(name: &str, device: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        format!("the leaf '{device}' of '{name}' already has its final status"),
    )
}

/// Undoes this request's claim of a leaf whose event was not stored.
async fn release_claim(state: &ApiState, name: &str, device: &str, claimed_ns: i64) {
    let (name, device) = (name.to_string(), device.to_string());
    let released = state
        .db(move |auth| {
            auth.with_conn(|conn| {
                Ok(conn.execute(
                    "UPDATE leaves SET status = NULL, detail = NULL, updated_ns = NULL WHERE operation = ?1 AND device = ?2 AND updated_ns = ?3",
                    params![name, device, claimed_ns],
                )?)
            })
        })
        .await;
    if let Err(err) = released {
        tracing::error!(error = %err, "a leaf's status stays claimed although its event was not stored");
    }
}

/// `GET /api/v1/operations` (auditor, admin): every operation with its
/// leaves and their statuses (null while running).
pub(super) async fn list(State(state): St) -> Result<Response, ApiError> {
    let operations = operation_list(&state).await?;
    Ok(Json(serde_json::json!({ "operations": operations })).into_response())
}

/// Every operation with its leaves, as `GET /api/v1/operations` shows
/// them (oldest first); the console's Monitor > Status too.
pub(crate) async fn operation_list(state: &ApiState) -> Result<Vec<serde_json::Value>, ApiError> {
    state.db(|auth| auth.with_conn(|conn| {
        let mut ops = conn.prepare("SELECT name, type, user, started_ns, updated_ns FROM operations ORDER BY started_ns, name")?;
        let mut leaves = conn.prepare("SELECT device, status, detail, updated_ns FROM leaves WHERE operation = ?1 ORDER BY device")?;
        let rows = ops.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (name, kind, user, started, updated) = row?;
            let leaf_rows = leaves.query_map(params![name], |r| {
                Ok(serde_json::json!({
                    "device": r.get::<_, String>(0)?,
                    "status": r.get::<_, Option<String>>(1)?,
                    "details": r.get::<_, Option<String>>(2)?,
                    "updated": r.get::<_, Option<i64>>(3)?.map(format_ns),
                }))
            })?;
            let leaf_list = leaf_rows.collect::<Result<Vec<_>, _>>()?;
            out.push(serde_json::json!({
                "name": name, "type": kind, "user": user,
                "start_time": format_ns(started), "last_updated_time": format_ns(updated),
                "leaves": leaf_list,
            }));
        }
        Ok(out)
    })).await
}
