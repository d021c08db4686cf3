//! `netaudit report ndcpp` over seed 003's sample lines
//! (`tests/data/ndcpp/samples.log`): every requirement row with a sample has
//! evidence, the HTML renders in headless Chromium (screenshot), the PDF is
//! printed. `NETAUDIT_WRITE_REPORT_SAMPLE=1` copies the JSON, HTML and
//! screenshot to docs/report/ (the sample docs/report.md shows).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn netaudit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
}

fn run(command: &mut Command) -> Vec<u8> {
    let out = command.output().expect("run netaudit");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ndcpp/samples.log")
}

/// A store holding the seed's sample lines.
fn imported(dir: &Path) -> PathBuf {
    let db = dir.join("netaudit.db");
    run(netaudit().arg("import").arg("--db").arg(&db).arg(samples()));
    db
}

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn the_report_over_the_seed_samples_covers_every_row_with_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    let json = run(netaudit().args(["report", "ndcpp", "--db"]).arg(&db));
    let report: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(report["events_examined"], 33);
    let rows = report["rows"].as_array().unwrap();
    let with_sample: Vec<&Value> = rows
        .iter()
        .filter(|r| !r["seed_sample"].is_null())
        .collect();
    assert!(with_sample.len() >= 20, "{}", with_sample.len());
    for row in &with_sample {
        assert_eq!(row["status"], "covered", "{row}");
    }
    for row in rows.iter().filter(|r| r["events"] == "None") {
        assert_eq!(row["status"], "not-required", "{row}");
    }
    assert_eq!(report["summary"]["no_evidence"], 0);
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    // The additional contents are checked in the sample: the remote login
    // carries its origin, the seed's threshold line does not.
    let uia = row("FIA_UIA_EXT.1");
    let checks = &uia["hosts"][0]["checks"];
    assert_eq!(checks[0]["content"], "user");
    assert_eq!(checks[0]["present"], true);
    assert_eq!(checks[1]["present"], true, "{uia}");
    assert_eq!(row("FIA_AFL.1")["hosts"][0]["checks"][0]["present"], false);
    let stm = row("FPT_STM_EXT.1");
    assert_eq!(
        stm["hosts"].as_array().unwrap().len(),
        2,
        "cartier and srx1"
    );

    // --host and --until narrow it.
    let only = run(netaudit()
        .args([
            "report",
            "ndcpp",
            "--host",
            "cartier",
            "--until",
            "2020-08-11T18:15:10Z",
            "--db",
        ])
        .arg(&db));
    let only: Value = serde_json::from_slice(&only).unwrap();
    assert_eq!(only["events_examined"], 1);
    assert!(only["summary"]["no_evidence"].as_u64().unwrap() > 20);
}

#[test]
fn the_html_renders_in_headless_chromium_and_prints_to_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    let html = dir.path().join("ndcpp.html");
    run(netaudit()
        .args(["report", "ndcpp", "--format", "html", "--db"])
        .arg(&db)
        .arg("--output")
        .arg(&html));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(text.contains("<svg") && !text.contains("<script"));
    assert!(!text.contains("src=\"http"), "self-contained");
    assert!(text.contains("FIA_AFL.1") && text.contains("origin missing"));

    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is needed (.ci/install-deps installs it)"
    );
    let png = dir.path().join("ndcpp.png");
    let profile = dir.path().join("profile");
    let status = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1280,2400")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let shot = std::fs::read(&png).unwrap();
    assert!(
        shot.starts_with(b"\x89PNG") && shot.len() > 10_000,
        "{}",
        shot.len()
    );

    let pdf = dir.path().join("ndcpp.pdf");
    run(netaudit()
        .args(["report", "ndcpp", "--format", "pdf", "--db"])
        .arg(&db)
        .arg("--output")
        .arg(&pdf));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));

    if std::env::var_os("NETAUDIT_WRITE_REPORT_SAMPLE").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&html, docs.join("ndcpp-sample.html")).unwrap();
        std::fs::copy(&png, docs.join("ndcpp-sample.png")).unwrap();
        let json = run(netaudit().args(["report", "ndcpp", "--db"]).arg(&db));
        std::fs::write(docs.join("ndcpp-sample.json"), json).unwrap();
    }
}

#[test]
fn a_pdf_needs_an_output_file_and_a_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path());
    let out = netaudit()
        .args(["report", "ndcpp", "--format", "pdf", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output"));
    let out = netaudit()
        .args([
            "report",
            "ndcpp",
            "--format",
            "pdf",
            "--chromium",
            "/nonexistent/chromium",
            "--output",
        ])
        .arg(dir.path().join("x.pdf"))
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/chromium"));
}
