//! `mote profile`: per-step time, share, MACs and GFLOP/s of a compiled model, and the arena's
//! memory timeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use mote_format::Storage;
use serde_json::json;

use crate::show::bytes;

const HELP: &str = "\
Runs a compiled model --runs times (after --warmup untimed runs) with a timer around every step,
then prints one row per step: its median time, share of the total, multiply-accumulates and the
achieved GFLOP/s (2 flops per MAC); then the memory timeline: the arena bytes live at each step
(tensors from their first to their last use; inputs and outputs for the whole run), against the
arena size. Inputs as for `mote bench` (--input-dir, or generated). With --threads N each step's
tasks run on N threads (a step's time is then its wall time on all of them).

Examples:
  mote profile model.mote
  mote profile model.mote --input-dir test_data_set_0 --runs 20 --json";

/// Arguments of `mote profile`.
#[derive(clap::Args, Debug)]
#[command(about = "Per-step time, MACs, GFLOP/s and the memory timeline of a .mote model", after_help = HELP)]
pub struct Args {
    /// The compiled model (.mote).
    model: PathBuf,
    /// Timed runs (each step's median is reported).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed runs first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Read input_<i>.pb for each model input from this directory.
    #[arg(long, value_name = "DIR")]
    input_dir: Option<PathBuf>,
    /// Threads running the steps (as `mote bench --threads`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Show only the N slowest steps (0: all).
    #[arg(long, default_value_t = 25)]
    top: usize,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if !crate::compiled::is_mote(&a.model) {
        bail!("`mote profile` takes a compiled model: run `mote compile {} -o model.mote` first", a.model.display());
    }
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let bytes_ = crate::compiled::open(&a.model)?;
    let rt = crate::compiled::load(&bytes_, &a.model)?;
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let pool = crate::compiled::pool(&rt, a.threads)?;
    let g = crate::compiled::interface(&rt);
    let inputs = crate::bench::bench_inputs(&g, a.input_dir.as_deref(), &[])?;
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
    let m = rt.model();
    let n = m.step_count();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(a.runs); n];
    for _ in 0..a.runs {
        set(&mut arena)?;
        let t = mote_rt::host::time_steps(&rt, arena.as_mut(), &pool)?;
        for (s, d) in samples.iter_mut().zip(t) {
            s.push(d.as_secs_f64() * 1e3);
        }
    }
    let med: Vec<f64> = samples
        .iter_mut()
        .map(|v| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        })
        .collect();
    let total: f64 = med.iter().sum();
    let macs: Vec<u64> = (0..n).map(|i| mote_rt::exec::step_macs(m, i).unwrap_or(0)).collect();
    let timeline = live_bytes(m);
    let arena_size = m.plan().arena_size;

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| med[y].total_cmp(&med[x]));
    if a.top > 0 {
        order.truncate(a.top);
    }
    let row = |i: usize| {
        let s = m.step(i).context("step out of range")?;
        let gflops = if med[i] > 0.0 { 2.0 * macs[i] as f64 / (med[i] * 1e6) } else { 0.0 };
        Ok::<_, anyhow::Error>((s, gflops))
    };
    if a.json {
        let mut steps = Vec::new();
        for i in 0..n {
            let (s, gflops) = row(i)?;
            steps.push(json!({
                "index": i, "op": format!("{:?}", s.op), "name": s.name, "ms": med[i],
                "share": if total > 0.0 { med[i] / total } else { 0.0 }, "macs": macs[i], "gflops": gflops,
                "live_bytes": timeline[i],
            }));
        }
        let v = json!({ "model": a.model.display().to_string(), "total_ms": total, "runs": a.runs, "threads": a.threads,
            "arena_bytes": arena_size, "peak_live_bytes": m.plan().peak_live, "steps": steps });
        println!("{v:#}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} steps, {total:.3} ms per run (sum of step medians over {} runs, {} thread{})",
        n,
        a.runs,
        a.threads,
        if a.threads == 1 { "" } else { "s" }
    );
    println!("{:>5}  {:<14} {:>9} {:>6} {:>12} {:>8}  name", "step", "op", "ms", "share", "MACs", "GFLOP/s");
    for &i in &order {
        let (s, gflops) = row(i)?;
        let share = if total > 0.0 { 100.0 * med[i] / total } else { 0.0 };
        let name: String = s.name.chars().take(48).collect();
        println!(
            "{i:>5}  {:<14} {:>9.4} {share:>5.1}% {:>12} {gflops:>8.2}  {name}",
            format!("{:?}", s.op),
            med[i],
            macs[i]
        );
    }
    let mut by_op: std::collections::BTreeMap<String, (f64, u64)> = Default::default();
    for i in 0..n {
        let e = by_op.entry(format!("{:?}", m.step(i).context("step")?.op)).or_default();
        e.0 += med[i];
        e.1 += macs[i];
    }
    println!("\nby op:");
    for (op, (ms, mc)) in &by_op {
        println!(
            "  {op:<14} {ms:>9.4} ms {:>5.1}%  {:>8.2} GFLOP/s",
            100.0 * ms / total.max(1e-12),
            2.0 * *mc as f64 / (ms * 1e6).max(1e-12)
        );
    }
    println!("\nmemory timeline (arena {}, peak live {}):", bytes(arena_size), bytes(m.plan().peak_live));
    let width = 50.0;
    let step = (n / 40).max(1);
    for i in (0..n).step_by(step) {
        let bar = "#".repeat((width * timeline[i] as f64 / arena_size.max(1) as f64).round() as usize);
        println!("  {i:>5} {:>10} |{bar}", bytes(timeline[i]));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arena bytes live at each step: every arena tensor from its first to its last use (graph
/// inputs and outputs for the whole run), overlapping regions counted once.
fn live_bytes(m: &mote_format::Model<'_>) -> Vec<u64> {
    let n = m.step_count();
    let mut life: std::collections::HashMap<u32, (usize, usize)> = Default::default();
    for i in 0..n {
        let Some(s) = m.step(i) else { continue };
        let ids = (0..s.n_inputs()).filter_map(|k| s.input(k)).chain((0..s.n_outputs()).filter_map(|k| s.output(k)));
        for t in ids {
            let e = life.entry(t).or_insert((i, i));
            e.1 = i;
        }
    }
    for io in m.inputs().chain(m.outputs()) {
        life.insert(io.tensor, (0, n.saturating_sub(1)));
    }
    (0..n)
        .map(|i| {
            let mut iv: Vec<(u64, u64)> = life
                .iter()
                .filter(|(_, (a, z))| *a <= i && i <= *z)
                .filter_map(|(&t, _)| m.tensor(t))
                .filter(|t| t.storage == Storage::Arena)
                .map(|t| (t.offset, t.offset + t.nbytes))
                .collect();
            iv.sort_unstable();
            let (mut sum, mut end) = (0, 0);
            for (a, z) in iv {
                let a = a.max(end);
                if z > a {
                    sum += z - a;
                    end = z;
                }
            }
            sum
        })
        .collect()
}
