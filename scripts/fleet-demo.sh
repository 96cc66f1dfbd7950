#!/usr/bin/env bash
# Ship a model to a fleet, on loopback: a fleet server and three device agents (`mote agent run`),
# a digits classifier trained here rolled out as v1, then a better one as v2 in stages, while a
# client calls one agent's inference API. README "Ship a model to a fleet" runs this; so does
# scripts/test.sh.
#
#   scripts/fleet-demo.sh        # out/fleet-demo/; the digits data from ../shared/data, else
#                                # out/demo/ (scripts/demo.sh), else the scikit-learn wheel on PyPI
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out/fleet-demo"
rm -rf "$out" && mkdir -p "$out/keys"

echo "== building mote (release)"
cargo build --quiet --release -p mote-cli --manifest-path "$root/Cargo.toml"
mote="$root/target/release/mote"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "== the digits data"
shared="${MOTE_SHARED_DATA:-$root/../shared/data}/datasets/sklearn_digits"
if [ -f "$shared/X.npy" ]; then
  X="$shared/X.npy" y="$shared/y.npy"
elif [ -f "$root/out/demo/digits_X.npy" ]; then
  X="$root/out/demo/digits_X.npy" y="$root/out/demo/digits_y.npy"
else
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 scikit-learn==1.9.1 -d "$out/wheels"
  python3 - "$out" <<'PY'
import glob, gzip, io, struct, sys, zipfile
out = sys.argv[1]
wheel = glob.glob(f"{out}/wheels/scikit_learn-*.whl")[0]
csv = gzip.decompress(zipfile.ZipFile(wheel).read("sklearn/datasets/data/digits.csv.gz")).decode()
rows = [list(map(float, l.split(","))) for l in csv.splitlines() if l.strip()]
def npy(path, descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
npy(f"{out}/X.npy", "<f4", (len(rows), 8, 8), struct.pack(f"<{64 * len(rows)}f", *[v for r in rows for v in r[:64]]))
npy(f"{out}/y.npy", "|u1", (len(rows),), bytes(int(r[64]) for r in rows))
PY
  X="$out/X.npy" y="$out/y.npy"
fi
# X as f32 pixels 0..16 (the shared copy is u8), and its first digit as the golden input of
# the packages and as the inference request.
python3 - "$X" "$out" <<'PY'
import ast, json, struct, sys
x, out = sys.argv[1:]
b = open(x, "rb").read()
n = struct.unpack("<H", b[8:10])[0]
head, body = ast.literal_eval(b[10:10 + n].decode()), b[10 + n:]
count = 1
for d in head["shape"]:
    count *= d
px = list(body[:count]) if head["descr"] == "|u1" else list(struct.unpack(f"<{count}f", body[:4 * count]))
def npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(map(str, shape))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = struct.pack(f"<{len(values)}f", *values)
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
npy(f"{out}/X.f32.npy", head["shape"], px)
npy(f"{out}/sample.npy", (1, 8, 8), px[:64])
json.dump({"inputs": {"input": {"shape": [1, 8, 8], "data": px[:64]}}}, open(f"{out}/infer.json", "w"))
PY
X="$out/X.f32.npy"

echo "== v1 (one epoch) and v2 (five epochs), compiled and signed"
for k in root targets snapshot timestamp; do "$mote" keygen -o "$out/keys/$k" >/dev/null; done
"$mote" sign --new-root --root-key "$out/keys/root.pub" --targets-key "$out/keys/targets.pub" \
  --snapshot-key "$out/keys/snapshot.pub" --timestamp-key "$out/keys/timestamp.pub" \
  --key "$out/keys/root.key" -o "$out/root.meta" >/dev/null
for v in 1 2; do
  epochs=$([ $v = 1 ] && echo 1 || echo 5)
  "$mote" train --arch cnn:8,16 --data "$X" --labels "$y" --input-scale 0.0625 --epochs $epochs \
    -o "$out/digits-v$v.onnx" >/dev/null 2>&1
  "$mote" compile "$out/digits-v$v.onnx" --dim N=1 -o "$out/digits-v$v.mote" >/dev/null
  "$mote" pack "$out/digits-v$v.mote" --name digits --model-version $v --target x86_64 --root "$out/root.meta" \
    --targets-key "$out/keys/targets.key" --snapshot-key "$out/keys/snapshot.key" \
    --timestamp-key "$out/keys/timestamp.key" --golden "$out/sample.npy" -o "$out/digits-v$v.motepkg"
done

echo "== the fleet server on loopback"
"$mote" fleet serve --data "$out/fleet" --listen 127.0.0.1:0 --root "$out/root.meta" --tick-ms 100 \
  >"$out/fleet.out" 2>"$out/fleet.log" &
pids+=($!)
wait_for() { # file pattern
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
  echo "timed out waiting for '$2' in $1" >&2; exit 1
}
wait_for "$out/fleet.out" listening
url=$(sed -n 's/^listening on //p' "$out/fleet.out")
admin="Authorization: Bearer $(cat "$out/fleet/admin.token")"
api() { curl -fsS -H "$admin" "$@"; }

echo "== three devices enrolled, an agent on each"
agents=()
for i in 1 2 3; do
  api -d "{\"id\":\"cam-$i\",\"target\":\"x86_64\"}" "$url/v1/devices" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"], end="")' >"$out/cam-$i.token"
  "$mote" agent run --server "$url" --token-file "$out/cam-$i.token" --store "$out/cam-$i" \
    --root "$out/root.meta" --name digits --target x86_64 --interval 500ms --listen 127.0.0.1:0 \
    >"$out/cam-$i.out" 2>"$out/cam-$i.log" &
  pids+=($!)
  wait_for "$out/cam-$i.out" listening
  agents+=("$(sed -n 's/^listening on //p' "$out/cam-$i.out")")
done
echo "agents: ${agents[*]}"

version() { curl -fsS "$1/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
all_on() { # version
  for _ in $(seq 600); do
    local n=0
    for a in "${agents[@]}"; do [ "$(version "$a")" = "$1" ] && n=$((n + 1)); done
    [ $n = 3 ] && { echo "all three agents serve v$1"; return; }
    sleep 0.1
  done
  echo "timed out waiting for v$1 on every agent" >&2; exit 1
}
infer() { curl -fsS -d @"$out/infer.json" "${agents[0]}/v1/infer" |
  python3 -c 'import json,sys; r=json.load(sys.stdin); o=list(r["outputs"].values())[0]["data"];
print("v%d says %d in %.3f ms" % (r["version"], o.index(max(o)), r["latency_ms"]))'; }

echo "== v1 published and rolled out to every device"
api --data-binary @"$out/digits-v1.motepkg" "$url/v1/packages" >/dev/null
api -d '{"model":"digits","version":1,"target":"x86_64","stages":[100],"gates":{"min_stage_seconds":0}}' \
  "$url/v1/rollouts" >/dev/null
all_on 1
infer

echo "== v2 published (a delta from v1 is made) and rolled out in stages: 1%, 10%, 50%, 100%"
# A client keeps calling the first agent during the rollout; every call must succeed.
( while [ ! -f "$out/stop" ]; do
    if curl -fsS -o /dev/null -d @"$out/infer.json" "${agents[0]}/v1/infer"; then echo ok; else echo fail; fi
  done >"$out/calls" ) &
client=$!
api --data-binary @"$out/digits-v2.motepkg" "$url/v1/packages" | python3 -c 'import json,sys; p=json.load(sys.stdin);
print("v%d: %d bytes; deltas (from version, bytes): %s" % (p["version"], p["size"], [(d["from_version"], d["size"]) for d in p["deltas"]]))'
rollout=$(api -d '{"model":"digits","version":2,"target":"x86_64","gates":{"min_stage_seconds":0}}' \
  "$url/v1/rollouts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
all_on 2
infer
touch "$out/stop"; wait $client
api "$url/v1/rollouts/$rollout" | python3 -c 'import json,sys; r=json.load(sys.stdin);
print("rollout %d: %s, stage %d of %d, counts %s" % (r["id"], r["state"], r["stage"] + 1, len(r["stages"]), r["counts"]))'
failed=$(grep -c fail "$out/calls" || true)
echo "inference calls during the rollout: $(wc -l <"$out/calls"), failed: $failed"
[ "$failed" = 0 ]
grep -h "installed\|rebuilt" "$out"/cam-*.log
