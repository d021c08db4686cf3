//! netaudit, the server as a library: the command line (`cli`), `serve`
//! (listeners, pipeline, outputs, HTTP API) and the subcommands in `cmd/`.
//! The `netaudit` binary (`main.rs`) only calls [`cli::main`].
//! [`api::LocalApi`] builds the HTTP API's router in-process, without the
//! serve loop (embedding, and tests that need no socket).

pub mod api;
pub mod cli;

mod auth;
mod clock;
mod cmd;
mod commit_signal;
mod config;
mod console;
mod display;
mod fdlimit;
mod glob;
mod integrity;
mod metrics;
mod netconf;
mod netconf_server;
mod node_display;
mod output;
mod pem;
mod pipeline;
mod policy;
mod report;
mod retention_watch;
mod self_events;
mod serve;
mod setup;
mod stop_flag;
mod storage_watch;
