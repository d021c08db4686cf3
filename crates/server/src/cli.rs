//! The command line: parses arguments and dispatches to `cmd/`.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::cmd;

/// netaudit: security audit logging for Junos networks and JUNOScope.
///
/// Parses and writes Junos syslog (standard and RFC 5424 structured-data),
/// knows every JUNOScope event of the catalog, and stores events durably.
#[derive(Debug, Parser)]
#[command(name = "netaudit", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse syslog lines (files or stdin) into one JSON object per line.
    Parse(cmd::parse::Args),
    /// Render one JUNOScope catalog event as a syslog line.
    Format(cmd::format::Args),
    /// Show the JUNOScope event catalog.
    Catalog(cmd::catalog::Args),
    /// Receive syslog (UDP, TCP, TLS) into the durable store.
    Serve(cmd::serve::Args),
    /// Validate a configuration file without starting.
    CheckConfig(cmd::check_config::Args),
    /// Write the configuration file: a wizard, or --answers FILE; --reconfigure one answer.
    Setup(cmd::setup::Args),
    /// Query the store by time, code, severity, user, host, device, operation, text.
    Query(cmd::query::Args),
    /// Print the newest stored events; with -f, follow new ones.
    Tail(cmd::tail::Args),
    /// Walk the tamper-evident chain and report where it breaks.
    Verify(cmd::verify::Args),
    /// The PostgreSQL store: `store migrate` (the schema), `store copy` (from SQLite).
    Store(cmd::store::Args),
    /// Key management: export the verify key.
    Keys(cmd::keys::Args),
    /// Signed partition archives: verify one offline, import one for examination.
    Archive(cmd::archive::Args),
    /// Parse syslog files and store their events.
    Import(cmd::import::Args),
    /// Reports over the store: `report ndcpp`, the NDcPP audit coverage.
    Report(cmd::report::Args),
    /// RADIUS accounting tools (`radius test`: check a server and secret).
    Radius(cmd::radius::Args),
    /// NETCONF inputs (`netconf test --device NAME`: check one device's session).
    Netconf(cmd::netconf::Args),
    /// API users and tokens: add, list, lock, unlock, passwd, token.
    User(cmd::user::Args),
    /// Print a shell completion script (bash, zsh, fish) on standard output.
    Completions(cmd::completions::Args),
    /// Write the manual pages: netaudit(1), one per subcommand, netaudit.toml(5).
    Man(cmd::man::Args),
}

/// Parses the command line, runs the subcommand and maps its result to the
/// process exit code (2 with the error on standard error).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Format(args) => cmd::format::run(args),
        Command::Catalog(args) => cmd::catalog::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::CheckConfig(args) => cmd::check_config::run(args),
        Command::Setup(args) => cmd::setup::run(args),
        Command::Query(args) => cmd::query::run(args),
        Command::Tail(args) => cmd::tail::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Store(args) => cmd::store::run(args),
        Command::Keys(args) => cmd::keys::run(args),
        Command::Archive(args) => cmd::archive::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Radius(args) => cmd::radius::run(args),
        Command::Netconf(args) => cmd::netconf::run(args),
        Command::User(args) => cmd::user::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
        Command::Man(args) => cmd::man::run(args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("netaudit: error: {}", error_text(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: a message that already
/// contains its cause's text (`cannot read: No such file ... (os error 2)`)
/// is not followed by that cause again.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
