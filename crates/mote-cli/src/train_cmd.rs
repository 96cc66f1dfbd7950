//! `mote train`: trains a classifier from an architecture spec on `.npy` data and writes ONNX.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mote_ir::Tensor;
use mote_train::arch::{Arch, build};
use mote_train::checkpoint::{Checkpoint, Snapshot};
use mote_train::data::{Augment, Dataset};
use mote_train::fit::{Config, Epoch, Hooks, Objective, Progress, fit};
use mote_train::optim::{Decay, Rule, Schedule};

const HELP: &str = "\
Trains a classifier on the same IR and kernels Mote deploys with, then writes it as ONNX (which
`mote compile`, `mote quantize` and onnxruntime read).

Architectures (--arch KIND:SIZES):
  mlp:64,32          dense layers of 64 and 32 (ReLU), then the classifier
  cnn:16,32          per stage a 3x3 conv + BatchNorm + ReLU + 2x2 max pool; flatten; classifier
  dscnn:64x4         DS-CNN: strided stem, 4 depthwise-separable blocks of 64, global pool
  resnet8:16         ResNet-8: stem and residual stages of 16, 32, 64 channels
  mobilenetv2:0.5    MobileNetV2 inverted residuals at width 0.5
  lstm:64, gru:64    one LSTM (GRU) layer of 64 over [T, F] samples (T steps of F features:
                     audio frames, image rows), its last state, then the classifier
  arch.toml          the same in a file: kind = \"cnn\", channels = [16, 32] (mlp: hidden = [64],
                     dscnn: channels = 64 and blocks = 4, mobilenetv2: width = 0.5,
                     lstm/gru: hidden = [64])

Data: --data X.npy (samples: [N, features], [N, H, W] or [N, C, H, W]; any numeric type) and
--labels y.npy (integers 0..K-1). A seeded --test-split holds out that fraction for the accuracy
printed each epoch. Integer data is scaled by 1/max(X) inside the model (its first node), so the
model takes the raw values; --input-scale sets the factor.

Checkpoints: --checkpoint run.ckpt saves the run's state after every epoch (weights, optimizer
moments, data order); after a crash or a kill, the same command with --resume run.ckpt continues
it, and the result equals a run never stopped, bit for bit.

Fine-tuning: --init model.onnx starts from a trained model instead of --arch; --train-only fc_
trains only the parameters whose name contains `fc_` (the classifier of a built model).

Examples:
  mote train --arch cnn:16,32 --data digits/X.npy --labels digits/y.npy --epochs 15 -o digits.onnx
  mote train --init digits.onnx --train-only fc_ --data new/X.npy --labels new/y.npy --epochs 3 -o ft.onnx";

/// Arguments of `mote train`.
#[derive(clap::Args, Debug)]
#[command(about = "Train a classifier (MLP, CNN, DS-CNN, ResNet-8, MobileNetV2, LSTM, GRU) on .npy data and write ONNX", after_help = HELP)]
pub struct Args {
    /// Architecture: KIND:SIZES, or a .toml file (see below).
    #[arg(long, required_unless_present = "init")]
    arch: Option<String>,
    /// Start from this trained model (.onnx or .tflite) instead of a new one: fine-tuning.
    #[arg(long, conflicts_with = "arch")]
    init: Option<PathBuf>,
    /// Integer class labels (.npy), one per sample.
    #[arg(long)]
    labels: PathBuf,
    #[command(flatten)]
    common: Common,
}

/// The data, optimizer and output options `mote train`, `distill`, `prune` and `qat` share.
#[derive(clap::Args, Clone, Debug)]
pub struct Common {
    /// Samples (.npy).
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the trained model (.onnx).
    #[arg(long, short = 'o')]
    pub output: PathBuf,
    /// Training epochs (fine-tuning epochs for `mote prune`).
    #[arg(long, visible_alias = "finetune-epochs", default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 0.003)]
    pub lr: f32,
    /// sgd, adam or adamw.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// SGD momentum (0 = plain SGD).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    pub nesterov: bool,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// constant, cosine or step:EVERY_EPOCHS:GAMMA.
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// Warm-up epochs (linear).
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f32,
    /// Augmentation: shift=PIXELS,flip,noise=STD,cutout=SIDE (comma-separated).
    #[arg(long, default_value = "")]
    pub augment: String,
    /// Fraction of the samples held out (seeded) for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_split: f32,
    /// Scale applied to the input inside the model (default: 1/max for integer data, else 1).
    #[arg(long)]
    pub input_scale: Option<f32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train only the parameters whose name contains this (e.g. `fc_`: the classifier); the
    /// rest stay frozen.
    #[arg(long)]
    pub train_only: Option<String>,
    /// Save the run's state here after every epoch (atomically), to continue it with --resume.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue the run saved in this checkpoint (same command and data; the result is bit for
    /// bit that of a run never stopped). Give --epochs as the run's total.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Machine-readable output (one JSON document at the end).
    #[arg(long)]
    pub json: bool,
}

fn augment(s: &str) -> Result<Augment> {
    let mut a = Augment::default();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let num = || v.parse::<f32>().with_context(|| format!("--augment {part}: expected {k}=NUMBER"));
        match k {
            "shift" => a.shift = num()? as usize,
            "flip" => a.flip = true,
            "noise" => a.noise = num()?,
            "cutout" => a.cutout = num()? as usize,
            _ => bail!("--augment: unknown `{k}` (shift=N, flip, noise=STD, cutout=N)"),
        }
    }
    Ok(a)
}

/// Loads samples and (when given) labels; returns the dataset (samples as f32; labels 0 when
/// absent) and the default input scale.
pub fn load_data(x: &Path, y: Option<&Path>) -> Result<(Dataset, f32)> {
    let xt = mote_data::read_npy(x)?;
    let shape = xt.shape();
    if shape.is_empty() {
        bail!("`{}` is a scalar, not a set of samples", x.display());
    }
    let labels: Vec<usize> = match y {
        Some(y) => {
            let yt = mote_data::read_npy(y)?;
            if !yt.dtype().is_int() {
                bail!("`{}`: labels must be integers, not {}", y.display(), yt.dtype());
            }
            let l: Vec<usize> = yt
                .to_i64_vec()?
                .into_iter()
                .map(|v| usize::try_from(v).map_err(|_| anyhow::anyhow!("`{}`: label {v} is negative", y.display())))
                .collect::<Result<_>>()?;
            if shape[0] != l.len() {
                bail!("`{}` has shape {shape:?} but `{}` has {} labels", x.display(), y.display(), l.len());
            }
            l
        }
        None => vec![0; shape[0]],
    };
    let values = xt.to_f32_vec()?;
    let scale = if xt.dtype().is_int() {
        let max = values.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
        if max > 0.0 { 1.0 / max } else { 1.0 }
    } else {
        1.0
    };
    let ds = Dataset::new(values, shape[1..].to_vec(), labels).map_err(anyhow::Error::msg)?;
    Ok((ds, scale))
}

/// An architecture from a spec (`cnn:16,32`) or a TOML file (`arch.toml`).
pub fn arch(spec: &str) -> Result<Arch> {
    if spec.ends_with(".toml") {
        let text = std::fs::read_to_string(spec).with_context(|| format!("cannot read `{spec}`"))?;
        return Arch::from_toml(&text).map_err(|e| anyhow::anyhow!("`{spec}`: {e}"));
    }
    Arch::parse(spec).map_err(anyhow::Error::msg)
}

pub fn main(a: Args) -> Result<ExitCode> {
    let (data, default_scale) = load_data(&a.common.data, Some(&a.labels))?;
    let c = &a.common;
    let (g, what) = match (&a.arch, &a.init) {
        (_, Some(init)) => (crate::model_file::load(init)?.graph, init.display().to_string()),
        (Some(spec), None) => {
            let g = build(&arch(spec)?, &data.shape, data.classes(), c.input_scale.unwrap_or(default_scale), c.seed)
                .map_err(anyhow::Error::msg)?;
            (g, spec.clone())
        }
        (None, None) => bail!("give --arch SPEC or --init MODEL"),
    };
    let report = train(c, &what, g, &data, Objective::Labels, Vec::new())?;
    save_and_finish(c, report)
}

/// What a training run made: the trained graph and what to print at the end.
pub struct Report {
    pub json: serde_json::Value,
    pub line: String,
    pub graph: mote_ir::Graph,
}

/// Splits `data` and trains `g` for `objective` with the shared options.
pub fn train(
    c: &Common,
    what: &str,
    mut g: mote_ir::Graph,
    data: &Dataset,
    objective: Objective<'_>,
    masks: mote_train::prune::Masks,
) -> Result<Report> {
    let (train, test) = data.split(c.test_split, c.seed);
    let classes = data.classes();
    let n_params: usize =
        mote_train::params(&g).iter().filter_map(|p| g.value(*p).init.as_ref()).map(Tensor::len).sum();
    let macs = mote_train::arch::macs(&g);
    let rule = match c.optimizer.as_str() {
        "sgd" => Rule::Sgd { momentum: c.momentum, nesterov: c.nesterov },
        "adam" | "adamw" => Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled: c.optimizer == "adamw" },
        other => bail!("--optimizer {other}: use sgd, adam or adamw"),
    };
    let per_epoch = train.len().div_ceil(c.batch.max(1));
    let decay = match c.schedule.split(':').collect::<Vec<_>>().as_slice() {
        ["constant"] => Decay::Constant,
        ["cosine"] => Decay::Cosine { min: 0.0 },
        ["step", every, gamma] => Decay::Step {
            every: every.parse::<usize>().context("--schedule step:EVERY:GAMMA")? * per_epoch,
            gamma: gamma.parse().context("--schedule step:EVERY:GAMMA")?,
        },
        _ => bail!("--schedule {}: use constant, cosine or step:EVERY_EPOCHS:GAMMA", c.schedule),
    };
    let cfg = Config {
        epochs: c.epochs,
        batch: c.batch,
        rule,
        weight_decay: c.weight_decay,
        schedule: Schedule { base: c.lr, decay, warmup: c.warmup * per_epoch, total: 0 },
        label_smoothing: c.label_smoothing,
        augment: augment(&c.augment)?,
        seed: c.seed,
        masks,
        train_only: c.train_only.clone(),
    };
    if !c.json {
        println!(
            "{what} on {} training and {} test samples of {:?}, {classes} classes, {n_params} parameters, {macs} MACs",
            train.len(),
            test.len(),
            data.shape
        );
    }
    let resume = match &c.resume {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read `{}`", p.display()))?;
            let ck = Checkpoint::from_bytes(&bytes).with_context(|| format!("`{}`", p.display()))?;
            if !c.json {
                println!("resuming after epoch {} of {} from {}", ck.epoch(), c.epochs, p.display());
            }
            Some(ck)
        }
        None => None,
    };
    let done = resume.as_ref().map_or(0, Checkpoint::step);
    let bar = (!c.json).then(|| {
        let b = ProgressBar::new((c.epochs * per_epoch) as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} batches  {msg}").expect("a valid progress template"),
        );
        b.set_position(done as u64);
        b
    });
    let mut progress = |p: &Progress| {
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(format!(
                "loss {:.4}  train {:.2}%  {:.0} samples/s",
                p.loss,
                100.0 * p.accuracy,
                p.samples_per_second
            ));
        }
    };
    let mut on_epoch = |e: &Epoch, s: &Snapshot<'_>| {
        if let Some(path) = &c.checkpoint {
            let bytes = s.to_bytes()?;
            crate::model_file::write_atomic(path, &bytes)
                .map_err(|err| mote_train::TrainError::Input(format!("{err:#}")))?;
        }
        if let Some(b) = &bar {
            let test = e.test_accuracy.map_or(String::new(), |t| format!("  test {:.2}%", 100.0 * t));
            let line = format!(
                "epoch {:>3}  loss {:.4}  train {:.2}%{test}  {:.2} s ({:.0} samples/s)  lr {:.2e}",
                e.epoch,
                e.loss,
                100.0 * e.train_accuracy,
                e.seconds,
                train.len() as f64 / e.seconds.max(1e-9),
                e.lr
            );
            // A hidden bar (output not a terminal) prints nothing: print the line itself.
            if b.is_hidden() { println!("{line}") } else { b.println(line) }
        }
        Ok(())
    };
    let test_ref = (!test.is_empty()).then_some(&test);
    let hooks = Hooks { progress: Some(&mut progress), on_epoch: Some(&mut on_epoch) };
    let history = fit(&mut g, &train, test_ref, &cfg, objective, resume.as_ref(), hooks)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let last = history.last().and_then(|e| e.test_accuracy);
    let epochs: Vec<_> = history
        .iter()
        .map(|e| {
            serde_json::json!({"epoch": e.epoch, "loss": e.loss, "train_accuracy": e.train_accuracy,
                "test_accuracy": e.test_accuracy, "seconds": e.seconds, "lr": e.lr})
        })
        .collect();
    let json = serde_json::json!({"model": what, "output": c.output, "parameters": n_params, "macs": macs,
        "train_samples": train.len(), "test_samples": test.len(), "classes": classes,
        "test_accuracy": last, "epochs": epochs});
    let acc = last.map_or("-".to_string(), |t| format!("{:.2}%", 100.0 * t));
    Ok(Report { json, line: format!("wrote {} (test accuracy {acc}, {macs} MACs)", c.output.display()), graph: g })
}

/// Writes the trained graph as ONNX to the output, then prints the report as the options ask.
pub fn save_and_finish(c: &Common, r: Report) -> Result<ExitCode> {
    mote_onnx::export::save(&r.graph, &c.output)?;
    finish(c, &r.json, &r.line)
}

/// Prints the JSON report or the summary line, as the options ask.
pub fn finish(c: &Common, json: &serde_json::Value, line: &str) -> Result<ExitCode> {
    if c.json {
        println!("{}", serde_json::to_string_pretty(json)?);
    } else {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
