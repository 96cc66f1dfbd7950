"""The int8 part of the peer benchmark: QDQ ONNX models next to their original `.tflite` (LiteRT),
output checks against TFLite Micro's reference outputs, and efficientnet_lite0 int8 (from
`mote quantize`) against Mote f32."""

import os
import subprocess
import time

import numpy as np
import onnx
from onnx import numpy_helper

import litert
from common import TIMEOUT_S, fmt_ms, fmt_p90, fmt_ratio, mark, ms, one_line, ratio, run_json

# name, .tflite under models/tflite, warmup, runs. The ONNX models were converted from these files
# (`tools/tflite_to_qdq_onnx.py`); person_detect and micro_speech come from tflite-micro,
# resnet8 and vww96 from MLPerf Tiny (their ONNX twins ship without a test set).
INT8_MODELS = [
    ("tflm_mobilenet_v2_int8", "mobilenet_v2_quantized_1x3x224x224.tflite", 10, 50),
    ("tflm_person_detect_int8", "person_detect.tflite", 10, 100),
    ("tflm_micro_speech_int8", "micro_speech_quantized.tflite", 10, 100),
    ("mlperf_tiny_resnet8_int8", "pretrainedResnet_quant.tflite", 10, 100),
    ("mlperf_tiny_vww96_int8", "vww_96_int8.tflite", 10, 100),
]
# Issue-4 targets.
TARGET_MNV2_ORT = 0.8
TARGET_MNV2_LITERT = 1.0
TARGET_EFFNET_SPEEDUP = 1.5
TARGET_EFFNET_SIZE = 0.27
# efficientnet_lite0 int8: calibration on random crops of the shared photos (the scanned text pages
# and the face stack are left out, as in scripts/quantize_effnet.sh), its meta.json preprocessing.
EFFNET = "efficientnet_lite0"
EFFNET_INT8 = "efficientnet_lite0_int8"
PHOTOS = ["camera", "chelsea", "coffee", "horse", "motorcycle_left", "rocket"]
IMAGE_SPEC = "crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw"
CALIB_CROPS = int(os.environ.get("BENCH_CALIB_CROPS", "16"))
CALIB_SEED = 1


def read_pb(path: str) -> np.ndarray:
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def ensure_inputs(out: str, name: str, model: str, input_dir: str):
    """The test set directory to use: the shared one, or (no test set shipped) one generated
    under out/ with a seeded uniform input over the input's integer range. Returns (dir, note)."""
    if os.path.isfile(os.path.join(input_dir, "input_0.pb")):
        return input_dir, None
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    d = os.path.join(out, "models", name, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(0)
    for k, i in enumerate(ins):
        dt = onnx.helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)
        shape = [x.dim_value for x in i.type.tensor_type.shape.dim]
        if np.issubdtype(dt, np.integer):
            lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
            a = rng.integers(lo, hi, size=shape, endpoint=True).astype(dt)
        else:
            a = rng.uniform(-1, 1, size=shape).astype(dt)
        with open(os.path.join(d, f"input_{k}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, i.name).SerializeToString())
    return d, ("no test set ships with this model: a seeded uniform random input, and no TFLM "
               "output to check against")


def reference(input_dir: str):
    """TFLite Micro's output for the test set (tflm_output_0.pb), if shipped."""
    p = os.path.join(input_dir, "tflm_output_0.pb")
    return read_pb(p) if os.path.isfile(p) else None


def mote_output(mote: str, model: str, input_dir: str, out_dir: str):
    """Output 0 of `mote run MODEL --input-dir DIR` (written as .npy), or an error string."""
    os.makedirs(out_dir, exist_ok=True)
    try:
        p = subprocess.run([mote, "run", model, "--input-dir", input_dir, "-o", out_dir],
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"mote run timed out after {TIMEOUT_S} s"
    f = os.path.join(out_dir, "output_0.npy")
    if p.returncode != 0 or not os.path.isfile(f):
        return "mote run: " + one_line(p.stderr or p.stdout or f"exit code {p.returncode}")
    return np.load(f)


def checks(cfg, case, mote_model: str, ort_session_output, litert_result: dict) -> dict:
    """Mote's and ORT's output on the test input against TFLM's (max |diff| in steps, argmax), or
    against LiteRT's when no TFLM output ships (`ref` says which)."""
    ref, by = reference(case.input_dir), "TFLM"
    if ref is None and "output" in litert_result:
        ref, by = np.asarray(litert_result["output"]), "LiteRT"
    if ref is None:
        return {}
    out = {"ref": by}
    y = mote_output(cfg.mote, mote_model, case.input_dir,
                    os.path.join(cfg.out, "outputs", case.name))
    out["mote"] = {"error": y} if isinstance(y, str) else litert.compare_int(y, ref)
    y = ort_session_output(case)
    out["ort"] = {"error": y} if isinstance(y, str) else litert.compare_int(y, ref)
    return out


# ---------------------------------------------------------------------------------------------
# efficientnet_lite0: int8 (mote quantize) vs f32


def can_quantize(mote: str) -> bool:
    return subprocess.run([mote, "quantize", "--help"], capture_output=True).returncode == 0


def quantize_effnet(cfg) -> dict:
    """`mote quantize` on efficientnet_lite0 (calibration crops of the shared photos) to
    out/bench/mote/efficientnet_lite0.int8.mote; returns the command, time and errors."""
    model = os.path.join(cfg.data, "models", EFFNET, "model.onnx")
    images = os.path.join(cfg.data, "datasets", "images")
    photos = [os.path.join(images, f"{p}.npy") for p in PHOTOS]
    missing = [p for p in photos if not os.path.isfile(p)]
    if missing:
        return {"error": f"calibration photos missing: {', '.join(missing)}"}
    dst = os.path.join(cfg.out, "mote", f"{EFFNET}.int8.mote")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    cmd = [cfg.mote, "quantize", model, "--calib", *photos, "--calib-crops", str(CALIB_CROPS),
           "--seed", str(CALIB_SEED), "--image-spec", IMAGE_SPEC, "-o", dst]
    shown = (f"mote quantize {EFFNET}/model.onnx --calib datasets/images/{{{','.join(PHOTOS)}}}.npy "
             f"--calib-crops {CALIB_CROPS} --seed {CALIB_SEED} --image-spec {IMAGE_SPEC} "
             f"-o out/bench/mote/{EFFNET}.int8.mote")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=3 * TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"mote quantize timed out after {3 * TIMEOUT_S} s", "command": shown}
    v = {"command": shown, "seconds": time.perf_counter() - t0, "model": dst}
    if p.returncode not in (0, 3) or not os.path.isfile(dst):
        v["error"] = "mote quantize: " + one_line(p.stderr or p.stdout)
    return v


def top1s(cfg, f32_model: str, int8_model: str) -> list:
    """Top-1 of the f32 and the int8 .mote on each single-image test set of efficientnet_lite0."""
    rows = []
    d = os.path.join(cfg.data, "models", EFFNET)
    for k in range(4):
        td = os.path.join(d, f"test_data_set_{k}")
        if not os.path.isdir(td):
            continue
        row = {"set": k}
        for tag, m in (("f32", f32_model), ("int8", int8_model)):
            y = mote_output(cfg.mote, m, td, os.path.join(cfg.out, "outputs", f"{EFFNET}_{tag}_{k}"))
            row[tag] = y if isinstance(y, str) else int(np.asarray(y).reshape(-1).argmax())
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Report


def fmt_check(c) -> str:
    if not c:
        return "-"
    if "error" in c:
        return "error"
    top = "same top-1" if c["argmax"] == c["ref_argmax"] else f"top-1 {c['argmax']} vs {c['ref_argmax']}"
    return f"{c['max_lsb']} LSB, {top}"


def write_section(w, cases, results, compiled: bool) -> None:
    """The int8 tables: latency (with LiteRT), load, and the output checks."""
    if not cases:
        return
    mname = "Mote" if compiled else "Mote (ref. interp.)"
    w("## int8 models (QDQ ONNX; LiteRT on the original `.tflite`)")
    w("")
    w("Mote, onnxruntime and tract run the QDQ `.onnx`; LiteRT runs the `.tflite` it was converted "
      "from (same weights, scales and zero points; TFLite's own layout). Ratios < 1: Mote is faster. "
      "The issue's reference numbers for MobileNetV2 (ORT 34.2 ms, LiteRT 12.4 ms, "
      "`../shared/design/ANCHORS.md`) were measured on a Zen 3 without AVX-512; the targets below "
      "use this run's numbers.")
    w("")
    w(f"| model | {mname} median | {mname} p90 | ORT median | ORT p90 | tract median | LiteRT median "
      "| LiteRT p90 | Mote/ORT | Mote/LiteRT | Mote/tract | runs (warmup) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        r = results[c.name]
        m, o, t, lr = r["mote"], r["ort"], r["tract"], r["litert"]
        w(f"| {c.name} | {fmt_ms(m)} | {fmt_p90(m)} | {fmt_ms(o)} | {fmt_p90(o)} | {fmt_ms(t)} | "
          f"{fmt_ms(lr)} | {fmt_p90(lr)} | {fmt_ratio(ratio(m, o))} | {fmt_ratio(ratio(m, lr))} | "
          f"{fmt_ratio(ratio(m, t))} | {c.runs} ({c.warmup}) |")
    errs = [(c.name, e, results[c.name][e]["error"]) for c in cases
            for e in ("mote", "ort", "tract", "litert") if "error" in results[c.name][e]]
    if errs:
        w("")
        w("Errors:")
        w("")
        for name, eng, msg in errs:
            w(f"- {name}, {eng}: `{msg}`")
    isas = sorted({results[c.name]["mote"].get("isa") for c in cases} - {None})
    q8s = sorted({results[c.name]["mote"].get("int8_kernels") for c in cases} - {None})
    if isas:
        w("")
        w(f"Mote's kernel set: `isa` of `mote bench --json` {', '.join(isas)} (the f32 kernels); "
          + (f"int8 kernels (`int8_kernels`) {', '.join(q8s)}." if q8s else
             "the int8 path is dispatched separately at run time and not reported by `mote bench "
             "--json` (on an AVX-512 VNNI CPU such as this one `mote-kernels` picks its VNNI "
             "path)."))
    w("")
    w("| model | Mote load | ORT load | tract load | LiteRT load |")
    w("|---|---:|---:|---:|---:|")
    for c in cases:
        r = results[c.name]
        cells = ["error" if "error" in r[e] else f"{r[e]['load_ms']:.2f}"
                 for e in ("mote", "ort", "tract", "litert")]
        w(f"| {c.name} | " + " | ".join(cells) + " |")
    w("")
    w("LiteRT load: `Interpreter(...)` + `allocate_tensors()` (the XNNPACK delegate is applied "
      "there).")
    w("")
    w("### Outputs on the test input, against TFLite Micro (`tflm_output_0.pb`)")
    w("")
    w("Max |difference| in quantization steps (LSB) of the int8 output and whether the top-1 "
      "agrees. LiteRT's is the output of its timed run; Mote's from `mote run` on the compiled "
      "`.mote`; ORT's from one `run` of a session like the timed one. Where no TFLM output ships "
      "(column `reference`), Mote and ORT are compared with LiteRT's output instead.")
    w("")
    w("| model | `.tflite` | reference | LiteRT vs TFLM | Mote vs reference | ORT vs reference "
      "| LiteRT input | ops outside XNNPACK |")
    w("|---|---|---|---|---|---|---|---|")
    for c in cases:
        r = results[c.name]
        lr, chk = r["litert"], r.get("checks", {})
        outside = "-"
        if "error" not in lr and "outside" in lr:
            o = lr["outside"]
            outside = (f"none of {lr['ops']}" if not o else
                       f"{len(o)} of {lr['ops']}: {', '.join(sorted(set(o)))}")
        w(f"| {c.name} | {os.path.basename(c.tflite)} | {chk.get('ref', '-')} | "
          f"{fmt_check(lr.get('check'))} | "
          f"{fmt_check(chk.get('mote'))} | {fmt_check(chk.get('ort'))} | "
          f"{lr.get('input_layout', '-')} | {outside} |")
    notes = [(c.name, c.input_note) for c in cases if c.input_note]
    cerrs = [(c.name, e, v["error"]) for c in cases
             for e, v in results[c.name].get("checks", {}).items()
             if isinstance(v, dict) and "error" in v]
    if notes or cerrs:
        w("")
    for name, n in notes:
        w(f"- {name}: {n}.")
    for name, e, msg in cerrs:
        w(f"- {name}, {e} output: `{msg}`")
    w("")


def write_effnet(w, q) -> None:
    """The efficientnet_lite0 int8 vs f32 line."""
    w("## int8 vs f32: efficientnet_lite0 (`mote quantize`)")
    w("")
    if q is None:
        w("Not in this run (`BENCH_ONLY` without `efficientnet_lite0_int8`).")
        w("")
        return
    if q.get("skipped"):
        w(f"Skipped: {q['skipped']}.")
        w("")
        return
    if "command" in q:
        w("The int8 model, made in this run "
          + (f"({q['seconds']:.0f} s)" if "seconds" in q else "") + ":")
        w("")
        w("```sh")
        w(q["command"])
        w("```")
        w("")
    if "error" in q:
        w(f"Error: `{q['error']}`")
        w("")
        return
    f, i = q["f32"], q["int8"]
    w("Both `.mote` files timed by `mote bench --threads 1` on `test_data_set_0`, interleaved in "
      "rounds as above.")
    w("")
    w("| model | median | p90 | file bytes | speed-up over f32 | size / f32 |")
    w("|---|---:|---:|---:|---:|---:|")
    for tag, v in (("f32", f), ("int8", i)):
        sp = ratio(f, v)
        size = (v["file_bytes"] / f["file_bytes"] if "error" not in v and "error" not in f
                and f.get("file_bytes") else None)
        w(f"| {EFFNET} {tag} | {fmt_ms(v)} | {fmt_p90(v)} | "
          f"{v.get('file_bytes', 0):,} | {'-' if sp is None else f'{sp:.2f}x'} | "
          f"{'-' if size is None else f'{size:.1%}'} |")
    for tag, v in (("f32", f), ("int8", i)):
        if "error" in v:
            w(f"- {tag}: `{v['error']}`")
    if q.get("top1"):
        w("")
        w("Top-1 on the test sets (f32 / int8): " + ", ".join(
            f"set {r['set']}: {r['f32']} / {r['int8']}" for r in q["top1"]) + ".")
    w("")


def write_targets(w, results, q, compiled: bool) -> None:
    """The issue-4 benchmark targets."""
    w("## Issue-4 targets (int8)")
    w("")
    w("| target | measured | status |")
    w("|---|---|---|")
    r = results.get("tflm_mobilenet_v2_int8")
    for peer, label, lim in (("ort", "onnxruntime int8 (QDQ)", TARGET_MNV2_ORT),
                             ("litert", "LiteRT-XNNPACK (.tflite)", TARGET_MNV2_LITERT)):
        x = ratio(r["mote"], r[peer]) if r else None
        ok = None if (x is None or not compiled) else x <= lim
        meas = "-" if x is None else (f"{fmt_ratio(x)} ({ms(r['mote']['median_ms'])} vs "
                                      f"{ms(r[peer]['median_ms'])} ms)")
        w(f"| MobileNetV2 int8 224 <= {lim:.1f}x {label} | {meas} | {mark(ok)} |")
    f, i = (q or {}).get("f32"), (q or {}).get("int8")
    sp = ratio(f, i) if f and i else None
    w(f"| efficientnet_lite0 int8 >= {TARGET_EFFNET_SPEEDUP}x faster than Mote f32 | "
      f"{'-' if sp is None else f'{sp:.2f}x'} | {mark(None if sp is None else sp >= TARGET_EFFNET_SPEEDUP)} |")
    size = (i["file_bytes"] / f["file_bytes"] if sp is not None and f.get("file_bytes")
            and i.get("file_bytes") else None)
    w(f"| efficientnet_lite0 int8 `.mote` <= {TARGET_EFFNET_SIZE:.0%} of f32 | "
      f"{'-' if size is None else f'{size:.1%}'} | "
      f"{mark(None if size is None else size <= TARGET_EFFNET_SIZE)} |")
    w("")


def mote_bench_json(mote: str, model: str, input_dir: str, warmup: int, runs: int) -> dict:
    return run_json([mote, "bench", model, "--runs", str(runs), "--warmup", str(warmup),
                     "--threads", "1", "--json", "--input-dir", input_dir])
