"""Peer benchmark driver: times Mote, onnxruntime and tract on the same models and inputs, and
LiteRT on the `.tflite` originals of the int8 models, single thread, and writes docs/BENCHMARKS.md. Run through bench/compare/run.sh, which sets up the
venv and builds the binaries; this script expects them (paths in the environment, see `Config`).
"""

import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

import int8
import litert
import tflite_direct
from common import (TIMEOUT_S, fmt_ms, fmt_p90, fmt_ratio, log, mark, ms, one_line, pct, ratio,
                    run_json)

# ---------------------------------------------------------------------------------------------
# What is measured


@dataclass
class Case:
    """One benchmark model: where it is, its inputs, and how many runs each engine does."""

    name: str
    model: str
    input_dir: str
    warmup: int
    runs: int
    # Runs for Mote when it can only use the reference interpreter (slow, correctness oracle).
    ref_warmup: int = 1
    ref_runs: int = 3
    # Extra `mote compile` arguments (used only if `mote compile --help` lists the option).
    consts: dict = field(default_factory=dict)
    gemm_n: int = 0
    # int8 models: the original .tflite (timed in LiteRT) and a note on the input.
    tflite: str = None
    input_note: str = None


REAL_MODELS = [
    # name, warmup, runs, reference-interpreter warmup/runs, constants for `mote compile`
    ("efficientnet_lite0", 10, 50, 2, 10, {}),
    ("ppocrv4_det", 10, 50, 2, 10, {}),
    ("ppocr_mobile_v2_cls", 10, 100, 5, 50, {}),
    ("silero_vad", 10, 100, 10, 100, {"sr": "16000"}),
    ("tflm_hello_world_float", 10, 100, 10, 100, {}),
]
GEMM_SIZES = [
    # n, warmup, runs, reference-interpreter warmup/runs
    (64, 10, 100, 10, 100),
    (128, 10, 100, 10, 100),
    (256, 10, 100, 5, 30),
    (512, 10, 50, 3, 20),
    (1024, 5, 20, 1, 5),
]
# Issue-3 targets.
TARGET_RATIO = 1.0
TARGET_GEOMEAN = 0.9
TARGET_GEOMEAN_MODELS = ["efficientnet_lite0", "ppocrv4_det", "ppocr_mobile_v2_cls"]
TARGET_GEMM_PEAK = 0.75
TARGET_LOAD_MS = 5.0
TARGET_ARENA_RATIO = 1.2
# f32 FMA peak of one core: 2 FMA units x 8 lanes (AVX2) x 2 flops.
FLOPS_PER_CYCLE = 2 * 8 * 2
# Rounds per case (engines interleaved); the reported numbers are medians over rounds.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


@dataclass
class Config:
    repo: str
    out: str
    mote: str
    tract: str
    clock_probe: str
    data: str

    @staticmethod
    def from_env() -> "Config":
        repo = os.environ["MOTE_REPO"]
        return Config(
            repo=repo,
            out=os.environ["BENCH_OUT"],
            mote=os.environ["MOTE_BIN"],
            tract=os.environ["TRACT_BENCH_BIN"],
            clock_probe=os.environ["CLOCK_PROBE_BIN"],
            data=os.environ.get("MOTE_DATA", os.path.join(repo, "..", "shared", "data")),
        )


def read_inputs(case: Case, model: onnx.ModelProto):
    """The test set's inputs by input name (input_<i>.pb in the order of the graph's inputs)."""
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    feeds = {}
    for i, name in enumerate(names):
        t = onnx.TensorProto()
        with open(os.path.join(case.input_dir, f"input_{i}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        feeds[name] = numpy_helper.to_array(t)
    return feeds


# ---------------------------------------------------------------------------------------------
# Engines


def bench_ort(case: Case) -> dict:
    """onnxruntime: 1 intra-op thread, sequential execution, default graph optimizations."""
    try:
        model = onnx.load(case.model)
        feeds = read_inputs(case, model)
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        t0 = time.perf_counter()
        sess = ort.InferenceSession(case.model, so, providers=["CPUExecutionProvider"])
        load_ms = (time.perf_counter() - t0) * 1e3
        for _ in range(case.warmup):
            sess.run(None, feeds)
        times = []
        for _ in range(case.runs):
            t = time.perf_counter()
            sess.run(None, feeds)
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        return {
            "load_ms": load_ms,
            "median_ms": pct(times, 0.5),
            "p90_ms": pct(times, 0.9),
            "p99_ms": pct(times, 0.99),
            "runs": case.runs,
            "warmup": case.warmup,
        }
    except Exception as e:  # noqa: BLE001 - recorded in the table
        return {"error": one_line(f"{type(e).__name__}: {e}")}


def ort_output(case: Case):
    """Output 0 of one onnxruntime run (session as in `bench_ort`), or an error string."""
    try:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(case.model, so, providers=["CPUExecutionProvider"])
        return sess.run(None, read_inputs(case, onnx.load(case.model)))[0]
    except Exception as e:  # noqa: BLE001 - recorded in the report
        return one_line(f"{type(e).__name__}: {e}")


def bench_litert(case: Case) -> dict:
    """LiteRT on the case's .tflite with the ONNX test input (laid out as the .tflite wants)."""
    try:
        feeds = read_inputs(case, onnx.load(case.model, load_external_data=False))
    except Exception as e:  # noqa: BLE001
        return {"error": one_line(f"{type(e).__name__}: {e}")}
    if len(feeds) != 1:
        return {"error": f"{len(feeds)} inputs; the LiteRT harness feeds one"}
    x = next(iter(feeds.values()))
    return litert.bench(case.tflite, x, case.warmup, case.runs, pct, int8.reference(case.input_dir))


def bench_tract(cfg: Config, case: Case) -> dict:
    cmd = [cfg.tract, case.model, "--input-dir", case.input_dir, "--warmup", str(case.warmup),
           "--runs", str(case.runs)]
    if case.consts:
        # The inputs Mote compiles as constants are fixed at load time in tract too.
        model = onnx.load(case.model, load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in inits]
        for k in case.consts:
            if k in names:
                cmd += ["--const-input", str(names.index(k))]
    return run_json(cmd)


@dataclass
class MoteCli:
    """What the `mote` binary offers (probed from its --help, so the script keeps working as the
    compiler and the runtime land)."""

    bin: str
    can_compile: bool
    compile_help: str
    bench_help: str

    @staticmethod
    def probe(path: str) -> "MoteCli":
        c = subprocess.run([path, "compile", "--help"], capture_output=True, text=True)
        b = subprocess.run([path, "bench", "--help"], capture_output=True, text=True)
        return MoteCli(path, c.returncode == 0, c.stdout, b.stdout)

    def compile_accepts(self, opt: str) -> bool:
        return re.search(rf"(^|\s){re.escape(opt)}[\s=,]", self.compile_help) is not None

    def bench_accepts(self, opt: str) -> bool:
        return re.search(rf"(^|\s){re.escape(opt)}[\s=,]", self.bench_help) is not None


@dataclass
class MotePlan:
    """How Mote runs a case: the model file given to `mote bench`, run counts, and notes."""

    model: str
    warmup: int
    runs: int
    path: str
    compile_s: float = None
    notes: list = field(default_factory=list)
    error: str = None


def prepare_mote(cfg: Config, cli: MoteCli, case: Case) -> MotePlan:
    """Compiles to .mote when `mote compile` exists (same run counts as the peers), else plans the
    .onnx on the reference interpreter (with the reduced run counts of the case)."""
    if not cli.can_compile:
        return MotePlan(case.model, case.ref_warmup, case.ref_runs, "reference-interpreter")
    plan = MotePlan(os.path.join(cfg.out, "mote", f"{case.name}.mote"), case.warmup, case.runs,
                    "compiled")
    os.makedirs(os.path.dirname(plan.model), exist_ok=True)
    cmd = [cli.bin, "compile", case.model, "-o", plan.model]
    if cli.compile_accepts("--shape"):
        # Static shapes from the test set's inputs (inputs compiled as constants excluded).
        feeds = read_inputs(case, onnx.load(case.model, load_external_data=False))
        for name, a in feeds.items():
            if name not in (case.consts or {}) and a.ndim > 0:
                cmd += ["--shape", f"{name}={','.join(str(d) for d in a.shape)}"]
    if case.consts:
        if cli.compile_accepts("--const"):
            for k, v in case.consts.items():
                cmd += ["--const", f"{k}={v}"]
        else:
            plan.notes.append("compile has no --const; compiled without constants")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        if p.returncode != 0:
            plan.error = "compile: " + one_line(p.stderr or p.stdout)
    except subprocess.TimeoutExpired:
        plan.error = f"compile: timed out after {TIMEOUT_S} s"
    plan.compile_s = time.perf_counter() - t0
    return plan


def bench_mote(cli: MoteCli, case: Case, plan: MotePlan) -> dict:
    """`mote bench` on the planned model with the case's inputs (test set)."""
    if plan.error:
        return {"error": plan.error, "path": plan.path}
    base = [cli.bin, "bench", plan.model, "--runs", str(plan.runs), "--warmup", str(plan.warmup),
            "--threads", "1", "--json"]
    if cli.bench_accepts("--input-dir"):
        v = run_json(base + ["--input-dir", case.input_dir])
        if "error" in v and plan.path == "compiled":
            # A compiled model may have fewer runtime inputs (constants folded): generated inputs.
            note = f"--input-dir failed ({v['error']}); generated inputs"
            if note not in plan.notes:
                plan.notes.append(note)
            v = run_json(base)
    else:
        v = run_json(base)
        if "generated inputs (bench has no --input-dir)" not in plan.notes:
            plan.notes.append("generated inputs (bench has no --input-dir)")
    v["path"] = plan.path
    v["compile_s"] = plan.compile_s
    if plan.notes:
        v["notes"] = plan.notes
    return v


def combine_rounds(rounds: list) -> dict:
    """One result from several rounds: median of the per-round medians, p90s, p99s and load times;
    the first error if any round failed."""
    for v in rounds:
        if "error" in v:
            return v
    out = dict(rounds[-1])
    for k in ("median_ms", "p90_ms", "p99_ms", "load_ms"):
        if all(k in v for v in rounds):
            out[k] = float(np.median([v[k] for v in rounds]))
    out["rounds"] = len(rounds)
    out["round_medians_ms"] = [v["median_ms"] for v in rounds]
    return out


def peak_live_bytes(cfg: Config, case: Case, feeds) -> dict:
    """Peak live activation bytes of the .onnx for the benchmark's input shapes (`mote inspect`)."""
    cmd = [cfg.mote, "inspect", case.model, "--json"]
    for name, a in feeds.items():
        if a.ndim > 0:
            cmd += ["--shape", f"{name}={','.join(str(d) for d in a.shape)}"]
    v = run_json(cmd, timeout=120)
    return {k: v.get(k) for k in ("activation_peak_bytes", "macs", "weight_bytes", "error") if k in v}


# ---------------------------------------------------------------------------------------------
# Machine


def sh(cmd) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine(cfg: Config) -> dict:
    lscpu = sh(["lscpu"])
    info = {}
    for line in lscpu.splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    flags = info.get("Flags", "").split()
    mhz = ""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"cpu MHz\s*:\s*([\d.]+)", f.read())
            mhz = m.group(1) if m else ""
    except OSError:
        pass
    clock = run_json([cfg.clock_probe], timeout=120)
    return {
        "model_name": info.get("Model name", "?"),
        "vendor": info.get("Vendor ID", "?"),
        "family_model": f"family {info.get('CPU family', '?')} model {info.get('Model', '?')}",
        "cpus": info.get("CPU(s)", "?"),
        "hypervisor": info.get("Hypervisor vendor", ""),
        "caches": ", ".join(f"{k} {info[k]}" for k in ("L1d cache", "L2 cache", "L3 cache") if k in info),
        "flags": [f for f in ("avx", "avx2", "fma", "f16c", "avx512f") if f in flags],
        "cpuinfo_mhz": mhz,
        "clock": clock,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rustc": sh(["rustc", "--version"]),
    }


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------------------------------------
# Report


def write_report(cfg, mach, versions, cli, results, started, finished, load_before, load_after,
                 command, quant=None, tflite=None) -> str:
    compiled = cli.can_compile
    ghz = mach["clock"].get("clock_ghz") if "error" not in mach["clock"] else None
    try:
        stated_ghz = float(mach["cpuinfo_mhz"]) / 1e3
    except ValueError:
        stated_ghz = None
    peak_ghz = ghz or stated_ghz
    peak_gflops = FLOPS_PER_CYCLE * peak_ghz if peak_ghz else None
    mote_path = ("compiled `.mote` (`mote compile` + `mote bench --threads 1`)" if compiled else
                 "**reference interpreter** on the `.onnx` (`mote compile` does not exist yet on this "
                 "branch): Mote's numbers are the correctness oracle's, not the fast runtime's, and use "
                 "fewer runs (column `runs`)")
    L = []
    w = L.append
    w("# Benchmarks: Mote vs onnxruntime vs tract vs LiteRT")
    w("")
    w("Produced by one command, from the repository root:")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w("It creates a venv under `out/bench/venv` (onnxruntime, ai-edge-litert, numpy, onnx from PyPI, "
      "pinned), builds "
      "the tract harness (`bench/compare`, its own Cargo workspace, crate `tract-onnx` pinned) and "
      "`mote` (release), generates the single-MatMul models (`bench/compare/gen_matmul.py`), times "
      "every engine on the same inputs (the models' `test_data_set_0`), one thread, and rewrites this "
      "file. Raw results: `out/bench/results.json`. Environment knobs: `MOTE_DATA` (shared data "
      "directory, default `../shared/data`), `BENCH_ONLY=name,name` (a subset, written to "
      "`out/bench/BENCHMARKS.partial.md` instead of this file), `BENCH_ROUNDS=N` (default 3), `BENCH_CALIB_CROPS=N` (calibration crops for "
      "efficientnet_lite0 int8, default 16), `CARGO_OFFLINE=1`.")
    w("")
    w(f"Method: each engine loads the model (timed as load), runs `warmup` untimed runs, then `runs` "
      f"timed runs of one inference; this is repeated in {ROUNDS} rounds per model with the engines "
      "interleaved (ORT, tract, Mote, LiteRT, ORT, ...), and the tables give the median over rounds of "
      "each round's median and p90 (nearest rank), in milliseconds. onnxruntime: `intra_op_num_threads=1`, `inter_op_num_threads=1`, "
      "`ORT_SEQUENTIAL`, default graph optimizations (`ORT_ENABLE_ALL`), timed around "
      "`InferenceSession.run` from Python (the Python/binding overhead, a few microseconds per run, "
      "is most of tflm_hello_world_float's time and negligible elsewhere). tract: `model_for_path` -> concrete input facts -> "
      "`into_optimized()` -> `into_runnable()`, one `SimpleState` reused, default single-thread "
      "executor, timed in Rust. LiteRT (int8 models only, on the original `.tflite`): "
      "`ai_edge_litert.interpreter.Interpreter(model_path, num_threads=1)` with the default op "
      "resolver, which applies the XNNPACK delegate to every op it supports (float and int8; the "
      "int8 table lists the ops left to LiteRT's builtin kernels), `allocate_tensors()`, input set "
      "once, timed around `invoke()` from Python. Mote: " + mote_path + ".")
    w("")
    w(f"Run: {started:%Y-%m-%d %H:%M} - {finished:%H:%M} UTC. Load average (1/5/15 min) before: "
      f"{load_before}, after: {load_after} on {mach['cpus']} CPUs"
      + (" - **the machine was shared and loaded** (other engineers compiling); expect noise, "
         "p90 shows it." if max(float(x) for x in load_before.split() + load_after.split()) > 1.0
         else "."))
    w("")
    w("## Machine and versions")
    w("")
    w(f"- CPU: {mach['vendor']} {mach['model_name']} ({mach['family_model']}), {mach['cpus']} cores"
      + (f", {mach['hypervisor']} guest" if mach["hypervisor"] else "") + f"; {mach['caches']}")
    w(f"- Relevant flags: {', '.join(mach['flags'])} (the project targets AVX2+FMA)")
    if ghz:
        c = mach["clock"]
        w(f"- Clock: {ghz:.2f} GHz measured by `clock-probe` (chain of dependent f64 adds, 3-cycle "
          f"latency on Zen 3/4; fastest of {c.get('trials', '?')} ~2 ms trials, median "
          f"{c.get('median_ghz', 0):.2f} GHz); /proc/cpuinfo states {mach['cpuinfo_mhz']} MHz "
          "(TSC; the VM has no cpufreq or cycle counter)")
    else:
        w(f"- Clock: stated {mach['cpuinfo_mhz']} MHz (/proc/cpuinfo); clock-probe failed: "
          f"{mach['clock'].get('error')}")
    if peak_gflops:
        w(f"- FMA peak of one core: 2 FMA x 8 lanes x 2 flops x {peak_ghz:.2f} GHz = "
          f"**{peak_gflops:.1f} GFLOP/s**")
    w(f"- Kernel {mach['kernel']}, {mach['rustc']}, Python {mach['python']}")
    w(f"- Engines: onnxruntime {versions['onnxruntime']} (PyPI, CPUExecutionProvider), "
      f"tract-onnx {versions['tract']} (crates.io), LiteRT {versions.get('litert', '?')} "
      f"(PyPI ai-edge-litert, XNNPACK delegate), Mote {versions['mote']} "
      f"(`{versions['mote_commit']}`); numpy {versions['numpy']}, onnx {versions['onnx']}")
    w("")

    mname = "Mote" if compiled else "Mote (ref. interp.)"

    def table(cases):
        w(f"| model | {mname} median | {mname} p90 | ORT median | ORT p90 | tract median | tract p90 "
          "| Mote/ORT | Mote/tract | runs (warmup) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in cases:
            r = results[c.name]
            m, o, t = r["mote"], r["ort"], r["tract"]
            mr = f"{m.get('runs', '?')} ({m.get('warmup', '?')})" if "error" not in m else "-"
            runs = f"{c.runs} ({c.warmup})" + ("" if compiled else f"; Mote {mr}")
            w(f"| {c.name} | {fmt_ms(m)} | {fmt_p90(m)} | {fmt_ms(o)} | {fmt_p90(o)} | {fmt_ms(t)} | "
              f"{fmt_p90(t)} | {fmt_ratio(ratio(m, o))} | {fmt_ratio(ratio(m, t))} | {runs} |")
        errs = [(c.name, e, r[e]["error"]) for c in cases for r in [results[c.name]]
                for e in ("mote", "ort", "tract") if "error" in r[e]]
        if errs:
            w("")
            w("Errors:")
            w("")
            for name, eng, msg in errs:
                c = next(c for c in cases if c.name == name)
                extra = ""
                if eng == "tract" and c.consts:
                    extra = f" (also with {', '.join(c.consts)} fixed at load, `--const-input`)"
                w(f"- {name}, {eng}: `{msg}`{extra}")

    reals = [c for c in results_cases(results) if not c.gemm_n and not c.tflite]
    int8s = [c for c in results_cases(results) if c.tflite]
    gemms = [c for c in results_cases(results) if c.gemm_n]
    w("## Models (latency in ms, lower is better; ratio < 1 means Mote is faster)")
    w("")
    table(reals)
    w("")
    w("Load time (ms): Mote `load_ms` of `mote bench`"
      + (" (.mote)" if compiled else " (.onnx import + shape inference + session, interpreter)")
      + "; ORT `InferenceSession(...)` construction; tract `model_for_path` to runnable plan.")
    w("")
    w("| model | Mote load | ORT load | tract load |")
    w("|---|---:|---:|---:|")
    for c in reals + gemms:
        r = results[c.name]
        cells = ["error" if "error" in r[e] else f"{r[e]['load_ms']:.2f}" for e in ("mote", "ort", "tract")]
        w(f"| {c.name} | " + " | ".join(cells) + " |")
    w("")
    w("silero_vad: one 512-sample chunk (input [1, 576] with 64 context samples, state [2, 1, 128], "
      "sr = 16000). tflm_hello_world_float: one [1, 1] input.")
    notes = [(c.name, n) for c in reals for n in results[c.name]["mote"].get("notes", [])]
    for name, n in notes:
        w(f"- Mote note, {name}: {n}")
    w("")
    w("## GEMM (single MatMul, Y[n,n] = X[n,n] @ W[n,n], W a constant initializer)")
    w("")
    table(gemms)
    w("")
    w("| n | GFLOP per run | Mote GFLOP/s | Mote % peak | ORT GFLOP/s | ORT % peak | tract GFLOP/s | "
      "tract % peak |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in gemms:
        gflop = 2 * c.gemm_n ** 3 / 1e9
        cells = []
        for e in ("mote", "ort", "tract"):
            v = results[c.name][e]
            if "error" in v:
                cells += ["error", "-"]
            else:
                gfs = gflop / (v["median_ms"] / 1e3)
                cells += [f"{gfs:.1f}", f"{100 * gfs / peak_gflops:.1f}%" if peak_gflops else "-"]
        w(f"| {c.gemm_n} | {gflop:.4f} | " + " | ".join(cells) + " |")
    w("")
    w(f"GFLOP/s = 2 n^3 / median; % peak against {peak_gflops:.1f} GFLOP/s (one core)." if peak_gflops
      else "No clock, no % of peak.")
    w("")
    w("onnxruntime (MLAS) and tract choose their kernels at run time and may use AVX-512 on this CPU; "
      "Zen 4 executes 512-bit FMAs on the same two 256-bit pipes, so the peak above holds for them "
      "too. W is a constant, so an engine can pack it once at load.")
    w("")

    int8.write_section(w, int8s, results, compiled)
    int8.write_effnet(w, quant)
    if tflite:
        tflite_direct.write_section(w, tflite)

    # Targets
    w("## Issue-3 targets")
    w("")
    w("| target | measured | status |")
    w("|---|---|---|")
    geo = []
    for name in TARGET_GEOMEAN_MODELS:
        r = results.get(name)
        q = ratio(r["mote"], r["ort"]) if r else None
        ok = None if (q is None or not compiled) else q <= TARGET_RATIO
        geo.append(q)
        measured = fmt_ratio(q) + ("" if compiled else " (reference interpreter, not the runtime)")
        w(f"| {name} f32 <= {TARGET_RATIO:.1f}x ORT | {measured} | {mark(ok)} |")
    if all(q is not None for q in geo):
        g = math.exp(sum(math.log(q) for q in geo) / len(geo))
        w(f"| geometric mean of the three <= {TARGET_GEOMEAN}x ORT | {g:.2f}x"
          f"{'' if compiled else ' (reference interpreter)'} | {mark(g <= TARGET_GEOMEAN if compiled else None)} |")
    else:
        w(f"| geometric mean of the three <= {TARGET_GEOMEAN}x ORT | - | {mark(None)} |")
    g512 = results.get("matmul_512", {}).get("mote", {"error": "missing"})
    if "error" not in g512 and peak_gflops:
        frac = 2 * 512 ** 3 / 1e9 / (g512["median_ms"] / 1e3) / peak_gflops
        w(f"| GEMM 512 >= {TARGET_GEMM_PEAK:.0%} of FMA peak | {frac:.1%} of {peak_gflops:.1f} GFLOP/s"
          f"{'' if compiled else ' (reference interpreter)'} | "
          f"{mark(frac >= TARGET_GEMM_PEAK if compiled else None)} |")
    else:
        w(f"| GEMM 512 >= {TARGET_GEMM_PEAK:.0%} of FMA peak | - | {mark(None)} |")
    e = results.get("efficientnet_lite0", {}).get("mote", {"error": "missing"})
    if compiled and "error" not in e:
        w(f"| load efficientnet_lite0.mote < {TARGET_LOAD_MS:.0f} ms | {e['load_ms']:.2f} ms "
          f"(file {e.get('file_bytes', 0) / 1e6:.1f} MB) | {mark(e['load_ms'] < TARGET_LOAD_MS)} |")
    else:
        extra = f" (.onnx import in the interpreter: {e['load_ms']:.1f} ms)" if "error" not in e else ""
        w(f"| load efficientnet_lite0.mote < {TARGET_LOAD_MS:.0f} ms | no .mote{extra} | {mark(None)} |")
    for c in reals:
        r = results[c.name]
        m, live = r["mote"], r.get("live", {}).get("activation_peak_bytes")
        arena = m.get("arena_bytes") if "error" not in m else None
        planned = m.get("peak_live_bytes") if "error" not in m else None
        if compiled and arena is not None and planned:
            # Against the compiled graph's peak live bytes (after fusion and in-place, scratch
            # included): the lower bound of any plan for the steps the runtime executes.
            q = arena / planned
            onnx_live = f"; the .onnx graph's, unfused: {live:,} B" if live else ""
            w(f"| {c.name}: peak arena <= {TARGET_ARENA_RATIO}x peak live activations | arena {arena:,} B, "
              f"peak live {planned:,} B ({q:.2f}x){onnx_live} | {mark(q <= TARGET_ARENA_RATIO)} |")
        else:
            why = f"live {live:,} B; no arena (interpreter allocates per value)" if live else "-"
            w(f"| {c.name}: peak arena <= {TARGET_ARENA_RATIO}x peak live activations | {why} | "
              f"{mark(None)} |")
    w("")
    w("Peak live bytes: the compiled plan's `peak_live_bytes` (`mote bench --json`: the largest sum of "
      "bytes live at any step of the compiled model, scratch included, each tensor from its first to "
      "its last use); the .onnx graph's, for comparison: `mote inspect MODEL.onnx --json` "
      "(`activation_peak_bytes`, before fusion and in-place reuse). The arena is 64-byte aligned per "
      "buffer, so tiny models pay alignment (tflm_hello_world_float: 3 buffers of a few bytes). Targets "
      "are benchmarks, not timed tests.")
    w("")
    int8.write_targets(w, results, quant, compiled)
    if tflite:
        w("## Issue-5 targets (`.tflite`)")
        w("")
        w("| target | measured | status |")
        w("|---|---|---|")
        tflite_direct.write_targets(w, tflite)
        w("")
    w("## Other measurements")
    w("")
    w("Not against a peer runtime in this run, each with the command that measures it:")
    w("sparse kernels (f32 and int8) against the dense ones in docs/TRAINING.md (\"Sparse kernels\";")
    w("`cargo bench -p mote-kernels --bench sparse` and `--bench int8_sparse`), tensor-aware deltas")
    w("against `zstd --patch-from` in docs/PACKAGES.md (`scripts/delta-bench.sh`), and the fleet")
    w("server's check-ins per second in docs/FLEET.md (`scripts/fleet-load.sh`).")
    w("")
    return "\n".join(L)


def results_cases(results):
    return [r["case"] for r in results.values()]


# ---------------------------------------------------------------------------------------------


def bench_effnet_int8(cfg: Config, cli: MoteCli, case: Case) -> dict:
    """efficientnet_lite0: `mote quantize` to int8, then the f32 and int8 `.mote` timed in
    interleaved rounds on the same input."""
    if not cli.can_compile or not int8.can_quantize(cfg.mote):
        log(f"{int8.EFFNET_INT8}: skipped, `mote quantize` is not available")
        return {"skipped": "`mote quantize --help` fails: `mote quantize` is not in this `mote` binary"}
    log(f"{int8.EFFNET_INT8}: mote quantize ({int8.CALIB_CROPS} calibration crops)")
    q = int8.quantize_effnet(cfg)
    if "error" in q:
        log(f"  error: {q['error']}")
        return q
    plan = prepare_mote(cfg, cli, case)
    if plan.error:
        return q | {"error": f"f32 {plan.error}"}
    f, i = [], []
    for k in range(ROUNDS):
        log(f"{int8.EFFNET_INT8}: round {k + 1}/{ROUNDS}")
        f.append(int8.mote_bench_json(cfg.mote, plan.model, case.input_dir, case.warmup, case.runs))
        i.append(int8.mote_bench_json(cfg.mote, q["model"], case.input_dir, case.warmup, case.runs))
    q["f32"], q["int8"] = combine_rounds(f), combine_rounds(i)
    q["top1"] = int8.top1s(cfg, plan.model, q["model"])
    for e in ("f32", "int8"):
        v = q[e]
        log(f"  {e:6} " + (f"error: {v['error']}" if "error" in v else
                           f"median {v['median_ms']:.3f} ms  p90 {v['p90_ms']:.3f} ms"))
    return q


def main() -> None:
    cfg = Config.from_env()
    command = os.environ.get("BENCH_COMMAND", "bench/compare/run.sh")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = loadavg()
    cli = MoteCli.probe(cfg.mote)
    log(f"mote: {'compile available: benching .mote' if cli.can_compile else 'no compile: reference interpreter on .onnx'}")

    cases = []
    models_dir = os.path.join(cfg.data, "models")
    for name, wu, runs, rwu, rruns, consts in REAL_MODELS:
        d = os.path.join(models_dir, name)
        cases.append(Case(name, os.path.join(d, "model.onnx"), os.path.join(d, "test_data_set_0"),
                          wu, runs, rwu, rruns, consts))
    for n, wu, runs, rwu, rruns in GEMM_SIZES:
        d = os.path.join(cfg.out, "models", f"matmul_{n}")
        cases.append(Case(f"matmul_{n}", os.path.join(d, "model.onnx"),
                          os.path.join(d, "test_data_set_0"), wu, runs, rwu, rruns, gemm_n=n))
    effnet_case = next(c for c in cases if c.name == int8.EFFNET)
    for name, tfl, wu, runs in int8.INT8_MODELS:
        d = os.path.join(models_dir, name)
        c = Case(name, os.path.join(d, "model.onnx"), os.path.join(d, "test_data_set_0"), wu, runs,
                 1, 3, tflite=os.path.join(models_dir, "tflite", tfl))
        if os.path.isfile(c.model):
            c.input_dir, c.input_note = int8.ensure_inputs(cfg.out, name, c.model, c.input_dir)
        cases.append(c)

    only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
    if only:
        cases = [c for c in cases if c.name in only]
    log("machine + clock probe")
    mach = machine(cfg)
    results = {}
    for c in cases:
        r = {"case": c}
        plan = prepare_mote(cfg, cli, c)
        per = {"ort": [], "tract": [], "mote": []} | ({"litert": []} if c.tflite else {})
        # Engines interleaved, in rounds, so that a change of machine load hits all of them.
        for k in range(ROUNDS):
            log(f"{c.name}: round {k + 1}/{ROUNDS}")
            per["ort"].append(bench_ort(c))
            per["tract"].append(bench_tract(cfg, c))
            per["mote"].append(bench_mote(cli, c, plan))
            if c.tflite:
                per["litert"].append(bench_litert(c))
        for e, rounds in per.items():
            r[e] = combine_rounds(rounds)
        if c.tflite:
            r["checks"] = (int8.checks(cfg, c, plan.model, ort_output, r["litert"])
                           if not plan.error else {})
        elif not c.gemm_n:
            try:
                feeds = read_inputs(c, onnx.load(c.model, load_external_data=False))
                r["live"] = peak_live_bytes(cfg, c, feeds)
            except Exception as e:  # noqa: BLE001
                r["live"] = {"error": one_line(str(e))}
        for e in per:
            v = r[e]
            log(f"  {e:6} " + (f"error: {v['error']}" if "error" in v else
                               f"median {v['median_ms']:.3f} ms  p90 {v['p90_ms']:.3f} ms"))
        results[c.name] = r
    quant = None
    if not only or int8.EFFNET_INT8 in only:
        quant = bench_effnet_int8(cfg, cli, effnet_case)
    tflite = None
    if (not only or "tflite" in only) and cli.can_compile:
        tflite = tflite_direct.bench(cfg, ROUNDS, combine_rounds)
    finished = datetime.datetime.now(datetime.timezone.utc)
    load_after = loadavg()

    mote_version = sh([cfg.mote, "--version"]) or "?"
    versions = {
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "tract": run_json([cfg.tract, "--version"]).get("version", os.environ.get("TRACT_VERSION", "?")),
        "mote": mote_version.split()[-1] if mote_version != "?" else "?",
        "mote_commit": sh(["git", "-C", cfg.repo, "rev-parse", "--short", "HEAD"]) or "?",
        "litert": litert.version(),
    }
    report = write_report(cfg, mach, versions, cli, results, started, finished, load_before,
                          load_after, command, quant, tflite)
    # A partial run (BENCH_ONLY) never overwrites the documented full run.
    path = (os.path.join(cfg.out, "BENCHMARKS.partial.md") if only
            else os.path.join(cfg.repo, "docs", "BENCHMARKS.md"))
    with open(path, "w") as f:
        f.write(report)
    raw = {
        "machine": mach,
        "versions": versions,
        "mote_compiled": cli.can_compile,
        "load_before": load_before,
        "load_after": load_after,
        "results": {k: {e: v for e, v in r.items() if e != "case"} | {"case": r["case"].__dict__}
                    for k, r in results.items()},
        "efficientnet_lite0_int8": quant,
        "tflite": {k: {e: v for e, v in r.items() if e != "x"} for k, r in (tflite or {}).items()},
    }
    with open(os.path.join(cfg.out, "results.partial.json" if only else "results.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print(report)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
