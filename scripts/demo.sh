#!/usr/bin/env bash
# The main job on a real model with real data, on a fresh machine that can reach the package
# registries: fetch PP-OCRv4's text detector (from the rapidocr-onnxruntime wheel on PyPI) and a
# scanned page (from the scikit-image wheel), then inspect the model and run it on the page.
#
#   scripts/demo.sh            # builds mote, downloads ~30 MB once into out/demo/, runs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/out/demo"
mkdir -p "$demo/wheels"

echo "== building mote (release)"
cargo build --quiet --release -p mote-cli --manifest-path "$root/Cargo.toml"
mote="$root/target/release/mote"

fetch() { # package==version file-inside-wheel destination
  local dest="$demo/$3"
  [ -f "$dest" ] && return
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 --platform any "$1" -d "$demo/wheels"
  local wheel
  wheel=$(ls "$demo"/wheels/"$(echo "${1%%==*}" | tr - _)"-*.whl | head -n 1)
  python3 - "$wheel" "$2" "$dest" <<'PY'
import sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(dest, "wb") as out:
    out.write(z.read(member))
PY
}

echo "== fetching the model and an image from PyPI wheels"
fetch rapidocr-onnxruntime==1.4.4 rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx det.onnx
fetch scikit-image==0.26.0 skimage/data/page.png page.png

echo
echo "== mote inspect det.onnx (shapes for the 192x384 page)"
"$mote" inspect "$demo/det.onnx" --shape x=1,3,192,384

echo
echo "== mote run det.onnx on page.png"
"$mote" run "$demo/det.onnx" --input "x=$demo/page.png" \
  --image round=32,channels=gray3,scale=1/255,mean=0.5,std=0.5,layout=nchw \
  --output-dir "$demo/out"
echo
echo "The output is a text-probability map (1x1x192x384, written to out/demo/out/output_0.npy):"
echo "values near 1 mark text lines on the page."

echo
echo "== mote compile det.onnx -> det.mote (static shapes, fused, packed, planned arena)"
"$mote" compile "$demo/det.onnx" -o "$demo/det.mote" --shape x=1,3,192,384

echo
echo "== mote run det.mote on page.png (the runtime)"
"$mote" run "$demo/det.mote" --input "x=$demo/page.png" \
  --image round=32,channels=gray3,scale=1/255,mean=0.5,std=0.5,layout=nchw \
  --output-dir "$demo/out-mote"

echo
echo "== mote bench det.mote"
"$mote" bench "$demo/det.mote" --runs 20

echo
echo "== training: the UCI handwritten digits (from the scikit-learn wheel) -> a small CNN"
fetch scikit-learn==1.9.1 sklearn/datasets/data/digits.csv.gz digits.csv.gz
# CSV rows of 64 pixel values (0..16) and a label -> X.npy f32 [N,8,8], y.npy u8 [N], 32
# calibration samples [1,8,8] in calib/, and one held-back sample (the last row).
python3 - "$demo" <<'PY'
import gzip, os, struct, sys
demo = sys.argv[1]
rows = [list(map(float, l.split(","))) for l in gzip.open(f"{demo}/digits.csv.gz", "rt") if l.strip()]
def npy(path, descr, shape, data):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
train, last = rows[:-1], rows[-1]
npy(f"{demo}/digits_X.npy", "<f4", (len(train), 8, 8), struct.pack(f"<{64 * len(train)}f", *[v for r in train for v in r[:64]]))
npy(f"{demo}/digits_y.npy", "|u1", (len(train),), bytes(int(r[64]) for r in train))
os.makedirs(f"{demo}/digits_calib", exist_ok=True)
for i, r in enumerate(train[:32]):
    npy(f"{demo}/digits_calib/{i:02}.npy", "<f4", (1, 8, 8), struct.pack("<64f", *r[:64]))
npy(f"{demo}/digits_sample.npy", "<f4", (1, 8, 8), struct.pack("<64f", *last[:64]))
print(f"{len(train)} training samples; the held-back sample is a {int(last[64])}")
PY
"$mote" train --arch cnn:16,32 --data "$demo/digits_X.npy" --labels "$demo/digits_y.npy" \
  --input-scale 0.0625 --epochs 10 -o "$demo/digits.onnx"

echo
echo "== mote quantize digits.onnx -> int8 .mote, and run it on the held-back sample"
"$mote" quantize "$demo/digits.onnx" --calib "$demo/digits_calib" -o "$demo/digits.int8.mote"
"$mote" run "$demo/digits.int8.mote" --input "input=$demo/digits_sample.npy"
echo "The logits' top-1 (first in the top5 list) is the predicted digit."

echo
echo "== ship it: keys, a signed package, verified and installed behind the safeguard gate"
rm -rf "$demo/keys" "$demo/store" "$demo/root.meta"
for k in root targets snapshot timestamp; do "$mote" keygen -o "$demo/keys/$k" >/dev/null; done
"$mote" sign --new-root --root-key "$demo/keys/root.pub" --targets-key "$demo/keys/targets.pub" \
  --snapshot-key "$demo/keys/snapshot.pub" --timestamp-key "$demo/keys/timestamp.pub" \
  --key "$demo/keys/root.key" -o "$demo/root.meta"
"$mote" pack "$demo/digits.int8.mote" --name digits --model-version 1 --target x86_64 --root "$demo/root.meta" \
  --targets-key "$demo/keys/targets.key" --snapshot-key "$demo/keys/snapshot.key" \
  --timestamp-key "$demo/keys/timestamp.key" --golden "$demo/digits_sample.npy" --latency-ms 5 -o "$demo/digits.motepkg"
"$mote" verify "$demo/digits.motepkg" --root "$demo/root.meta" --name digits --target x86_64
"$mote" agent install "$demo/digits.motepkg" --store "$demo/store" --root "$demo/root.meta" --name digits --target x86_64
"$mote" agent status --store "$demo/store"

echo "== fleet: a server on loopback publishes the package and rolls it out; a device checks in"
rm -rf "$demo/fleet"
"$mote" fleet serve --data "$demo/fleet" --listen 127.0.0.1:0 --root "$demo/root.meta" \
  >"$demo/fleet.out" 2>"$demo/fleet.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$demo/fleet.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$demo/fleet.out")
admin="Authorization: Bearer $(cat "$demo/fleet/admin.token")"
curl -fsS -H "$admin" --data-binary @"$demo/digits.motepkg" "$url/v1/packages"; echo
device=$(curl -fsS -H "$admin" -d '{"id":"cam-1","target":"x86_64"}' "$url/v1/devices" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
curl -fsS -H "$admin" -d '{"model":"digits","version":1,"target":"x86_64","stages":[100]}' "$url/v1/rollouts"; echo
curl -fsS -H "Authorization: Bearer $device" -d '{"model":"","version":0,"sha256":""}' "$url/v1/checkin"; echo
kill "$server"
