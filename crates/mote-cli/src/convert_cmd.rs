//! `mote convert`: a model (`.onnx` or `.tflite`) written back as ONNX, e.g. a TFLite model as
//! ONNX with its quantization in QDQ form.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::model_file;

/// Arguments of `mote convert`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Write a model (.onnx or .tflite) as ONNX",
    long_about = "Imports the model like every other command, then writes the graph as ONNX (opset 19, or \
                  20/21 when an op needs it): a \
                  .tflite becomes an NCHW ONNX model whose quantized tensors are QuantizeLinear/\
                  DequantizeLinear pairs with TFLite's scales, which onnxruntime runs. The writer covers the \
                  common CNN, MLP and quantization ops; any other op is an error naming its node. The file is \
                  written atomically.",
    after_help = "Example:\n  mote convert kws_ref_model.tflite -o kws.onnx"
)]
pub struct Args {
    /// The model to convert.
    model: PathBuf,
    /// The ONNX file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let model = model_file::load(&a.model)?;
    let g = model.graph;
    mote_onnx::export::save(&g, &a.output).with_context(|| format!("cannot convert `{}`", a.model.display()))?;
    let bytes = std::fs::metadata(&a.output).map(|m| m.len()).unwrap_or(0);
    if a.json {
        let v = serde_json::json!({ "model": a.model, "output": a.output, "nodes": g.nodes.len(), "bytes": bytes });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("wrote {} ({} nodes, {} bytes)", a.output.display(), g.nodes.len(), bytes);
    }
    Ok(ExitCode::SUCCESS)
}
