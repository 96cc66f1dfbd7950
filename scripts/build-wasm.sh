#!/usr/bin/env bash
# Builds the browser runtime (crates/mote-wasm, simd128 kernels, profile wasm-release) into
# out/web/mote.wasm and prints its size raw and gzipped (-9). With MOTE_WASM_MODEL=1 it also
# compiles efficientnet_lite0 from ../shared/data for wasm32 into out/web/efficientnet_lite0.mote.
set -euo pipefail
cd "$(dirname "$0")/.."
target=wasm32-unknown-unknown
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >&2
# simd128 for this build only (passed here, not in .cargo/config.toml: the plain no_std wasm32
# build of scripts/test.sh keeps the portable kernels).
cargo build --profile wasm-release -p mote-wasm --target "$target" \
  --config "target.$target.rustflags=[\"-C\", \"target-feature=+simd128\"]" >&2
mkdir -p out/web
cp "target/$target/wasm-release/mote_wasm.wasm" out/web/mote.wasm
raw=$(wc -c < out/web/mote.wasm)
gz=$(gzip -9 -c out/web/mote.wasm | wc -c)
echo "out/web/mote.wasm: $raw bytes, $gz gzipped (-9)"
if [ "${MOTE_WASM_MODEL:-0}" = 1 ]; then
  model=../shared/data/models/efficientnet_lite0/model.onnx
  [ -f "$model" ] || { echo "no $model (shared data absent)" >&2; exit 2; }
  [ -x target/release/mote ] || cargo build --release -p mote-cli >&2
  target/release/mote compile "$model" --target wasm32 --dim N=1 -o out/web/efficientnet_lite0.mote >&2
  echo "out/web/efficientnet_lite0.mote: $(wc -c < out/web/efficientnet_lite0.mote) bytes"
fi
