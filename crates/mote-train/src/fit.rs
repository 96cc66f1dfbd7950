//! The training loop: seeded shuffled batches, augmentation, forward in training mode, a loss,
//! backward, one optimizer step per batch, BatchNorm running statistics; evaluation.

use std::time::Instant;

use mote_ir::ops::nn::NnOp;
use mote_ir::{Graph, Op, Tensor, Value};

use crate::checkpoint::{Checkpoint, Snapshot};
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
    /// Train only the parameters whose value name contains this (e.g. `fc_` for the classifier
    /// of a built model); the others stay as they are.
    pub train_only: Option<String>,
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Progress inside an epoch, after each batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Batches done in this epoch, and its batch count.
    pub batch: usize,
    pub batches: usize,
    /// Running means over the epoch's batches so far.
    pub loss: f32,
    pub accuracy: f32,
    /// Training throughput so far in this epoch.
    pub samples_per_second: f64,
}

/// What `fit` reports while it runs (`Hooks::default()`: nothing).
#[derive(Default)]
pub struct Hooks<'a> {
    /// After every batch.
    pub progress: Option<&'a mut dyn FnMut(&Progress)>,
    /// After every epoch, with the run's state (to save as a checkpoint). An error stops the run.
    pub on_epoch: Option<&'a mut dyn FnMut(&Epoch, &Snapshot<'_>) -> Result<(), TrainError>>,
}

impl std::fmt::Debug for Hooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("progress", &self.progress.is_some())
            .field("on_epoch", &self.on_epoch.is_some())
            .finish()
    }
}

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
/// `objective`, from scratch or continuing `resume` (a checkpoint of the same model and run:
/// the result is bit for bit that of the run never stopped). Returns every epoch's numbers,
/// the resumed ones included.
pub fn fit(
    g: &mut Graph,
    train: &Dataset,
    test: Option<&Dataset>,
    cfg: &Config,
    objective: Objective<'_>,
    resume: Option<&Checkpoint>,
    mut hooks: Hooks<'_>,
) -> Result<Vec<Epoch>, TrainError> {
    if train.is_empty() || cfg.batch == 0 {
        return Err(err("no training samples, or a batch size of 0".into()));
    }
    let mut ps = params(g);
    if let Some(part) = &cfg.train_only {
        ps.retain(|p| g.value(*p).name.contains(part.as_str()));
        if ps.is_empty() {
            return Err(err(format!("no parameter name contains `{part}`")));
        }
    }
    if ps.is_empty() {
        return Err(err("the graph has no parameters to train".into()));
    }
    let out = *g.outputs.first().ok_or_else(|| err("the graph has no output".into()))?;
    let per_epoch = train.len().div_ceil(cfg.batch);
    let schedule = Schedule { total: cfg.epochs * per_epoch, ..cfg.schedule };
    let (mut opt, mut rng, mut history, mut step) = match resume {
        Some(c) => {
            c.check_run(cfg.batch, train.len())?;
            c.restore(g)?;
            (c.optimizer(cfg.rule, cfg.weight_decay)?, c.rng(), c.history().to_vec(), c.step())
        }
        None => (Optimizer::new(cfg.rule, cfg.weight_decay), Rng::new(cfg.seed), Vec::new(), 0),
    };
    // Parameters in value order: the optimizer's order.
    let mut order: Vec<usize> = ps.iter().map(|p| p.index()).collect();
    order.sort_unstable();
    let zero: Vec<Vec<f32>> =
        order.iter().map(|&i| vec![0.0; g.values[i].init.as_ref().map_or(0, Tensor::len)]).collect();
    for epoch in history.len()..cfg.epochs {
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
            update_running_stats(g, &tape, cfg.train_only.as_deref());
            let gs: Vec<&[f32]> = order.iter().zip(&zero).map(|(&i, z)| grads[i].as_deref().unwrap_or(z)).collect();
            // Value order, as `order`; `params` only returns f32 constants.
            let mut slices: Vec<&mut [f32]> = g
                .values
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| order.binary_search(i).is_ok())
                .filter_map(|(_, v)| v.init.as_mut().and_then(|t| t.typed_mut::<f32>().ok()))
                .collect();
            opt.step(&mut slices, &gs, schedule.at(step));
            crate::prune::apply(g, &cfg.masks);
            step += 1;
            loss_sum += f64::from(l) * labels.len() as f64;
            hits += f64::from(loss::accuracy(logits, classes, &labels)) * labels.len() as f64;
            seen += labels.len();
            if let Some(p) = hooks.progress.as_mut() {
                p(&Progress {
                    batch: b + 1,
                    batches: batches.len(),
                    loss: (loss_sum / seen as f64) as f32,
                    accuracy: (hits / seen as f64) as f32,
                    samples_per_second: seen as f64 / start.elapsed().as_secs_f64().max(1e-9),
                });
            }
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
        history.push(e.clone());
        if let Some(f) = hooks.on_epoch.as_mut() {
            let snap = Snapshot {
                graph: g,
                optimizer: &opt,
                rng: &rng,
                epoch: epoch + 1,
                step,
                history: &history,
                batch: cfg.batch,
                train_samples: train.len(),
            };
            f(&e, &snap)?;
        }
    }
    Ok(history)
}

/// `running = momentum * running + (1 - momentum) * batch` for every training-mode
/// BatchNormalization node (ONNX's rule, with the batch's biased variance); with `train_only`,
/// only for those whose scale is trained (a frozen layer keeps its statistics).
fn update_running_stats(g: &mut Graph, tape: &crate::Tape, train_only: Option<&str>) {
    for k in 0..g.nodes.len() {
        let Op::Nn(NnOp::BatchNorm { momentum, .. }) = g.nodes[k].op else { continue };
        let scale = g.nodes[k].inputs.get(1).copied().flatten();
        if let Some(part) = train_only
            && !scale.is_some_and(|s| g.value(s).name.contains(part))
        {
            continue;
        }
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
