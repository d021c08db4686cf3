#!/usr/bin/env bash
# Event policy cost at full ingest rate: the same realistic Junos lines
# (bench/gen_junos_lines.py) sent by loggen over TCP to `netaudit serve` with
# 0, 10 and 100 `[[policy]]` tables (built-ins off), one fresh store each.
#
# Per run it prints: ingest messages/s (first message sent to last stored),
# the time until every policy's cursor has reached the last event (policies
# evaluated events/s), and the process's CPU time (user + system, from
# /proc/PID/stat) per stored event; the difference to 0 policies divided by
# the number of policies is the CPU cost of one policy per event.
#
# The policies are a mix: a third `count` (failed logins by user and client
# address, threshold 1000), a third `sequence` (UI_LOGIN_EVENT then
# UI_COMMIT per host and user), a third `each` with a message regex that
# the lines never match; so they evaluate every event but store few derived
# events. Every wait is bounded; the daemon is stopped by PID.
#
# usage: bench/policies.sh [MESSAGES (default 1000000)] [RUNS (default 3)]
# env:   NETAUDIT_BIN, PEERS, WORK, TIMEOUT_SECS as bench/side_by_side.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${1:-1000000}"
RUNS="${2:-3}"
PEERS="${PEERS:-/opt/netaudit-peers/syslog-ng}"
TIMEOUT_SECS="${TIMEOUT_SECS:-900}"
LOGGEN="$PEERS/usr/bin/loggen"
[ -x "$LOGGEN" ] || { echo "loggen not found at $LOGGEN: run .ci/install-deps" >&2; exit 2; }
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
[ -x "$NETAUDIT_BIN" ] || { echo "no netaudit binary at $NETAUDIT_BIN" >&2; exit 2; }

OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
DAEMON_PID=""
cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill -TERM "$DAEMON_PID" 2>/dev/null || true; fi
  if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
stop_daemon() {
  kill -TERM "$DAEMON_PID" 2>/dev/null || return 0
  for _ in $(seq 1 600); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { DAEMON_PID=""; return 0; }
    sleep 0.1
  done
  kill -KILL "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
}
wait_count() {
  local target="$1" cmd="$2" deadline value
  deadline=$(( $(date +%s) + TIMEOUT_SECS ))
  while :; do
    value="$(eval "$cmd" 2>/dev/null || echo 0)"
    if [ "${value:-0}" -ge "$target" ] 2>/dev/null; then now; return 0; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timeout: $value of $target" >&2; return 1; fi
    sleep 0.05
  done
}
# Sum (or, with min, the minimum) of the metric lines starting with $2.
metric() {
  python3 - "$1" "$2" "${3:-sum}" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
values = [int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(sys.argv[2])]
print((min(values) if values else 0) if sys.argv[3] == "min" else sum(values))
PY
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

policies() {
  local n="$1" i
  for i in $(seq 1 "$n"); do
    case $((i % 3)) in
      0) printf '[[policy]]\nname = "count-%d"\n[policy.match]\ncodes = ["SSHD_LOGIN_FAILED", "UI_LOGIN_FAILED*"]\n[policy.count]\nthreshold = 1000\nwindow_secs = 60\ngroup_by = ["user", "client-address"]\n\n' "$i" ;;
      1) printf '[[policy]]\nname = "seq-%d"\n[policy.match]\ncodes = ["UI_LOGIN_EVENT"]\n[policy.sequence]\nwindow_secs = 300\ngroup_by = ["host", "user"]\n[policy.sequence.then]\ncodes = ["UI_COMMIT*"]\n\n' "$i" ;;
      2) printf '[[policy]]\nname = "each-%d"\n[policy.match]\nmessage_regex = "never-in-these-lines-%d"\n\n' "$i" "$i" ;;
    esac
  done
}

echo "generating $MESSAGES lines" >&2
python3 bench/gen_junos_lines.py "$MESSAGES" "$WORK/lines.txt"

run() {
  local n="$1" dir="$WORK/run" port http start stored caught ticks
  rm -rf "$dir"; mkdir -p "$dir"
  port=$(free_port); http=$(free_port)
  {
    printf '[store]\npath = "%s/data/netaudit.db"\n\n[http]\naddress = "127.0.0.1:%s"\n\n' "$dir" "$http"
    printf '[builtin_policies]\nenabled = false\n\n[[listener]]\nprotocol = "tcp"\naddress = "127.0.0.1:%s"\n\n' "$port"
    policies "$n"
  } >"$dir/netaudit.toml"
  "$NETAUDIT_BIN" serve --config "$dir/netaudit.toml" 2>"$dir/serve.log" &
  DAEMON_PID=$!
  wait_count 1 "curl -sf http://127.0.0.1:$http/health >/dev/null && echo 1" >/dev/null
  ticks=$(cpu_ticks "$DAEMON_PID")
  start=$(now)
  LD_LIBRARY_PATH="$PEERS/usr/lib/syslog-ng" SYSLOGNG_PREFIX="$PEERS/usr" \
    timeout "$TIMEOUT_SECS" "$LOGGEN" -i -S -R "$WORK/lines.txt" -d -l -n "$MESSAGES" \
    -r 100000000 -I 300 --active-connections=1 127.0.0.1 "$port" >"$dir/loggen.out" 2>&1
  stored=$(wait_count "$MESSAGES" "metric $http netaudit_stored_events_total")
  if [ "$n" -gt 0 ]; then
    caught=$(wait_count "$MESSAGES" "metric $http 'netaudit_output_cursor_seq{output=\"policy:' min")
  else
    caught=$stored
  fi
  ticks=$(( $(cpu_ticks "$DAEMON_PID") - ticks ))
  stop_daemon
  python3 - "$n" "$MESSAGES" "$start" "$stored" "$caught" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import sys
n, m, start, stored, caught, ticks, hz = sys.argv[1:]
m = int(m); start, stored, caught = float(start), float(stored), float(caught)
cpu = int(ticks) / int(hz)
print(f"{n} {round(m / (stored - start))} {caught - start:.2f} {round(m / (caught - start))} {cpu * 1e6 / m:.2f}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "policies ingest_msgs_per_s caught_up_s evaluated_msgs_per_s cpu_us_per_event" >&2
for n in 0 10 100; do
  : >"$WORK/runs-$n"
  for r in $(seq 1 "$RUNS"); do
    line=$(run "$n")
    echo "run $r: $line" >&2
    echo "$line" >>"$WORK/runs-$n"
  done
  echo "median of $RUNS, $n policies: ingest $(awk '{print $2}' "$WORK/runs-$n" | median) msgs/s," \
       "caught up after $(awk '{print $3}' "$WORK/runs-$n" | median) s" \
       "($(awk '{print $4}' "$WORK/runs-$n" | median) msgs/s evaluated)," \
       "CPU $(awk '{print $5}' "$WORK/runs-$n" | median) us per event"
done
