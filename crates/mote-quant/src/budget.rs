//! `--accuracy-budget`: keep the layers that hurt most in f32, one at a time, until the
//! end-to-end loss is within the budget.
//!
//! Layers are ranked once, by the relative noise power each adds: the noise-to-signal ratio of
//! its output minus the largest of its quantized inputs' (`10^(-SQNR/10)`), so a layer is blamed
//! for its own error, not for the error it inherits.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use mote_ir::Graph;

use crate::calib::CalibSet;
use crate::qdq::{QdqOptions, Quantized, quantize};
use crate::report::{EndToEnd, KeptLayer, Reference, TensorStat, end_to_end};

fn noise(db: Option<f64>) -> f64 {
    db.map_or(0.0, |d| 10f64.powf(-d / 10.0))
}

/// Quantized nodes, most harmful first, with their output SQNR.
pub fn rank(float: &Graph, stats: &[TensorStat]) -> Vec<(String, Option<f64>)> {
    let by_name: HashMap<&str, &TensorStat> = stats.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut scored: Vec<(f64, String, Option<f64>)> = Vec::new();
    for t in stats {
        let Some(owner) = &t.owner else { continue };
        let Some(node) = float.nodes.iter().find(|n| &n.name == owner) else { continue };
        let inherited = node
            .inputs
            .iter()
            .flatten()
            .filter_map(|id| by_name.get(float.value(*id).name.as_str()))
            .map(|s| noise(s.sqnr_db))
            .fold(0.0, f64::max);
        scored.push((noise(t.sqnr_db) - inherited, owner.clone(), t.sqnr_db));
    }
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    scored.into_iter().map(|(_, n, db)| (n, db)).collect()
}

/// What the budget search ended with.
#[derive(Debug)]
pub struct BudgetOutcome {
    pub quantized: Quantized,
    pub kept: Vec<KeptLayer>,
    pub end_to_end: EndToEnd,
    pub met: bool,
}

/// Keeps layers in f32 (most harmful first) until `reference`'s loss is at most `budget_pct`.
pub fn meet(
    float: &Graph,
    ranges: &BTreeMap<String, (f32, f32)>,
    opts: &QdqOptions,
    start: (Quantized, EndToEnd),
    stats: &[TensorStat],
    set: &CalibSet,
    reference: &Reference,
    budget_pct: f64,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<BudgetOutcome> {
    let (mut quantized, mut e2e) = start;
    let mut kept = Vec::new();
    let mut opts = opts.clone();
    for (node, sqnr_db) in rank(float, stats) {
        if e2e.loss_pct <= budget_pct {
            break;
        }
        opts.keep_float.insert(node.clone());
        quantized = quantize(float, ranges, &opts)?;
        let stage = format!("keeping {node} in f32");
        e2e = end_to_end(&quantized.graph, set, reference, &mut |d, t| progress(&stage, d, t))?;
        let op = float.nodes.iter().find(|n| n.name == node).map_or("?", |n| n.op.name()).to_string();
        kept.push(KeptLayer { node, op, sqnr_db, loss_after_pct: e2e.loss_pct });
    }
    let met = e2e.loss_pct <= budget_pct;
    Ok(BudgetOutcome { quantized, kept, end_to_end: e2e, met })
}
