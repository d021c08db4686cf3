#!/usr/bin/env bash
# Events/s accepted through POST /api/v1/events (committed, acknowledged):
# `netaudit serve` (release, default store settings: synchronous = full) on a
# loopback port with a temporary data directory, a reporter API token, and
# the bounded load generator crates/server/examples/api_load.rs. EVENTS=N
# per run (default 200000). Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p netaudit --bin netaudit --example api_load
T="${CARGO_TARGET_DIR:-target}/release"
EVENTS="${EVENTS:-200000}"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
udp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[store]\npath = "%s/netaudit.db"\n[http]\naddress = "127.0.0.1:%s"\n[[listener]]\nprotocol = "udp"\naddress = "127.0.0.1:%s"\n' "$dir" "$port" "$udp" > "$dir/netaudit.toml"
printf 'bench-password-123\n' > "$dir/pw"
$T/netaudit user -c "$dir/netaudit.toml" add bench --role reporter --password-file "$dir/pw"
token=$($T/netaudit user -c "$dir/netaudit.toml" token bench)
RUST_LOG=warn $T/netaudit serve -c "$dir/netaudit.toml" 2> "$dir/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
for args in "--batch 1000 --connections 4" "--batch 1000 --connections 1" "--batch 100 --connections 4"; do
  $T/examples/api_load --address 127.0.0.1:$port --token "$token" --events "$EVENTS" $args
done
curl -fsS "http://127.0.0.1:$port/health"
kill $pid; wait $pid || true; trap - EXIT
rm -rf "$dir"
