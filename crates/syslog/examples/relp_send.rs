//! A bounded RELP sender for benchmarks: sends every line of a file (bare,
//! or as `bench/gen_junos_lines.py` frames it for loggen) as one
//! RELP `syslog` transaction over one session, keeping up to `--window`
//! transactions unanswered, and prints how long the receiver took to answer
//! them all. It costs the sender little (one write per window), so the
//! figure is the receiver's, unlike a sending rsyslog's `omrelp` action.
//!
//! ```text
//! cargo run --release -p netaudit-syslog --example relp_send -- \
//!     127.0.0.1:PORT LINES_FILE [--window 128] [--timeout-secs 600]
//! ```
//!
//! Prints one line: `acked=N elapsed_secs=S msgs_per_sec=R`; exits 1 when
//! the receiver refused a message, closed the session or the time ran out.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use netaudit_syslog::framing::{
    next_txnr, Offers, RelpCodec, RelpCommand, RelpFrame, RelpResponse, RELP_VERSION,
};
use tokio_util::codec::{Decoder, Encoder};

#[path = "support/lines.rs"]
mod lines;

struct Args {
    address: String,
    lines: String,
    window: usize,
    timeout: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut window = 128usize;
    let mut timeout = Duration::from_secs(600);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--window" => {
                window = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|w| (1..=100_000).contains(w))
                    .ok_or("--window takes a number from 1 to 100000")?
            }
            "--timeout-secs" => {
                timeout = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s| (1..=3600).contains(s))
                    .map(Duration::from_secs)
                    .ok_or("--timeout-secs takes a number from 1 to 3600")?
            }
            _ => positional.push(arg),
        }
    }
    match <[String; 2]>::try_from(positional) {
        Ok([address, lines]) => Ok(Args {
            address,
            lines,
            window,
            timeout,
        }),
        Err(_) => Err("usage: relp_send ADDRESS LINES_FILE [--window N] [--timeout-secs S]".into()),
    }
}

/// One RELP session over a blocking socket.
struct Session {
    stream: TcpStream,
    codec: RelpCodec,
    read_buf: BytesMut,
    write_buf: BytesMut,
    deadline: Instant,
}

impl Session {
    fn send(&mut self, frame: RelpFrame) -> Result<(), String> {
        self.codec
            .encode(frame, &mut self.write_buf)
            .map_err(|e| format!("encoding a frame: {e}"))
    }

    fn flush(&mut self) -> Result<(), String> {
        self.stream
            .write_all(&self.write_buf)
            .map_err(|e| format!("writing to the receiver: {e}"))?;
        self.write_buf.clear();
        Ok(())
    }

    /// The next `rsp` (or `serverclose`, an error) from the receiver.
    fn response(&mut self) -> Result<(u32, RelpResponse), String> {
        loop {
            if let Some(frame) = self
                .codec
                .decode(&mut self.read_buf)
                .map_err(|e| format!("reading the receiver's frames: {e}"))?
            {
                return match frame.command {
                    RelpCommand::Rsp => RelpResponse::parse(frame.txnr, &frame.data)
                        .map(|r| (frame.txnr, r))
                        .map_err(|e| e.to_string()),
                    other => Err(format!("the receiver sent {other} (txnr {})", frame.txnr)),
                };
            }
            if Instant::now() >= self.deadline {
                return Err("time ran out waiting for the receiver".into());
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the receiver closed the session".into()),
                Ok(n) => self.read_buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(format!("reading from the receiver: {e}")),
            }
        }
    }
}

fn run(args: Args) -> Result<(usize, Duration), String> {
    let text = std::fs::read(&args.lines).map_err(|e| format!("{}: {e}", args.lines))?;
    let lines = lines::messages(&text);
    let stream = TcpStream::connect(&args.address)
        .map_err(|e| format!("connecting to {}: {e}", args.address))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut session = Session {
        stream,
        codec: RelpCodec::default(),
        read_buf: BytesMut::with_capacity(64 * 1024),
        write_buf: BytesMut::with_capacity(args.window * 512),
        deadline: Instant::now() + args.timeout,
    };

    let offers = Offers::netaudit(RELP_VERSION, &["syslog"]).encode();
    session.send(RelpFrame::new(1, RelpCommand::Open, offers))?;
    session.flush()?;
    let (_, answer) = session.response()?;
    if !answer.is_ok() {
        return Err(format!(
            "open refused: {} {}",
            answer.status, answer.message
        ));
    }

    let start = Instant::now();
    let mut txnr = 1u32;
    let (mut sent, mut acked) = (0usize, 0usize);
    while acked < lines.len() {
        while sent < lines.len() && sent - acked < args.window {
            txnr = next_txnr(txnr);
            let line = bytes::Bytes::copy_from_slice(lines[sent]);
            session.send(RelpFrame::new(txnr, RelpCommand::Syslog, line))?;
            sent += 1;
        }
        session.flush()?;
        let (answered, response) = session.response()?;
        if !response.is_ok() {
            return Err(format!(
                "transaction {answered} refused: {} {}",
                response.status, response.message
            ));
        }
        acked += 1;
    }
    let elapsed = start.elapsed();
    session.send(RelpFrame::new(
        next_txnr(txnr),
        RelpCommand::Close,
        bytes::Bytes::new(),
    ))?;
    session.flush()?;
    // The close's answer (or the receiver's serverclose) ends the session;
    // either is fine once every message was answered.
    let _ = session.response();
    Ok((acked, elapsed))
}

fn main() {
    let result = parse_args().and_then(run);
    match result {
        Ok((acked, elapsed)) => {
            let secs = elapsed.as_secs_f64();
            println!(
                "acked={acked} elapsed_secs={secs:.3} msgs_per_sec={:.0}",
                acked as f64 / secs.max(1e-9)
            );
        }
        Err(e) => {
            eprintln!("relp_send: {e}");
            std::process::exit(1);
        }
    }
}
