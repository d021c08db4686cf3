#!/usr/bin/env bash
# Side-by-side RELP ingest benchmark: the same realistic Junos structured-data
# lines go loggen -> rsyslog (imtcp, in-memory queue) -> omrelp -> the RELP
# receiver under test: netaudit (`protocol = "relp"`, durable store with
# synchronous = full, chain, indexes; each message answered only once stored)
# and then rsyslog's imrelp (-> plain file), one after the other in the same
# run, on loopback high ports. The sending rsyslog is the same for both.
#
# SENDER=relp_send (the default) sends instead with a small bounded Rust
# sender (crates/syslog/examples/relp_send.rs) that keeps the RELP window
# full and costs little, so the figure is the receiver's; SENDER=omrelp uses
# loggen -> rsyslog omrelp as described above (the rate of rsyslog's omrelp
# action then bounds both receivers).
#
# Prints messages/s for each (messages stored or written / time from the
# first message sent to the last one stored or written), the medians and
# the ratio. Every wait is bounded; daemons are stopped by PID. Results go
# to docs/benchmarks.md by hand.
#
# usage: bench/relp_side_by_side.sh [MESSAGES (default 200000)] [RUNS (default 3)]
# env:   NETAUDIT_BIN  use this binary instead of building target/release/netaudit
#        PEERS         loggen's folder (default /opt/netaudit-peers/syslog-ng)
#        WORK          scratch folder (default: a new mktemp -d, removed at the end)
#        TIMEOUT_SECS  per-run limit (default 600)
#        WINDOW        RELP window (default 128, rsyslog's default)
#        SENDER        relp_send (default) or omrelp
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${1:-200000}"
RUNS="${2:-3}"
PEERS="${PEERS:-/opt/netaudit-peers/syslog-ng}"
TIMEOUT_SECS="${TIMEOUT_SECS:-600}"
WINDOW="${WINDOW:-128}"
SENDER="${SENDER:-relp_send}"
case "$SENDER" in relp_send|omrelp) ;; *) echo "SENDER must be relp_send or omrelp" >&2; exit 2;; esac
LOGGEN="$PEERS/usr/bin/loggen"
[ -x "$LOGGEN" ] || { echo "loggen not found at $LOGGEN: run .ci/install-deps" >&2; exit 2; }
command -v rsyslogd >/dev/null || { echo "rsyslogd not found: run .ci/install-deps" >&2; exit 2; }
for module in omrelp imrelp; do
  found=0
  for path in /usr/lib/*/rsyslog/$module.so /usr/lib/rsyslog/$module.so; do
    [ -e "$path" ] && found=1
  done
  [ "$found" = 1 ] || { echo "rsyslog $module not found: run .ci/install-deps (rsyslog-relp)" >&2; exit 2; }
done

if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
[ -x "$NETAUDIT_BIN" ] || { echo "no netaudit binary at $NETAUDIT_BIN" >&2; exit 2; }
RELP_SEND="${CARGO_TARGET_DIR:-target}/release/examples/relp_send"
if [ "$SENDER" = relp_send ]; then
  cargo build --release -p netaudit-syslog --example relp_send >&2
fi

OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
RECEIVER_PID=""
SENDER_PID=""
cleanup() {
  for pid in "$SENDER_PID" "$RECEIVER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }

# Stops the process whose PID is $1 with SIGTERM and waits (bounded).
stop_pid() {
  local pid="$1"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "pid $pid did not stop in 60 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
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

wait_port() {
  wait_count 1 "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $1), 1); print(1)'" >/dev/null
}

metric() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(sys.argv[2] + " ")))
PY
}

# The sending rsyslog: imtcp on $2, omrelp to 127.0.0.1:$3, files in $1.
start_sender() {
  local dir="$1" input="$2" relp="$3"
  mkdir -p "$dir/work"
  cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work")
module(load="imtcp")
module(load="omrelp")
ruleset(name="fwd") {
  action(type="omrelp" target="127.0.0.1" port="$relp" template="RSYSLOG_SyslogProtocol23Format"
         windowSize="$WINDOW" queue.type="LinkedList" queue.size="$((MESSAGES + 10000))"
         queue.dequeueBatchSize="1024" action.resumeRetryCount="-1" action.resumeInterval="1")
}
input(type="imtcp" port="$input" address="127.0.0.1" ruleset="fwd")
CONF
  rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/rsyslogd.out" 2>&1 &
  SENDER_PID=$!
  wait_port "$input"
}

run_loggen() {
  LD_LIBRARY_PATH="$PEERS/usr/lib/syslog-ng" SYSLOGNG_PREFIX="$PEERS/usr" \
    timeout "$TIMEOUT_SECS" "$LOGGEN" -i -S -R "$WORK/lines.txt" -d -l -n "$MESSAGES" \
    -r 100000000 -I 300 --active-connections=1 127.0.0.1 "$1" >"$WORK/loggen.out" 2>&1
}

# Sends every line to the RELP receiver on port $3 with $SENDER; writes the
# time the sending started to $WORK/start (not printed: a subshell would lose
# the sending rsyslog's PID). With omrelp the sending rsyslog (files in $1,
# imtcp on $2) stays up until the caller stops it.
send_all() {
  local dir="$1" input="$2" relp="$3" start
  if [ "$SENDER" = relp_send ]; then
    start=$(now)
    "$RELP_SEND" "127.0.0.1:$relp" "$WORK/lines.txt" --window "$WINDOW" \
      --timeout-secs "$TIMEOUT_SECS" >"$WORK/relp_send.out" 2>&1 \
      || { echo "relp_send failed: $(cat "$WORK/relp_send.out")" >&2; return 1; }
  else
    start_sender "$dir" "$input" "$relp"
    start=$(now)
    run_loggen "$input"
  fi
  echo "$start" >"$WORK/start"
}

echo "generating $MESSAGES lines" >&2
python3 bench/gen_junos_lines.py "$MESSAGES" "$WORK/lines.txt"

run_netaudit() {
  local dir="$WORK/netaudit" relp http input start end
  rm -rf "$dir"; mkdir -p "$dir"
  relp=$(free_port); http=$(free_port); input=$(free_port)
  cat >"$dir/netaudit.toml" <<TOML
[store]
path = "$dir/data/netaudit.db"

[http]
address = "127.0.0.1:$http"

[[listener]]
protocol = "relp"
address = "127.0.0.1:$relp"
TOML
  "$NETAUDIT_BIN" serve --config "$dir/netaudit.toml" 2>"$dir/serve.log" &
  RECEIVER_PID=$!
  wait_count 1 "curl -sf http://127.0.0.1:$http/health >/dev/null && echo 1" >/dev/null
  send_all "$dir/sender" "$input" "$relp"; start=$(cat "$WORK/start")
  end=$(wait_count "$MESSAGES" "metric $http netaudit_stored_events_total")
  stop_pid "$SENDER_PID"; SENDER_PID=""
  stop_pid "$RECEIVER_PID"; RECEIVER_PID=""
  python3 -c "print(round($MESSAGES/($end-$start)))" >"$WORK/result"
}

run_imrelp() {
  local dir="$WORK/rsyslog" relp input start end
  rm -rf "$dir"; mkdir -p "$dir/work"
  relp=$(free_port); input=$(free_port)
  cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work")
module(load="imrelp")
ruleset(name="bench") { action(type="omfile" file="$dir/messages") }
input(type="imrelp" port="$relp" address="127.0.0.1" ruleset="bench")
CONF
  rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/rsyslogd.out" 2>&1 &
  RECEIVER_PID=$!
  wait_port "$relp"
  send_all "$dir/sender" "$input" "$relp"; start=$(cat "$WORK/start")
  end=$(wait_count "$MESSAGES" "wc -l < '$dir/messages'")
  stop_pid "$SENDER_PID"; SENDER_PID=""
  stop_pid "$RECEIVER_PID"; RECEIVER_PID=""
  python3 -c "print(round($MESSAGES/($end-$start)))" >"$WORK/result"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$WORK/na.txt"; : >"$WORK/rs.txt"
for run in $(seq 1 "$RUNS"); do
  run_netaudit; na=$(cat "$WORK/result"); echo "$na" >>"$WORK/na.txt"
  run_imrelp; rs=$(cat "$WORK/result"); echo "$rs" >>"$WORK/rs.txt"
  echo "run $run: netaudit relp $na msgs/s, rsyslog imrelp $rs msgs/s" >&2
done
na=$(median <"$WORK/na.txt"); rs=$(median <"$WORK/rs.txt")
printf '\n%-52s %12s\n' "RELP, $SENDER window $WINDOW, $MESSAGES msgs, median of $RUNS" "msgs/s"
printf '%-52s %12s\n' "netaudit relp (stored before rsp 200, sync = full)" "$na"
printf '%-52s %12s\n' "rsyslog 8 imrelp (-> plain file)" "$rs"
printf '%-52s %12s\n' "ratio netaudit / rsyslog" "$(python3 -c "print(f'{$na/$rs:.2f}')")"
