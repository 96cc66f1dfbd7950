//! The accuracy report: what was quantized, per-tensor SQNR and cosine similarity against f32,
//! end-to-end agreement, the layers kept in f32; as JSON (`--json`, schema in
//! `docs/QUANTIZATION.md`) and as a self-contained HTML page.

pub mod compare;
pub mod html;

use serde::Serialize;

pub use compare::{
    EndToEnd, Reference, Task, TensorStat, argmax, argmax_of, compare, detect_task, end_to_end, reference,
};

/// A layer `--accuracy-budget` kept in f32.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KeptLayer {
    pub node: String,
    pub op: String,
    /// SQNR of its output before it was kept in f32.
    pub sqnr_db: Option<f64>,
    /// The end-to-end loss (percent points) after keeping it and every layer before it.
    pub loss_after_pct: f64,
}

/// Everything `mote quantize` measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Schema version of this JSON (1).
    pub version: u32,
    pub model: String,
    pub method: String,
    pub per_channel: bool,
    pub task: Task,
    pub calibration_samples: usize,
    /// Quantized nodes and nodes left in f32 (name, op).
    pub quantized_nodes: Vec<(String, String)>,
    pub float_nodes: Vec<(String, String)>,
    /// Per quantized tensor, on the calibration data.
    pub tensors: Vec<TensorStat>,
    /// QDQ vs f32 on the calibration data.
    pub calibration: EndToEnd,
    /// QDQ vs f32 on the evaluation data (`--eval`), when given.
    pub evaluation: Option<EndToEnd>,
    /// `--accuracy-budget` in percent points, and the layers it kept in f32 in order.
    pub accuracy_budget_pct: Option<f64>,
    pub kept_float: Vec<KeptLayer>,
    /// True when the budget holds (or none was given).
    pub budget_met: bool,
}

impl Report {
    /// A few lines for the terminal.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} nodes quantized, {} left in f32; {} tensors; method {}, {} calibration samples\n",
            self.quantized_nodes.len(),
            self.float_nodes.len(),
            self.tensors.len(),
            self.method,
            self.calibration_samples
        );
        let line = |what: &str, e: &EndToEnd| match e.top1_agreement_pct {
            Some(t) => format!(
                "{what}: top-1 agreement {t:.2}% over {} samples (max abs error {:.4})\n",
                e.samples, e.max_abs_error
            ),
            None => format!(
                "{what}: max abs error {:.5}, relative RMS error {:.3}% over {} samples\n",
                e.max_abs_error, e.rel_rms_error_pct, e.samples
            ),
        };
        s += &line("calibration data", &self.calibration);
        if let Some(e) = &self.evaluation {
            s += &line("evaluation data", e);
        }
        let mut worst: Vec<&TensorStat> = self.tensors.iter().filter(|t| t.sqnr_db.is_some()).collect();
        worst.sort_by(|a, b| a.sqnr_db.partial_cmp(&b.sqnr_db).unwrap_or(std::cmp::Ordering::Equal));
        if !worst.is_empty() {
            s += "lowest SQNR: ";
            s += &worst
                .iter()
                .take(3)
                .map(|t| format!("{} {:.1} dB", t.name, t.sqnr_db.unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(", ");
            s += "\n";
        }
        if let Some(b) = self.accuracy_budget_pct {
            let kept: Vec<&str> = self.kept_float.iter().map(|k| k.node.as_str()).collect();
            s += &format!(
                "accuracy budget {b}%: {}; kept in f32: {}\n",
                if self.budget_met { "met" } else { "NOT met" },
                if kept.is_empty() { "none".to_string() } else { kept.join(", ") }
            );
        }
        s
    }
}
