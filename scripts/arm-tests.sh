#!/usr/bin/env bash
# The int8 kernels' tests on 32-bit Arm under qemu-arm (issue 8: the Cortex-M4 DSP path tested
# for real). The target is thumbv7neon-unknown-linux-gnueabihf: Thumb-2 code like a Cortex-M4's,
# and ARMv7-A has the same DSP instructions (`sxtb16`, `smlad`). mote-kernels' build.rs turns
# the DSP path on for it by the target's name (stable Rust does not expose the `dsp` target
# feature to cfg), and MOTE_EXPECT_Q8=dsp makes the tests fail if it was not.
# Needs scripts/arm-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_THUMBV7NEON_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_THUMBV7NEON_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a7"
export MOTE_EXPECT_Q8=dsp
echo "== mote-kernels int8 tests on 32-bit Arm under qemu (DSP path and portable)"
run() { cargo test --release -p mote-kernels --target thumbv7neon-unknown-linux-gnueabihf "$@"; }
run --test int8 --test int8_sparse
run --lib -- int8 arch::arm
