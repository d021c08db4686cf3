#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (PyPI):
# `netaudit serve` on a loopback port with a temporary data directory, one
# pass per role (admin session, auditor session, reporter API token).
# Fails when any response is a server error (5xx) or breaks the schema of a
# status the document declares. Bounded: few examples per operation, a time
# budget per pass and a timeout per request.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p netaudit
bin="${CARGO_TARGET_DIR:-target}/debug/netaudit"
dir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
udp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/netaudit.toml" <<TOML
[store]
path = "$dir/netaudit.db"
synchronous = "normal"
[http]
address = "127.0.0.1:$port"
[[listener]]
protocol = "udp"
address = "127.0.0.1:$udp"
[api]
max_login_attempts = 1000
body_limit_bytes = 1048576
TOML
password="schemathesis-password-$$"
printf '%s\n' "$password" > "$dir/pw"
for who in admin:admin auditor:auditor reporter:reporter; do
  "$bin" user -c "$dir/netaudit.toml" add "st-${who%%:*}" --role "${who##*:}" --password-file "$dir/pw"
done
token=$("$bin" user -c "$dir/netaudit.toml" token st-reporter)

"$bin" serve -c "$dir/netaudit.toml" 2> "$dir/serve.log" &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

login() {
  curl -fsS -X POST "http://127.0.0.1:$port/api/v1/login" \
    -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

run() {
  echo "== schemathesis as $1"
  # From the temporary directory: schemathesis keeps its cache in the
  # working directory.
  (cd "$dir" && python3 -m schemathesis.cli run "http://127.0.0.1:$port/api/v1/openapi.json" \
    --header "Authorization: Bearer $2" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --exclude-path /api/v1/events/stream \
    --exclude-path /api/v1/logout \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --max-time "${SCHEMATHESIS_MAX_TIME:-60}" \
    --request-timeout 20 \
    --max-response-time 10 \
    --seed 1 \
    --workers 1)
}

status=0
run admin "$(login st-admin)" || status=1
run auditor "$(login st-auditor)" || status=1
run reporter "$token" || status=1
if [ "$status" -ne 0 ]; then
  echo "== server log"; tail -50 "$dir/serve.log"
fi
if grep -q "panicked" "$dir/serve.log"; then
  echo "netaudit panicked"; status=1
fi
exit "$status"
