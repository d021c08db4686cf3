//! `netaudit keys export-verify`: hand the verify key over for safe keeping
//! off the machine, then erase the local copy.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use netaudit_store::{erase_local_verify_key, read_local_verify_key};

use super::common::DbArgs;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Write the verify key (epoch 0 key, store id, checkpoint public key) to
    /// FILE or standard output, then overwrite and delete the local copy.
    /// Keep the output off this machine: `netaudit verify --key FILE` needs it.
    ExportVerify {
        #[command(flatten)]
        db: DbArgs,
        /// Write here (a new file, mode 0600) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Keep the local copy (forward security is void while it exists).
        #[arg(long)]
        keep_local: bool,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        KeysCommand::ExportVerify {
            db,
            out,
            keep_local,
        } => {
            let config = db.config();
            let key = read_local_verify_key(&config)?;
            match &out {
                Some(path) => key.write_new(path)?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(key.to_text().as_bytes())
                        .and_then(|()| stdout.flush())
                        .context("writing the verify key to standard output")?;
                }
            }
            if keep_local {
                eprintln!(
                    "netaudit: the local copy {} was kept: anyone who takes this machine can reseal the past",
                    config.verify_key_path().display()
                );
            } else {
                erase_local_verify_key(&config)?;
                eprintln!(
                    "netaudit: verify key exported; the local copy {} was overwritten and removed",
                    config.verify_key_path().display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
