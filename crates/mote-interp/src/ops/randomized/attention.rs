use mote_ir::ops::attention::{AttentionAttrs, AttentionOp, FlexAttrs, UpdateRule};
use mote_ir::{DType, Op, Tensor};

use super::{Rng, run_cases, vals};

fn heads(rng: &Rng) -> usize {
    if rng.one_in(8) { rng.size(2) } else { 1 + rng.below(2) }
}

fn maybe(rng: &Rng, t: Tensor) -> Option<Tensor> {
    rng.coin().then_some(t)
}

#[test]
fn attention_random_cases() {
    let names = [
        "Attention",
        "RotaryEmbedding",
        "TensorScatter",
        "SwiGLU",
        "LinearAttention",
        "CausalConvWithState",
        "FlexAttention",
    ];
    run_cases(0xa77e_0008, 20000, 5, &names, |rng: &Rng| {
        let dt = if rng.one_in(8) { rng.dtype() } else { rng.float_dtype() };
        let (b, s, d) = (rng.dim(), rng.dim(), 1 + rng.below(4));
        let (hq, hk) = (heads(rng), heads(rng));
        let (op, inputs, n): (AttentionOp, Vec<Option<Tensor>>, usize) = match rng.below(7) {
            0 | 1 => {
                let four = rng.coin();
                let skv = rng.dim();
                let shape = |h: usize, len: usize| {
                    if four { vec![b, h.min(4), len, d] } else { vec![b, len, h.min(4) * d] }
                };
                let (qs, ks, vs) = (shape(hq, s), shape(hk, skv), shape(hk, skv));
                let a = AttentionAttrs {
                    is_causal: rng.coin(),
                    q_num_heads: (!four || rng.one_in(4)).then_some(hq),
                    kv_num_heads: (!four || rng.one_in(4)).then_some(hk),
                    scale: rng.coin().then(|| rng.float()),
                    softcap: if rng.coin() { 0.0 } else { rng.float() },
                    qk_matmul_output_mode: rng.below(5) as u8,
                    softmax_precision: rng.coin().then(|| rng.float_dtype()),
                    left_window: rng.int(-1, 3),
                    right_window: rng.int(-1, 3),
                };
                let past = rng.dim();
                let mask_shape: Vec<usize> = [b, hq.min(4), s, past + skv][4 - (1 + rng.below(4))..].to_vec();
                let mask = if rng.coin() { rng.tensor(DType::Bool, &mask_shape) } else { rng.tensor(dt, &mask_shape) };
                let mut ins = vec![
                    Some(rng.tensor(dt, &qs)),
                    Some(rng.tensor(dt, &ks)),
                    Some(rng.tensor(dt, &vs)),
                    maybe(rng, mask),
                ];
                if rng.coin() {
                    let ps = vec![b, hk.min(4), past, d];
                    ins.push(Some(rng.tensor(dt, &ps)));
                    ins.push(Some(rng.tensor(dt, &ps)));
                } else if rng.coin() {
                    ins.extend([None, None, Some(rng.indices(&[b], 3))]);
                }
                (AttentionOp::Attention(a), ins, 1 + rng.below(4))
            }
            2 => {
                let four = rng.coin();
                let xs = if four { vec![b, hq.min(4), s, d * 2] } else { vec![b, s, hq.min(4) * d * 2] };
                let rot = if rng.coin() { 0 } else { rng.size(4) };
                let half = if rot == 0 { d } else { rot / 2 };
                let cache = [1 + rng.below(4), half.min(8)];
                let pos = rng.coin().then(|| rng.indices(&[b, s], 4));
                let cs = if pos.is_none() && rng.coin() { vec![b, s, half.min(8)] } else { cache.to_vec() };
                let op = AttentionOp::RotaryEmbedding {
                    interleaved: rng.coin(),
                    rotary_dim: rot,
                    num_heads: (!four || rng.coin()).then_some(hq),
                };
                let ins = vec![Some(rng.tensor(dt, &xs)), Some(rng.tensor(dt, &cs)), Some(rng.tensor(dt, &cs)), pos];
                (op, ins, 1)
            }
            3 => {
                let ps = rng.shape(4);
                let mut us = ps.clone();
                if let Some(x) = us.get_mut(rng.below(4)) {
                    *x = rng.below(*x + 1);
                }
                let wi = rng.coin().then(|| rng.indices(&ps[..ps.len().min(1)], 4));
                let op = AttentionOp::TensorScatter { circular: rng.coin(), axis: rng.int(-4, 4) };
                (op, vec![Some(rng.tensor(dt, &ps)), Some(rng.tensor(dt, &us)), wi], 1)
            }
            4 => {
                let sa = rng.shape(3);
                let sb = if rng.one_in(5) { rng.shape(3) } else { sa.clone() };
                (
                    AttentionOp::SwiGlu { alpha: rng.float() },
                    vec![Some(rng.tensor(dt, &sa)), Some(rng.tensor(dt, &sb))],
                    1,
                )
            }
            5 => {
                let rule =
                    rng.pick(&[UpdateRule::Linear, UpdateRule::Gated, UpdateRule::Delta, UpdateRule::GatedDelta]);
                let (dk, dv) = (1 + rng.below(3), 1 + rng.below(3));
                let (qh, kh) = (hq.min(4), hk.min(4));
                let ins = vec![
                    Some(rng.tensor(dt, &[b, s, qh * dk])),
                    Some(rng.tensor(dt, &[b, s, kh * dk])),
                    Some(rng.tensor(dt, &[b, s, kh * dv])),
                    rng.coin().then(|| rng.tensor(dt, &[b, kh, dk, dv])),
                    (rule.gated() != rng.one_in(8)).then(|| rng.tensor(dt, &[b, s, kh])),
                    (rule.delta() != rng.one_in(8)).then(|| rng.tensor(dt, &[b, s, 1])),
                ];
                let op = AttentionOp::LinearAttention {
                    q_num_heads: hq,
                    kv_num_heads: hk,
                    scale: rng.coin().then(|| rng.float()),
                    rule,
                };
                (op, ins, 2)
            }
            6 if rng.coin() => {
                let (c, k) = (rng.dim(), if rng.one_in(8) { 0 } else { 1 + rng.below(3) });
                let ins = vec![
                    Some(rng.tensor(dt, &[b, c, s])),
                    Some(rng.tensor(dt, &[c, 1, k])),
                    rng.coin().then(|| rng.tensor(dt, &[c])),
                    rng.coin().then(|| rng.tensor(dt, &[b, c, k.saturating_sub(1)])),
                ];
                (AttentionOp::CausalConvWithState { silu: rng.coin() }, ins, 2)
            }
            _ => {
                let skv = rng.dim();
                let f = FlexAttrs {
                    scale: rng.coin().then(|| rng.float()),
                    softmax_precision: rng.coin().then(|| rng.float_dtype()),
                    score_mod: None,
                    prob_mod: None,
                };
                let ins = vec![
                    Some(rng.tensor(dt, &[b, hq.min(4), s, d])),
                    Some(rng.tensor(dt, &[b, hk.min(4), skv, d])),
                    Some(rng.tensor(dt, &[b, hk.min(4), skv, 1 + rng.below(3)])),
                ];
                (AttentionOp::FlexAttention(Box::new(f)), ins, 1)
            }
        };
        (Op::Attention(op), vals(inputs), n)
    });
}
