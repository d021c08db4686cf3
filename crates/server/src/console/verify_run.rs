//! The Integrity page's run of `verify`, kept in the console's state: one
//! at a time, in memory (a restart forgets it).

use std::sync::Mutex;

use maud::{html, Markup};
use serde_json::Value;

use crate::display::{format_ns, now_ns};

/// The console's last run of `verify` (in memory: a restart forgets it).
#[derive(Debug, Clone, Default)]
pub(crate) enum VerifyRun {
    #[default]
    Never,
    Running {
        started_ns: i64,
        by: String,
    },
    Done {
        started_ns: i64,
        finished_ns: i64,
        by: String,
        /// `GET /api/v1/verify`'s JSON, or the message it refused with.
        outcome: Result<Value, String>,
    },
}

/// Where the run is kept.
#[derive(Default)]
pub(crate) struct VerifyRuns(Mutex<VerifyRun>);

impl VerifyRuns {
    pub(super) fn get(&self) -> VerifyRun {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(super) fn set(&self, run: VerifyRun) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = run;
    }
    /// Marks a run started unless one is running; false when one is.
    pub(super) fn start(&self, by: &str) -> bool {
        let mut run = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*run, VerifyRun::Running { .. }) {
            return false;
        }
        *run = VerifyRun::Running {
            started_ns: now_ns(),
            by: by.to_string(),
        };
        true
    }
}

/// The state of the console's verify run; `report` draws a finished run's
/// report (`report, by, finished_ns, took_ms`), which differs between the
/// embedded store and the nodes of a PostgreSQL store.
pub(super) fn run_state(
    run: &VerifyRun,
    report: impl FnOnce(&Value, &str, i64, i64) -> Markup,
) -> Markup {
    match run {
        VerifyRun::Never => {
            html! { p.count id="verify-state" { "Not run from the console since the server started." } }
        }
        VerifyRun::Running { started_ns, by } => html! {
            p.note id="verify-state" { "Running: started by " (by) " at " (format_ns(*started_ns)) "; this page reloads until it is done." }
        },
        VerifyRun::Done {
            started_ns,
            finished_ns,
            by,
            outcome: Ok(value),
        } => report(
            value,
            by,
            *finished_ns,
            (finished_ns - started_ns) / 1_000_000,
        ),
        VerifyRun::Done {
            outcome: Err(message),
            ..
        } => html! { p.message id="verify-state" { "Could not verify: " (message) } },
    }
}
