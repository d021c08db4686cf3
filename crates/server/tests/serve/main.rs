//! `netaudit serve` over its sockets: real senders on UDP and TCP, bad
//! input, crash safety, SIGHUP reloads, TLS listeners, and the RADIUS
//! accounting output against a real FreeRADIUS, and the NETCONF collector
//! against a private sshd running the Junos simulator (and Debian's
//! netconfd, a NETCONF server of another project).

// The shared helpers are `pub` for the modules of this test binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod archive;
mod bad_input;
mod config_errors;
mod crash;
mod full_disk;
mod inputs;
mod integrity;
mod netconf;
mod netconf_callhome;
mod netconf_export;
mod netconf_sessions;
mod pg_auth;
mod pg_examine;
mod pg_failover;
mod pg_nodes;
mod pg_outputs;
mod pg_overview;
mod pg_report;
mod policies;
mod policy_actions;
mod radius;
mod reload;
mod relp;
mod sftp_archive;
mod shutdown;
mod store_reliability;
mod systemd;
mod tls;
