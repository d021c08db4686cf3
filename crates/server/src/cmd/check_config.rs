//! `netaudit check-config FILE`: validate a configuration without starting.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file (TOML) to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Exit 0 with a summary, or an error naming the key (exit 2, from main).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = check(&args.file)?;
    println!("{}: configuration is valid", args.file.display());
    print!("{}", config.summary());
    Ok(ExitCode::SUCCESS)
}

/// Every check of `check-config` (also run by `netaudit setup` on what it
/// writes): the file, the TLS files of the listeners, what the outputs
/// refer to.
pub(crate) fn check(file: &std::path::Path) -> anyhow::Result<Config> {
    let mut config = Config::load(file)?;
    // TLS files are read now too: a typo in a path should not wait for a start.
    for (index, listener) in config.listeners.iter().enumerate() {
        if let Some(tls) = listener.tls() {
            crate::serve::tls::acceptor(tls)
                .map_err(|e| anyhow::anyhow!("{}: listener[{index}].{e}", file.display()))?;
        }
    }
    config
        .resolve_outputs()
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    Ok(config)
}
