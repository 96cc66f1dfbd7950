#!/usr/bin/env bash
# The issue-6 targets on the shared digits, measured with the mote CLI and written as a table
# into docs/TRAINING.md (between the `training-table` markers). Seeded: a rerun gives the same
# accuracies (times vary with the machine).
#
#   scripts/training-table.sh              # ~1 minute on one core; MOTE_SHARED_DATA to point elsewhere
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data="${MOTE_SHARED_DATA:-$root/../shared/data}/datasets/sklearn_digits"
[ -f "$data/X.npy" ] || { echo "no $data/X.npy (set MOTE_SHARED_DATA)" >&2; exit 1; }
out="$root/out/training"
mkdir -p "$out"
cargo build --quiet --release -p mote-cli --manifest-path "$root/Cargo.toml"
mote="$root/target/release/mote"
d=(--data "$data/X.npy" --labels "$data/y.npy" --seed 0 --json)

echo "== small CNN from scratch"
"$mote" train --arch cnn:16,32 "${d[@]}" --epochs 10 -o "$out/cnn.onnx" > "$out/cnn.json"
echo "== teacher and distilled student"
"$mote" train --arch cnn:32,64 "${d[@]}" --epochs 10 -o "$out/teacher.onnx" > "$out/teacher.json"
"$mote" distill --teacher "$out/teacher.onnx" --student cnn:8,16 "${d[@]}" --epochs 15 -o "$out/student.onnx" > "$out/student.json"
"$mote" train --arch cnn:8,16 "${d[@]}" --epochs 15 -o "$out/student-alone.onnx" > "$out/student-alone.json"
echo "== pruning"
"$mote" prune "$out/cnn.onnx" --structured channels --sparsity 0.5 "${d[@]}" --finetune-epochs 5 -o "$out/channels.onnx" > "$out/channels.json"
"$mote" prune "$out/cnn.onnx" --sparsity 0.7 "${d[@]}" --finetune-epochs 5 -o "$out/sparse70.onnx" > "$out/sparse70.json"
"$mote" prune "$out/cnn.onnx" --pattern 2:4 "${d[@]}" --finetune-epochs 5 -o "$out/2of4.onnx" > "$out/2of4.json"
echo "== quantization-aware training"
"$mote" qat "$out/cnn.onnx" "${d[@]}" --epochs 3 --lr 0.0003 -o "$out/cnn.int8.mote" > "$out/qat.json"

pct() { jq -r "$1 * 10000 | round / 100" "$2"; }
median_epoch() { jq -r '[.epochs[].seconds] | sort | .[length / 2 | floor] * 1000 | round / 1000' "$1"; }
table=$(cat <<MD
| target (issue 6) | result | command output |
|---|---|---|
| small CNN from scratch >= 97% | $(pct .test_accuracy "$out/cnn.json")% (cnn:16,32, 10 epochs, $(jq .parameters "$out/cnn.json") parameters) | \`out/training/cnn.json\` |
| one epoch under 1 s on one core | median $(median_epoch "$out/cnn.json") s per epoch (1040 samples) | \`out/training/cnn.json\` |
| distilled student <= 1/4 of the teacher's MACs, >= 96% | $(pct .test_accuracy "$out/student.json")% with $(jq .macs "$out/student.json") MACs = $(jq -r '.macs / .teacher.macs * 1000 | round / 10' "$out/student.json")% of the teacher's (teacher $(pct .test_accuracy "$out/teacher.json")%; the student trained alone: $(pct .test_accuracy "$out/student-alone.json")%) | \`out/training/student.json\` |
| 50% channel-pruned and fine-tuned >= 96% | $(pct .test_accuracy "$out/channels.json")%; MACs $(jq .before.macs "$out/channels.json") -> $(jq .pruned.macs "$out/channels.json"), file $(jq .before.file_bytes "$out/channels.json") -> $(jq .pruned.file_bytes "$out/channels.json") bytes | \`out/training/channels.json\` |
| (unstructured 70%, 2:4) | $(pct .test_accuracy "$out/sparse70.json")% at $(jq -r '.pruned.sparsity * 1000 | round / 10' "$out/sparse70.json")% zeros; $(pct .test_accuracy "$out/2of4.json")% at 2:4 | \`out/training/sparse70.json\`, \`2of4.json\` |
| QAT int8 .mote >= 96% and >= post-training int8 | QAT $(pct .qat_accuracy "$out/qat.json")%, post-training $(pct .ptq_accuracy "$out/qat.json")%, f32 $(pct .f32_accuracy "$out/qat.json")% (compiled models); training forward vs int8 steps: max logit difference $(jq -r '.training_forward_vs_int8.max_abs_logit_diff * 1000 | round / 1000' "$out/qat.json") | \`out/training/qat.json\` |
MD
)
echo "$table"
python3 - "$root/docs/TRAINING.md" "$table" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
start, end = "<!-- training-table -->", "<!-- /training-table -->"
i, j = text.index(start) + len(start), text.index(end)
open(path, "w").write(text[:i] + "\n" + table + "\n" + text[j:])
PY
echo "wrote the table into docs/TRAINING.md"
