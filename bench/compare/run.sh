#!/usr/bin/env bash
# Peer benchmark: Mote vs onnxruntime vs tract (and LiteRT on the int8 models' .tflite originals),
# one thread, same models and inputs.
# Writes docs/BENCHMARKS.md (and raw results to out/bench/results.json).
#
# Usage (from anywhere): bench/compare/run.sh
# Environment: MOTE_DATA (shared data dir, default <repo>/../shared/data), PYTHON (python3 used to
# create the venv, default python3), CARGO_OFFLINE=1 to build without network,
# BENCH_ONLY=name,name to time a subset (report in out/bench/BENCHMARKS.partial.md),
# BENCH_ROUNDS=N rounds per model (default 3), BENCH_CALIB_CROPS=N calibration crops for the
# efficientnet_lite0 int8 model made by `mote quantize` (default 16).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/out/bench"
venv="$out/venv"
data="${MOTE_DATA:-$repo/../shared/data}"
python="${PYTHON:-python3}"

# Pinned peer versions (tract-onnx is pinned in bench/compare/Cargo.toml).
ORT_VERSION=1.32.0
LITERT_VERSION=2.3.0
NUMPY_VERSION=2.4.6
ONNX_VERSION=1.23.2

offline=()
if [[ "${CARGO_OFFLINE:-0}" == 1 ]]; then offline=(--offline); fi

step() { printf '\n== %s\n' "$*" >&2; }

[[ -d "$data/models" ]] || { echo "error: no models under $data/models (set MOTE_DATA)" >&2; exit 1; }
mkdir -p "$out"

step "python venv ($venv): onnxruntime==$ORT_VERSION ai-edge-litert==$LITERT_VERSION numpy==$NUMPY_VERSION onnx==$ONNX_VERSION"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
want="$ORT_VERSION $LITERT_VERSION $NUMPY_VERSION $ONNX_VERSION"
have="$("$venv/bin/python" -c 'import importlib.metadata as m, onnxruntime, numpy, onnx, ai_edge_litert; print(onnxruntime.__version__, m.version("ai-edge-litert"), numpy.__version__, onnx.__version__)' 2>/dev/null || true)"
if [[ "$have" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet \
        "onnxruntime==$ORT_VERSION" "ai-edge-litert==$LITERT_VERSION" "numpy==$NUMPY_VERSION" \
        "onnx==$ONNX_VERSION"
fi

step "build the tract harness (release, own workspace; target dir $out/target)"
(cd "$here" && CARGO_TARGET_DIR="$out/target" cargo build --release --locked "${offline[@]}")

step "build mote (release)"
(cd "$repo" && cargo build --release -p mote-cli "${offline[@]}")

step "generate the MatMul models 64..1024"
"$venv/bin/python" "$here/gen_matmul.py" "$out/models" 64 128 256 512 1024 >/dev/null

step "benchmark (single thread)"
MOTE_REPO="$repo" BENCH_OUT="$out" MOTE_DATA="$data" \
    MOTE_BIN="$repo/target/release/mote" \
    TRACT_BENCH_BIN="$out/target/release/tract-bench" \
    CLOCK_PROBE_BIN="$out/target/release/clock-probe" \
    BENCH_COMMAND="bench/compare/run.sh" \
    OMP_NUM_THREADS=1 \
    "$venv/bin/python" "$here/compare.py"
