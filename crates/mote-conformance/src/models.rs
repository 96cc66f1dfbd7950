//! The shared real models (`shared/data/models/<name>/`): each test set through the reference
//! interpreter against the stored reference outputs, with the tolerance from `meta.json`; and
//! silero_vad's streaming clip with the state carried between calls.

use std::path::{Path, PathBuf};

use mote_interp::Session;
use mote_ir::{Tensor, Value, ValueType};

use crate::compare::{Tolerance, compare_value};
use crate::suite::{Engine, data_sets, load_graph, one_line};

/// A real model with test sets.
#[derive(Clone, Debug)]
pub struct RealModel {
    pub name: String,
    pub dir: PathBuf,
    pub tolerance: Tolerance,
    /// `output` (onnxruntime, optimized) or `ort_noopt_output` (QDQ models: onnxruntime with
    /// graph optimizations off, i.e. float-simulated quantization, what the reference
    /// interpreter computes).
    pub reference: &'static str,
    /// Also require the same top-1 class per output row (see [`compares_top1`]).
    pub top1: bool,
    /// int8 models converted from TFLite (`tflm_output_*.pb`): the compiled path runs them in
    /// integer arithmetic with TFLite's requantization and is compared with TFLite Micro's
    /// outputs, bit for bit when `meta.json` reports an exact match, else within 1 LSB.
    pub tflm: Option<Tolerance>,
}

impl RealModel {
    /// The reference outputs (file prefix) and tolerance for `engine`.
    pub fn reference_for(&self, engine: Engine) -> (&'static str, Tolerance) {
        match (engine, self.tflm) {
            (Engine::Compiled, Some(t)) => ("tflm_output", t),
            _ => (self.reference, self.tolerance),
        }
    }
}

/// Every model directory under `models_dir` that has test sets.
pub fn real_models(models_dir: &Path) -> Vec<RealModel> {
    let mut v: Vec<RealModel> = std::fs::read_dir(models_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("model.onnx").exists() && !data_sets(&e.path()).is_empty())
        .map(|e| {
            let dir = e.path();
            let meta = std::fs::read_to_string(dir.join("meta.json")).unwrap_or_default();
            let name = e.file_name().to_string_lossy().into_owned();
            let noopt = name.contains("int8")
                && data_sets(&dir).first().is_some_and(|s| s.join("ort_noopt_output_0.pb").exists());
            let tflm_ref = data_sets(&dir).first().is_some_and(|s| s.join("tflm_output_0.pb").exists());
            let tflm = (name.contains("int8") && tflm_ref).then(|| {
                let exact = meta.contains("exact match with TFLM");
                Tolerance { atol: 0.0, rtol: 0.0, int_steps: if exact { 0 } else { 1 } }
            });
            RealModel {
                name,
                tflm,
                tolerance: tolerance_from_meta(&meta),
                top1: compares_top1(&meta),
                reference: if noopt { "ort_noopt_output" } else { "output" },
                dir,
            }
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Reads the `"tolerance"` sentence of a `meta.json` ("float32: atol 1e-3 on logits",
/// "float: atol 1e-5; int8: 2 LSB", "allow 1 LSB"): the first `atol X` and the first `N LSB`.
pub fn tolerance_from_meta(meta: &str) -> Tolerance {
    let text = meta.split("\"tolerance\"").nth(1).and_then(|r| r.split('"').nth(1)).unwrap_or_default();
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty()).collect();
    let mut tol = Tolerance { atol: Tolerance::DEFAULT.atol, rtol: 0.0, int_steps: 0 };
    if let Some(i) = words.iter().position(|w| *w == "atol")
        && let Some(x) = words.get(i + 1).and_then(|w| w.parse::<f64>().ok())
    {
        tol.atol = x;
    }
    if let Some(i) = words.iter().position(|w| *w == "LSB")
        && let Some(n) = i.checked_sub(1).and_then(|j| words[j].trim_start_matches('~').parse::<u64>().ok())
    {
        tol.int_steps = n;
    }
    tol
}

/// True when `meta.json` says to compare classifications ("compare top-1 / top-5 rather than
/// values"): the arg-max of every output row must then match as well.
pub fn compares_top1(meta: &str) -> bool {
    meta.split("\"tolerance\"").nth(1).and_then(|r| r.split('"').nth(1)).is_some_and(|t| t.contains("top-1"))
}

/// Arg-max of every row (last axis) must agree.
fn check_top1(got: &Value, want: &Value) -> Result<(), String> {
    let (Some(g), Some(w)) = (got.as_tensor(), want.as_tensor()) else { return Ok(()) };
    let (g, w) = (g.to_f64_vec().map_err(|e| e.to_string())?, w.to_f64_vec().map_err(|e| e.to_string())?);
    let k = want.as_tensor().and_then(|t| t.shape().last().copied()).unwrap_or(1).max(1);
    let argmax = |v: &[f64]| v.iter().enumerate().fold(0, |b, (i, x)| if *x > v[b] { i } else { b });
    for (r, (gr, wr)) in g.chunks(k).zip(w.chunks(k)).enumerate() {
        if argmax(gr) != argmax(wr) {
            return Err(format!("row {r}: top-1 is {} but the reference's is {}", argmax(gr), argmax(wr)));
        }
    }
    Ok(())
}

/// The result of one test set.
#[derive(Clone, Debug)]
pub struct SetResult {
    pub set: String,
    pub result: Result<(), String>,
    pub run_ms: f64,
    /// The largest difference from the reference over all outputs (integers in steps).
    pub max_diff: Option<f64>,
}

/// Runs every test set of `m`.
pub fn run_real_model(m: &RealModel, engine: Engine) -> Result<Vec<SetResult>, String> {
    let graph = load_graph(&m.dir)?;
    let session = Session::new(&graph).map_err(|e| e.to_string())?;
    let in_types: Vec<ValueType> = graph.runtime_inputs().iter().map(|&i| graph.value(i).ty.clone()).collect();
    let out_types: Vec<ValueType> = graph.outputs.iter().map(|&o| graph.value(o).ty.clone()).collect();
    let mut results = Vec::new();
    let (reference, tolerance) = m.reference_for(engine);
    for set in data_sets(&m.dir) {
        let name = set.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let start = std::time::Instant::now();
        let mut max_diff: Option<f64> = None;
        let result = (|| {
            let inputs = crate::suite::read_values(&set, "input", &in_types)?;
            let want = crate::suite::read_values(&set, reference, &out_types)?;
            if want.is_empty() {
                return Err(format!("no {reference}_*.pb reference files"));
            }
            let got = engine.run(&graph, Some(&session), inputs)?;
            for (i, w) in want.iter().enumerate() {
                if let Some(d) = crate::compare::max_abs_diff(&got[i], w) {
                    max_diff = Some(max_diff.map_or(d, |m| m.max(d)));
                }
                compare_value(&got[i], w, tolerance).map_err(|e| format!("output {i}: {e}"))?;
                if m.top1 {
                    check_top1(&got[i], w).map_err(|e| format!("output {i}: {e}"))?;
                }
            }
            Ok(())
        })();
        results.push(SetResult { set: name, result, run_ms: start.elapsed().as_secs_f64() * 1e3, max_diff });
    }
    Ok(results)
}

/// What the silero_vad streaming check measured.
#[derive(Clone, Debug)]
pub struct StreamResult {
    pub chunks: usize,
    pub max_prob_diff: f64,
    pub max_state_diff: f64,
}

/// Runs `silero_vad/stream/audio_f32_16k.npy` chunk by chunk (64 samples of context + 512 new
/// samples, 16 kHz), carrying the state, and compares every probability and the final state.
pub fn silero_stream(dir: &Path) -> Result<StreamResult, String> {
    silero_stream_with(dir, Engine::Interp)
}

/// [`silero_stream`] through the chosen engine (compiled: `sr` fixed at 16000, compiled once).
pub fn silero_stream_with(dir: &Path, engine: Engine) -> Result<StreamResult, String> {
    match engine {
        Engine::Interp => silero_stream_on(dir, None),
        Engine::Compiled => {
            let c = mote_compile::compile(load_graph(dir)?, &silero_options()).map_err(|e| one_line(&e.to_string()))?;
            silero_stream_on(dir, Some(&c.bytes))
        }
    }
}

/// The compile options of silero_vad's streaming form: `input [1, 576]`, `state [2, 1, 128]`,
/// `sr` fixed at 16000 (add e.g. `dynamic_int8` before compiling).
pub fn silero_options() -> mote_compile::Options {
    let mut opts = mote_compile::Options::default();
    opts.shapes.insert("input".into(), vec![1, 576]);
    opts.shapes.insert("state".into(), vec![2, 1, 128]);
    opts.constants.insert("sr".into(), Tensor::scalar(16000i64));
    opts
}

/// [`silero_stream`] through the reference interpreter (`compiled` is `None`) or through a
/// `.mote` file compiled from the model with [`silero_options`] (quantized or not); the
/// differences are to the stored onnxruntime f32 references.
pub fn silero_stream_on(dir: &Path, compiled: Option<&[u8]>) -> Result<StreamResult, String> {
    let read = |f: &str| mote_data::read_npy(&dir.join("stream").join(f)).map_err(|e| format!("{e:#}"));
    let audio = read("audio_f32_16k.npy")?.to_f32_vec().map_err(|e| e.to_string())?;
    let want_prob = read("speech_prob.npy")?.to_f64_vec().map_err(|e| e.to_string())?;
    let want_state = read("final_state.npy")?;
    let graph = load_graph(dir)?;
    let session = Session::new(&graph).map_err(|e| e.to_string())?;
    let compiled = compiled.map(mote_rt::host::AlignedBuf::from_bytes);
    let rt = match &compiled {
        Some(b) => Some(mote_rt::Runtime::load(b.as_ref()).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.as_ref().map_or(0, |r| r.arena_size()));
    const CHUNK: usize = 512;
    const CONTEXT: usize = 64;
    let mut state = Tensor::zeros(mote_ir::DType::F32, vec![2, 1, 128]).map_err(|e| e.to_string())?;
    let mut context = vec![0f32; CONTEXT];
    let mut max_prob_diff = 0f64;
    let chunks = audio.len() / CHUNK;
    if chunks != want_prob.len() {
        return Err(format!("{} chunks of audio but {} reference probabilities", chunks, want_prob.len()));
    }
    for k in 0..chunks {
        let mut x = context.clone();
        x.extend_from_slice(&audio[k * CHUNK..(k + 1) * CHUNK]);
        context.copy_from_slice(&x[x.len() - CONTEXT..]);
        let input = Tensor::from_vec(vec![1, CONTEXT + CHUNK], x).map_err(|e| e.to_string())?;
        let out = match &rt {
            None => session
                .run(vec![Value::Tensor(input), Value::Tensor(state.clone()), Value::Tensor(Tensor::scalar(16000i64))])
                .map_err(|e| format!("chunk {k}: {e}"))?,
            Some(rt) => {
                let named =
                    [("input".to_string(), Value::Tensor(input)), ("state".to_string(), Value::Tensor(state.clone()))];
                mote_compile::host::run_named(rt, &mut arena, &named).map_err(|e| format!("chunk {k}: {e}"))?
            }
        };
        let prob = out[0].as_tensor().ok_or("output is not a tensor")?.to_f64_vec().map_err(|e| e.to_string())?;
        max_prob_diff = max_prob_diff.max((prob[0] - want_prob[k]).abs());
        state = out[1].as_tensor().ok_or("state is not a tensor")?.clone();
    }
    let got = state.to_f64_vec().map_err(|e| e.to_string())?;
    let want = want_state.to_f64_vec().map_err(|e| e.to_string())?;
    if got.len() != want.len() {
        return Err(format!("final state has {} values, expected {}", got.len(), want.len()));
    }
    let max_state_diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    Ok(StreamResult { chunks, max_prob_diff, max_state_diff })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_tolerances() {
        let t = tolerance_from_meta(r#"{"tolerance": "float32: atol 1e-3 on logits"}"#);
        assert_eq!((t.atol, t.int_steps), (1e-3, 0));
        let t = tolerance_from_meta(r#"{"tolerance": "float: atol 1e-5; int8: 2 LSB"}"#);
        assert_eq!((t.atol, t.int_steps), (1e-5, 2));
        let t = tolerance_from_meta(r#"{"tolerance": "int8: exact match with TFLM observed; allow 1 LSB"}"#);
        assert_eq!(t.int_steps, 1);
        let meta = r#"{"tolerance": "int8 outputs: ... differ by up to ~45 LSB here; compare top-1 / top-5 rather than values"}"#;
        assert_eq!(tolerance_from_meta(meta).int_steps, 45);
        assert!(compares_top1(meta) && !compares_top1(r#"{"tolerance": "atol 1e-4"}"#));
    }
}
