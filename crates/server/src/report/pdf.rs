//! The PDF of the report: the HTML page printed by headless Chromium
//! (Debian's `chromium` package), which renders the inline SVG exactly as
//! a browser shows the HTML. No Chromium, no PDF: the error says so.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};

/// How long Chromium may take to print.
const PRINT_TIMEOUT: Duration = Duration::from_secs(120);

/// Prints `html` to the PDF file `out` with the Chromium at `chromium`.
pub(crate) fn print(chromium: &Path, html: &str, out: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("a temporary directory for the PDF")?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).with_context(|| format!("writing {}", page.display()))?;
    let profile = dir.path().join("profile");
    // To a file, not a pipe: a chatty Chromium cannot block on a full pipe.
    let log_path = dir.path().join("chromium.log");
    let log = std::fs::File::create(&log_path).context("chromium's log file")?;
    let mut child = std::process::Command::new(chromium)
        .arg("--headless")
        .arg("--no-sandbox")
        .arg("--disable-gpu")
        .arg("--no-pdf-header-footer")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (install Debian's chromium, or pass --chromium PATH)",
                chromium.display()
            )
        })?;
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("waiting for chromium")? {
            if !status.success() {
                let err = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("{} failed ({status}): {}", chromium.display(), err.trim());
            }
            break;
        }
        if started.elapsed() > PRINT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} did not print within {} s",
                chromium.display(),
                PRINT_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let written = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    if written == 0 {
        bail!("{} wrote no PDF to {}", chromium.display(), out.display());
    }
    Ok(())
}
