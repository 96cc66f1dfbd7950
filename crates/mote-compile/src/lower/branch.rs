//! `If` whose condition is known only at run time: both branches are compiled into the step list
//! behind a real conditional step, so only the branch taken runs.
//!
//! Before lowering, [`inline`] replaces such an `If` by the then-branch's nodes, the
//! else-branch's nodes (copies with fresh values) and, per output, a `Where(cond, then, else)`
//! node that keeps the graph well-typed for inference (its output is the `If`'s). The lowering
//! ([`Lowerer::branch_events`]) then emits, in that order: `Branch(cond)` (skips the then-steps
//! when the condition is false), the then-steps, a copy of each then-output into the output's
//! tensor, `Jump` (skips the else-steps), the else-steps and their copies; the `Where` nodes emit
//! nothing. Both branches write the same output tensors, and a branch output must have the
//! output's element type and shape (else the node is refused, named).
//!
//! The memory plan needs nothing special: a value of one branch is read only inside it (its
//! lifetime ends there, whichever branch runs), and an output is live from the then-copy to
//! its last reader, so it spans both branches.

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::ops::control::ControlOp;
use mote_ir::ops::elementwise::ElementwiseOp;
use mote_ir::{Graph, Node, Op, ValueId, ValueType};
use mote_rt::ops::encode;

use super::unroll::copy_nodes;
use super::{Lowerer, R, bail};

/// One run-time `If` after [`inline`].
#[derive(Clone, Debug, PartialEq)]
pub struct RtIf {
    pub name: String,
    pub cond: ValueId,
    /// `(then value, else value, output)` per used output.
    pub outs: Vec<(ValueId, ValueId, ValueId)>,
}

/// Where the lowering must open, switch or close a run-time `If`: before node `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Then(usize),
    Else(usize),
    End(usize),
}

/// The run-time `If`s of a graph and the marks, in node order.
#[derive(Clone, Debug, Default)]
pub struct Branches {
    pub ifs: Vec<RtIf>,
    /// `(node index, mark)`, in the order the lowering must act on them.
    pub marks: Vec<(usize, Mark)>,
    /// The `Where` nodes standing for outputs.
    pub merges: std::collections::HashSet<usize>,
}

impl Branches {
    pub fn is_empty(&self) -> bool {
        self.ifs.is_empty()
    }
}

/// Inlines every top-level `If` whose condition is not constant and whose outputs are tensors
/// (see the module doc).
pub fn inline(g: &mut Graph) -> Branches {
    let mut b = Branches::default();
    if !g.nodes.iter().any(|n| matches!(n.op, Op::Control(ControlOp::If { .. }))) {
        return b;
    }
    let nodes = std::mem::take(&mut g.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    emit(g, nodes, &mut out, &mut b);
    g.nodes = out;
    b
}

fn emit(g: &mut Graph, nodes: Vec<Node>, out: &mut Vec<Node>, b: &mut Branches) {
    for n in nodes {
        let Some((cond, tn, to, en, eo)) = split(g, &n) else {
            out.push(n);
            continue;
        };
        let k = b.ifs.len();
        b.ifs.push(RtIf { name: n.name.clone(), cond, outs: Vec::new() });
        b.marks.push((out.len(), Mark::Then(k)));
        emit(g, tn, out, b);
        b.marks.push((out.len(), Mark::Else(k)));
        emit(g, en, out, b);
        b.marks.push((out.len(), Mark::End(k)));
        for (j, y) in n.outputs.iter().enumerate() {
            let Some(y) = *y else { continue };
            b.merges.insert(out.len());
            out.push(Node {
                name: format!("{}/output{j}", n.name),
                op: Op::Elementwise(ElementwiseOp::Where),
                inputs: vec![Some(cond), Some(to[j]), Some(eo[j])],
                outputs: vec![Some(y)],
            });
            b.ifs[k].outs.push((to[j], eo[j], y));
        }
    }
}

type Split = (ValueId, Vec<Node>, Vec<ValueId>, Vec<Node>, Vec<ValueId>);

/// A run-time `If`'s condition and its branches' nodes and outputs (fresh copies).
fn split(g: &mut Graph, n: &Node) -> Option<Split> {
    let Op::Control(ControlOp::If { then_branch, else_branch }) = &n.op else { return None };
    let cond = n.input(0)?;
    let list = |t: &ValueType| matches!(t, ValueType::Sequence(_) | ValueType::Optional(_) | ValueType::Map(..));
    if g.value(cond).init.is_some()
        || n.outputs.iter().all(Option::is_none)
        || n.outputs.iter().flatten().any(|&y| list(&g.value(y).ty))
    {
        return None;
    }
    let (tn, to) = copy_branch(g, n, then_branch, "then")?;
    let (en, eo) = copy_branch(g, n, else_branch, "else")?;
    // Branch outputs of different known types are refused at lowering (the `If` stays).
    let differ = |a: ValueId, b: ValueId| match (g.value(a).ty.as_tensor(), g.value(b).ty.as_tensor()) {
        (Some(x), Some(y)) => {
            (x.dtype.is_some() && y.dtype.is_some() && x.dtype != y.dtype)
                || matches!((x.known_shape(), y.known_shape()), (Some(p), Some(q)) if p != q)
        }
        _ => false,
    };
    if n.outputs.iter().enumerate().any(|(j, y)| y.is_some() && differ(to[j], eo[j])) {
        return None;
    }
    Some((cond, tn, to, en, eo))
}

fn copy_branch(g: &mut Graph, n: &Node, branch: &Graph, what: &str) -> Option<(Vec<Node>, Vec<ValueId>)> {
    if !branch.inputs.is_empty() || branch.outputs.len() < n.outputs.len() {
        return None;
    }
    let mut map: Vec<Option<ValueId>> = vec![None; branch.values.len()];
    for c in &branch.outer_refs {
        *map.get_mut(c.inner.index())? = Some(c.outer);
    }
    for (i, v) in branch.values.iter().enumerate() {
        if map[i].is_none() {
            let mut info = v.clone();
            info.name = format!("{}/{what}/{}", n.name, v.name);
            let id = ValueId(g.values.len() as u32);
            g.values.push(info);
            map[i] = Some(id);
        }
    }
    let mut nodes = Vec::with_capacity(branch.nodes.len());
    copy_nodes(&branch.nodes, &map, &format!("{}/{what}", n.name), &mut nodes)?;
    let outs = branch.outputs.iter().map(|o| map.get(o.index()).copied().flatten()).collect::<Option<Vec<_>>>()?;
    Some((nodes, outs))
}

impl Lowerer<'_> {
    /// Acts on the marks placed before node `at` (opening, switching and closing run-time `If`s);
    /// an error names the `If`.
    pub(crate) fn branch_events(&mut self, at: usize) -> Result<(), (String, String)> {
        while let Some(&(pos, mark)) = self.branches.marks.get(self.next_mark) {
            if pos != at {
                break;
            }
            self.next_mark += 1;
            let k = match mark {
                Mark::Then(k) | Mark::Else(k) | Mark::End(k) => k,
            };
            let name = self.branches.ifs[k].name.clone();
            self.branch_mark(mark, k).map_err(|e| (name, e))?;
        }
        Ok(())
    }

    fn branch_mark(&mut self, mark: Mark, k: usize) -> R<()> {
        let rt = self.branches.ifs[k].clone();
        match mark {
            Mark::Then(_) => {
                let c = self.tensor_of(rt.cond)?;
                let t = &self.p.tensors[c];
                if t.dtype != DType::Bool || t.numel() != 1 {
                    bail!("the condition must be one bool, got {} {:?}", t.dtype, t.dims);
                }
                let s = self.p.step(OpCode::Branch, vec![Some(c)], Vec::new(), encode::skip(0), &rt.name);
                self.open_ifs.insert(k, (s, 0));
            }
            Mark::Else(_) => {
                for &(t, _, y) in &rt.outs {
                    self.branch_copy(t, y, &rt.name, "then")?;
                }
                let j = self.p.step(OpCode::Jump, Vec::new(), Vec::new(), encode::skip(0), &rt.name);
                let (s, _) = *self.open_ifs.get(&k).ok_or("the If was not opened")?;
                self.p.steps[s].attrs = encode::skip(j - s);
                self.open_ifs.insert(k, (s, j));
            }
            Mark::End(_) => {
                for &(_, e, y) in &rt.outs {
                    self.branch_copy(e, y, &rt.name, "else")?;
                }
                let (_, j) = self.open_ifs.remove(&k).ok_or("the If was not opened")?;
                self.p.steps[j].attrs = encode::skip(self.p.steps.len() - j - 1);
            }
        }
        Ok(())
    }

    /// Copies branch output `x` into the `If`'s output `y` (its tensor made on first use).
    fn branch_copy(&mut self, x: ValueId, y: ValueId, name: &str, what: &str) -> R<()> {
        let yt = match self.vals.get(&y) {
            Some(&t) => t,
            None => {
                let (dtype, dims) = self.value_shape(y)?;
                let t = self.p.arena(dtype, dims, &self.g.value(y).name);
                self.vals.insert(y, t);
                t
            }
        };
        let xt = self.tensor_of(x)?;
        let (xs, ys) = (&self.p.tensors[xt], &self.p.tensors[yt]);
        if xs.dtype != ys.dtype || xs.dims != ys.dims {
            bail!(
                "the {what} branch gives '{}' as {} {:?}, the other branch as {} {:?}: both branches must give the \
                 same element type and shape to compile with a run-time condition",
                self.g.value(y).name,
                xs.dtype,
                xs.dims,
                ys.dtype,
                ys.dims
            );
        }
        let numel = ys.numel();
        if numel > 0 {
            super::shape::copy(self, xt, yt, &[numel], (0, &[1]), (0, &[1]), &format!("{name}/{what}_out"));
        }
        Ok(())
    }
}
