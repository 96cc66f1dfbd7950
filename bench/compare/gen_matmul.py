"""Generates the single-MatMul ONNX models of the peer benchmark.

Each model computes Y = X @ W with X an input [n, n] and W an initializer [n, n] (f32, square),
the inference form of a GEMM: weights known at load time, so every engine may pre-pack them.
Writes OUT/matmul_<n>/model.onnx and OUT/matmul_<n>/test_data_set_0/input_0.pb (seeded values).

Usage: python gen_matmul.py OUT_DIR 64 128 256 512 1024
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# ONNX opset and IR version every engine here reads (onnxruntime 1.32, tract 0.23, Mote).
OPSET = 13
IR_VERSION = 8


def write_model(out_dir: str, n: int) -> str:
    """Writes matmul_<n> under out_dir and returns its directory."""
    rng = np.random.default_rng(n)
    w = rng.uniform(-1.0, 1.0, size=(n, n)).astype(np.float32)
    x = rng.uniform(-1.0, 1.0, size=(n, n)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")],
        f"matmul_{n}",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])],
        initializer=[numpy_helper.from_array(w, name="W")],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mote-bench-compare"
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    d = os.path.join(out_dir, f"matmul_{n}")
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    with open(os.path.join(d, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, name="X").SerializeToString())
    return d


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit("usage: gen_matmul.py OUT_DIR N [N ...]")
    for n in sys.argv[2:]:
        print(write_model(sys.argv[1], int(n)))


if __name__ == "__main__":
    main()
