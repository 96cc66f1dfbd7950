//! `mote qat`: quantization-aware training of a float model, written as an int8 `.mote`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use mote_ir::{Graph, Value};
use mote_quant::Method;
use mote_quant::calib::{CalibConfig, CalibSet};
use mote_quant::pipeline::{Settings, prepare, run};
use mote_train::data::Dataset;
use mote_train::fit::{Objective, predict};
use mote_train::loss::accuracy;

use crate::train_cmd::{Common, finish, load_data, train};

const HELP: &str = "\
Quantization-aware training. The float model is quantized after training first (as `mote
quantize` does: BatchNorm folded, per-channel int8 weights, int8 activations calibrated on
--calib-samples training samples), then trained further with its weights fake-quantized: the
forward pass computes every int8 unit (convolution, dense, add, mul, pooling, mean, softmax,
tables, concatenation) with the integer kernels and parameters of the compiled int8 steps, so it is bit for bit what the
.mote computes; the gradients are those of the units' float ops, passed straight through the
quantizers (zero where a value was clamped). The result is compiled to an int8 .mote for batch 1.

The report gives the test accuracy of the f32 model, of post-training quantization and of QAT,
both int8 numbers measured by running the compiled .mote (the integer steps a device runs), and
how far the training-time forward pass was from those integer steps (measured on the test split:
0 when every unit is computed in integers).

Example:
  mote qat digits.onnx --data X.npy --labels y.npy --epochs 3 --lr 0.0003 -o digits.int8.mote";

/// Arguments of `mote qat`.
#[derive(clap::Args, Debug)]
#[command(about = "Quantization-aware training: fine-tune with fake-quantized weights, write an int8 .mote", after_help = HELP)]
pub struct Args {
    /// The float model (.onnx).
    model: PathBuf,
    /// Integer class labels (.npy).
    #[arg(long)]
    labels: PathBuf,
    /// Training samples used to calibrate the activation ranges.
    #[arg(long, default_value_t = 256)]
    calib_samples: usize,
    /// Range method for the calibration (minmax, percentile[:P], entropy, mse).
    #[arg(long, default_value = "minmax")]
    method: String,
    #[command(flatten)]
    common: Common,
}

/// The logits of `data` from `g` compiled and run by the runtime (one batch of all samples).
fn runtime_logits(g: &Graph, data: &Dataset) -> Result<Vec<f32>> {
    let input = g.value(g.runtime_inputs()[0]).name.clone();
    let (x, _) = data.batch(&(0..data.len()).collect::<Vec<_>>());
    let mut opts = mote_compile::Options::default();
    opts.shapes.insert(input.clone(), x.shape().to_vec());
    let c = mote_compile::compile(g.clone(), &opts).map_err(|e| anyhow!("compiling: {e}"))?;
    let buf = mote_rt::host::AlignedBuf::from_bytes(&c.bytes);
    let rt = mote_rt::Runtime::load(buf.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
    let out = mote_compile::host::run_named(&rt, &mut arena, &[(input, Value::Tensor(x))]).map_err(|e| anyhow!(e))?;
    match out.into_iter().next() {
        Some(Value::Tensor(t)) => Ok(t.to_f32_vec()?),
        _ => bail!("the compiled model has no tensor output"),
    }
}

fn acc(logits: &[f32], data: &Dataset) -> f32 {
    accuracy(logits, logits.len() / data.len().max(1), &data.y)
}

pub fn main(a: Args) -> Result<ExitCode> {
    let c = &a.common;
    if c.output.extension().is_none_or(|e| e != "mote") {
        bail!("the output file should end in .mote, got `{}`", c.output.display());
    }
    let float = prepare(crate::model_file::load(&a.model)?.graph)?;
    let (data, _) = load_data(&c.data, Some(&a.labels))?;
    let (train_set, test) = data.split(c.test_split, c.seed);
    // Calibration: the first training samples, as one batch file.
    let dir = std::env::temp_dir().join(format!("mote-qat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let n = a.calib_samples.clamp(1, train_set.len());
    let (batch, _) = train_set.batch(&(0..n).collect::<Vec<_>>());
    let calib_file = dir.join("calib.npy");
    mote_data::write_npy(&calib_file, &batch)?;
    let cfg = CalibConfig { files: vec![calib_file], ..CalibConfig::default() };
    let calib = CalibSet::build(&float, &cfg).context("calibration data");
    let settings = Settings { method: Method::parse(&a.method).map_err(anyhow::Error::msg)?, ..Settings::default() };
    let ptq =
        calib.and_then(|calib| run(&a.model.display().to_string(), &float, &calib, None, &settings, &mut |_, _, _| {}));
    std::fs::remove_dir_all(&dir).ok();
    let ptq = ptq?;
    let f32_acc = acc(&runtime_logits(&float, &test)?, &test);
    let ptq_acc = acc(&runtime_logits(&ptq.quantized.graph, &test)?, &test);
    let (qg, fake) = mote_train::qat::prepare(&ptq.quantized.graph).map_err(anyhow::Error::msg)?;
    if !c.json {
        println!(
            "f32 {:.2}%, post-training int8 {:.2}% (test split, compiled); {fake} weights and biases fake-quantized",
            100.0 * f32_acc,
            100.0 * ptq_acc
        );
    }
    let trained = train(c, "qat", qg, &data, Objective::Labels, Vec::new())?.graph;
    let runtime = runtime_logits(&trained, &test)?;
    let qat_acc = acc(&runtime, &test);
    // How far the training-time forward (the QDQ arithmetic) is from the integer steps.
    let sim = predict(&trained, &test, 256)?;
    let max_diff = sim.iter().zip(&runtime).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let top1_same =
        sim.chunks(runtime.len() / test.len().max(1)).zip(runtime.chunks(runtime.len() / test.len().max(1)));
    let agree = top1_same.filter(|(s, r)| argmax(s) == argmax(r)).count() as f32 / test.len().max(1) as f32;
    let units = mote_train::qat::units(&trained).map_err(anyhow::Error::msg)?;
    let float_nodes: Vec<String> = units.float.iter().map(|(n, why)| format!("{n} ({why})")).collect();
    // The deployable file: batch 1.
    let input = trained.value(trained.runtime_inputs()[0]).name.clone();
    let mut shape = vec![1];
    shape.extend(&data.shape);
    let mut opts = mote_compile::Options::default();
    opts.shapes.insert(input, shape);
    let compiled = mote_compile::compile(trained, &opts).map_err(|e| anyhow!("compiling: {e}"))?;
    crate::model_file::write_atomic(&c.output, &compiled.bytes)?;
    let json = serde_json::json!({"model": a.model, "output": c.output, "file_bytes": compiled.bytes.len(),
        "f32_accuracy": f32_acc, "ptq_accuracy": ptq_acc, "qat_accuracy": qat_acc,
        "fake_quantized": fake, "training_forward_vs_int8": {"max_abs_logit_diff": max_diff, "top1_agreement": agree,
            "int8_units": units.integer, "float_nodes_reading_int8": float_nodes}});
    let line = format!(
        "wrote {} ({} bytes): test accuracy f32 {:.2}%, post-training int8 {:.2}%, QAT int8 {:.2}% (compiled); \
         training forward vs int8 steps: max difference {max_diff}, top-1 agreement {:.2}%; {} int8 units \
         computed in integers{}",
        c.output.display(),
        compiled.bytes.len(),
        100.0 * f32_acc,
        100.0 * ptq_acc,
        100.0 * qat_acc,
        100.0 * agree,
        units.integer,
        if float_nodes.is_empty() {
            String::new()
        } else {
            format!("; float nodes reading int8 values (exact only within f32 rounding): {}", float_nodes.join(", "))
        }
    );
    finish(c, &json, &line)
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |b, (i, &x)| if x > b.1 { (i, x) } else { b }).0
}
