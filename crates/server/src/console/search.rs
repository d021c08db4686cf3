//! The search form's parameters: every filter of `netaudit query` (time
//! range with presets, code glob, severity at least, user, host, device, operation,
//! text), order, page size, the page's place by sequence number and the
//! columns shown. A search is its GET URL: bookmarkable and shareable.
//!
//! Parameters are read as text and checked here one by one, so a wrong
//! type, a huge value or invalid UTF-8 (read as U+FFFD) becomes a message
//! naming the parameter on the page, never a rejection without one.

use netaudit_store::Query as StoreQuery;

use crate::api::events::{to_store_query, Filters, PAGE_MAX};

/// A column of the results table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    Seq,
    Time,
    Severity,
    Host,
    App,
    Code,
    User,
    Client,
    Device,
    Operation,
    Message,
}

impl Column {
    pub(super) const ALL: [Column; 11] = [
        Column::Seq,
        Column::Time,
        Column::Severity,
        Column::Host,
        Column::App,
        Column::Code,
        Column::User,
        Column::Client,
        Column::Device,
        Column::Operation,
        Column::Message,
    ];
    const DEFAULT: [Column; 7] = [
        Column::Seq,
        Column::Time,
        Column::Severity,
        Column::Host,
        Column::Code,
        Column::User,
        Column::Message,
    ];

    /// Its name in URLs.
    pub(super) fn key(self) -> &'static str {
        match self {
            Column::Seq => "seq",
            Column::Time => "time",
            Column::Severity => "severity",
            Column::Host => "host",
            Column::App => "app",
            Column::Code => "code",
            Column::User => "user",
            Column::Client => "client",
            Column::Device => "device",
            Column::Operation => "operation",
            Column::Message => "message",
        }
    }

    /// Its heading.
    pub(super) fn label(self) -> &'static str {
        match self {
            Column::Seq => "Seq",
            Column::Time => "Time (UTC)",
            Column::Severity => "Severity",
            Column::Host => "Host",
            Column::App => "App",
            Column::Code => "Code",
            Column::User => "User",
            Column::Client => "Client",
            Column::Device => "Device",
            Column::Operation => "Operation",
            Column::Message => "Message",
        }
    }

    fn from_key(key: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The time presets offered beside the time fields (`since` values).
pub(super) const PRESETS: [(&str, &str); 5] = [
    ("15m", "15 min"),
    ("1h", "1 hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
    ("30d", "30 days"),
];

/// The severities offered, most severe first.
pub(super) const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
];

/// The text filters, in form order: (parameter, label).
pub(super) const TEXT_FILTERS: [(&str, &str); 8] = [
    ("since", "Since"),
    ("until", "Until"),
    ("code", "Code"),
    ("user", "User"),
    ("host", "Host"),
    ("device", "Device"),
    ("operation", "Operation"),
    ("text", "Text"),
];

/// The default page size.
pub(super) const DEFAULT_LIMIT: usize = 50;
/// The longest value of one parameter, in bytes (the API's limit).
const VALUE_MAX: usize = 4096;

/// One search, as its URL says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Search {
    /// `since`, `until`, `code`, `user`, `host`, `device`, `operation`, `text` as typed
    /// (empty: not filtered).
    pub text: Vec<(&'static str, String)>,
    pub severity: String,
    /// Newest first (the default) or oldest first.
    pub newest_first: bool,
    pub limit: usize,
    /// Continue after (oldest first) or before (newest first) this sequence.
    pub from: Option<u64>,
    pub columns: Vec<Column>,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            text: TEXT_FILTERS
                .iter()
                .map(|(k, _)| (*k, String::new()))
                .collect(),
            severity: String::new(),
            newest_first: true,
            limit: DEFAULT_LIMIT,
            from: None,
            columns: Column::DEFAULT.to_vec(),
        }
    }
}

impl Search {
    /// Reads a query string; every problem is a message naming its
    /// parameter (the search is still returned, with defaults in their
    /// place, so the form shows what was asked).
    pub(super) fn parse(query: Option<&str>) -> (Search, Vec<String>) {
        let mut search = Search::default();
        let mut problems = Vec::new();
        let pairs: Vec<(String, String)> = match serde_urlencoded::from_str(query.unwrap_or("")) {
            Ok(pairs) => pairs,
            Err(_) => {
                problems.push("the query string cannot be read".to_string());
                return (search, problems);
            }
        };
        let mut columns = Vec::new();
        let mut columns_given = false;
        for (name, value) in pairs {
            if value.len() > VALUE_MAX {
                problems.push(format!(
                    "{name}: {} bytes, at most {VALUE_MAX} allowed",
                    value.len()
                ));
                continue;
            }
            if value.contains(|c: char| c.is_control()) {
                problems.push(format!("{name}: control characters are not allowed"));
                continue;
            }
            let value = value.trim().to_string();
            match name.as_str() {
                "severity" => {
                    if value.is_empty() || SEVERITIES.contains(&value.as_str()) {
                        search.severity = value;
                    } else {
                        problems.push(format!(
                            "severity: '{value}' is not one of {}",
                            SEVERITIES.join(", ")
                        ));
                    }
                }
                "order" => match value.as_str() {
                    "newest" | "" => search.newest_first = true,
                    "oldest" => search.newest_first = false,
                    _ => problems.push(format!("order: '{value}' (expected newest or oldest)")),
                },
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=PAGE_MAX).contains(&n) => search.limit = n,
                    _ => problems.push(format!(
                        "limit: '{value}' is not a number from 1 to {PAGE_MAX}"
                    )),
                },
                "from" => match value.parse::<u64>() {
                    Ok(n) => search.from = Some(n),
                    Err(_) if value.is_empty() => {}
                    Err(_) => problems.push(format!(
                        "from: '{value}' is not a sequence number (0 to {})",
                        u64::MAX
                    )),
                },
                "col" => {
                    columns_given = true;
                    match Column::from_key(&value) {
                        Some(c) if !columns.contains(&c) => columns.push(c),
                        Some(_) => {}
                        None => problems.push(format!("col: '{value}' is not a column")),
                    }
                }
                other => match search.text.iter_mut().find(|(k, _)| *k == other) {
                    Some((_, slot)) => *slot = value,
                    None => problems.push(format!("'{other}' is not a search parameter")),
                },
            }
        }
        if columns_given && !columns.is_empty() {
            // In the table's order, whatever the URL's.
            search.columns = Column::ALL
                .into_iter()
                .filter(|c| columns.contains(c))
                .collect();
        }
        (search, problems)
    }

    /// The value of text filter `name` (empty when not filtered).
    pub(super) fn get(&self, name: &str) -> &str {
        self.text
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name).to_string()).filter(|v| !v.is_empty())
    }

    /// The store query of this search, checked as the API checks it.
    pub(super) fn to_query(&self) -> Result<StoreQuery, String> {
        let (after_seq, before_seq) = match (self.from, self.newest_first) {
            (Some(from), true) => (None, Some(from)),
            (Some(from), false) => (Some(from), None),
            (None, _) => (None, None),
        };
        let filters = Filters {
            since: self.opt("since"),
            until: self.opt("until"),
            code: self.opt("code"),
            severity: Some(self.severity.clone()).filter(|v| !v.is_empty()),
            user: self.opt("user"),
            host: self.opt("host"),
            device: self.opt("device"),
            operation: self.opt("operation"),
            text: self.opt("text"),
            after_seq,
            before_seq,
            reverse: self.newest_first,
            limit: Some(self.limit),
            format: None,
            node: None,
            page: None,
        };
        to_store_query(&filters, DEFAULT_LIMIT).map_err(|e| e.message)
    }

    /// The query string of this search with `from` replaced (pages) and
    /// without defaults, so equal searches have equal URLs.
    pub(super) fn query_string(&self, from: Option<u64>) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .text
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        if !self.severity.is_empty() {
            pairs.push(("severity", self.severity.clone()));
        }
        if !self.newest_first {
            pairs.push(("order", "oldest".into()));
        }
        if self.limit != DEFAULT_LIMIT {
            pairs.push(("limit", self.limit.to_string()));
        }
        if self.columns != Column::DEFAULT {
            for c in &self.columns {
                pairs.push(("col", c.key().into()));
            }
        }
        if let Some(from) = from {
            pairs.push(("from", from.to_string()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }

    /// The same search with text filter `name` set to `value`.
    pub(super) fn with(&self, name: &str, value: &str) -> Search {
        let mut search = self.clone();
        if let Some((_, slot)) = search.text.iter_mut().find(|(k, _)| *k == name) {
            *slot = value.to_string();
        }
        search.from = None;
        search
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_round_trips_through_its_url() {
        let (search, problems) = Search::parse(Some(
            "code=JUNOSCOPE_LOGIN_*&severity=warning&user=alice&order=oldest&limit=10&col=code&col=seq&from=7",
        ));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(search.get("code"), "JUNOSCOPE_LOGIN_*");
        assert_eq!(search.columns, vec![Column::Seq, Column::Code]);
        let url = search.query_string(search.from);
        let (again, problems) = Search::parse(Some(&url));
        assert!(problems.is_empty());
        assert_eq!(again, search);
        let query = search.to_query().unwrap();
        assert_eq!(query.after_seq, Some(7));
        assert_eq!(query.limit, 10);
    }

    #[test]
    fn bad_parameters_are_named() {
        let huge = "x".repeat(5000);
        let (_, problems) = Search::parse(Some(&format!(
            "limit=abc&from=-1&severity=%3Cb%3E&order=up&col=nope&bogus=1&text={huge}&user=a%0Ab&since=%FF%FE"
        )));
        let all = problems.join("\n");
        for expected in [
            "limit:",
            "from:",
            "severity:",
            "order:",
            "col:",
            "'bogus'",
            "text:",
            "user: control",
        ] {
            assert!(all.contains(expected), "{expected} missing in {all}");
        }
        // Invalid UTF-8 is read as U+FFFD and refused by the time parser.
        let (search, problems) = Search::parse(Some("since=%FF%FE"));
        assert!(problems.is_empty());
        assert!(search.to_query().unwrap_err().starts_with("since:"));
        assert!(Search::parse(Some("limit=0")).1[0].starts_with("limit:"));
        assert!(Search::parse(Some("limit=1001")).1[0].starts_with("limit:"));
    }
}
