//! `dce`: dead-code elimination. Removes nodes whose outputs nobody reads, outputs of an `If`
//! nobody reads (from the node and both branches), unread scan outputs of a `Loop`, captures a subgraph no longer reads, and
//! values (constants included) nothing refers to, renumbering [`ValueId`]s.

use mote_ir::ops::control::ControlOp;
use mote_ir::{Graph, Node, Op, ValueId};

use crate::report::Rewrites;

/// Removes dead code from `g` and its subgraphs. Graph outputs are used, and the main graph's
/// inputs stay (they are its interface), as do subgraph inputs (positional).
///
/// Rewrites counted: `nodes_removed`, `if_outputs_removed`, `loop_scan_outputs_removed`,
/// `captures_removed`, `values_removed`.
pub fn dce(g: &mut Graph) -> Rewrites {
    let mut r = Rewrites::default();
    dce_graph(g, &mut r);
    r
}

fn dce_graph(g: &mut Graph, r: &mut Rewrites) {
    let mut live = vec![false; g.values.len()];
    let mark = |live: &mut Vec<bool>, v: ValueId| {
        if let Some(l) = live.get_mut(v.index()) {
            *l = true;
        }
    };
    for &o in &g.outputs {
        mark(&mut live, o);
    }
    let mut keep = vec![false; g.nodes.len()];
    for n in (0..g.nodes.len()).rev() {
        let node = &mut g.nodes[n];
        let used = node.outputs.iter().flatten().any(|o| live.get(o.index()).copied().unwrap_or(false));
        if !used {
            continue;
        }
        keep[n] = true;
        prune_if_outputs(node, &live, r);
        prune_loop_scan_outputs(node, &live, r);
        for sub in node.op.subgraphs_mut() {
            dce_graph(sub, r);
        }
        for v in node.reads() {
            mark(&mut live, v);
        }
    }
    let before = g.nodes.len();
    let mut k = 0;
    g.nodes.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    r.add("nodes_removed", before - g.nodes.len());
    drop_unused_captures(g, r);
    compact_values(g, r);
}

/// Removes the outputs of an `If` that nobody reads, from the node and both branches.
fn prune_if_outputs(node: &mut Node, live: &[bool], r: &mut Rewrites) {
    let Op::Control(ControlOp::If { then_branch, else_branch }) = &mut node.op else { return };
    let n = node.outputs.len();
    if then_branch.outputs.len() != n || else_branch.outputs.len() != n {
        return;
    }
    let dead: Vec<bool> =
        node.outputs.iter().map(|o| o.is_none_or(|o| !live.get(o.index()).copied().unwrap_or(false))).collect();
    let removed = dead.iter().filter(|&&d| d).count();
    if removed == 0 || removed == n {
        return;
    }
    fn keep<T>(v: &mut Vec<T>, dead: &[bool]) {
        let mut k = 0;
        v.retain(|_| {
            k += 1;
            !dead[k - 1]
        });
    }
    keep(&mut node.outputs, &dead);
    keep(&mut then_branch.outputs, &dead);
    keep(&mut else_branch.outputs, &dead);
    r.add("if_outputs_removed", removed);
}

/// Removes the scan outputs of a `Loop` that nobody reads, from the node and its body (the
/// loop-carried values stay: each iteration reads them).
fn prune_loop_scan_outputs(node: &mut Node, live: &[bool], r: &mut Rewrites) {
    let Op::Control(ControlOp::Loop { body }) = &mut node.op else { return };
    let Some(carried) = node.inputs.len().checked_sub(2) else { return };
    if body.outputs.len() != 1 + node.outputs.len() || node.outputs.len() < carried {
        return;
    }
    let dead = |o: &Option<ValueId>| o.is_none_or(|o| !live.get(o.index()).copied().unwrap_or(false));
    let mut k = node.outputs.len();
    let mut removed = 0;
    while k > carried {
        k -= 1;
        if dead(&node.outputs[k]) {
            node.outputs.remove(k);
            body.outputs.remove(k + 1);
            removed += 1;
        }
    }
    r.add("loop_scan_outputs_removed", removed);
}

/// Removes the captures of `g` whose inner value nothing in `g` reads.
fn drop_unused_captures(g: &mut Graph, r: &mut Rewrites) {
    if g.outer_refs.is_empty() {
        return;
    }
    let mut read = vec![false; g.values.len()];
    for node in &g.nodes {
        for v in node.reads() {
            if let Some(x) = read.get_mut(v.index()) {
                *x = true;
            }
        }
    }
    for &o in &g.outputs {
        if let Some(x) = read.get_mut(o.index()) {
            *x = true;
        }
    }
    let before = g.outer_refs.len();
    g.outer_refs.retain(|c| read.get(c.inner.index()).copied().unwrap_or(true));
    r.add("captures_removed", before - g.outer_refs.len());
}

/// Drops values nothing refers to and renumbers the rest (in this graph, and the captures of its
/// direct subgraphs, which name this graph's values).
fn compact_values(g: &mut Graph, r: &mut Rewrites) {
    let mut used = vec![false; g.values.len()];
    {
        let mut mark = |v: ValueId| {
            if let Some(x) = used.get_mut(v.index()) {
                *x = true;
            }
        };
        g.inputs.iter().chain(&g.outputs).for_each(|&v| mark(v));
        g.outer_refs.iter().for_each(|c| mark(c.inner));
        for node in &g.nodes {
            node.inputs.iter().chain(&node.outputs).flatten().for_each(|&v| mark(v));
            for v in node.reads() {
                mark(v);
            }
        }
    }
    if used.iter().all(|&u| u) {
        return;
    }
    let mut map: Vec<Option<ValueId>> = vec![None; g.values.len()];
    let mut next = 0u32;
    for (i, &u) in used.iter().enumerate() {
        if u {
            map[i] = Some(ValueId(next));
            next += 1;
        }
    }
    let removed = g.values.len() - next as usize;
    let mut k = 0;
    g.values.retain(|_| {
        k += 1;
        used[k - 1]
    });
    // Every id below is marked used above, so the map has it.
    let m = |v: &mut ValueId| {
        if let Some(Some(n)) = map.get(v.index()) {
            *v = *n;
        }
    };
    g.inputs.iter_mut().for_each(m);
    g.outputs.iter_mut().for_each(m);
    g.outer_refs.iter_mut().for_each(|c| m(&mut c.inner));
    for node in &mut g.nodes {
        node.inputs.iter_mut().flatten().for_each(m);
        node.outputs.iter_mut().flatten().for_each(m);
        for sub in node.op.subgraphs_mut() {
            sub.outer_refs.iter_mut().for_each(|c| m(&mut c.outer));
        }
    }
    r.add("values_removed", removed);
}

#[cfg(test)]
mod tests {
    use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
    use mote_ir::{DType, Dim, OuterRef, Tensor, ValueType};

    use super::*;

    fn f32s(n: usize) -> ValueType {
        ValueType::tensor(DType::F32, vec![Dim::Known(n)])
    }
    fn add() -> Op {
        Op::Elementwise(ElementwiseOp::Binary(Binary::Add))
    }
    fn neg() -> Op {
        Op::Elementwise(ElementwiseOp::Unary(Unary::Neg))
    }

    #[test]
    fn removes_dead_nodes_constants_and_renumbers() {
        let mut g = Graph::new("g");
        let x = g.add_value("x", f32s(2));
        let dead_k = g.add_const("dead_k", Tensor::from_vec(vec![2], vec![1f32, 2.0]).unwrap());
        let d = g.add_value("d", f32s(2));
        let k = g.add_const("k", Tensor::from_vec(vec![2], vec![3f32, 4.0]).unwrap());
        let y = g.add_value("y", f32s(2));
        g.add_node("dead", add(), vec![Some(x), Some(dead_k)], vec![Some(d)]);
        g.add_node("live", add(), vec![Some(x), Some(k)], vec![Some(y)]);
        g.inputs = vec![x];
        g.outputs = vec![y];
        let r = dce(&mut g);
        assert_eq!((r.get("nodes_removed"), r.get("values_removed")), (1, 2));
        mote_ir::verify::verify(&g).unwrap();
        assert_eq!(g.values.len(), 3);
        let out = mote_interp::run(&g, vec![Tensor::from_vec(vec![2], vec![1f32, 1.0]).unwrap().into()]).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[4.0, 5.0]);
        assert!(!dce(&mut g).changed());
    }

    /// An `If` with a dead output and a branch capturing values only that output needed.
    #[test]
    fn prunes_dead_if_outputs_and_captures() {
        let mut g = Graph::new("g");
        let c = g.add_value("c", ValueType::tensor(DType::Bool, vec![]));
        let x = g.add_value("x", f32s(2));
        let x2 = g.add_value("x2", f32s(2));
        g.add_node("neg", neg(), vec![Some(x)], vec![Some(x2)]);
        let branch = |name: &str| {
            let mut b = Graph::new(name);
            let xi = b.add_value("xi", f32s(2));
            let x2i = b.add_value("x2i", f32s(2));
            let o0 = b.add_value("o0", f32s(2));
            let o1 = b.add_value("o1", f32s(2));
            b.add_node("a", neg(), vec![Some(xi)], vec![Some(o0)]);
            b.add_node("b", add(), vec![Some(x2i), Some(x2i)], vec![Some(o1)]);
            b.outputs = vec![o0, o1];
            b.outer_refs = vec![OuterRef { inner: xi, outer: x }, OuterRef { inner: x2i, outer: x2 }];
            b
        };
        let y0 = g.add_value("y0", f32s(2));
        let y1 = g.add_value("y1", f32s(2));
        let op =
            Op::Control(ControlOp::If { then_branch: Box::new(branch("then")), else_branch: Box::new(branch("else")) });
        g.add_node("if", op, vec![Some(c)], vec![Some(y0), Some(y1)]);
        g.inputs = vec![c, x];
        g.outputs = vec![y0];
        let r = dce(&mut g);
        mote_ir::verify::verify(&g).unwrap();
        assert_eq!(r.get("if_outputs_removed"), 1);
        assert_eq!(r.get("captures_removed"), 2);
        assert_eq!(g.nodes.len(), 1, "Neg feeding only the dead output is gone");
        let Op::Control(ControlOp::If { then_branch, .. }) = &g.nodes[0].op else { panic!() };
        assert_eq!((then_branch.nodes.len(), then_branch.values.len(), then_branch.outputs.len()), (1, 2, 1));
        let out = mote_interp::run(
            &g,
            vec![Tensor::scalar(true).into(), Tensor::from_vec(vec![2], vec![1f32, -2.0]).unwrap().into()],
        )
        .unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[-1.0, 2.0]);
    }

    /// A Loop whose scan output nobody reads: the scan output leaves the node and the body, and
    /// the body's node computing it goes.
    #[test]
    fn prunes_dead_loop_scan_outputs() {
        let scalar = |d: DType| ValueType::tensor(d, vec![]);
        let mut body = Graph::new("body");
        let i = body.add_value("i", scalar(DType::I64));
        let cond = body.add_value("cond", scalar(DType::Bool));
        let acc = body.add_value("acc", f32s(2));
        let acc2 = body.add_value("acc2", f32s(2));
        let scan = body.add_value("scan", f32s(2));
        body.add_node("acc", add(), vec![Some(acc), Some(acc)], vec![Some(acc2)]);
        body.add_node("scan", neg(), vec![Some(acc)], vec![Some(scan)]);
        body.inputs = vec![i, cond, acc];
        body.outputs = vec![cond, acc2, scan];
        let mut g = Graph::new("g");
        let m = g.add_const("m", Tensor::scalar(3i64));
        let x = g.add_value("x", f32s(2));
        let y = g.add_value("y", f32s(2));
        let s = g.add_value("s", ValueType::Unknown);
        g.add_node(
            "loop",
            Op::Control(ControlOp::Loop { body: Box::new(body) }),
            vec![Some(m), None, Some(x)],
            vec![Some(y), Some(s)],
        );
        g.inputs = vec![x];
        g.outputs = vec![y];
        let r = dce(&mut g);
        mote_ir::verify::verify(&g).unwrap();
        assert_eq!(r.get("loop_scan_outputs_removed"), 1, "{r}");
        let Op::Control(ControlOp::Loop { body }) = &g.nodes[0].op else { panic!() };
        assert_eq!((body.nodes.len(), body.outputs.len(), g.nodes[0].outputs.len()), (1, 2, 1));
        let out = mote_interp::run(&g, vec![Tensor::from_vec(vec![2], vec![1f32, -1.0]).unwrap().into()]).unwrap();
        assert_eq!(out[0].as_tensor().unwrap().typed::<f32>().unwrap(), &[8.0, -8.0]);
    }
}
