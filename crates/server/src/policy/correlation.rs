//! What a policy waits for before it fires, and the state that waiting
//! needs. Pure: events (and, for absences, the time) in, firings out.
//! Windows run on netaudit's receive time (`received_ns`), which every
//! stored event has and which a replay from the store sees again unchanged,
//! so that state rebuilt from the store is the state that was lost.

use std::collections::{HashMap, VecDeque};

use netaudit_event::Event;

use super::field::{group_of, GroupField};
use super::matcher::Matcher;

const NS_PER_SEC: i64 = 1_000_000_000;
/// The rate limit counts firings over this period.
const RATE_PERIOD_NS: i64 = 60 * NS_PER_SEC;
/// Expired groups are swept after this many observed events.
const SWEEP_EVERY: u32 = 4096;
/// How far back a clock-jump policy looks for each host's last offset.
const CLOCK_HORIZON_NS: i64 = 24 * 3600 * NS_PER_SEC;

/// The correlation of one policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Correlation {
    /// Every matching event fires.
    Each,
    /// `threshold` matching events of one group within `window_ns`.
    Count {
        threshold: u32,
        window_ns: i64,
        group_by: Vec<GroupField>,
    },
    /// A host that sent matching events has sent none for `silence_ns`;
    /// a host silent for `forget_ns` is forgotten.
    Absence { silence_ns: i64, forget_ns: i64 },
    /// An event matching the policy's rule, then one matching `then`, of
    /// the same group, within `window_ns`.
    Sequence {
        then: Box<Matcher>,
        window_ns: i64,
        group_by: Vec<GroupField>,
    },
    /// A host whose clock offset (device time minus receive time) changes
    /// by more than `max_jump_ns` between two of its events.
    ClockJump { max_jump_ns: i64 },
}

impl Correlation {
    /// How far back the store must be replayed to rebuild this state.
    pub(crate) fn horizon_ns(&self) -> i64 {
        match self {
            Correlation::Each => 0,
            Correlation::Count { window_ns, .. } | Correlation::Sequence { window_ns, .. } => {
                *window_ns
            }
            Correlation::Absence { forget_ns, .. } => *forget_ns,
            Correlation::ClockJump { .. } => CLOCK_HORIZON_NS,
        }
    }

    /// The name of the kind, as the API and the derived event show it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Correlation::Each => "each",
            Correlation::Count { .. } => "count",
            Correlation::Absence { .. } => "absence",
            Correlation::Sequence { .. } => "sequence",
            Correlation::ClockJump { .. } => "clock-jump",
        }
    }
}

/// A policy fired.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Firing {
    /// Unique per policy and firing, the same when a replay finds the same
    /// firing again: how a restart knows it was already reported.
    pub key: String,
    /// The grouped fields and their values.
    pub group: Vec<(String, String)>,
    /// The sequence numbers of the events that made it fire.
    pub seqs: Vec<u64>,
    /// One sentence saying what happened.
    pub summary: String,
    /// Extra named values (the old and new clock offsets ...).
    pub details: Vec<(String, String)>,
}

#[derive(Debug)]
struct HostSeen {
    seq: u64,
    at_ns: i64,
    reported: bool,
}

#[derive(Debug, Default)]
struct State {
    counts: HashMap<Vec<String>, VecDeque<(u64, i64)>>,
    firsts: HashMap<Vec<String>, (u64, i64)>,
    hosts: HashMap<String, HostSeen>,
    offsets: HashMap<String, (u64, i64)>,
}

/// One policy's evaluation state.
#[derive(Debug)]
pub(crate) struct Evaluator {
    matcher: Matcher,
    correlation: Correlation,
    /// At most this many firings per minute (0: unlimited).
    max_per_minute: u32,
    recent: VecDeque<i64>,
    state: State,
    since_sweep: u32,
    /// Firings the rate limit held back.
    pub suppressed: u64,
}

impl Evaluator {
    pub(crate) fn new(matcher: Matcher, correlation: Correlation, max_per_minute: u32) -> Self {
        Evaluator {
            matcher,
            correlation,
            max_per_minute,
            recent: VecDeque::new(),
            state: State::default(),
            since_sweep: 0,
            suppressed: 0,
        }
    }

    /// Whether [`Evaluator::observe`] would look at `event`'s SD
    /// parameters: a rule that tests them, a group by one, or the details
    /// of an `each` firing (which copy them), and only for an event the
    /// rest of its rules let through. When false, observing the event
    /// without its parameters gives the same result.
    pub(crate) fn needs_params(&self, event: &Event) -> bool {
        let rule = |m: &Matcher, copies: bool| {
            (copies || !m.params.is_empty()) && m.matches_but_params(event)
        };
        let grouped =
            |fields: &[GroupField]| fields.iter().any(|f| matches!(f, GroupField::Param(_)));
        match &self.correlation {
            Correlation::Each => rule(&self.matcher, true),
            Correlation::Count { group_by, .. } => rule(&self.matcher, grouped(group_by)),
            Correlation::Sequence { then, group_by, .. } => {
                rule(&self.matcher, grouped(group_by)) || rule(then, grouped(group_by))
            }
            Correlation::Absence { .. } | Correlation::ClockJump { .. } => {
                rule(&self.matcher, false)
            }
        }
    }

    /// Feeds one stored event; returns the firing it causes, if any.
    pub(crate) fn observe(&mut self, seq: u64, event: &Event) -> Option<Firing> {
        let at = event.received_ns;
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            self.sweep(at);
        }
        let firing = match &self.correlation {
            Correlation::Each => self.matcher.matches(event).then(|| Firing {
                key: format!("seq:{seq}"),
                group: Vec::new(),
                seqs: vec![seq],
                summary: format!(
                    "event {seq} ({}) matched",
                    event.code.as_deref().unwrap_or("-")
                ),
                details: event_details(event),
            }),
            Correlation::Count {
                threshold,
                window_ns,
                group_by,
            } => {
                if !self.matcher.matches(event) {
                    return None;
                }
                let group = group_of(group_by, event);
                let key: Vec<String> = group.iter().map(|(_, v)| v.clone()).collect();
                let seen = self.state.counts.entry(key.clone()).or_default();
                seen.push_back((seq, at));
                while seen.front().is_some_and(|&(_, t)| at - t > *window_ns) {
                    seen.pop_front();
                }
                if seen.len() < *threshold as usize {
                    return None;
                }
                let seqs: Vec<u64> = seen.drain(..).map(|(s, _)| s).collect();
                self.state.counts.remove(&key);
                Some(Firing {
                    key: format!("seq:{seq}"),
                    summary: format!(
                        "{} matching events within {} s ({})",
                        seqs.len(),
                        window_ns / NS_PER_SEC,
                        describe(&group)
                    ),
                    group,
                    seqs,
                    details: vec![("threshold".into(), threshold.to_string())],
                })
            }
            Correlation::Absence { .. } => {
                if let Some(host) = event
                    .host
                    .as_deref()
                    .filter(|_| self.matcher.matches(event))
                {
                    self.state.hosts.insert(
                        host.to_owned(),
                        HostSeen {
                            seq,
                            at_ns: at,
                            reported: false,
                        },
                    );
                }
                None
            }
            Correlation::Sequence {
                then,
                window_ns,
                group_by,
            } => {
                let (is_then, is_first) = (then.matches(event), self.matcher.matches(event));
                if !is_then && !is_first {
                    return None;
                }
                let group = group_of(group_by, event);
                let key: Vec<String> = group.iter().map(|(_, v)| v.clone()).collect();
                let mut fired = None;
                if is_then {
                    if let Some(&(first, t)) = self.state.firsts.get(&key) {
                        if at - t <= *window_ns {
                            self.state.firsts.remove(&key);
                            fired = Some(Firing {
                                key: format!("seq:{seq}"),
                                summary: format!(
                                    "event {first} then event {seq} within {} s ({})",
                                    window_ns / NS_PER_SEC,
                                    describe(&group)
                                ),
                                group,
                                seqs: vec![first, seq],
                                details: Vec::new(),
                            });
                        }
                    }
                }
                // An event that completed a sequence does not start one.
                if fired.is_none() && is_first {
                    self.state.firsts.insert(key, (seq, at));
                }
                fired
            }
            Correlation::ClockJump { max_jump_ns } => {
                let (Some(host), Some(time)) = (event.host.as_deref(), event.time_ns) else {
                    return None;
                };
                if !self.matcher.matches(event) {
                    return None;
                }
                let offset = time.saturating_sub(at);
                let previous = self.state.offsets.insert(host.to_owned(), (seq, offset));
                let (old_seq, old) = previous?;
                if (offset - old).abs() <= *max_jump_ns {
                    return None;
                }
                Some(Firing {
                    key: format!("seq:{seq}"),
                    group: vec![("host".into(), host.to_owned())],
                    seqs: vec![old_seq, seq],
                    summary: format!(
                        "clock of {host} jumped: offset {} s, was {} s",
                        fmt_secs(offset),
                        fmt_secs(old)
                    ),
                    details: vec![
                        ("old-offset-ms".into(), (old / 1_000_000).to_string()),
                        ("new-offset-ms".into(), (offset / 1_000_000).to_string()),
                    ],
                })
            }
        }?;
        self.limit(at, firing)
    }

    /// For absences: the hosts silent at `now_ns` not yet reported. Only
    /// meaningful once every stored event has been observed.
    pub(crate) fn tick(&mut self, now_ns: i64) -> Vec<Firing> {
        let Correlation::Absence {
            silence_ns,
            forget_ns,
        } = self.correlation
        else {
            return Vec::new();
        };
        self.state
            .hosts
            .retain(|_, seen| now_ns - seen.at_ns <= forget_ns);
        let mut silent: Vec<(String, u64, i64)> = Vec::new();
        for (host, seen) in &mut self.state.hosts {
            if !seen.reported && now_ns - seen.at_ns >= silence_ns {
                seen.reported = true;
                silent.push((host.clone(), seen.seq, seen.at_ns));
            }
        }
        silent.sort();
        let mut firings = Vec::new();
        for (host, seq, at) in silent {
            let firing = Firing {
                key: format!("absence:{host}:{seq}"),
                group: vec![("host".into(), host.clone())],
                seqs: vec![seq],
                summary: format!(
                    "no event from {host} for {} s (last: event {seq})",
                    (now_ns - at) / NS_PER_SEC
                ),
                details: vec![("silence-secs".into(), (silence_ns / NS_PER_SEC).to_string())],
            };
            firings.extend(self.limit(now_ns, firing));
        }
        firings
    }

    /// The rate limit: at most `max_per_minute` firings in any minute.
    fn limit(&mut self, at: i64, firing: Firing) -> Option<Firing> {
        if self.max_per_minute == 0 {
            return Some(firing);
        }
        while self
            .recent
            .front()
            .is_some_and(|&t| at - t >= RATE_PERIOD_NS)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.max_per_minute as usize {
            self.suppressed += 1;
            return None;
        }
        self.recent.push_back(at);
        Some(firing)
    }

    /// Drops groups whose events are all outside the window.
    fn sweep(&mut self, now: i64) {
        match &self.correlation {
            Correlation::Count { window_ns, .. } => {
                let window = *window_ns;
                self.state
                    .counts
                    .retain(|_, seen| seen.back().is_some_and(|&(_, t)| now - t <= window));
            }
            Correlation::Sequence { window_ns, .. } => {
                let window = *window_ns;
                self.state.firsts.retain(|_, &mut (_, t)| now - t <= window);
            }
            _ => {}
        }
    }
}

/// Parameter names of the derived event itself, never copied from the
/// matched event.
const RESERVED: &[&str] = &["policy", "correlation", "key", "seqs", "seq-count"];
/// At most this many parameters of the matched event are copied.
const MAX_COPIED_PARAMS: usize = 16;

/// What a single matched event contributes to its derived event: its code,
/// host, device time (for a time change, the time it was set at) and its
/// SD parameters (a `set date` command carries the new time).
fn event_details(event: &Event) -> Vec<(String, String)> {
    let mut details = Vec::new();
    if let Some(code) = &event.code {
        details.push(("event-code".to_owned(), code.to_string()));
    }
    if let Some(host) = &event.host {
        details.push(("event-host".to_owned(), host.to_string()));
    }
    if let Some(time) = event
        .time_ns
        .and_then(|ns| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    {
        details.push(("event-time".to_owned(), time));
    }
    for param in event
        .params
        .iter()
        .filter(|p| !RESERVED.contains(&p.name.as_str()))
        .take(MAX_COPIED_PARAMS)
    {
        details.push((param.name.to_string(), param.value.to_string()));
    }
    details
}

fn describe(group: &[(String, String)]) -> String {
    if group.is_empty() {
        return "all events".into();
    }
    group
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_secs(ns: i64) -> String {
    format!("{:.3}", ns as f64 / NS_PER_SEC as f64)
}

#[cfg(test)]
mod tests;
