//! FlexAttention (`ai.onnx.preview`) expanded into primitive graph ops before lowering, with its
//! `score_mod` / `prob_mod` subgraphs inlined, so the modifiers compile like any other ops:
//!
//! `scores = (Q * sqrt(scale)) @ (K * sqrt(scale))^T` (grouped query heads as a reshape of Q into
//! `[B, Hk, G * L, E]`), rounded through the input type when it is f16/bf16, then `score_mod`,
//! `Softmax` over the last axis, `prob_mod`, `@ V`, and a Cast back to the input type. Half
//! precision inputs compute in f32 as the interpreter does, f64 inputs in f64. Nodes whose
//! shapes are not static and a softmax precision other than the compute type stay as they are
//! (the lowering then refuses them with the reason).

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_ir::ops::attention::{AttentionOp, FlexAttrs};
use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::nn::{NnOp, SoftmaxAttrs, SoftmaxKind};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, ValueId};

use super::build::{Builder, rewrite_nodes, typed};

/// Expands every FlexAttention node of `g` that fits (see the module doc); returns how many.
pub fn expand(g: &mut Graph) -> usize {
    rewrite_nodes(g, |g, n| match &n.op {
        Op::Attention(AttentionOp::FlexAttention(f)) => expand_node(g, n, f),
        _ => None,
    })
}

fn expand_node(g: &mut Graph, n: &Node, f: &FlexAttrs) -> Option<Vec<Node>> {
    let (q, k, v) = (n.input(0)?, n.input(1)?, n.input(2)?);
    let y_out = n.outputs.first().copied().flatten()?;
    let ((qt, qd), (kt, kd), (vt, vd)) = (typed(g, q)?, typed(g, k)?, typed(g, v)?);
    let ([b, hq, l, e], [_, hk, s, _], [_, _, _, ev]) =
        (<[usize; 4]>::try_from(qd).ok()?, <[usize; 4]>::try_from(kd).ok()?, <[usize; 4]>::try_from(vd).ok()?);
    // f64 computes in f64 (MatMul and Softmax then become element-wise steps, `expand.rs`).
    let ct = if [qt, kt, vt] == [DType::F64; 3] { DType::F64 } else { DType::F32 };
    let floats = [DType::F32, DType::F16, DType::BF16];
    if ct == DType::F32 && (!floats.contains(&qt) || !floats.contains(&kt) || !floats.contains(&vt)) {
        return None;
    }
    if f.softmax_precision.is_some_and(|p| p != ct) || hk == 0 || hq % hk != 0 {
        return None;
    }
    let group = hq / hk;
    let mut bld = Builder::new(g, &n.name);
    let wide = |bld: &mut Builder<'_>, x: ValueId, t: DType, what: &str| {
        if t == ct { x } else { bld.cast(what, x, ct) }
    };
    let (q32, k32, v32) =
        (wide(&mut bld, q, qt, "q_f32"), wide(&mut bld, k, kt, "k_f32"), wide(&mut bld, v, vt, "v_f32"));
    let scale = f.scale.map_or(1.0 / (e as f64).sqrt(), |x| x as f64) as f32;
    let ss = match ct {
        DType::F64 => {
            bld.konst("sqrt_scale", Tensor::scalar(f.scale.map_or(1.0 / (e as f64).sqrt(), |x| x as f64).sqrt()))
        }
        _ => bld.konst("sqrt_scale", Tensor::scalar(scale.sqrt())),
    };
    let mul = Op::Elementwise(ElementwiseOp::Binary(Binary::Mul));
    let qs = bld.node("q_scaled", mul.clone(), &[q32, ss]);
    let ks = bld.node("k_scaled", mul, &[k32, ss]);
    let kt_ = bld.node("k_t", Op::Shape(ShapeOp::Transpose { perm: Some(vec![0, 1, 3, 2]) }), &[ks]);
    let qg = if group > 1 { bld.reshape("q_grouped", qs, &[b, hk, group * l, e]) } else { qs };
    let mut sc = bld.node("scores", Op::Nn(NnOp::MatMul), &[qg, kt_]);
    if group > 1 {
        sc = bld.reshape("scores_heads", sc, &[b, hq, l, s]);
    }
    if qt != ct {
        let r = bld.cast("scores_rounded", sc, qt);
        sc = bld.cast("scores_f32", r, ct);
    }
    if let Some(m) = &f.score_mod {
        sc = bld.inline("score_mod", m, sc)?;
    }
    let softmax = SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: -1, coerce_2d: false };
    let mut p = bld.node("probs", Op::Nn(NnOp::Softmax(softmax)), &[sc]);
    if let Some(m) = &f.prob_mod {
        p = bld.inline("prob_mod", m, p)?;
    }
    let pg = if group > 1 { bld.reshape("probs_grouped", p, &[b, hk, group * l, s]) } else { p };
    let mut y = bld.node("y", Op::Nn(NnOp::MatMul), &[pg, v32]);
    if group > 1 {
        y = bld.reshape("y_heads", y, &[b, hq, l, ev]);
    }
    let last = if vt == ct {
        Op::Shape(ShapeOp::Identity)
    } else {
        Op::Elementwise(ElementwiseOp::Cast { to: vt, saturate: true, round_mode: RoundMode::default() })
    };
    let mut out = std::mem::take(&mut bld.out);
    out.push(Node { name: format!("{}/output", n.name), op: last, inputs: vec![Some(y)], outputs: vec![Some(y_out)] });
    Some(out)
}
