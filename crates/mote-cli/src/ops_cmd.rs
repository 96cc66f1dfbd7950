//! `mote ops`: the supported op list (ONNX by domain, then `tflite` builtins).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;

/// Arguments of `mote ops`.
#[derive(clap::Args, Debug)]
#[command(about = "List the ONNX ops (by domain) and TFLite builtin operators Mote supports")]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let mut by_domain: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (d, op) in mote_onnx::supported_ops() {
        by_domain.entry(if d.is_empty() { "ai.onnx" } else { d }).or_default().push(op);
    }
    by_domain.insert("tflite", mote_tflite::supported_ops());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&by_domain)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (d, ops) in &by_domain {
        println!("{d} ({} ops):", ops.len());
        for chunk in ops.chunks(8) {
            println!("  {}", chunk.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
