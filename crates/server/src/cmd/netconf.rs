//! `netaudit netconf test --device NAME`: opens one configured
//! `[[input.netconf]]` device's session the way `serve` does (host-key
//! check, key authentication, hello, the stream request), prints what it
//! negotiated and the first lines of the stream, then closes it. Nothing
//! is stored.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::config::Config;
use crate::netconf::collector::{open_session, Transport};
use crate::netconf::ssh::Attempt;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Connect to one configured device, print what was negotiated, close.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// The configuration file that names the device.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// The `name` of the `[[input.netconf]]` table.
    #[arg(long, value_name = "NAME")]
    pub device: String,
    /// How many lines of the stream to wait for and print (0: none).
    #[arg(long, default_value_t = 1)]
    pub lines: usize,
    /// How long to wait for those lines, in seconds.
    #[arg(long, default_value_t = 10)]
    pub wait_secs: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Test(test) = args.command;
    let config = Config::load(&test.config)?;
    let Some(device) = config.input.netconf.iter().find(|d| d.name == test.device) else {
        // A call-home device connects to netaudit: there is nothing to dial.
        if let Some(listener) = config
            .input
            .netconf_callhome
            .iter()
            .find(|l| l.devices.iter().any(|d| d.session.name == test.device))
        {
            anyhow::bail!(
                "{}: {:?} is a device of [[input.netconf_callhome]] {:?}: it connects to netaudit \
                 (on {}), so there is nothing to test from here; its sessions are in \
                 GET /api/v1/inputs/netconf and /metrics of the running server",
                test.config.display(),
                test.device,
                listener.name,
                listener.address
            );
        }
        let names: Vec<&str> = config
            .input
            .netconf
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        anyhow::bail!(
            "{}: no [[input.netconf]] named {:?} (configured: {})",
            test.config.display(),
            test.device,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        println!(
            "device {}: {}@{} ({:?})",
            device.name,
            device.user,
            device.peer(),
            device.mode
        );
        let attempt = Attempt::new();
        let mut session = match open_session(device, &attempt, Transport::Dial, None).await {
            Ok(session) => session,
            Err(err) => {
                if let Some(fingerprint) = attempt.fingerprint() {
                    println!("host key: {fingerprint}");
                }
                println!("FAILED at {}: {err}", err.stage().as_str());
                return Ok(ExitCode::from(1));
            }
        };
        println!("host key: {} (accepted)", session.fingerprint);
        println!("negotiated: {}", session.negotiated.summary());
        println!("device capabilities:");
        for capability in &session.negotiated.capabilities {
            println!("  {capability}");
        }
        println!("stream request sent: {}", device.stream_request(None));
        let mut shown = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(test.wait_secs);
        let mut lines = Vec::new();
        while shown < test.lines {
            lines.clear();
            match tokio::time::timeout_at(deadline, session.netconf.next_lines(&mut lines)).await {
                Err(_) => {
                    println!(
                        "no more lines within {} s (the device may have nothing to send)",
                        test.wait_secs
                    );
                    break;
                }
                Ok(Err(err)) => {
                    println!("stream: {err}");
                    session.close().await;
                    return Ok(ExitCode::from(1));
                }
                Ok(Ok(())) => {
                    for line in lines.iter().take(test.lines - shown) {
                        println!("line: {line}");
                        shown += 1;
                    }
                }
            }
        }
        session.close().await;
        println!("OK");
        Ok(ExitCode::SUCCESS)
    })
}
