//! `netaudit`: the binary. Everything lives in the library; see `cli.rs`.

use std::process::ExitCode;

// Every received message becomes a dozen small strings that another thread
// frees after the commit: mimalloc's per-thread free lists make that cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    netaudit::cli::main()
}
