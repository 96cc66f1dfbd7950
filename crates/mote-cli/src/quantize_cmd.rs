//! `mote quantize`: post-training int8 quantization with calibration data and a report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mote_quant::calib::{CalibConfig, CalibSet, InputConfig};
use mote_quant::pipeline::{Settings, compile_mote, prepare, run};
use mote_quant::report::{Task, html};
use mote_quant::{Method, Quantized};

const HELP: &str = "\
Quantizes a float model to int8 after training. The f32 graph (BatchNorm folded into Conv/Gemm)
runs on the calibration data in the reference interpreter; every f32 tensor's values are
histogrammed and the method picks its range (minmax; percentile[:P], default 99.99; entropy:
TensorRT's KL-divergence search; mse: least expected quantization error). The graph is rewritten
into QDQ form: weights int8 symmetric per output channel (--per-tensor: one scale), activations
int8 asymmetric per tensor, bias int32 (corrected for the mean error of the int8 weights and of the
quantized inputs on the calibration data unless --no-bias-correction), ReLU/Clip fused before the quantization; ops without an
int8 kernel stay f32 between Dequantize and Quantize. Inputs and outputs stay f32.

Calibration data (--calib, files or folders): .npy, .npz, TensorProto .pb, images (png, jpeg, bmp;
--image-spec), 16 kHz mono .wav (chunked to --wav-chunk samples or the input's length); a folder of
folders holds one sample per folder (input_<i>.pb or <name>.npy per input). --calib-crops N takes N
random square crops of the photos (images or u8 .npy HxW/HxWx3) instead. The same settings can
come from a TOML file (--calib-config; see docs/QUANTIZATION.md).

The report compares the QDQ graph (fake-quantized, in the interpreter) with f32 on the calibration
data: per tensor SQNR and cosine similarity, end to end top-1 agreement (classifiers) or max abs /
relative RMS error; --eval measures the end-to-end agreement on other data with the compiled
models (the int8 .mote against the f32 .mote: what a deployment runs). --accuracy-budget PCT
keeps the layers adding the most noise in f32, one at a time, until the loss (100 - top-1
agreement, or the relative RMS error) is at most PCT points.

The output is a .mote (compiled for the calibration inputs' shapes), or with -o X.onnx the QDQ graph
as ONNX (QuantizeLinear/DequantizeLinear pairs, which onnxruntime and `mote compile` read).

With --json the report is printed as JSON (schema in docs/QUANTIZATION.md). When the accuracy
budget cannot be met the file is still written and the exit code is 3.

Examples:
  mote quantize model.onnx --calib samples/ -o model.int8.mote
  mote quantize effnet.onnx --calib photos/ --calib-crops 64 --seed 1 \\
      --image-spec crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw \\
      --method percentile:99.99 --report report.html -o effnet.int8.mote
  mote quantize model.onnx --calib-config calib.toml --accuracy-budget 1 --json -o m.mote";

/// Arguments of `mote quantize`.
#[derive(clap::Args, Debug)]
#[command(about = "Quantize a model to int8 with calibration data (QDQ), with an accuracy report", after_help = HELP)]
pub struct Args {
    /// The float model (.onnx).
    model: PathBuf,
    /// Where to write the quantized model (.mote, or .onnx for the QDQ graph).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Calibration files or folders (repeatable).
    #[arg(long = "calib", value_name = "PATH", num_args = 1..)]
    calib: Vec<PathBuf>,
    /// A TOML file with the calibration settings (command-line options win).
    #[arg(long, value_name = "FILE")]
    calib_config: Option<PathBuf>,
    /// How images become the input tensor, e.g.
    /// `crop=0.875,size=224x224,channels=rgb,mean=127,std=128,layout=nchw`.
    #[arg(long, value_name = "SPEC")]
    image_spec: Option<String>,
    /// Image spec of one input, `NAME=SPEC` (repeatable; multi-input models).
    #[arg(long = "input", value_name = "NAME=SPEC")]
    inputs: Vec<String>,
    /// Samples per chunk of a .wav file (default: the input's static last dimension).
    #[arg(long, value_name = "N")]
    wav_chunk: Option<usize>,
    /// Calibrate on N random crops of the photos instead of the files themselves.
    #[arg(long, value_name = "N")]
    calib_crops: Option<usize>,
    /// Seed of the random calibration crops.
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Use at most N calibration samples.
    #[arg(long, value_name = "N")]
    max_samples: Option<usize>,
    /// Calibration method: minmax, percentile[:P], entropy or mse.
    #[arg(long, default_value = "minmax")]
    method: String,
    /// Weights with one scale per output channel (the default).
    #[arg(long, overrides_with = "per_tensor")]
    per_channel: bool,
    /// Weights with one scale per tensor.
    #[arg(long)]
    per_tensor: bool,
    /// Do not correct Conv/Gemm biases for the mean error of their int8 weights and inputs.
    #[arg(long)]
    no_bias_correction: bool,
    /// Keep layers in f32 until the end-to-end loss is at most PCT percent points.
    #[arg(long, value_name = "PCT")]
    accuracy_budget: Option<f64>,
    /// The end-to-end metric: classify (top-1 agreement) or regress (errors); guessed from the
    /// first output by default.
    #[arg(long)]
    task: Option<String>,
    /// Keep this node in f32 (repeatable).
    #[arg(long = "keep-float", value_name = "NODE")]
    keep_float: Vec<String>,
    /// Evaluation files or folders (end-to-end agreement on data not used to calibrate).
    #[arg(long = "eval", value_name = "PATH", num_args = 1..)]
    eval: Vec<PathBuf>,
    /// Evaluate on N random crops of the --eval photos.
    #[arg(long, value_name = "N")]
    eval_crops: Option<usize>,
    /// Seed of the evaluation crops (use another than --seed).
    #[arg(long, value_name = "S", default_value_t = 1_000_003)]
    eval_seed: u64,
    /// Write the report as HTML (or JSON when the file ends in .json).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Shape of an input for the compiled file, e.g. `x=1,3,224,224` (default: the first
    /// calibration sample's).
    #[arg(long = "shape", value_name = "INPUT=D0,D1,..")]
    shapes: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_config(a: &Args) -> Result<CalibConfig> {
    let file = match &a.calib_config {
        Some(p) => CalibConfig::load(p)?,
        None => CalibConfig::default(),
    };
    let mut inputs = BTreeMap::new();
    for s in &a.inputs {
        let (name, spec) = s.split_once('=').with_context(|| format!("--input `{s}`: expected NAME=SPEC"))?;
        inputs.insert(name.to_string(), InputConfig { image_spec: Some(spec.to_string()) });
    }
    let cli = CalibConfig {
        files: a.calib.clone(),
        image_spec: a.image_spec.clone(),
        inputs,
        wav_chunk: a.wav_chunk,
        crops: a.calib_crops,
        seed: a.seed,
        max_samples: a.max_samples,
    };
    Ok(file.overlay(cli))
}

/// One progress bar per stage, on stderr (hidden when it is not a terminal).
struct Bars {
    stage: String,
    bar: Option<ProgressBar>,
}

impl Bars {
    fn update(&mut self, stage: &str, done: usize, total: usize) {
        if self.stage != stage || self.bar.is_none() {
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} ({elapsed}, eta {eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_message(stage.to_string());
            self.stage = stage.to_string();
            self.bar = Some(b);
        }
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

pub fn main(a: Args) -> Result<ExitCode> {
    let t0 = Instant::now();
    let onnx = a.output.extension().is_some_and(|e| e == "onnx");
    if !onnx && a.output.extension().is_none_or(|e| e != "mote") {
        bail!("the output file should end in .mote or .onnx, got `{}`", a.output.display());
    }
    let method = Method::parse(&a.method).map_err(anyhow::Error::msg)?;
    let task = a.task.as_deref().map(Task::parse).transpose().map_err(anyhow::Error::msg)?;
    if let Some(b) = a.accuracy_budget
        && !(0.0..=100.0).contains(&b)
    {
        bail!("--accuracy-budget {b}: expected percent points in [0, 100]");
    }
    let cfg = parse_config(&a)?;
    let model = crate::model_file::load(&a.model)?;
    let float = prepare(model.graph)?;
    let calib = CalibSet::build(&float, &cfg).context("calibration data")?;
    let eval = if a.eval.is_empty() {
        None
    } else {
        let ecfg = CalibConfig {
            files: a.eval.clone(),
            crops: a.eval_crops,
            seed: Some(a.eval_seed),
            max_samples: None,
            ..cfg.clone()
        };
        Some(CalibSet::build(&float, &ecfg).context("evaluation data")?)
    };
    let settings = Settings {
        method,
        per_channel: !a.per_tensor,
        task,
        budget_pct: a.accuracy_budget,
        keep_float: a.keep_float.iter().cloned().collect(),
        bias_correction: !a.no_bias_correction,
    };
    for n in &settings.keep_float {
        if !float.nodes.iter().any(|x| &x.name == n) {
            bail!("--keep-float {n}: the model (after optimization) has no node `{n}`");
        }
    }
    let mut bars = Bars { stage: String::new(), bar: None };
    let name = a.model.display().to_string();
    let out = run(&name, &float, &calib, eval.as_ref(), &settings, &mut |s, d, t| bars.update(s, d, t));
    bars.finish();
    let out = out?;
    let mut copts = mote_compile::Options::default();
    for s in &a.shapes {
        let (n, dims) = s.split_once('=').with_context(|| format!("--shape `{s}`: expected NAME=D0,D1,.."))?;
        let dims: Vec<usize> = dims
            .split(',')
            .map(|x| x.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--shape `{s}`: bad dims"))?;
        copts.shapes.insert(n.to_string(), dims);
    }
    let bytes = if onnx {
        mote_onnx::export::to_bytes(&out.quantized.graph).context("writing the QDQ graph as ONNX")?
    } else {
        compile_mote(&out.quantized.graph, &calib.load(0)?, copts)?.bytes
    };
    crate::model_file::write_atomic(&a.output, &bytes)?;
    if let Some(p) = &a.report {
        let text = if p.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(&out.report)?
        } else {
            html::render(&out.report)
        };
        std::fs::write(p, text).with_context(|| format!("cannot write the report `{}`", p.display()))?;
    }
    if a.json {
        let mut v = serde_json::to_value(&out.report)?;
        v["output"] = serde_json::json!(a.output.display().to_string());
        v["file_bytes"] = serde_json::json!(bytes.len());
        v["seconds"] = serde_json::json!(t0.elapsed().as_secs_f64());
        println!("{v:#}");
    } else {
        print!("{}", out.report.summary());
        println!(
            "wrote {} ({} bytes, {:.1} s){}",
            a.output.display(),
            bytes.len(),
            t0.elapsed().as_secs_f64(),
            a.report.as_ref().map_or(String::new(), |p| format!("; report {}", p.display()))
        );
        float_note(&out.quantized);
    }
    Ok(if out.report.budget_met { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

fn float_note(q: &Quantized) {
    if !q.float_nodes.is_empty() {
        let mut ops: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, op) in &q.float_nodes {
            *ops.entry(op).or_default() += 1;
        }
        let list: Vec<String> = ops.iter().map(|(o, n)| format!("{o} {n}")).collect();
        println!("left in f32: {}", list.join(", "));
    }
}
