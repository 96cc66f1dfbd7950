//! Inlining the branch an `If` takes into the enclosing graph.

use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, ValueId};

/// The nodes that replace `node` (an `If`) when it takes `branch`: the branch's values are added
/// to `g` (its constants stay constants, captures resolve to the enclosing values they read),
/// its nodes follow with their ids remapped (nested subgraphs' captures too), and one Identity
/// per used output binds the `If`'s output to the branch's (the simplify pass removes them).
/// `None` when the branch does not fit the node (inputs, or fewer outputs than the node).
pub(crate) fn inline_if(g: &mut Graph, node: &Node, branch: &Graph) -> Option<Vec<Node>> {
    if !branch.inputs.is_empty() || branch.outputs.len() < node.outputs.len() {
        return None;
    }
    let mut map: Vec<Option<ValueId>> = vec![None; branch.values.len()];
    for c in &branch.outer_refs {
        *map.get_mut(c.inner.index())? = Some(c.outer);
    }
    for (i, v) in branch.values.iter().enumerate() {
        if map[i].is_none() {
            let id = ValueId(g.values.len() as u32);
            g.values.push(v.clone());
            map[i] = Some(id);
        }
    }
    let m = |v: ValueId| map.get(v.index()).copied().flatten();
    let mut out = Vec::with_capacity(branch.nodes.len() + node.outputs.len());
    for n in &branch.nodes {
        let mut n = n.clone();
        for i in n.inputs.iter_mut().flatten() {
            *i = m(*i)?;
        }
        for o in n.outputs.iter_mut().flatten() {
            *o = m(*o)?;
        }
        for sub in n.op.subgraphs_mut() {
            for c in &mut sub.outer_refs {
                c.outer = m(c.outer)?;
            }
        }
        out.push(n);
    }
    for (k, slot) in node.outputs.iter().enumerate() {
        if let Some(o) = slot {
            let x = m(branch.outputs[k])?;
            out.push(Node {
                name: format!("{}/output_{k}", node.name),
                op: Op::Shape(ShapeOp::Identity),
                inputs: vec![Some(x)],
                outputs: vec![Some(*o)],
            });
        }
    }
    Some(out)
}
