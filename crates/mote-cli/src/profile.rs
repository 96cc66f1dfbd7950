//! `mote profile`: per-step time, share, MACs and GFLOP/s of a compiled model, and the arena's
//! memory timeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::show::bytes;

const HELP: &str = "\
Runs a compiled model --runs times (after --warmup untimed runs) with a timer around every step,
then prints one row per step: its median time, share of the total, multiply-accumulates and the
achieved GFLOP/s (2 flops per MAC); then the memory timeline: the arena bytes live at each step
(tensors from their first to their last use; inputs and outputs as the plan keeps them), against
the arena size. Inputs as for `mote bench` (--input-dir, or generated). With --threads N each step's
tasks run on N threads (a step's time is then its wall time on all of them).

With --target an energy ESTIMATE per inference follows (and per step in --json): each step's
multiply-accumulates and the bytes it reads and writes, times the target's coefficients. For a
microcontroller: cycles per int8 / f32 MAC and per byte (rates measured as instructions under
QEMU, docs/FOOTPRINT.md) times the energy of a cycle at a typical part's run current; for the
others: energy per operation and per byte from published 45 nm figures scaled to current nodes.
It ranks models and steps; it is not a power measurement.

Examples:
  mote profile model.mote
  mote profile model.mote --input-dir test_data_set_0 --runs 20 --json
  mote profile kws.mote --target cortex-m4      with an energy estimate per inference";

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
    /// Add an energy estimate per inference for a target (cortex-m4, cortex-m7, cortex-m33,
    /// aarch64, x86_64, wasm32): MACs and bytes moved times the target's coefficients.
    #[arg(long)]
    target: Option<String>,
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
    let timeline: Vec<u64> =
        mote_compile::budget::timeline(m).map_err(anyhow::Error::msg)?.iter().map(|l| l.bytes).collect();
    let energy = match &a.target {
        Some(t) => {
            let p = crate::fit::parse_target(t)?.profile();
            Some((p, mote_compile::energy::estimate(m, &p).map_err(anyhow::Error::msg)?))
        }
        None => None,
    };
    let uj = |i: usize| energy.as_ref().map(|(_, e)| e[i].uj);
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
                "live_bytes": timeline[i], "energy_uj_estimate": uj(i),
            }));
        }
        let mut v = json!({ "model": a.model.display().to_string(), "total_ms": total, "runs": a.runs, "threads": a.threads,
            "arena_bytes": arena_size, "peak_live_bytes": m.plan().peak_live, "steps": steps });
        if let Some((p, e)) = &energy {
            v["energy_estimate"] = json!({
                "target": p.target.name(), "uj_per_inference": e.iter().map(|s| s.uj).sum::<f64>(),
                "coefficients": mote_compile::energy::describe(&p.energy),
            });
        }
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
    if let Some((p, e)) = &energy {
        let total: f64 = e.iter().map(|s| s.uj).sum();
        let (macs, moved): (u64, u64) = e.iter().fold((0, 0), |(m, b), s| (m + s.macs, b + s.bytes));
        println!(
            "\nenergy (an ESTIMATE for {}, not a measurement): {total:.1} uJ per inference \
             ({macs} MACs, {} moved; {})",
            p.target.name(),
            bytes(moved),
            mote_compile::energy::describe(&p.energy)
        );
        let mut top: Vec<usize> = (0..n).collect();
        top.sort_by(|&x, &y| e[y].uj.total_cmp(&e[x].uj));
        for &i in top.iter().take(5) {
            let s = m.step(i).context("step")?;
            println!(
                "  {i:>5}  {:<14} {:>9.2} uJ {:>5.1}%  {}",
                format!("{:?}", s.op),
                e[i].uj,
                100.0 * e[i].uj / total.max(1e-12),
                s.name.chars().take(48).collect::<String>()
            );
        }
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
