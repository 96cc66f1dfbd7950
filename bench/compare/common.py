"""Helpers shared by the benchmark driver's modules: logging, percentiles, subprocess JSON, and
the report's number formats."""

import datetime
import json
import math
import subprocess
import sys

TIMEOUT_S = 300


def log(msg: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def pct(sorted_t, q):
    """Nearest-rank percentile (same definition as `mote bench` and tract-bench)."""
    return sorted_t[min(max(math.ceil(q * len(sorted_t)), 1), len(sorted_t)) - 1]


def one_line(text: str, limit: int = 160) -> str:
    s = " ".join(text.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def run_json(cmd, timeout=TIMEOUT_S) -> dict:
    """Runs `cmd`, parses the JSON object it prints; {"error": ...} on failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    out = p.stdout.strip()
    start = out.find("{")
    try:
        v = json.loads(out[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        v = None
    if p.returncode != 0 or v is None:
        if isinstance(v, dict) and "error" in v:
            return {"error": one_line(v["error"])}
        return {"error": one_line(p.stderr.strip() or out or f"exit code {p.returncode}")}
    return v


def ms(x: float) -> str:
    """Milliseconds with about 3-4 significant digits."""
    return f"{x:.2f}" if x >= 1 else (f"{x:.3f}" if x >= 0.01 else f"{x:.4f}")


def fmt_ms(v: dict) -> str:
    return "error" if "error" in v else ms(v["median_ms"])


def fmt_p90(v: dict) -> str:
    return "-" if "error" in v else ms(v["p90_ms"])


def ratio(a: dict, b: dict):
    if "error" in a or "error" in b or not b.get("median_ms"):
        return None
    return a["median_ms"] / b["median_ms"]


def fmt_ratio(r) -> str:
    return "-" if r is None else f"{r:.2f}x"


def mark(ok) -> str:
    return "**not measured yet**" if ok is None else ("**met**" if ok else "**not met**")
