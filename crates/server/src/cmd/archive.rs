//! `netaudit archive verify FILE --key K` and `netaudit archive import FILE
//! --key K --db PATH`: the signed partition archives retention writes
//! (docs/archives.md), checked offline and brought back for examination.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use netaudit_store::{read_archive_events, verify_archive, Store, StoreConfig, VerifyKey};

use crate::display::format_ns;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub command: ArchiveCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ArchiveCommand {
    /// Check an archive alone, offline: the manifest's Ed25519 signature,
    /// every member's SHA-256, every checkpoint's signature and MAC, and
    /// every event's chain value. Exit 0 when it verifies, 1 when not.
    Verify {
        /// The archive (`netaudit-<store>-<first>-<last>.tar`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The store's verify key (`netaudit keys export-verify`).
        #[arg(long, value_name = "VERIFY_KEY")]
        key: PathBuf,
    },
    /// Verify an archive, then store its events in a separate store for
    /// examination (`netaudit query --db PATH`). The events get that
    /// store's sequence numbers and chain; the archive is not changed.
    Import {
        /// The archive.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The store's verify key (`netaudit keys export-verify`).
        #[arg(long, value_name = "VERIFY_KEY")]
        key: PathBuf,
        /// The examination store's catalog (created if missing); not the
        /// store the archive came from.
        #[arg(long = "db", value_name = "PATH")]
        db: PathBuf,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ArchiveCommand::Verify { file, key } => {
            let key = VerifyKey::read(&key)?;
            match verify_archive(&file, &key) {
                Ok(report) => {
                    println!(
                        "OK: {}: events {}..{} ({} events) of store {}, {} checkpoints, every chain value recomputed{}; archived {}",
                        file.display(),
                        report.first_seq,
                        report.last_seq,
                        report.events,
                        hex::encode(report.store_id),
                        report.checkpoints,
                        if report.syslog_lines {
                            ", RFC 5424 lines signed with them"
                        } else {
                            ""
                        },
                        format_ns(report.created_ns)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(err @ netaudit_store::StoreError::Archive { .. }) => {
                    println!("FAILED: {err}");
                    Ok(ExitCode::from(1))
                }
                Err(err) => Err(err.into()),
            }
        }
        ArchiveCommand::Import { file, key, db } => {
            let key = VerifyKey::read(&key)?;
            let events = read_archive_events(&file, &key)?;
            let store = Store::open(StoreConfig::new(db.clone()))
                .with_context(|| format!("{}: cannot open the examination store", db.display()))?;
            if store.store_id() == key.store_id {
                anyhow::bail!(
                    "{}: this is the store the archive came from; import into a separate store for examination",
                    db.display()
                );
            }
            let mut stored = (None, 0);
            for chunk in events.chunks(10_000) {
                let seqs = store.append_batch(chunk)?;
                stored.0 = stored.0.or(seqs.first().copied());
                stored.1 = seqs.last().copied().unwrap_or(stored.1);
            }
            store.close()?;
            let (first, last) = (
                events.first().map_or(0, |e| e.seq),
                events.last().map_or(0, |e| e.seq),
            );
            println!(
                "imported {} events (archived as {first}..{last}) into {} as sequence {}..{}",
                events.len(),
                db.display(),
                stored.0.unwrap_or(0),
                stored.1
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
