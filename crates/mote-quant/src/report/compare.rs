//! Running the float and the QDQ graph side by side: per-tensor SQNR and cosine similarity,
//! end-to-end agreement.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, anyhow};
use mote_interp::Session;
use mote_ir::{Graph, Tensor, Value};
use serde::Serialize;

use crate::calib::CalibSet;
use crate::qdq::Quantized;

/// What the model's first output is, for the end-to-end metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Scores over classes on the last axis: top-1 agreement.
    Classify,
    /// Anything else: maximum absolute and relative RMS error.
    Regress,
}

impl Task {
    /// Parses `classify` or `regress` (`--task`).
    pub fn parse(s: &str) -> Result<Task, String> {
        match s {
            "classify" => Ok(Task::Classify),
            "regress" => Ok(Task::Regress),
            _ => Err(format!("--task {s}: expected classify or regress")),
        }
    }
}

/// Sums for one quantized tensor.
#[derive(Clone, Debug, Default)]
struct Acc {
    signal: f64,
    noise: f64,
    dot: f64,
    qq: f64,
}

/// Per-tensor statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorStat {
    /// The tensor's name in the float graph.
    pub name: String,
    /// The quantized node it is the output of (`null`: a graph input).
    pub owner: Option<String>,
    /// `10 log10(sum x^2 / sum (x - x_q)^2)` over the samples; `null` when exact.
    pub sqnr_db: Option<f64>,
    /// `sum x x_q / sqrt(sum x^2 sum x_q^2)`.
    pub cosine: f64,
    pub scale: f32,
    pub zero_point: i8,
}

/// End-to-end agreement of the QDQ graph's first output with the float graph's.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EndToEnd {
    pub samples: usize,
    /// Rows (samples x leading dims) whose arg-max on the last axis agree, in percent
    /// (classifiers).
    pub top1_agreement_pct: Option<f64>,
    /// Largest absolute difference of any output element.
    pub max_abs_error: f64,
    /// `100 sqrt(sum err^2 / sum ref^2)` over the first output.
    pub rel_rms_error_pct: f64,
    /// The loss `--accuracy-budget` bounds: `100 - top1_agreement_pct` for classifiers, else
    /// `rel_rms_error_pct`.
    pub loss_pct: f64,
}

/// Accumulates the end-to-end metric.
#[derive(Clone, Debug, Default)]
struct E2e {
    samples: usize,
    rows: usize,
    agree: usize,
    max_abs: f64,
    err2: f64,
    ref2: f64,
}

impl E2e {
    fn add(&mut self, task: Task, reference: &Tensor, got: &Tensor) -> Result<()> {
        let (r, g) = (reference.to_f32_vec()?, got.to_f32_vec()?);
        if r.len() != g.len() {
            return Err(anyhow!("output sizes differ: {} vs {}", r.len(), g.len()));
        }
        self.samples += 1;
        for (&a, &b) in r.iter().zip(&g) {
            let d = (a as f64 - b as f64).abs();
            self.max_abs = self.max_abs.max(d);
            self.err2 += d * d;
            self.ref2 += a as f64 * a as f64;
        }
        if task == Task::Classify {
            let last = reference.shape().last().copied().unwrap_or(1).max(1);
            for (ra, ga) in r.chunks(last).zip(g.chunks(last)) {
                self.rows += 1;
                self.agree += (argmax(ra) == argmax(ga)) as usize;
            }
        }
        Ok(())
    }

    fn finish(&self, task: Task) -> EndToEnd {
        let rel = if self.ref2 > 0.0 { 100.0 * (self.err2 / self.ref2).sqrt() } else { 0.0 };
        let top1 = (task == Task::Classify).then(|| 100.0 * self.agree as f64 / self.rows.max(1) as f64);
        EndToEnd {
            samples: self.samples,
            top1_agreement_pct: top1,
            max_abs_error: self.max_abs,
            rel_rms_error_pct: rel,
            loss_pct: top1.map_or(rel, |t| 100.0 - t),
        }
    }
}

/// Index of the largest value (first on ties; NaN never wins).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] || v[best].is_nan() {
            best = i;
        }
    }
    best
}

/// The arg-max of every row (last axis) of a tensor.
pub fn argmax_of(t: &Tensor) -> Vec<usize> {
    let v = t.to_f32_vec().unwrap_or_default();
    let last = t.shape().last().copied().unwrap_or(1).max(1);
    v.chunks(last).map(argmax).collect()
}

/// Guesses the task from the float graph's first output on one sample: a last axis > 1 with a
/// name like logits/probabilities/scores/classes, or rows that look like probabilities.
pub fn detect_task(graph: &Graph, output: &Tensor) -> Task {
    let name = graph.outputs.first().map(|&o| graph.value(o).name.to_ascii_lowercase()).unwrap_or_default();
    let last = output.shape().last().copied().unwrap_or(1);
    if last <= 1 {
        return Task::Regress;
    }
    if ["logit", "prob", "score", "class", "softmax", "pred"].iter().any(|k| name.contains(k)) {
        return Task::Classify;
    }
    let Ok(v) = output.to_f32_vec() else { return Task::Regress };
    let probs = v.iter().all(|&x| (0.0..=1.0).contains(&x))
        && v.chunks(last).all(|row| (row.iter().sum::<f32>() - 1.0).abs() < 1e-3);
    if probs { Task::Classify } else { Task::Regress }
}

fn first_tensor(outs: &[Value]) -> Result<&Tensor> {
    match outs.first() {
        Some(Value::Tensor(t)) => Ok(t),
        _ => Err(anyhow!("the model's first output is not a tensor")),
    }
}

/// Float graph outputs, cached per sample for repeated end-to-end evaluations.
#[derive(Clone, Debug)]
pub struct Reference {
    pub task: Task,
    pub outputs: Vec<Tensor>,
}

/// Runs the float graph on every sample and keeps its first output.
pub fn reference(
    graph: &Graph,
    set: &CalibSet,
    task: Option<Task>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Reference> {
    let s = Session::new(graph).map_err(|e| anyhow!("{e}"))?;
    let mut outputs = Vec::new();
    for i in 0..set.len() {
        let outs = s.run_named(set.load(i)?).map_err(|e| anyhow!("sample {}: {e}", set.samples[i].describe()))?;
        outputs.push(first_tensor(&outs)?.clone());
        progress(i + 1, set.len());
    }
    let task = task.unwrap_or_else(|| outputs.first().map_or(Task::Regress, |o| detect_task(graph, o)));
    Ok(Reference { task, outputs })
}

/// End-to-end agreement of `q` with the cached float outputs.
pub fn end_to_end(
    q: &Graph,
    set: &CalibSet,
    r: &Reference,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EndToEnd> {
    let s = Session::new(q).map_err(|e| anyhow!("the QDQ graph: {e}"))?;
    let mut acc = E2e::default();
    for (i, reference) in r.outputs.iter().enumerate() {
        let outs =
            s.run_named(set.load(i)?).map_err(|e| anyhow!("QDQ graph, sample {}: {e}", set.samples[i].describe()))?;
        acc.add(r.task, reference, first_tensor(&outs)?)?;
        progress(i + 1, r.outputs.len());
    }
    Ok(acc.finish(r.task))
}

/// End-to-end agreement of the compiled int8 model with the compiled f32 model on every
/// sample of `set`: what a deployment runs (integer steps, TFLite's requantization), and much
/// faster than the interpreter. Shapes come from the first sample.
pub fn end_to_end_compiled(
    float: &Graph,
    q: &Graph,
    set: &CalibSet,
    task: Option<Task>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(EndToEnd, Task)> {
    let first = set.load(0)?;
    let load = |g: &Graph, what: &str| -> Result<mote_rt::host::AlignedBuf> {
        let c = crate::pipeline::compile_mote(g, &first, mote_compile::Options::default())
            .map_err(|e| anyhow!("compiling the {what} model: {e}"))?;
        Ok(mote_rt::host::AlignedBuf::from_bytes(&c.bytes))
    };
    let (fb, qb) = (load(float, "f32")?, load(q, "int8")?);
    let fr = mote_rt::Runtime::load(fb.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let qr = mote_rt::Runtime::load(qb.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let mut fa = mote_rt::host::AlignedBuf::zeroed(fr.arena_size());
    let mut qa = mote_rt::host::AlignedBuf::zeroed(qr.arena_size());
    let mut acc = E2e::default();
    let mut task = task;
    for i in 0..set.len() {
        let named = set.load(i)?;
        let what = |e: String| anyhow!("sample {}: {e}", set.samples[i].describe());
        let f = mote_compile::host::run_named(&fr, &mut fa, &named).map_err(what)?;
        let o = mote_compile::host::run_named(&qr, &mut qa, &named).map_err(what)?;
        let (f, o) = (first_tensor(&f)?.clone(), first_tensor(&o)?.clone());
        let t = *task.get_or_insert_with(|| detect_task(float, &f));
        acc.add(t, &f, &o)?;
        progress(i + 1, set.len());
    }
    let t = task.unwrap_or(Task::Regress);
    Ok((acc.finish(t), t))
}

/// Per-tensor statistics of `q` against `float` on every sample of `set`, and the end-to-end
/// agreement.
pub fn compare(
    float: &Graph,
    q: &Quantized,
    set: &CalibSet,
    task: Option<Task>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<TensorStat>, EndToEnd, Task)> {
    let fs = Session::new(float).map_err(|e| anyhow!("{e}"))?;
    let qs = Session::new(&q.graph).map_err(|e| anyhow!("the QDQ graph: {e}"))?;
    let by_name: HashMap<&str, usize> = q.tensors.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let by_dq: HashMap<&str, usize> = q.tensors.iter().enumerate().map(|(i, t)| (t.dq.as_str(), i)).collect();
    let mut accs = vec![Acc::default(); q.tensors.len()];
    let mut e2e = E2e::default();
    let mut task = task;
    for i in 0..set.len() {
        let inputs = set.load(i)?;
        let mut kept: BTreeMap<usize, Tensor> = BTreeMap::new();
        for (name, v) in &inputs {
            if let (Some(&k), Value::Tensor(t)) = (by_name.get(name.as_str()), v) {
                kept.insert(k, t.clone());
            }
        }
        let f_out = fs
            .run_named_observed(inputs.clone(), &mut |node, outs, _| {
                for (slot, v) in node.outputs.iter().zip(outs) {
                    if let (Some(id), Some(Value::Tensor(t))) = (slot, v)
                        && let Some(&k) = by_name.get(float.value(*id).name.as_str())
                    {
                        kept.insert(k, t.clone());
                    }
                }
            })
            .map_err(|e| anyhow!("sample {}: {e}", set.samples[i].describe()))?;
        let mut err = None;
        let q_out = qs
            .run_named_observed(inputs, &mut |node, outs, _| {
                for (slot, v) in node.outputs.iter().zip(outs) {
                    if let (Some(id), Some(Value::Tensor(t))) = (slot, v)
                        && let Some(&k) = by_dq.get(q.graph.value(*id).name.as_str())
                        && let Some(x) = kept.get(&k)
                        && let Err(e) = accumulate(&mut accs[k], x, t)
                    {
                        err.get_or_insert(e);
                    }
                }
            })
            .map_err(|e| anyhow!("QDQ graph, sample {}: {e}", set.samples[i].describe()))?;
        if let Some(e) = err {
            return Err(e);
        }
        let (fo, qo) = (first_tensor(&f_out)?, first_tensor(&q_out)?);
        let t = *task.get_or_insert_with(|| detect_task(float, fo));
        e2e.add(t, fo, qo)?;
        progress(i + 1, set.len());
    }
    let task = task.unwrap_or(Task::Regress);
    let stats = q
        .tensors
        .iter()
        .zip(&accs)
        .map(|(t, a)| TensorStat {
            name: t.name.clone(),
            owner: t.owner.clone(),
            sqnr_db: (a.noise > 0.0).then(|| 10.0 * (a.signal / a.noise).log10()),
            cosine: if a.signal > 0.0 && a.qq > 0.0 { a.dot / (a.signal * a.qq).sqrt() } else { 1.0 },
            scale: t.params.scale,
            zero_point: t.params.zero_point,
        })
        .collect();
    Ok((stats, e2e.finish(task), task))
}

fn accumulate(a: &mut Acc, x: &Tensor, y: &Tensor) -> Result<()> {
    let (xs, ys) = (x.to_f32_vec()?, y.to_f32_vec()?);
    if xs.len() != ys.len() {
        return Err(anyhow!("quantized tensor sizes differ: {} vs {}", xs.len(), ys.len()));
    }
    for (&x, &y) in xs.iter().zip(&ys) {
        let (x, y) = (x as f64, y as f64);
        a.signal += x * x;
        a.noise += (x - y) * (x - y);
        a.dot += x * y;
        a.qq += y * y;
    }
    Ok(())
}
