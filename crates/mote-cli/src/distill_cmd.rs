//! `mote distill`: trains a small student from a teacher model's soft targets.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use mote_train::arch::{build, macs};
use mote_train::fit::{Objective, predict};

use crate::train_cmd::{Common, load_data, save_and_finish, train};

const HELP: &str = "\
Knowledge distillation: the student (an architecture spec, as for `mote train`) learns the
teacher's softened outputs, loss = alpha * T^2 * KL(softmax(teacher/T) || softmax(student/T)) +
(1 - alpha) * cross-entropy(labels). The teacher (any model Mote imports whose input takes the same
samples and whose first output is the logits) runs on every augmented batch.

Without --labels the data is unlabeled transfer data: alpha is 1 and the accuracy printed is the
student's agreement with the teacher's top-1.

Example:
  mote train --arch cnn:32,64 --data X.npy --labels y.npy -o teacher.onnx
  mote distill --teacher teacher.onnx --student cnn:8,16 --data X.npy --labels y.npy -o student.onnx";

/// Arguments of `mote distill`.
#[derive(clap::Args, Debug)]
#[command(about = "Distill a teacher model into a small student architecture (soft targets, optional labels)", after_help = HELP)]
pub struct Args {
    /// The teacher model (.onnx or .tflite).
    #[arg(long)]
    teacher: PathBuf,
    /// The student architecture: KIND:SIZES (as for `mote train`).
    #[arg(long)]
    student: String,
    /// Integer class labels (.npy); without them the data is unlabeled.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Softmax temperature of the soft targets.
    #[arg(long, default_value_t = 4.0)]
    temperature: f32,
    /// Weight of the distillation term (default 0.9 with labels, 1 without).
    #[arg(long)]
    alpha: Option<f32>,
    #[command(flatten)]
    common: Common,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let c = &a.common;
    let arch = crate::train_cmd::arch(&a.student)?;
    let teacher = crate::model_file::load(&a.teacher)?.graph;
    let (mut data, default_scale) = load_data(&c.data, a.labels.as_deref())?;
    let logits =
        predict(&teacher, &data, 256).map_err(|e| anyhow::anyhow!("the teacher `{}`: {e}", a.teacher.display()))?;
    let classes = logits.len() / data.len().max(1);
    if classes < 2 || logits.len() != classes * data.len() {
        bail!(
            "the teacher's first output is not [N, classes] logits ({} values for {} samples)",
            logits.len(),
            data.len()
        );
    }
    if a.labels.is_none() {
        data.y = logits
            .chunks(classes)
            .map(|r| r.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0)
            .collect();
    } else if data.classes() > classes {
        bail!("the labels go up to {} but the teacher has {classes} outputs", data.classes() - 1);
    }
    let alpha = a.alpha.unwrap_or(if a.labels.is_some() { 0.9 } else { 1.0 });
    if !(0.0..=1.0).contains(&alpha) || a.temperature.is_nan() || a.temperature <= 0.0 {
        bail!("--alpha must be in [0, 1] and --temperature positive");
    }
    let student = build(&arch, &data.shape, classes, c.input_scale.unwrap_or(default_scale), c.seed)
        .map_err(anyhow::Error::msg)?;
    let (tm, sm) = (macs(&teacher), macs(&student));
    let (_, test) = data.split(c.test_split, c.seed);
    let teacher_acc = mote_train::fit::evaluate(&teacher, &test, 256)?;
    if !c.json {
        let what = if a.labels.is_some() { "test accuracy" } else { "(its own labels)" };
        println!(
            "teacher {}: {tm} MACs, {what} {:.2}%; student {sm} MACs ({:.1}% of the teacher)",
            a.teacher.display(),
            100.0 * teacher_acc,
            100.0 * sm as f64 / tm.max(1) as f64
        );
    }
    let objective = Objective::Distill { teacher: &teacher, temperature: a.temperature, alpha };
    let mut report = train(c, &a.student, student, &data, objective, Vec::new())?;
    report.json["teacher"] = serde_json::json!({"model": a.teacher, "macs": tm, "test_accuracy": teacher_acc});
    report.json["temperature"] = serde_json::json!(a.temperature);
    report.json["alpha"] = serde_json::json!(alpha);
    report.json["labels"] = serde_json::json!(a.labels.is_some());
    save_and_finish(c, report)
}
