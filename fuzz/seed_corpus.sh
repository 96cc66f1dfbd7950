#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared conformance data.
#
#   fuzz/seed_corpus.sh            # every conformance model under 4 KB -> fuzz/work/onnx_import
#   fuzz/seed_corpus.sh --commit   # the smallest model of each op (under 1 KB) -> fuzz/corpus/onnx_import
#   fuzz/seed_corpus.sh --mote     # compiled .mote files (small models, conformance tests) -> fuzz/work/mote_load_run
#   fuzz/seed_corpus.sh --tflite   # the shared .tflite files under 64 KB -> fuzz/work/tflite_import
#
# The shared data lives at ../shared/data relative to the repository (or $MOTE_SHARED_DATA).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${MOTE_SHARED_DATA:-$here/../../shared/data}"
index="$data/conformance/INDEX.tsv"
nodes="$data/conformance/node"
[ -f "$index" ] || { echo "no $index (set MOTE_SHARED_DATA)" >&2; exit 1; }

if [ "${1:-}" = "--tflite" ]; then
    out="$here/work/tflite_import"
    mkdir -p "$out"
    find "$data/models/tflite" -name '*.tflite' -size -64k -exec cp {} "$out/" \;
    echo "$(ls "$out" | wc -l) .tflite files in $out"
    exit 0
fi

if [ "${1:-}" = "--mote" ]; then
    # Compiled models for mote_load_run: small real models and conformance tests of the ops the
    # runtime implements (those that compile), into work/mote_load_run.
    out="$here/work/mote_load_run"
    mkdir -p "$out"
    (cd "$here/.." && cargo build --release -q -p mote-cli)
    mote="$here/../target/release/mote"
    for m in tflm_hello_world_float tflm_hello_world_int8 tflm_micro_speech_int8; do
        "$mote" compile "$data/models/$m/model.onnx" -o "$out/$m.mote" >/dev/null 2>&1 || true
    done
    for t in "$nodes"/test_{conv,convtranspose,gemm,matmul,maxpool,averagepool,globalaveragepool,resize,lstm,softmax,transpose,concat,slice,split,pad,gather,where,cast,relu,add,mul,sub,div,reduce_mean,quantizelinear,dequantizelinear,expand,tile,unique,nonzero,bernoulli,training_dropout,string_concat,string_split,strnormalizer,regex_full_match,tfidfvectorizer,equal_string,qlinearmatmul,qlinearconv,matmulinteger,convinteger,dynamicquantizelinear,if,melweightmatrix,ai_onnx_ml_label_encoder}*; do
        "$mote" compile "$t/model.onnx" -o "$out/$(basename "$t").mote" >/dev/null 2>&1 || true
    done
    echo "$(ls "$out" | wc -l) .mote files in $out"
    exit 0
fi

if [ "${1:-}" = "--commit" ]; then
    out="$here/corpus/onnx_import"
    mkdir -p "$out"
    # Columns: test, opset, domains, ir, ops, dtypes, sets, bytes, ...; keep the smallest per op list.
    tail -n +2 "$index" | sort -t$'\t' -k5,5 -k8,8n | awk -F'\t' '$8 < 400 && !seen[$5]++ {print $1}' |
        while read -r t; do cp "$nodes/$t/model.onnx" "$out/$t.onnx"; done
else
    out="$here/work/onnx_import"
    mkdir -p "$out"
    for m in "$nodes"/*/model.onnx; do
        if [ "$(stat -c %s "$m")" -lt 4096 ]; then
            cp "$m" "$out/$(basename "$(dirname "$m")").onnx"
        fi
    done
    for m in ort_logreg_iris tflm_hello_world_float tflm_hello_world_int8; do
        [ -f "$data/models/$m/model.onnx" ] && cp "$data/models/$m/model.onnx" "$out/$m.onnx"
    done
fi
echo "$(ls "$out" | wc -l) models in $out"
