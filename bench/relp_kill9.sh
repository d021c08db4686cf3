#!/usr/bin/env bash
# RELP through kill -9: rsyslog's omrelp (disk-assisted queue, retrying for
# ever) forwards numbered messages to a netaudit RELP listener that is killed
# with -9 and restarted ROUNDS times while it receives. At the end every
# message must be in the store: prints sent, stored distinct, lost and
# duplicates (stored more than once: stored, but killed before its answer).
#
# usage: bench/relp_kill9.sh [ROUNDS (default 20)] [PER_ROUND (default 20000)]
# env:   NETAUDIT_BIN  use this binary instead of building target/release/netaudit
#        WORK          scratch folder (default: a new mktemp -d, removed at the end)
#        TIMEOUT_SECS  limit for the final wait (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-20}"
PER_ROUND="${2:-20000}"
TIMEOUT_SECS="${TIMEOUT_SECS:-300}"
command -v rsyslogd >/dev/null || { echo "rsyslogd not found: run .ci/install-deps" >&2; exit 2; }
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
NA_PID=""; RS_PID=""
cleanup() {
  for pid in "$RS_PID" "$NA_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
RELP=$(free_port); HTTP=$(free_port); INPUT=$(free_port)
mkdir -p "$WORK/na" "$WORK/rs/work"
cat >"$WORK/na/netaudit.toml" <<TOML
[store]
path = "$WORK/na/data/netaudit.db"

[http]
address = "127.0.0.1:$HTTP"

[[listener]]
protocol = "relp"
address = "127.0.0.1:$RELP"
TOML
cat >"$WORK/rs/rsyslog.conf" <<CONF
global(workDirectory="$WORK/rs/work")
module(load="imtcp")
module(load="omrelp")
ruleset(name="fwd") {
  action(type="omrelp" target="127.0.0.1" port="$RELP" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.filename="fwdq" queue.saveOnShutdown="on"
         queue.size="$((ROUNDS * PER_ROUND + 10000))" action.resumeRetryCount="-1" action.resumeInterval="1")
}
input(type="imtcp" port="$INPUT" address="127.0.0.1" ruleset="fwd")
CONF

metric() {
  python3 - "$HTTP" "$1" <<'PY' 2>/dev/null || echo 0
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
print(sum(int(float(l.rsplit(" ", 1)[1])) for l in body.splitlines() if l.startswith(sys.argv[2] + " ")))
PY
}

start_netaudit() {
  "$NETAUDIT_BIN" serve --config "$WORK/na/netaudit.toml" 2>>"$WORK/na/serve.log" &
  NA_PID=$!
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$HTTP/health" >/dev/null && return 0
    sleep 0.05
  done
  echo "netaudit did not start" >&2; exit 1
}

# Sends messages FIRST..LAST-1 octet-counted to rsyslog's imtcp.
send() {
  python3 - "$INPUT" "$1" "$2" <<'PY'
import socket, sys
port, first, last = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
buf = bytearray()
for i in range(first, last):
    line = f"<14>1 2026-11-20T10:00:00Z fw01 app - - - relp message {i:08}".encode()
    buf += str(len(line)).encode() + b" " + line
    if len(buf) > 65536:
        s.sendall(buf); buf.clear()
s.sendall(buf); s.close()
PY
}

start_netaudit
rsyslogd -n -f "$WORK/rs/rsyslog.conf" -i "$WORK/rs/rsyslogd.pid" >"$WORK/rs/rsyslogd.out" 2>&1 &
RS_PID=$!
for _ in $(seq 1 200); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $INPUT), 1)" 2>/dev/null && break
  sleep 0.05
done

for round in $(seq 0 $((ROUNDS - 1))); do
  send $((round * PER_ROUND)) $(((round + 1) * PER_ROUND))
  # Kill once a quarter of the round arrived (bounded: 30 s).
  for _ in $(seq 1 600); do
    [ "$(metric netaudit_received_total)" -ge $((PER_ROUND / 4)) ] && break
    sleep 0.05
  done
  kill -KILL "$NA_PID"; wait "$NA_PID" 2>/dev/null || true
  start_netaudit
  echo "round $((round + 1)) of $ROUNDS: killed and restarted" >&2
done

TOTAL=$((ROUNDS * PER_ROUND))
count() {
  python3 - "$WORK/na/data/netaudit.db" "$TOTAL" <<'PY'
import glob, re, sqlite3, sys, collections
db, total = sys.argv[1], int(sys.argv[2])
seen = collections.Counter()
parts = glob.glob(db[:-3] + ".parts/*.db")
for path in parts:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        for (raw,) in con.execute("SELECT raw FROM events"):
            m = re.search(rb"relp message (\d+)", bytes(raw))
            if m: seen[int(m.group(1))] += 1
    except sqlite3.Error:
        pass
    con.close()
missing = sum(1 for i in range(total) if i not in seen)
dups = sum(c - 1 for c in seen.values())
print(total - missing, missing, dups)
PY
}
deadline=$(( $(date +%s) + TIMEOUT_SECS ))
while :; do
  read -r stored missing dups < <(count)
  [ "$missing" = 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
  sleep 1
done
printf '\nRELP through %s rounds of kill -9, %s messages\n' "$ROUNDS" "$TOTAL"
printf 'stored distinct %s, lost %s, duplicates %s\n' "$stored" "$missing" "$dups"
[ "$missing" = 0 ]
