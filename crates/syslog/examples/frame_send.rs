//! A cheap, bounded syslog sender for ingest benchmarks: frames every line
//! of a file (bare, or as `bench/gen_junos_lines.py` frames it for loggen) once (RFC 6587 octet counting or LF), then sends the frames
//! over N TCP connections in large writes, or over UDP (RFC 5426, one
//! message per datagram) at a given rate. Unlike a sender that makes one
//! system call per message, it costs the machine little, so the figure is
//! the receiver's.
//!
//! ```text
//! cargo run --release -p netaudit-syslog --example frame_send -- \
//!     127.0.0.1:PORT LINES_FILE [--connections 4] [--framing octet|lf] \
//!     [--udp --rate MSGS_PER_SEC] [--timeout-secs 600]
//! ```
//!
//! Prints one line: `sent=N elapsed_secs=S msgs_per_sec=R`. Every line is
//! sent once; connections take consecutive shares of the file.

use std::io::Write;
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Bytes handed to the kernel per `write` on a TCP connection.
const WRITE_BYTES: usize = 1 << 20;

#[path = "support/lines.rs"]
mod lines;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    Octet,
    Lf,
}

struct Args {
    address: String,
    lines: String,
    connections: usize,
    framing: Framing,
    udp_rate: Option<u64>,
    timeout: Duration,
}

fn number<T: std::str::FromStr + PartialOrd>(
    value: Option<String>,
    name: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|v| range.contains(v))
        .ok_or_else(|| format!("{name} takes a number in its range"))
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut connections = 1;
    let mut framing = Framing::Octet;
    let mut udp = false;
    let mut rate = None;
    let mut timeout = Duration::from_secs(600);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--connections" => connections = number(args.next(), "--connections", 1..=64)?,
            "--framing" => {
                framing = match args.next().as_deref() {
                    Some("octet") => Framing::Octet,
                    Some("lf") => Framing::Lf,
                    _ => return Err("--framing takes octet or lf".into()),
                }
            }
            "--udp" => udp = true,
            "--rate" => rate = Some(number(args.next(), "--rate", 1..=10_000_000u64)?),
            "--timeout-secs" => {
                timeout = Duration::from_secs(number(args.next(), "--timeout-secs", 1..=3600)?)
            }
            _ => positional.push(arg),
        }
    }
    if udp != rate.is_some() {
        return Err("--udp needs --rate MSGS_PER_SEC (and --rate needs --udp)".into());
    }
    match <[String; 2]>::try_from(positional) {
        Ok([address, lines]) => Ok(Args {
            address,
            lines,
            connections,
            framing,
            udp_rate: rate,
            timeout,
        }),
        Err(_) => Err("usage: frame_send ADDRESS LINES_FILE [--connections N] \
                       [--framing octet|lf] [--udp --rate R] [--timeout-secs S]"
            .into()),
    }
}

fn frame(lines: &[&[u8]], framing: Framing) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 8).sum());
    for line in lines {
        match framing {
            Framing::Octet => {
                out.extend_from_slice(line.len().to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(line);
            }
            Framing::Lf => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    out
}

fn send_tcp(args: &Args, lines: &[&[u8]]) -> Result<(), String> {
    let share = lines.len().div_ceil(args.connections);
    let deadline = Instant::now() + args.timeout;
    // Framed before any connection opens, so that framing is not timed.
    let buffers: Vec<Vec<u8>> = lines
        .chunks(share.max(1))
        .map(|part| frame(part, args.framing))
        .collect();
    let mut streams = Vec::new();
    for _ in &buffers {
        let stream = TcpStream::connect(&args.address)
            .map_err(|e| format!("connecting to {}: {e}", args.address))?;
        stream
            .set_write_timeout(Some(args.timeout))
            .map_err(|e| e.to_string())?;
        streams.push(stream);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = streams
            .into_iter()
            .zip(&buffers)
            .map(|(mut stream, buffer)| {
                scope.spawn(move || -> Result<(), String> {
                    for piece in buffer.chunks(WRITE_BYTES) {
                        if Instant::now() >= deadline {
                            return Err("time ran out while sending".into());
                        }
                        stream
                            .write_all(piece)
                            .map_err(|e| format!("writing: {e}"))?;
                    }
                    stream
                        .shutdown(Shutdown::Write)
                        .map_err(|e| format!("closing: {e}"))
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| "a sending thread panicked".to_string())?
        })
    })
}

fn send_udp(args: &Args, lines: &[&[u8]], rate: u64) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("binding: {e}"))?;
    socket
        .connect(&args.address)
        .map_err(|e| format!("connecting to {}: {e}", args.address))?;
    let start = Instant::now();
    let deadline = start + args.timeout;
    for (i, line) in lines.iter().enumerate() {
        // Paced in steps of 1 ms: message i leaves no earlier than i / rate.
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        let now = Instant::now();
        if now >= deadline {
            return Err("time ran out while sending".into());
        }
        if due > now + Duration::from_millis(1) {
            std::thread::sleep(due - now);
        }
        // A full socket buffer (ENOBUFS) is the sender's loss: retry it.
        loop {
            match socket.send(line) {
                Ok(_) => break,
                Err(e) if e.raw_os_error() == Some(105) => std::thread::yield_now(),
                Err(e) => return Err(format!("sending a datagram: {e}")),
            }
        }
    }
    Ok(())
}

fn main() {
    let result = parse_args().and_then(|args| {
        let text = std::fs::read(&args.lines).map_err(|e| format!("{}: {e}", args.lines))?;
        let lines = lines::messages(&text);
        let start = Instant::now();
        match args.udp_rate {
            Some(rate) => send_udp(&args, &lines, rate)?,
            None => send_tcp(&args, &lines)?,
        }
        Ok((lines.len(), start.elapsed()))
    });
    match result {
        Ok((sent, elapsed)) => {
            let secs = elapsed.as_secs_f64();
            println!(
                "sent={sent} elapsed_secs={secs:.3} msgs_per_sec={:.0}",
                sent as f64 / secs.max(1e-9)
            );
        }
        Err(e) => {
            eprintln!("frame_send: {e}");
            std::process::exit(1);
        }
    }
}
