"""The `.tflite` files themselves: Mote compiles each one (`mote compile X.tflite`, the TFLite
importer) and LiteRT runs the same file, one thread, the same input, interleaved rounds."""

import os

import numpy as np
from onnx import numpy_helper

import litert
from common import fmt_ms, fmt_p90, fmt_ratio, log, mark, one_line, pct, ratio, run_json

# name, file under models/tflite, warmup, runs
MODELS = [
    ("kws_int8", "mlperf_tiny/kws_ref_model.tflite", 20, 300),
    ("kws_float", "mlperf_tiny/kws_ref_model_float32.tflite", 20, 300),
    ("vww_int8", "mlperf_tiny/vww_96_int8.tflite", 10, 100),
    ("vww_float", "mlperf_tiny/vww_96_float.tflite", 10, 100),
    ("ic_int8", "mlperf_tiny/pretrainedResnet_quant.tflite", 10, 200),
    ("ic_float", "mlperf_tiny/pretrainedResnet.tflite", 10, 200),
    ("ad_int8", "mlperf_tiny/ad01_int8.tflite", 50, 1000),
    ("ad_float", "mlperf_tiny/ad01_fp32.tflite", 50, 1000),
    ("person_detect_int8", "person_detect.tflite", 10, 100),
    ("mobilenet_v2_int8", "mobilenet_v2_quantized_1x3x224x224.tflite", 10, 50),
]
# Issue 5: MLPerf Tiny int8 at most 0.8x LiteRT-XNNPACK on the same file.
TARGET = 0.8
TARGET_MODELS = ["kws_int8", "vww_int8", "ic_int8", "ad_int8"]


def compile_alone(mote: str, tflite: str, out: str, why: str) -> dict:
    """The compiled `.mote` with the file's declared shapes, timed on `mote bench`'s generated
    input, when LiteRT cannot read the file (`why`)."""
    model = os.path.join(out, "model.mote")
    os.makedirs(out, exist_ok=True)
    r = run_json([mote, "compile", tflite, "-o", model, "--json"])
    if "error" in r:
        return {"error": "mote compile: " + r["error"]}
    return {"model": model, "input_dir": None, "litert_error": why}


def prepare(mote: str, tflite: str, out: str) -> dict:
    """A seeded input in the file's own shape and type (input_0.pb for Mote, the array for
    LiteRT), and the compiled `.mote`; {"error": ...} when either fails."""
    if litert.Interpreter is None:
        return compile_alone(mote, tflite, out, f"ai-edge-litert not importable ({litert.IMPORT_ERROR})")
    try:
        it = litert.Interpreter(model_path=tflite, num_threads=1)
        ind = it.get_input_details()
    except Exception as e:  # noqa: BLE001 - recorded in the table
        return compile_alone(mote, tflite, out, one_line(f"LiteRT: {e}"))
    if len(ind) != 1:
        return {"error": f"{len(ind)} inputs; one is supported"}
    shape, dtype, name = [int(d) for d in ind[0]["shape"]], ind[0]["dtype"], ind[0]["name"]
    rng = np.random.default_rng(1)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    else:
        x = rng.uniform(-1, 1, size=shape).astype(dtype)
    d = os.path.join(out, "inputs")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x).SerializeToString())
    model = os.path.join(out, "model.mote")
    dims = ",".join(str(v) for v in shape)
    r = run_json([mote, "compile", tflite, "-o", model, "--shape", f"{name}={dims}", "--json"])
    if "error" in r:
        return {"error": "mote compile: " + r["error"], "x": x}
    return {"x": x, "input_dir": d, "model": model}


def bench(cfg, rounds: int, combine) -> dict:
    """Every model of MODELS: {name: {"mote": ..., "litert": ..., "file": ...}}."""
    results = {}
    for name, rel, warmup, runs in MODELS:
        tflite = os.path.join(cfg.data, "models", "tflite", rel)
        r = {"file": rel}
        if not os.path.isfile(tflite):
            r["mote"] = r["litert"] = {"error": f"{rel} not found"}
            results[name] = r
            continue
        p = prepare(cfg.mote, tflite, os.path.join(cfg.out, "tflite", name))
        per = {"mote": [], "litert": []}
        for k in range(rounds):
            log(f"{name} (.tflite): round {k + 1}/{rounds}")
            if "model" in p:
                inputs = ["--input-dir", p["input_dir"]] if p["input_dir"] else []
                per["mote"].append(run_json([cfg.mote, "bench", p["model"], "--runs", str(runs), "--warmup",
                                             str(warmup), "--threads", "1", "--json"] + inputs))
            if "x" in p:
                per["litert"].append(litert.bench(tflite, p["x"], warmup, runs, pct))
        for e in per:
            why = p.get("litert_error") if e == "litert" else None
            r[e] = combine(per[e]) if per[e] and all("error" not in v for v in per[e]) else (
                next((v for v in per[e] if "error" in v), None) or {"error": why or p.get("error", "not run")})
            if "error" in r[e]:  # the file as the table names it, not this machine's path
                r[e]["error"] = r[e]["error"].replace(tflite, rel)
            v = r[e]
            log(f"  {e:6} " + (f"error: {v['error']}" if "error" in v else f"median {v['median_ms']:.3f} ms"))
        results[name] = r
    return results


def write_section(w, results) -> None:
    w("## `.tflite` files: Mote (TFLite importer) vs LiteRT")
    w("")
    w("Mote compiles each `.tflite` with its TFLite importer (`mote compile X.tflite`, "
      "docs/TFLITE.md) and `mote bench --threads 1` times it; LiteRT (XNNPACK, one thread, as "
      "above) runs the same file. Both read one seeded input in the file's own shape and type "
      "(where LiteRT cannot read the file, Mote runs on `mote bench`'s generated input). "
      "Ratios < 1: Mote is faster. The issue's LiteRT numbers (KWS 0.168, VWW 0.311, IC 0.422, "
      "AD 0.013 ms) came from another machine; the targets use this run's.")
    w("")
    w("| model | `.tflite` | Mote median | Mote p90 | LiteRT median | LiteRT p90 | Mote/LiteRT |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        m, lt = r["mote"], r["litert"]
        w(f"| {name} | {r['file']} | {fmt_ms(m)} | {fmt_p90(m)} | {fmt_ms(lt)} | {fmt_p90(lt)} | "
          f"{fmt_ratio(ratio(m, lt))} |")
    errors = [(n, e, r[e]["error"]) for n, r in results.items() for e in ("mote", "litert") if "error" in r[e]]
    if errors:
        w("")
        w("Errors:")
        w("")
        for n, e, msg in errors:
            w(f"- {n}, {e}: `{msg}`")
    w("")


def write_targets(w, results) -> None:
    for name in TARGET_MODELS:
        r = results.get(name)
        x = None if r is None else ratio(r["mote"], r["litert"])
        w(f"| MLPerf Tiny {name} <= {TARGET}x LiteRT-XNNPACK (same `.tflite`) | {fmt_ratio(x)} | "
          f"{mark(None if x is None else x <= TARGET)} |")
