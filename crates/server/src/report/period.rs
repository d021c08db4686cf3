//! What a report covers: a window of event time and one sending host.

/// What a report covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Period {
    pub since_ns: Option<i64>,
    pub until_ns: Option<i64>,
    pub host: Option<String>,
}
