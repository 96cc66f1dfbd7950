//! `mote train`: trains a classifier from an architecture spec on `.npy` data and writes ONNX.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mote_ir::Tensor;
use mote_train::arch::{Arch, build};
use mote_train::data::{Augment, Dataset};
use mote_train::fit::{Config, Epoch, fit};
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

Data: --data X.npy (samples: [N, features], [N, H, W] or [N, C, H, W]; any numeric type) and
--labels y.npy (integers 0..K-1). A seeded --test-split holds out that fraction for the accuracy
printed each epoch. Integer data is scaled by 1/max(X) inside the model (its first node), so the
model takes the raw values; --input-scale sets the factor.

Example:
  mote train --arch cnn:16,32 --data digits/X.npy --labels digits/y.npy --epochs 15 -o digits.onnx";

/// Arguments of `mote train`.
#[derive(clap::Args, Debug)]
#[command(about = "Train a classifier (MLP, CNN, DS-CNN, ResNet-8, MobileNetV2) on .npy data and write ONNX", after_help = HELP)]
pub struct Args {
    /// Architecture: KIND:SIZES (see below).
    #[arg(long)]
    arch: String,
    /// Samples (.npy).
    #[arg(long)]
    data: PathBuf,
    /// Integer class labels (.npy), one per sample.
    #[arg(long)]
    labels: PathBuf,
    /// Where to write the trained model (.onnx).
    #[arg(long, short = 'o')]
    output: PathBuf,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 0.003)]
    lr: f32,
    /// sgd, adam or adamw.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// SGD momentum (0 = plain SGD).
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// Nesterov momentum (SGD).
    #[arg(long)]
    nesterov: bool,
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// constant, cosine or step:EVERY_EPOCHS:GAMMA.
    #[arg(long, default_value = "cosine")]
    schedule: String,
    /// Warm-up epochs (linear).
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f32,
    /// Augmentation: shift=PIXELS,flip,noise=STD,cutout=SIDE (comma-separated).
    #[arg(long, default_value = "")]
    augment: String,
    /// Fraction of the samples held out (seeded) for testing.
    #[arg(long, default_value_t = 0.2)]
    test_split: f32,
    /// Scale applied to the input inside the model (default: 1/max for integer data, else 1).
    #[arg(long)]
    input_scale: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Machine-readable output (one JSON document at the end).
    #[arg(long)]
    json: bool,
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

/// Loads samples and labels; returns the dataset (samples as f32) and the default input scale.
pub fn load_data(x: &Path, y: &Path) -> Result<(Dataset, f32)> {
    let xt = mote_data::read_npy(x)?;
    let yt = mote_data::read_npy(y)?;
    if !yt.dtype().is_int() {
        bail!("`{}`: labels must be integers, not {}", y.display(), yt.dtype());
    }
    let labels: Vec<usize> = yt
        .to_i64_vec()?
        .into_iter()
        .map(|v| usize::try_from(v).map_err(|_| anyhow::anyhow!("`{}`: label {v} is negative", y.display())))
        .collect::<Result<_>>()?;
    let shape = xt.shape();
    if shape.is_empty() || shape[0] != labels.len() {
        bail!("`{}` has shape {shape:?} but `{}` has {} labels", x.display(), y.display(), labels.len());
    }
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

pub fn main(a: Args) -> Result<ExitCode> {
    let arch = Arch::parse(&a.arch).map_err(anyhow::Error::msg)?;
    let (data, default_scale) = load_data(&a.data, &a.labels)?;
    let (train, test) = data.split(a.test_split, a.seed);
    let classes = data.classes();
    let mut g = build(&arch, &data.shape, classes, a.input_scale.unwrap_or(default_scale), a.seed)
        .map_err(anyhow::Error::msg)?;
    let n_params: usize =
        mote_train::params(&g).iter().filter_map(|p| g.value(*p).init.as_ref()).map(Tensor::len).sum();
    let rule = match a.optimizer.as_str() {
        "sgd" => Rule::Sgd { momentum: a.momentum, nesterov: a.nesterov },
        "adam" | "adamw" => Rule::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, decoupled: a.optimizer == "adamw" },
        other => bail!("--optimizer {other}: use sgd, adam or adamw"),
    };
    let per_epoch = train.len().div_ceil(a.batch.max(1));
    let decay = match a.schedule.split(':').collect::<Vec<_>>().as_slice() {
        ["constant"] => Decay::Constant,
        ["cosine"] => Decay::Cosine { min: 0.0 },
        ["step", every, gamma] => Decay::Step {
            every: every.parse::<usize>().context("--schedule step:EVERY:GAMMA")? * per_epoch,
            gamma: gamma.parse().context("--schedule step:EVERY:GAMMA")?,
        },
        _ => bail!("--schedule {}: use constant, cosine or step:EVERY_EPOCHS:GAMMA", a.schedule),
    };
    let cfg = Config {
        epochs: a.epochs,
        batch: a.batch,
        rule,
        weight_decay: a.weight_decay,
        schedule: Schedule { base: a.lr, decay, warmup: a.warmup * per_epoch, total: 0 },
        label_smoothing: a.label_smoothing,
        augment: augment(&a.augment)?,
        seed: a.seed,
    };
    if !a.json {
        println!(
            "{} on {} training and {} test samples of {:?}, {classes} classes, {n_params} parameters",
            a.arch,
            train.len(),
            test.len(),
            data.shape
        );
    }
    let bar = (!a.json).then(|| {
        let b = ProgressBar::new((a.epochs * per_epoch) as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} batches  {msg}").expect("a valid progress template"),
        );
        b
    });
    let mut progress = |_: usize, _: usize, loss: f32| {
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(format!("loss {loss:.4}"));
        }
    };
    let mut on_epoch = |e: &Epoch| {
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
    };
    let test_ref = (!test.is_empty()).then_some(&test);
    let history = fit(&mut g, &train, test_ref, &cfg, &mut progress, &mut on_epoch)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    mote_onnx::export::save(&g, &a.output)?;
    let last = history.last();
    if a.json {
        let epochs: Vec<_> = history
            .iter()
            .map(|e| {
                serde_json::json!({"epoch": e.epoch, "loss": e.loss, "train_accuracy": e.train_accuracy,
                    "test_accuracy": e.test_accuracy, "seconds": e.seconds, "lr": e.lr})
            })
            .collect();
        let v = serde_json::json!({"arch": a.arch, "output": a.output, "parameters": n_params,
            "train_samples": train.len(), "test_samples": test.len(), "classes": classes,
            "test_accuracy": last.and_then(|e| e.test_accuracy), "epochs": epochs});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let acc = last.and_then(|e| e.test_accuracy).map_or("-".to_string(), |t| format!("{:.2}%", 100.0 * t));
        println!("wrote {} (test accuracy {acc})", a.output.display());
    }
    Ok(ExitCode::SUCCESS)
}
