#!/usr/bin/env bash
# The firmware check (README "Run on a microcontroller (emulated)"): compiles the MLPerf Tiny
# int8 models (and a small int8 digits CNN trained here) with the host `mote`, runs each on
# deterministic inputs with the host runtime, then builds firmware/ for that model and runs it
# under qemu-system-arm (mps2-an386, Cortex-M4F); fails unless every output is bit-identical.
# Installs qemu-system-arm (apt, as root) and the rustup target when missing. Leaves each
# run's log and ELF in out/firmware/ (scripts/footprint.sh reads them).
set -euo pipefail
cd "$(dirname "$0")/.."

# The one place the compile target is chosen.
TARGET="${MOTE_FW_TARGET:-cortex-m4}"
DATA="${MOTE_SHARED_DATA:-../shared/data}"
MLPERF="$DATA/models/tflite/mlperf_tiny"
DIGITS="$DATA/datasets/sklearn_digits"
OUT=out/firmware
ELF=firmware/target/thumbv7em-none-eabihf/release/mote-firmware

# Exit status: 1 when an output differs or a step fails, 2 when the tools cannot be set up.
if ! command -v qemu-system-arm >/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "missing qemu-system-arm and not root: apt-get install qemu-system-arm" >&2; exit 2; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm; } >&2 || exit 2
fi
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf \
  || rustup target add thumbv7em-none-eabihf >&2 || exit 2

if [ ! -d "$MLPERF" ]; then
  echo "SKIPPED the firmware check: $MLPERF (the MLPerf Tiny models) is absent"
  exit 0
fi
cargo build --release -p mote-cli
MOTE=target/release/mote
mkdir -p "$OUT"
echo "$TARGET" >"$OUT/target.txt"   # for docs/FOOTPRINT.md

# name  source (.tflite, or `digits`)
models=(
  "kws $MLPERF/kws_ref_model.tflite"
  "vww $MLPERF/vww_96_int8.tflite"
  "ic $MLPERF/pretrainedResnet_quant.tflite"
  "ad $MLPERF/ad01_int8.tflite"
)
if [ -f "$DIGITS/X.npy" ]; then models+=("digits digits"); fi

failed=0
for entry in "${models[@]}"; do
  read -r name src <<<"$entry"
  dir="$OUT/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  samples=()
  if [ "$src" = digits ]; then
    # Seeded: the same weights every run. QAT writes an int8 .mote for the generic target.
    "$MOTE" train --arch cnn:8,16 --data "$DIGITS/X.npy" --labels "$DIGITS/y.npy" --epochs 3 -o "$dir/digits.onnx" >"$dir/train.log" 2>&1
    "$MOTE" qat "$dir/digits.onnx" --data "$DIGITS/X.npy" --labels "$DIGITS/y.npy" --epochs 1 -o "$dir/model.mote" >>"$dir/train.log" 2>&1
    samples=("$DIGITS/X.npy")
  else
    "$MOTE" compile "$src" --dim batch=1 --target "$TARGET" -o "$dir/model.mote" >"$dir/compile.log" 2>&1
  fi
  args=()
  while read -r arg; do args+=(--input "$arg"); done < <(python3 scripts/firmware_io.py inputs "$dir/model.mote" "$dir" "${samples[@]}")
  "$MOTE" run "$dir/model.mote" "${args[@]}" --output-dir "$dir/host" >"$dir/host.log"
  bins=$(ls "$PWD/$dir"/input_*.bin | sort -V | paste -sd, -)
  if ! (cd firmware && MOTE_FW_MODEL="$OLDPWD/$dir/model.mote" MOTE_FW_INPUTS="$bins" cargo build --release -q) \
        2>"$dir/build.log"; then
    echo "firmware $name: FAILED to build (see $dir/build.log)"; tail -5 "$dir/build.log"; failed=1; continue
  fi
  cp "$ELF" "$dir/firmware.elf"
  if ! timeout 300 qemu-system-arm -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
        -icount shift=0 -kernel "$dir/firmware.elf" >"$dir/qemu.log" 2>&1; then
    echo "firmware $name: FAILED under QEMU (exit status or timeout; see $dir/qemu.log)"; tail -3 "$dir/qemu.log"; failed=1; continue
  fi
  n=$(ls "$dir"/host/output_*.npy | wc -l)
  same=0
  for ((i = 0; i < n; i++)); do
    want=$(python3 scripts/firmware_io.py hex "$dir/host/output_$i.npy")
    got=$(awk -v i="$i" '$1 == "output" && $2 == i { print $3 }' "$dir/qemu.log")
    if [ "$want" = "$got" ]; then same=$((same + 1)); else echo "firmware $name: output $i differs from the host's"; fi
  done
  value() { awk -v k="$1" '$1 == k { print $2 }' "$dir/qemu.log"; }
  if [ "$same" = "$n" ] && [ "$n" -gt 0 ]; then
    echo "firmware $name: $n/$n output(s) bit-identical to the host; $(value instructions) instructions, arena $(value arena) B, runtime state $(value runtime_state) B, stack high-water $(value stack_high_water) B"
  else
    echo "firmware $name: FAILED, $same/$n output(s) bit-identical"; failed=1
  fi
done
exit "$failed"
