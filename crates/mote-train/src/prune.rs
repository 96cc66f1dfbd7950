//! Pruning: magnitude masks (unstructured, N of every M consecutive weights, or blocks of
//! consecutive weights) that fine-tuning
//! keeps, and structured channel pruning that removes whole output channels from the graph.

use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
use mote_ir::ops::nn::{ConvAttrs, NnOp};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Op, Tensor, ValueId};

/// Which weights a mask zeroes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// The smallest-magnitude fraction of each layer's weights.
    Unstructured,
    /// In every group of `m` consecutive weights along a row (an output's inputs), the `m - n`
    /// smallest are zero (2:4 is what sparse tensor hardware runs).
    NofM { n: usize, m: usize },
    /// The smallest-norm fraction of the blocks of `size` consecutive weights along a row (1x4
    /// is what Mote's int8 sparse kernel skips: four input channels of one output).
    Blocks { size: usize },
}

/// A 0/1 mask per pruned weight.
pub type Masks = Vec<(ValueId, Vec<f32>)>;

/// The weights pruning acts on: constant f32 weights of Conv and Gemm/MatMul with at least 16
/// values (a depthwise 3x3 filter bank of 2 channels is left alone).
pub fn prunable(g: &Graph) -> Vec<ValueId> {
    let mut out = Vec::new();
    for n in &g.nodes {
        let w = match &n.op {
            Op::Nn(NnOp::Conv(_) | NnOp::Gemm { .. } | NnOp::MatMul) => n.inputs.get(1).copied().flatten(),
            _ => None,
        };
        if let Some(w) = w
            && g.value(w).init.as_ref().is_some_and(|t| t.as_slice::<f32>().is_some() && t.len() >= 16)
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    out
}

/// Masks zeroing `sparsity` of each prunable weight by `pattern` (for N:M the sparsity is
/// `1 - n/m` whatever `sparsity` says).
pub fn masks(g: &Graph, sparsity: f32, pattern: Pattern) -> Result<Masks, String> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(format!("sparsity {sparsity} is not in [0, 1)"));
    }
    let mut out = Vec::new();
    for id in prunable(g) {
        let t = g.value(id).init.as_ref().expect("prunable weights are constants");
        let w = t.as_slice::<f32>().expect("prunable weights are f32");
        let mask = match pattern {
            Pattern::Unstructured => {
                let k = (sparsity * w.len() as f32).round() as usize;
                let mut order: Vec<usize> = (0..w.len()).collect();
                order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
                let mut m = vec![1.0f32; w.len()];
                order.iter().take(k).for_each(|&i| m[i] = 0.0);
                m
            }
            Pattern::Blocks { size } => {
                if size == 0 {
                    return Err("blocks of 0 weights are not a pattern".into());
                }
                let row = t.len() / t.shape()[0].max(1);
                // (norm, first index, length) of every block, rows cut into `size` pieces.
                let mut blocks: Vec<(f32, usize, usize)> = (0..t.shape()[0].max(1))
                    .flat_map(|r| (0..row).step_by(size).map(move |j| (r * row + j, size.min(row - j))))
                    .map(|(at, len)| (w[at..at + len].iter().map(|v| v * v).sum(), at, len))
                    .collect();
                blocks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let k = (sparsity * blocks.len() as f32).round() as usize;
                let mut m = vec![1.0f32; w.len()];
                for &(_, at, len) in blocks.iter().take(k) {
                    m[at..at + len].fill(0.0);
                }
                m
            }
            Pattern::NofM { n, m } => {
                if n == 0 || n > m {
                    return Err(format!("{n}:{m} is not a pattern (keep N of every M, 0 < N <= M)"));
                }
                let row = t.len() / t.shape()[0].max(1);
                if !row.is_multiple_of(m) {
                    // Rows that do not split into groups of m stay dense.
                    out.push((id, vec![1.0; w.len()]));
                    continue;
                }
                let mut mask = vec![0.0f32; w.len()];
                for (g0, group) in w.chunks(m).enumerate() {
                    let mut order: Vec<usize> = (0..m).collect();
                    order.sort_by(|&a, &b| group[b].abs().total_cmp(&group[a].abs()).then(a.cmp(&b)));
                    order.iter().take(n).for_each(|&i| mask[g0 * m + i] = 1.0);
                }
                mask
            }
        };
        out.push((id, mask));
    }
    Ok(out)
}

/// Multiplies each masked weight by its mask.
pub fn apply(g: &mut Graph, masks: &Masks) {
    for (id, m) in masks {
        if let Some(t) = g.values[id.index()].init.as_mut()
            && let Ok(w) = t.typed_mut::<f32>()
        {
            w.iter_mut().zip(m).for_each(|(w, m)| *w *= m);
        }
    }
}

/// The fraction of zeros among the prunable weights.
pub fn sparsity(g: &Graph) -> f32 {
    let (mut zeros, mut total) = (0usize, 0usize);
    for id in prunable(g) {
        if let Some(w) = g.value(id).init.as_ref().and_then(|t| t.as_slice::<f32>()) {
            zeros += w.iter().filter(|v| **v == 0.0).count();
            total += w.len();
        }
    }
    if total == 0 { 0.0 } else { zeros as f32 / total as f32 }
}

/// What channel pruning did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelReport {
    /// `(conv node, channels before, channels after)`.
    pub pruned: Vec<(String, usize, usize)>,
    /// Convolutions left whole, with the reason.
    pub kept: Vec<(String, String)>,
}

/// The nodes reading `v`.
fn consumers(g: &Graph, v: ValueId) -> Vec<usize> {
    g.nodes.iter().enumerate().filter(|(_, n)| n.inputs.contains(&Some(v))).map(|(i, _)| i).collect()
}

/// How a node on the path from a pruned conv treats the channel dim.
enum Step {
    /// Channel-wise: its per-channel constants at these input slots shrink with the channels.
    PerChannel(Vec<usize>),
    /// A depthwise conv (group = channels): its filters and group shrink, then the walk goes on.
    Depthwise,
    /// The end: a conv reading the channels (its weight's dim 1 shrinks).
    ConvSink,
    /// The end: Flatten then Gemm (each channel owns `spatial` consecutive inputs).
    FlattenGemm,
}

fn step(g: &Graph, node: usize, channels: usize) -> Option<Step> {
    let n = &g.nodes[node];
    match &n.op {
        Op::Nn(NnOp::BatchNorm { .. }) => Some(Step::PerChannel(vec![1, 2, 3, 4])),
        Op::Elementwise(ElementwiseOp::Unary(Unary::Relu | Unary::Sigmoid | Unary::HardSwish | Unary::Tanh))
        | Op::Elementwise(ElementwiseOp::Clip)
        | Op::Nn(NnOp::Pool(_) | NnOp::Dropout { .. }) => Some(Step::PerChannel(vec![])),
        Op::Nn(NnOp::Conv(ConvAttrs { group, .. })) => {
            let w = n.inputs.get(1).copied().flatten()?;
            let ws = g.value(w).init.as_ref()?.shape().to_vec();
            if *group == channels && channels > 1 && ws[0] == channels && ws[1] == 1 {
                Some(Step::Depthwise)
            } else if *group == 1 {
                Some(Step::ConvSink)
            } else {
                None
            }
        }
        Op::Shape(ShapeOp::Flatten { axis: 1 }) => Some(Step::FlattenGemm),
        _ => None,
    }
}

/// Keeps the slices `keep` of `t` along `axis`.
fn take(t: &Tensor, axis: usize, keep: &[usize]) -> Tensor {
    let shape = t.shape();
    let w = t.as_slice::<f32>().expect("pruned tensors are f32");
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut v = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        for &k in keep {
            let b = (o * shape[axis] + k) * inner;
            v.extend_from_slice(&w[b..b + inner]);
        }
    }
    let mut s = shape.to_vec();
    s[axis] = keep.len();
    Tensor::from_vec(s, v).expect("kept slices fill the new shape")
}

fn shrink(g: &mut Graph, v: Option<ValueId>, axis: usize, keep: &[usize]) -> bool {
    let Some(v) = v else { return true };
    let Some(t) = g.values[v.index()].init.as_ref() else { return false };
    if t.as_slice::<f32>().is_none() || t.rank() <= axis {
        return false;
    }
    let nt = take(t, axis, keep);
    g.values[v.index()].init = Some(nt);
    true
}

/// Removes `fraction` of the output channels of every convolution whose channels can be
/// followed to the next convolution or classifier (through BatchNorm, activations, pooling,
/// Dropout and depthwise convolutions), choosing those with the smallest L1 norm of their
/// filters. Residual Adds and Concats stop the walk (those convolutions are kept whole).
pub fn prune_channels(g: &mut Graph, fraction: f32) -> Result<ChannelReport, String> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(format!("channel fraction {fraction} is not in [0, 1)"));
    }
    let mut report = ChannelReport::default();
    let convs: Vec<usize> = (0..g.nodes.len())
        .filter(|&i| matches!(&g.nodes[i].op, Op::Nn(NnOp::Conv(ConvAttrs { group: 1, .. }))))
        .collect();
    for ci in convs {
        let name = g.nodes[ci].name.clone();
        let Some(Some(w)) = g.nodes[ci].inputs.get(1).copied() else { continue };
        let Some(wt) = g.value(w).init.clone() else {
            report.kept.push((name, "its weights are not constant".into()));
            continue;
        };
        let Some(wd) = wt.as_slice::<f32>() else { continue };
        let c = wt.shape()[0];
        // Walk to the sink, collecting what shrinks.
        let mut path = Vec::new();
        let mut v = g.nodes[ci].outputs.first().copied().flatten();
        let mut sink = None;
        while let Some(val) = v {
            let cs = consumers(g, val);
            if cs.len() != 1 || g.outputs.contains(&val) {
                break;
            }
            match step(g, cs[0], c) {
                Some(Step::PerChannel(slots)) => path.push((cs[0], Step::PerChannel(slots))),
                Some(Step::Depthwise) => path.push((cs[0], Step::Depthwise)),
                Some(s @ (Step::ConvSink | Step::FlattenGemm)) => {
                    sink = Some((cs[0], s));
                    break;
                }
                None => break,
            }
            v = g.nodes[cs[0]].outputs.first().copied().flatten();
        }
        let Some((si, sink)) = sink else {
            report.kept.push((name, "its channels reach an op that mixes them (Add, Concat, output...)".into()));
            continue;
        };
        let drop = ((fraction * c as f32).round() as usize).min(c - 1);
        if drop == 0 {
            report.kept.push((name, format!("{c} channels: nothing to remove at this fraction")));
            continue;
        }
        let per = wd.len() / c;
        let mut norms: Vec<(f32, usize)> =
            (0..c).map(|k| (wd[k * per..(k + 1) * per].iter().map(|x| x.abs()).sum(), k)).collect();
        norms.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut keep: Vec<usize> = norms.iter().take(c - drop).map(|&(_, k)| k).collect();
        keep.sort_unstable();
        // The sink first: a Flatten+Gemm needs its consumer Gemm.
        let ok = match sink {
            Step::ConvSink => shrink(g, g.nodes[si].inputs.get(1).copied().flatten(), 1, &keep),
            Step::FlattenGemm => {
                let out = g.nodes[si].outputs.first().copied().flatten();
                let gemm = out.map(|o| consumers(g, o)).filter(|cs| cs.len() == 1).map(|cs| cs[0]);
                match gemm.map(|gi| (gi, &g.nodes[gi].op)) {
                    Some((gi, Op::Nn(NnOp::Gemm { trans_b: true, .. }))) => {
                        let b = g.nodes[gi].inputs.get(1).copied().flatten();
                        let feats = b.and_then(|b| g.value(b).init.as_ref()).map_or(0, |t| t.shape()[1]);
                        if feats % c != 0 {
                            false
                        } else {
                            let hw = feats / c;
                            let cols: Vec<usize> = keep.iter().flat_map(|&k| k * hw..(k + 1) * hw).collect();
                            shrink(g, b, 1, &cols)
                        }
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !ok {
            report.kept.push((name, "the layer after it is not a plain Conv or Flatten+Gemm(transB)".into()));
            continue;
        }
        shrink(g, Some(w), 0, &keep);
        shrink(g, g.nodes[ci].inputs.get(2).copied().flatten(), 0, &keep);
        for (ni, s) in &path {
            match s {
                Step::PerChannel(slots) => {
                    for &k in slots {
                        let v = g.nodes[*ni].inputs.get(k).copied().flatten();
                        shrink(g, v, 0, &keep);
                    }
                }
                Step::Depthwise => {
                    shrink(g, g.nodes[*ni].inputs.get(1).copied().flatten(), 0, &keep);
                    shrink(g, g.nodes[*ni].inputs.get(2).copied().flatten(), 0, &keep);
                    if let Op::Nn(NnOp::Conv(a)) = &mut g.nodes[*ni].op {
                        a.group = keep.len();
                    }
                }
                _ => {}
            }
        }
        report.pruned.push((name, c, keep.len()));
    }
    // Declared types of the changed values are stale: let inference redo them.
    let inputs: Vec<ValueId> = g.inputs.clone();
    for (i, v) in g.values.iter_mut().enumerate() {
        if v.init.is_none() && !inputs.iter().any(|id| id.index() == i) {
            v.ty = mote_ir::ValueType::Unknown;
        } else if let Some(t) = &v.init {
            v.ty = mote_ir::ValueType::Tensor(mote_ir::TensorType::concrete(t.dtype(), t.shape()));
        }
    }
    Ok(report)
}
