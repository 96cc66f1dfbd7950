//! `mote compile`: an ONNX model to a `.mote` file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mote_compile::{Options, Target, compile};
use serde_json::json;

const HELP: &str = "\
Compiles a model for the Mote runtime: static shapes (give symbolic input dims with --shape or
--dim), constant inputs (--const; branches on them fold away), graph optimization (constant
folding, dead code, BatchNorm folded into Conv/Gemm), activation fusion, in-place element-wise ops,
layout choice (chains of pointwise and depthwise convolutions with channels in multiples of 8 run
in the channel-blocked layout NCHWc8; --nchw keeps every tensor NCHW), and a static memory plan
(one arena, offsets fixed at compile time; string inputs get a fixed byte capacity,
--string-bytes). The output is checked by loading it in the runtime before
it is written; the write is atomic.

Sequence and optional inputs are bound like dims: --seq x=3 makes sequence input x three tensor
inputs x[0], x[1], x[2] (an optional sequence input: present with 3), --absent o compiles optional
input o as empty (an optional tensor input is present otherwise). `mote run` on the .mote still
takes and prints them as sequences and optionals. An If whose condition is an input compiles both
branches behind a conditional step (--const on the condition folds it away instead).

Quantized (QDQ) graphs run in int8: every Conv (also depthwise), Gemm/MatMul, Add, Mul, pooling,
mean and Softmax between DequantizeLinear (int8 activations, per tensor; constant int8 weights,
per output channel) and QuantizeLinear becomes one integer step with TFLite's fixed-point
requantization (the same bits on every CPU, equal to TFLite Micro), a Relu/Clip before the
QuantizeLinear becomes its clamp, and the int8 tensors stay channels-last. The report lists the
int8 nodes and any node that reads int8 activations but stays float.

Every node the compiled path cannot take is listed, with the reason (the .onnx still runs in the
reference interpreter: `mote run model.onnx`).

Size options. --dynamic-int8 quantizes the weights of every Conv, MatMul and Gemm with a
constant f32 weight (and of LSTMs run one step at a time, e.g. silero_vad per chunk) to int8,
symmetric per output channel, and computes with the activations quantized at run time (u8, one
scale per tensor per call): ONNX Runtime's dynamic form, DynamicQuantizeLinear -> ConvInteger /
MatMulInteger (exact i32) -> Cast -> Mul by the scales -> Add of the bias. Weights with fewer
than --dynamic-min-weights values (default 1024) and nodes named with --keep-f32 stay f32; the
report lists both. Accuracy depends on the model: measure it (docs/QUANTIZATION.md has
silero_vad's per-layer numbers). --weights f16 stores the f32 weights of 1024 values or more as
f16 (half their bytes); a Cast step widens each one into the arena just before its first use
(the arena grows by about the largest weight; every run pays one pass over the weights).

Targets and budgets. --target cortex-m4 (also cortex-m7, cortex-m33) plans for a
microcontroller: kernels get their smallest scratch (the same results, a smaller arena), and the
file is checked against the target before it is written: RAM (arena + the runtime's state and
stack, measured on the target; inputs and outputs live in the arena) against --ram, flash (the
.mote, which runs in place, + the runtime core + the code of exactly the ops the model uses, as
measured in docs/FOOTPRINT.md) against --flash, and ops the target's runtime lacks (string and
text ops on microcontrollers). When the model does not fit, nothing is written and the error
names the step at the peak, the largest live tensors there, the largest weights, and by how many
bytes each budget is exceeded. The budgets default to a typical part (cortex-m4: 256K RAM, 1M
flash); --ram and --flash apply to every target. `mote inspect --target` shows the same report
without writing a file.

With --json the output is one object with: output, nodes, steps, fused_activations, in_place,
arena_bytes, scratch_bytes, peak_live_bytes, weights_bytes, file_bytes, compile_ms, int8_nodes
(the nodes of a QDQ graph that run as integer steps: node, op), float_in_qdq (nodes that read
int8 activations but run in f32: node, op, why), and with --dynamic-int8 dynamic_int8
(quantized: node names, kept_f32: [name, reason] pairs), and fit (the target report: ram,
flash, peak, largest_weights, lacks, problems).

Examples:
  mote compile model.onnx -o model.mote
  mote compile det.onnx -o det.mote --shape x=1,3,640,640 --target x86_64
  mote compile kws_ref_model.tflite --dim batch=1 --target cortex-m4 -o kws.mote
  mote compile vww_96_int8.tflite --dim batch=1 --target cortex-m4 --ram 128K --flash 512K -o vww.mote
  mote compile silero_vad.onnx -o vad.mote --shape input=1,576 --shape state=2,1,128 --const sr=16000
  mote compile silero_vad.onnx -o vad.int8.mote --shape input=1,576 --shape state=2,1,128 --const sr=16000 \
      --dynamic-int8 --keep-f32 stft/ --keep-f32 encoder/0/ --keep-f32 encoder/1/ --keep-f32 encoder/2/
  mote compile efficientnet_lite0.onnx -o effnet.f16.mote --weights f16
  mote run model.mote --input-dir test_data_set_0 --expect test_data_set_0";

/// Arguments of `mote compile`.
#[derive(clap::Args, Debug)]
#[command(about = "Compile a model to a .mote file (static shapes, fused ops, planned memory)", after_help = HELP)]
pub struct Args {
    /// The model file (.onnx).
    model: PathBuf,
    /// Where to write the .mote file.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Target: generic, x86_64, aarch64, wasm32, cortex-m4, cortex-m7 or cortex-m33.
    #[arg(long, default_value = "generic")]
    target: String,
    #[command(flatten)]
    budget: crate::fit::BudgetArgs,
    /// Shape of an input, e.g. `x=1,3,224,224` (repeatable).
    #[arg(long = "shape", value_name = "INPUT=D0,D1,..")]
    shapes: Vec<String>,
    /// Size of a symbolic dim everywhere it appears, e.g. `N=1` (repeatable).
    #[arg(long = "dim", value_name = "SYMBOL=SIZE")]
    dims: Vec<String>,
    /// Fix an input to a constant, e.g. `sr=16000` (comma-separated for a 1-D value; the
    /// element type is the input's): branches on it fold away (repeatable).
    #[arg(long = "const", value_name = "INPUT=VALUE")]
    consts: Vec<String>,
    /// Length of a sequence input (or of an optional sequence input, present), e.g. `x=3`: its
    /// tensors become inputs `x[0]`.. (shapes as the model declares its elements, or `--shape
    /// x[0]=..`; repeatable).
    #[arg(long = "seq", value_name = "INPUT=LEN")]
    seqs: Vec<String>,
    /// Compile an optional input as absent (an empty optional; repeatable).
    #[arg(long = "absent", value_name = "INPUT")]
    absent: Vec<String>,
    /// Keep every tensor in NCHW (no channel-blocked convolutions).
    #[arg(long)]
    nchw: bool,
    /// Keep pruned weights on the dense kernels (by default a 1x1 convolution or Gemm/MatMul
    /// whose constant weight is at least 60% zeros runs on the sparse kernel).
    #[arg(long)]
    no_sparse: bool,
    /// Bytes of text each string input holds (its pool; default: 64 per element, at least
    /// 256). Longer input strings are refused when the model runs.
    #[arg(long, value_name = "N")]
    string_bytes: Option<usize>,
    /// Most pieces StringSplit may give one string (default 64; more is a run-time error).
    #[arg(long, value_name = "N")]
    string_pieces: Option<usize>,
    /// Dynamic int8 quantization of Conv, MatMul, Gemm and one-step LSTM weights (activations
    /// quantized at run time).
    #[arg(long)]
    dynamic_int8: bool,
    /// With --dynamic-int8: weights with fewer values stay f32.
    #[arg(long, value_name = "N", default_value_t = mote_compile::dynamic::DEFAULT_MIN_WEIGHTS)]
    dynamic_min_weights: usize,
    /// With --dynamic-int8: nodes whose name contains NAME stay f32 (repeatable).
    #[arg(long = "keep-f32", value_name = "NAME")]
    keep_f32: Vec<String>,
    /// Weight storage: f32, or f16 (half the bytes, widened at run time).
    #[arg(long, default_value = "f32", value_parser = ["f32", "f16"])]
    weights: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let t0 = Instant::now();
    let target = crate::fit::parse_target(&a.target)?;
    let budgets = a.budget.budgets()?;
    let mut opts = Options {
        target,
        nchw_only: a.nchw,
        no_sparse: a.no_sparse,
        string_bytes: a.string_bytes,
        string_pieces: a.string_pieces,
        weights_f16: a.weights == "f16",
        ..Options::default()
    };
    if a.dynamic_int8 {
        opts.dynamic_int8 =
            Some(mote_compile::dynamic::DynamicInt8 { min_weights: a.dynamic_min_weights, keep: a.keep_f32.clone() });
    } else if !a.keep_f32.is_empty() {
        bail!("--keep-f32 only applies with --dynamic-int8");
    }
    bind_sizes(&mut opts, &a.shapes, &a.dims)?;
    if a.output.extension().is_none_or(|e| e != "mote") {
        bail!("the output file should end in .mote, got `{}`", a.output.display());
    }
    for s in &a.seqs {
        let (name, n) = s.split_once('=').with_context(|| format!("--seq `{s}`: expected INPUT=LEN"))?;
        let n: usize = n.trim().parse().with_context(|| format!("--seq `{s}`: bad length"))?;
        opts.structures.insert(name.to_string(), mote_compile::Structure::sequence(n));
    }
    for name in &a.absent {
        opts.structures.insert(name.clone(), mote_compile::Structure::Optional(None));
    }
    let model = crate::model_file::load(&a.model)?;
    for s in &a.consts {
        let (name, t) = parse_const(&model.graph, s)?;
        opts.constants.insert(name, t);
    }
    let c = compile(model.graph, &opts).with_context(|| format!("cannot compile `{}`", a.model.display()))?;
    let fit = (target != Target::Generic || a.budget.given())
        .then(|| mote_compile::budget::check(&c.bytes, target, budgets))
        .transpose()
        .map_err(|e| anyhow::anyhow!("cannot check the compiled model against {}: {e}", target.name()))?;
    if let Some(f) = fit.as_ref().filter(|f| !f.problems().is_empty()) {
        if a.json {
            println!("{:#}", json!({ "output": null, "target": target.name(), "fit": crate::fit::fit_json(f) }));
        }
        let problems: Vec<String> = f.problems().iter().map(|p| format!("  - {p}")).collect();
        bail!(
            "`{}` does not fit {} ({}); nothing was written:\n{}",
            a.model.display(),
            target.name(),
            target.profile().describe,
            problems.join("\n")
        );
    }
    crate::model_file::write_atomic(&a.output, &c.bytes)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let r = &c.report;
    if a.json {
        let mut v = json!({
            "output": a.output.display().to_string(),
            "target": target.name(),
            "nodes": r.nodes, "steps": r.steps, "fused_activations": r.fused_activations, "in_place": r.in_place,
            "arena_bytes": r.arena_bytes, "scratch_bytes": r.scratch_bytes, "peak_live_bytes": r.peak_live_bytes,
            "weights_bytes": r.weights_bytes, "file_bytes": r.file_bytes, "compile_ms": ms,
            "int8_nodes": r.int8.iter().map(|(n, o)| json!({"node": n, "op": o})).collect::<Vec<_>>(),
            "float_in_qdq": r.float_in_qdq.iter().map(|(n, o, w)| json!({"node": n, "op": o, "why": w})).collect::<Vec<_>>(),
        });
        if let Some(f) = &fit {
            v["fit"] = crate::fit::fit_json(f);
        }
        if a.dynamic_int8 {
            v["dynamic_int8"] = json!({ "quantized": r.dynamic.quantized, "kept_f32": r.dynamic.kept });
        }
        println!("{v:#}");
    } else {
        println!("wrote {} ({ms:.0} ms, target {})", a.output.display(), target.name());
        println!("{r}");
        if let Some(f) = &fit {
            println!("{f}");
        }
        if a.dynamic_int8 {
            println!("dynamic int8: {} nodes quantized", r.dynamic.quantized.len());
            for (name, why) in &r.dynamic.kept {
                println!("  kept f32: {name} ({why})");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--shape NAME=D0,D1,..` and `--dim SYMBOL=SIZE` flags into `opts` (`compile`, `inspect --target`).
pub fn bind_sizes(opts: &mut Options, shapes: &[String], dims: &[String]) -> Result<()> {
    for s in shapes {
        let (name, d) = s.split_once('=').with_context(|| format!("--shape `{s}`: expected NAME=D0,D1,.."))?;
        let d: Vec<usize> = d
            .split(',')
            .map(|x| x.trim().parse())
            .collect::<Result<_, _>>()
            .with_context(|| format!("--shape `{s}`: bad dims"))?;
        opts.shapes.insert(name.to_string(), d);
    }
    for s in dims {
        let (sym, n) = s.split_once('=').with_context(|| format!("--dim `{s}`: expected SYMBOL=SIZE"))?;
        opts.dims.insert(sym.to_string(), n.trim().parse().with_context(|| format!("--dim `{s}`: bad size"))?);
    }
    Ok(())
}

/// `NAME=V[,V..]` as a tensor of the input's element type (and declared shape when it fits).
fn parse_const(g: &mote_ir::Graph, s: &str) -> Result<(String, mote_ir::Tensor)> {
    let (name, vals) = s.split_once('=').with_context(|| format!("--const `{s}`: expected INPUT=VALUE"))?;
    let id = g.inputs.iter().copied().find(|&i| g.value(i).name == name).with_context(|| {
        let names: Vec<&str> = g.runtime_inputs().iter().map(|&i| g.value(i).name.as_str()).collect();
        format!("--const: `{name}` is not an input; inputs: {}", names.join(", "))
    })?;
    let mote_ir::ValueType::Tensor(tt) = &g.value(id).ty else { bail!("--const: input `{name}` is not a tensor") };
    let dtype = tt.dtype.with_context(|| format!("--const: input `{name}` has no declared element type"))?;
    let v: Vec<f64> = vals
        .split(',')
        .map(|x| x.trim().parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--const `{s}`: bad number"))?;
    let declared: Option<Vec<usize>> = tt.shape.as_ref().and_then(|d| d.iter().map(|x| x.known()).collect());
    let shape = match declared {
        Some(d) if d.iter().product::<usize>() == v.len() => d,
        _ if v.len() == 1 => vec![],
        _ => vec![v.len()],
    };
    let t = mote_ir::Tensor::from_vec(shape, v.iter().map(|&x| x as f32).collect::<Vec<f32>>())?;
    let t = if dtype.is_int() {
        mote_ir::Tensor::from_vec(t.shape().to_vec(), v.iter().map(|&x| x as i64).collect::<Vec<i64>>())?
    } else {
        t
    };
    Ok((name.to_string(), mote_interp::ops::elementwise::cast(&t, dtype)?))
}
