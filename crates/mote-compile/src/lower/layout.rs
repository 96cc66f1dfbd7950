//! Layout choice: which values live in the channel-blocked layout NCHWc8 (`[N, C/8, H, W, 8]`,
//! see `mote_kernels::fast::blocked`) instead of NCHW.
//!
//! Pointwise and depthwise convolutions whose channels are multiples of 8 run faster blocked
//! (every vector lane is used whatever the plane size or stride). A value is blocked when it is
//! such a convolution's output (after its fused activation) or an element-wise op's, every
//! reader is such a convolution (as its input), an element-wise op (as a full-size operand) or
//! a global pooling, and it is not a graph output or a 1x1 plane. Element-wise ops (unary, Clip,
//! Add/Sub/Mul/Div) need their full-size operands and result in one layout, so those whose
//! values cannot all be blocked unblock them all (repeated until stable); their scalar and
//! per-channel operands are read through a view (`[N, C, 1, 1]` is `[N, C/8, 1, 1, 8]`). A
//! convolution with one side blocked runs blocked, and the lowering inserts a `Reorder` step
//! for the other side (a stem convolution, 1 to 4 input channels, reads its NCHW input as is);
//! a global pooling of a blocked value is a reduction over H and W.

use std::collections::{HashMap, HashSet};

use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{GlobalPool, NnOp};
use mote_ir::{Node, Op, ValueId};
use mote_kernels::fast::{BLOCK, Conv2d};

use super::Lowerer;

/// What a node is to the layout choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A convolution the blocked kernels run.
    Conv,
    /// An element-wise op that runs in any layout: its full-size operands and result share
    /// the layout; scalar and per-channel operands are read through a view.
    Elementwise,
    /// Global pooling: reads a blocked input, writes `[N, C, 1, 1]` (the same bytes in both
    /// layouts).
    Pool,
}

/// The values to keep blocked.
pub fn plan(l: &Lowerer<'_>) -> HashSet<ValueId> {
    let g = l.g;
    let roles: HashMap<usize, Role> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| !l.absorbed.contains(i))
        .filter_map(|(i, n)| role(l, n).map(|r| (i, r)))
        .collect();
    let mut readers: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.reads() {
            readers.entry(v).or_default().push(i);
        }
    }
    // Candidates: outputs of the nodes above, read only by them (a convolution as input 0).
    let mut blocked: HashSet<ValueId> = roles
        .iter()
        .filter(|(_, r)| **r != Role::Pool)
        .filter_map(|(&i, _)| effective_output(l, i))
        .filter(|v| !g.outputs.contains(v) && blockable(l, *v))
        .filter(|v| {
            readers.get(v).is_some_and(|rs| {
                rs.iter().all(|r| match roles.get(r) {
                    Some(Role::Conv) => {
                        let n = &g.nodes[*r];
                        n.input(0) == Some(*v) && n.inputs.iter().flatten().filter(|&&u| u == *v).count() == 1
                    }
                    Some(Role::Elementwise) => full_inputs(l, &g.nodes[*r]).contains(v),
                    Some(Role::Pool) => g.nodes[*r].input(0) == Some(*v),
                    None => false,
                })
            })
        })
        .collect();
    // Element-wise ops need every operand and the result in one layout.
    loop {
        let mut changed = false;
        for (&i, _) in roles.iter().filter(|(_, r)| **r == Role::Elementwise) {
            let n = &g.nodes[i];
            let vals: Vec<ValueId> = full_inputs(l, n).into_iter().chain(effective_output(l, i)).collect();
            if vals.iter().any(|v| blocked.contains(v)) && !vals.iter().all(|v| blocked.contains(v)) {
                for v in vals {
                    changed |= blocked.remove(&v);
                }
            }
        }
        if !changed {
            break;
        }
    }
    // A fused producer's own output shares its activation's tensor.
    for (&i, &(_, consumer)) in &l.fused {
        if let (Some(Some(own)), Some(Some(v))) = (g.nodes[i].outputs.first(), g.nodes[consumer].outputs.first())
            && blocked.contains(v)
        {
            blocked.insert(*own);
        }
    }
    blocked
}

/// The value node `i` really produces: its fused activation's output when it has one.
pub fn effective_output(l: &Lowerer<'_>, i: usize) -> Option<ValueId> {
    let n = match l.fused.get(&i) {
        Some(&(_, consumer)) => &l.g.nodes[consumer],
        None => &l.g.nodes[i],
    };
    n.outputs.first().copied().flatten()
}

/// A 4-D f32 value with channels a non-zero multiple of 8 and more than one pixel (a 1x1 plane
/// is the same bytes in both layouts), not a constant.
fn blockable(l: &Lowerer<'_>, v: ValueId) -> bool {
    l.konst(v).is_none()
        && matches!(l.logical_shape(v), Ok((DType::F32, d))
            if d.len() == 4 && d[1] > 0 && d[1] % BLOCK == 0 && d[2] * d[3] > 1)
}

/// How an element-wise operand of dims `d` relates to a 4-D result `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    Full,
    /// One value, or one per channel (`[.., C, 1, 1]`): read through a view in either layout.
    Small,
}

fn operand(d: &[usize], out: &[usize]) -> Option<Operand> {
    if d == out {
        return Some(Operand::Full);
    }
    if d.len() > 4 || out.len() != 4 {
        return None;
    }
    let mut r = [1usize; 4];
    r[4 - d.len()..].copy_from_slice(d);
    let small =
        d.iter().product::<usize>() == 1 || (r[2] == 1 && r[3] == 1 && r[1] == out[1] && (r[0] == 1 || r[0] == out[0]));
    small.then_some(Operand::Small)
}

/// The full-size operands of element-wise node `n`.
fn full_inputs(l: &Lowerer<'_>, n: &Node) -> Vec<ValueId> {
    let Some(out) = n.outputs.first().copied().flatten().and_then(|v| l.logical_shape(v).ok()) else {
        return Vec::new();
    };
    n.inputs
        .iter()
        .flatten()
        .copied()
        .filter(|&v| l.logical_shape(v).is_ok_and(|s| operand(&s.1, &out.1) == Some(Operand::Full)))
        .collect()
}

fn role(l: &Lowerer<'_>, n: &Node) -> Option<Role> {
    match &n.op {
        Op::Nn(NnOp::Conv(_)) => blocked_geometry(l, n).map(|_| Role::Conv),
        Op::Nn(NnOp::GlobalPool(GlobalPool::Average | GlobalPool::Max)) => {
            let d = l.logical_shape(n.input(0)?).ok()?.1;
            (d.len() == 4).then_some(Role::Pool)
        }
        Op::Elementwise(ElementwiseOp::Unary(Unary::Not)) => None,
        Op::Elementwise(
            ElementwiseOp::Binary(Binary::Add | Binary::Sub | Binary::Mul | Binary::Div)
            | ElementwiseOp::Unary(_)
            | ElementwiseOp::Clip,
        ) => {
            let (dt, out) = l.logical_shape(n.outputs.first().copied().flatten()?).ok()?;
            let arity = if matches!(n.op, Op::Elementwise(ElementwiseOp::Binary(_))) { 2 } else { 1 };
            if dt != DType::F32 || out.len() != 4 || n.inputs.len() < arity {
                return None;
            }
            let ops = n.inputs[..arity]
                .iter()
                .map(|v| operand(&l.logical_shape((*v)?).ok()?.1, &out))
                .collect::<Option<Vec<Operand>>>()?;
            // Extra inputs (Clip's bounds) must be absent or constant scalars.
            let extra_ok = n.inputs[arity..].iter().flatten().all(|&v| l.konst(v).is_some_and(|t| t.len() == 1));
            let full_var = n.inputs[..arity]
                .iter()
                .zip(&ops)
                .any(|(v, o)| *o == Operand::Full && v.is_some_and(|v| l.konst(v).is_none()));
            (extra_ok && full_var).then_some(Role::Elementwise)
        }
        _ => None,
    }
}

/// The view of a scalar or per-channel operand of dims `d` (see [`operand`]) that broadcasts
/// against a blocked result: per-channel `[N?, C, 1, 1]` becomes `[N?, C/8, 1, 1, 8]`; `None`
/// for a scalar (it broadcasts as is).
pub fn small_operand_view(d: &[usize]) -> Option<Vec<usize>> {
    if d.iter().product::<usize>() == 1 || d.len() > 4 {
        return None;
    }
    let mut r = [1usize; 4];
    r[4 - d.len()..].copy_from_slice(d);
    Some(vec![r[0], r[1] / BLOCK, 1, 1, BLOCK])
}

/// The blocked kernels' geometry of Conv node `n` (constant weights, 2-D, pointwise or
/// depthwise with channels multiples of 8, or a stem), or `None`.
pub fn blocked_geometry(l: &Lowerer<'_>, n: &Node) -> Option<Conv2d> {
    let Op::Nn(NnOp::Conv(a)) = &n.op else { return None };
    let (xv, wv, yv) = (n.input(0)?, n.input(1)?, n.outputs.first().copied().flatten()?);
    let w = l.konst(wv)?;
    let (xt, xd) = l.logical_shape(xv).ok()?;
    let yd = l.logical_shape(yv).ok()?.1;
    if xt != DType::F32 || w.dtype() != DType::F32 || xd.len() != 4 || yd.len() != 4 {
        return None;
    }
    let r = a.window.resolve(&xd[2..], &w.shape()[2..]).ok()?;
    if r.pads_begin.iter().any(|&p| p < 0) {
        return None;
    }
    let c = Conv2d {
        batch: xd[0],
        in_channels: xd[1],
        out_channels: yd[1],
        group: a.group,
        input: [xd[2], xd[3]],
        output: [yd[2], yd[3]],
        kernel: [r.kernel[0], r.kernel[1]],
        strides: [r.strides[0], r.strides[1]],
        dilations: [r.dilations[0], r.dilations[1]],
        pads: [r.pads_begin[0] as usize, r.pads_begin[1] as usize],
    };
    mote_kernels::fast::blocked_supported(&c).then_some(c)
}

/// `[N, C, H, W]` -> `[N, C/8, H, W, 8]`.
pub fn blocked_dims(d: &[usize]) -> Vec<usize> {
    vec![d[0], d[1] / BLOCK, d[2], d[3], BLOCK]
}
