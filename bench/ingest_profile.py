#!/usr/bin/env python3
"""Instructions per ingested message, counted by callgrind (issue 18).

Wall time and CPU time on the shared 2-core machine move with the other
builds; the number of instructions netaudit executes per message does not.
This driver runs the real `netaudit serve` (TCP listener, pipeline, store
with its defaults: synchronous = full, chain, indexes) under
`valgrind --tool=callgrind`, sends N pre-framed Junos lines with
frame_send (octet counting, large writes, C connections), waits until all
N are stored (netaudit_stored_events_total), stops the server with SIGTERM
and reads callgrind's instruction total. It does that for two message
counts; the difference divided by the difference in messages is the cost of
one message, without the start and stop (catalog, store opening, shutdown).

The profile of the larger run is kept (--keep DIR) for callgrind_annotate.

Caveat: valgrind hides SHA-NI, AVX-512 and some other CPU features, so
sha2 runs its portable code under callgrind; SHA-256's share of a profile is
larger than on the real CPU (see docs/benchmarks.md).

usage: bench/ingest_profile.py [--messages N1,N2] [--connections C]
           [--extra-config TOML] [--keep DIR] [--timeout-secs S]
env:   NETAUDIT_BIN  netaudit binary (default: cargo build --release)
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ left in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_matrix import free_port, wait_until  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stored(http):
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=10).read()
    except OSError:
        return -1
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in body.decode().splitlines()
        if line.startswith("netaudit_stored_events_total ")
    )


def healthy(http):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=2)
        return True
    except OSError:
        return False


def one_run(args, work, lines, count):
    """Callgrind's instruction total for a server that stored `count` messages."""
    run = os.path.join(work, f"run-{count}")
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(run)
    port, http = free_port(), free_port()
    config = os.path.join(run, "netaudit.toml")
    with open(config, "w") as f:
        f.write(
            f'[store]\npath = "{run}/data/netaudit.db"\n\n'
            f'[http]\naddress = "127.0.0.1:{http}"\n\n'
            f'[[listener]]\nprotocol = "tcp"\naddress = "127.0.0.1:{port}"\n'
            f'{args.extra_config}\n'
        )
    out = os.path.join(run, "callgrind.out")
    log = open(os.path.join(run, "serve.log"), "w")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         args.netaudit, "serve", "--config", config],
        stderr=log,
    )
    try:
        wait_until("netaudit /health under callgrind", lambda: healthy(http), args.timeout_secs)
        subprocess.run(
            [args.frame_send, f"127.0.0.1:{port}", lines, "--connections", str(args.connections),
             "--timeout-secs", str(args.timeout_secs)],
            stdout=subprocess.DEVNULL, timeout=args.timeout_secs, check=True,
        )
        wait_until(f"{count} messages stored", lambda: stored(http) >= count, args.timeout_secs)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=args.timeout_secs)
        log.close()
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                total = int(m.group(1))
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        shutil.copy(out, os.path.join(args.keep, f"callgrind.out.{count}"))
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", default="20000,100000")
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--extra-config", default="",
                   help='appended to the configuration, e.g. "[builtin_policies]\\nenabled = false"')
    p.add_argument("--keep", help="copy each run's callgrind.out.N here")
    p.add_argument("--timeout-secs", type=int, default=900)
    args = p.parse_args()
    args.extra_config = args.extra_config.replace("\\n", "\n")
    counts = [int(n) for n in args.messages.split(",")]
    if len(counts) != 2 or not 1 <= counts[0] < counts[1] <= 5_000_000:
        sys.exit("--messages takes two counts N1,N2 with 1 <= N1 < N2 <= 5,000,000")
    if not 1 <= args.connections <= 64:
        sys.exit("--connections takes 1 to 64")
    args.netaudit = os.environ.get("NETAUDIT_BIN")
    if not args.netaudit:
        subprocess.run(["cargo", "build", "--release", "-p", "netaudit"], cwd=ROOT, check=True)
        args.netaudit = os.path.join(ROOT, "target/release/netaudit")
    subprocess.run(["cargo", "build", "--release", "-p", "netaudit-syslog", "--example", "frame_send"],
                   cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    args.frame_send = os.path.join(target, "release/examples/frame_send")
    with tempfile.TemporaryDirectory() as work:
        totals = []
        for count in counts:
            lines = os.path.join(work, f"lines-{count}.txt")
            subprocess.run([sys.executable, os.path.join(ROOT, "bench/gen_junos_lines.py"),
                            str(count), lines], check=True)
            start = time.monotonic()
            totals.append(one_run(args, work, lines, count))
            print(f"{count} messages: {totals[-1]:,} instructions "
                  f"({time.monotonic() - start:.0f} s under callgrind)", file=sys.stderr, flush=True)
    per_message = (totals[1] - totals[0]) / (counts[1] - counts[0])
    print(f"instructions per message: {per_message:,.0f} "
          f"(({totals[1]:,} - {totals[0]:,}) / ({counts[1]:,} - {counts[0]:,}))")


if __name__ == "__main__":
    main()
