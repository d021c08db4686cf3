//! `netaudit radius test`: sends one Accounting-On and one Accounting-Off to
//! a RADIUS accounting server and reports each round trip, so operators can
//! check address, port, shared secret and firewall before enabling the
//! accounting output.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use netaudit_radius::{attr, AcctStatusType, Attribute};

use crate::config::output::radius::{load_secret, resolve_address};
use crate::metrics::radius::RadiusMetrics;
use crate::output::radius::client::{AccountingClient, ClientOptions, ServerSpec};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Send an Accounting-On/Accounting-Off pair and report the round trips.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// Server HOST:PORT; repeat for failover order.
    #[arg(long = "server", required = true, value_name = "ADDR")]
    pub servers: Vec<String>,
    /// File holding the shared secret (one trailing newline is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "secret_env")]
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the shared secret.
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Accept a secret shorter than 16 octets.
    #[arg(long)]
    pub allow_short_secret: bool,
    /// NAS-Identifier sent in both requests.
    #[arg(long, default_value = "netaudit")]
    pub nas_identifier: String,
    /// First wait for a reply, in milliseconds (doubles per retransmission).
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// Identical retransmissions per server.
    #[arg(long, default_value_t = 2)]
    pub retransmissions: u32,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Test(test) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(run_test(test))
        }
    }
}

async fn run_test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let secret = load_secret(
        args.secret_file.as_deref(),
        args.secret_env.as_deref(),
        args.allow_short_secret,
    )
    .map_err(|message| anyhow::anyhow!("shared secret: {message}"))?;
    if args.nas_identifier.is_empty() || args.nas_identifier.len() > 253 {
        anyhow::bail!("--nas-identifier must be 1 to 253 octets");
    }
    if args.timeout_ms == 0 {
        anyhow::bail!("--timeout-ms must be above 0");
    }
    let mut servers = Vec::with_capacity(args.servers.len());
    for server in &args.servers {
        let address = resolve_address(server).map_err(|m| anyhow::anyhow!("--server: {m}"))?;
        servers.push(ServerSpec {
            address,
            secret: secret.clone(),
        });
    }
    let timeout = Duration::from_millis(args.timeout_ms);
    let options = ClientOptions {
        timeout,
        max_timeout: timeout.saturating_mul(8),
        retransmissions: args.retransmissions,
        ..ClientOptions::default()
    };
    let client = AccountingClient::new(servers, options, Arc::new(RadiusMetrics::default()))
        .await
        .context("cannot open the RADIUS client")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let session = format!("netaudit-test-{}-{now}", std::process::id());
    for status in [AcctStatusType::AccountingOn, AcctStatusType::AccountingOff] {
        let attributes = vec![
            Attribute::integer(attr::ACCT_STATUS_TYPE, status.number()),
            Attribute::string(attr::NAS_IDENTIFIER, &args.nas_identifier),
            Attribute::string(attr::ACCT_SESSION_ID, &session),
            Attribute::date(
                attr::EVENT_TIMESTAMP,
                u32::try_from(now).unwrap_or(u32::MAX),
            ),
            Attribute::integer(attr::ACCT_DELAY_TIME, 0),
        ];
        match client.send(|| attributes.clone()).await {
            Ok(ack) => println!(
                "{status}: acknowledged by {} in {:.3} ms ({} {})",
                ack.server,
                ack.round_trip.as_secs_f64() * 1000.0,
                ack.tries,
                if ack.tries == 1 { "try" } else { "tries" }
            ),
            Err(error) => {
                eprintln!("netaudit: {status}: {error}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
