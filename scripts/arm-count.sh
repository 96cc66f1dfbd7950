#!/usr/bin/env bash
# Estimates the DSP int8 kernels' speed on a Cortex-M4 by counting executed instructions under
# qemu-arm (docs/MICROCONTROLLERS.md): the example int8_count, its crates compiled for the
# Cortex-M4 (`-C target-cpu=cortex-m4`: Thumb-2 with the DSP extension, no NEON, the M4's
# scheduling) inside a Linux executable (the linker is told to accept the M-profile objects
# next to the A-profile C library), run with one instruction per translation block and every
# block execution logged; a run of 2 inferences minus a run of 1 is one inference. Not part
# of CI (about 3 minutes). Needs scripts/arm-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
t=thumbv7neon-unknown-linux-gnueabihf
export CARGO_TARGET_THUMBV7NEON_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
RUSTFLAGS="-C target-cpu=cortex-m4 -C link-arg=-Wl,--no-warn-mismatch" CARGO_TARGET_DIR=target/arm-count \
  cargo build --release -p mote-kernels --example int8_count --target $t
bin=target/arm-count/$t/release/examples/int8_count
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count() {
  qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a7 -singlestep -d exec,nochain -D "$log" "$bin" "$@" >/dev/null
  grep -c '^Trace' "$log"
}
for shape in pw dw; do
  macs=$([ $shape = pw ] && echo $((125 * 64 * 64)) || echo $((125 * 64 * 9)))
  for path in scalar dsp; do
    one=$(count $path $shape 1); two=$(count $path $shape 2)
    n=$((two - one))
    echo "$shape $path: $n instructions per inference, $macs MACs, $(awk "BEGIN{printf \"%.2f\", $n / $macs}") per MAC"
  done
done
