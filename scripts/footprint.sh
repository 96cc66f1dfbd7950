#!/usr/bin/env bash
# Writes docs/FOOTPRINT.md and docs/footprint.json: code and data sizes of the firmware
# (firmware/) on thumbv7em-none-eabihf, RAM per MLPerf Tiny model against the peak-live-activation
# lower bound, and instructions per inference under QEMU, beside TFLite Micro's published figures.
# Runs scripts/firmware.sh first (which checks every output against the host bit for bit).
set -euo pipefail
cd "$(dirname "$0")/.."

tool() {
  if command -v "llvm-$1" >/dev/null; then echo "llvm-$1"; return; fi
  local sysroot; sysroot=$(rustc --print sysroot)
  local t; t=$(ls "$sysroot"/lib/rustlib/*/bin/"llvm-$1" 2>/dev/null | head -1)
  if [ -z "$t" ]; then
    rustup component add llvm-tools >&2
    t=$(ls "$sysroot"/lib/rustlib/*/bin/"llvm-$1" | head -1)
  fi
  echo "$t"
}
SIZE=$(tool size)
NM=$(tool nm)

[ "${MOTE_FOOTPRINT_REUSE:-0}" = 1 ] || scripts/firmware.sh
OUT=out/firmware

# The runtime core: the firmware with the empty op set (no kernel), and the harness alone
# (MOTE_FW_BARE=1: start-up, clock and output lines, no runtime), in both profiles. The core
# proper is the difference.
ad="$PWD/$OUT/ad"
for profile in release release-size; do
  for bare in 0 1; do
    (cd firmware && MOTE_FW_BARE=$bare MOTE_FW_OPS=none MOTE_FW_MODEL="$ad/model.mote" MOTE_FW_INPUTS="$ad/input_0.bin" \
      cargo build --profile "$profile" -q)
    name=core; [ "$bare" = 1 ] && name=harness
    cp "firmware/target/thumbv7em-none-eabihf/$profile/mote-firmware" "$OUT/$name-$profile.elf"
  done
done

# One TSV row per ELF: name, sections, and the sizes of the model, arena and input symbols.
rows="$OUT/sizes.tsv"
: >"$rows"
for elf in "$OUT"/core-*.elf "$OUT"/harness-*.elf "$OUT"/*/firmware.elf; do
  name=$(basename "$elf" .elf); [ "$name" = firmware ] && name=$(basename "$(dirname "$elf")")
  sec() { "$SIZE" -A "$elf" | awk -v s="$1" '$1 == s { print $2 }'; }
  sym() { local h; h=$("$NM" --print-size -C "$elf" | awk -v s="$1" '$0 ~ s { print $2 }' | head -1); echo $((16#${h:-0})); }
  case "$name" in
    core-*) inputs=$(cat "$ad"/input_*.bin | wc -c) ;;
    harness-*) inputs=0 ;;  # embeds neither model nor inputs
    *) inputs=$(cat "$OUT/$name"/input_*.bin | wc -c) ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(sec .vector_table)" "$(sec .text)" "$(sec .rodata)" \
    "$(sec .bss)" "$(sym 'model::MODEL')" "$(sym 'mote_firmware::ARENA')" "$inputs" >>"$rows"
done

# What the core's code is: its largest functions (the size-optimized build).
"$NM" --print-size --size-sort -C "$OUT/core-release-size.elf" | awk '$3 ~ /^[tT]$/' | tail -15 | sort -k2,2r >"$OUT/core-symbols.txt"

python3 scripts/footprint_doc.py "$rows" "$OUT" docs/FOOTPRINT.md docs/footprint.json

# Each op's kernels on their own (the release build minus the core): the compiler's flash
# estimate for `--target cortex-m*` (crates/mote-compile/src/target/thumbv7em.tsv).
code() { "$SIZE" -A "$1" | awk '$1 == ".text" || $1 == ".rodata" { n += $2 } END { print n }'; }
core=$(code "$OUT/core-release.elf")
table=crates/mote-compile/src/target/thumbv7em.tsv
MOTE=${MOTE:-target/release/mote}
ops=$(for m in "$OUT"/*/model.mote; do "$MOTE" inspect "$m" --json | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["op_histogram"]))'; done | sort -u)
{
  echo "# The runtime on thumbv7em-none-eabihf (release build), measured by scripts/footprint.sh: bytes."
  echo "# core: .text + .rodata without kernels; ram: runtime state + deepest stack; op: its kernels."
  # The core's own bytes: the release build without the embedded model and input (as in docs/footprint.json).
  printf 'core\t%s\n' "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["core"]["opt3"]; print(c["text"]+c["rodata"])' docs/footprint.json)"
  for op in $ops; do
    (cd firmware && MOTE_FW_OPS="$op" MOTE_FW_MODEL="$ad/model.mote" MOTE_FW_INPUTS="$ad/input_0.bin" \
      cargo build --profile release -q)
    printf 'op\t%s\t%s\n' "$op" $(( $(code firmware/target/thumbv7em-none-eabihf/release/mote-firmware) - core ))
  done
} >"$table.tmp"
printf 'ram\t%s\n' "$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["models"]; print(max(v["runtime_state"]+v["stack_high_water"] for v in m.values()))' docs/footprint.json)" >>"$table.tmp"
mv "$table.tmp" "$table"
echo "wrote docs/FOOTPRINT.md, docs/footprint.json and $table"
