//! Bounded load generator for `POST /api/v1/events`: sends `--events`
//! catalog events in batches of `--batch` over `--connections` keep-alive
//! connections and reports the rate of committed, acknowledged events.
//!
//! ```text
//! cargo run --release -p netaudit --example api_load -- \
//!     --address 127.0.0.1:8514 --token na_tok_... --events 200000 --batch 1000 --connections 4
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Options {
    address: String,
    token: String,
    events: usize,
    batch: usize,
    connections: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        address: "127.0.0.1:8514".into(),
        token: String::new(),
        events: 100_000,
        batch: 1000,
        connections: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--address" => o.address = value.clone(),
            "--token" => o.token = value.clone(),
            "--events" => o.events = number()?,
            "--batch" => o.batch = number()?.max(1),
            "--connections" => o.connections = number()?.max(1),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.token.is_empty() {
        return Err("--token is required (netaudit user token NAME)".into());
    }
    Ok(o)
}

/// One batch body: archive-success events with distinct device names.
fn body(first: usize, count: usize) -> Vec<u8> {
    let mut out = String::with_capacity(count * 330);
    out.push('[');
    for i in first..first + count {
        if i > first {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"code\":\"JUNOSCOPE_ARCHIVE_SUCCESS\",\"variables\":{{\"device-name\":\"dev{i}\",\"revision\":\"{i}\",\"operation-name\":\"load\",\"operation-type\":\"archive\",\"username\":\"bench\",\"start-time\":\"2026-11-23 10:00:00\",\"last-updated-time\":\"2026-11-23 10:00:01\"}}}}"
        ));
    }
    out.push(']');
    out.into_bytes()
}

/// Sends one request on a keep-alive connection; returns the status.
fn post(
    stream: &mut BufReader<TcpStream>,
    o: &Options,
    body: &[u8],
) -> Result<(u16, String), String> {
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        o.address, o.token, body.len()
    );
    let socket = stream.get_mut();
    socket
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    socket.write_all(body).map_err(|e| e.to_string())?;
    let mut line = String::new();
    stream.read_line(&mut line).map_err(|e| e.to_string())?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("bad status line {line:?}"))?;
    let mut length = 0usize;
    // Bounded: a response head has few lines.
    for _ in 0..100 {
        line.clear();
        stream.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| "bad content-length")?;
            }
        }
    }
    let mut answer = vec![0u8; length];
    stream.read_exact(&mut answer).map_err(|e| e.to_string())?;
    Ok((status, String::from_utf8_lossy(&answer).into_owned()))
}

fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("api_load: {e}");
            std::process::exit(2);
        }
    };
    let batches = o.events.div_ceil(o.batch);
    let o = std::sync::Arc::new(o);
    let started = Instant::now();
    let workers: Vec<_> = (0..o.connections)
        .map(|w| {
            let o = o.clone();
            std::thread::spawn(move || -> Result<(usize, Vec<Duration>), String> {
                let socket = TcpStream::connect(&o.address).map_err(|e| e.to_string())?;
                socket.set_nodelay(true).map_err(|e| e.to_string())?;
                socket
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .map_err(|e| e.to_string())?;
                let mut stream = BufReader::new(socket);
                let mut acknowledged = 0;
                let mut latencies = Vec::new();
                for b in (w..batches).step_by(o.connections) {
                    let first = b * o.batch;
                    let count = o.batch.min(o.events - first);
                    let body = body(first, count);
                    let sent = Instant::now();
                    let (status, answer) = post(&mut stream, &o, &body)?;
                    latencies.push(sent.elapsed());
                    if status != 201 {
                        return Err(format!("status {status}: {answer}"));
                    }
                    acknowledged += count;
                }
                Ok((acknowledged, latencies))
            })
        })
        .collect();
    let mut acknowledged = 0;
    let mut latencies = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok((n, l))) => {
                acknowledged += n;
                latencies.extend(l);
            }
            Ok(Err(e)) => {
                eprintln!("api_load: {e}");
                std::process::exit(1);
            }
            Err(_) => {
                eprintln!("api_load: a worker panicked");
                std::process::exit(1);
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{acknowledged} events acknowledged in {:.2} s: {:.0} events/s (batch {}, {} connections; request latency p50 {:.1} ms, p99 {:.1} ms)",
        elapsed.as_secs_f64(),
        acknowledged as f64 / elapsed.as_secs_f64(),
        o.batch,
        o.connections,
        pct(0.5),
        pct(0.99),
    );
}
