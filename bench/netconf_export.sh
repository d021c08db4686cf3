#!/usr/bin/env bash
# Events/s out of one NETCONF exporter session ([netconf_server]): a store
# of MESSAGES events (the 8 seed 003 lines of
# crates/server/tests/data/netconf/seed003.log repeated, loaded with
# `netaudit import`), `netaudit serve` with the exporter on a loopback high
# port, and one client (paramiko, key authentication, base:1.1 chunked
# framing) that subscribes with a startTime before every event and reads
# the replay to its <replayComplete/>, counting <notification>s as they
# arrive (the client parses nothing else, so that it is not what is measured).
#
# Per run it prints: events/s from the <ok/> of create-subscription to
# replayComplete, and netaudit's CPU time (user + system, /proc/PID/stat)
# per event sent. Every wait is bounded; the daemon is stopped by PID.
#
# usage: bench/netconf_export.sh [MESSAGES (default 200000, a multiple of 8)] [RUNS (default 3)]
# env:   NETAUDIT_BIN (default: a release build), WORK (kept when given), TIMEOUT_SECS
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

MESSAGES="${1:-200000}"
RUNS="${2:-3}"
TIMEOUT_SECS="${TIMEOUT_SECS:-600}"
[ $((MESSAGES % 8)) -eq 0 ] || { echo "MESSAGES must be a multiple of 8" >&2; exit 2; }
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
[ -x "$NETAUDIT_BIN" ] || { echo "no netaudit binary at $NETAUDIT_BIN" >&2; exit 2; }
python3 -c "import paramiko" 2>/dev/null || { echo "no paramiko (it comes with ncclient): run .ci/install-deps" >&2; exit 2; }

OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
DAEMON_PID=""
stop_daemon() {
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  for _ in $(seq 1 600); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { DAEMON_PID=""; return 0; }
    sleep 0.1
  done
  kill -KILL "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
}
cleanup() {
  stop_daemon
  if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The events, the user and its key (shared by the runs; each run copies the store).
mkdir -p "$WORK/base"
python3 - "$REPO/crates/server/tests/data/netconf/seed003.log" "$((MESSAGES / 8))" > "$WORK/lines.log" <<'PY'
import sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
out = sys.stdout
for _ in range(int(sys.argv[2])):
    out.write("\n".join(lines) + "\n")
PY
"$NETAUDIT_BIN" import --db "$WORK/base/netaudit.db" "$WORK/lines.log" >/dev/null
[ -f "$WORK/client_key" ] || ssh-keygen -q -t ed25519 -N "" -C netaudit-bench -f "$WORK/client_key"
mkdir -p "$WORK/authorized"
cp "$WORK/client_key.pub" "$WORK/authorized/bench"
echo "a long enough bench password" > "$WORK/password"

echo "NETCONF exporter replay: $MESSAGES events per run, $RUNS runs, $(nproc) CPUs, $(date -u +%FT%TZ)"
for run in $(seq 1 "$RUNS"); do
  dir="$WORK/run$run"
  rm -rf "$dir"; cp -r "$WORK/base" "$dir"
  http_port="$(free_port)"
  nc_port="$(free_port)"
  cat > "$dir/netaudit.toml" <<EOF
[store]
path = "$dir/netaudit.db"

[[listener]]
protocol = "tcp"
address = "127.0.0.1:$(free_port)"

[http]
address = "127.0.0.1:$http_port"
console = false

[builtin_policies]
enabled = false

[netconf_server]
enabled = true
address = "127.0.0.1:$nc_port"
authorized_keys_dir = "$WORK/authorized"
EOF
  "$NETAUDIT_BIN" user -c "$dir/netaudit.toml" add bench --role auditor --password-file "$WORK/password" >/dev/null
  "$NETAUDIT_BIN" serve --config "$dir/netaudit.toml" 2>"$dir/serve.log" &
  DAEMON_PID=$!
  for _ in $(seq 1 300); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $nc_port), 1)" 2>/dev/null && break
    sleep 0.1
  done
  timeout "$TIMEOUT_SECS" python3 - "$nc_port" "$WORK/client_key" "$DAEMON_PID" "$MESSAGES" "$run" "$(getconf CLK_TCK)" <<'PY'
import sys, time, paramiko
port, key, pid, n, run, hz = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect("127.0.0.1", port=port, username="bench", key_filename=key, allow_agent=False, look_for_keys=False, timeout=30)
ch = c.get_transport().open_session(window_size=16 << 20, max_packet_size=32768)
ch.invoke_subsystem("netconf")
buf = b""
while b"]]>]]>" not in buf:
    buf += ch.recv(65536)
ch.sendall(b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>')
rpc = b'<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><create-subscription xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0"><startTime>1970-01-01T00:00:00Z</startTime></create-subscription></rpc>'
ch.sendall(b"\n#%d\n" % len(rpc) + rpc + b"\n##\n")
buf = b""
while b"<ok/>" not in buf:
    buf += ch.recv(1 << 20)
t0, c0 = time.monotonic(), cpu()
count, tail = buf.count(b"<notification"), b""
while True:
    data = ch.recv(1 << 20)
    if not data:
        sys.exit("the session ended before replayComplete")
    window = tail + data
    count += window.count(b"<notification") - tail.count(b"<notification")
    if b"<replayComplete/>" in window:
        break
    tail = window[-64:]
t1, c1 = time.monotonic(), cpu()
events = count - 1  # replayComplete is a notification too
assert events >= n, f"{events} notifications for {n} events"
print(f"run {run}: {events / (t1 - t0):,.0f} events/s ({t1 - t0:.2f} s, {events} events), netaudit CPU {(c1 - c0) / hz / events * 1e6:.2f} us/event")
c.close()
PY
  stop_daemon
done
