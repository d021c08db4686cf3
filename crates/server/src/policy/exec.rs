//! The `exec` action: a program run without a shell, the derived event as
//! JSON on its standard input, killed when its time is up.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Runs `program` with `args`, writes `input` to its standard input and
/// waits at most `timeout`. Returns whether it exited with status 0, and
/// what happened in words (the exit status, the timeout, the start error).
pub(crate) async fn run(
    program: &Path,
    args: &[String],
    input: &[u8],
    timeout: Duration,
) -> (bool, String) {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return (false, format!("cannot start {}: {err}", program.display())),
    };
    let stdin = child.stdin.take();
    let finished = tokio::time::timeout(timeout, async {
        if let Some(mut stdin) = stdin {
            // A program that does not read its input is not an error.
            let _ = stdin.write_all(input).await;
            drop(stdin);
        }
        child.wait().await
    })
    .await;
    match finished {
        Ok(Ok(status)) => match status.code() {
            Some(0) => (true, "exit status 0".into()),
            Some(code) => (false, format!("exit status {code}")),
            None => (false, format!("ended by a signal ({status})")),
        },
        Ok(Err(err)) => (false, format!("cannot wait for it: {err}")),
        Err(_) => {
            let _ = child.kill().await;
            (
                false,
                format!("killed after its timeout of {} s", timeout.as_secs()),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_event_arrives_on_stdin_and_the_exit_status_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!("cat > {}; exit 3", out.display());
        let (ok, outcome) = run(
            Path::new("/bin/sh"),
            &["-c".into(), script],
            b"{\"seq\":1}",
            Duration::from_secs(10),
        )
        .await;
        assert!(!ok);
        assert_eq!(outcome, "exit status 3");
        assert_eq!(std::fs::read(&out).unwrap(), b"{\"seq\":1}");
    }

    #[tokio::test]
    async fn a_hanging_program_is_killed_at_its_timeout() {
        let started = std::time::Instant::now();
        let (ok, outcome) = run(
            Path::new("/bin/sleep"),
            &["30".into()],
            b"",
            Duration::from_secs(1),
        )
        .await;
        assert!(!ok);
        assert!(outcome.contains("timeout"), "{outcome}");
        assert!(started.elapsed() < Duration::from_secs(20));
        let (ok, outcome) = run(
            Path::new("/nonexistent/x"),
            &[],
            b"",
            Duration::from_secs(1),
        )
        .await;
        assert!(!ok && outcome.contains("cannot start"), "{outcome}");
    }
}
