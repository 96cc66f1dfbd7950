//! `fuse_patterns`: multi-node patterns rewritten to one op the kernels have.
//!
//! - HardSwish spelled out (PaddlePaddle exports, MobileNetV3 / PP-OCR):
//!   `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)` (or `Mul(…, 1/6)`) becomes `HardSwish(x)`
//!   (`hardswish_fused`). The intermediate values must have no other reader.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::{Graph, Op, ValueId};

use crate::edit::{const_of, producers, use_counts};
use crate::report::Rewrites;

/// Applies the patterns to `g`'s main graph.
pub fn fuse_patterns(g: &mut Graph) -> Rewrites {
    let mut r = Rewrites::default();
    let mut n = 0;
    while n < g.nodes.len() {
        if let Some(x) = hardswish_input(g, n) {
            let node = &mut g.nodes[n];
            node.op = Op::Elementwise(ElementwiseOp::Unary(Unary::HardSwish));
            node.inputs = vec![Some(x)];
            r.add("hardswish_fused", 1);
        }
        n += 1;
    }
    r
}

/// A scalar f32 constant's value.
fn scalar(g: &Graph, v: Option<ValueId>) -> Option<f32> {
    let t = const_of(g, v?)?;
    if t.len() != 1 {
        return None;
    }
    t.as_slice::<f32>().map(|s| s[0])
}

/// `x` when node `n` is the last node of a spelled-out HardSwish of `x`.
fn hardswish_input(g: &Graph, n: usize) -> Option<ValueId> {
    let prod = producers(g);
    let uses = use_counts(g);
    let node = &g.nodes[n];
    let single = |v: ValueId| uses[v.index()] == 1 && !g.outputs.contains(&v);
    let bin = |i: usize, op: Binary| -> bool {
        matches!(&g.nodes[i].op, Op::Elementwise(ElementwiseOp::Binary(b)) if *b == op)
    };
    // Last node: Div(m, 6) or Mul(m, 1/6).
    let m = match &node.op {
        Op::Elementwise(ElementwiseOp::Binary(Binary::Div)) if scalar(g, node.input(1)) == Some(6.0) => {
            node.input(0)?
        }
        Op::Elementwise(ElementwiseOp::Binary(Binary::Mul))
            if scalar(g, node.input(1)).is_some_and(|s| (s - 1.0 / 6.0).abs() < 1e-7) =>
        {
            node.input(0)?
        }
        _ => return None,
    };
    let mi = *prod.get(&m)?;
    if !single(m) || !bin(mi, Binary::Mul) {
        return None;
    }
    let mul = &g.nodes[mi];
    let (p, q) = (mul.input(0)?, mul.input(1)?);
    // One side is Clip(Add(x, 3), 0, 6) of the other side x.
    for (x, c) in [(p, q), (q, p)] {
        let Some(&ci) = prod.get(&c) else { continue };
        let clip = &g.nodes[ci];
        if !single(c) || !matches!(clip.op, Op::Elementwise(ElementwiseOp::Clip)) {
            continue;
        }
        if scalar(g, clip.input(1)) != Some(0.0) || scalar(g, clip.input(2)) != Some(6.0) {
            continue;
        }
        let a = clip.input(0)?;
        let Some(&ai) = prod.get(&a) else { continue };
        let add = &g.nodes[ai];
        let three = [(add.input(0), add.input(1)), (add.input(1), add.input(0))]
            .into_iter()
            .any(|(u, k)| u == Some(x) && scalar(g, k) == Some(3.0));
        if single(a) && bin(ai, Binary::Add) && three {
            return Some(x);
        }
    }
    None
}
