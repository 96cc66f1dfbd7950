//! `mote bench`: load time and latency percentiles of repeated runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mote_interp::Session;
use mote_ir::{Dim, Tensor, Value, ValueType};
use serde_json::json;

use crate::show::bytes;

const HELP: &str = "\
Runs the model --warmup times untimed, then --runs times, and reports the load time and the
median / p90 / p99 latency of one run. Inputs come from --input-dir (input_<i>.pb, as `mote run`)
or are generated (seeded uniform values in [-1, 1), zeros for integer inputs) from the declared
shapes; give symbolic dims with --shape.

A .mote file runs in the runtime (load = map + validate); an .onnx in the reference interpreter.
--threads N splits a .mote file's heavy steps over N threads (a persistent pool started before
the runs; outputs are bit-identical for every N); the interpreter runs on one.
With --json the output is one object with: engine, load_ms, median_ms, p90_ms, p99_ms, min_ms,
mean_ms, arena_bytes, weights_bytes, file_bytes, threads, runs, warmup (a .mote adds isa, int8_kernels,
arena_alloc_ms, peak_live_bytes, scratch_bytes and thread_scratch_bytes: the workers' scratch).

Examples:
  mote bench model.onnx
  mote bench model.onnx --input-dir test_data_set_0 --runs 50 --json
  mote bench det.onnx --shape x=1,3,192,384
  mote bench det.mote --threads 2 --json";

/// Arguments of `mote bench`.
#[derive(clap::Args, Debug)]
#[command(about = "Time a model: load time, latency median / p90 / p99", after_help = HELP)]
pub struct Args {
    /// The model file (.onnx: reference interpreter; .mote: the runtime).
    model: PathBuf,
    /// Timed runs.
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Threads running a .mote file (the reference interpreter, for an .onnx, runs on one).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Read input_<i>.pb for each model input from this directory.
    #[arg(long, value_name = "DIR")]
    input_dir: Option<PathBuf>,
    /// Shape of a generated input, e.g. `x=1,3,224,224` (repeatable).
    #[arg(long = "shape", value_name = "INPUT=D0,D1,..")]
    shapes: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if crate::compiled::is_mote(&a.model) {
        return bench_compiled(&a);
    }
    crate::compiled::one_thread_for_onnx(a.threads)?;
    let file_bytes = std::fs::metadata(&a.model).with_context(|| format!("cannot read `{}`", a.model.display()))?.len();
    let t0 = Instant::now();
    let model = crate::model_file::load(&a.model)?;
    let mut graph = model.graph;
    let _ = mote_interp::infer(&mut graph);
    let session = Session::new(&graph)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;

    let inputs = bench_inputs(&graph, a.input_dir.as_deref(), &a.shapes)?;
    for _ in 0..a.warmup {
        session.run(inputs.clone())?;
    }
    let mut times = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let inputs = inputs.clone();
        let t = Instant::now();
        session.run(inputs)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    // Memory estimate for the shapes actually run.
    let mut sized = graph.clone();
    for (&id, v) in sized.runtime_inputs().iter().zip(&inputs) {
        if let Value::Tensor(t) = v {
            sized.value_mut(id).ty = ValueType::Tensor(mote_ir::TensorType::concrete(t.dtype(), t.shape()));
        }
    }
    let _ = mote_interp::infer(&mut sized);
    let st = mote_ir::stats::stats(&sized);
    let p = Percentiles::of(&mut times);
    if a.json {
        let v = json!({
            "model": a.model.display().to_string(),
            "engine": "reference-interpreter",
            "load_ms": load_ms,
            "median_ms": p.median, "p90_ms": p.p90, "p99_ms": p.p99, "min_ms": p.min, "mean_ms": p.mean,
            // The interpreter allocates per value; this is the planner-free estimate of live bytes.
            "arena_bytes": st.activation_peak_bytes,
            "weights_bytes": st.weight_bytes,
            "file_bytes": file_bytes,
            "threads": a.threads,
            "runs": a.runs,
            "warmup": a.warmup,
        });
        println!("{v:#}");
    } else {
        println!("model     {} (reference interpreter)", a.model.display());
        println!("load      {load_ms:.2} ms");
        println!(
            "latency   median {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  min {:.3} ms  ({} runs, {} warm-up)",
            p.median, p.p90, p.p99, p.min, a.runs, a.warmup
        );
        println!(
            "memory    peak live activations {} (estimate), weights {}, file {}",
            bytes(st.activation_peak_bytes),
            bytes(st.weight_bytes),
            bytes(file_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `mote bench` on a `.mote` file: the runtime, inputs set in the arena before each run.
fn bench_compiled(a: &Args) -> Result<ExitCode> {
    let file_bytes = std::fs::metadata(&a.model).with_context(|| format!("cannot read `{}`", a.model.display()))?.len();
    let t0 = Instant::now();
    let file = crate::compiled::open(&a.model)?;
    let rt = crate::compiled::load(&file, &a.model)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let arena_ms = t1.elapsed().as_secs_f64() * 1e3;
    let pool = crate::compiled::pool(&rt, a.threads)?;
    let g = crate::compiled::interface(&rt);
    let inputs = bench_inputs(&g, a.input_dir.as_deref(), &a.shapes)?;
    let named: Vec<(String, mote_ir::Value)> =
        g.runtime_inputs().iter().zip(inputs).map(|(&id, v)| (g.value(id).name.clone(), v)).collect();
    // Set before every run: a microcontroller's file may overwrite its inputs.
    let set = |arena: &mut mote_rt::host::AlignedBuf| {
        mote_compile::host::set_inputs(&rt, arena.as_mut(), &named).map_err(anyhow::Error::msg)
    };
    for _ in 0..a.warmup {
        set(&mut arena)?;
        rt.invoke_par(arena.as_mut(), &pool)?;
    }
    let mut times = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        set(&mut arena)?;
        let t = Instant::now();
        rt.invoke_par(arena.as_mut(), &pool)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let plan = rt.model().plan();
    let weights = rt.model().weights().len() as u64;
    let p = Percentiles::of(&mut times);
    if a.json {
        let v = json!({
            "model": a.model.display().to_string(),
            "engine": "mote-rt",
            "isa": rt.cpu().isa().name(),
            "int8_kernels": rt.cpu().q8().name(),
            "load_ms": load_ms,
            "arena_alloc_ms": arena_ms,
            "median_ms": p.median, "p90_ms": p.p90, "p99_ms": p.p99, "min_ms": p.min, "mean_ms": p.mean,
            "arena_bytes": plan.arena_size,
            "peak_live_bytes": plan.peak_live,
            "scratch_bytes": plan.scratch_size,
            "thread_scratch_bytes": rt.thread_scratch_bytes() * (a.threads - 1),
            "weights_bytes": weights,
            "file_bytes": file_bytes,
            "threads": a.threads,
            "runs": a.runs,
            "warmup": a.warmup,
        });
        println!("{v:#}");
    } else {
        println!("model     {} (mote runtime)", a.model.display());
        println!(
            "load      {load_ms:.3} ms (map + validate), arena allocation {arena_ms:.3} ms, kernels {} (int8 {}), {} thread{}",
            rt.cpu().isa().name(),
            rt.cpu().q8().name(),
            a.threads,
            if a.threads == 1 { "" } else { "s" }
        );
        println!(
            "latency   median {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  min {:.3} ms  ({} runs, {} warm-up)",
            p.median, p.p90, p.p99, p.min, a.runs, a.warmup
        );
        println!(
            "memory    arena {} (peak live {}, {:.2}x), weights {}, file {}",
            bytes(plan.arena_size),
            bytes(plan.peak_live),
            plan.arena_size as f64 / plan.peak_live.max(1) as f64,
            bytes(weights),
            bytes(file_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Latency statistics in milliseconds.
pub struct Percentiles {
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub min: f64,
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `times` (sorted in place; must not be empty).
    pub fn of(times: &mut [f64]) -> Percentiles {
        times.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| times[((q * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
        Percentiles {
            median: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            min: times[0],
            mean: times.iter().sum::<f64>() / times.len() as f64,
        }
    }
}

/// Inputs for timing: from a test directory, or generated from the declared types.
pub fn bench_inputs(g: &mote_ir::Graph, dir: Option<&std::path::Path>, shapes: &[String]) -> Result<Vec<Value>> {
    let runtime = g.runtime_inputs();
    if let Some(dir) = dir {
        return runtime
            .iter()
            .enumerate()
            .map(|(i, &id)| mote_data::read_value(&dir.join(format!("input_{i}.pb")), &g.value(id).ty, None))
            .collect();
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let mut out = Vec::new();
    for &id in &runtime {
        let v = g.value(id);
        let given = shapes.iter().find_map(|s| s.split_once('=').filter(|(n, _)| *n == v.name).map(|(_, d)| d));
        let ValueType::Tensor(tt) = &v.ty else { bail!("input `{}` is not a tensor; use --input-dir", v.name) };
        let shape: Vec<usize> = match given {
            Some(d) => d
                .split(',')
                .map(|x| x.trim().parse())
                .collect::<Result<_, _>>()
                .with_context(|| format!("--shape {}: bad dims", v.name))?,
            None => tt.shape.as_ref().and_then(|s| s.iter().map(Dim::known).collect::<Option<Vec<_>>>()).with_context(
                || {
                    format!(
                        "input `{}` has shape {}; give it with --shape {}=D0,D1,.. or use --input-dir",
                        v.name, v.ty, v.name
                    )
                },
            )?,
        };
        let dtype = tt.dtype.with_context(|| format!("input `{}` has no declared dtype; use --input-dir", v.name))?;
        let n = mote_ir::tensor::check_numel(&shape)?;
        let t = if dtype.is_float() {
            let f = Tensor::from_vec(shape, (0..n).map(|_| next()).collect::<Vec<f32>>())?;
            mote_interp::ops::elementwise::cast(&f, dtype)?
        } else {
            Tensor::zeros(dtype, shape)?
        };
        out.push(Value::Tensor(t));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut t: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = Percentiles::of(&mut t);
        assert_eq!((p.median, p.p90, p.p99, p.min), (50.0, 90.0, 99.0, 1.0));
        let mut one = vec![3.0];
        assert_eq!(Percentiles::of(&mut one).p99, 3.0);
    }
}
