//! `netaudit parse [FILE...]`: one JSON object per input line.
//!
//! Lines are read as bytes (a line may be invalid UTF-8) with a bounded
//! length: an overlong line is reported and skipped without being held in
//! memory whole. Parsed lines go to stdout as JSON, failures to stderr as
//! `LINE:OFFSET: reason` (`FILE:LINE:OFFSET: reason` when several files are
//! given); a count summary ends the run on stderr. Exit status: 0 when every
//! line parsed, 1 when any line failed, 2 on an I/O error.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use netaudit_syslog::parse::{parse, ParseOptions, SdElement, SyslogMessage};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Output: one JSON object per parsed line with the keys format, priority, \
facility, severity, timestamp (RFC 3339, UTC), hostname, app_name, proc_id, msg_id, \
structured_data and message. Lines that fail go to stderr as LINE:OFFSET: reason \
(FILE:LINE:OFFSET when several files are given), then a count summary.\n\
Exit status: 0 all lines parsed, 1 some line failed, 2 I/O error. See docs/parsing.md."
)]
pub(crate) struct Args {
    /// Files to read, one syslog line per line; standard input when none.
    pub files: Vec<PathBuf>,

    /// Year given to year-less (RFC 3164 / BSD) timestamps such as
    /// `Jun 20 13:00:05`. Default: the year that puts the timestamp nearest
    /// to now (so `Dec 31 23:59:59` read on Jan 1 is last year's).
    #[arg(long, value_name = "YYYY")]
    pub year: Option<i32>,

    /// Longest line accepted, in bytes (line terminator excluded). Longer
    /// lines are reported as failed and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_line: usize,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = match args.year {
        Some(year) => ParseOptions::with_fixed_year(year),
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .context("system clock is before 1970")?;
            ParseOptions::with_reference_time(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let mut counts = Counts::default();
    if args.files.is_empty() {
        let stdin = io::stdin();
        let reader = stdin.lock();
        parse_stream(
            reader,
            None,
            &opts,
            args.max_line,
            &mut out,
            &mut err,
            &mut counts,
        )
        .context("reading standard input")?;
    } else {
        let label = args.files.len() > 1;
        for path in &args.files {
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let name = path.display().to_string();
            parse_stream(
                BufReader::with_capacity(64 * 1024, file),
                label.then_some(name.as_str()),
                &opts,
                args.max_line,
                &mut out,
                &mut err,
                &mut counts,
            )
            .with_context(|| format!("reading {}", path.display()))?;
        }
    }
    out.flush().context("writing standard output")?;
    writeln!(
        err,
        "netaudit parse: {} lines, {} parsed, {} failed",
        counts.parsed + counts.failed,
        counts.parsed,
        counts.failed
    )?;
    Ok(if counts.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct Counts {
    parsed: u64,
    failed: u64,
}

/// One line as read: its bytes, or the fact that it was too long.
enum Line {
    Complete,
    Overlong,
    Eof,
}

/// Reads up to the next LF into `buf` (without the LF), keeping at most
/// `max` bytes; the rest of an overlong line is consumed and dropped.
fn read_bounded_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    buf.clear();
    let mut overlong = false;
    let mut saw_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if !saw_any {
                Line::Eof
            } else if overlong {
                Line::Overlong
            } else {
                Line::Complete
            });
        }
        saw_any = true;
        let (chunk, consumed, done) = match available.iter().position(|&c| c == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !overlong {
            if buf.len() + chunk.len() > max {
                overlong = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(consumed);
        if done {
            return Ok(if overlong {
                Line::Overlong
            } else {
                Line::Complete
            });
        }
    }
}

fn parse_stream<R: BufRead, W: Write, E: Write>(
    mut reader: R,
    label: Option<&str>,
    opts: &ParseOptions,
    max_line: usize,
    out: &mut W,
    err: &mut E,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut line_no: u64 = 0;
    let prefix = label.map(|l| format!("{l}:")).unwrap_or_default();
    loop {
        let state = read_bounded_line(&mut reader, &mut buf, max_line)?;
        line_no += 1;
        match state {
            Line::Eof => return Ok(()),
            Line::Overlong => {
                counts.failed += 1;
                writeln!(
                    err,
                    "{prefix}{line_no}:{max_line}: line longer than {max_line} bytes, skipped"
                )?;
            }
            Line::Complete => {
                let line = buf.strip_suffix(b"\r").unwrap_or(&buf);
                if line.is_empty() {
                    continue; // blank lines are not records
                }
                match parse(line, opts) {
                    Ok(msg) => {
                        counts.parsed += 1;
                        serde_json::to_writer(&mut *out, &JsonRecord(&msg))?;
                        out.write_all(b"\n")?;
                    }
                    Err(e) => {
                        counts.failed += 1;
                        writeln!(err, "{prefix}{line_no}:{}: {}", e.offset, e.kind)?;
                    }
                }
            }
        }
    }
}

/// The JSON shape of one record, keys in the documented order.
struct JsonRecord<'m, 'a>(&'m SyslogMessage<'a>);

impl Serialize for JsonRecord<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("format", m.format.as_str())?;
        map.serialize_entry("priority", &m.priority.map(|p| p.code()))?;
        map.serialize_entry("facility", &m.priority.map(|p| p.facility.name()))?;
        map.serialize_entry("severity", &m.priority.map(|p| p.severity.name()))?;
        map.serialize_entry("timestamp", &m.timestamp.map(|t| t.to_rfc3339_utc()))?;
        map.serialize_entry("hostname", &m.hostname)?;
        map.serialize_entry("app_name", &m.app_name)?;
        map.serialize_entry("proc_id", &m.proc_id)?;
        map.serialize_entry("msg_id", &m.msg_id)?;
        map.serialize_entry("structured_data", &JsonSd(&m.structured_data))?;
        map.serialize_entry("message", &m.message)?;
        map.end()
    }
}

/// SD as an object in SD order. Elements with the same SD-ID are merged;
/// a param name that occurs more than once in one SD-ID becomes an array of
/// its values in order (JSON objects cannot repeat keys).
struct JsonSd<'m, 'a>(&'m [SdElement<'a>]);

impl Serialize for JsonSd<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut ids: Vec<&str> = Vec::new();
        for e in self.0 {
            if !ids.contains(&e.id) {
                ids.push(e.id);
            }
        }
        let mut map = s.serialize_map(Some(ids.len()))?;
        for id in ids {
            map.serialize_entry(
                id,
                &JsonParams {
                    elements: self.0,
                    id,
                },
            )?;
        }
        map.end()
    }
}

struct JsonParams<'m, 'a> {
    elements: &'m [SdElement<'a>],
    id: &'m str,
}

impl Serialize for JsonParams<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let params: Vec<(&str, &str)> = self
            .elements
            .iter()
            .filter(|e| e.id == self.id)
            .flat_map(|e| e.params.iter().map(|p| (p.name, p.value.as_ref())))
            .collect();
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in &params {
            if !names.contains(name) {
                names.push(name);
            }
        }
        let mut map = s.serialize_map(Some(names.len()))?;
        for name in names {
            let values: Vec<&str> = params
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .collect();
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, &JsonValues(many))?,
            }
        }
        map.end()
    }
}

struct JsonValues<'m>(&'m [&'m str]);

impl Serialize for JsonValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_reader_skips_overlong_lines_and_keeps_the_next() {
        let input = b"short\nthis line is far too long\nok\r\nlast";
        let mut reader = BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..10 {
            match read_bounded_line(&mut reader, &mut buf, 8).unwrap() {
                Line::Eof => break,
                Line::Overlong => seen.push("<overlong>".to_string()),
                Line::Complete => seen.push(String::from_utf8_lossy(&buf).into_owned()),
            }
        }
        assert_eq!(seen, ["short", "<overlong>", "ok\r", "last"]);
        let mut empty: &[u8] = b"";
        assert!(matches!(
            read_bounded_line(&mut empty, &mut buf, 8).unwrap(),
            Line::Eof
        ));
    }
}
