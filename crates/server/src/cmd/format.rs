//! `netaudit format`: render one JUNOScope catalog event as a syslog line,
//! in the JUNOScope standard format or the Junos structured-data format.

use std::io::Write;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context};
use netaudit_event::catalog::{catalog, EventContext, DEFAULT_SD_ID};
use netaudit_event::Facility;
use netaudit_syslog::format::{
    write_standard, write_structured, StandardOptions, StructuredOptions,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Process name used when --app is not given: `junoscope` + JUNOScope's
/// default HTTP port.
const DEFAULT_APP: &str = "junoscope8080";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Catalog code or alias, e.g. JUNOSCOPE_USER_CREATED (see `netaudit catalog`).
    #[arg(long)]
    pub code: String,
    /// One template variable as NAME=VALUE; repeat for each variable of the code.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Write the Junos structured-data format (RFC 5424) instead of the
    /// JUNOScope standard format.
    #[arg(long)]
    pub structured: bool,
    /// Structured-data without the English text (Junos `brief`).
    #[arg(long, requires = "structured")]
    pub brief: bool,
    /// Syslog facility, local0..local7 (JUNOScope's choices).
    #[arg(long, default_value = "local2")]
    pub facility: String,
    /// Host name in the line [default: this machine's host name].
    #[arg(long)]
    pub host: Option<String>,
    /// Process name: `junoscope` + the HTTP port JUNOScope runs on.
    #[arg(long, default_value = DEFAULT_APP)]
    pub app: String,
    /// Process id [default: none; the standard format then has no `[pid]`,
    /// the structured format a `-`].
    #[arg(long)]
    pub pid: Option<String>,
    /// Event time, RFC 3339 (e.g. 2007-06-20T13:00:05Z) [default: now].
    #[arg(long)]
    pub time: Option<String>,
    /// SD-ID of the element that carries the variables (structured format).
    #[arg(long, default_value = DEFAULT_SD_ID)]
    pub sd_id: String,
    /// Prefix `<PRI>` to the standard format, as sent over a network.
    #[arg(long, conflicts_with = "structured")]
    pub network: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let line = render_line(&args)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&line)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}

/// The formatted line (without line terminator) the arguments ask for.
fn render_line(args: &Args) -> anyhow::Result<Vec<u8>> {
    let entry = catalog().lookup(&args.code)?;
    let vars = args
        .vars
        .iter()
        .map(|var| {
            var.split_once('=').ok_or_else(|| {
                anyhow!(
                    "--var '{var}' is not NAME=VALUE (variables of {}: {})",
                    entry.code,
                    entry.variable_names().join(", ")
                )
            })
        })
        .collect::<anyhow::Result<Vec<(&str, &str)>>>()?;
    let rendered = entry
        .render(&vars)
        .map_err(|err| anyhow!("{err}; give each as --var NAME=VALUE"))?;
    let facility = parse_facility(&args.facility)?;
    check_sd_id(&args.sd_id)?;
    let now = crate::clock::now_ns();
    let time_ns = match &args.time {
        Some(text) => parse_time(text)?,
        None => now,
    };
    let ctx = EventContext {
        time_ns: Some(time_ns),
        host: args.host.clone().or_else(local_hostname),
        app: Some(args.app.clone()),
        pid: args.pid.clone(),
        facility,
        sd_id: args.sd_id.clone(),
        received_ns: now,
    };
    let event = rendered.into_event(&ctx);
    let mut line = Vec::with_capacity(256);
    if args.structured {
        write_structured(&event, &StructuredOptions { brief: args.brief }, &mut line);
    } else {
        write_standard(
            &event,
            &StandardOptions {
                with_pri: args.network,
            },
            &mut line,
        );
    }
    Ok(line)
}

fn parse_facility(text: &str) -> anyhow::Result<Facility> {
    match Facility::from_str(text) {
        Ok(facility) if facility.is_local() => Ok(facility),
        _ => bail!("--facility '{text}': JUNOScope logs to local0, local1, local2, local3, local4, local5, local6 or local7"),
    }
}

/// RFC 5424 SD-NAME: 1..=32 printable US-ASCII, not `=`, `]`, `"` or space.
fn check_sd_id(sd_id: &str) -> anyhow::Result<()> {
    let valid = !sd_id.is_empty()
        && sd_id.len() <= 32
        && sd_id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'=' | b']' | b'"'));
    if !valid {
        bail!("--sd-id '{sd_id}' is not an RFC 5424 SD-ID (1 to 32 printable ASCII characters without '=', ']', '\"' or space, e.g. {DEFAULT_SD_ID})");
    }
    Ok(())
}

fn parse_time(text: &str) -> anyhow::Result<i64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).map_err(|err| {
        anyhow!("--time '{text}' is not an RFC 3339 time such as 2007-06-20T13:00:05Z or 2007-06-20T15:00:05.250+02:00 ({err})")
    })?;
    i64::try_from(time.unix_timestamp_nanos())
        .map_err(|_| anyhow!("--time '{text}' is outside 1677..2262, the range netaudit stores"))
}

/// This machine's host name (Linux), if it can be read.
fn local_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_must_be_local() {
        assert_eq!(parse_facility("local0").unwrap(), Facility::Local0);
        assert_eq!(parse_facility("LOCAL7").unwrap(), Facility::Local7);
        assert!(parse_facility("kern").is_err());
        assert!(parse_facility("local8").is_err());
        assert!(parse_facility("").is_err());
    }

    #[test]
    fn time_is_rfc3339() {
        assert_eq!(
            parse_time("2007-02-15T09:17:15.719Z").unwrap(),
            1_171_531_035_719_000_000
        );
        assert_eq!(
            parse_time("2007-02-15T10:17:15.719+01:00").unwrap(),
            1_171_531_035_719_000_000
        );
        assert!(parse_time("Jun 20 13:00:05").is_err());
        assert!(parse_time("3000-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn sd_id_is_checked() {
        assert!(check_sd_id("junos@2636.1.1.1.2.18").is_ok());
        assert!(check_sd_id("bad id").is_err());
        assert!(check_sd_id("a=b").is_err());
        assert!(check_sd_id("").is_err());
        assert!(check_sd_id(&"x".repeat(33)).is_err());
    }
}
