//! The web console (docs/console.md) in a real browser: `netaudit serve`
//! and Debian's `chromedriver` started on loopback high ports, headless
//! Chromium driven through WebDriver (`fantoccini`). A binary of its own
//! because it needs the browser; its tests take one browser at a time
//! (`browser::one_at_a_time`), so the 2-core CI machine is not swamped.
//! Screenshots of the pages go to `target/console-screenshots/`.

// The shared helpers are `pub` for the modules of this test binary.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod browser;
mod forms;
mod https;
mod login;
mod netconf_devices;
mod search;
mod site;
mod tail;
