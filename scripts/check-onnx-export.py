#!/usr/bin/env python3
"""Checks the ONNX writer against onnxruntime: `mote convert` writes the shared .tflite models
with LiteRT references (crates/mote-tflite/tests/data/litert_*.txt) and two ONNX models as ONNX,
then onnxruntime (1 thread, default optimizations) runs each written file on the references'
deterministic input (the ONNX models on the same input as their original). Prints the largest
difference per model and exits non-zero when one exceeds its bound (int8: 2 LSB, float: 1e-4).

  cargo build --release -p mote-cli
  out/bench/venv/bin/python scripts/check-onnx-export.py      # a venv with onnxruntime and numpy
"""
import os, subprocess, sys, tempfile
import numpy as np
import onnxruntime as ort

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = os.environ.get("MOTE_SHARED_DATA", os.path.join(root, "..", "shared", "data"))
mote = os.path.join(root, "target", "release", "mote")
out = tempfile.mkdtemp(prefix="mote-export-")

def make_input(shape, dtype):
    n = int(np.prod(shape)); i = np.arange(n, dtype=np.int64)
    if dtype == np.int8:
        return (((i * 7919 + 13) % 256) - 128).astype(np.int8).reshape(shape)
    return (((i * 7919 + 13) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1)).reshape(shape)

def convert(src, name):
    dst = os.path.join(out, name + ".onnx")
    subprocess.run([mote, "convert", src, "-o", dst], check=True, stdout=subprocess.DEVNULL)
    return dst

opts = ort.SessionOptions(); opts.intra_op_num_threads = 1
def run(path, x=None):
    s = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    if x is None:
        x = make_input([d if isinstance(d, int) else 1 for d in i.shape], np.int8 if "int8" in i.type else np.float32)
    return x, s.run(None, {i.name: x})[0].astype(np.float64).ravel()

bad = 0
for ref_file in ["litert_float.txt", "litert_hybrid.txt", "litert_int8.txt"]:
    for line in open(os.path.join(root, "crates/mote-tflite/tests/data", ref_file)):
        if line.startswith("#") or not line.strip():
            continue
        words = line.split()
        want = np.array([float(w) for w in words[1:]])
        _, got = run(convert(os.path.join(data, "models/tflite", words[0]), os.path.basename(words[0])))
        diff = np.abs(got - want).max()
        bound = 2 if ref_file == "litert_int8.txt" else 1e-4
        bad += diff > bound
        print(f"{words[0]}: onnxruntime on the written ONNX vs LiteRT: max |diff| {diff:.3g} (bound {bound})")
for m in ["efficientnet_lite0", "tflm_mobilenet_v2_int8"]:
    src = os.path.join(data, "models", m, "model.onnx")
    x, a = run(src)
    _, b = run(convert(src, m), x)
    diff = np.abs(a - b).max()
    bad += diff > 0
    print(f"{m}: onnxruntime on the original vs the written ONNX: max |diff| {diff:.3g} (bound 0)")
sys.exit(1 if bad else 0)
