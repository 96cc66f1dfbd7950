//! `mote inspect model.mote`: a compiled model from its records, and whether it fits a target.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use crate::fit::{BudgetArgs, fit_json, parse_target};
use crate::show::{bytes, count};

pub fn main(path: &Path, target: Option<&str>, budget: &BudgetArgs, as_json: bool) -> Result<ExitCode> {
    let file = crate::compiled::open(path)?;
    let rt = crate::compiled::load(&file, path)?;
    let model = rt.model();
    let compiled_for = model.meta_value("target").unwrap_or("generic");
    let target = parse_target(target.unwrap_or(compiled_for))?;
    let fit = mote_compile::budget::check(file.as_ref(), target, budget.budgets()?)
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(|| format!("cannot check `{}` against {}", path.display(), target.name()))?;
    let mut ops: Vec<(String, usize)> = Vec::new();
    let mut macs = 0u64;
    for i in 0..model.step_count() {
        let op = model.step(i).map_or("?".to_string(), |s| format!("{:?}", s.op));
        match ops.iter_mut().find(|(o, _)| *o == op) {
            Some((_, n)) => *n += 1,
            None => ops.push((op, 1)),
        }
        macs = macs.saturating_add(mote_rt::exec::step_macs(model, i).unwrap_or(0));
    }
    ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let io = |infos: &[mote_rt::TensorInfo<'_>]| -> Vec<serde_json::Value> {
        infos.iter().map(|t| json!({"name": t.name, "dtype": format!("{:?}", t.dtype), "shape": t.dims()})).collect()
    };
    let inputs: Vec<_> = rt.inputs().collect();
    let outputs: Vec<_> = rt.outputs().collect();
    let plan = model.plan();
    let fits = fit.problems().is_empty();
    if as_json {
        let v = json!({
            "model": path.display().to_string(),
            "format": format!("mote 1.{}", model.minor_version()),
            "compiled_for": compiled_for,
            "inputs": io(&inputs),
            "outputs": io(&outputs),
            "steps": model.step_count(),
            "op_histogram": ops.iter().map(|(o, n)| (o.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "macs": macs,
            "arena_bytes": plan.arena_size,
            "peak_live_bytes": plan.peak_live,
            "scratch_bytes": plan.scratch_size,
            "weights_bytes": model.weights().len(),
            "file_bytes": file.as_ref().len(),
            "fit": fit_json(&fit),
        });
        println!("{v:#}");
    } else {
        println!("model       {}", path.display());
        println!("format      mote 1.{}, compiled for {compiled_for}", model.minor_version());
        println!("inputs");
        for t in &inputs {
            println!("  {:<24} {:?} {:?}", t.name, t.dtype, t.dims());
        }
        println!("outputs");
        for t in &outputs {
            println!("  {:<24} {:?} {:?}", t.name, t.dtype, t.dims());
        }
        let hist: Vec<String> = ops.iter().map(|(o, n)| format!("{o} {n}")).collect();
        println!("steps       {} ({})", model.step_count(), hist.join(", "));
        println!("MACs        {}", count(macs));
        println!(
            "arena       {} (peak live {}, scratch {}); weights {}, file {}",
            bytes(plan.arena_size),
            bytes(plan.peak_live),
            bytes(plan.scratch_size),
            bytes(model.weights().len() as u64),
            bytes(file.as_ref().len() as u64)
        );
        println!("{fit}");
    }
    Ok(if fits { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
