//! The parser against the real-line corpus copied into `tests/data/corpus`:
//! the lines and tool expectations of the permissively licensed sources of
//! the project's shared Junos corpus (see tests/data/corpus/README.md). The
//! copyleft, source-available and issue-thread lines of that corpus are not
//! in the repository, so these tests cover only the copied lines (78 of the
//! corpus's 196 junos lines, and the expectations of seven of its eleven
//! tools).
//!
//! * every line of junos_lines.txt parses (each quirk is accepted or
//!   repaired, see docs/parsing.md);
//! * every line `syslog_loose` accepts there, we accept too;
//! * our fields are compared with what each tool's own tests expect
//!   (expected/*.jsonl); every disagreement must be listed, with the reason
//!   we chose differently, in tests/data/parse/disagreements.tsv, and every
//!   listed one must still occur.
//!
//! Long values are recorded in the list as `#<fnv64 hex>/<len>` so that the
//! list stays short.
//! `NETAUDIT_DISAGREEMENTS_DUMP=path` writes the current disagreements (with
//! reasons carried over from the list) for review.

use std::collections::BTreeMap;
use std::path::PathBuf;

use netaudit_syslog::parse::{parse, ParseOptions, SyslogMessage};
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus")
}

fn read(rel: &str) -> String {
    let path = corpus_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn jsonl(rel: &str) -> Vec<Value> {
    read(rel)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// Year-less lines get 2023, the year Elastic's expectations use (they are
/// not copied here; the year is kept so the listed disagreements stay put).
fn opts() -> ParseOptions {
    ParseOptions::with_fixed_year(2023)
}

/// What the store keeps of a received line (its parameters only in the raw
/// bytes) reads back as the full event, for every corpus line and edge case
/// (the copied junos lines alone carry too few parameters to show it).
#[test]
fn raw_backed_events_read_back_whole() {
    let text = read("junos_lines.txt");
    let edge_cases = jsonl("edge_cases.jsonl");
    let lines = text
        .lines()
        .chain(edge_cases.iter().filter_map(|row| row["input"].as_str()));
    let mut with_params = 0;
    for (i, line) in lines.enumerate() {
        let Ok(m) = parse(line.as_bytes(), &opts()) else {
            continue;
        };
        let full = m.to_event(7, line.as_bytes());
        let backed = m.to_raw_backed_event(7, line.as_bytes());
        assert_eq!(
            backed.params_in_raw,
            !full.params.is_empty(),
            "line {}",
            i + 1
        );
        let mut lean = backed.event;
        assert!(lean.params.is_empty(), "line {}", i + 1);
        if backed.params_in_raw {
            with_params += 1;
            lean.params = netaudit_syslog::params_of(line.as_bytes()).expect("parses again");
        }
        assert_eq!(lean, full, "line {}", i + 1);
    }
    assert!(
        with_params > 40,
        "only {with_params} corpus lines have parameters"
    );
}

#[test]
fn every_junos_line_parses() {
    let text = read("junos_lines.txt");
    let mut failures = Vec::new();
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        count += 1;
        if let Err(e) = parse(line.as_bytes(), &opts()) {
            failures.push(format!("line {}: {e}", i + 1));
        }
    }
    assert_eq!(count, 78);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn everything_syslog_loose_accepts_we_accept() {
    let mut loose_ok = 0;
    for row in jsonl("crossparse/junos_lines.jsonl") {
        let input = row["input"].as_str().expect("input");
        if row["syslog_loose"].get("error").is_some() {
            continue;
        }
        loose_ok += 1;
        let ours = parse(input.as_bytes(), &opts());
        assert!(ours.is_ok(), "{}: {:?}", row["id"], ours.err());
    }
    assert_eq!(loose_ok, 78);
}

#[test]
fn edge_cases_never_panic_and_errors_point_inside_the_line() {
    for row in jsonl("edge_cases.jsonl") {
        let bytes = match (
            row.get("input_hex").and_then(Value::as_str),
            row["input"].as_str(),
        ) {
            (Some(hex), _) => decode_hex(hex),
            (None, Some(s)) => s.as_bytes().to_vec(),
            (None, None) => continue,
        };
        if let Err(e) = parse(&bytes, &opts()) {
            assert!(e.offset <= bytes.len(), "{}: {e}", row["source"]);
        }
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

// ---------------------------------------------------------------------
// Field comparison with each tool's expectations.

/// One field where we and a tool's test differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Disagreement {
    id: String,
    field: String,
    ours: String,
    theirs: String,
}

fn fnv64(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How a value is written in the list: short ones literally (tabs and
/// newlines escaped), long ones as a fingerprint.
fn shown(v: &str) -> String {
    if v.chars().count() > 40 {
        format!("#{:016x}/{}", fnv64(v), v.len())
    } else {
        v.replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    }
}

fn opt(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_string(), str::to_string)
}

fn json_str(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Collector {
    out: Vec<Disagreement>,
}

impl Collector {
    fn check(&mut self, id: &str, field: &str, ours: String, theirs: String) {
        if ours != theirs {
            self.out.push(Disagreement {
                id: id.to_string(),
                field: field.to_string(),
                ours: shown(&ours),
                theirs: shown(&theirs),
            });
        }
    }
}

/// Unix nanoseconds of an RFC 3339 string, via our own parser on a
/// minimal line (the timestamp code has its own unit tests).
fn rfc3339_nanos(ts: &str) -> Option<i64> {
    let line = format!("<1>1 {ts} - - - - -");
    parse(line.as_bytes(), &opts())
        .ok()?
        .timestamp
        .map(|t| t.unix_nanos())
}

fn ours_ts(m: &SyslogMessage<'_>) -> String {
    m.timestamp
        .map_or_else(|| "null".to_string(), |t| t.unix_nanos().to_string())
}

fn sd_json(m: &SyslogMessage<'_>) -> String {
    let mut map = serde_json::Map::new();
    for e in &m.structured_data {
        let entry = map
            .entry(e.id.to_string())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(params) = entry {
            for p in &e.params {
                params.insert(p.name.to_string(), Value::String(p.value.to_string()));
            }
        }
    }
    Value::Object(map).to_string()
}

fn compare_go_syslog(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    exp: &Value,
) {
    let valid = exp["valid"].as_bool().unwrap_or(false);
    let msg = match (m, valid) {
        (Ok(m), true) => m,
        (Ok(_), false) => return c.check(id, "valid", "true".into(), "false".into()),
        (Err(e), true) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
        (Err(_), false) => return,
    };
    let v = &exp["value"];
    let field = |name: &str| v.get(name).map(json_str);
    if let Some(p) = field("priority") {
        c.check(
            id,
            "priority",
            msg.priority.map_or("null".into(), |p| p.code().to_string()),
            p,
        );
    }
    if let Some(ver) = field("version") {
        c.check(
            id,
            "version",
            msg.version.map_or("null".into(), |v| v.to_string()),
            ver,
        );
    }
    for (name, ours) in [
        ("hostname", msg.hostname),
        ("appname", msg.app_name),
        ("procid", msg.proc_id),
        ("msgid", msg.msg_id),
        ("message", msg.message),
    ] {
        if let Some(theirs) = field(name) {
            c.check(id, name, opt(ours), theirs);
        }
    }
    match v.get("timestamp") {
        Some(Value::String(ts)) => {
            let theirs =
                rfc3339_nanos(ts).map_or_else(|| format!("unparsed {ts}"), |n| n.to_string());
            c.check(id, "timestamp", ours_ts(msg), theirs);
        }
        Some(Value::Object(o)) => {
            // RFC 3164 "Jan 12 06:30:00": compare what was written.
            let theirs = o.get("value").map(json_str).unwrap_or_default();
            let ours = msg.timestamp.map_or("null".into(), |t| {
                let s = t.to_rfc3339_utc();
                s.get(5..19).unwrap_or_default().to_string()
            });
            let theirs_norm = bsd_to_mm_dd_time(&theirs);
            c.check(id, "timestamp", ours, theirs_norm);
        }
        _ => {}
    }
    if let Some(sd) = v.get("structured_data") {
        if !sd.is_null() {
            c.check(id, "structured_data", sd_json(msg), sd.to_string());
        }
    }
}

fn bsd_to_mm_dd_time(s: &str) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    match parts.as_slice() {
        [mon, day, time] => {
            let m = months.iter().position(|x| x == mon).map_or(0, |p| p + 1);
            format!("{m:02}-{:02}T{time}", day.parse::<u32>().unwrap_or(0))
        }
        _ => s.to_string(),
    }
}

fn compare_napalm(c: &mut Collector, id: &str, m: Result<&SyslogMessage<'_>, String>, exp: &Value) {
    let d = &exp["message_details"];
    let msg = match m {
        Ok(m) => m,
        Err(e) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
    };
    let host = format!(
        "{}{}",
        d["hostPrefix"].as_str().unwrap_or(""),
        d["host"].as_str().unwrap_or("")
    );
    c.check(id, "hostname", opt(msg.hostname), host);
    c.check(
        id,
        "app_name",
        opt(msg.app_name),
        json_str(&d["processName"]),
    );
    c.check(id, "proc_id", opt(msg.proc_id), json_str(&d["processId"]));
    c.check(id, "msg_id", opt(msg.msg_id), json_str(&d["tag"]));
    c.check(id, "message", opt(msg.message), json_str(&d["message"]));
    c.check(
        id,
        "priority",
        msg.priority.map_or("null".into(), |p| p.code().to_string()),
        json_str(&d["pri"]),
    );
}

fn compare_syslog_loose(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    exp: &Value,
) {
    let msg = match m {
        Ok(m) => m,
        Err(e) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
    };
    c.check(
        id,
        "hostname",
        opt(msg.hostname),
        json_str(&exp["hostname"]),
    );
    c.check(id, "app_name", opt(msg.app_name), json_str(&exp["appname"]));
    c.check(id, "proc_id", opt(msg.proc_id), json_str(&exp["procid"]));
    c.check(id, "msg_id", opt(msg.msg_id), json_str(&exp["msgid"]));
    c.check(id, "message", opt(msg.message), json_str(&exp["msg"]));
    if let Some(ts) = exp["timestamp"].as_str() {
        c.check(
            id,
            "timestamp",
            ours_ts(msg),
            rfc3339_nanos(ts).map_or("?".into(), |n| n.to_string()),
        );
    }
}

fn compare_rust_syslog(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    exp: &Value,
) {
    if exp.get("error").is_some() {
        if m.is_ok() {
            c.check(id, "valid", "true".into(), "false".into());
        }
        return;
    }
    let msg = match m {
        Ok(m) => m,
        Err(e) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
    };
    for (name, ours) in [
        ("hostname", msg.hostname),
        ("appname", msg.app_name),
        ("procid", msg.proc_id),
        ("msgid", msg.msg_id),
    ] {
        if let Some(theirs) = exp.get(name) {
            c.check(id, name, opt(ours), json_str(theirs));
        }
    }
    if let Some(theirs) = exp.get("msg") {
        // An absent MSG is "" there and null here: compare as text.
        c.check(
            id,
            "msg",
            msg.message.unwrap_or("").to_string(),
            json_str(theirs),
        );
    }
    if let Some(secs) = exp.get("timestamp").and_then(Value::as_i64) {
        let nanos = exp
            .get("timestamp_nanos")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let theirs = if exp.get("timestamp_nanos").is_some() {
            (secs * 1_000_000_000 + nanos).to_string()
        } else {
            secs.to_string()
        };
        let ours = msg.timestamp.map_or("null".into(), |t| {
            if exp.get("timestamp_nanos").is_some() {
                t.unix_nanos().to_string()
            } else {
                t.unix_nanos().div_euclid(1_000_000_000).to_string()
            }
        });
        c.check(id, "timestamp", ours, theirs);
    }
    if let Some(Value::Object(sd)) = exp.get("sd") {
        c.check(
            id,
            "sd",
            sd_json(msg),
            Value::Object(sd.clone()).to_string(),
        );
    }
}

fn compare_easypost(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    exp: &Value,
) {
    if exp.get("error").is_some() {
        if m.is_ok() {
            c.check(id, "valid", "true".into(), "false".into());
        }
        return;
    }
    let msg = match m {
        Ok(m) => m,
        Err(e) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
    };
    if let Some(t) = exp.get("msg") {
        c.check(id, "msg", opt(msg.message), json_str(t));
    }
    if let Some(t) = exp.get("appname") {
        c.check(id, "appname", opt(msg.app_name), json_str(t));
    }
    if let Some(t) = exp.get("procid") {
        c.check(id, "procid", opt(msg.proc_id), json_str(t));
    }
    if let Some(Value::Array(ids)) = exp.get("sd_ids") {
        let ours: Vec<&str> = msg.structured_data.iter().map(|e| e.id).collect();
        let theirs: Vec<String> = ids.iter().map(json_str).collect();
        c.check(id, "sd_ids", ours.join(","), theirs.join(","));
    }
}

fn compare_logstash(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    exp: &Value,
) {
    let msg = match m {
        Ok(m) => m,
        Err(e) => return c.check(id, "valid", format!("false ({e})"), "true".into()),
    };
    if let Some(tag) = exp.pointer("/ecs-v1/juniper/srx/tag") {
        c.check(id, "msg_id", opt(msg.msg_id), json_str(tag));
    }
}

/// sc4s expectations are routing only (sourcetype, rule id): we
/// check that we parse the line, nothing more.
fn compare_parse_only(
    c: &mut Collector,
    id: &str,
    m: Result<&SyslogMessage<'_>, String>,
    _exp: &Value,
) {
    if let Err(e) = m {
        c.check(id, "valid", format!("false ({e})"), "true".into());
    }
}

type Comparator = fn(&mut Collector, &str, Result<&SyslogMessage<'_>, String>, &Value);

fn current_disagreements() -> Vec<Disagreement> {
    let tools: [(&str, Comparator); 7] = [
        ("go-syslog", compare_go_syslog),
        ("napalm-logs", compare_napalm),
        ("syslog-loose", compare_syslog_loose),
        ("rust-syslog-rfc5424", compare_rust_syslog),
        ("easypost-syslog-rfc5424-parser", compare_easypost),
        ("logstash-patterns-core", compare_logstash),
        ("sc4s", compare_parse_only),
    ];
    let mut c = Collector { out: Vec::new() };
    for (tool, compare) in tools {
        for (n, row) in jsonl(&format!("expected/{tool}.jsonl")).iter().enumerate() {
            let id = format!("{tool}:{}", n + 1);
            let Some(input) = row["input"].as_str() else {
                continue;
            };
            let parsed = parse(input.as_bytes(), &opts());
            let as_ref = parsed.as_ref().map_err(|e| e.to_string());
            compare(&mut c, &id, as_ref, &row["expected"]);
        }
    }
    c.out.sort();
    c.out
}

fn list_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/parse/disagreements.tsv")
}

/// (id, field, ours, theirs) -> reason
fn listed() -> BTreeMap<(String, String, String, String), String> {
    let text = std::fs::read_to_string(list_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            match cols.as_slice() {
                [id, field, ours, theirs, reason] => Some((
                    (
                        id.to_string(),
                        field.to_string(),
                        ours.to_string(),
                        theirs.to_string(),
                    ),
                    reason.to_string(),
                )),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn disagreements_with_other_tools_are_all_listed_and_explained() {
    let current = current_disagreements();
    let list = listed();
    if let Ok(path) = std::env::var("NETAUDIT_DISAGREEMENTS_DUMP") {
        let mut out = String::from("# id\tfield\tours\ttheirs\treason\n");
        for d in &current {
            let key = (
                d.id.clone(),
                d.field.clone(),
                d.ours.clone(),
                d.theirs.clone(),
            );
            let reason = list.get(&key).cloned().unwrap_or_default();
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                d.id, d.field, d.ours, d.theirs, reason
            ));
        }
        std::fs::write(&path, out).expect("writing the dump");
    }
    let mut problems = Vec::new();
    for d in &current {
        let key = (
            d.id.clone(),
            d.field.clone(),
            d.ours.clone(),
            d.theirs.clone(),
        );
        match list.get(&key) {
            None => problems.push(format!(
                "unlisted: {}\t{}\t{}\t{}",
                d.id, d.field, d.ours, d.theirs
            )),
            Some(reason) if reason.trim().is_empty() => {
                problems.push(format!("no reason given: {} {}", d.id, d.field))
            }
            Some(_) => {}
        }
    }
    for (id, field, ours, theirs) in list.keys() {
        let still = current
            .iter()
            .any(|d| &d.id == id && &d.field == field && &d.ours == ours && &d.theirs == theirs);
        if !still {
            problems.push(format!(
                "listed but no longer occurs: {id}\t{field}\t{ours}\t{theirs}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
