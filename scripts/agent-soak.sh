#!/usr/bin/env bash
# The long form of the agent's kill -9 test: N times (default 2000), start `mote agent install`
# and kill it with SIGKILL after a random delay within one install's duration, then check that
# `mote agent status` serves a verified model (its payload hashes to the recorded digest).
#   scripts/agent-soak.sh [N]          (needs ../shared/data for the digits model)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
data="${MOTE_SHARED_DATA:-../shared/data}/datasets/sklearn_digits"
out=out/soak
rm -rf "$out" && mkdir -p "$out/keys"
cargo build --release -q -p mote-cli
mote=target/release/mote
q() { "$@" >/dev/null; }
q "$mote" train --arch mlp:16 --data "$data/X.npy" --labels "$data/y.npy" --epochs 1 -o "$out/m.onnx"
q "$mote" compile "$out/m.onnx" --dim N=1 -o "$out/m.mote"
for k in root targets snapshot timestamp; do q "$mote" keygen -o "$out/keys/$k"; done
q "$mote" sign --new-root --root-key "$out/keys/root.pub" --targets-key "$out/keys/targets.pub" \
  --snapshot-key "$out/keys/snapshot.pub" --timestamp-key "$out/keys/timestamp.pub" \
  --key "$out/keys/root.key" -o "$out/root.meta"
for v in 1 2; do
  q "$mote" pack "$out/m.mote" --name m --model-version $v --target x86_64 --root "$out/root.meta" \
    --targets-key "$out/keys/targets.key" --snapshot-key "$out/keys/snapshot.key" \
    --timestamp-key "$out/keys/timestamp.key" -o "$out/v$v.motepkg"
done
install() { "$mote" agent install "$1" --store "$out/store" --root "$out/root.meta" --name m --target x86_64 --gate-runs 3; }
q install "$out/v1.motepkg"
start=$(date +%s%N); q install "$out/v2.motepkg"; dur=$(( ($(date +%s%N) - start) / 1000 ))  # microseconds
committed=0 interrupted=0
active=$("$mote" agent status --store "$out/store" --json | jq -r .state.active)
for i in $(seq 1 "$n"); do
  install "$out/v2.motepkg" >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v d="$dur" -v r="$RANDOM" 'BEGIN { printf "%.6f", d * r / 32768 / 1e6 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  s=$("$mote" agent status --store "$out/store" --json)
  if [ "$(jq -r .model.model_version <<<"$s")" != 2 ]; then
    echo "iteration $i: not serving the verified model: $s" >&2
    exit 1
  fi
  a=$(jq -r .state.active <<<"$s")
  if [ "$a" = "$active" ]; then interrupted=$((interrupted + 1)); else committed=$((committed + 1)); active=$a; fi
done
echo "kill -9 soak: $n iterations, a verified model served every time ($committed killed after a commit, $interrupted before)"
