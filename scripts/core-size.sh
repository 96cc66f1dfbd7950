#!/usr/bin/env bash
# The runtime core's budget (docs/FOOTPRINT.md): builds the firmware without kernels
# (MOTE_FW_OPS=none) and the harness alone (MOTE_FW_BARE=1) at opt-level "s" for the AD model
# that scripts/firmware.sh compiled, and fails unless the core (the difference of .text) is
# <= 10,240 B, no `core::fmt` and no 64-bit division are linked, and the core run under QEMU
# refuses the model's first step with the op-set error code (`error load: code 102 step 0`).
# Exit status: 1 a failed check, 2 when it cannot set up (no qemu-system-arm or target).
set -euo pipefail
cd "$(dirname "$0")/.."

LIMIT=10240
AD="$PWD/out/firmware/ad"
if [ ! -f "$AD/model.mote" ]; then
  echo "SKIPPED the core size check: $AD/model.mote is absent (scripts/firmware.sh writes it)"
  exit 0
fi
command -v qemu-system-arm >/dev/null || { echo "missing qemu-system-arm (scripts/firmware.sh installs it)" >&2; exit 2; }
rustup target list --installed 2>/dev/null | grep -qx thumbv7em-none-eabihf || exit 2
tool() {
  if command -v "llvm-$1" >/dev/null; then echo "llvm-$1"; return; fi
  ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/"llvm-$1" 2>/dev/null | head -1
}
SIZE=$(tool size) NM=$(tool nm)
[ -n "$SIZE" ] && [ -n "$NM" ] || { echo "missing llvm-size/llvm-nm (rustup component add llvm-tools)" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
text() { "$SIZE" -A "$1" | awk '$1 == ".text" || $1 == ".vector_table" { n += $2 } END { print n }'; }
for bare in 0 1; do
  (cd firmware && MOTE_FW_BARE=$bare MOTE_FW_OPS=none MOTE_FW_MODEL="$AD/model.mote" MOTE_FW_INPUTS="$AD/input_0.bin" \
    cargo build --profile release-size -q)
  cp firmware/target/thumbv7em-none-eabihf/release-size/mote-firmware "$dir/$bare.elf"
done
whole=$(text "$dir/0.elf") harness=$(text "$dir/1.elf")
core=$((whole - harness))
failed=0
echo "runtime core at opt-level s: $core B of .text (whole firmware without kernels $whole B, harness $harness B; limit $LIMIT B)"
[ "$core" -le "$LIMIT" ] || { echo "FAILED: the core is $((core - LIMIT)) B over $LIMIT B"; failed=1; }
linked=$("$NM" -C "$dir/0.elf" | grep -E 'core::fmt|u64_div_rem|__aeabi_uldivmod|__udivmoddi4' || true)
[ -z "$linked" ] || { echo "FAILED: the core links formatting or 64-bit division:"; echo "$linked"; failed=1; }
got=$(timeout 60 qemu-system-arm -machine mps2-an386 -nographic -semihosting-config enable=on,target=native \
  -kernel "$dir/0.elf" 2>&1 | grep '^error' || true)
want="error load: code 102 step 0"
[ "$got" = "$want" ] || { echo "FAILED: the core printed '$got', expected '$want'"; failed=1; }
exit "$failed"
