#!/usr/bin/env python3
"""Writes crates/mote-tflite/tests/data/litert_float.txt, litert_hybrid.txt and litert_int8.txt: LiteRT's outputs
for the MLPerf Tiny (and hello_world) .tflite models of shared/data that have no TFLM
reference, on a deterministic input that the Rust test rebuilds exactly.

Input element i (row-major, NHWC as TFLite declares it) is ((i * 7919 + 13) % 2001) / 1000 - 1
in float32 for float models, ((i * 7919 + 13) % 256) - 128 for int8 models.
Run with the ai-edge-litert package (PyPI; 2.3.0 made the checked-in files) and numpy:
  python3 -m venv out/litert-venv && out/litert-venv/bin/pip install ai-edge-litert numpy
  out/litert-venv/bin/python scripts/litert-refs.py
LiteRT runs on 1 thread: float models with its default resolver (XNNPACK), int8 and hybrid
(float activations, int8 weights) models with its reference kernels (BUILTIN_REF). For hybrid
convolutions LiteRT's kernels disagree with each other (reference: symmetric per-batch input
quantization; builtin optimized: asymmetric per batch; XNNPACK: asymmetric per pixel; 0.0093
apart on kws_ref_model_float32); Mote follows the reference kernels. Those round the requantization product once, where
TFLite Micro (which Mote's int8 path follows bit for bit) rounds twice, gemmlowp style: on
ad01_int8's second layer, accumulator 4739 times multiplier 1442659867 * 2^-36 is 99.49;
two roundings give 100, LiteRT gives 99. Over ad01's ten layers that grows to 2 LSB.
"""
import importlib.metadata, os
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
models = os.environ.get("MOTE_SHARED_DATA", os.path.join(root, "..", "shared", "data")) + "/models/tflite"
INT8_FILES = ["mlperf_tiny/kws_ref_model.tflite", "mlperf_tiny/ad01_int8.tflite"]
HYBRID_FILES = ["mlperf_tiny/kws_ref_model_float32.tflite"]
FILES = ["hello_world_float.tflite", "mlperf_tiny/ad01_fp32.tflite", "mlperf_tiny/pretrainedResnet.tflite",
         "mlperf_tiny/vww_96_float.tflite"]

VERSION = importlib.metadata.version("ai-edge-litert")

def make_input(shape, dtype):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    if dtype == np.int8:
        return (((i * 7919 + 13) % 256) - 128).astype(np.int8).reshape(shape)
    return (((i * 7919 + 13) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1)).reshape(shape)

def refs(files, out_name, fmt, resolver):
    lines = [f"# model output values (row-major); made by scripts/litert-refs.py with ai-edge-litert {VERSION}, {resolver.name}"]
    for f in files:
        it = Interpreter(model_path=os.path.join(models, f), num_threads=1, experimental_op_resolver_type=resolver)
        it.allocate_tensors()
        inp = it.get_input_details()[0]
        it.set_tensor(inp["index"], make_input(inp["shape"], inp["dtype"]))
        it.invoke()
        out = it.get_tensor(it.get_output_details()[0]["index"]).ravel()
        lines.append(f + " " + " ".join(fmt(v) for v in out))
    path = os.path.join(root, "crates/mote-tflite/tests/data", out_name)
    open(path, "w").write("\n".join(lines) + "\n")
    print("wrote", os.path.relpath(path, root))

refs(FILES, "litert_float.txt", lambda v: repr(float(v)), OpResolverType.AUTO)
refs(HYBRID_FILES, "litert_hybrid.txt", lambda v: repr(float(v)), OpResolverType.BUILTIN_REF)
refs(INT8_FILES, "litert_int8.txt", lambda v: str(int(v)), OpResolverType.BUILTIN_REF)
