//! `netaudit import FILE...`: parse syslog files of any size and store every
//! line that parses, in durable batches, with a progress bar and a summary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use netaudit_store::Store;
use netaudit_syslog::parse::{parse, ParseOptions};
use netaudit_syslog::RawBackedEvent;

use super::common::DbArgs;
use crate::display::now_ns;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub db: DbArgs,
    /// Files of syslog lines (standard JUNOScope, RFC 3164 or RFC 5424).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Events per transaction.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Year given to year-less (BSD) timestamps; default: nearest to now.
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,
    /// Longest line accepted, in bytes; longer lines are rejected.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_line: usize,
}

/// Rejections grouped by reason: count and the first place seen.
#[derive(Default)]
struct Rejected {
    by_reason: BTreeMap<String, (u64, String)>,
    total: u64,
}

impl Rejected {
    fn add(&mut self, reason: String, place: String) {
        self.total += 1;
        self.by_reason.entry(reason).or_insert((0, place)).0 += 1;
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = match args.year {
        Some(year) => ParseOptions::with_fixed_year(year),
        None => ParseOptions::with_reference_time(now_ns() / 1_000_000_000),
    };
    let mut total_bytes = 0u64;
    for path in &args.files {
        total_bytes += std::fs::metadata(path)
            .with_context(|| format!("{}: cannot read", path.display()))?
            .len();
    }
    let store = Store::open(args.db.config())?;
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut stored = 0u64;
    let mut first_seq = None;
    let mut last_seq = 0;
    let batch_size = args.batch.max(1);
    // Parsing runs on a second thread and hands over whole batches (at most
    // two in flight, so memory stays bounded); this thread appends them.
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(Vec<RawBackedEvent>, u64, u64)>(2);
    let (lines, rejected) = std::thread::scope(|scope| -> anyhow::Result<(u64, Rejected)> {
        let parser = scope.spawn(|| parse_files(&args, &opts, batch_size, sender));
        let mut append_error = None;
        for (batch, lines_so_far, bytes) in receiver.iter() {
            match store.append_batch(&batch) {
                Ok(seqs) => {
                    first_seq = first_seq.or(seqs.first().copied());
                    last_seq = seqs.last().copied().unwrap_or(last_seq);
                    stored += seqs.len() as u64;
                }
                Err(e) => {
                    append_error = Some(e);
                    break;
                }
            }
            bar.inc(bytes);
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{lines_so_far} lines, {:.0} lines/s",
                lines_so_far as f64 / secs
            ));
        }
        // Dropping the receiver stops the parser at its next batch.
        drop(receiver);
        let parsed = parser
            .join()
            .map_err(|_| anyhow::anyhow!("the parsing thread panicked"))?;
        if let Some(e) = append_error {
            return Err(e.into());
        }
        parsed
    })?;
    // Seal what was imported now rather than when the epoch times out.
    let sealed = if stored > 0 {
        Some(store.seal_epoch()?)
    } else {
        None
    };
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    match first_seq {
        Some(first) => eprintln!(
            "imported {lines} lines in {secs:.1} s ({:.0} lines/s): stored {stored} (sequence {first}..{last_seq}, sealed by the checkpoint of epoch {}), rejected {}",
            lines as f64 / secs,
            sealed.map_or(0, |c| c.epoch),
            rejected.total
        ),
        None => eprintln!(
            "imported {lines} lines in {secs:.1} s: stored 0, rejected {}",
            rejected.total
        ),
    }
    for (reason, (count, first)) in &rejected.by_reason {
        eprintln!("  rejected {count}: {reason} (first at {first})");
    }
    Ok(if rejected.total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Reads and parses every file, sending batches of events with the line
/// count so far and the bytes read since the previous batch.
fn parse_files(
    args: &Args,
    opts: &ParseOptions,
    batch_size: usize,
    sender: std::sync::mpsc::SyncSender<(Vec<RawBackedEvent>, u64, u64)>,
) -> anyhow::Result<(u64, Rejected)> {
    let mut rejected = Rejected::default();
    let mut lines = 0u64;
    let mut bytes = 0u64;
    let mut batch: Vec<RawBackedEvent> = Vec::with_capacity(batch_size);
    let mut line = Vec::with_capacity(4096);
    for path in &args.files {
        let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut number = 0u64;
        loop {
            line.clear();
            let n = read_line_bounded(&mut reader, &mut line, args.max_line)
                .with_context(|| format!("{}: read error after line {number}", path.display()))?;
            let Some((read, too_long)) = n else { break };
            number += 1;
            lines += 1;
            bytes += read as u64;
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if line.is_empty() {
                continue;
            }
            if too_long {
                rejected.add(
                    format!("line longer than {} bytes", args.max_line),
                    format!("{}:{number}", path.display()),
                );
                continue;
            }
            match parse(&line, opts) {
                Ok(message) => batch.push(message.to_raw_backed_event(now_ns(), &line)),
                Err(e) => rejected.add(
                    e.kind.to_string(),
                    format!("{}:{number}: byte {}", path.display(), e.offset),
                ),
            }
            if batch.len() >= batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                if sender
                    .send((full, lines, std::mem::take(&mut bytes)))
                    .is_err()
                {
                    // The appender stopped (and reports why).
                    return Ok((lines, rejected));
                }
            }
        }
    }
    if !batch.is_empty() || bytes > 0 {
        let _ = sender.send((batch, lines, bytes));
    }
    Ok((lines, rejected))
}

/// Reads one line (through '\n') into `out`, keeping at most `max` bytes of
/// it; returns the bytes consumed and whether the line was cut, or `None`
/// at the end of input.
fn read_line_bounded(
    reader: &mut impl BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<(usize, bool)>> {
    let mut consumed = 0usize;
    let mut too_long = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((consumed > 0).then_some((consumed, too_long)));
        }
        let (chunk, done) = match memchr_newline(buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = (max + 2).saturating_sub(out.len());
        if chunk.len() > room {
            too_long = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let len = chunk.len();
        reader.consume(len);
        consumed += len;
        if done {
            let content = out
                .iter()
                .rev()
                .skip_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            return Ok(Some((consumed, too_long || content > max)));
        }
    }
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|b| *b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::read_line_bounded;

    #[test]
    fn long_lines_are_cut_and_flagged() {
        let mut input: &[u8] = b"short\nthis line is too long\nok\nlast";
        let mut out = Vec::new();
        let mut results = Vec::new();
        for _ in 0..10 {
            out.clear();
            match read_line_bounded(&mut input, &mut out, 8).unwrap() {
                None => break,
                Some((_, long)) => {
                    results.push((String::from_utf8_lossy(&out).trim_end().to_string(), long))
                }
            }
        }
        assert_eq!(results[0], ("short".to_string(), false));
        assert!(results[1].1);
        assert_eq!(results[2], ("ok".to_string(), false));
        assert_eq!(results[3], ("last".to_string(), false));
        assert_eq!(results.len(), 4);
    }
}
