#!/usr/bin/env bash
# Side-by-side TCP ingest benchmark: the same realistic Junos structured-data
# lines sent by syslog-ng's loggen to netaudit (durable store: synchronous =
# full, chain, background indexing, as configured by default) and then to
# rsyslog (imtcp -> plain file), one after the other, on loopback high ports.
#
# Prints messages/s for each (messages stored or written / time from the
# first message sent to the last one stored or written), the ratio, and
# netaudit's peak RSS (VmHWM). Every wait is bounded; daemons are stopped by
# PID. Results of a run go to docs/benchmarks.md by hand.
#
# loggen makes one system call per message and caps both servers near 250k
# msgs/s on two cores; bench/ingest_matrix.py measures the whole matrix in
# one run (netaudit full and normal, rsyslog plain file and sync="on",
# loggen and a cheap sender, 1 and 4 connections, UDP; CPU per message,
# peak RSS, losses).
#
# usage: bench/side_by_side.sh [MESSAGES (default 1000000)] [RUNS (default 3)]
# env:   NETAUDIT_BIN  use this binary instead of building target/release/netaudit
#        PEERS         loggen's folder (default /opt/netaudit-peers/syslog-ng)
#        WORK          scratch folder (default: a new mktemp -d, removed at the end)
#        TIMEOUT_SECS  per-run limit (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${1:-1000000}"
RUNS="${2:-3}"
PEERS="${PEERS:-/opt/netaudit-peers/syslog-ng}"
TIMEOUT_SECS="${TIMEOUT_SECS:-600}"
LOGGEN="$PEERS/usr/bin/loggen"
[ -x "$LOGGEN" ] || { echo "loggen not found at $LOGGEN: run .ci/install-deps" >&2; exit 2; }
command -v rsyslogd >/dev/null || { echo "rsyslogd not found: run .ci/install-deps" >&2; exit 2; }

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

# Stops DAEMON_PID with SIGTERM and waits (bounded) for it to exit.
stop_daemon() {
  kill -TERM "$DAEMON_PID" 2>/dev/null || return 0
  for _ in $(seq 1 600); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { DAEMON_PID=""; return 0; }
    sleep 0.1
  done
  echo "pid $DAEMON_PID did not stop in 60 s; killing it" >&2
  kill -KILL "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=""
}

# Waits (bounded) until COMMAND prints a number >= TARGET; echoes the time.
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

run_loggen() {
  LD_LIBRARY_PATH="$PEERS/usr/lib/syslog-ng" SYSLOGNG_PREFIX="$PEERS/usr" \
    timeout "$TIMEOUT_SECS" "$LOGGEN" -i -S -R "$WORK/lines.txt" -d -l -n "$MESSAGES" \
    -r 100000000 -I 300 --active-connections=1 127.0.0.1 "$1" >"$WORK/loggen.out" 2>&1
}

metric() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(sys.argv[2] + " ")))
PY
}

echo "generating $MESSAGES lines" >&2
python3 bench/gen_junos_lines.py "$MESSAGES" "$WORK/lines.txt"

run_netaudit() {
  local dir="$WORK/netaudit" port http start end rss
  rm -rf "$dir"; mkdir -p "$dir"
  port=$(free_port); http=$(free_port)
  cat >"$dir/netaudit.toml" <<TOML
[store]
path = "$dir/data/netaudit.db"

[http]
address = "127.0.0.1:$http"

[[listener]]
protocol = "tcp"
address = "127.0.0.1:$port"
TOML
  "$NETAUDIT_BIN" serve --config "$dir/netaudit.toml" 2>"$dir/serve.log" &
  DAEMON_PID=$!
  wait_count 1 "curl -sf http://127.0.0.1:$http/health >/dev/null && echo 1" >/dev/null
  start=$(now)
  run_loggen "$port"
  end=$(wait_count "$MESSAGES" "metric $http netaudit_stored_events_total")
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$DAEMON_PID/status")
  # Where the resident memory is: anonymous (heap) versus file-backed
  # (SQLite's memory-mapped database and WAL pages).
  awk '/RssAnon|RssFile/ {printf "%s %d MB  ", $1, $2/1024} END {print ""}' "/proc/$DAEMON_PID/status" >&2
  stop_daemon
  echo "$(python3 -c "print(round($MESSAGES/($end-$start)))") $((rss / 1024))" >"$WORK/result"
}

run_rsyslog() {
  local dir="$WORK/rsyslog" port start end
  rm -rf "$dir"; mkdir -p "$dir/work"
  port=$(free_port)
  cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work")
module(load="imtcp")
ruleset(name="bench") { action(type="omfile" file="$dir/messages") }
input(type="imtcp" port="$port" address="127.0.0.1" ruleset="bench")
CONF
  rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/rsyslogd.out" 2>&1 &
  DAEMON_PID=$!
  wait_count 1 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $port), 1); print(1)'" >/dev/null
  start=$(now)
  run_loggen "$port"
  end=$(wait_count "$MESSAGES" "wc -l < '$dir/messages'")
  stop_daemon
  python3 -c "print(round($MESSAGES/($end-$start)))" >"$WORK/result"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$WORK/na.txt"; : >"$WORK/rs.txt"; : >"$WORK/rss.txt"
for run in $(seq 1 "$RUNS"); do
  run_netaudit; read -r rate rss <"$WORK/result"
  echo "$rate" >>"$WORK/na.txt"; echo "$rss" >>"$WORK/rss.txt"
  run_rsyslog; rs=$(cat "$WORK/result")
  echo "$rs" >>"$WORK/rs.txt"
  echo "run $run: netaudit $rate msgs/s (peak RSS $rss MB), rsyslog $rs msgs/s" >&2
done
na=$(median <"$WORK/na.txt"); rs=$(median <"$WORK/rs.txt"); rss=$(sort -n "$WORK/rss.txt" | tail -1)
printf '\n%-44s %12s\n' "TCP, loggen, $MESSAGES msgs, median of $RUNS" "msgs/s"
printf '%-44s %12s\n' "netaudit (durable store, chain, indexes)" "$na"
printf '%-44s %12s\n' "rsyslog 8 (imtcp -> plain file)" "$rs"
printf '%-44s %12s\n' "ratio netaudit / rsyslog" "$(python3 -c "print(f'{$na/$rs:.2f}')")"
printf '%-44s %12s\n' "netaudit peak RSS (VmHWM, max of runs)" "$rss MB"
