#!/usr/bin/env bash
# The project's test command (README, CI): the workspace tests in release mode, then the no_std
# crates built for a microcontroller and for the browser, so they cannot silently grow a std
# dependency.
set -euo pipefail
cd "$(dirname "$0")/.."

# `gated REQUIRE WHAT CMD...`: runs a check that exits 2 when this machine cannot set it up. A
# failed check fails the run; one that could not set up fails it too when the variable named
# REQUIRE (MOTE_REQUIRE_*, set by .ci/run) is 1, and is otherwise reported as skipped.
gated() {
  local require=$1 what=$2 rc=0
  shift 2
  "$@" || rc=$?
  [ "$rc" = 0 ] && return 0
  if [ "$rc" = 2 ] && [ "${!require:-0}" != 1 ]; then
    echo "SKIPPED $what: it could not be set up (above)"
    return 0
  fi
  [ "$rc" = 2 ] && echo "FAILED: $what could not be set up (above)" >&2
  exit "$rc"
}
# `with_env ENV TESTS`: the TESTS script once the ENV script has set this machine up (exit 2
# when it could not).
with_env() { "$1" || return 2; "$2"; }

# onnxruntime (from PyPI) checks the ONNX files Mote writes; without network the test skips.
if py=$(scripts/ort-env.sh); then
  export MOTE_ORT_PYTHON="$py"
else
  echo "SKIPPED making out/ort-venv (onnxruntime from PyPI): the onnxruntime check will skip"
fi
# A throwaway PostgreSQL server (out/pg) for the fleet server's tests; without it they skip.
if pg=$(scripts/postgres-env.sh); then
  export MOTE_TEST_POSTGRES="$pg"
else
  echo "SKIPPED starting PostgreSQL (scripts/postgres-env.sh): the fleet server's PostgreSQL tests will skip"
fi
# The C library, for the test that compiles a C program against it (docs/C_API.md).
cargo build --release -p mote-capi
export MOTE_REQUIRE_CAPI=1
cargo test --workspace --release
# arm64 under qemu: the NEON kernels' tests, then (in int8_identity.sh) the int8 bit identity.
gated MOTE_REQUIRE_AARCH64 "the aarch64 tests (qemu-aarch64, cross linker)" \
  with_env scripts/aarch64-env.sh scripts/aarch64-tests.sh
scripts/int8_identity.sh
scripts/fleet-demo.sh   # the README's "Ship a model to a fleet"

for target in thumbv7em-none-eabihf wasm32-unknown-unknown; do
  if rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >/dev/null 2>&1; then
    cargo build --release -p mote-core -p mote-kernels -p mote-format -p mote-rt -p mote-pkg --target "$target"
    echo "no_std build for $target: ok"
  else
    echo "SKIPPED no_std build for $target: the target could not be installed with rustup"
  fi
done

# ---- browser (docs/BROWSER.md): the wasm runtime runs efficientnet_lite0 in headless Chromium ----
# Exit 2 of browser-test.sh means it could not set up (no chromium/npm/shared data); 1 a failed check.
gated MOTE_REQUIRE_BROWSER "the browser test" scripts/browser-test.sh
# ---- end browser ----
# --- 32-bit Arm under qemu-arm: the DSP int8 kernels (Cortex-M4 path) against the reference ---
gated MOTE_REQUIRE_ARM "the 32-bit Arm DSP tests (qemu-arm, cross linker)" with_env scripts/arm-env.sh scripts/arm-tests.sh
# --- end of the 32-bit Arm block ---
# ---- firmware (docs/FOOTPRINT.md): the MLPerf Tiny models on an emulated Cortex-M4F ----
# scripts/firmware.sh installs qemu-system-arm and the thumbv7em target, then checks every
# output against the host runtime bit for bit (about 15 s once built; the firmware's first
# build about 1 min).
# It prints one line per model (or why it skipped: the shared models absent).
# Exit 2 of firmware.sh means it could not set up qemu-system-arm or the target; 1 a failed check.
gated MOTE_REQUIRE_FIRMWARE "the firmware check" scripts/firmware.sh
# ---- end firmware ----
# ---- runtime core size (docs/FOOTPRINT.md): <= 10 KB of .text, no core::fmt ----
# After the firmware block (it reads out/firmware/ad). Two firmware builds at opt-level "s" and
# one QEMU run. Exit 2 of core-size.sh means it could not set up; 1 a failed check.
gated MOTE_REQUIRE_FIRMWARE "the core size check" scripts/core-size.sh
# ---- end runtime core size ----
