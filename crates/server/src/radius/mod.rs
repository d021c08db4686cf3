//! The `[[output.radius]]` configuration; the output itself is in
//! `output::radius`.

pub mod config;
