//! What the console's pages share: the API's state (store, users,
//! sessions, audit) and how its cookies are marked.

use std::sync::Arc;

use super::overview_tally::OverviewTally;
use super::verify_run::VerifyRuns;
use crate::api::ApiState;

/// The console's state.
pub(crate) struct ConsoleState {
    pub api: Arc<ApiState>,
    /// Whether cookies carry `Secure`: not on plain HTTP, which the
    /// configuration allows on loopback (and beyond only when
    /// `http.console_plain_http` says so explicitly), since a browser
    /// would not send a `Secure` cookie back over it.
    pub secure_cookies: bool,
    /// The Integrity page's last run of `verify`.
    pub(super) verify_runs: VerifyRuns,
    /// The Overview's counts, kept between views.
    pub(super) overview: OverviewTally,
}

impl ConsoleState {
    pub(crate) fn new(api: Arc<ApiState>, secure_cookies: bool) -> ConsoleState {
        ConsoleState {
            api,
            secure_cookies,
            verify_runs: VerifyRuns::default(),
            overview: OverviewTally::default(),
        }
    }
}
