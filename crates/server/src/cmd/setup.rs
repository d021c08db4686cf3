//! `netaudit setup`: write the configuration file from answers asked on
//! the terminal (or read from `--answers FILE`), show the diff against the
//! file it replaces, check it as `check-config` does, write it, audit the
//! change and, with `--reload-pid`, have the running server re-read it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::auth::{AuthDb, Role};
use crate::setup::answers::Answers;
use crate::setup::https::{is_loopback, plain_http_warning};
use crate::setup::policy::{auth_db_beside, FirstAdmin};
use crate::setup::reconfigure::{self, AnswersFile, Change};
use crate::setup::{apply, prompt};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file to write.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "/etc/netaudit/netaudit.toml"
    )]
    pub config: PathBuf,
    /// Change one answer of an existing file and keep everything else
    /// (comments included): `facility` (of every syslog destination),
    /// `listener`, `destination`, `radius` (the whole list asked again), `store_path`, `synchronous`, `http_address`, an `api.` key of the
    /// authentication policy, or `admin` (create another administrator).
    #[arg(long, value_name = "ANSWER", value_parser = clap::builder::PossibleValuesParser::new(reconfigure::KEYS))]
    pub reconfigure: Option<String>,
    /// Ask nothing: take the answers from --answers.
    #[arg(long, requires = "answers")]
    pub non_interactive: bool,
    /// The answers as TOML (the keys are in docs/install.md); with --reconfigure,
    /// only the changed one is used (and it must be written).
    #[arg(long, value_name = "FILE", requires = "non_interactive")]
    pub answers: Option<PathBuf>,
    /// Write without asking for confirmation after the diff.
    #[arg(long)]
    pub yes: bool,
    /// After writing, send SIGHUP to this `netaudit serve` (its process id),
    /// which re-reads the file (under systemd: `systemctl reload netaudit`).
    #[arg(long, value_name = "PID")]
    pub reload_pid: Option<i32>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let old = match std::fs::read_to_string(&args.config) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(anyhow::anyhow!(
                "{}: cannot read: {e}",
                args.config.display()
            ))
        }
    };
    let answers_file = match &args.answers {
        Some(path) => Some((read_answers(path)?, path.clone())),
        None => None,
    };
    let (new, what, admin) = match args.reconfigure.as_deref() {
        Some(key) => {
            let old = old.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: no such file to reconfigure; run `netaudit setup` first",
                    args.config.display()
                )
            })?;
            let current = crate::config::Config::load(&args.config)?;
            let auth_db = current.api.auth_db_path(&current.store);
            let file = answers_file
                .as_ref()
                .map(|((answers, raw), path)| AnswersFile { answers, raw, path });
            let secrets_dir = args
                .config
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            match reconfigure::change(key, old, file.as_ref(), &auth_db, secrets_dir)? {
                Change::File { text, what } => (text, what, None),
                Change::Admin(admin) => {
                    create_admin(&current, &admin)?;
                    hand_over_auth_db(&current);
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        None => {
            let (answers, admin) = match answers_file {
                Some(((answers, _), path)) => {
                    if answers.console_plain_http && !is_loopback(&answers.http_address) {
                        eprintln!("{}", plain_http_warning(&answers.http_address));
                    }
                    let admin = match &answers.admin {
                        Some(answer) => Some(
                            answer
                                .resolve(&auth_db_beside(&answers.store_path))
                                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                        ),
                        None => None,
                    };
                    (answers, admin)
                }
                None => {
                    let dir = args.config.parent().filter(|d| !d.as_os_str().is_empty());
                    let (answers, admin) =
                        prompt::ask_all(dir.unwrap_or(std::path::Path::new(".")))?;
                    (answers, Some(admin))
                }
            };
            (
                answers.render(),
                if old.is_some() {
                    "rewritten".into()
                } else {
                    "written".to_string()
                },
                admin,
            )
        }
    };
    let old_text = old.unwrap_or_default();
    let config = if old_text == new {
        println!("{}: unchanged", args.config.display());
        crate::config::Config::load(&args.config)?
    } else {
        print!("{}", apply::diff(&args.config, &old_text, &new));
        if !args.non_interactive && !args.yes && !prompt::confirm_write(&args.config)? {
            println!("{}: not written", args.config.display());
            return Ok(ExitCode::from(1));
        }
        let config = apply::check_and_write(&args.config, &new)?;
        println!("{}: written; it passes check-config", args.config.display());
        match apply::audit(&config, &args.config, &what) {
            Ok(()) => println!(
                "the change is audited ({}, stored by netaudit serve)",
                apply::RECONFIGURED_CODE
            ),
            Err(why) => eprintln!("netaudit: warning: the change is not audited: {why}"),
        }
        if let Some(pid) = args.reload_pid {
            apply::signal_reload(pid)?;
            println!(
                "SIGHUP sent to process {pid}: it re-reads {}",
                args.config.display()
            );
        }
        if let Some(key) = args
            .reconfigure
            .as_deref()
            .filter(|k| !reconfigure::reloads(k))
        {
            println!(
                "{key} takes effect when netaudit serve restarts (a reload applies outputs and listeners only)"
            );
        }
        config
    };
    match admin {
        Some(admin) => create_admin(&config, &admin)?,
        None if args.reconfigure.is_none() => println!(
            "no [admin] in the answers: create the first administrator with `netaudit user add NAME --role admin`"
        ),
        None => {}
    }
    hand_over_auth_db(&config);
    Ok(ExitCode::SUCCESS)
}

/// The auth database the wizard may have created (as root) goes to the
/// owner of its directory, the service user.
fn hand_over_auth_db(config: &crate::config::Config) {
    let path = config.api.auth_db_path(&config.store);
    if let Err(e) = apply::give_to_directory_owner(&path) {
        eprintln!(
            "netaudit: warning: {}: cannot give it to the owner of its directory: {e}",
            path.display()
        );
    }
}

/// The administrator in the auth database `config` names, audited as
/// `netaudit user add` audits (JUNOSCOPE_USER_CREATED, via netaudit setup).
fn create_admin(config: &crate::config::Config, admin: &FirstAdmin) -> anyhow::Result<()> {
    let path = config.api.auth_db_path(&config.store);
    let db = AuthDb::open(&path)?;
    crate::cmd::user::add_user(
        &db,
        &admin.name,
        Role::Admin,
        &admin.password,
        "netaudit setup",
    )
    .with_context(|| format!("cannot create the administrator {}", admin.name))?;
    println!(
        "administrator {} created in {} (audited: JUNOSCOPE_USER_CREATED)",
        admin.name,
        path.display()
    );
    Ok(())
}

fn read_answers(path: &PathBuf) -> anyhow::Result<(Answers, toml::Table)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the answers", path.display()))?;
    let answers: Answers = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    answers
        .check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let raw: toml::Table = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    Ok((answers, raw))
}
