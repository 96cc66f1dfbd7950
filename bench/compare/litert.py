"""LiteRT (ai-edge-litert, the TFLite interpreter) as a peer engine: timing, the XNNPACK partition,
and an output check. Used by compare.py on the original `.tflite` of an int8 ONNX model."""

import importlib.metadata
import os
import time

import numpy as np

try:
    from ai_edge_litert.interpreter import Interpreter

    IMPORT_ERROR = None
except ImportError as e:  # the report says LiteRT is missing instead of failing the whole run
    Interpreter = None
    IMPORT_ERROR = f"{type(e).__name__}: {e}"


def version() -> str:
    try:
        return importlib.metadata.version("ai-edge-litert")
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def to_layout(x: np.ndarray, shape) -> np.ndarray:
    """`x` (the ONNX test input) in the `.tflite` input's shape: as is, NCHW <-> NHWC transposed,
    or reshaped when only the element order of a flat shape differs. ValueError otherwise."""
    shape = tuple(int(d) for d in shape)
    if x.shape == shape:
        return x
    if x.ndim == 4 and len(shape) == 4:
        for perm in ((0, 2, 3, 1), (0, 3, 1, 2)):
            if tuple(x.shape[p] for p in perm) == shape:
                return np.ascontiguousarray(x.transpose(perm))
    if x.size == int(np.prod(shape)) and sum(d > 1 for d in x.shape) <= 1:
        return x.reshape(shape)
    raise ValueError(f"input shape {list(x.shape)} does not fit the .tflite input {list(shape)}")


def outside_delegate(ops, graph_inputs, graph_outputs) -> list:
    """Names of the ops that run outside the XNNPACK delegate, from `_get_ops_details()` after
    `allocate_tensors` (the delegate shows as extra `DELEGATE` nodes after the model's own)."""
    dels = [o for o in ops if o["op_name"] == "DELEGATE"]
    if not dels:
        return [o["op_name"] for o in ops]
    own = [o for o in ops if o["op_name"] != "DELEGATE"]
    d_in = {int(t) for d in dels for t in d["inputs"]}
    d_out = {int(t) for d in dels for t in d["outputs"]}
    producer = {int(t): o["index"] for o in own for t in o["outputs"]}
    out = set()
    for o in own:
        outs = {int(t) for t in o["outputs"]}
        ins = {int(t) for t in o["inputs"]}
        if outs & d_in or (outs & graph_outputs) - d_out or ins & d_out:
            out.add(o["index"])
    stack = list(out)
    while stack:  # producers feeding an op outside run outside too
        i = stack.pop()
        for t in ops[i]["inputs"]:
            t = int(t)
            p = producer.get(t)
            if p is not None and p not in out and t not in d_out and t not in graph_inputs:
                out.add(p)
                stack.append(p)
    return [ops[i]["op_name"] for i in sorted(out)]


def compare_int(y: np.ndarray, ref: np.ndarray) -> dict:
    """Max |difference| in quantization steps and whether the argmax agrees."""
    y = np.asarray(y).reshape(-1).astype(np.int64)
    ref = np.asarray(ref).reshape(-1).astype(np.int64)
    if y.size != ref.size:
        return {"error": f"{y.size} output values, reference has {ref.size}"}
    return {"max_lsb": int(np.abs(y - ref).max()), "argmax": int(y.argmax()),
            "ref_argmax": int(ref.argmax())}


def bench(tflite: str, x: np.ndarray, warmup: int, runs: int, pct, ref=None) -> dict:
    """Loads `tflite` with `Interpreter(model_path, num_threads=1)` (default op resolver: the
    XNNPACK delegate applied to the ops it supports) and times `invoke()` like the other engines.
    With `ref`, the first output is compared with it (the timing is then of a checked run)."""
    if Interpreter is None:
        return {"error": f"ai-edge-litert not importable ({IMPORT_ERROR})"}
    try:
        t0 = time.perf_counter()
        it = Interpreter(model_path=tflite, num_threads=1)
        it.allocate_tensors()
        load_ms = (time.perf_counter() - t0) * 1e3
        ind, outd = it.get_input_details(), it.get_output_details()
        if len(ind) != 1:
            return {"error": f"{os.path.basename(tflite)} has {len(ind)} inputs; one is supported"}
        xin = to_layout(x, ind[0]["shape"])
        if xin.dtype != ind[0]["dtype"]:
            return {"error": f"input dtype {xin.dtype}, the .tflite wants {ind[0]['dtype'].__name__}"}
        it.set_tensor(ind[0]["index"], xin)
        for _ in range(warmup):
            it.invoke()
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            it.invoke()
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        v = {
            "load_ms": load_ms,
            "median_ms": pct(times, 0.5),
            "p90_ms": pct(times, 0.9),
            "p99_ms": pct(times, 0.99),
            "runs": runs,
            "warmup": warmup,
            "input_layout": "as ONNX" if xin.shape == x.shape else
                            f"{list(x.shape)} -> {list(xin.shape)}",
        }
        y = it.get_tensor(outd[0]["index"])
        v["output"] = y.reshape(-1).tolist()  # a reference for the others when TFLM's is missing
        if ref is not None:
            v["check"] = compare_int(y, to_layout(ref, y.shape) if ref.ndim == y.ndim else ref)
        try:
            ops = it._get_ops_details()  # private, but the only view of the delegate partition
            v["ops"] = sum(o["op_name"] != "DELEGATE" for o in ops)
            v["delegates"] = sum(o["op_name"] == "DELEGATE" for o in ops)
            v["outside"] = outside_delegate(ops, {int(d["index"]) for d in ind},
                                            {int(d["index"]) for d in outd})
        except Exception as e:  # noqa: BLE001 - descriptive only
            v["outside_error"] = str(e)
        return v
    except Exception as e:  # noqa: BLE001 - recorded in the table
        s = " ".join(f"{type(e).__name__}: {e}".split())
        return {"error": s if len(s) <= 160 else s[:157] + "..."}
