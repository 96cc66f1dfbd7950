//! Which runtime inputs decide a shape. A static memory plan needs their values when
//! compiling: a deployment fixes them with `--const` (the conformance harness does the same);
//! every other input stays a runtime input.

use std::collections::HashSet;

use mote_ir::ops::control::ControlOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Op, ValueId};

use crate::{CompileError, Options};

/// Names of the runtime inputs of `graph` whose data decide a shape or an axis (Reshape's
/// `shape`, Range's bounds, TopK's `k`, OneHot's depth, CumSum's axis, a Loop's trip count...):
/// the operands shape inference asks the data of (`InferCx::value`), given the shapes and
/// constants `opts` binds already. Shape operands are followed back through the ops that
/// compute them, but not through Shape and Size, which read only a shape.
pub fn shape_inputs(graph: &Graph, opts: &Options) -> Result<Vec<String>, CompileError> {
    let mut g = graph.clone();
    let b = mote_opt::options::Bindings {
        dims: opts.dims.clone(),
        shapes: opts.shapes.clone(),
        constants: opts.constants.clone(),
        freeze_initializers: false,
    };
    mote_opt::specialize::specialize(&mut g, &b).map_err(|e| CompileError::Interface(e.to_string()))?;
    let (_, demands) = mote_ir::infer::infer_graph_demands(&mut g, Some(&mote_interp::Folder))
        .map_err(|e| CompileError::Infer(e.to_string()))?;
    Ok(cone_inputs(&g, demands.into_iter().collect()))
}

/// The runtime inputs (names) the values `stack` are computed from, not through Shape and Size.
fn cone_inputs(g: &Graph, mut stack: Vec<ValueId>) -> Vec<String> {
    let producers = g.producers();
    let mut seen = HashSet::new();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) {
            continue;
        }
        if let Some(&n) = producers.get(&v) {
            let node = &g.nodes[n.0 as usize];
            if !matches!(node.op, Op::Shape(ShapeOp::Shape { .. } | ShapeOp::Size)) {
                stack.extend(node.reads());
            }
        }
    }
    g.runtime_inputs().into_iter().filter(|v| seen.contains(v)).map(|v| g.value(v).name.clone()).collect()
}

/// The runtime inputs that decide the condition of an `If` (top level).
fn if_condition_inputs(g: &Graph) -> Vec<String> {
    let conds = g.nodes.iter().filter(|n| matches!(n.op, Op::Control(ControlOp::If { .. })));
    cone_inputs(g, conds.filter_map(|n| n.input(0)).collect())
}

/// `opts` with every shape-deciding runtime input of `graph` bound to its value in `inputs`
/// (name, value), found to a fixed point (binding one can expose the next). When the graph
/// cannot be typed with its `If` conditions unknown, the inputs deciding them are bound too.
/// Inputs the values do not cover, or that are not tensors, are left unbound.
pub fn bind_shape_inputs(
    graph: &Graph,
    inputs: &[(String, mote_ir::Value)],
    opts: &Options,
) -> Result<Options, CompileError> {
    let mut opts = opts.clone();
    for (name, v) in inputs {
        if let mote_ir::Value::Tensor(t) = v
            && !opts.constants.contains_key(name)
        {
            opts.shapes.entry(name.clone()).or_insert_with(|| t.shape().to_vec());
        }
    }
    for _ in 0..8 {
        let mut grew = false;
        // When the graph cannot be typed as it is, an `If` whose branches differ is the usual
        // cause (silero_vad's sample rate): its condition decides the shapes.
        let needed = match shape_inputs(graph, &opts) {
            Ok(v) => v,
            Err(e) => match if_condition_inputs(graph) {
                v if v.iter().all(|n| opts.constants.contains_key(n)) => return Err(e),
                v => v,
            },
        };
        for name in needed {
            if let Some((_, mote_ir::Value::Tensor(t))) = inputs.iter().find(|(n, _)| *n == name) {
                opts.shapes.remove(&name);
                grew |= opts.constants.insert(name, t.clone()).is_none();
            }
        }
        if !grew {
            break;
        }
    }
    Ok(opts)
}
