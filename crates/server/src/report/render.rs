//! The coverage report as JSON and as one self-contained HTML page (inline
//! CSS and SVG charts, no scripts, nothing fetched), which is also what the
//! PDF is printed from.

use std::fmt::Write as _;

use serde_json::json;

use super::coverage::{RowCoverage, Sample};
use crate::display::format_ns;

/// What was asked for and what was looked at.
pub(crate) struct ReportInfo {
    pub generated_ns: i64,
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub host: Option<String>,
    pub events: u64,
}

/// Counts of rows by status: (rows, required, covered, no evidence).
fn summary(rows: &[RowCoverage]) -> (usize, usize, usize, usize) {
    let required = rows.iter().filter(|r| r.required).count();
    let covered = rows.iter().filter(|r| r.status == "covered").count();
    (rows.len(), required, covered, required - covered)
}

pub(crate) fn json(info: &ReportInfo, rows: &[RowCoverage]) -> serde_json::Value {
    let (total, required, covered, missing) = summary(rows);
    json!({
        "report": "ndcpp",
        "source": "seed 003, Table 1 (NDcPPv2 syslog auditing), crates/server/data/ndcpp/requirements.toml",
        "generated": format_ns(info.generated_ns),
        "since": info.since_ns.map(format_ns),
        "until": info.until_ns.map(format_ns),
        "host": info.host,
        "events_examined": info.events,
        "summary": {
            "rows": total,
            "required": required,
            "covered": covered,
            "no_evidence": missing,
        },
        "rows": rows.iter().map(|row| json!({
            "id": row.id,
            "events": row.events,
            "contents": row.contents,
            "status": row.status,
            "count": row.count,
            "seed_sample": row.seed_sample,
            "hosts": row.hosts.iter().map(|h| json!({
                "host": h.host,
                "count": h.count,
                "first": format_ns(h.first_ns),
                "last": format_ns(h.last_ns),
                "sample": sample_json(&h.sample),
                "checks": h.checks.iter().map(|(name, ok)| json!({"content": name, "present": ok})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A sample record; `node` only on a PostgreSQL store (where a sequence
/// number is one node's).
fn sample_json(sample: &Sample) -> serde_json::Value {
    let mut v = json!({
        "seq": sample.seq,
        "time": format_ns(sample.time_ns),
        "code": sample.code,
        "app": sample.app,
        "user": sample.user,
        "client_addr": sample.client_addr,
        "message": sample.message,
    });
    if let Some(node) = &sample.node {
        v["node"] = json!(node);
    }
    v
}

/// Text made safe for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;color:#222}\
h1{font-size:1.5em}table{border-collapse:collapse;width:100%;font-size:.85em}\
th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top;text-align:left}\
th{background:#eee}.covered{background:#e3f4e1}.no-evidence{background:#fbe3e0}\
.not-required{color:#777}.ok{color:#1b7a1b}.missing{color:#b22;font-weight:bold}\
code{font-size:.9em;word-break:break-all}@media print{body{margin:0}}";

/// The status bar: one stacked horizontal bar of covered / no evidence /
/// not required rows.
fn status_chart(total: usize, covered: usize, missing: usize) -> String {
    let width = 600.0;
    let scale = if total == 0 {
        0.0
    } else {
        width / total as f64
    };
    let not_required = total - covered - missing;
    let parts = [
        (covered, "#4caf50", "covered"),
        (missing, "#e53935", "no evidence"),
        (not_required, "#bdbdbd", "no event required"),
    ];
    let mut svg = String::from("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"60\" role=\"img\" aria-label=\"rows by status\">");
    let mut x = 0.0;
    for (i, (count, color, label)) in parts.iter().enumerate() {
        let w = *count as f64 * scale;
        let _ = write!(svg, "<rect x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"24\" fill=\"{color}\"><title>{label}: {count}</title></rect>");
        let _ = write!(svg, "<rect x=\"{}\" y=\"36\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{}\" y=\"47\" font-size=\"12\">{label}: {count}</text>", i * 200, i * 200 + 16);
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

/// Events per covered row, as horizontal bars (logarithmic: one row may
/// have millions, another a handful).
fn count_chart(rows: &[RowCoverage]) -> String {
    let covered: Vec<&RowCoverage> = rows.iter().filter(|r| r.count > 0).collect();
    let height = 20 * covered.len() + 10;
    let max = covered.iter().map(|r| r.count).max().unwrap_or(1) as f64;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"700\" height=\"{height}\" role=\"img\" aria-label=\"events per requirement\">");
    for (i, row) in covered.iter().enumerate() {
        let y = i * 20 + 4;
        let w = 400.0 * (1.0 + row.count as f64).ln() / (1.0 + max).ln();
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"180\" y=\"{y}\" width=\"{w:.1}\" height=\"14\" fill=\"#4caf50\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{}</text>",
            y + 11,
            esc(&row.id),
            185.0 + w,
            y + 11,
            row.count
        );
    }
    svg.push_str("</svg>");
    svg
}

pub(crate) fn html(info: &ReportInfo, rows: &[RowCoverage]) -> String {
    let (total, required, covered, missing) = summary(rows);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>NDcPP audit coverage</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        out,
        "<h1>NDcPP audit coverage</h1><p>Requirements: seed 003, Table 1 (NDcPPv2 syslog auditing). Generated {}. Period: {} to {}. Host: {}. Events examined: {}.</p>",
        esc(&format_ns(info.generated_ns)),
        esc(&info.since_ns.map_or("the beginning".into(), format_ns)),
        esc(&info.until_ns.map_or("now".into(), format_ns)),
        esc(info.host.as_deref().unwrap_or("all")),
        info.events
    );
    let _ = write!(
        out,
        "<p><b>{covered}</b> of {required} requirements that ask for an auditable event have evidence; <b>{missing}</b> have none; {} need no event ({total} rows).</p>",
        total - required
    );
    out.push_str(&status_chart(total, covered, missing));
    out.push_str("<h2>Events per requirement</h2>");
    out.push_str(&count_chart(rows));
    out.push_str("<h2>Requirements</h2><table><tr><th>Requirement</th><th>Auditable events</th><th>Status</th><th>Evidence per device</th></tr>");
    for row in rows {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td><b>{}</b></td><td>{}{}</td><td>{}</td><td>",
            row.status,
            esc(&row.id),
            esc(&row.events),
            row.contents
                .as_deref()
                .map(|c| format!("<br><i>Additional contents:</i> {}", esc(c)))
                .unwrap_or_default(),
            match row.status {
                "covered" => format!("covered ({} events)", row.count),
                "no-evidence" => "<span class=\"missing\">NO EVIDENCE</span>".into(),
                _ => "no event required".into(),
            }
        );
        for host in &row.hosts {
            let checks: Vec<String> = host
                .checks
                .iter()
                .map(|(name, ok)| {
                    if *ok {
                        format!("<span class=\"ok\">{} present</span>", esc(name))
                    } else {
                        format!("<span class=\"missing\">{} missing</span>", esc(name))
                    }
                })
                .collect();
            let _ = write!(
                out,
                "<div><b>{}</b>: {} event(s), first {}, last {}{}<br><code>{}#{} {} {} {}</code></div>",
                esc(&host.host),
                host.count,
                esc(&format_ns(host.first_ns)),
                esc(&format_ns(host.last_ns)),
                if checks.is_empty() { String::new() } else { format!("; {}", checks.join(", ")) },
                host.sample.node.as_deref().map(|n| format!("{} ", esc(n))).unwrap_or_default(),
                host.sample.seq,
                esc(host.sample.code.as_deref().unwrap_or("-")),
                esc(host.sample.user.as_deref().unwrap_or("")),
                esc(host.sample.message.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_what_it_shows() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
