//! `mote run`: run a model once on files and summarize (and optionally save or check) outputs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use mote_conformance::compare::{Tolerance, compare_value};
use mote_interp::Session;
use mote_ir::{Value, ValueType};
use serde_json::json;

use crate::show::{summary, summary_line, value_desc};
use mote_data::{ImageSpec, read_value, write_npy};

const HELP: &str = "\
Inputs are .npy files, ONNX TensorProto .pb files, or images (.png, .jpg, .bmp) preprocessed as
--image says (crop, size or round, channels, scale, mean, std, layout, dtype). --input-dir reads input_0.pb, input_1.pb, ...
in the order of the model's inputs that have no initializer (the layout of the ONNX backend tests).
--output-dir writes output_0.npy, output_1.npy, ... in the model's output order (outputs that are
not tensors, such as a ZipMap's sequence of maps, are written as output_<i>.pb).
--expect DIR compares the outputs with DIR/output_<i>.pb (or DIR/<PREFIX>_<i>.pb with
--expect-prefix) and fails if any differs by more than the tolerance (default: atol 1e-4,
rtol 5e-4 for floats; exact for integers and bools; --int-steps for quantized outputs).

Examples:
  mote run model.onnx --input input=cat.npy
  mote run det.onnx --input x=page.png --image round=32,channels=gray3,scale=1/255,mean=0.5,std=0.5
  mote run model.onnx --input-dir test_data_set_0 --output-dir out/
  mote run model.onnx --input-dir test_data_set_0 --expect test_data_set_0 --atol 1e-3 --json
  mote run model.onnx --input-dir test_data_set_0 --dump-intermediates stages/";

/// Arguments of `mote run`.
#[derive(clap::Args, Debug)]
#[command(about = "Run a model on input files and summarize its outputs", after_help = HELP)]
pub struct Args {
    /// The model file (.onnx, or .mote from `mote compile`).
    model: PathBuf,
    /// An input: NAME=FILE with FILE a .npy or .pb (repeatable).
    #[arg(long = "input", short = 'i', value_name = "NAME=FILE")]
    inputs: Vec<String>,
    /// How to turn image inputs (.png, .jpg, .bmp) into tensors, e.g.
    /// `size=224x224,channels=rgb,scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,layout=nchw`.
    #[arg(long, value_name = "SPEC")]
    image: Option<String>,
    /// Read input_<i>.pb for each model input from this directory.
    #[arg(long, value_name = "DIR")]
    input_dir: Option<PathBuf>,
    /// Write output_<i>.npy here (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Write every intermediate tensor of the main graph here as .npy, with an index.tsv
    /// (node, op, value, file, dtype, shape): for comparing a model stage by stage.
    #[arg(long, value_name = "DIR")]
    dump_intermediates: Option<PathBuf>,
    /// Compare outputs with DIR/output_<i>.pb; exit non-zero on a mismatch.
    #[arg(long, value_name = "DIR")]
    expect: Option<PathBuf>,
    /// File name prefix of the expected outputs in the --expect directory.
    #[arg(long, default_value = "output", value_name = "PREFIX")]
    expect_prefix: String,
    /// Absolute tolerance for --expect.
    #[arg(long, default_value_t = 1e-4)]
    atol: f64,
    /// Relative tolerance for --expect.
    #[arg(long, default_value_t = 5e-4)]
    rtol: f64,
    /// Allowed integer difference for --expect (1 = one quantization step).
    #[arg(long, default_value_t = 0)]
    int_steps: u64,
    /// Threads running a .mote file (its convolutions, GEMMs, pooling and large element-wise
    /// steps split across them; outputs identical for every count). An .onnx runs on one.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let t0 = Instant::now();
    let compiled = if crate::compiled::is_mote(&a.model) { Some(crate::compiled::open(&a.model)?) } else { None };
    let runtime_model = compiled.as_ref().map(|b| crate::compiled::load(b, &a.model)).transpose()?;
    let (graph, infer_error) = match &runtime_model {
        Some(rt) => (crate::compiled::interface(rt), None),
        None => {
            let mut graph = crate::model_file::load(&a.model)?.graph;
            mote_ir::verify::verify(&graph)?;
            // Inference fills in output types; a failure here is reported but does not stop the run.
            let infer_error = mote_interp::infer(&mut graph).err();
            (graph, infer_error)
        }
    };
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let g = &graph;

    let image = a.image.as_deref().map(ImageSpec::parse).transpose()?;
    let runtime = g.runtime_inputs();
    let mut named: Vec<(String, Value)> = Vec::new();
    if let Some(dir) = &a.input_dir {
        for (i, &id) in runtime.iter().enumerate() {
            let v = g.value(id);
            if a.inputs.iter().any(|s| s.split_once('=').is_some_and(|(n, _)| n == v.name)) {
                continue;
            }
            let path = dir.join(format!("input_{i}.pb"));
            if !path.exists() {
                bail!(
                    "`{}` is missing: --input-dir needs input_{i}.pb for input `{}` ({})",
                    path.display(),
                    v.name,
                    v.ty
                );
            }
            named.push((v.name.clone(), read_value(&path, &v.ty, None)?));
        }
    }
    for s in &a.inputs {
        let (name, file) = s.split_once('=').with_context(|| format!("--input `{s}`: expected NAME=FILE"))?;
        let id = g.find_value(name).filter(|id| g.inputs.contains(id)).with_context(|| {
            let names: Vec<String> =
                runtime.iter().map(|&i| format!("{} ({})", g.value(i).name, g.value(i).ty)).collect();
            format!("--input: `{name}` is not an input of the model; inputs: {}", names.join(", "))
        })?;
        named.push((name.to_string(), read_value(Path::new(file), &g.value(id).ty, image.as_ref())?));
    }
    let missing: Vec<String> = runtime
        .iter()
        .map(|&i| g.value(i))
        .filter(|v| !named.iter().any(|(n, _)| *n == v.name))
        .map(|v| format!("{} ({})", v.name, v.ty))
        .collect();
    if !missing.is_empty() {
        bail!("missing input(s): {}; give them with --input NAME=FILE or --input-dir DIR", missing.join(", "));
    }

    let t1 = Instant::now();
    if let Some(rt) = &runtime_model {
        if a.dump_intermediates.is_some() {
            bail!("--dump-intermediates needs the .onnx model (a compiled model keeps no per-node values)");
        }
        let mut arena = mote_rt::host::AlignedBuf::zeroed(rt.arena_size());
        let pool = crate::compiled::pool(rt, a.threads)?;
        let outputs = crate::compiled::run(rt, &mut arena, &named, &pool)?;
        let run_ms = t1.elapsed().as_secs_f64() * 1e3;
        return report(&a, g, outputs, load_ms, run_ms, None, "mote runtime");
    }
    crate::compiled::one_thread_for_onnx(a.threads)?;
    let session = Session::new(g)?;
    let outputs = match &a.dump_intermediates {
        None => session.run_named(named)?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
            let mut index = String::from("node\top\tvalue\tfile\tdtype\tshape\n");
            let mut first_error = None;
            let mut count = 0usize;
            let outputs = session.run_named_observed(named, &mut |node, values, _| {
                for (slot, v) in node.outputs.iter().zip(values) {
                    let (Some(id), Some(Value::Tensor(t))) = (slot, v) else { continue };
                    if t.dtype() == mote_ir::DType::String {
                        continue;
                    }
                    let name = &g.value(*id).name;
                    let file = format!("{count:05}_{}.npy", sanitize(name));
                    count += 1;
                    if let Err(e) = write_npy(&dir.join(&file), t) {
                        first_error.get_or_insert(e);
                    }
                    index.push_str(&format!(
                        "{}\t{}\t{name}\t{file}\t{}\t{:?}\n",
                        node.name,
                        node.op.name(),
                        t.dtype(),
                        t.shape()
                    ));
                }
            })?;
            if let Some(e) = first_error {
                return Err(e);
            }
            crate::model_file::write_atomic(&dir.join("index.tsv"), index.as_bytes())?;
            outputs
        }
    };
    let run_ms = t1.elapsed().as_secs_f64() * 1e3;
    report(&a, g, outputs, load_ms, run_ms, infer_error, "reference interpreter")
}

/// Saves, checks and prints the outputs of a run.
fn report(
    a: &Args,
    g: &mote_ir::Graph,
    outputs: Vec<Value>,
    load_ms: f64,
    run_ms: f64,
    infer_error: Option<mote_ir::infer::GraphInferError>,
    engine: &str,
) -> Result<ExitCode> {
    if let Some(dir) = &a.output_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let tol = Tolerance { atol: a.atol, rtol: a.rtol, int_steps: a.int_steps };
    let mut all_match = true;
    let mut items = Vec::new();
    for (i, (&id, v)) in g.outputs.iter().zip(&outputs).enumerate() {
        let name = &g.value(id).name;
        let mut item = json!({ "name": name, "value": value_desc(v) });
        if let Value::Tensor(t) = v {
            item["dtype"] = json!(t.dtype().name());
            item["shape"] = json!(t.shape());
            item["summary"] = summary(t);
        }
        if let Some(dir) = &a.output_dir {
            let path = match v {
                Value::Tensor(t) if t.dtype() != mote_ir::DType::String => {
                    let p = dir.join(format!("output_{i}.npy"));
                    write_npy(&p, t)?;
                    p
                }
                other => {
                    let p = dir.join(format!("output_{i}.pb"));
                    crate::model_file::write_atomic(&p, &mote_onnx::encode_value(other, name))?;
                    p
                }
            };
            item["file"] = json!(path.display().to_string());
        }
        if let Some(dir) = &a.expect {
            let path = dir.join(format!("{}_{i}.pb", a.expect_prefix));
            let want = read_value(&path, &declared_type(g, id), None)?;
            let r = compare_value(v, &want, tol);
            all_match &= r.is_ok();
            item["matches"] = json!(r.is_ok());
            if let Err(e) = r {
                item["mismatch"] = json!(e);
            }
        }
        items.push(item);
    }

    if a.json {
        let mut v = json!({ "model": a.model.display().to_string(), "engine": engine, "load_ms": load_ms, "run_ms": run_ms, "outputs": items });
        if a.expect.is_some() {
            v["matches"] = json!(all_match);
        }
        println!("{v:#}");
    } else {
        for item in &items {
            let desc = item["value"].as_str().unwrap_or_default();
            let line = item.get("summary").map(summary_line).unwrap_or_default();
            println!("{:<24} {desc:<20} {line}", item["name"].as_str().unwrap_or_default());
            if let Some(m) = item.get("matches") {
                match item.get("mismatch") {
                    Some(e) => println!("{:<24} MISMATCH: {}", "", e.as_str().unwrap_or_default()),
                    None if m == true => println!("{:<24} matches the expected output", ""),
                    None => {}
                }
            }
        }
        println!("load {load_ms:.1} ms, run {run_ms:.1} ms ({engine})");
        if let Some(e) = infer_error {
            eprintln!("note: static shape inference failed: {e}");
        }
    }
    if all_match { Ok(ExitCode::SUCCESS) } else { Ok(ExitCode::FAILURE) }
}

/// The declared type of a graph output (decides which proto an expected `.pb` holds).
fn declared_type(g: &mote_ir::Graph, id: mote_ir::ValueId) -> ValueType {
    g.value(id).ty.clone()
}

/// A value name as a file name: path separators and other awkward characters become `_`.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).take(80).collect()
}
