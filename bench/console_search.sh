#!/usr/bin/env bash
# The console's pages on a large store: server time (curl: time to first
# byte and to the last byte) of the search page for the four queries of the
# store's query benchmark (crates/store/benches/query.rs) and of the
# Overview, median of RUNS requests each, signed in through the login form.
# `netaudit serve` (release) runs on the store that
# `crates/store/examples/append_rate.rs` writes (COUNT events spread over the
# 30 days before now). Results: docs/benchmarks.md.
#
#   bench/console_search.sh [DIR] [COUNT] [RUNS]    # defaults: a temp dir, 5000000, 11
#
# A DIR that already holds netaudit.db is used as it is (written once).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p netaudit --bin netaudit
cargo build -q --release -p netaudit-store --example append_rate
T="${CARGO_TARGET_DIR:-target}/release"
keep=1
dir="${1:-}"
if [ -z "$dir" ]; then dir=$(mktemp -d); keep=0; fi
COUNT="${2:-5000000}"
RUNS="${3:-11}"
mkdir -p "$dir"
if [ ! -f "$dir/netaudit.db" ]; then
  $T/examples/append_rate "$dir" "$COUNT" 10000
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[store]\npath = "%s/netaudit.db"\n[http]\naddress = "127.0.0.1:%s"\n' "$dir" "$port" > "$dir/console-bench.toml"
printf 'bench-password-123\n' > "$dir/pw"
$T/netaudit user -c "$dir/console-bench.toml" add console-bench --role auditor --password-file "$dir/pw" 2>/dev/null || true
RUST_LOG=warn $T/netaudit serve -c "$dir/console-bench.toml" 2> "$dir/serve.log" &
pid=$!
jar="$dir/cookies"
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$jar"; [ "$keep" = 1 ] || rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$port"
csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -fsS -b "$jar" -c "$jar" -o /dev/null -d "csrf=$csrf&username=console-bench&password=bench-password-123" "$base/login"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-32s %10s %10s %8s\n' page ttfb_ms total_ms bytes
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
  bytes=$(awk '{print $4}' "$out" | median)
  printf '%-32s %10.1f %10.1f %8s  (HTTP %s)\n' "$path" "$ttfb" "$total" "$bytes" "$status"
done
