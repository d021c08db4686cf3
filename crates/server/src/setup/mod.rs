//! `netaudit setup`: the wizard that writes the configuration file
//! (`answers.rs`: the questions' checks and the file they make;
//! `policy.rs`: the authentication policy and the first
//! administrator; `prompt.rs`: the terminal; `reconfigure.rs`: one answer changed; `https.rs`: HTTPS or plain HTTP beyond loopback; `apply.rs`: diff, check, write, audit and
//! SIGHUP).

pub(crate) mod answers;
pub(crate) mod apply;
pub(crate) mod https;
pub(crate) mod policy;
pub(crate) mod prompt;
pub(crate) mod reconfigure;
