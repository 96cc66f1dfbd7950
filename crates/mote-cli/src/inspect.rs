//! `mote inspect`: what a model is, what it costs, and whether Mote can run it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::show::{bytes, count, dtype_json, shape_json, type_str};

const HELP: &str = "\
Shows inputs and outputs (names, dtypes, shapes), an op histogram, the parameter count and weight
bytes, multiply-accumulates (MACs) per run, an estimate of peak activation memory, and every
unsupported op (op type, domain, opset, node name) if there are any. For a quantized (QDQ)
model: which nodes the compiled path runs as int8 steps, and which stay float and why.

With --target (cortex-m4, cortex-m7, cortex-m33, aarch64, x86_64, wasm32, generic) the model is
compiled in memory for that target and checked against it, as `mote compile --target` does
before writing: RAM and flash against --ram / --flash (or the target's defaults), the step at the
peak with its largest live tensors, the largest weights, and the ops the target lacks. A .mote
file is described from its records (I/O, steps, arena, weights) and checked the same way
(against the target it was compiled for unless --target names another).

Symbolic or unknown input dims (a batch `N`, an image `H`x`W`) are set to 1 for the MAC and memory
estimates unless you give them with --dim or --shape; the report lists what it assumed.

Examples:
  mote inspect model.onnx
  mote inspect model.onnx --dim N=8
  mote inspect det.onnx --shape x=1,3,736,736 --json
  mote inspect model.onnx --dump          # also print the whole graph as text
  mote inspect kws_ref_model.tflite --dim batch=1 --target cortex-m4 --ram 64K
  mote inspect kws.mote --target cortex-m33";

/// Arguments of `mote inspect`.
#[derive(clap::Args, Debug)]
#[command(about = "Describe a model: I/O, ops, parameters, MACs, memory, unsupported ops", after_help = HELP)]
pub struct Args {
    /// The model file (.onnx, .tflite or .mote).
    model: PathBuf,
    /// Check the model against a target: generic, x86_64, aarch64, wasm32, cortex-m4,
    /// cortex-m7 or cortex-m33.
    #[arg(long)]
    target: Option<String>,
    #[command(flatten)]
    budget: crate::fit::BudgetArgs,
    /// Set a symbolic dimension for the estimates, e.g. `N=1` (repeatable).
    #[arg(long = "dim", value_name = "SYMBOL=SIZE")]
    dims: Vec<String>,
    /// Set a whole input shape for the estimates, e.g. `x=1,3,224,224` (repeatable).
    #[arg(long = "shape", value_name = "INPUT=D0,D1,..")]
    shapes: Vec<String>,
    /// Print the graph as text after the summary.
    #[arg(long)]
    dump: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    if crate::compiled::is_mote(&a.model) {
        return crate::inspect_mote::main(&a.model, a.target.as_deref(), &a.budget, a.json);
    }
    let (model, problems) = crate::model_file::load_lenient(&a.model)?;
    let declared = model.graph.clone();
    let mut g = model.graph;

    let mut bindings: HashMap<String, usize> = HashMap::new();
    for d in &a.dims {
        let (k, v) = d.split_once('=').context("--dim takes SYMBOL=SIZE, e.g. N=1")?;
        bindings.insert(k.to_string(), v.parse().with_context(|| format!("--dim {d}: `{v}` is not a size"))?);
    }
    for s in &a.shapes {
        let (name, dims) = s.split_once('=').context("--shape takes INPUT=D0,D1,.., e.g. x=1,3,224,224")?;
        let id = g.find_value(name).filter(|id| g.inputs.contains(id)).with_context(|| {
            let names: Vec<&str> = g.runtime_inputs().iter().map(|&i| g.value(i).name.as_str()).collect();
            format!("--shape: `{name}` is not an input (inputs: {})", names.join(", "))
        })?;
        let dims: Vec<usize> = dims
            .split(',')
            .map(|x| x.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--shape {s}: dims must be sizes"))?;
        let rank = g.value(id).ty.as_tensor().and_then(|t| t.rank());
        if rank.is_some_and(|r| r != dims.len()) {
            bail!("--shape {s}: `{name}` has rank {}, got {} dims", rank.unwrap_or(0), dims.len());
        }
        for (axis, &d) in dims.iter().enumerate() {
            bindings.insert(format!("{name}:{axis}"), d);
            if let Some(mote_ir::Dim::Sym(sym)) =
                g.value(id).ty.as_tensor().and_then(|t| t.shape.as_ref()).and_then(|s| s.get(axis))
            {
                bindings.entry(sym.clone()).or_insert(d);
            }
        }
    }
    let assumed = mote_ir::stats::specialize_inputs(&mut g, &bindings, 1);
    let infer_error = if problems.is_empty() { mote_interp::infer(&mut g).err().map(|e| e.to_string()) } else { None };
    let int8 = int8_plan(&g, problems.is_empty() && infer_error.is_none());
    let fit = match &a.target {
        Some(t) if problems.is_empty() => Some(target_fit(&declared, crate::fit::parse_target(t)?, &a)),
        Some(_) => Some(Err("the model has unsupported ops (listed above)".to_string())),
        None if a.budget.given() => bail!("--ram and --flash need --target"),
        None => None,
    };
    let mut st = mote_ir::stats::stats(&g);
    for p in &problems {
        *st.op_histogram.entry(p.op_type.clone()).or_default() += 1;
        st.nodes += 1;
    }

    let io = |ids: &[mote_ir::ValueId]| -> Vec<serde_json::Value> {
        ids.iter()
            .map(|&i| {
                let v = declared.value(i);
                json!({ "name": v.name, "dtype": dtype_json(&v.ty), "shape": shape_json(&v.ty) })
            })
            .collect()
    };
    if a.json {
        let mut unsupported = Vec::new();
        let mut invalid = Vec::new();
        for p in &problems {
            let item = json!({ "op_type": p.op_type, "domain": p.domain, "opset": p.opset, "node": p.node, "detail": p.detail });
            if p.kind == mote_onnx::ProblemKind::Unsupported { unsupported.push(item) } else { invalid.push(item) }
        }
        let v = json!({
            "model": a.model.display().to_string(),
            "format": "onnx",
            "ir_version": model.ir_version,
            "opsets": model.opsets.iter().map(|(d, v)| (d.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "producer": model.producer,
            "inputs": io(&declared.runtime_inputs()),
            "outputs": io(&declared.outputs),
            "nodes": st.nodes,
            "op_histogram": st.op_histogram,
            "parameters": st.parameters,
            "weight_bytes": st.weight_bytes,
            "macs": st.macs,
            "macs_unknown_nodes": st.macs_unknown_nodes,
            "activation_peak_bytes": st.activation_peak_bytes,
            "activation_unknown_values": st.activation_unknown_values,
            "assumed_dims": assumed.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "supported": problems.is_empty(),
            "unsupported": unsupported,
            "invalid": invalid,
            "inference_error": infer_error,
            "int8_nodes": int8.as_ref().and_then(|r| r.as_ref().ok()).map(|r| r.int8.iter().map(|(n, o)| json!({"node": n, "op": o})).collect::<Vec<_>>()),
            "float_in_qdq": int8.as_ref().and_then(|r| r.as_ref().ok()).map(|r| r.float_in_qdq.iter().map(|(n, o, w)| json!({"node": n, "op": o, "why": w})).collect::<Vec<_>>()),
            "int8_error": int8.as_ref().and_then(|r| r.as_ref().err()),
            "fit": fit.as_ref().map(|f| match f {
                Ok(f) => crate::fit::fit_json(f),
                Err(e) => json!({ "error": e }),
            }),
        });
        println!("{v:#}");
        return Ok(fit_code(&fit));
    }

    let opsets: Vec<String> = model.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    println!("model       {}", a.model.display());
    if crate::model_file::is_tflite(&a.model) {
        println!("format      TFLite schema {}", mote_tflite::import::SCHEMA_VERSION);
    } else {
        println!(
            "format      ONNX IR {}, opsets: {}{}",
            model.ir_version,
            opsets.join(", "),
            if model.producer.is_empty() { String::new() } else { format!(", producer {}", model.producer) }
        );
    }
    println!("inputs");
    for &i in &declared.runtime_inputs() {
        println!("  {:<24} {}", declared.value(i).name, type_str(&declared.value(i).ty));
    }
    println!("outputs");
    for &o in &declared.outputs {
        println!("  {:<24} {}", declared.value(o).name, type_str(&g.value(o).ty));
    }
    let mut hist: Vec<(&String, &usize)> = st.op_histogram.iter().collect();
    hist.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let hist: Vec<String> = hist.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("nodes       {} ({})", st.nodes, hist.join(", "));
    println!(
        "parameters  {} in {} constant tensors, {}",
        count(st.parameters),
        st.constant_tensors,
        bytes(st.weight_bytes)
    );
    let unknown = if st.macs_unknown_nodes > 0 {
        format!(" (+ {} node(s) of unknown shape)", st.macs_unknown_nodes)
    } else {
        String::new()
    };
    println!("MACs        {}{unknown}", count(st.macs));
    let at = st.activation_peak_node.as_ref().map(|n| format!(" after node `{n}`")).unwrap_or_default();
    let unknown = if st.activation_unknown_values > 0 {
        format!(" (+ {} value(s) of unknown size)", st.activation_unknown_values)
    } else {
        String::new()
    };
    println!(
        "activations peak {}{at}{unknown} (estimate: live tensors in node order)",
        bytes(st.activation_peak_bytes)
    );
    if !assumed.is_empty() {
        let a: Vec<String> = assumed.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("assumed     {} (set with --dim / --shape)", a.join(", "));
    }
    if let Some(e) = &infer_error {
        println!("inference   incomplete for the assumed input shapes ({e}); give real ones with --shape");
    }
    if problems.is_empty() {
        println!("unsupported none: Mote can run this model");
    } else {
        println!("unsupported {} node(s):", problems.len());
        for line in mote_onnx::error::group_problems(&problems.iter().collect::<Vec<_>>()) {
            println!("  - {line}");
        }
    }
    match &int8 {
        None => {}
        Some(Err(e)) => println!("int8        not planned: {e}"),
        Some(Ok(r)) => {
            let counts = mote_compile::Report::op_counts(r.int8.iter().map(|(_, o)| o.as_str()));
            println!("int8        {} node(s) run as integer steps ({counts})", r.int8.len());
            if r.float_in_qdq.is_empty() {
                println!("            no node between Dequantize and Quantize runs in float");
            }
            for (n, o, why) in &r.float_in_qdq {
                println!("  float     {o} '{n}': {why}");
            }
        }
    }
    match &fit {
        None => {}
        Some(Ok(f)) => println!("{f}"),
        Some(Err(e)) => println!("target      not checked: {e}"),
    }
    if a.dump {
        println!();
        print!("{}", mote_ir::dump::dump(&g));
    }
    Ok(fit_code(&fit))
}

/// Failure when a target was checked and the model does not fit it.
fn fit_code(fit: &Option<Result<mote_compile::budget::Fit, String>>) -> ExitCode {
    match fit {
        Some(Ok(f)) if !f.problems().is_empty() => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// For a graph with QuantizeLinear / DequantizeLinear: which nodes the compiled path runs as
/// integer steps and which stay float (the compiler's plan, from compiling with the shapes
/// assumed above).
fn int8_plan(g: &mote_ir::Graph, ok: bool) -> Option<Result<mote_compile::Report, String>> {
    use mote_ir::ops::quant::QuantOp;
    let qdq = g
        .nodes
        .iter()
        .any(|n| matches!(n.op, mote_ir::Op::Quant(QuantOp::Quantize { .. } | QuantOp::Dequantize { .. })));
    if !qdq {
        return None;
    }
    if !ok {
        return Some(Err("the model does not import or infer completely".into()));
    }
    Some(
        mote_compile::compile(g.clone(), &mote_compile::Options::default())
            .map(|c| c.report)
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string()),
    )
}

/// The model compiled in memory for `target` (with --dim / --shape) and checked against it.
fn target_fit(g: &mote_ir::Graph, target: mote_compile::Target, a: &Args) -> Result<mote_compile::budget::Fit, String> {
    let mut opts = mote_compile::Options { target, ..Default::default() };
    crate::compile_cmd::bind_sizes(&mut opts, &a.shapes, &a.dims).map_err(|e| format!("{e:#}"))?;
    let budgets = a.budget.budgets().map_err(|e| e.to_string())?;
    let c = mote_compile::compile(g.clone(), &opts).map_err(|e| format!("cannot compile: {e}"))?;
    mote_compile::budget::check(&c.bytes, target, budgets)
}
