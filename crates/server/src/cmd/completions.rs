//! `netaudit completions bash|zsh|fish`: a shell completion script,
//! generated from the clap definitions, on standard output.

use std::process::ExitCode;

use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to complete for.
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
}

/// Writes the script for `args.shell` to standard output. `command` is the
/// whole command line definition (passed in by `cli`, which owns it).
pub(crate) fn run(args: Args, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "netaudit", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
