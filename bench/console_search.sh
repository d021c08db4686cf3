#!/usr/bin/env bash
# The console's pages on a large store. `netaudit serve` (release) runs on
# the store that `crates/store/examples/append_rate.rs` writes (COUNT events
# spread over the 30 days before now), and three things are measured:
#
# 1. server time (curl: time to first byte and to the last byte) of the
#    search page for the four queries of the store's query benchmark
#    (crates/store/benches/query.rs) and of the Overview, median of RUNS
#    requests each (and the first request alone: the Overview counts the
#    events of its window once, then keeps the counts), signed in through
#    the login form;
# 2. time to page complete in headless Chromium (bench/console_browser.py,
#    WebDriver, Navigation Timing) for the main screens, median of RUNS;
# 3. the live tail's latency from TCP syslog to the server-sent event
#    stream (bench/console_tail.py) over TAIL_COUNT events (default 1000).
#
# Results: docs/benchmarks.md.
#
#   bench/console_search.sh [DIR] [COUNT] [RUNS]    # defaults: a temp dir, 5000000, 11
#
# A DIR that already holds netaudit.db is used as it is (written once).
# NETAUDIT_BIN=PATH runs that binary instead of building one (to compare
# builds); PARTS="server browser tail" (the default) chooses the parts.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-target}/release"
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build -q --release -p netaudit --bin netaudit
  NETAUDIT_BIN="$T/netaudit"
fi
PARTS="${PARTS:-server browser tail}"
keep=1
dir="${1:-}"
if [ -z "$dir" ]; then dir=$(mktemp -d); keep=0; fi
COUNT="${2:-5000000}"
RUNS="${3:-11}"
mkdir -p "$dir"
if [ ! -f "$dir/netaudit.db" ]; then
  cargo build -q --release -p netaudit-store --example append_rate
  $T/examples/append_rate "$dir" "$COUNT" 10000
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
syslog_port=$(free_port)
printf '[store]\npath = "%s/netaudit.db"\n[http]\naddress = "127.0.0.1:%s"\n[[listener]]\nprotocol = "tcp"\naddress = "127.0.0.1:%s"\n' \
  "$dir" "$port" "$syslog_port" > "$dir/console-bench.toml"
printf 'bench-password-123\n' > "$dir/pw"
for user in console-bench:auditor console-admin:admin console-app:reporter; do
  "$NETAUDIT_BIN" user -c "$dir/console-bench.toml" add "${user%%:*}" --role "${user#*:}" --password-file "$dir/pw" 2>/dev/null || true
done
RUST_LOG=warn "$NETAUDIT_BIN" serve -c "$dir/console-bench.toml" 2> "$dir/serve.log" &
pid=$!
jar="$dir/cookies"
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$jar"; [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$port"
csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -fsS -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&username=console-bench&password=bench-password-123" "$base/login"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
case " $PARTS " in *" server "*)
printf '%-32s %10s %10s %10s %8s\n' page ttfb_ms total_ms first_ms bytes
for path in \
  "/events?user=user07" \
  "/events?code=UI_COMMIT&since=24h" \
  "/events?severity=error&since=7d" \
  "/events?text=ge-0%2F0%2F17%20from%2010.1&since=1h" \
  "/overview" \
  "/overview?window=24h"; do
  out="$dir/timings"
  : > "$out"
  for _ in $(seq 1 "$RUNS"); do
    curl -sS -b "$jar" -o "$dir/page.html" -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}\n' "$base$path" >> "$out"
  done
  status=$(awk '{print $1}' "$out" | sort -u | tr '\n' ' ')
  ttfb=$(awk '{print $2 * 1000}' "$out" | median)
  total=$(awk '{print $3 * 1000}' "$out" | median)
  first=$(awk 'NR == 1 {print $3 * 1000}' "$out")
  bytes=$(awk '{print $4}' "$out" | median)
  printf '%-32s %10.1f %10.1f %10.1f %8s  (HTTP %s)\n' "$path" "$ttfb" "$total" "$first" "$bytes" "$status"
done
echo ;; esac
case " $PARTS " in *" browser "*)
# Monitor > Status with operations to show (reported as an application does).
token=$("$NETAUDIT_BIN" user -c "$dir/console-bench.toml" token console-app | tail -n 1)
for i in $(seq 1 20); do
  curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\": \"bench archive $i $$\", \"type\": \"archive\", \"devices\": [\"edge1\", \"edge2\", \"core1\"], \"user\": \"ops\"}" \
    "$base/api/v1/operations"
  curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"status": "success", "revision": "1"}' "$base/api/v1/operations/bench%20archive%20$i%20$$/leaves/edge1"
done
python3 bench/console_browser.py "$base" console-bench:bench-password-123 console-admin:bench-password-123 "$RUNS" \
  "/events?user=user07" \
  "/events?code=UI_COMMIT&since=24h" \
  "/events?severity=error&since=7d" \
  "/events?text=ge-0%2F0%2F17%20from%2010.1&since=1h" \
  "/events/$((COUNT / 2))" \
  "/overview" \
  "/overview?window=24h" \
  "/status" \
  "admin:/users"
echo ;; esac
case " $PARTS " in *" tail "*)
python3 bench/console_tail.py "$base" console-bench bench-password-123 "127.0.0.1:$syslog_port" "${TAIL_COUNT:-1000}"
;; esac
