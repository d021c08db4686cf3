#!/usr/bin/env bash
# Events/s through one NETCONF session into the store: a private OpenSSH
# sshd on a loopback high port runs the tests' Junos simulator
# (crates/server/tests/support/junos_netconf.py) as `Subsystem netconf`,
# which answers <get-syslog-events> with the 8 seed 003 lines of
# crates/server/tests/data/netconf/seed003.log repeated MESSAGES/8 times
# (1000 <syslog-event> elements to a chunk, base:1.1 framing); one
# `[[input.netconf]]` of `netaudit serve` (fresh store per run) collects them.
#
# Per run it prints: events/s from the first line received to the last one
# stored (netaudit_netconf_events_received_total, netaudit_stored_events_total
# in /metrics), and netaudit's CPU time (user + system, /proc/PID/stat) per
# stored event. Every wait is bounded; sshd, its sessions and the daemon are
# stopped by PID.
#
# With CALLHOME=1 the same session is device-initiated: netaudit listens on
# `[[input.netconf_callhome]]` and the device
# (crates/server/tests/support/callhome_device.py) connects, sends the Junos
# outbound-ssh header and hands its socket to `sshd -i` with the same sshd
# configuration.
#
# usage: bench/netconf.sh [MESSAGES (default 400000, a multiple of 8000)] [RUNS (default 3)]
# env:   NETAUDIT_BIN (default: a release build), WORK (kept when given), TIMEOUT_SECS, CALLHOME
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

MESSAGES="${1:-400000}"
RUNS="${2:-3}"
TIMEOUT_SECS="${TIMEOUT_SECS:-600}"
[ $((MESSAGES % 8000)) -eq 0 ] || { echo "MESSAGES must be a multiple of 8000" >&2; exit 2; }
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
[ -x "$NETAUDIT_BIN" ] || { echo "no netaudit binary at $NETAUDIT_BIN" >&2; exit 2; }
[ -x /usr/sbin/sshd ] || { echo "no /usr/sbin/sshd: run .ci/install-deps" >&2; exit 2; }

OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
DAEMON_PID=""
SSHD_PID=""
DEVICE_PID=""
CALLHOME="${CALLHOME:-0}"

# The PIDs of $1's descendants, children first (sshd's per-connection
# processes leave its process group).
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
stop_sshd() {
  [ -n "$SSHD_PID" ] || return 0
  local pid
  for pid in $(descendants "$SSHD_PID"); do kill -KILL "$pid" 2>/dev/null || true; done
  kill -KILL "$SSHD_PID" 2>/dev/null || true
  wait "$SSHD_PID" 2>/dev/null || true
  SSHD_PID=""
}
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
stop_device() {
  [ -n "$DEVICE_PID" ] || return 0
  local pid
  for pid in $(descendants "$DEVICE_PID"); do kill -KILL "$pid" 2>/dev/null || true; done
  kill -KILL "$DEVICE_PID" 2>/dev/null || true
  wait "$DEVICE_PID" 2>/dev/null || true
  DEVICE_PID=""
}
cleanup() {
  stop_device
  stop_daemon
  stop_sshd
  if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
metric() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(sys.argv[2])))
PY
}
wait_metric() {
  local port="$1" series="$2" target="$3" deadline value
  deadline=$(( $(date +%s) + TIMEOUT_SECS ))
  while :; do
    value="$(metric "$port" "$series" 2>/dev/null || echo 0)"
    if [ "${value:-0}" -ge "$target" ] 2>/dev/null; then now; return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timeout: $series $value of $target" >&2; return 1; fi
    sleep 0.02
  done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The device: keys, known_hosts, sshd with the simulator.
mkdir -p "$WORK/sshd"
for key in host_key client_key; do
  [ -f "$WORK/sshd/$key" ] || ssh-keygen -q -t ed25519 -N "" -C netaudit-bench -f "$WORK/sshd/$key"
done
cp "$WORK/sshd/client_key.pub" "$WORK/sshd/authorized_keys"
cp "$REPO/crates/server/tests/data/netconf/seed003.log" "$WORK/sshd/lines.log"
SSH_PORT="$(free_port)"
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$WORK/sshd/host_key.pub")" > "$WORK/known_hosts"
cat > "$WORK/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $WORK/sshd/host_key
AuthorizedKeysFile $WORK/sshd/authorized_keys
PidFile $WORK/sshd/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem netconf /usr/bin/python3 $REPO/crates/server/tests/support/junos_netconf.py --lines $WORK/sshd/lines.log --repeat $((MESSAGES / 8))
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$WORK/sshd/sshd_config" 2>"$WORK/sshd/sshd.log" &
SSHD_PID=$!
for _ in $(seq 1 300); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $SSH_PORT), 1)" 2>/dev/null && break
  sleep 0.1
done

echo "NETCONF into the store$([ "$CALLHOME" = 1 ] && echo " (call-home)"): $MESSAGES events per run, $RUNS runs, $(nproc) CPUs, $(date -u +%FT%TZ)"
for run in $(seq 1 "$RUNS"); do
  dir="$WORK/run$run"
  rm -rf "$dir"; mkdir -p "$dir"
  http_port="$(free_port)"
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

EOF
  if [ "$CALLHOME" = 1 ]; then
    callhome_port="$(free_port)"
    cat >> "$dir/netaudit.toml" <<EOF
[[input.netconf_callhome]]
name = "callhome"
address = "127.0.0.1:$callhome_port"

[[input.netconf_callhome.device]]
name = "bench"
user = "$(id -un)"
private_key = "$WORK/sshd/client_key"
host_key = "$(cut -d' ' -f1,2 "$WORK/sshd/host_key.pub")"
EOF
  else
    cat >> "$dir/netaudit.toml" <<EOF
[[input.netconf]]
name = "bench"
address = "127.0.0.1"
port = $SSH_PORT
user = "$(id -un)"
private_key = "$WORK/sshd/client_key"
known_hosts = "$WORK/known_hosts"
EOF
  fi
  "$NETAUDIT_BIN" serve --config "$dir/netaudit.toml" 2>"$dir/serve.log" &
  DAEMON_PID=$!
  if [ "$CALLHOME" = 1 ]; then
    # The HTTP port opens once every listener is bound (a probe of the
    # call-home port would be a refused connection with its event).
    for _ in $(seq 1 300); do
      metric "$http_port" netaudit_stored_events_total >/dev/null 2>&1 && break
      sleep 0.1
    done
    python3 "$REPO/crates/server/tests/support/callhome_device.py" --port "$callhome_port" \
      --sshd-config "$WORK/sshd/sshd_config" --device-id bench 2>"$dir/device.log" &
    DEVICE_PID=$!
  fi
  t0="$(wait_metric "$http_port" netaudit_netconf_events_received_total 1)"
  cpu0="$(cpu_ticks "$DAEMON_PID")"
  # The lines, plus the session's ESTABLISHED event.
  t1="$(wait_metric "$http_port" netaudit_stored_events_total $((MESSAGES + 1)))"
  cpu1="$(cpu_ticks "$DAEMON_PID")"
  python3 - "$MESSAGES" "$t0" "$t1" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" "$run" <<'PY'
import sys
n, t0, t1, c0, c1, hz, run = int(sys.argv[1]), *map(float, sys.argv[2:7]), sys.argv[7]
secs = t1 - t0
print(f"run {run}: {n / secs:,.0f} events/s ({secs:.2f} s), netaudit CPU {(c1 - c0) / hz / n * 1e6:.2f} us/event")
PY
  stop_daemon
  stop_device
done
