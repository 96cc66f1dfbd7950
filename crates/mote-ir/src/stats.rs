//! Model statistics for reports: op histogram, parameters, MACs, activation memory.
//!
//! Call after shape inference; values whose size is still unknown are counted as such, never
//! guessed.

use std::collections::{BTreeMap, HashMap};

use crate::graph::Graph;
use crate::infer::{Fact, InferCx};
use crate::types::{Dim, TensorType, ValueType};

/// What [`stats`] measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Nodes per op type, subgraphs included.
    pub op_histogram: BTreeMap<String, usize>,
    pub nodes: usize,
    /// Elements of all constant tensors (weights), subgraphs included.
    pub parameters: u64,
    /// Bytes of the constant tensors as files store them (int4/int2/float4 packed).
    pub weight_bytes: u64,
    pub constant_tensors: usize,
    /// Multiply-accumulates of one run over the nodes whose shapes are known: for `If`, the
    /// larger branch; loop bodies (`Loop`, `Scan`, `SequenceMap`) count one iteration.
    pub macs: u64,
    /// Nodes that do MAC work but whose shapes are unknown (excluded from `macs`).
    pub macs_unknown_nodes: usize,
    /// Peak bytes of live tensors (graph inputs, intermediates and outputs; not weights) in
    /// node order, including what subgraphs hold while they run.
    pub activation_peak_bytes: u64,
    /// The node during or after which the peak occurs.
    pub activation_peak_node: Option<String>,
    /// Values whose size is unknown (excluded from the activation estimate).
    pub activation_unknown_values: usize,
}

/// Measures `g` (main graph and subgraphs).
pub fn stats(g: &Graph) -> Stats {
    let mut s = Stats::default();
    g.walk(&mut |sub| {
        for node in &sub.nodes {
            *s.op_histogram.entry(node.op.name().to_string()).or_default() += 1;
            s.nodes += 1;
        }
        for (_, t) in sub.constants() {
            s.parameters += t.len() as u64;
            s.weight_bytes += t.dtype().packed_size(t.len()).unwrap_or(0) as u64;
            s.constant_tensors += 1;
        }
    });
    let (macs, unknown) = graph_macs(g);
    s.macs = macs;
    s.macs_unknown_nodes = unknown;
    let peak = activation_peak(g, &mut s.activation_unknown_values);
    s.activation_peak_bytes = peak.bytes;
    s.activation_peak_node = peak.node;
    s
}

/// MACs of one run of `g`, and the number of MAC-doing nodes of unknown shape.
fn graph_macs(g: &Graph) -> (u64, usize) {
    let (mut macs, mut unknown) = (0u64, 0usize);
    for node in &g.nodes {
        let facts: Vec<Option<Fact>> =
            node.inputs.iter().map(|i| i.map(|id| Fact::of_type(g.value(id).ty.clone()))).collect();
        let outs: Vec<ValueType> =
            node.outputs.iter().map(|o| o.map(|id| g.value(id).ty.clone()).unwrap_or_default()).collect();
        let cx = InferCx::new(&facts, node.outputs.len());
        // Ops compute MACs from shapes their inference has validated: skip nodes whose inputs
        // inference rejects (stats may run on a graph that failed inference).
        let node_macs = if node.op.infer(&cx).is_ok() { node.op.macs(&cx, &outs) } else { None };
        match node_macs {
            Some(m) => macs = macs.saturating_add(m),
            None if does_macs(node.op.name()) => unknown += 1,
            None => {}
        }
        // Only one branch of an `If` runs: count the larger one.
        let subs: Vec<(u64, usize)> = node.op.subgraphs().into_iter().map(graph_macs).collect();
        if let Some(&(m, u)) = subs.iter().max_by_key(|(m, _)| *m) {
            macs = macs.saturating_add(m);
            unknown += u;
        }
    }
    (macs, unknown)
}

/// Ops that report MACs when their shapes are known.
fn does_macs(op: &str) -> bool {
    matches!(
        op,
        "Conv"
            | "ConvTranspose"
            | "Gemm"
            | "MatMul"
            | "Einsum"
            | "LSTM"
            | "GRU"
            | "RNN"
            | "Attention"
            | "QLinearConv"
            | "QLinearMatMul"
            | "ConvInteger"
            | "MatMulInteger"
            | "DeformConv"
    )
}

/// Size in bytes of a value, if its type is fully known.
pub fn value_bytes(ty: &ValueType) -> Option<u64> {
    let t: &TensorType = ty.as_tensor()?;
    let size = t.dtype?.size()? as u64;
    let shape = t.known_shape()?;
    shape.iter().try_fold(size, |acc, &d| acc.checked_mul(d as u64))
}

/// The peak of live bytes and where it happens.
struct Peak {
    bytes: u64,
    node: Option<String>,
}

/// Live bytes of `g` in node order. A node with subgraphs holds, while it runs, what its largest
/// subgraph peaks at (captured values are already live outside and not counted twice).
fn activation_peak(g: &Graph, unknown: &mut usize) -> Peak {
    let last = g.last_uses();
    let mut live: HashMap<usize, u64> = HashMap::new();
    let mut current = 0u64;
    let add = |id: usize, ty: &ValueType, live: &mut HashMap<usize, u64>, current: &mut u64, unknown: &mut usize| {
        match value_bytes(ty) {
            Some(b) => {
                live.insert(id, b);
                // Declared dims can be absurd: saturate rather than overflow.
                *current = current.saturating_add(b);
            }
            None => *unknown += 1,
        }
    };
    for &i in &g.inputs {
        if g.value(i).init.is_none() {
            add(i.index(), &g.value(i).ty, &mut live, &mut current, unknown);
        }
    }
    let mut peak = Peak { bytes: current, node: None };
    for (n, node) in g.nodes.iter().enumerate() {
        for sub in node.op.subgraphs() {
            let inner = activation_peak(sub, unknown);
            if current.saturating_add(inner.bytes) > peak.bytes {
                peak = Peak {
                    bytes: current.saturating_add(inner.bytes),
                    node: Some(format!("{}/{}", node.name, inner.node.unwrap_or_default())),
                };
            }
        }
        for o in node.outputs.iter().flatten() {
            add(o.index(), &g.value(*o).ty, &mut live, &mut current, unknown);
        }
        if current > peak.bytes {
            peak = Peak { bytes: current, node: Some(node.name.clone()) };
        }
        for id in node.reads().into_iter().chain(node.outputs.iter().flatten().copied()) {
            if last.get(id.index()).copied().flatten().is_none_or(|l| l <= n)
                && let Some(b) = live.remove(&id.index())
            {
                current -= b;
            }
        }
    }
    peak
}

/// Replaces symbolic and unknown dims of the runtime inputs with concrete sizes: `bindings`
/// maps a symbol name (or `input_name:axis`) to a size; anything else becomes `default`.
/// Returns the assumptions made, for reports.
pub fn specialize_inputs(g: &mut Graph, bindings: &HashMap<String, usize>, default: usize) -> Vec<(String, usize)> {
    let mut assumed = Vec::new();
    for id in g.runtime_inputs() {
        let name = g.value(id).name.clone();
        if let ValueType::Tensor(TensorType { shape: Some(shape), .. }) = &mut g.value_mut(id).ty {
            for (axis, d) in shape.iter_mut().enumerate() {
                let key = format!("{name}:{axis}");
                let (label, value) = match d {
                    Dim::Known(_) => continue,
                    Dim::Sym(s) => (s.clone(), bindings.get(s.as_str()).or(bindings.get(&key)).copied()),
                    Dim::Unknown => (key.clone(), bindings.get(&key).copied()),
                };
                let v = value.unwrap_or(default);
                if !assumed.iter().any(|(l, _)| *l == label) {
                    assumed.push((label, v));
                }
                *d = Dim::Known(v);
            }
        }
    }
    assumed
}

#[cfg(test)]
mod tests {
    use mote_core::DType;

    use super::*;
    use crate::ops::Op;
    use crate::ops::nn::{ConvAttrs, Window};
    use crate::ops::quant::QuantOp;

    /// Fuzzer crash: `ConvInteger(w, x_zero_point, w_zero_point)` (inputs shifted by a mutation)
    /// made the quant MACs index a scalar's shape. Stats run before or without inference, so
    /// they only ask for MACs when inference accepts the inputs.
    #[test]
    fn stats_skip_macs_of_nodes_inference_rejects() {
        let mut g = Graph::new("g");
        let ty = |d: DType, s: &[usize]| ValueType::Tensor(TensorType::concrete(d, s));
        let x = g.add_value("x", ty(DType::U8, &[2, 1, 2, 2]));
        let xz = g.add_value("xz", ty(DType::U8, &[]));
        let wz = g.add_value("wz", ty(DType::U8, &[2]));
        let y = g.add_value("y", ty(DType::I32, &[1, 1, 1]));
        g.inputs = vec![x, xz, wz];
        g.outputs = vec![y];
        let attrs = ConvAttrs { window: Window { pads: vec![1, 1, 1, 1], ..Window::default() }, group: 1 };
        g.add_node("conv", Op::Quant(QuantOp::ConvInteger(attrs)), vec![Some(x), Some(xz), Some(wz)], vec![Some(y)]);
        let s = stats(&g);
        assert_eq!((s.macs, s.macs_unknown_nodes), (0, 1));
    }

    /// Declared dims can be absurd: totals saturate instead of overflowing.
    #[test]
    fn stats_saturate_on_huge_declared_shapes() {
        let mut g = Graph::new("g");
        // 2^62 bytes each: four of them overflow u64.
        let huge = ValueType::Tensor(TensorType::concrete(DType::F32, &[1 << 30, 1 << 30]));
        let ids: Vec<_> = (0..4).map(|i| g.add_value(format!("x{i}"), huge.clone())).collect();
        g.inputs = ids.clone();
        g.outputs = ids;
        let s = stats(&g);
        assert_eq!(s.activation_peak_bytes, u64::MAX);
    }

    /// Regression: the quant conv MACs multiplied the output dims unchecked; declared (never
    /// allocated) dims of 2^20 x 2^30 x 2^40 overflowed.
    #[test]
    fn quant_conv_macs_do_not_overflow() {
        let mut g = Graph::new("g");
        let ty = |d: DType, s: &[usize]| ValueType::Tensor(TensorType::concrete(d, s));
        let x = g.add_value("x", ty(DType::U8, &[1 << 20, 1, 1 << 40]));
        let w = g.add_value("w", ty(DType::U8, &[1 << 30, 1, 1]));
        let y = g.add_value("y", ty(DType::I32, &[1 << 20, 1 << 30, 1 << 40]));
        g.inputs = vec![x, w];
        g.outputs = vec![y];
        let attrs = ConvAttrs { window: Window::default(), group: 1 };
        g.add_node("conv", Op::Quant(QuantOp::ConvInteger(attrs)), vec![Some(x), Some(w)], vec![Some(y)]);
        let _ = stats(&g);
    }
}
