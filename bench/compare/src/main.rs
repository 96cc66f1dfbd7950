//! `tract-bench`: times one ONNX model in tract (optimized plan, one thread) for the peer
//! benchmark driven by `bench/compare/run.sh`.
//!
//! Usage: `tract-bench MODEL.onnx --input-dir DIR [--warmup N] [--runs N] [--const-input I]...`,
//! or `tract-bench --version`. `--const-input I` fixes input I to its value from DIR at load time
//! (the counterpart of `mote compile --const`); it is still fed at every run.
//!
//! Inputs are `DIR/input_<i>.pb` (ONNX TensorProto), one per model input, as in the ONNX test
//! data sets. Prints one JSON object: `engine, version, load_ms, median_ms, p90_ms, p99_ms,
//! min_ms, mean_ms, runs, warmup`; on failure prints `{"error": "..."}` and exits with 1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use tract_onnx::prelude::*;

/// Version of tract this harness is built against (pinned in Cargo.toml).
const TRACT_VERSION: &str = "0.23.9";

/// Parsed command line.
struct Args {
    model: PathBuf,
    input_dir: PathBuf,
    warmup: usize,
    runs: usize,
    /// Inputs (by index) whose value is fixed at load time, like `mote compile --const`.
    consts: Vec<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut model, mut input_dir, mut warmup, mut runs) = (None, None, 10usize, 100usize);
    let mut consts = Vec::new();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--input-dir" => input_dir = Some(PathBuf::from(value("--input-dir")?)),
            "--warmup" => warmup = value("--warmup")?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--runs" => runs = value("--runs")?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--const-input" => consts.push(value("--const-input")?.parse().map_err(|e| format!("--const-input: {e}"))?),
            "-h" | "--help" => {
                return Err(
                    "usage: tract-bench MODEL.onnx --input-dir DIR [--warmup N] [--runs N] [--const-input I]...".into(),
                );
            }
            s if s.starts_with('-') => return Err(format!("unknown option `{s}`")),
            s => model = Some(PathBuf::from(s)),
        }
    }
    let model = model.ok_or("missing MODEL.onnx")?;
    let input_dir = input_dir.ok_or("missing --input-dir DIR")?;
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(Args { model, input_dir, warmup, runs, consts })
}

/// Reads `dir/input_<i>.pb` for `i` in `0..n`.
fn read_inputs(dir: &Path, n: usize) -> TractResult<Vec<Tensor>> {
    (0..n)
        .map(|i| {
            let path = dir.join(format!("input_{i}.pb"));
            let file = std::fs::File::open(&path)
                .map_err(|e| TractError::msg(format!("cannot open {}: {e}", path.display())))?;
            let proto = tract_onnx::tensor::proto_from_reader(file)?;
            tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::FopenDataResolver, &proto, None)
                .map_err(|e| e.context(format!("cannot decode {}", path.display())))
        })
        .collect()
}

/// Nearest-rank percentile of sorted `t`.
fn pct(t: &[f64], q: f64) -> f64 {
    t[((q * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1]
}

fn bench(a: &Args) -> TractResult<serde_json::Value> {
    let t0 = Instant::now();
    let mut model = tract_onnx::onnx().model_for_path(&a.model)?;
    let n_inputs = model.inputs.len();
    let inputs = read_inputs(&a.input_dir, n_inputs)?;
    // Concrete input facts from the data, as onnxruntime and Mote see them; --const-input ones
    // with their value, so tract can fold what depends on them.
    for (i, t) in inputs.iter().enumerate() {
        let fact = if a.consts.contains(&i) {
            InferenceFact::from(t.clone())
        } else {
            InferenceFact::from(TypedFact::shape_and_dt_of(t))
        };
        model.set_input_fact(i, fact)?;
    }
    let plan = model.into_optimized()?.into_runnable()?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;

    let inputs: TVec<TValue> = inputs.into_iter().map(TValue::from).collect();
    let mut state = plan.spawn()?;
    for _ in 0..a.warmup {
        state.run(inputs.clone())?;
    }
    let mut times = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let inp = inputs.clone();
        let t = Instant::now();
        let out = state.run(inp)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        drop(out);
    }
    times.sort_by(|x, y| x.total_cmp(y));
    Ok(json!({
        "engine": "tract",
        "version": TRACT_VERSION,
        "model": a.model.display().to_string(),
        "load_ms": load_ms,
        "median_ms": pct(&times, 0.5),
        "p90_ms": pct(&times, 0.9),
        "p99_ms": pct(&times, 0.99),
        "min_ms": times[0],
        "mean_ms": times.iter().sum::<f64>() / times.len() as f64,
        "threads": 1,
        "runs": a.runs,
        "warmup": a.warmup,
    }))
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("{}", json!({ "engine": "tract", "version": TRACT_VERSION }));
        return ExitCode::SUCCESS;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tract-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match bench(&args) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // One line: the root cause chain, for the benchmark table.
            let msg = e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
            println!("{}", json!({ "engine": "tract", "version": TRACT_VERSION, "error": msg }));
            ExitCode::FAILURE
        }
    }
}
