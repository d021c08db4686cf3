//! `netaudit parse`: runs the built binary on files and on standard input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn netaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../syslog/tests/data/parse")
        .join(name)
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = netaudit()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netaudit runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("netaudit finishes")
}

#[test]
fn golden_file_prints_exactly_the_golden_json() {
    let out = netaudit()
        .args(["parse", "--year", "2020"])
        .arg(data("golden.txt"))
        .output()
        .expect("netaudit runs");
    let expected = std::fs::read_to_string(data("golden.jsonl")).expect("golden.jsonl");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    for (n, (got, want)) in stdout.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "golden line {}", n + 1);
    }
    assert_eq!(stdout.lines().count(), expected.lines().count());
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("22 lines, 22 parsed, 0 failed"), "{stderr}");
}

#[test]
fn every_record_has_exactly_the_documented_keys_in_order() {
    let out = netaudit()
        .args(["parse", "--year", "2020"])
        .arg(data("golden.txt"))
        .output()
        .expect("netaudit runs");
    let keys = [
        "format",
        "priority",
        "facility",
        "severity",
        "timestamp",
        "hostname",
        "app_name",
        "proc_id",
        "msg_id",
        "structured_data",
        "message",
    ];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // Key order as printed (serde_json::Value would sort them).
        let mut pos = 0;
        for key in keys {
            let needle = format!("\"{key}\":");
            let at = line[pos..]
                .find(&needle)
                .unwrap_or_else(|| panic!("{key} missing or out of order: {line}"));
            pos += at + needle.len();
        }
        let value: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        assert_eq!(
            value.as_object().map(|o| o.len()),
            Some(keys.len()),
            "{line}"
        );
        let format = value["format"].as_str().unwrap_or("");
        assert!(["rfc5424", "rfc3164", "junoscope"].contains(&format));
    }
}

#[test]
fn bad_lines_go_to_stderr_with_line_and_offset_and_the_run_goes_on() {
    let mut input = Vec::new();
    input.extend_from_slice(
        b"<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_X [junos@2636 a=\"1\"] ok\n",
    );
    input.extend_from_slice(b"<192>1 - - - - - -\n"); // 2: PRI over 191
    input.extend_from_slice(b"<13>1 2020-01-01T00:00:00Z h a - - [x a=\"1\"\n"); // 3: unbalanced '['
    input.extend_from_slice(b"<13>1 2020-01-01T00:00:00Z h a - - [x a=\"1]\n"); // 4: unterminated quote
    input.extend_from_slice(b"<13>1 2020-01-01T00:\n"); // 5: truncated
    input.extend_from_slice(b"<13>1 2020-01-01T00:00:00Z h\xff a - - -\n"); // 6: invalid UTF-8
    input.extend_from_slice(b"\n"); // blank: skipped, not counted
    input.extend_from_slice(
        b"Jun 20 13:00:05 valhalla2 junoscope7080[9348]: JUNOSCOPE_LOGIN_FAILURE: Login failed\r\n",
    );
    let out = run_with_stdin(&["parse", "--year", "2020"], &input);
    assert_eq!(out.status.code(), Some(1), "exit 1 when a line failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["format"], "junoscope");
    assert_eq!(records[1]["message"], "Login failed", "CR of CRLF removed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "2:1: PRI value 192 is over 191",
            "3:35: unbalanced '[': SD-ELEMENT has no closing ']'",
            "4:40: unterminated quoted SD-PARAM value",
            "5:20: line ends where the rest of the timestamp was expected",
            "6:28: invalid UTF-8",
            "netaudit parse: 7 lines, 2 parsed, 5 failed",
        ]
    );
}

#[test]
fn overlong_lines_are_reported_and_skipped() {
    let mut input = vec![b'x'; 5000];
    input.push(b'\n');
    input.extend_from_slice(b"<13>1 - h a - - - short line\n");
    let out = run_with_stdin(&["parse", "--max-line", "100"], &input);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("1:100: line longer than 100 bytes, skipped\n"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.contains("\"message\":\"short line\""));
}

#[test]
fn several_files_prefix_errors_with_the_file_and_all_good_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.log");
    let bad = dir.path().join("bad.log");
    std::fs::write(&good, "<13>1 - h a - - - fine\n").expect("write");
    std::fs::write(&bad, "<13>1 - h a - - - fine\nnot syslog at all\n").expect("write");
    let out = netaudit()
        .arg("parse")
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2:0: not a syslog line", bad.display())),
        "{stderr}"
    );
    assert!(stderr.contains("3 lines, 2 parsed, 1 failed"), "{stderr}");
    let out = netaudit().arg("parse").arg(&good).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let missing = netaudit()
        .arg("parse")
        .arg(dir.path().join("missing.log"))
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2), "I/O error exits 2");
}

#[test]
fn year_option_sets_year_less_timestamps_and_help_explains_it() {
    let out = run_with_stdin(
        &["parse", "--year", "2019"],
        b"<13>Feb 28 10:00:00 h a: x\n",
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value["timestamp"], "2019-02-28T10:00:00Z");
    let help = netaudit().args(["parse", "--help"]).output().expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--year <YYYY>"), "{text}");
    assert!(text.contains("nearest"), "{text}");
    assert!(text.contains("--max-line"), "{text}");
    assert!(
        text.contains("Exit status: 0 all lines parsed, 1 some line failed"),
        "{text}"
    );
}
