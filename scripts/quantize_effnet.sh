#!/usr/bin/env bash
# The efficientnet_lite0 int8 measurement: calibrate on random crops of the shared photos, report
# the top-1 agreement of the QDQ graph with f32 on 200 other random crops, and check top-1 on every
# test_data_set photo with the compiled int8 .mote. Writes only to out/.
#   scripts/quantize_effnet.sh [METHOD] [CALIB_CROPS] [EVAL_CROPS]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${MOTE_SHARED_DATA:-../shared/data}
METHOD=${1:-mse}
CALIB=${2:-64}
EVAL=${3:-200}
M=$DATA/models/efficientnet_lite0
I=$DATA/datasets/images
PHOTOS="$I/camera.npy $I/chelsea.npy $I/coffee.npy $I/horse.npy $I/motorcycle_left.npy $I/rocket.npy"
SPEC=crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw
mkdir -p out
cargo build --release -q -p mote-cli
MOTE=target/release/mote
$MOTE quantize "$M/model.onnx" --calib $PHOTOS --calib-crops "$CALIB" --seed 1 --image-spec "$SPEC" \
  --eval $PHOTOS --eval-crops "$EVAL" --eval-seed 2 --method "$METHOD" \
  --report out/effnet_int8.html -o out/effnet_int8.mote
$MOTE compile "$M/model.onnx" --shape input=1,3,224,224 -o out/effnet_f32.mote >/dev/null
top1() { "$MOTE" run "$1" --input-dir "$2" | sed -n 's/.*top5 \[\([0-9]*\):.*/\1/p'; }
for k in 0 1 2 3; do
  f=$(top1 out/effnet_f32.mote "$M/test_data_set_$k")
  q=$(top1 out/effnet_int8.mote "$M/test_data_set_$k")
  echo "test_data_set_$k: top-1 f32 $f, int8 $q $([ "$f" = "$q" ] && echo same || echo DIFFERENT)"
done
