//! `fold_constants`: nodes whose inputs are all constant become constants, evaluated with the
//! reference interpreter; `Shape`/`Size` of tensors whose dims are known become constants; `If`
//! with a constant condition is replaced by the nodes of the branch it takes.

use std::collections::{HashMap, VecDeque};

use mote_interp::Folder;
use mote_ir::infer::{ConstEval, Fact, InferCx};
use mote_ir::ops::control::ControlOp;
use mote_ir::ops::nn::NnOp;
use mote_ir::ops::quant::QuantOp;
use mote_ir::{Graph, Node, Op, Tensor, TensorType, ValueId, ValueType};

use crate::error::OptError;
use crate::inline::inline_if;
use crate::options::FoldOptions;
use crate::report::Rewrites;

/// Runs inference (which refreshes every type from the constants and bound shapes), then folds
/// `g` and its subgraphs. A subgraph sees the constants its captures refer to.
///
/// Never folded: random ops (and Dropout in training mode), nodes with subgraphs other than an
/// `If` with a constant condition, `DequantizeLinear` unless `opts.dequantize`, and nodes whose
/// outputs are not known to fit the size limit (see [`FoldOptions::max_elements`]). Inside a
/// subgraph, a node reading a constant captured from an enclosing graph folds only into a small
/// result (at most 1024 elements): a larger one would be copied into every subgraph.
pub fn fold_constants(g: &mut Graph, opts: &FoldOptions) -> Result<Rewrites, OptError> {
    mote_interp::infer(g).map_err(|source| OptError::Infer { pass: "fold_constants", source })?;
    let mut r = Rewrites::default();
    fold_graph(g, &HashMap::new(), opts, &mut r);
    Ok(r)
}

/// Folds `g` with the types it has now (no inference first).
pub(crate) fn fold_graph(g: &mut Graph, captured: &HashMap<ValueId, Tensor>, opts: &FoldOptions, r: &mut Rewrites) {
    let mut consts: HashMap<ValueId, Tensor> = captured.clone();
    for (id, t) in g.constants() {
        consts.insert(id, t.clone());
    }
    let mut queue: VecDeque<Node> = std::mem::take(&mut g.nodes).into();
    let mut done: Vec<Node> = Vec::with_capacity(queue.len());
    while let Some(mut node) = queue.pop_front() {
        if let Some(branch) = taken_branch(&node, &consts)
            && let Some(nodes) = inline_if(g, &node, branch)
        {
            r.add("if_inlined", 1);
            for n in nodes.into_iter().rev() {
                queue.push_front(n);
            }
            continue;
        }
        // A folded result in a subgraph is a new constant of that subgraph: when it reads a
        // constant captured from outside, every subgraph capturing it would keep its own copy.
        let reads_captured = node.inputs.iter().flatten().any(|i| captured.contains_key(i));
        let fold_opts = FoldOptions {
            max_elements: if reads_captured { opts.max_elements.min(CAPTURED_FOLD_LIMIT) } else { opts.max_elements },
            ..opts.clone()
        };
        if let Some(outs) = try_fold(g, &node, &consts, &fold_opts, !reads_captured) {
            for (slot, t) in node.outputs.iter().zip(outs) {
                if let (Some(id), Some(t)) = (slot, t) {
                    let info = &mut g.values[id.index()];
                    info.ty = ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape()));
                    info.init = Some(t.clone());
                    consts.insert(*id, t);
                }
            }
            r.add(if node_reads_consts_only(&node, &consts) { "folded" } else { "shape_folded" }, 1);
            continue;
        }
        for sub in node.op.subgraphs_mut() {
            let cap: HashMap<ValueId, Tensor> =
                sub.outer_refs.iter().filter_map(|c| consts.get(&c.outer).map(|t| (c.inner, t.clone()))).collect();
            fold_graph(sub, &cap, opts, r);
        }
        done.push(node);
    }
    g.nodes = done;
}

/// Largest result (elements) folded from a constant a subgraph captures (see `fold_graph`).
const CAPTURED_FOLD_LIMIT: usize = 1024;

fn node_reads_consts_only(node: &Node, consts: &HashMap<ValueId, Tensor>) -> bool {
    node.inputs.iter().flatten().all(|i| consts.contains_key(i))
}

/// The branch an `If` takes when its condition is constant.
fn taken_branch<'n>(node: &'n Node, consts: &HashMap<ValueId, Tensor>) -> Option<&'n Graph> {
    let Op::Control(ControlOp::If { then_branch, else_branch }) = &node.op else { return None };
    let cond = consts.get(&node.input(0)?)?;
    let c = cond.to_f64_vec().ok()?;
    if c.len() != 1 {
        return None;
    }
    Some(if c[0] != 0.0 { then_branch } else { else_branch })
}

/// Whether evaluating `node` could give a different result each run.
fn is_random(node: &Node, consts: &HashMap<ValueId, Tensor>) -> bool {
    match &node.op {
        Op::Random(_) => true,
        // Dropout drops at random only in training mode.
        Op::Nn(NnOp::Dropout { .. }) => match node.input(2) {
            None => false,
            Some(t) => consts.get(&t).and_then(|t| t.to_f64_vec().ok()).is_none_or(|v| v.iter().any(|&x| x != 0.0)),
        },
        _ => false,
    }
}

/// Element count of `v` when its type says it.
fn known_numel(g: &Graph, v: ValueId) -> Option<usize> {
    g.values[v.index()].ty.as_tensor()?.numel()?.known()
}

/// The folded outputs of `node` (one per output slot; `None` for omitted ones), or `None` when
/// it must not or cannot be folded. With `grow_to_inputs`, outputs as large as the largest
/// input fold even beyond `opts.max_elements`.
fn try_fold(
    g: &Graph,
    node: &Node,
    consts: &HashMap<ValueId, Tensor>,
    opts: &FoldOptions,
    grow_to_inputs: bool,
) -> Option<Vec<Option<Tensor>>> {
    if !node.op.subgraphs().is_empty() || is_random(node, consts) {
        return None;
    }
    if matches!(node.op, Op::Quant(QuantOp::Dequantize { .. })) && !opts.dequantize {
        return None;
    }
    if node.outputs.iter().all(Option::is_none) {
        return None;
    }
    let inputs: Vec<Option<Option<&Tensor>>> = node.inputs.iter().map(|i| i.map(|id| consts.get(&id))).collect();
    let all_const = inputs.iter().all(|i| i.is_none_or(|t| t.is_some()));
    let outs: Vec<Tensor> = if all_const {
        let largest_input = inputs.iter().flatten().flatten().map(|t| t.len()).max().unwrap_or(0);
        let limit = if grow_to_inputs { opts.max_elements.max(largest_input) } else { opts.max_elements };
        if !node.outputs.iter().flatten().all(|&o| known_numel(g, o).is_some_and(|n| n <= limit)) {
            return None;
        }
        let values: Vec<Option<Tensor>> = inputs.iter().map(|i| i.flatten().cloned()).collect();
        let outs = Folder.eval(&node.op, &values, node.outputs.len())?;
        if outs.iter().any(|t| t.len() > limit) {
            return None;
        }
        outs
    } else {
        // `Shape`/`Size` need only the input's type.
        let facts: Vec<Option<Fact>> = node
            .inputs
            .iter()
            .map(|i| i.map(|id| Fact { ty: g.values[id.index()].ty.clone(), value: consts.get(&id).cloned() }))
            .collect();
        node.op.infer_value(&InferCx::new(&facts, node.outputs.len()))?
    };
    let mut result: Vec<Option<Tensor>> = Vec::with_capacity(node.outputs.len());
    for (k, slot) in node.outputs.iter().enumerate() {
        match slot {
            Some(_) => result.push(Some(outs.get(k)?.clone())),
            None => result.push(None),
        }
    }
    Some(result)
}

#[cfg(test)]
mod tests;
