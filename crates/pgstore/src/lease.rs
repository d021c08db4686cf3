//! Output ownership: each output (syslog, file, RADIUS, policy) is owned by
//! one node at a time through a lease row in `netaudit.output_leases`
//! (output -> node, generation, expiry), with every time taken from the
//! database's clock, so the nodes' clocks do not matter.
//!
//! The holder renews the lease (every third of its time to live); another
//! node takes it when it has expired, or at once when it was released, and
//! the take-over increments the generation, which fences the old holder:
//! its renewals and cursor advances name the old generation and are
//! refused. So an output changes owner at most a time to live (plus the
//! taker's polling interval) after its holder died, however it died.
//!
//! Why a row and not a session advisory lock (as the node id uses): a lock
//! is freed only when the server notices the session is gone, which for a
//! machine that vanished (no FIN, no RST) is the TCP keepalive's hours,
//! so the take-over time could not be configured; advisory locks are also
//! not replicated (after a promotion every node would race for every
//! output at once) and give no fencing token. A node id can use the lock
//! because a second holder is refused, not waited for.

use std::time::{Duration, Instant};

use postgres::Client;

use crate::connection::ConnectionSpec;
use crate::error::{PgStoreError, Result};
use crate::node::check_node_id;
use crate::reconnect::{is_session_lost, reconnect, ReconnectPolicy};
use crate::schema::query_error;

/// Who holds an output now.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseHolder {
    /// The holding node.
    pub node_id: String,
    /// Its lease's generation.
    pub generation: i64,
    /// How long until the lease expires if not renewed (zero when expired).
    pub expires_in: Duration,
}

/// The outcome of an attempt to take an output.
#[derive(Debug)]
#[non_exhaustive]
pub enum Acquire {
    /// This node owns the output now.
    Acquired(Box<OutputLease>),
    /// Another node does.
    Held(LeaseHolder),
}

/// This node's lease on one output, with its own session to the database.
/// Dropping it does not release it (as a crash would not): the lease then
/// expires after its time to live; [`OutputLease::release`] hands it over
/// at once.
pub struct OutputLease {
    spec: ConnectionSpec,
    client: Option<Client>,
    policy: ReconnectPolicy,
    output: String,
    node_id: String,
    generation: i64,
    ttl: Duration,
    /// The node that held the output before this lease took it (`None`
    /// when nobody had, or this node itself did).
    previous_holder: Option<String>,
}

impl std::fmt::Debug for OutputLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputLease")
            .field("output", &self.output)
            .field("node_id", &self.node_id)
            .field("generation", &self.generation)
            .field("ttl", &self.ttl)
            .finish()
    }
}

/// The longest output name (the schema checks it too).
const MAX_OUTPUT_NAME: usize = 200;

impl OutputLease {
    /// Takes `output` for `node` if nobody holds it, its lease has expired
    /// or `node` itself held it (a restarted node takes its outputs back);
    /// the lease then lasts `ttl` unless renewed.
    pub fn try_acquire(
        spec: &ConnectionSpec,
        output: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Acquire> {
        check_node_id(node)?;
        if output.is_empty() || output.len() > MAX_OUTPUT_NAME {
            return Err(PgStoreError::Query {
                target: spec.target().to_string(),
                op: "take an output's lease",
                detail: format!("an output name has 1 to {MAX_OUTPUT_NAME} bytes"),
            });
        }
        let mut client = spec.connect()?;
        match take(&mut client, spec.target(), output, node, ttl)? {
            Some((generation, previous)) => Ok(Acquire::Acquired(Box::new(OutputLease {
                spec: spec.clone(),
                client: Some(client),
                policy: ReconnectPolicy::default(),
                output: output.to_string(),
                node_id: node.to_string(),
                generation,
                ttl,
                previous_holder: previous.filter(|p| p != node),
            }))),
            None => Ok(Acquire::Held(
                holder(&mut client, spec.target(), output)?.unwrap_or(LeaseHolder {
                    node_id: String::new(),
                    generation: 0,
                    expires_in: Duration::ZERO,
                }),
            )),
        }
    }

    /// Tries to take `output` every `poll` until it is taken or `wait` has
    /// passed (then the last holder is returned).
    pub fn acquire(
        spec: &ConnectionSpec,
        output: &str,
        node: &str,
        ttl: Duration,
        poll: Duration,
        wait: Duration,
    ) -> Result<Acquire> {
        let deadline = Instant::now() + wait;
        loop {
            let attempt = Self::try_acquire(spec, output, node, ttl)?;
            if matches!(attempt, Acquire::Acquired(_)) || Instant::now() + poll > deadline {
                return Ok(attempt);
            }
            std::thread::sleep(poll);
        }
    }

    /// How the lease's session reconnects (default [`ReconnectPolicy::default`]).
    pub fn with_reconnect(mut self, policy: ReconnectPolicy) -> OutputLease {
        self.policy = policy;
        self
    }

    /// The output.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The holding node.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The lease's generation (grows at each change of holder).
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// The node this lease took the output over from (its lease had
    /// expired or been released); `None` for a first owner or when this
    /// node held it before.
    pub fn previous_holder(&self) -> Option<&str> {
        self.previous_holder.as_deref()
    }

    /// The time to live the lease is renewed for.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How often to renew: a third of the time to live, so that two renewals
    /// may fail before the lease expires.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    /// Extends the lease by its time to live. A lost session is opened
    /// again (bounded); [`PgStoreError::LeaseLost`] when another node has
    /// taken the output (stop writing to it).
    pub fn renew(&mut self) -> Result<()> {
        let ttl = self.ttl.as_secs_f64();
        let renewed = self.with_session("renew an output's lease", |client, lease| {
            client.execute(
                "UPDATE netaudit.output_leases SET expires_at = clock_timestamp() + make_interval(secs => $4) \
                 WHERE output = $1 AND node_id = $2 AND generation = $3",
                &[&lease.output, &lease.node_id, &lease.generation, &ttl],
            )
        })?;
        if renewed == 1 {
            Ok(())
        } else {
            Err(self.lost_error())
        }
    }

    /// Hands the output over at once (a clean shutdown).
    pub fn release(mut self) -> Result<()> {
        self.with_session("release an output's lease", |client, lease| {
            client.execute(
                "UPDATE netaudit.output_leases SET expires_at = clock_timestamp() \
                 WHERE output = $1 AND node_id = $2 AND generation = $3",
                &[&lease.output, &lease.node_id, &lease.generation],
            )
        })?;
        Ok(())
    }

    /// The error when the lease is no longer this node's.
    pub(crate) fn lost_error(&mut self) -> PgStoreError {
        let now = self
            .client
            .as_mut()
            .and_then(|c| holder(c, self.spec.target(), &self.output).ok().flatten());
        PgStoreError::LeaseLost {
            target: self.spec.target().to_string(),
            output: self.output.clone(),
            node: self.node_id.clone(),
            generation: self.generation,
            detail: match now {
                Some(h) => format!(
                    "node \"{}\" holds it with generation {}",
                    h.node_id, h.generation
                ),
                None => "its row is gone".into(),
            },
        }
    }

    /// The database, as errors name it.
    pub(crate) fn target(&self) -> &str {
        self.spec.target()
    }

    /// Runs `f` on the lease's session, opening it again once (bounded by
    /// the reconnect policy) if it was lost.
    pub(crate) fn with_session<T>(
        &mut self,
        op: &'static str,
        mut f: impl FnMut(&mut Client, &LeaseId<'_>) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        for _ in 0..2 {
            if self.client.is_none() {
                let (client, _) = reconnect(&self.spec, &self.policy, |_| Ok(true))?;
                self.client = Some(client);
            }
            let id = LeaseId {
                output: &self.output,
                node_id: &self.node_id,
                generation: self.generation,
            };
            let Some(client) = self.client.as_mut() else {
                continue;
            };
            match f(client, &id) {
                Ok(v) => return Ok(v),
                Err(e) if is_session_lost(&e) => self.client = None,
                Err(e) => return Err(query_error(self.spec.target(), op, &e)),
            }
        }
        Err(PgStoreError::Unreachable {
            target: self.spec.target().to_string(),
            detail: format!("{op}: the session was lost twice"),
        })
    }
}

/// What identifies a lease in its statements.
pub(crate) struct LeaseId<'a> {
    pub output: &'a str,
    pub node_id: &'a str,
    pub generation: i64,
}

/// The one statement that takes an output: inserted, or taken over when
/// expired or held by the same node, with the next generation; and who
/// held it before (the statement's snapshot, read in the same statement).
fn take(
    client: &mut Client,
    target: &str,
    output: &str,
    node: &str,
    ttl: Duration,
) -> Result<Option<(i64, Option<String>)>> {
    let ttl = ttl.as_secs_f64();
    Ok(client
        .query_opt(
            "WITH before AS (SELECT node_id FROM netaudit.output_leases WHERE output = $1) \
             INSERT INTO netaudit.output_leases AS l (output, node_id, generation, acquired_at, expires_at) \
             VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $3)) \
             ON CONFLICT (output) DO UPDATE SET node_id = EXCLUDED.node_id, generation = l.generation + 1, \
                 acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at \
             WHERE l.expires_at <= clock_timestamp() OR l.node_id = EXCLUDED.node_id \
             RETURNING generation, (SELECT node_id FROM before)",
            &[&output, &node, &ttl],
        )
        .map_err(|e| query_error(target, "take an output's lease", &e))?
        .map(|r| (r.get(0), r.get(1))))
}

/// Who holds `output`, if anyone ever did.
pub fn lease_holder(
    client: &mut Client,
    target: &str,
    output: &str,
) -> Result<Option<LeaseHolder>> {
    holder(client, target, output)
}

fn holder(client: &mut Client, target: &str, output: &str) -> Result<Option<LeaseHolder>> {
    Ok(client
        .query_opt(
            "SELECT node_id, generation, \
                 greatest(extract(epoch FROM expires_at - clock_timestamp()), 0)::float8 \
             FROM netaudit.output_leases WHERE output = $1",
            &[&output],
        )
        .map_err(|e| query_error(target, "read an output's lease", &e))?
        .map(|r| LeaseHolder {
            node_id: r.get(0),
            generation: r.get(1),
            expires_in: Duration::try_from_secs_f64(r.get(2)).unwrap_or(Duration::ZERO),
        }))
}
