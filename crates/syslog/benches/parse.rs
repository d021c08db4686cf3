//! Parse throughput: netaudit's parser against `syslog_loose` 0.23 (the
//! parser inside Vector), same lines, same run.
//!
//! Workloads: (a) `corpus`: every line of the shared corpus's
//! `junos_lines.txt` (see `corpus_path`; skipped with a note when absent);
//! `corpus-ok`: the 186 of them that syslog_loose parses exactly; (b)
//! `generated`: 100,000 Junos structured-data lines (~280 bytes on average)
//! generated here from a fixed seed. Both parsers fully decode structured data: every param's
//! name and value is visited (netaudit unescapes into `Cow`, syslog_loose
//! through `params()`).
//!
//! Run: `cargo bench -p netaudit-syslog --bench parse`. Criterion reports
//! MB/s per parser; the summary printed at the end (own timing loop, see
//! `blocked_medians`) gives lines/s, MB/s and the ratio.

// criterion_main! defines an undocumented `main`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use netaudit_syslog::parse::{parse, ParseOptions};
use syslog_loose::Variant;

struct Workload {
    name: &'static str,
    lines: Vec<String>,
    bytes: usize,
}

impl Workload {
    fn new(name: &'static str, lines: Vec<String>) -> Self {
        let bytes = lines.iter().map(String::len).sum();
        Workload { name, lines, bytes }
    }
}

/// Where the real-device corpus is: `$NETAUDIT_CORPUS` (the directory holding
/// `junos_lines.txt`), else `shared/corpus` beside the checkout. It is not in
/// the repository (some of its lines may not be copied), so it may be absent.
fn corpus_path() -> PathBuf {
    match std::env::var_os("NETAUDIT_CORPUS") {
        Some(dir) => PathBuf::from(dir).join("junos_lines.txt"),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/junos_lines.txt")
        }
    }
}

/// The corpus lines, or `None` (after saying where to get them) when the
/// corpus is not there: the generated workload still runs.
fn corpus_lines() -> Option<Vec<String>> {
    let path = corpus_path();
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text.lines().map(str::to_string).collect()),
        Err(e) => {
            eprintln!(
                "skipping the corpus workloads: cannot read {} ({e}). The corpus is the \
                 project's shared collection of real Junos lines (shared/corpus, see its \
                 README.md and SOURCES.md), kept outside the repository; put it at \
                 ../shared/corpus next to the checkout or set NETAUDIT_CORPUS to its directory.",
                path.display()
            );
            None
        }
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn ip(&mut self) -> String {
        format!(
            "{}.{}.{}.{}",
            10 + self.below(200),
            self.below(256),
            self.below(256),
            1 + self.below(254)
        )
    }
}

/// Realistic Junos structured-data lines: SRX flow session logs, logins,
/// commits, SSH failures; a few values carry escapes.
fn generated_lines(count: usize) -> Vec<String> {
    let mut rng = Rng(0x6e65_7461_7564_6974);
    let hosts = ["srx-edge-01", "mx204-core", "ex4300-acc-17", "vsrx-lab"];
    let users = ["root", "sec-officer", "admin", "noc-ro", "jdoe"];
    let zones = ["trust", "untrust", "dmz", "mgmt"];
    let apps = ["junos-https", "junos-ssh", "junos-dns-udp", "icmp"];
    let mut lines = Vec::with_capacity(count);
    for _ in 0..count {
        let host = rng.pick(&hosts);
        let ts = format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            ["Z", "+01:00", "-07:00"][rng.below(3) as usize]
        );
        let line = match rng.below(10) {
            0..=4 => format!(
                "<14>1 {ts} {host} RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address=\"{}\" source-port=\"{}\" destination-address=\"{}\" destination-port=\"{}\" service-name=\"{}\" policy-name=\"p{}\" source-zone-name=\"{}\" destination-zone-name=\"{}\"]",
                rng.ip(), 1024 + rng.below(60000), rng.ip(), rng.below(65536), rng.pick(&apps),
                rng.below(99), rng.pick(&zones), rng.pick(&zones)
            ),
            5 | 6 => {
                let user = rng.pick(&users);
                format!(
                    "<38>1 {ts} {host} mgd {} UI_LOGIN_EVENT [junos@2636.1.1.1.2.164 username=\"{user}\" class-name=\"super-user\" pid=\"{}\" ssh-connection=\"{} {} {} 22\" client-mode=\"cli\"] User '{user}' login, class 'super-user'",
                    1000 + rng.below(90000), rng.below(90000), rng.ip(), 1024 + rng.below(60000), rng.ip()
                )
            }
            7 => {
                let user = rng.pick(&users);
                format!(
                    "<189>1 {ts} {host} mgd {} UI_CMDLINE_READ_LINE [junos@2636.1.1.1.2.164 username=\"{user}\" command=\"set interfaces ge-0/0/{} description \\\"uplink \\\\ [{}\\]\\\"\"] User '{user}', command 'set interfaces'",
                    1000 + rng.below(90000), rng.below(48), rng.below(9)
                )
            }
            8 => format!(
                "<37>1 {ts} {host} sshd - SSHD_LOGIN_FAILED [junos@2636.1.1.1.2.164 username=\"{}\" source-address=\"{}\"] Login failed for user '{}' from host '{}'",
                rng.pick(&users), rng.ip(), rng.pick(&users), rng.ip()
            ),
            _ => format!(
                "<30>1 {ts} {host} kmd {} KMD_VPN_UP_ALARM_USER [junos@2636.1.1.1.2.164 vpn-name=\"vpn{}\" remote-address=\"{}\" local-address=\"{}\" gateway-name=\"gw1\" tunnel-id=\"{}\" interface-name=\"st0.0\" traffic-selector-cfg-local-id=\"ipv4_subnet(any:0,[0..7\\]=0.0.0.0/0)\"] VPN is up",
                1000 + rng.below(9000), rng.below(9), rng.ip(), rng.ip(), 131073 + rng.below(1000)
            ),
        };
        lines.push(line);
    }
    lines
}

fn workloads() -> Vec<Workload> {
    let generated = Workload::new("generated", generated_lines(100_000));
    let Some(corpus) = corpus_lines() else {
        return vec![generated];
    };
    // The 186 corpus lines syslog_loose parses exactly: on the other 10
    // (timestamps without offset) it gives up early while netaudit repairs
    // and fully decodes them, which would flatter neither side.
    let both_accept: Vec<String> = corpus
        .iter()
        .filter(|l| {
            syslog_loose::parse_message_with_year_exact(l, |_| 2024, Variant::Either).is_ok()
        })
        .cloned()
        .collect();
    vec![
        Workload::new("corpus", corpus),
        Workload::new("corpus-ok", both_accept),
        generated,
    ]
}

/// netaudit: parse and visit every SD param (values unescaped).
fn netaudit_pass(lines: &[String], opts: &ParseOptions) -> usize {
    let mut acc = 0;
    for line in lines {
        if let Ok(msg) = parse(line.as_bytes(), opts) {
            for e in &msg.structured_data {
                acc += e.id.len();
                for p in &e.params {
                    acc += p.name.len() + p.value.len();
                }
            }
            acc += msg.message.map_or(0, str::len);
        }
    }
    acc
}

/// syslog_loose: parse and visit every SD param through `params()`
/// (which unescapes).
fn loose_pass(lines: &[String]) -> usize {
    let mut acc = 0;
    for line in lines {
        let msg = syslog_loose::parse_message(line, Variant::Either);
        for e in &msg.structured_data {
            acc += e.id.len();
            for (name, value) in e.params() {
                acc += name.len() + value.len();
            }
        }
        acc += msg.msg.len();
    }
    acc
}

fn bench(c: &mut Criterion) {
    let opts = ParseOptions::with_fixed_year(2024);
    for w in workloads() {
        let mut group = c.benchmark_group(format!("parse/{}", w.name));
        group.throughput(Throughput::Bytes(w.bytes as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("netaudit", |b| {
            b.iter(|| black_box(netaudit_pass(black_box(&w.lines), &opts)))
        });
        group.bench_function("syslog_loose", |b| {
            b.iter(|| black_box(loose_pass(black_box(&w.lines))))
        });
        group.finish();
    }
}

/// Time per pass of both parsers, robust to a shared, busy machine: the
/// lines are cut into blocks of 250; every round times each block with
/// netaudit and then with syslog_loose (interleaved, so load from other
/// processes hits both alike); a pass costs the sum over blocks of each
/// block's median time over the rounds (a block that was descheduled in one
/// round does not count).
fn blocked_medians(w: &Workload, opts: &ParseOptions, rounds: usize) -> (Duration, Duration) {
    let blocks: Vec<&[String]> = w.lines.chunks(250).collect();
    let mut ours = vec![Vec::with_capacity(rounds); blocks.len()];
    let mut theirs = vec![Vec::with_capacity(rounds); blocks.len()];
    for _ in 0..rounds {
        for (k, block) in blocks.iter().enumerate() {
            let t = Instant::now();
            black_box(netaudit_pass(block, opts));
            ours[k].push(t.elapsed());
            let t = Instant::now();
            black_box(loose_pass(block));
            theirs[k].push(t.elapsed());
        }
    }
    let total = |per_block: &mut Vec<Vec<Duration>>| -> Duration {
        per_block
            .iter_mut()
            .map(|times| {
                times.sort();
                times[times.len() / 2]
            })
            .sum()
    };
    (total(&mut ours), total(&mut theirs))
}

fn summary() {
    let opts = ParseOptions::with_fixed_year(2024);
    println!("\nparse throughput summary (per-block medians of 21 interleaved rounds, same lines, one core):");
    println!(
        "{:<10} {:>7} {:>6} {:>13} {:>8} {:>13} {:>8} {:>7}",
        "workload", "lines", "avg B", "netaudit l/s", "MB/s", "loose l/s", "MB/s", "ratio"
    );
    for w in workloads() {
        let (ours, theirs) = blocked_medians(&w, &opts, 21);
        let n = w.lines.len() as f64;
        let mb = w.bytes as f64 / 1e6;
        println!(
            "{:<10} {:>7} {:>6.0} {:>13.0} {:>8.1} {:>13.0} {:>8.1} {:>6.2}x",
            w.name,
            w.lines.len(),
            w.bytes as f64 / n,
            n / ours.as_secs_f64(),
            mb / ours.as_secs_f64(),
            n / theirs.as_secs_f64(),
            mb / theirs.as_secs_f64(),
            theirs.as_secs_f64() / ours.as_secs_f64()
        );
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
