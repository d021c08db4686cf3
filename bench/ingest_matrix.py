#!/usr/bin/env python3
"""Ingest side by side, the whole matrix in one run.

Receivers: netaudit with its defaults (store synchronous = full, chain,
indexes), netaudit with synchronous = normal, rsyslog imtcp -> plain file
(no fsync), rsyslog imtcp -> omfile sync="on" (fsync per batch, the durable
equivalent). Senders: loggen (one system call per message) and frame_send
(crates/syslog/examples/frame_send.rs: the corpus framed once, sent in 1 MiB
writes), over 1 and 4 TCP connections; optionally UDP (RFC 5426) at a fixed
rate and at full rate, where losses are the point.

For each combination and run: messages/s (messages / time from the sender's
start to the last one stored or written), the receiver's CPU per message
(utime + stime from /proc, in microseconds), its peak RSS (VmHWM) and the
messages lost (sent but never stored or written; must be 0 on TCP); the
peak RSS split into anonymous memory and mapped files (sampled every 0.1 s);
with --drain, netaudit's CPU per message again once its policies have read
back and evaluated the last event; with --threads, each run's CPU per
message by thread name. Medians
over the runs are printed as a table for docs/benchmarks.md.

Every wait is bounded; daemons listen on loopback high ports with private
configurations and are stopped by PID.

usage: bench/ingest_matrix.py [--messages N] [--runs R] [--senders loggen,frame]
           [--connections 1,4] [--receivers netaudit-full,netaudit-normal,
           rsyslog-file,rsyslog-sync] [--udp-rate MSGS_PER_SEC] [--timeout-secs S]
           [--drain SECS] [--threads] [--store-option KEY=VALUE ...]
env:   NETAUDIT_BIN  netaudit binary (default: cargo build --release)
       FRAME_SEND_BIN  frame_send binary (default: cargo build --release --example frame_send)
       PEERS         loggen's folder (default /opt/netaudit-peers/syslog-ng)
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
RECEIVERS = ["netaudit-full", "netaudit-normal", "rsyslog-file", "rsyslog-sync"]
SENDERS = ["loggen", "frame"]


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def rss_split_mb(pid):
    """Resident memory now, (anonymous, file-backed) in MB: file pages are the
    store's files mapped by readers (mmap), anonymous ones the heap."""
    anon = file = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1]) // 1024
            elif line.startswith("RssFile:"):
                file = int(line.split()[1]) // 1024
    return anon, file


def thread_cpu(pid):
    """CPU seconds per thread name (tokio workers and blocking threads
    share theirs); threads that have already exited are not counted."""
    by_name = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        by_name[name] = by_name.get(name, 0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return by_name


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Netaudit:
    def __init__(self, binary, work, sync, udp, store_options=()):
        self.dir = os.path.join(work, "netaudit")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.port = free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.http = free_port()
        protocol = "udp" if udp else "tcp"
        config = os.path.join(self.dir, "netaudit.toml")
        with open(config, "w") as f:
            f.write(
                f'[store]\npath = "{self.dir}/data/netaudit.db"\nsynchronous = "{sync}"\n'
                + "".join(f"{option}\n" for option in store_options) + "\n"
                +
                f'[http]\naddress = "127.0.0.1:{self.http}"\n\n'
                f'[[listener]]\nprotocol = "{protocol}"\naddress = "127.0.0.1:{self.port}"\n'
            )
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen([binary, "serve", "--config", config], stderr=self.log)
        wait_until("netaudit /health", self.healthy, 60)

    def healthy(self):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.http}/health", timeout=1)
            return True
        except OSError:
            return False

    def count(self):
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read()
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in body.decode().splitlines()
            if line.startswith("netaudit_stored_events_total ")
        )

    def policies_lag(self):
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=5).read()
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in body.decode().splitlines()
            if line.startswith("netaudit_policy_lag_events{")
        )

    def close(self):
        stop(self.proc)
        self.log.close()


class Rsyslog:
    def __init__(self, work, sync, udp):
        self.dir = os.path.join(work, "rsyslog")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "work"))
        self.port = free_port(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        self.file = os.path.join(self.dir, "messages")
        module, kind = ("imudp", "imudp") if udp else ("imtcp", "imtcp")
        action = f'action(type="omfile" file="{self.file}"' + (' sync="on")' if sync else ")")
        config = os.path.join(self.dir, "rsyslog.conf")
        with open(config, "w") as f:
            f.write(
                f'global(workDirectory="{self.dir}/work")\nmodule(load="{module}")\n'
                f'ruleset(name="bench") {{ {action} }}\n'
                f'input(type="{kind}" port="{self.port}" address="127.0.0.1" ruleset="bench")\n'
            )
        self.log = open(os.path.join(self.dir, "rsyslogd.out"), "w")
        self.proc = subprocess.Popen(
            ["rsyslogd", "-n", "-f", config, "-i", os.path.join(self.dir, "rsyslogd.pid")],
            stdout=self.log,
            stderr=self.log,
        )
        if udp:
            time.sleep(1)  # no connect() to probe a UDP port; rsyslogd binds at once
        else:
            wait_until("rsyslogd's port", self.listening, 60)

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def count(self):
        try:
            with open(self.file, "rb") as f:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        except FileNotFoundError:
            return 0

    def close(self):
        stop(self.proc)
        self.log.close()


def sender_command(args, sender, port, connections, lines, udp_rate):
    if sender == "loggen":
        peers = os.environ.get("PEERS", "/opt/netaudit-peers/syslog-ng")
        transport = "-D" if udp_rate else "-S"
        per_connection = args.messages // connections
        rate = str(udp_rate // connections) if udp_rate else "100000000"
        return (
            [f"{peers}/usr/bin/loggen", "-i", transport, "-R", lines, "-d", "-l",
             "-n", str(per_connection), "-r", rate, "-I", str(args.timeout_secs),
             f"--active-connections={connections}", "127.0.0.1", str(port)],
            {"LD_LIBRARY_PATH": f"{peers}/usr/lib/syslog-ng", "SYSLOGNG_PREFIX": f"{peers}/usr"},
            per_connection * connections,
        )
    cmd = [args.frame_send, f"127.0.0.1:{port}", lines, "--connections", str(connections),
           "--timeout-secs", str(args.timeout_secs)]
    if udp_rate:
        cmd += ["--udp", "--rate", str(udp_rate)]
    return cmd, {}, args.messages


def one_run(args, receiver, sender, connections, lines, udp_rate=None):
    udp = udp_rate is not None
    if receiver.startswith("netaudit"):
        daemon = Netaudit(args.netaudit, args.work, receiver.split("-")[1], udp, args.store_option)
    else:
        daemon = Rsyslog(args.work, receiver == "rsyslog-sync", udp)
    try:
        cmd, env, expected = sender_command(args, sender, daemon.port, connections, lines, udp_rate)
        pid = daemon.proc.pid
        cpu_before = cpu_secs(pid)
        threads_before = thread_cpu(pid)
        peak = {"anon": 0, "file": 0}
        start = time.monotonic()
        with open(os.path.join(args.work, "sender.out"), "w") as out:
            sender = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=out)
            # RSS split sampled while the sender runs (VmHWM has only the total).
            while sender.poll() is None and time.monotonic() - start < args.timeout_secs:
                anon, file = rss_split_mb(pid)
                peak["anon"], peak["file"] = max(peak["anon"], anon), max(peak["file"], file)
                time.sleep(0.1)
            if sender.poll() is None:
                sender.kill()
            if sender.wait(timeout=10) != 0:
                raise RuntimeError(f"sender failed: {cmd}")
        # Until all are in, or nothing more arrived for 5 s (then the rest is lost).
        deadline = start + args.timeout_secs
        last, last_change, end = -1, time.monotonic(), None
        while time.monotonic() < deadline:
            n = daemon.count()
            if n != last:
                last, last_change, end = n, time.monotonic(), time.monotonic()
            anon, file = rss_split_mb(pid)
            peak["anon"], peak["file"] = max(peak["anon"], anon), max(peak["file"], file)
            if n >= expected or time.monotonic() - last_change > 5:
                break
            time.sleep(0.05)
        cpu = cpu_secs(pid) - cpu_before
        stored = last
        result = {
            "rate": stored / max(end - start, 1e-9),
            "cpu_us": cpu * 1e6 / max(stored, 1),
            "rss": peak_rss_mb(pid),
            "lost": max(expected - stored, 0),
            "drained_us": None,
        }
        if args.drain and isinstance(daemon, Netaudit):
            # The policies read every stored event back: wait (bounded) until
            # they have evaluated the last one, and count that CPU too.
            drain_deadline = time.monotonic() + args.drain
            while time.monotonic() < drain_deadline and daemon.policies_lag() > 0:
                anon, file = rss_split_mb(pid)
                peak["anon"], peak["file"] = max(peak["anon"], anon), max(peak["file"], file)
                time.sleep(0.1)
            result["drained_us"] = (cpu_secs(pid) - cpu_before) * 1e6 / max(stored, 1)
            result["rss"] = peak_rss_mb(pid)
        result["anon"], result["file"] = peak["anon"], peak["file"]
        threads_after = thread_cpu(pid)
        result["threads"] = {
            name: (secs - threads_before.get(name, 0)) * 1e6 / max(stored, 1)
            for name, secs in threads_after.items()
            if secs - threads_before.get(name, 0) > 0
        }
        return result
    finally:
        daemon.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--senders", default="loggen,frame")
    p.add_argument("--connections", default="1,4")
    p.add_argument("--receivers", default=",".join(RECEIVERS))
    p.add_argument("--udp-rate", type=int, default=0,
                   help="also measure UDP at this rate, then at full rate (0: no UDP)")
    p.add_argument("--timeout-secs", type=int, default=600)
    p.add_argument("--drain", type=int, default=0,
                   help="after the last stored message, wait up to this many seconds for netaudit's "
                        "policies to evaluate it, and report the CPU per message including theirs")
    p.add_argument("--store-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a line added to netaudit's [store] section (TOML), e.g. reader_mmap_mb=1024")
    p.add_argument("--threads", action="store_true",
                   help="print each run's CPU per message by thread name")
    args = p.parse_args()
    if not (1 <= args.runs <= 20 and 1 <= args.messages <= 50_000_000):
        sys.exit("--runs takes 1 to 20, --messages 1 to 50,000,000")
    senders = args.senders.split(",")
    receivers = args.receivers.split(",")
    connections = [int(c) for c in args.connections.split(",")]
    for name, allowed in (("sender", SENDERS), ("receiver", RECEIVERS)):
        for value in senders if name == "sender" else receivers:
            if value not in allowed:
                sys.exit(f"unknown {name} {value!r}; known: {', '.join(allowed)}")

    args.netaudit = os.environ.get("NETAUDIT_BIN")
    if not args.netaudit:
        subprocess.run(["cargo", "build", "--release", "-p", "netaudit"], cwd=ROOT, check=True)
        args.netaudit = os.path.join(ROOT, "target/release/netaudit")
    args.frame_send = os.environ.get("FRAME_SEND_BIN")
    if not args.frame_send:
        subprocess.run(["cargo", "build", "--release", "-p", "netaudit-syslog", "--example", "frame_send"],
                       cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        args.frame_send = os.path.join(target, "release/examples/frame_send")

    with tempfile.TemporaryDirectory() as work:
        args.work = work
        lines = os.path.join(work, "lines.txt")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen_junos_lines.py"),
                        str(args.messages), lines], check=True)
        cases = [("tcp", s, c, None) for s in senders for c in connections]
        if args.udp_rate:
            cases += [("udp", s, 1, args.udp_rate) for s in senders]
            cases += [("udp", s, 1, 10_000_000) for s in senders]
        results = {}
        for run in range(args.runs):
            for proto, sender, conns, rate in cases:
                for receiver in receivers:
                    r = one_run(args, receiver, sender, conns, lines, rate)
                    results.setdefault((proto, sender, conns, rate, receiver), []).append(r)
                    print(f"run {run + 1} {proto} {sender} x{conns} "
                          f"{'rate ' + str(rate) if rate else ''} {receiver}: "
                          f"{r['rate']:.0f} msgs/s, {r['cpu_us']:.2f} us/msg, "
                          f"{r['rss']} MB (peak anon {r['anon']}, file {r['file']}), lost {r['lost']}"
                          + (f", {r['drained_us']:.2f} us/msg with the policies caught up"
                             if r["drained_us"] is not None else ""),
                          file=sys.stderr, flush=True)
                    if args.threads:
                        top = sorted(r["threads"].items(), key=lambda kv: -kv[1])
                        print("    threads us/msg: " + ", ".join(f"{n} {v:.2f}" for n, v in top),
                              file=sys.stderr, flush=True)

    print(f"\n{args.messages} messages, median of {args.runs} runs\n")
    print("| transport | sender | conns | receiver | msgs/s | CPU us/msg | CPU us/msg, policies caught up "
          "| peak RSS MB (anon, file) | lost (max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (proto, sender, conns, rate, receiver), rs in results.items():
        transport = proto if not rate else f"udp @ {'full' if rate >= 10_000_000 else rate}"
        print(f"| {transport} | {sender} | {conns} | {receiver} | "
              f"{statistics.median(r['rate'] for r in rs):,.0f} | "
              f"{statistics.median(r['cpu_us'] for r in rs):.2f} | {drained(rs)} | "
              f"{max(r['rss'] for r in rs)} ({max(r['anon'] for r in rs)}, {max(r['file'] for r in rs)}) | "
              f"{max(r['lost'] for r in rs)} |")


def drained(rs):
    values = [r["drained_us"] for r in rs if r["drained_us"] is not None]
    return f"{statistics.median(values):.2f}" if values else "-"


if __name__ == "__main__":
    main()
