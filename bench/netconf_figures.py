#!/usr/bin/env python3
"""Figures of the NETCONF collector (`[[input.netconf]]`, docs/netconf.md)
through a private OpenSSH sshd on a loopback high port whose `Subsystem
netconf` is the tests' Junos simulator (crates/server/tests/support/
junos_netconf.py). Results: docs/benchmarks.md.

    bench/netconf_figures.py latency [COUNT (2000)] [INTERVAL_SECS (0.01)]
    bench/netconf_figures.py fleet [DEVICES (200)] [RUNS (3)]

latency: one device streams COUNT lines, one every INTERVAL seconds, each
carrying the wall-clock time it was written to the channel (sent_ns=...);
an auditor's `GET /api/v1/events/stream` (server-sent events, which carry
an event only once it is committed to the store) receives them. Prints the
median, p90, p99 and worst of (arrival on the stream - sent), in ms: the
time from a line written by the device to stored, plus the stream's own
delivery.

fleet: DEVICES `[[input.netconf]]` tables, all to the one sshd (one sshd
session and one simulator process per device, MaxStartups raised so that
sshd accepts them together), each streaming the 8 seed 003 lines. Per run:
the time until every device is connected and every line stored, then
netaudit's resident memory (VmRSS, and the peak VmHWM) with all sessions
open; and the same server with no device, for the difference per device.
The devices' handshake_timeout is 300 s: that many sessions starting
together on a loaded machine take longer than the default 30 s.

env: NETAUDIT_BIN (default target/release/netaudit, built if missing),
WORK (a folder kept after the run; default a temporary one),
TIMEOUT_SECS (each wait; default 300). Every wait is bounded; sshd, its
sessions and netaudit are stopped by PID.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIMULATOR = os.path.join(REPO, "crates/server/tests/support/junos_netconf.py")
SEED_LINES = os.path.join(REPO, "crates/server/tests/data/netconf/seed003.log")
TIMEOUT = float(os.environ.get("TIMEOUT_SECS", "300"))
PASSWORD = "bench password, long enough"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def netaudit_bin():
    path = os.environ.get("NETAUDIT_BIN")
    if not path:
        subprocess.run(["cargo", "build", "--release", "-p", "netaudit"], cwd=REPO, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        path = os.path.join(target, "release/netaudit")
    if not os.access(path, os.X_OK):
        sys.exit(f"no netaudit binary at {path}")
    return path


def descendants(root):
    """PIDs under `root`, from /proc (sshd's sessions leave its group)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    found, i = [root], 0
    while i < len(found):
        found += [pid for pid, ppid in parents.items() if ppid == found[i]]
        i += 1
    return found[1:]


class Sshd:
    def __init__(self, work, subsystem_args):
        self.dir = os.path.join(work, "sshd")
        os.makedirs(self.dir, exist_ok=True)
        for key in ("host_key", "client_key"):
            path = os.path.join(self.dir, key)
            if not os.path.exists(path):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                "netaudit-bench", "-f", path], check=True)
        shutil.copy(os.path.join(self.dir, "client_key.pub"), os.path.join(self.dir, "authorized_keys"))
        # The simulator's lines file is this run's own: its path in a
        # process's command line says the process is one of this run's.
        self.lines = os.path.join(self.dir, "lines.log")
        shutil.copy(SEED_LINES, self.lines)
        self.port = free_port()
        self.client_key = os.path.join(self.dir, "client_key")
        with open(os.path.join(self.dir, "host_key.pub")) as f:
            kind, key = f.read().split()[:2]
        self.known_hosts = os.path.join(work, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {kind} {key}\n")
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write(f"""ListenAddress 127.0.0.1
Port {self.port}
HostKey {self.dir}/host_key
AuthorizedKeysFile {self.dir}/authorized_keys
PidFile {self.dir}/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 1000:30:1000
Subsystem netconf /usr/bin/python3 {SIMULATOR} --lines {self.lines} {subsystem_args}
""")
        self.proc = None

    def start(self):
        os.makedirs("/run/sshd", exist_ok=True)
        log = open(os.path.join(self.dir, "sshd.log"), "ab")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", self.config],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    sys.exit("sshd did not start")
                time.sleep(0.05)

    def sessions(self):
        """PIDs of this run's simulators, also those whose sshd session
        ended before them (no longer below sshd)."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if self.lines.encode() in f.read():
                            found.append(int(entry))
                except OSError:
                    pass
        return found

    def stop(self):
        if self.proc is None:
            return
        for pid in descendants(self.proc.pid) + self.sessions():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.kill()
        self.proc.wait()
        self.proc = None


class Netaudit:
    def __init__(self, binary, run_dir, tables):
        self.binary = binary
        self.dir = run_dir
        os.makedirs(run_dir, exist_ok=True)
        self.http_port = free_port()
        self.config = os.path.join(run_dir, "netaudit.toml")
        with open(self.config, "w") as f:
            f.write(f"""[store]
path = "{run_dir}/netaudit.db"

[[listener]]
protocol = "tcp"
address = "127.0.0.1:{free_port()}"

[http]
address = "127.0.0.1:{self.http_port}"
console = false

[builtin_policies]
enabled = false

{tables}""")
        self.proc = None

    def add_auditor(self):
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        subprocess.run([self.binary, "user", "-c", self.config, "add", "bench", "--role", "auditor",
                        "--password-file", pw], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def start(self):
        log = open(os.path.join(self.dir, "serve.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for("netaudit's /metrics", lambda: self.metric("netaudit_stored_events_total") >= 0)

    def metric(self, prefix):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5) as r:
                body = r.read().decode()
        except OSError:
            return -1
        return sum(int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(prefix))

    def memory_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            fields = dict(l.split(":", 1) for l in f if ":" in l)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def wait_for(what, check, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timeout after {timeout:.0f} s: {what}")
        time.sleep(0.05)


def device_table(name, sshd, extra=""):
    return f"""[[input.netconf]]
name = "{name}"
address = "127.0.0.1"
port = {sshd.port}
user = "{os.environ.get('USER') or 'root'}"
private_key = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
reconnect_min = "1s"
reconnect_max = "2s"
{extra}
"""


def percentile(sorted_values, p):
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def latency(binary, work, count, interval):
    sshd = Sshd(work, f"--paced {count} --interval {interval}")
    server = Netaudit(binary, os.path.join(work, "latency"), device_table("probe", sshd))
    try:
        server.add_auditor()
        # sshd starts only once the stream is open, so that no line is
        # written before a reader waits for it; the collector retries.
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
        conn.request("POST", "/api/v1/login", json.dumps({"username": "bench", "password": PASSWORD}),
                     {"Content-Type": "application/json"})
        token = json.loads(conn.getresponse().read())["token"]
        stream = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
        stream.request("GET", "/api/v1/events/stream", headers={"Authorization": f"Bearer {token}"})
        response = stream.getresponse()
        assert response.status == 200, response.status
        sshd.start()
        sent = re.compile(rb"sent_ns=(\d+)")
        latencies = []
        deadline = time.monotonic() + count * interval + 60
        while len(latencies) < count and time.monotonic() < deadline:
            line = response.fp.readline()
            if not line:
                break
            if line.startswith(b"data:"):
                found = sent.search(line)
                if found:
                    latencies.append((time.time_ns() - int(found.group(1))) / 1e6)
        if len(latencies) < count:
            print(f"only {len(latencies)} of {count} lines arrived", file=sys.stderr)
        values = sorted(latencies)
        print(f"NETCONF line -> stored -> event stream, {len(values)} lines at one per "
              f"{interval * 1000:.0f} ms, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        print(f"latency ms: median {statistics.median(values):.2f}, p90 {percentile(values, 90):.2f}, "
              f"p99 {percentile(values, 99):.2f}, max {values[-1]:.2f}")
    finally:
        server.stop()
        sshd.stop()


def fleet(binary, work, devices, runs):
    sshd = Sshd(work, "")
    sshd.start()
    lines = sum(1 for l in open(SEED_LINES) if l.strip())
    print(f"NETCONF fleet: {devices} devices over one sshd, {runs} runs, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    results = []
    try:
        for run in range(1, runs + 1):
            idle = Netaudit(binary, os.path.join(work, f"idle{run}"), "")
            idle.start()
            time.sleep(3)
            idle_rss, _ = idle.memory_kib()
            idle.stop()
            # 200 sessions starting together on 2 loaded cores take longer
            # than the default 30 s handshake; a timeout would only retry.
            tables = "".join(device_table(f"d{i:03}", sshd, 'handshake_timeout = "300s"')
                             for i in range(devices))
            server = Netaudit(binary, os.path.join(work, f"fleet{run}"), tables)
            try:
                t0 = time.monotonic()
                server.start()
                wait_for("every device connected and every line stored",
                         lambda: server.metric("netaudit_netconf_connected") == devices
                         and server.metric("netaudit_netconf_events_received_total") >= devices * lines)
                took = time.monotonic() - t0
                time.sleep(3)
                assert server.metric("netaudit_netconf_connected") == devices
                rss, hwm = server.memory_kib()
                reconnects = server.metric("netaudit_netconf_reconnects_total")
            finally:
                server.stop()
            results.append((rss, hwm, idle_rss, took))
            print(f"run {run}: all {devices} connected and {devices * lines} lines in {took:.1f} s "
                  f"({reconnects} reconnects); RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f}), "
                  f"no device {idle_rss / 1024:.1f} MiB: {(rss - idle_rss) / devices:.0f} KiB a device")
        rss = statistics.median(r[0] for r in results)
        hwm = statistics.median(r[1] for r in results)
        idle_rss = statistics.median(r[2] for r in results)
        took = statistics.median(r[3] for r in results)
        print(f"median: RSS {rss / 1024:.1f} MiB (peak {hwm / 1024:.1f}) with {devices} devices, "
              f"{idle_rss / 1024:.1f} MiB with none, {(rss - idle_rss) / devices:.0f} KiB a device; "
              f"all connected in {took:.1f} s")
    finally:
        sshd.stop()


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("latency", "fleet"):
        sys.exit(__doc__)
    binary = netaudit_bin()
    own = "WORK" not in os.environ
    work = tempfile.mkdtemp() if own else os.environ["WORK"]
    try:
        if sys.argv[1] == "latency":
            count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
            interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
            latency(binary, work, count, interval)
        else:
            devices = int(sys.argv[2]) if len(sys.argv) > 2 else 200
            runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
            fleet(binary, work, devices, runs)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
