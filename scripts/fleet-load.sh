#!/usr/bin/env bash
# Measures the fleet server's check-in rate: starts `mote fleet serve` on SQLite on loopback in
# a temporary directory, and for each configuration enrols 1,000 devices and sends a bounded
# number of check-ins (`mote fleet load`), printing check-ins/s and p50/p99 latency. Target:
# >= 2,000 check-ins/s with p99 < 50 ms on a 2-core machine. With --write-docs the table
# replaces the one between the fleet-load markers in docs/FLEET.md.
#
#   scripts/fleet-load.sh [--write-docs] [REQUESTS (default 100000)]
set -euo pipefail
cd "$(dirname "$0")/.."
write_docs=0
if [ "${1:-}" = "--write-docs" ]; then write_docs=1; shift; fi
requests=${1:-100000}
cargo build --release -q -p mote-cli
mote=target/release/mote
dir=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
"$mote" fleet serve --data "$dir" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/log" &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$dir/out")
[ -n "$url" ] || { cat "$dir/log"; echo "the server did not start" >&2; exit 1; }

load_before=$(cut -d' ' -f1 /proc/loadavg)
table="| check-ins | devices | connections | rollout path | check-ins/s | p50 ms | p99 ms | max ms |
|---:|---:|---:|---|---:|---:|---:|---:|"
for conc in 16 64; do
  for rollout in "" --rollout; do
    j=$("$mote" fleet load --url "$url" --token-file "$dir/admin.token" --devices 1000 \
      --requests "$requests" --concurrency "$conc" $rollout --json 2>/dev/null)
    row=$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
print("| {} | {} | {} | {} | {:.0f} | {:.2f} | {:.2f} | {:.2f} |".format(j["requests"], j["devices"],
    j["concurrency"], "yes (told to install)" if j["rollout"] else "no rollout", j["checkins_per_second"],
    j["p50_ms"], j["p99_ms"], j["max_ms"]))' "$j")
    echo "$row"
    table+=$'\n'"$row"
  done
done
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
note="SQLite (WAL, synchronous=NORMAL), server and load generator on the same $(nproc) cores ($cpu), loopback; 1-minute load average $load_before before the runs (other work on the machine raises the tails); \`scripts/fleet-load.sh $requests\`, $(date -u +%Y-%m-%d)."
if [ "$write_docs" = 1 ]; then
  python3 - "$table" "$note" <<'PY'
import re, sys
p = "docs/FLEET.md"
s = open(p).read()
block = "<!-- fleet-load:start -->\n" + sys.argv[2] + "\n\n" + sys.argv[1] + "\n<!-- fleet-load:end -->"
s2 = re.sub(r"<!-- fleet-load:start -->.*?<!-- fleet-load:end -->", lambda m: block, s, flags=re.S)
assert s2 != s or block in s, "docs/FLEET.md has no fleet-load markers"
open(p, "w").write(s2)
print("wrote the table into", p)
PY
fi
