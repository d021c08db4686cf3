//! `netaudit man` and `netaudit completions`, run as the built binary.

use std::process::Command;

fn netaudit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netaudit"))
        .args(args)
        .output()
        .expect("run the netaudit binary")
}

#[test]
fn man_writes_one_page_per_subcommand_and_the_configuration_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = netaudit(&["man", "--out", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "netaudit.1",
        "netaudit-serve.1",
        "netaudit-verify.1",
        "netaudit-keys-export-verify.1",
        "netaudit-user-add.1",
        "netaudit-completions.1",
        "netaudit.toml.5",
    ] {
        let path = dir.path().join(page);
        assert!(path.is_file(), "{page} not written");
        // Each written page is listed on standard output.
        assert!(String::from_utf8_lossy(&out.stdout).contains(page));
    }
    let verify = std::fs::read_to_string(dir.path().join("netaudit-verify.1")).unwrap();
    assert!(verify.contains(".TH netaudit-verify 1"), "{verify}");
    assert!(verify.contains("require\\-sealed"), "{verify}");
    let toml = std::fs::read_to_string(dir.path().join("netaudit.toml.5")).unwrap();
    assert!(toml.contains(".SH [store]"));
    assert!(toml.contains("epoch_events = 100000"));
}

#[test]
fn man_says_where_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = netaudit(&["man", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a-file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef netaudit"),
        ("fish", "complete -c netaudit"),
    ] {
        let out = netaudit(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        for sub in ["serve", "verify", "check-config", "export-verify"] {
            assert!(script.contains(sub), "{shell} lacks {sub}");
        }
    }
    // The bash script is valid bash.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netaudit.bash");
    std::fs::write(&path, netaudit(&["completions", "bash"]).stdout).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(check.success());
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let out = netaudit(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}
