//! Graph editing helpers shared by the passes: who reads a value, constants, replacing reads,
//! and forwarding a value to an equal one so the node defining it can go.

use std::collections::HashMap;

use mote_ir::infer::merge;
use mote_ir::{Graph, Node, NodeId, Tensor, TensorType, ValueId, ValueType};

/// The constant data of `v`: a value with data that is not a graph input (an input's data is a
/// default the caller may override).
pub(crate) fn const_of(g: &Graph, v: ValueId) -> Option<&Tensor> {
    let info = g.values.get(v.index())?;
    match &info.init {
        Some(t) if !g.inputs.contains(&v) => Some(t),
        _ => None,
    }
}

/// How many times each value is read: node inputs, captures of direct subgraphs and graph
/// outputs.
pub(crate) fn use_counts(g: &Graph) -> Vec<usize> {
    let mut n = vec![0usize; g.values.len()];
    for node in &g.nodes {
        for v in node.reads() {
            if let Some(c) = n.get_mut(v.index()) {
                *c += 1;
            }
        }
    }
    for o in &g.outputs {
        if let Some(c) = n.get_mut(o.index()) {
            *c += 1;
        }
    }
    n
}

/// Adds a constant value named `name` holding `t`.
pub(crate) fn add_const(g: &mut Graph, name: String, t: Tensor) -> ValueId {
    g.add_const(name, t)
}

/// A name not used by any value of `g`, starting from `base`.
pub(crate) fn fresh_name(g: &Graph, base: &str) -> String {
    if g.values.iter().all(|v| v.name != base) {
        return base.to_string();
    }
    (1..).map(|k| format!("{base}_{k}")).find(|n| g.values.iter().all(|v| v.name != *n)).unwrap_or_default()
}

/// Makes every node input and every capture of a direct subgraph that reads `from` read `to`.
pub(crate) fn replace_reads(g: &mut Graph, from: ValueId, to: ValueId) {
    for node in &mut g.nodes {
        replace_node_reads(node, from, to);
    }
}

/// [`replace_reads`] for one node.
pub(crate) fn replace_node_reads(node: &mut Node, from: ValueId, to: ValueId) {
    for i in node.inputs.iter_mut().flatten() {
        if *i == from {
            *i = to;
        }
    }
    for sub in node.op.subgraphs_mut() {
        for r in &mut sub.outer_refs {
            if r.outer == from {
                r.outer = to;
            }
        }
    }
}

/// For each value, the node that produces it.
pub(crate) fn producers(g: &Graph) -> HashMap<ValueId, usize> {
    g.producers().into_iter().map(|(v, NodeId(n))| (v, n as usize)).collect()
}

/// Keeps the more precise of two types for `into` (both describe the same value).
fn merge_type_into(g: &mut Graph, into: ValueId, other: &ValueType) {
    let cur = &g.values[into.index()].ty;
    if let Ok(m) = merge(cur, other) {
        g.values[into.index()].ty = m;
    }
}

/// Node `at` computes `y` equal to `x` (an Identity, a no-op Cast, ...). Rewires the graph so
/// that node can be removed: readers of `y` read `x`. A graph output `y` of the main graph keeps
/// its name, so instead `x`'s producer is renamed to produce `y`, or `y` becomes a copy of the
/// constant `x`. Returns false (and changes nothing) when neither is possible: `x` is an input,
/// capture or graph output, and `y` a main graph output.
pub(crate) fn forward(g: &mut Graph, at: usize, y: ValueId, x: ValueId, main: bool) -> bool {
    if y == x {
        return false;
    }
    let y_ty = g.values[y.index()].ty.clone();
    let is_output = g.outputs.contains(&y);
    if !is_output || !main {
        merge_type_into(g, x, &y_ty);
        replace_reads(g, y, x);
        for o in &mut g.outputs {
            if *o == y {
                *o = x;
            }
        }
        return true;
    }
    // `y` is an output of the main graph: its name is part of the model's interface.
    if let Some(t) = const_of(g, x).cloned() {
        let info = &mut g.values[y.index()];
        info.ty = ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape()));
        info.init = Some(t);
        replace_reads(g, y, x);
        return true;
    }
    if g.outputs.contains(&x) {
        return false;
    }
    let producer = g.nodes[..at].iter().position(|n| n.outputs.contains(&Some(x)));
    let Some(p) = producer else { return false };
    let x_ty = g.values[x.index()].ty.clone();
    merge_type_into(g, y, &x_ty);
    for o in g.nodes[p].outputs.iter_mut().flatten() {
        if *o == x {
            *o = y;
        }
    }
    replace_reads(g, x, y);
    true
}

/// The tensor type of `v`, or the all-unknown type.
pub(crate) fn tensor_type(g: &Graph, v: ValueId) -> TensorType {
    g.values.get(v.index()).and_then(|i| i.ty.as_tensor().cloned()).unwrap_or_default()
}

/// The rank of `v`, if known.
pub(crate) fn rank(g: &Graph, v: ValueId) -> Option<usize> {
    tensor_type(g, v).rank()
}
