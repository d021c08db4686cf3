//! `netaudit setup`: write the configuration file from answers asked on
//! the terminal (or read from `--answers FILE`), show the diff against the
//! file it replaces, check it as `check-config` does, write it, audit the
//! change and, with `--reload-pid`, have the running server re-read it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::setup::answers::{check_facility, Answers};
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
    /// (comments included): `facility`, the facility of every syslog destination.
    #[arg(long, value_name = "ANSWER", value_parser = ["facility"])]
    pub reconfigure: Option<String>,
    /// Ask nothing: take the answers from --answers.
    #[arg(long, requires = "answers")]
    pub non_interactive: bool,
    /// The answers as TOML (the keys are in docs/install.md); with --reconfigure,
    /// only the changed one is read.
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
        Some(path) => Some(read_answers(path)?),
        None => None,
    };
    let (new, what) = match args.reconfigure.as_deref() {
        Some(_facility) => {
            let old = old.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: no such file to reconfigure; run `netaudit setup` first",
                    args.config.display()
                )
            })?;
            let facility = match &answers_file {
                Some(answers) => check_facility(&answers.facility)
                    .map_err(|e| anyhow::anyhow!("{}: facility: {e}", path_of(&args.answers)))?,
                None => prompt::ask_facility(
                    &apply::current_facility(old).unwrap_or_else(|| "local2".into()),
                )?,
            };
            (
                apply::with_facility(old, &facility)?,
                format!("reconfigured: facility set to {facility}"),
            )
        }
        None => {
            let answers = match answers_file {
                Some(answers) => answers,
                None => {
                    let dir = args.config.parent().filter(|d| !d.as_os_str().is_empty());
                    prompt::ask_all(dir.unwrap_or(std::path::Path::new(".")))?
                }
            };
            (
                answers.render(),
                if old.is_some() {
                    "rewritten".into()
                } else {
                    "written".to_string()
                },
            )
        }
    };
    let old_text = old.unwrap_or_default();
    if old_text == new {
        println!("{}: unchanged", args.config.display());
        return Ok(ExitCode::SUCCESS);
    }
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
    Ok(ExitCode::SUCCESS)
}

fn read_answers(path: &PathBuf) -> anyhow::Result<Answers> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the answers", path.display()))?;
    let answers: Answers = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message()))?;
    answers
        .check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(answers)
}

fn path_of(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
