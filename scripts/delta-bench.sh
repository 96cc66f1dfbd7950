#!/usr/bin/env bash
# The delta benchmark of docs/PACKAGES.md: real model pairs packed and signed, then the
# tensor-aware `mote delta` against `zstd --patch-from` (level 19, long mode) on the same
# payloads. Pairs, all from a MobileNetV2 (width 1) trained on the shared digits:
#   fine-tune: the model before and after 2 epochs of training its classifier only (lr 3e-4)
#   prune:     before and after 50% unstructured pruning with 1 epoch of fine-tuning (lr 3e-4)
#   f32->int8: the f32 model and its int8 quantization (mote quantize)
# Writes the table between the <!-- delta-table --> markers of docs/PACKAGES.md.
#   scripts/delta-bench.sh            (needs ../shared/data; about 2 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${MOTE_SHARED_DATA:-../shared/data}/datasets/sklearn_digits"
out=out/delta
rm -rf "$out" && mkdir -p "$out/keys"
cargo build --release -q -p mote-cli
mote=target/release/mote
py=$(scripts/ort-env.sh)
x="$data/X.npy" y="$data/y.npy"
"$py" -c "import numpy as np; np.save('$out/calib.npy', np.load('$x').astype(np.float32)[:64])"

q() { "$@" >/dev/null; }
q "$mote" train --arch mobilenetv2:1.0 --data "$x" --labels "$y" --epochs 3 -o "$out/base.onnx"
q "$mote" train --init "$out/base.onnx" --train-only fc_ --data "$x" --labels "$y" --epochs 2 --lr 0.0003 --seed 1 -o "$out/ft.onnx"
q "$mote" prune "$out/base.onnx" --sparsity 0.5 --data "$x" --labels "$y" --finetune-epochs 1 --lr 0.0003 -o "$out/pruned.onnx"
for m in base ft pruned; do q "$mote" compile "$out/$m.onnx" --dim N=1 -o "$out/$m.mote"; done
q "$mote" quantize "$out/base.onnx" --calib "$out/calib.npy" --shape input=1,8,8 -o "$out/int8.mote"

for k in root targets snapshot timestamp; do q "$mote" keygen -o "$out/keys/$k"; done
q "$mote" sign --new-root --root-key "$out/keys/root.pub" --targets-key "$out/keys/targets.pub" \
  --snapshot-key "$out/keys/snapshot.pub" --timestamp-key "$out/keys/timestamp.pub" \
  --key "$out/keys/root.key" -o "$out/root.meta"
v=1
for m in base ft pruned int8; do
  q "$mote" pack "$out/$m.mote" --name digits --model-version $v --target x86_64 --root "$out/root.meta" \
    --targets-key "$out/keys/targets.key" --snapshot-key "$out/keys/snapshot.key" \
    --timestamp-key "$out/keys/timestamp.key" -o "$out/$m.motepkg"
  q "$mote" verify "$out/$m.motepkg" --root "$out/root.meta" --name digits --target x86_64 --extract "$out/$m.payload"
  v=$((v + 1))
done

rows=""
for pair in "fine-tune:ft" "prune:pruned" "f32->int8:int8"; do
  name=${pair%%:*} new=${pair#*:}
  json=$("$mote" delta "$out/base.motepkg" "$out/$new.motepkg" -o "$out/$new.motedelta" --json)
  pkg=$(jq .package_bytes <<<"$json") delta=$(jq .delta_bytes <<<"$json") full=$(jq .send_full <<<"$json")
  zstd -q -f -19 --long=27 --patch-from="$out/base.payload" "$out/$new.payload" -o "$out/$new.zst"
  zs=$(stat -c %s "$out/$new.zst")
  if [ "$full" = true ]; then
    sent="full package ($pkg B; a delta would be $delta B)"
  else
    # The delta must rebuild the signed payload.
    q "$mote" delta "$out/base.motepkg" --apply "$out/$new.motedelta" -o "$out/$new.rebuilt"
    cmp -s "$out/$new.rebuilt" "$out/$new.payload"
    sent="delta $delta B"
  fi
  ratio=$(awk -v z="$zs" -v d="$delta" 'BEGIN { printf "%.1fx", z / d }')
  pct=$(awk -v p="$pkg" -v d="$delta" 'BEGIN { printf "%.2f%%", 100 * d / p }')
  rows+="| $name | $pkg | $sent | $pct | $zs | $ratio |"$'\n'
done
table="| pair | new package (B) | sent | delta / package | zstd --patch-from (B) | patch-from / delta |
|---|---|---|---|---|---|
$rows"
echo "$table"
python3 - "$table" <<'PY'
import re, sys
p = "docs/PACKAGES.md"
s = open(p).read()
new = "<!-- delta-table -->\n" + sys.argv[1].rstrip("\n") + "\n<!-- /delta-table -->"
s = re.sub(r"<!-- delta-table -->.*?<!-- /delta-table -->", lambda m: new, s, flags=re.S)
open(p, "w").write(s)
PY
