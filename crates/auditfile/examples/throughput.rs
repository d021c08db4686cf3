//! Lines per second through `AuditFile::write_batch` for 260-byte lines.
//!
//! cargo run --release -p netaudit-auditfile --example throughput -- [LINES] [DIR] [FILE_MIB]
//!
//! Runs four setups one after the other in a fresh directory under DIR (default: the system
//! temp dir): no fsync / fsync per 1000-line batch, each with gzip archives and without.
//! Files of FILE_MIB (default 4) MiB, 10 archives, OverwriteOldest, a bound of 16 files, so
//! rotation (which always fsyncs) and deletion are part of what is measured.

use std::path::PathBuf;
use std::time::Instant;

use netaudit_auditfile::{AuditFile, AuditFileConfig, OnFull, SyncPolicy};

const LINE_BYTES: usize = 260;
const BATCH: usize = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let lines: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let base = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let file_mib: u64 = match args.next() {
        Some(n) => n.parse()?,
        None => 4,
    };
    let batch = make_lines(BATCH);
    let refs: Vec<&[u8]> = batch.iter().map(|l| l.as_bytes()).collect();
    println!(
        "{lines} lines of {LINE_BYTES} bytes (+LF), batches of {BATCH}, files of {file_mib} MiB, 10 archives"
    );
    for (sync, compress) in [
        (SyncPolicy::Never, false),
        (SyncPolicy::Never, true),
        (SyncPolicy::EveryBatch, false),
        (SyncPolicy::EveryBatch, true),
    ] {
        let dir = tempfile::Builder::new()
            .prefix("auditfile-throughput")
            .tempdir_in(&base)?;
        let cfg = AuditFileConfig {
            dir: dir.path().to_path_buf(),
            name: "messages".into(),
            max_file_bytes: file_mib << 20,
            archives: 10,
            compress,
            max_total_bytes: 16 * (file_mib << 20),
            on_full: OnFull::OverwriteOldest,
            sync,
        };
        let mut file = AuditFile::open(cfg)?;
        let start = Instant::now();
        let mut written = 0usize;
        let mut rotations = 0u32;
        while written < lines {
            let take = (lines - written).min(BATCH);
            let out = file.write_batch(refs.get(..take).unwrap_or_default())?;
            written += out.written();
            rotations += out.rotations();
            if out.is_storage_full() {
                return Err(format!("storage full: {out:?}").into());
            }
        }
        let loop_secs = start.elapsed().as_secs_f64();
        file.flush_sync()?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sync={:<10} compress={:<5} {:>9.0} lines/s {:>6.1} MB/s; with the final fsync {:>9.0} lines/s ({rotations} rotations)",
            format!("{sync:?}"),
            compress,
            written as f64 / loop_secs,
            (written * (LINE_BYTES + 1)) as f64 / loop_secs / 1e6,
            written as f64 / secs,
        );
    }
    Ok(())
}

/// Junos structured-data lines padded to exactly `LINE_BYTES`, each a little different.
fn make_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut s = format!(
                "<165>1 2026-11-22T09:17:{:02}.{:03}Z router{} mgd {} UI_DBASE_LOGOUT_EVENT \
                 [junos@2636.1.1.1.2.18 username=\"regress{}\"] User 'regress{}' exiting configuration mode",
                i % 60,
                i % 1000,
                i % 7,
                3000 + i % 900,
                i % 13,
                i % 13
            );
            let mut pad = 0usize;
            while s.len() < LINE_BYTES {
                s.push(char::from(b'a' + (pad % 26) as u8));
                pad += 1;
            }
            s.truncate(LINE_BYTES);
            s
        })
        .collect()
}
