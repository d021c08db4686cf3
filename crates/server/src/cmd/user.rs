//! `netaudit user`: local API users and API tokens in the auth database.
//!
//! Every change is audited like the API's: its catalog event is queued in
//! the auth database's outbox in the change's own transaction, and the
//! server moves it into the store (at once when it runs, else at its next
//! start). The actor is the operating-system user running the command.
//!
//! On a PostgreSQL store (`--store CONNECTION`, or a configuration with
//! `store.backend = "postgres"`) the users are the cluster's, in the
//! database: the event is queued in the database's outbox in the change's
//! transaction and the first node to see it stores it in its chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::auth::{AuthDb, Role, SharedUsers};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Configuration file: the auth database is `api.auth_db`, by default
    /// `auth.db` beside `store.path`; with `store.backend = "postgres"`,
    /// the users are that database's (as with --store).
    #[arg(long, short = 'c', value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The auth database file (overrides the configuration).
    #[arg(long, value_name = "FILE", global = true)]
    pub auth_db: Option<PathBuf>,
    /// The users of a cluster's PostgreSQL store (a libpq URL or key=value
    /// string, as `netaudit query --store`; the password from
    /// `password_file=` or PGPASSWORD) rather than a local auth database.
    #[arg(long, value_name = "CONNECTION", global = true, conflicts_with_all = ["auth_db", "config"])]
    pub store: Option<String>,
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user. The password is read from --password-file (first
    /// line) or asked on the terminal twice; there is no default password.
    Add {
        name: String,
        #[arg(long, value_parser = ["admin", "auditor", "reporter"])]
        role: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// List users, their roles and whether they are locked.
    List,
    /// Lock an account (it cannot log in or use its tokens).
    Lock { name: String },
    /// Unlock an account and forget its counted login failures.
    Unlock { name: String },
    /// Set a new password (from --password-file or the terminal).
    Passwd {
        name: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Make an API token for an application (printed once; only a digest is
    /// kept). A token may only submit events and operations.
    Token { name: String },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (db, place) = open(&args)?;
    match args.command {
        UserCommand::Add {
            name,
            role,
            password_file,
        } => {
            let role: Role = role.parse()?;
            let password = read_password(password_file.as_ref(), true)?;
            add_user(&db, &name, role, &password, "netaudit user")?;
            eprintln!("user {name} created with role {role} in {place}");
        }
        UserCommand::List => {
            for user in db.users()? {
                println!(
                    "{}\t{}\t{}",
                    user.name,
                    user.role,
                    if user.locked { "locked" } else { "active" }
                );
            }
        }
        UserCommand::Lock { name } => {
            let event = lock_event("JUNOSCOPE_USER_LOCKED_BY_ADMIN", &name)?;
            db.set_locked_audited(&name, true, Some(&event))?;
            eprintln!("user {name} locked");
        }
        UserCommand::Unlock { name } => {
            let event = lock_event("JUNOSCOPE_USER_UNLOCKED_BY_ADMIN", &name)?;
            db.set_locked_audited(&name, false, Some(&event))?;
            eprintln!("user {name} unlocked");
        }
        UserCommand::Passwd {
            name,
            password_file,
        } => {
            if db.user(&name)?.is_none() {
                anyhow::bail!("no user '{name}'");
            }
            let password = read_password(password_file.as_ref(), true)?;
            let event = cli_event(
                "JUNOSCOPE_USER_PASSWORD_CHANGED",
                &[
                    ("target-user", &name),
                    ("username", &operator()),
                    ("client-address", CLI_CLIENT),
                ],
            )?;
            db.set_password_audited(&name, &password, Some(&event))?;
            eprintln!("password of {name} changed");
        }
        UserCommand::Token { name } => {
            // As in the API: the catalog has no message for token creation.
            let token = db.create_token(&name)?;
            println!("{token}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The users' database the arguments name, and how to name it.
fn open(args: &Args) -> anyhow::Result<(AuthDb, String)> {
    if let Some(text) = &args.store {
        let spec = netaudit_pgstore::ConnectionSpec::parse(text)?;
        let place = format!("database {}", spec.target());
        return Ok((
            AuthDb::shared_only(SharedUsers::new(spec, "netaudit-user"))?,
            place,
        ));
    }
    if let Some(path) = &args.auth_db {
        return Ok((AuthDb::open(path)?, path.display().to_string()));
    }
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let db = AuthDb::open_configured(&config)?;
    let place = match db.shared() {
        Some(shared) => format!("database {}", shared.target()),
        None => config.api.auth_db_path(&config.store).display().to_string(),
    };
    Ok((db, place))
}

pub(crate) use crate::self_events::CLI_APP;

/// The client address of `netaudit user` changes (no network peer).
pub(crate) const CLI_CLIENT: &str = "local";

/// The operating-system user running the command, as the actor.
fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

fn cli_event(code: &str, vars: &[(&str, &str)]) -> anyhow::Result<netaudit_event::Event> {
    via_event(code, vars, "netaudit user")
}

fn via_event(
    code: &str,
    vars: &[(&str, &str)],
    via: &str,
) -> anyhow::Result<netaudit_event::Event> {
    crate::self_events::audit_event(code, vars, &[("via", via)], CLI_APP)
        .map_err(|e| anyhow::anyhow!("cannot make the audit event {code}: {e}"))
}

/// Creates a user, audited as `JUNOSCOPE_USER_CREATED` by the
/// operating-system user, `via` the command (`netaudit user`, `netaudit setup`).
pub(crate) fn add_user(
    db: &AuthDb,
    name: &str,
    role: Role,
    password: &str,
    via: &str,
) -> anyhow::Result<()> {
    let event = via_event(
        "JUNOSCOPE_USER_CREATED",
        &[
            ("new-user", name),
            ("username", &operator()),
            ("client-address", CLI_CLIENT),
        ],
        via,
    )?;
    db.add_user_audited(name, role, password, Some(&event))?;
    Ok(())
}

fn lock_event(code: &str, name: &str) -> anyhow::Result<netaudit_event::Event> {
    cli_event(
        code,
        &[
            ("username", name),
            ("client-address", CLI_CLIENT),
            ("admin-username", &operator()),
        ],
    )
}

/// The first line of `file`, or a password typed twice on the terminal.
fn read_password(file: Option<&PathBuf>, confirm: bool) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("--password-file {}: cannot read", file.display()))?;
        let line = text.lines().next().unwrap_or_default().to_string();
        return Ok(line);
    }
    let first = rpassword::prompt_password("Password: ")
        .context("cannot read a password from the terminal (use --password-file)")?;
    if confirm {
        let second = rpassword::prompt_password("Password again: ")
            .context("cannot read a password from the terminal")?;
        if first != second {
            anyhow::bail!("the passwords differ");
        }
    }
    Ok(first)
}
