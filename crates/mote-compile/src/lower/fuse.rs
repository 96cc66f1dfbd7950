//! Which activations fuse into the node before them, and how long each value lives (for
//! in-place decisions), computed on the graph before lowering.

use std::collections::{HashMap, HashSet};

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::NnOp;
use mote_ir::{Graph, Op, ValueId};
use mote_rt::ops::{Act, ActCode};

use super::Lowerer;

/// Ops whose output is a view of input 0 (lowered to an alias; BitCast's with another element
/// type).
pub use mote_ir::q8::is_view;

/// Last node reading each value (graph outputs: `usize::MAX`), extended through views: a value
/// lives as long as any view of it.
pub fn last_uses(g: &Graph) -> HashMap<ValueId, usize> {
    let mut last: HashMap<ValueId, usize> = HashMap::new();
    for (n, node) in g.nodes.iter().enumerate() {
        for v in node.reads() {
            last.insert(v, n);
        }
    }
    for &o in &g.outputs {
        last.insert(o, usize::MAX);
    }
    for node in g.nodes.iter().rev() {
        if is_view(&node.op)
            && let (Some(x), Some(Some(y))) = (node.input(0), node.outputs.first())
            && let Some(&ly) = last.get(y)
        {
            let lx = last.entry(x).or_insert(ly);
            *lx = (*lx).max(ly);
        }
    }
    last
}

/// The activation of a node that can be fused as an epilogue.
fn activation(l: &Lowerer<'_>, node: &mote_ir::Node) -> Option<Act> {
    let act = |code, p0, p1| Some(Act { code, p0, p1 });
    match &node.op {
        Op::Elementwise(ElementwiseOp::Unary(u)) => match *u {
            Unary::Relu => act(ActCode::Relu, 0.0, 0.0),
            Unary::Sigmoid => act(ActCode::Sigmoid, 0.0, 0.0),
            Unary::Tanh => act(ActCode::Tanh, 0.0, 0.0),
            Unary::HardSwish => act(ActCode::HardSwish, 0.0, 0.0),
            Unary::HardSigmoid { alpha, beta } => act(ActCode::HardSigmoid, alpha, beta),
            Unary::LeakyRelu { alpha } => act(ActCode::LeakyRelu, alpha, 0.0),
            _ => None,
        },
        Op::Elementwise(ElementwiseOp::Clip) => {
            let (lo, hi) = clip_bounds(l, node)?;
            act(ActCode::Clip, lo, hi)
        }
        _ => None,
    }
}

/// Constant Clip bounds (absent: unbounded), f32 only.
pub fn clip_bounds(l: &Lowerer<'_>, node: &mote_ir::Node) -> Option<(f32, f32)> {
    let bound = |i: usize, default: f32| -> Option<f32> {
        match node.input(i) {
            None => Some(default),
            Some(v) => {
                let t = l.konst(v)?;
                (t.dtype() == mote_core::DType::F32 && t.len() == 1).then(|| t.to_f32_vec().ok()?.first().copied())?
            }
        }
    };
    Some((bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?))
}

fn fusable_producer(op: &Op) -> bool {
    match op {
        Op::Nn(
            NnOp::Conv(_)
            | NnOp::ConvTranspose(_)
            | NnOp::Gemm { .. }
            | NnOp::MatMul
            | NnOp::BatchNorm { training: false, .. },
        ) => true,
        Op::Elementwise(ElementwiseOp::Binary(b)) => matches!(b, Binary::Add | Binary::Sub | Binary::Mul | Binary::Div),
        _ => false,
    }
}

/// Producer -> (activation, consumer) for every fusable pair, and the absorbed consumers.
pub fn plan(l: &Lowerer<'_>) -> (HashMap<usize, (Act, usize)>, HashSet<usize>) {
    let g = l.g;
    let mut readers: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (n, node) in g.nodes.iter().enumerate() {
        for v in node.reads() {
            readers.entry(v).or_default().push(n);
        }
    }
    let mut fused = HashMap::new();
    let mut absorbed = HashSet::new();
    for (n, node) in g.nodes.iter().enumerate() {
        if !fusable_producer(&node.op) || node.outputs.len() != 1 {
            continue;
        }
        let Some(Some(v)) = node.outputs.first() else { continue };
        if g.outputs.contains(v) || l.dtype(*v).ok() != Some(mote_core::DType::F32) {
            continue;
        }
        let Some(rs) = readers.get(v) else { continue };
        let [c] = rs.as_slice() else { continue };
        let consumer = &g.nodes[*c];
        if consumer.input(0) != Some(*v) || consumer.inputs.iter().flatten().filter(|&&u| u == *v).count() != 1 {
            continue;
        }
        if let Some(mut act) = activation(l, consumer) {
            let mut last = *c;
            absorbed.insert(*c);
            if act.code == ActCode::HardSwish {
                let (scale, shift, nodes) = scalar_affine(l, &readers, *c);
                if !nodes.is_empty() {
                    act = Act { code: ActCode::HardSwishAffine, p0: scale, p1: shift };
                    last = *nodes.last().unwrap_or(c);
                    absorbed.extend(nodes);
                }
            }
            fused.insert(n, (act, last));
        }
    }
    (fused, absorbed)
}

/// The scalar `Mul` then scalar `Add`/`Sub` (each optional, in this order) reading node `c`'s
/// output alone: `(scale, shift, nodes)`, with `nodes` empty when there is none.
fn scalar_affine(l: &Lowerer<'_>, readers: &HashMap<ValueId, Vec<usize>>, c: usize) -> (f32, f32, Vec<usize>) {
    let g = l.g;
    let (mut scale, mut shift, mut nodes) = (1.0f32, 0.0f32, Vec::new());
    let mut cur = c;
    for want_mul in [true, false] {
        let Some(Some(v)) = g.nodes[cur].outputs.first() else { break };
        if g.outputs.contains(v) {
            break;
        }
        let Some([r]) = readers.get(v).map(Vec::as_slice) else { break };
        let node = &g.nodes[*r];
        let Op::Elementwise(ElementwiseOp::Binary(b)) = node.op else { break };
        let Some(k) = scalar_operand(l, node, *v) else { break };
        match (want_mul, b) {
            (true, Binary::Mul) => scale = k,
            (false, Binary::Add) => shift = k,
            (false, Binary::Sub) if node.input(0) == Some(*v) => shift = -k,
            (true, _) => continue,
            _ => break,
        }
        nodes.push(*r);
        cur = *r;
    }
    (scale, shift, nodes)
}

/// The constant f32 scalar operand of binary `node` whose other operand is `v`, when the
/// result has `v`'s shape.
fn scalar_operand(l: &Lowerer<'_>, node: &mote_ir::Node, v: ValueId) -> Option<f32> {
    let (a, b) = (node.input(0)?, node.input(1)?);
    let k = if a == v {
        b
    } else if b == v {
        a
    } else {
        return None;
    };
    let t = l.konst(k)?;
    let out = node.outputs.first().copied().flatten()?;
    if t.dtype() != mote_core::DType::F32 || t.len() != 1 || l.dims(out).ok()? != l.dims(v).ok()? {
        return None;
    }
    t.to_f32_vec().ok()?.first().copied()
}
