//! Attention-family ops: Attention (one fused runtime step, with strided copies that split 3-D
//! inputs into heads, concatenate past keys and values and merge the heads of a 3-D output),
//! RotaryEmbedding (one step), SwiGLU (Swish then Mul).

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::attention::{AttentionAttrs, AttentionOp};
use mote_ir::ops::elementwise::Unary;
use mote_rt::ops::{Act, BinaryCode, UnaryCode, encode};

use super::elementwise::{contiguous, emit_binary};
use super::sequence;
use super::shape::copy;
use super::{Lowerer, R, bail};

pub fn lower(l: &mut Lowerer<'_>, n: &Node, op: &AttentionOp) -> R<()> {
    match op {
        AttentionOp::Attention(a) => attention(l, n, a),
        AttentionOp::RotaryEmbedding { interleaved, rotary_dim, num_heads } => {
            rotary(l, n, *interleaved, *rotary_dim, *num_heads)
        }
        AttentionOp::SwiGlu { alpha } => {
            let (a, b) = (l.input(n, 0)?, l.input(n, 1)?);
            if l.p.tensors[a].dtype != DType::F32 || l.p.tensors[b].dtype != DType::F32 {
                bail!("SwiGLU on {} is not supported by the compiled path (f32 only)", l.p.tensors[a].dtype);
            }
            if l.p.tensors[a].dims != l.p.tensors[b].dims {
                bail!("SwiGLU inputs differ in shape");
            }
            let dims = l.p.tensors[a].dims.clone();
            let s = l.p.arena(DType::F32, dims, format!("{}.swish", n.name));
            let (code, p0, p1) = UnaryCode::of(Unary::Swish { alpha: *alpha }).ok_or("Swish has no runtime kernel")?;
            l.p.step(OpCode::Unary, vec![Some(a)], vec![s], encode::unary(code, p0, p1), &n.name);
            let y = l.output(n, 0)?;
            emit_binary(l, BinaryCode::Mul, s, b, y, Act::NONE, &n.name)
        }
        AttentionOp::LinearAttention { q_num_heads, kv_num_heads, scale, rule } => {
            sequence::linear_attention(l, n, *q_num_heads, *kv_num_heads, *scale, *rule)
        }
        AttentionOp::CausalConvWithState { silu } => sequence::causal_conv(l, n, *silu),
        // Expanded before lowering (`flex`) unless it does not fit.
        AttentionOp::FlexAttention(_) => bail!(
            "FlexAttention is compiled for 4-D f32/f16/bf16 inputs with static shapes and a float32 softmax (f64 MatMul and Softmax are not in the runtime)"
        ),
        _ => bail!("{} is not supported by the compiled path yet", n.op.name()),
    }
}

/// Strides reading a `[b, s, h * d]` tensor as `[b, h, s, d]`.
fn split_strides(b_s_hd: &[usize], h: usize) -> [isize; 4] {
    let (s, hd) = (b_s_hd[1] as isize, b_s_hd[2] as isize);
    let d = hd / h as isize;
    [s * hd, d, hd, 1]
}

/// The 4-D `[b, h, s, d]` heads of input `t` (3-D inputs are copied into a new tensor).
fn heads(l: &mut Lowerer<'_>, t: usize, h: Option<usize>, what: &str, name: &str) -> R<usize> {
    let d = l.p.tensors[t].dims.clone();
    match d.len() {
        4 => Ok(t),
        3 => {
            let h = h
                .filter(|&h| h > 0 && d[2].is_multiple_of(h))
                .ok_or_else(|| format!("{what} has no valid head count"))?;
            let dims = vec![d[0], h, d[1], d[2] / h];
            let o = l.p.arena(DType::F32, dims.clone(), format!("{name}.{what}4"));
            copy(l, t, o, &dims, (0, &split_strides(&d, h)), (0, &contiguous(&dims)), name);
            Ok(o)
        }
        r => bail!("{what} must be 3-D or 4-D, got rank {r}"),
    }
}

/// `present = concat(past, cur)` along the sequence axis of `[b, h, s, d]`, into `out`.
fn concat_past(l: &mut Lowerer<'_>, past: Option<usize>, cur: usize, cur_h: Option<usize>, out: usize, name: &str) {
    let od = l.p.tensors[out].dims.clone();
    let dst = contiguous(&od);
    let mut at = 0;
    if let Some(p) = past {
        let pd = l.p.tensors[p].dims.clone();
        copy(l, p, out, &pd, (0, &contiguous(&pd)), (0, &dst), name);
        at = pd[2];
    }
    let cd = l.p.tensors[cur].dims.clone();
    let (dims, src) = match (cd.len(), cur_h) {
        (3, Some(h)) => (vec![cd[0], h, cd[1], cd[2] / h], split_strides(&cd, h).to_vec()),
        _ => (cd.clone(), contiguous(&cd)),
    };
    copy(l, cur, out, &dims, (0, &src), (at * od[3], &dst), name);
}

fn attention(l: &mut Lowerer<'_>, n: &Node, a: &AttentionAttrs) -> R<()> {
    let (q, k, v) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
    for t in [q, k, v] {
        if l.p.tensors[t].dtype != DType::F32 {
            bail!("Attention on {} is not supported by the compiled path (f32 only)", l.p.tensors[t].dtype);
        }
    }
    // f16/bf16 models arrive here widened to f32 (`widen`); without `softmax_precision` their
    // softmax runs in the model's type, which the step models by rounding.
    let declared = l.g.value(l.in_value(n, 0)?).ty.clone();
    let model_dtype = match declared {
        mote_ir::ValueType::Tensor(t) => t.dtype,
        _ => None,
    };
    let softmax_round = match a.softmax_precision.or(model_dtype) {
        Some(DType::F32) | None => 0,
        Some(DType::F16) => 1,
        Some(DType::BF16) => 2,
        Some(d) => bail!("Attention with softmax_precision {d} is not supported by the compiled path"),
    };
    let three_d = l.p.tensors[q].dims.len() == 3;
    let q4 = heads(l, q, a.q_num_heads, "Q", &n.name)?;
    let [b, hq, sq, dk] = dims4(&l.p.tensors[q4].dims)?;
    let kd = l.p.tensors[k].dims.clone();
    let vd = l.p.tensors[v].dims.clone();
    let kv_heads = |d: &[usize]| -> R<(usize, usize, usize)> {
        match *d {
            [_, h, s, x] => Ok((h, s, x)),
            [_, s, hx] => {
                let h = a.kv_num_heads.filter(|&h| h > 0 && hx % h == 0).ok_or("K/V have no valid head count")?;
                Ok((h, s, hx / h))
            }
            _ => bail!("K and V must be 3-D or 4-D"),
        }
    };
    let (hk, skv, _) = kv_heads(&kd)?;
    let (_, _, dv) = kv_heads(&vd)?;
    let past_k = n.input(4).map(|_| l.input(n, 4)).transpose()?;
    let past_v = n.input(5).map(|_| l.input(n, 5)).transpose()?;
    let p = match (past_k, past_v) {
        (Some(pk), Some(_)) => l.p.tensors[pk].dims.get(2).copied().ok_or("past_key must be 4-D")?,
        (None, None) => 0,
        _ => bail!("past_key and past_value must be given together"),
    };
    for t in [past_k, past_v].into_iter().flatten() {
        if l.p.tensors[t].dtype != DType::F32 {
            bail!("Attention past key/value must be f32 to compile");
        }
    }
    let total = p + skv;
    let kv_h = if kd.len() == 3 { a.kv_num_heads } else { None };
    let mut kv4 = Vec::new();
    for (i, cur, past, x) in [(1, k, past_k, dk), (2, v, past_v, dv)] {
        let want_out = n.outputs.get(i).copied().flatten().is_some();
        if past.is_none() && !want_out {
            kv4.push(heads(l, cur, kv_h, if i == 1 { "K" } else { "V" }, &n.name)?);
            continue;
        }
        let present = if want_out {
            l.output(n, i)?
        } else {
            l.p.arena(DType::F32, vec![b, hk, total, x], format!("{}.present{i}", n.name))
        };
        if l.p.tensors[present].dims != [b, hk, total, x] {
            bail!("present key/value shape {:?} is not [{b}, {hk}, {total}, {x}]", l.p.tensors[present].dims);
        }
        concat_past(l, past, cur, kv_h, present, &n.name);
        kv4.push(present);
    }
    let mask = match n.input(3) {
        None => None,
        Some(_) => {
            let m = l.input(n, 3)?;
            let md = l.p.tensors[m].dims.clone();
            if !matches!(l.p.tensors[m].dtype, DType::Bool | DType::F32) {
                bail!("Attention mask of {} is not supported by the compiled path (bool or f32)", l.p.tensors[m].dtype);
            }
            if md.is_empty() || md.len() > 4 {
                bail!("attn_mask must have rank 1 to 4");
            }
            let mut d4 = vec![1; 4 - md.len()];
            d4.extend(&md);
            Some(l.p.alias(m, d4, format!("{}.mask4", n.name)))
        }
    };
    let nonpad = match n.input(6) {
        None => None,
        Some(_) => {
            if p > 0 {
                bail!("nonpad_kv_seqlen cannot be combined with past_key/past_value");
            }
            Some(l.input(n, 6)?)
        }
    };
    let y4 =
        if three_d { l.p.arena(DType::F32, vec![b, hq, sq, dv], format!("{}.y4", n.name)) } else { l.output(n, 0)? };
    let mut outs = vec![y4];
    if n.outputs.get(3).copied().flatten().is_some() {
        outs.push(l.output(n, 3)?);
    }
    let scale = a.scale.map(|s| s as f64).unwrap_or(1.0 / (dk as f64).sqrt());
    let clamp = |w: i64| w.clamp(-1, i32::MAX as i64) as i32;
    let attrs = encode::AttentionAttrs {
        past: p,
        causal: a.is_causal,
        left_window: clamp(a.left_window),
        right_window: clamp(a.right_window),
        sqrt_scale: scale.sqrt() as f32,
        softcap: a.softcap,
        qk_mode: a.qk_matmul_output_mode,
        softmax_round,
    };
    let ins = vec![Some(q4), Some(kv4[0]), Some(kv4[1]), mask, nonpad];
    l.p.step(OpCode::Attention, ins, outs, encode::attention(&attrs), &n.name);
    if three_d {
        let y = l.output(n, 0)?;
        let dims = [b, hq, sq, dv];
        let dst = [(sq * hq * dv) as isize, dv as isize, (hq * dv) as isize, 1];
        copy(l, y4, y, &dims, (0, &contiguous(&dims)), (0, &dst), &n.name);
    }
    Ok(())
}

fn dims4(d: &[usize]) -> R<[usize; 4]> {
    d.try_into().map_err(|_| format!("expected 4 dims, got {d:?}"))
}

fn rotary(l: &mut Lowerer<'_>, n: &Node, interleaved: bool, rotary_dim: usize, num_heads: Option<usize>) -> R<()> {
    let (x, c, s) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
    for t in [x, c, s] {
        if l.p.tensors[t].dtype != DType::F32 {
            bail!("RotaryEmbedding on {} is not supported by the compiled path (f32 only)", l.p.tensors[t].dtype);
        }
    }
    let xd = l.p.tensors[x].dims.clone();
    let (b, sq, h, d, heads_first) = match *xd.as_slice() {
        [b, h, s, d] => (b, s, h, d, true),
        [b, s, hd] => {
            let h = num_heads.filter(|&h| h > 0 && hd % h == 0).ok_or("3-D input needs a valid num_heads")?;
            (b, s, h, hd / h, false)
        }
        _ => bail!("RotaryEmbedding input must be 3-D or 4-D"),
    };
    let rot = if rotary_dim == 0 { d } else { rotary_dim };
    let pos = n.input(3).map(|_| l.input(n, 3)).transpose()?;
    let y = l.output(n, 0)?;
    let attrs = encode::rotary(b, sq, h, d, heads_first, rot, interleaved);
    l.p.step(OpCode::RotaryEmbedding, vec![Some(x), Some(c), Some(s), pos], vec![y], attrs, &n.name);
    Ok(())
}
