#!/usr/bin/env bash
# The kernels' tests on arm64 under qemu-aarch64 (issue 8: the NEON kernels tested for real):
# every mote-kernels test on `-cpu max` (NEON with `sdot`), and the int8 tests again on
# `-cpu cortex-a57` (NEON without `sdot`: the other int8 path). Needs scripts/aarch64-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
run() { CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu $1" \
  cargo test --release -p mote-kernels --target aarch64-unknown-linux-gnu "${@:2}"; }
echo "== mote-kernels tests on aarch64 under qemu (-cpu max: NEON + sdot)"
run max
echo "== mote-kernels int8 tests on aarch64 under qemu (-cpu cortex-a57: NEON without sdot)"
run cortex-a57 --test int8 --test int8_sparse
