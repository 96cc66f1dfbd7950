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
