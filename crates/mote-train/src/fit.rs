//! The training loop: seeded shuffled batches, augmentation, forward in training mode, a loss,
//! backward, one optimizer step per batch, BatchNorm running statistics; evaluation.

use std::time::Instant;

use mote_ir::ops::nn::NnOp;
use mote_ir::{Graph, Op, Value};

use crate::data::{Augment, Dataset, Rng};
use crate::error::TrainError;
use crate::loss;
use crate::optim::{Optimizer, Rule, Schedule};
use crate::tape::{Mode, backward, forward, params};

/// How to train.
#[derive(Clone, Debug)]
pub struct Config {
    pub epochs: usize,
    pub batch: usize,
    pub rule: Rule,
    pub weight_decay: f32,
    /// Base rate and shape; its `total` is set from epochs and batches.
    pub schedule: Schedule,
    pub label_smoothing: f32,
    pub augment: Augment,
    pub seed: u64,
    /// Pruning masks re-applied after every step, so pruned weights stay zero.
    pub masks: crate::prune::Masks,
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f32,
    /// Accuracy on the (augmented) training batches as they were trained.
    pub train_accuracy: f32,
    /// Accuracy on the held-out set, if one was given.
    pub test_accuracy: Option<f32>,
    /// Wall time of the epoch's training (not its evaluation).
    pub seconds: f64,
    pub lr: f32,
}

/// What the model learns from.
#[derive(Clone, Copy, Debug)]
pub enum Objective<'a> {
    /// Softmax cross-entropy against the labels (with the config's label smoothing).
    Labels,
    /// Knowledge distillation: `alpha · T² KL(teacher ‖ student at temperature T) + (1 - alpha) ·
    /// cross-entropy(labels)`. The teacher runs (inference mode) on the same augmented batch.
    Distill { teacher: &'a Graph, temperature: f32, alpha: f32 },
}

/// Progress inside an epoch: `(batch index, batch count, running mean loss)`.
pub type Progress<'a> = dyn FnMut(usize, usize, f32) + 'a;

fn err(msg: String) -> TrainError {
    TrainError::Input(msg)
}

/// The logits of every sample of `data`, in order, in inference mode.
pub fn predict(g: &Graph, data: &Dataset, batch: usize) -> Result<Vec<f32>, TrainError> {
    let mut out = Vec::new();
    for idx in data.batches(batch, None) {
        let (x, _) = data.batch(&idx);
        let tape = forward(g, vec![Value::Tensor(x)], Mode::Eval)?;
        let y = tape.tensor(g.outputs[0]).ok_or_else(|| err("the graph produced no output".into()))?;
        out.extend(y.to_f32_vec().map_err(|e| err(e.to_string()))?);
    }
    Ok(out)
}

/// Accuracy of `g` on `data`.
pub fn evaluate(g: &Graph, data: &Dataset, batch: usize) -> Result<f32, TrainError> {
    let logits = predict(g, data, batch)?;
    let classes = logits.len() / data.len().max(1);
    Ok(loss::accuracy(&logits, classes, &data.y))
}

/// Trains the parameters of `g` (its float constants, see [`params`]) on `train` for
/// `objective`. Calls `progress` after every batch and `on_epoch` after every epoch.
pub fn fit(
    g: &mut Graph,
    train: &Dataset,
    test: Option<&Dataset>,
    cfg: &Config,
    objective: Objective<'_>,
    progress: &mut Progress<'_>,
    on_epoch: &mut dyn FnMut(&Epoch),
) -> Result<Vec<Epoch>, TrainError> {
    if train.is_empty() || cfg.batch == 0 {
        return Err(err("no training samples, or a batch size of 0".into()));
    }
    let ps = params(g);
    if ps.is_empty() {
        return Err(err("the graph has no parameters to train".into()));
    }
    let out = *g.outputs.first().ok_or_else(|| err("the graph has no output".into()))?;
    let per_epoch = train.len().div_ceil(cfg.batch);
    let schedule = Schedule { total: cfg.epochs * per_epoch, ..cfg.schedule };
    let mut opt = Optimizer::new(cfg.rule, cfg.weight_decay);
    let mut rng = Rng::new(cfg.seed);
    let mut history = Vec::new();
    let mut step = 0usize;
    for epoch in 0..cfg.epochs {
        let start = Instant::now();
        let (mut loss_sum, mut hits, mut seen) = (0.0f64, 0.0f64, 0usize);
        let batches = train.batches(cfg.batch, Some(rng.next_u64()));
        let lr = schedule.at(step);
        for (b, idx) in batches.iter().enumerate() {
            let (mut x, labels) = train.batch(idx);
            if !cfg.augment.is_none() {
                let xs = x.typed_mut::<f32>().map_err(|e| err(e.to_string()))?;
                cfg.augment.apply(xs, &train.shape, &mut rng);
            }
            let teacher = match objective {
                Objective::Distill { teacher, .. } => {
                    let t = forward(teacher, vec![Value::Tensor(x.clone())], Mode::Eval)?;
                    let y = t.tensor(teacher.outputs[0]).ok_or_else(|| err("the teacher produced no output".into()))?;
                    Some(y.to_f32_vec().map_err(|e| err(e.to_string()))?)
                }
                Objective::Labels => None,
            };
            let tape = forward(g, vec![Value::Tensor(x)], Mode::Train { seed: rng.next_u64() })?;
            let logits = tape.tensor(out).ok_or_else(|| err("the graph produced no output".into()))?;
            let logits = logits.as_slice::<f32>().ok_or_else(|| err("the output is not f32".into()))?;
            let classes = logits.len() / labels.len();
            let (mut l, mut gy) = loss::cross_entropy(logits, classes, &labels, cfg.label_smoothing).map_err(err)?;
            if let (Objective::Distill { temperature, alpha, .. }, Some(t)) = (objective, teacher) {
                let (kd, gkd) = loss::distillation(logits, &t, classes, temperature).map_err(err)?;
                l = alpha * kd + (1.0 - alpha) * l;
                gy.iter_mut().zip(&gkd).for_each(|(g, k)| *g = alpha * k + (1.0 - alpha) * *g);
            }
            let grads = backward(g, &tape, vec![(out, gy)])?;
            update_running_stats(g, &tape);
            let mut is_param = vec![None; g.values.len()];
            for (k, p) in ps.iter().enumerate() {
                is_param[p.index()] = Some(k);
            }
            let zero: Vec<Vec<f32>> =
                ps.iter().map(|p| vec![0.0; g.value(*p).init.as_ref().map_or(0, |t| t.len())]).collect();
            let gs: Vec<&[f32]> =
                ps.iter().enumerate().map(|(k, p)| grads[p.index()].as_deref().unwrap_or(&zero[k])).collect();
            let mut slices: Vec<&mut [f32]> = g
                .values
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| is_param[*i].is_some())
                .filter_map(|(_, v)| v.init.as_mut().and_then(|t| t.typed_mut::<f32>().ok()))
                .collect();
            // `slices` is in value order; put the gradients in the same order.
            let mut order: Vec<usize> = ps.iter().map(|p| p.index()).collect();
            order.sort_unstable();
            let gs: Vec<&[f32]> = order.iter().map(|i| gs[is_param[*i].unwrap_or(0)]).collect();
            opt.step(&mut slices, &gs, schedule.at(step));
            crate::prune::apply(g, &cfg.masks);
            step += 1;
            loss_sum += f64::from(l) * labels.len() as f64;
            hits += f64::from(loss::accuracy(logits, classes, &labels)) * labels.len() as f64;
            seen += labels.len();
            progress(b + 1, batches.len(), (loss_sum / seen as f64) as f32);
        }
        let seconds = start.elapsed().as_secs_f64();
        let test_accuracy = test.map(|t| evaluate(g, t, 256)).transpose()?;
        let e = Epoch {
            epoch: epoch + 1,
            loss: (loss_sum / seen as f64) as f32,
            train_accuracy: (hits / seen as f64) as f32,
            test_accuracy,
            seconds,
            lr,
        };
        on_epoch(&e);
        history.push(e);
    }
    Ok(history)
}

/// `running = momentum * running + (1 - momentum) * batch` for every training-mode
/// BatchNormalization node (ONNX's rule, with the batch's biased variance).
fn update_running_stats(g: &mut Graph, tape: &crate::Tape) {
    for k in 0..g.nodes.len() {
        let Op::Nn(NnOp::BatchNorm { momentum, .. }) = g.nodes[k].op else { continue };
        let Some((mean, var)) = tape.batch_stats(k) else { continue };
        for (slot, batch) in [(3, mean), (4, var)] {
            let Some(Some(id)) = g.nodes[k].inputs.get(slot).copied() else { continue };
            if let Some(t) = g.values[id.index()].init.as_mut()
                && let Ok(run) = t.typed_mut::<f32>()
                && run.len() == batch.len()
            {
                run.iter_mut().zip(batch).for_each(|(r, b)| *r = momentum * *r + (1.0 - momentum) * b);
            }
        }
    }
}
