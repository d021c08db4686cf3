//! RADIUS accounting output (RFC 2866): the UDP client, the store consumer
//! and the `[[output.radius]]` configuration. The pure codec and the event
//! mapping live in the `netaudit-radius` crate; see docs/radius.md.

// The output runs once `serve` reads `[[output.radius]]` and starts it (see
// docs/radius.md, "Running it in serve"); until then only `radius test`
// uses part of this.
#[allow(dead_code)]
pub mod client;
#[allow(dead_code)]
pub mod config;
#[allow(dead_code)]
pub mod consumer;

#[cfg(test)]
mod freeradius_tests;
