#!/usr/bin/env bash
# NDcPP report generation time: MESSAGES realistic Junos lines
# (bench/gen_junos_lines.py, default 5,000,000) imported into a fresh store
# with `netaudit import`, then `netaudit report ndcpp` timed RUNS times in
# JSON and in HTML (median printed). Every run is bounded by TIMEOUT_SECS.
#
# usage: bench/report.sh [MESSAGES (default 5000000)] [RUNS (default 3)]
# env:   NETAUDIT_BIN  use this binary instead of building target/release/netaudit
#        WORK          scratch folder (default: a new mktemp -d, removed at the end)
#        TIMEOUT_SECS  per-command limit (default 1800)
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES="${1:-5000000}"
RUNS="${2:-3}"
TIMEOUT_SECS="${TIMEOUT_SECS:-1800}"
if [ -z "${NETAUDIT_BIN:-}" ]; then
  cargo build --release -p netaudit >&2
  NETAUDIT_BIN="${CARGO_TARGET_DIR:-target}/release/netaudit"
fi
OWN_WORK=0
if [ -z "${WORK:-}" ]; then WORK="$(mktemp -d)"; OWN_WORK=1; fi
cleanup() { if [ "$OWN_WORK" = 1 ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

echo "generating and importing $MESSAGES lines" >&2
python3 bench/gen_junos_lines.py "$MESSAGES" "$WORK/framed.txt"
# The generator frames lines for loggen ("LEN MSG"); import wants the lines.
cut -d' ' -f2- "$WORK/framed.txt" >"$WORK/lines.log"
rm -f "$WORK/framed.txt"
timeout "$TIMEOUT_SECS" "$NETAUDIT_BIN" import --db "$WORK/data/netaudit.db" "$WORK/lines.log" >&2
rm -f "$WORK/lines.log"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for format in json html; do
  : >"$WORK/times"
  for r in $(seq 1 "$RUNS"); do
    start=$(date +%s.%N)
    timeout "$TIMEOUT_SECS" "$NETAUDIT_BIN" report ndcpp --db "$WORK/data/netaudit.db" \
      --format "$format" --output "$WORK/report.$format"
    end=$(date +%s.%N)
    t=$(python3 -c "print(f'{$end - $start:.2f}')")
    echo "run $r ($format): $t s" >&2
    echo "$t" >>"$WORK/times"
  done
  echo "median of $RUNS, $format, $MESSAGES events: $(median <"$WORK/times") s"
done
grep -o '"events_examined": [0-9]*' "$WORK/report.json" >&2
