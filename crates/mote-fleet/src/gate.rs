//! The safeguard gate: before a verified model replaces the running one, it must reproduce its
//! golden outputs within tolerance and stay within its latency and memory budgets, on this
//! device.

use std::time::Instant;

use mote_ir::{Tensor, Value};
use mote_pkg::manifest::Manifest;
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;
use serde::Serialize;

/// What the gate measured and decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateReport {
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub reasons: Vec<String>,
    /// Per golden input: the largest difference from the expected outputs.
    pub golden_max_diff: Vec<f32>,
    /// Median latency on the first golden input (0 without one).
    pub latency_ms: f64,
    pub memory_bytes: u64,
}

fn tensor(v: &mote_pkg::manifest::Values) -> Result<Tensor, String> {
    Tensor::from_vec(v.shape.clone(), v.data.clone()).map_err(|e| e.to_string())
}

/// Runs the gate on `model` (the payload's `.mote`) with `manifest`'s golden data and budgets;
/// `runs` timed invocations for the latency.
pub fn check(manifest: &Manifest, model: &[u8], runs: usize) -> GateReport {
    let mut r = GateReport {
        passed: false,
        reasons: Vec::new(),
        golden_max_diff: Vec::new(),
        latency_ms: 0.0,
        memory_bytes: 0,
    };
    let bytes = AlignedBuf::from_bytes(model);
    let rt = match Runtime::load(bytes.as_ref()) {
        Ok(rt) => rt,
        Err(e) => {
            r.reasons.push(format!("the model does not load: {e}"));
            return r;
        }
    };
    r.memory_bytes = rt.arena_size() as u64;
    if let Some(b) = manifest.budgets.memory_bytes
        && r.memory_bytes > b
    {
        r.reasons.push(format!("memory: {} bytes over the budget of {b}", r.memory_bytes));
    }
    let mut arena = AlignedBuf::zeroed(rt.arena_size());
    let names: Vec<String> = manifest.inputs.iter().map(|s| s.name.clone()).collect();
    let mut timed: Option<Vec<(String, Value)>> = None;
    for (k, g) in manifest.golden.iter().enumerate() {
        let named: Result<Vec<(String, Value)>, String> =
            names.iter().zip(&g.inputs).map(|(n, v)| Ok((n.clone(), Value::Tensor(tensor(v)?)))).collect();
        let outs = named.and_then(|n| {
            let o = mote_compile::host::run_named(&rt, &mut arena, &n)?;
            timed.get_or_insert(n);
            Ok(o)
        });
        let outs = match outs {
            Ok(o) => o,
            Err(e) => {
                r.reasons.push(format!("golden input {k}: {e}"));
                continue;
            }
        };
        let mut worst = 0.0f32;
        for (got, want) in outs.iter().zip(&g.outputs) {
            let got = got.as_tensor().and_then(|t| t.to_f32_vec().ok()).unwrap_or_default();
            if got.len() != want.data.len() {
                worst = f32::INFINITY;
                continue;
            }
            worst = got.iter().zip(&want.data).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
        }
        if outs.len() != g.outputs.len() {
            worst = f32::INFINITY;
        }
        r.golden_max_diff.push(worst);
        if worst.is_nan() || worst > g.atol {
            r.reasons.push(format!("golden input {k}: outputs differ by {worst} (tolerance {})", g.atol));
        }
    }
    if manifest.budgets.latency_ms.is_some() && timed.is_none() {
        r.reasons.push("a latency budget needs a golden input that runs, to time".into());
    }
    if let Some(named) = timed {
        let mut times: Vec<f64> = (0..runs.max(1))
            .map(|_| {
                let t = Instant::now();
                let _ = mote_compile::host::run_named(&rt, &mut arena, &named);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        r.latency_ms = times[times.len() / 2];
        if let Some(b) = manifest.budgets.latency_ms
            && r.latency_ms > b
        {
            r.reasons.push(format!("latency: median {:.3} ms over the budget of {b} ms", r.latency_ms));
        }
    }
    r.passed = r.reasons.is_empty();
    r
}
