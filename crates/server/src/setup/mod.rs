//! `netaudit setup`: the wizard that writes the configuration file
//! (`answers.rs`: the questions' checks and the file they make;
//! `prompt.rs`: the terminal; `apply.rs`: diff, check, write, audit and
//! SIGHUP).

pub(crate) mod answers;
pub(crate) mod apply;
pub(crate) mod prompt;
