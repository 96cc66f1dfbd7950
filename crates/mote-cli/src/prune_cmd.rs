//! `mote prune`: removes weights or whole channels from a model, then fine-tunes it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use mote_train::arch::macs;
use mote_train::fit::{Objective, evaluate};
use mote_train::prune::{Pattern, masks, prune_channels, sparsity};

use crate::train_cmd::{Common, load_data, save_and_finish, train};

const HELP: &str = "\
Pruning, then fine-tuning on labelled data (the options of `mote train`; --finetune-epochs is
--epochs).

  --sparsity 0.7                      zero the 70% smallest weights of every Conv and Gemm
                                      (unstructured; masks keep them zero while fine-tuning)
  --pattern 2:4                       keep the 2 largest of every 4 consecutive weights of a row
  --pattern 1x4 --sparsity 0.7        zero the 70% of blocks of 4 consecutive weights of a row
                                      (4 input channels of one output) with the smallest norm:
                                      what the int8 sparse kernel skips, so a quantized 1x1
                                      convolution or FC layer runs sparse (`mote compile`)
  --structured channels --sparsity 0.5
                                      remove half the output channels of every convolution whose
                                      channels lead to the next Conv or classifier (smallest L1
                                      filters first), with their BatchNorm entries and the next
                                      layer's inputs: fewer MACs and a smaller file

The report gives accuracy before pruning, after pruning and after fine-tuning, the sparsity, and
MACs and file size before and after.

Example:
  mote prune digits.onnx --structured channels --sparsity 0.5 --data X.npy --labels y.npy \\
      --finetune-epochs 5 -o digits.pruned.onnx";

/// Arguments of `mote prune`.
#[derive(clap::Args, Debug)]
#[command(about = "Prune a model (unstructured, N:M, 1xB blocks or whole channels) and fine-tune it", after_help = HELP)]
pub struct Args {
    /// The model to prune (.onnx, e.g. from `mote train`).
    model: PathBuf,
    /// Fraction of weights (or channels, with --structured) to remove.
    #[arg(long, default_value_t = 0.5)]
    sparsity: f32,
    /// `channels`: remove whole output channels.
    #[arg(long)]
    structured: Option<String>,
    /// N:M pattern (e.g. 2:4), or 1xB blocks (e.g. 1x4).
    #[arg(long)]
    pattern: Option<String>,
    /// Integer class labels (.npy).
    #[arg(long)]
    labels: PathBuf,
    #[command(flatten)]
    common: Common,
}

pub fn main(a: Args) -> Result<ExitCode> {
    let c = &a.common;
    let mut g = crate::model_file::load(&a.model)?.graph;
    let (data, _) = load_data(&c.data, Some(&a.labels))?;
    let (_, test) = data.split(c.test_split, c.seed);
    let before = evaluate(&g, &test, 256)?;
    let (macs_before, bytes_before) = (macs(&g), mote_onnx::export::to_bytes(&g)?.len());
    let mut channels = None;
    let pruning_masks = match (a.structured.as_deref(), a.pattern.as_deref()) {
        (Some("channels"), None) => {
            channels = Some(prune_channels(&mut g, a.sparsity).map_err(anyhow::Error::msg)?);
            Vec::new()
        }
        (Some(other), None) => bail!("--structured {other}: only `channels` is supported"),
        (None, pattern) => {
            let p = match pattern {
                None => Pattern::Unstructured,
                Some(s) => match (s.split_once(':'), s.strip_prefix("1x")) {
                    (Some((n, m)), _) => Pattern::NofM { n: n.parse()?, m: m.parse()? },
                    (None, Some(b)) => Pattern::Blocks { size: b.parse()? },
                    _ => bail!("--pattern {s}: expected N:M (e.g. 2:4) or 1xB (e.g. 1x4)"),
                },
            };
            let m = masks(&g, a.sparsity, p).map_err(anyhow::Error::msg)?;
            mote_train::prune::apply(&mut g, &m);
            m
        }
        (Some(_), Some(_)) => bail!("give --structured or --pattern, not both"),
    };
    let pruned = evaluate(&g, &test, 256)?;
    let (macs_after, sparse) = (macs(&g), sparsity(&g));
    if !c.json {
        if let Some(r) = &channels {
            for (n, from, to) in &r.pruned {
                println!("  {n}: {from} -> {to} channels");
            }
            for (n, why) in &r.kept {
                println!("  {n}: kept ({why})");
            }
        }
        println!(
            "pruned: test accuracy {:.2}% -> {:.2}% before fine-tuning; MACs {macs_before} -> {macs_after}; \
             weight sparsity {:.1}%",
            100.0 * before,
            100.0 * pruned,
            100.0 * sparse
        );
    }
    let mut report = train(c, &format!("{} pruned", a.model.display()), g, &data, Objective::Labels, pruning_masks)?;
    let bytes_after = mote_onnx::export::to_bytes(&report.graph)?.len();
    report.json["before"] =
        serde_json::json!({"test_accuracy": before, "macs": macs_before, "file_bytes": bytes_before});
    report.json["pruned"] = serde_json::json!({"test_accuracy": pruned, "macs": macs_after, "sparsity": sparse,
        "file_bytes": bytes_after,
        "channels": channels.map(|r| r.pruned.iter().map(|(n, a, b)| serde_json::json!([n, a, b])).collect::<Vec<_>>())});
    report.line = format!(
        "{}; accuracy {:.2}% before pruning; MACs {macs_before} -> {macs_after}; file {bytes_before} -> {bytes_after} bytes",
        report.line,
        100.0 * before
    );
    save_and_finish(c, report)
}
