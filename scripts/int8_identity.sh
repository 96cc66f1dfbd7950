#!/usr/bin/env bash
# The int8 bit-identity check across instruction sets (issue 4): the same deterministic cases
# through every int8 path, hashed and compared with the reference kernels'.
# - x86_64: native, in `cargo test` (crates/mote-kernels/tests/int8.rs: scalar, AVX2 forced,
#   AVX-512 VNNI where present); here again through the small check program.
# - aarch64: NEON and NEON + sdot under qemu-aarch64 (`-cpu max` has the dot product; a CPU
#   without it checks the detection falls back to plain NEON).
# - wasm32: simd128 under Node.js.
# Builds only mote-core and mote-kernels (crates/mote-kernels/tests-cross, its own workspace);
# the linker and runner are set here, not in a .cargo/config that would affect native builds.
# A missing tool skips its part with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
crate=crates/mote-kernels/tests-cross
export CARGO_TARGET_DIR="$PWD/target/int8-identity"
manifest=(--manifest-path "$crate/Cargo.toml" --release)
mkdir -p "$CARGO_TARGET_DIR"

echo "== int8 identity: native $(uname -m)"
cargo run -q "${manifest[@]}" | tee "$CARGO_TARGET_DIR/native.txt"
# Every machine runs the same cases: all hashes must equal this one.
want=$(awk '{print $6; exit}' "$CARGO_TARGET_DIR/native.txt")
same() { # file: every line's path hash is the native reference hash
  awk -v w="$want" '$4 != w || $6 != w || $NF != "ok" { bad = 1 } END { exit bad }' "$1" \
    || { echo "FAILED: $1 differs from the native reference hash $want"; exit 1; }
}

if command -v qemu-aarch64 >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null \
    && rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  cargo build -q "${manifest[@]}" --target aarch64-unknown-linux-gnu
  bin="$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/mote-int8-identity"
  echo "== int8 identity: aarch64 under qemu (-cpu max: NEON and sdot)"
  qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu max "$bin" | tee "$CARGO_TARGET_DIR/aarch64.txt"
  same "$CARGO_TARGET_DIR/aarch64.txt"
  grep -q "neon-dot .* ok" "$CARGO_TARGET_DIR/aarch64.txt" || { echo "FAILED: the sdot path did not run under -cpu max"; exit 1; }
  echo "== int8 identity: aarch64 under qemu (-cpu cortex-a57: no dot product)"
  qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a57 "$bin" | tee "$CARGO_TARGET_DIR/a57.txt"
  same "$CARGO_TARGET_DIR/a57.txt"
  if grep -q "neon-dot" "$CARGO_TARGET_DIR/a57.txt"; then echo "FAILED: sdot detected on a CPU without it"; exit 1; fi
else
  echo "SKIPPED int8 identity on aarch64: needs qemu-aarch64, aarch64-linux-gnu-gcc and the rustup target aarch64-unknown-linux-gnu"
fi

if command -v node >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  RUSTFLAGS="-C target-feature=+simd128" cargo build -q "${manifest[@]}" --lib --target wasm32-unknown-unknown
  echo "== int8 identity: wasm32 simd128 under Node.js $(node --version)"
  node "$crate/run.mjs" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/mote_int8_identity.wasm" "$want"
else
  echo "SKIPPED int8 identity on wasm32: needs node and the rustup target wasm32-unknown-unknown"
fi
