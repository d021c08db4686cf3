//! How events, times and verification reports are shown, by the command
//! line and the HTTP API alike: times given as RFC 3339 or relative (`1h`),
//! the output formats of events, and the JSON of a verification report.

use std::io::Write;

use anyhow::{bail, Context};
use netaudit_store::{StoredEvent, VerifyReport};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How events are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EventFormat {
    /// Aligned columns: sequence, time, severity, host, code, user, message.
    Table,
    /// One JSON object per line.
    Json,
    /// JUNOScope standard syslog lines (no PRI, as in files).
    Standard,
    /// Junos RFC 5424 structured-data lines.
    Structured,
}

pub(crate) use crate::clock::now_ns;

/// `--since` and `--until` as nanoseconds, each optional, read as
/// [`parse_time`] reads one.
pub(crate) fn parse_time_range(
    since: Option<&str>,
    until: Option<&str>,
    now_ns: i64,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let since = since.map(|s| parse_time(s, now_ns)).transpose()?;
    let until = until.map(|s| parse_time(s, now_ns)).transpose()?;
    Ok((since, until))
}

/// Parses `2026-11-23T10:00:00Z` (RFC 3339) or a duration before now:
/// `90s`, `15m`, `1h`, `7d`, `2w`.
pub(crate) fn parse_time(text: &str, now_ns: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return i64::try_from(t.unix_timestamp_nanos())
            .with_context(|| format!("time '{text}' is out of range"));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ns: i64 = match unit {
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        "d" => 86_400 * 1_000_000_000,
        "w" => 7 * 86_400 * 1_000_000_000,
        _ => bail!(
            "time '{text}': expected RFC 3339 (2026-11-23T10:00:00Z) or a relative time such as 30s, 15m, 1h, 7d, 2w"
        ),
    };
    let n: i64 = number
        .parse()
        .with_context(|| format!("time '{text}': '{number}' is not a number"))?;
    n.checked_mul(unit_ns)
        .map(|d| now_ns.saturating_sub(d))
        .with_context(|| format!("time '{text}' is out of range"))
}

pub(crate) fn format_ns(ns: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ns.to_string())
}

/// A verification report's verdict as `netaudit verify` prints it: the
/// OK line, or where the chain breaks and what was verified before it.
/// `verify --store` prints it once per node, after the node's name.
pub(crate) fn verify_report_text(report: &VerifyReport) -> String {
    match &report.failure {
        None => format!(
            "OK: {} events verified ({}..{}), {} checkpoints, sealed through {}, epoch {}",
            report.events_verified,
            report.first_seq.unwrap_or(0),
            report.last_seq.unwrap_or(0),
            report.checkpoints_verified,
            report.sealed_through,
            report.epoch
        ),
        Some(b) => format!(
            "BROKEN at sequence {} ({}): {}\n  verified before the break: {} events, {} checkpoints",
            b.seq, b.kind, b.detail, report.events_verified, report.checkpoints_verified
        ),
    }
}

/// A verification report as JSON, as `netaudit verify --json` and
/// `GET /api/v1/verify` show it; `ok` is the caller's verdict (the CLI may
/// also fail on an unsealed tail).
pub(crate) fn verify_report_json(report: &VerifyReport, ok: bool) -> serde_json::Value {
    serde_json::json!({
        "ok": ok,
        "events_verified": report.events_verified,
        "checkpoints_verified": report.checkpoints_verified,
        "first_seq": report.first_seq,
        "last_seq": report.last_seq,
        "sealed_through": report.sealed_through,
        "epoch": report.epoch,
        "removed_by_retention": report.removed_by_retention,
        "unsealed": report.unsealed,
        "live_key_epoch": report.live_key_epoch,
        "break": report.failure.as_ref().map(|b| serde_json::json!({
            "seq": b.seq, "kind": b.kind.to_string(), "detail": b.detail
        })),
    })
}

pub(crate) fn json_of(e: &StoredEvent) -> serde_json::Value {
    let ev = &e.event;
    serde_json::json!({
        "seq": e.seq,
        "epoch": e.epoch,
        "time": ev.time_ns.map(format_ns),
        "received": format_ns(ev.received_ns),
        "host": ev.host,
        "app": ev.app,
        "pid": ev.pid,
        "facility": ev.facility.map(|f| f.name()),
        "severity": ev.severity.map(|s| s.name()),
        "code": ev.code,
        "user": ev.user,
        "client_addr": ev.client_addr,
        "device": ev.device,
        "operation": ev.operation,
        "params": ev.params,
        "message": ev.message,
        "raw": String::from_utf8_lossy(&ev.raw),
        "parse_error": ev.parse_error,
        "chain": hex::encode(e.chain),
    })
}

/// One event's line of the table (sequence number, time, severity, host,
/// code, user, message on one line).
pub(crate) fn write_table_row(out: &mut impl Write, e: &StoredEvent) -> std::io::Result<()> {
    let ev = &e.event;
    writeln!(
        out,
        "{:>10}  {:<30}  {:<9}  {:<20}  {:<28}  {:<12}  {}",
        e.seq,
        format_ns(e.ts),
        ev.severity.map_or("-", |s| s.name()),
        ev.host.as_deref().unwrap_or("-"),
        ev.code.as_deref().unwrap_or("-"),
        ev.user.as_deref().unwrap_or("-"),
        ev.message
            .as_deref()
            .unwrap_or("")
            .replace(['\n', '\r'], " ")
    )
}

/// Writes events in `format`; the table header goes first when `header`.
pub(crate) fn write_events(
    out: &mut impl Write,
    events: &[StoredEvent],
    format: EventFormat,
    header: bool,
) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(512);
    if format == EventFormat::Table && header {
        writeln!(
            out,
            "{:>10}  {:<30}  {:<9}  {:<20}  {:<28}  {:<12}  MESSAGE",
            "SEQ", "TIME", "SEVERITY", "HOST", "CODE", "USER"
        )?;
    }
    for e in events {
        let ev = &e.event;
        match format {
            EventFormat::Table => write_table_row(out, e)?,
            EventFormat::Json => {
                serde_json::to_writer(&mut *out, &json_of(e))?;
                out.write_all(b"\n")?;
            }
            EventFormat::Standard => {
                line.clear();
                netaudit_syslog::write_standard(
                    ev,
                    &netaudit_syslog::StandardOptions::default(),
                    &mut line,
                );
                out.write_all(&line)?;
                out.write_all(b"\n")?;
            }
            EventFormat::Structured => {
                line.clear();
                netaudit_syslog::write_structured(
                    ev,
                    &netaudit_syslog::StructuredOptions::default(),
                    &mut line,
                );
                out.write_all(&line)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_times() {
        let now = 10_000 * 1_000_000_000;
        assert_eq!(parse_time("1h", now).unwrap(), now - 3_600 * 1_000_000_000);
        assert_eq!(parse_time("30s", now).unwrap(), now - 30 * 1_000_000_000);
        assert_eq!(
            parse_time("1970-01-01T00:00:01Z", now).unwrap(),
            1_000_000_000
        );
        assert!(parse_time("1y", now).is_err());
        assert!(parse_time("h", now).is_err());
        assert!(parse_time("99999999999999w", now).is_err());
    }
}
