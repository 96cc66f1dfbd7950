//! The whole of `mote quantize` as a library call: prepare, calibrate, insert QDQ, measure,
//! meet the budget, evaluate.

use std::collections::BTreeSet;

use anyhow::{Result, anyhow};
use mote_ir::Graph;

use crate::calib::CalibSet;
use crate::observe::{Method, observe};
use crate::qdq::{QdqOptions, Quantized, quantize};
use crate::report::{Report, Task, compare, reference};
use crate::{bias, budget};

/// What to do.
#[derive(Clone, Debug)]
pub struct Settings {
    pub method: Method,
    pub per_channel: bool,
    /// The end-to-end metric (guessed from the first output when `None`).
    pub task: Option<Task>,
    /// `--accuracy-budget` in percent points.
    pub budget_pct: Option<f64>,
    /// Nodes to keep in f32 from the start.
    pub keep_float: BTreeSet<String>,
    /// Correct Conv/Gemm biases for the mean error of their int8 weights and of their quantized
    /// inputs (measured on the calibration data, `crate::bias`).
    pub bias_correction: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            method: Method::MinMax,
            per_channel: true,
            task: None,
            budget_pct: None,
            keep_float: BTreeSet::new(),
            bias_correction: true,
        }
    }
}

/// The float graph as it is quantized: optimized by `mote-opt` (constants folded, BatchNorm
/// folded into Conv/Gemm, dead code removed).
pub fn prepare(mut graph: Graph) -> Result<Graph> {
    mote_opt::optimize(&mut graph, &mote_opt::Options::default()).map_err(|e| anyhow!("optimizing the model: {e}"))?;
    Ok(graph)
}

/// The QDQ graph and its report.
#[derive(Debug)]
pub struct Outcome {
    pub quantized: Quantized,
    pub report: Report,
}

/// Calibrates `float` (already [`prepare`]d) on `calib`, inserts QDQ, measures on `calib` and
/// `eval`. `progress(stage, done, total)` is called after each sample.
pub fn run(
    model: &str,
    float: &Graph,
    calib: &CalibSet,
    eval: Option<&CalibSet>,
    s: &Settings,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Outcome> {
    let observed = observe(float, calib, &mut |d, t| progress("calibrating", d, t))?;
    let ranges = observed.ranges(s.method);
    let mut opts = QdqOptions {
        per_channel: s.per_channel,
        keep_float: s.keep_float.clone(),
        channel_means: if s.bias_correction { observed.channel_means() } else { Default::default() },
        input_error: Default::default(),
    };
    let mut q = quantize(float, &ranges, &opts)?;
    if s.bias_correction {
        q = bias::correct(float, &ranges, &mut opts, q, calib, &mut |d, t| progress("correcting biases", d, t))?;
    }
    let (mut stats, mut e2e, task) = compare(float, &q, calib, s.task, &mut |d, t| progress("measuring", d, t))?;
    let mut kept = Vec::new();
    let mut met = true;
    if let Some(b) = s.budget_pct
        && e2e.loss_pct > b
    {
        let r = reference(float, calib, Some(task), &mut |d, t| progress("f32 reference", d, t))?;
        let out = budget::meet(float, &ranges, &opts, (q, e2e), &stats, calib, &r, b, progress)?;
        q = out.quantized;
        kept = out.kept;
        met = out.met;
        (stats, e2e, _) = compare(float, &q, calib, Some(task), &mut |d, t| progress("measuring", d, t))?;
    }
    // The evaluation runs the compiled models: the int8 steps a deployment runs.
    let evaluation = match eval {
        Some(set) if !set.is_empty() => Some(
            crate::report::compare::end_to_end_compiled(float, &q.graph, set, Some(task), &mut |d, t| {
                progress("evaluating compiled f32 and int8", d, t)
            })?
            .0,
        ),
        _ => None,
    };
    let names = |v: &[(String, &'static str)]| v.iter().map(|(n, o)| (n.clone(), o.to_string())).collect();
    let report = Report {
        version: 1,
        model: model.to_string(),
        method: s.method.name(),
        per_channel: s.per_channel,
        task,
        calibration_samples: calib.len(),
        quantized_nodes: names(&q.nodes),
        float_nodes: names(&q.float_nodes),
        tensors: stats,
        calibration: e2e,
        evaluation,
        accuracy_budget_pct: s.budget_pct,
        kept_float: kept,
        budget_met: met,
    };
    Ok(Outcome { quantized: q, report })
}

/// Compiles the QDQ graph to a `.mote`, binding every input's shape to `sample`'s (the shapes in
/// `opts` win).
pub fn compile_mote(
    graph: &Graph,
    sample: &[(String, mote_ir::Value)],
    mut opts: mote_compile::Options,
) -> Result<mote_compile::Compiled> {
    for (name, v) in sample {
        if let mote_ir::Value::Tensor(t) = v
            && !opts.constants.contains_key(name)
        {
            opts.shapes.entry(name.clone()).or_insert_with(|| t.shape().to_vec());
        }
    }
    mote_compile::compile(graph.clone(), &opts).map_err(|e| anyhow!("compiling the QDQ graph: {e}"))
}
