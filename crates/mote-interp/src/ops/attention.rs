//! Attention-family ops: Attention, RotaryEmbedding, TensorScatter, SwiGLU, LinearAttention,
//! CausalConvWithState.
//!
//! Half-precision inputs compute in f32 and round once at the end; f64 computes in f64 (except
//! LinearAttention, whose reference computes in f32).

use mote_ir::ops::attention::{AttentionAttrs, AttentionOp, FlexAttrs, UpdateRule};
use mote_ir::{DType, Elem, Tensor, Value, bf16, dispatch_elem, f16};
use mote_kernels::reference::attention::{
    HeadCfg, attention_head, causal_conv_channel, linear_attention_read, linear_attention_update, rotary,
};
use num_traits::Float;

use super::{EvalCx, Inputs, axis, numel, one, upcast};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &AttentionOp, inputs: &Inputs<'_>, cx: &EvalCx<'_>, n: usize) -> Result<Vec<Value>, OpError> {
    let dtype = inputs.tensor(0)?.dtype();
    let wide = dtype == DType::F64;
    let outs = match op {
        AttentionOp::Attention(a) => {
            if wide || a.softmax_precision == Some(DType::F64) {
                attention::<f64>(a, inputs, n)?
            } else {
                attention::<f32>(a, inputs, n)?
            }
        }
        AttentionOp::RotaryEmbedding { interleaved, rotary_dim, num_heads } => {
            let f = if wide { rotary_embedding::<f64> } else { rotary_embedding::<f32> };
            vec![f(inputs, *interleaved, *rotary_dim, *num_heads)?]
        }
        AttentionOp::TensorScatter { circular, axis } => {
            return one(tensor_scatter(inputs.tensor(0)?, inputs.tensor(1)?, inputs.opt_tensor(2)?, *circular, *axis)?);
        }
        AttentionOp::SwiGlu { alpha } => {
            let f = if wide { swiglu::<f64> } else { swiglu::<f32> };
            vec![f(inputs.tensor(0)?, inputs.tensor(1)?, *alpha)?]
        }
        AttentionOp::LinearAttention { q_num_heads, kv_num_heads, scale, rule } => {
            return linear_attention(inputs, *q_num_heads, *kv_num_heads, *scale, *rule);
        }
        AttentionOp::CausalConvWithState { silu } => {
            let f = if wide { causal_conv::<f64> } else { causal_conv::<f32> };
            f(inputs, *silu)?
        }
        AttentionOp::FlexAttention(f) => {
            if wide || f.softmax_precision == Some(DType::F64) {
                vec![flex_attention::<f64>(f, inputs, cx)?]
            } else {
                vec![flex_attention::<f32>(f, inputs, cx)?]
            }
        }
    };
    outs.into_iter().map(|t| Ok(Value::Tensor(t))).collect()
}

/// Input `i` as a float tensor of compute type `T` (f16/bf16 widened).
fn floats<T: Elem>(inputs: &Inputs<'_>, i: usize, what: &str) -> Result<Option<Tensor>, OpError> {
    let Some(t) = inputs.opt_tensor(i)? else { return Ok(None) };
    if !t.dtype().is_float() {
        bail!("{what} must be a float tensor, got {}", t.dtype());
    }
    let t = upcast(t)?;
    if t.dtype() == T::DTYPE { Ok(Some(t)) } else { Ok(Some(mote_ir_cast(&t, T::DTYPE)?)) }
}

fn mote_ir_cast(t: &Tensor, to: DType) -> Result<Tensor, OpError> {
    super::elementwise::cast(t, to)
}

fn req<T: Elem>(inputs: &Inputs<'_>, i: usize, what: &str) -> Result<Tensor, OpError> {
    floats::<T>(inputs, i, what)?.ok_or_else(|| op_err!("{what} is required"))
}

/// `[b, s, h * d]` -> `[b, h, s, d]`.
fn split_heads<T: Copy + Default>(x: &[T], b: usize, s: usize, h: usize, d: usize) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    for bi in 0..b {
        for si in 0..s {
            for hi in 0..h {
                let src = ((bi * s + si) * h + hi) * d;
                let dst = ((bi * h + hi) * s + si) * d;
                out[dst..dst + d].copy_from_slice(&x[src..src + d]);
            }
        }
    }
    out
}

/// `[b, h, s, d]` -> `[b, s, h * d]`.
fn merge_heads<T: Copy + Default>(x: &[T], b: usize, h: usize, s: usize, d: usize) -> Vec<T> {
    let mut out = vec![T::default(); x.len()];
    for bi in 0..b {
        for hi in 0..h {
            for si in 0..s {
                let src = ((bi * h + hi) * s + si) * d;
                let dst = ((bi * s + si) * h + hi) * d;
                out[dst..dst + d].copy_from_slice(&x[src..src + d]);
            }
        }
    }
    out
}

/// A 4-D `[batch, heads, seq, head]` view of Q, K or V (3-D inputs are split into `heads`).
fn as_4d<T: Float + Elem>(t: &Tensor, heads: Option<usize>, what: &str) -> Result<(Vec<T>, [usize; 4]), OpError> {
    let v = t.typed::<T>()?;
    match *t.shape() {
        [b, h, s, d] => Ok((v.to_vec(), [b, h, s, d])),
        [b, s, hd] => {
            let h = heads.ok_or_else(|| op_err!("{what} is 3-D, which needs q_num_heads and kv_num_heads"))?;
            if h == 0 || hd % h != 0 {
                bail!("{what}'s hidden size {hd} is not a multiple of {h} heads");
            }
            Ok((split_heads(v, b, s, h, hd / h), [b, h, s, hd / h]))
        }
        _ => bail!("{what} must be 3-D or 4-D, got shape {:?}", t.shape()),
    }
}

/// Concatenates `past` `[b, h, p, d]` and `cur` `[b, h, s, d]` along the sequence axis.
fn concat_seq<T: Copy + Default>(past: &[T], p: usize, cur: &[T], s: usize, bh: usize, d: usize) -> Vec<T> {
    let mut out = Vec::with_capacity((p + s) * bh * d);
    for i in 0..bh {
        out.extend_from_slice(&past[i * p * d..(i + 1) * p * d]);
        out.extend_from_slice(&cur[i * s * d..(i + 1) * s * d]);
    }
    out
}

/// The additive mask, as `[mb, mh, mq, mk]` with broadcast strides, and the padding rule.
struct Mask<T> {
    data: Vec<T>,
    dims: [usize; 4],
}

impl<T: Float> Mask<T> {
    /// The mask value at `(b, h, i, j)`: `-inf` past the mask's last dimension.
    fn at(&self, b: usize, h: usize, i: usize, j: usize) -> T {
        let [mb, mh, mq, mk] = self.dims;
        if j >= mk {
            return T::neg_infinity();
        }
        let (b, h, i) = (if mb == 1 { 0 } else { b }, if mh == 1 { 0 } else { h }, if mq == 1 { 0 } else { i });
        self.data[((b * mh + h) * mq + i) * mk + j]
    }
}

fn mask<T: Float + Elem>(t: &Tensor, full: [usize; 4]) -> Result<Mask<T>, OpError> {
    if t.rank() > 4 || t.rank() == 0 {
        bail!("attn_mask must have rank 1 to 4, got shape {:?}", t.shape());
    }
    let mut dims = [1usize; 4];
    dims[4 - t.rank()..].copy_from_slice(t.shape());
    for k in 0..3 {
        if dims[k] != 1 && dims[k] != full[k] {
            bail!("attn_mask of shape {:?} does not broadcast to {full:?}", t.shape());
        }
    }
    if dims[3] > full[3] {
        bail!("attn_mask's last dimension {} exceeds the total sequence length {}", dims[3], full[3]);
    }
    let data: Vec<T> = match t.dtype() {
        DType::Bool => t.typed::<bool>()?.iter().map(|&m| if m { T::zero() } else { T::neg_infinity() }).collect(),
        d if d.is_float() => {
            let u = upcast(t)?;
            u.to_f64_vec()?.into_iter().map(|x| T::from(x).expect("float")).collect()
        }
        d => bail!("attn_mask must be bool or float, got {d}"),
    };
    Ok(Mask { data, dims })
}

fn attention<T: Float + Elem>(a: &AttentionAttrs, inputs: &Inputs<'_>, n_out: usize) -> Result<Vec<Tensor>, OpError> {
    let (q_t, k_t, v_t) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
    let (out_dtype, v_dtype) = (q_t.dtype(), v_t.dtype());
    let (q, k, v) = (req::<T>(inputs, 0, "Q")?, req::<T>(inputs, 1, "K")?, req::<T>(inputs, 2, "V")?);
    if q.rank() != k.rank() || q.rank() != v.rank() {
        bail!("Q, K and V must have the same rank, got {:?}, {:?}, {:?}", q.shape(), k.shape(), v.shape());
    }
    let three_d = q.rank() == 3;
    let (qv, [b, hq, sq, dk]) = as_4d::<T>(&q, a.q_num_heads, "Q")?;
    let (kv, [kb, hk, skv, kdk]) = as_4d::<T>(&k, a.kv_num_heads, "K")?;
    let (vv, [vb, hv, vs, dv]) = as_4d::<T>(&v, a.kv_num_heads, "V")?;
    if kb != b || vb != b || hv != hk || vs != skv || kdk != dk {
        bail!("inconsistent Q/K/V shapes: Q [{b},{hq},{sq},{dk}], K [{kb},{hk},{skv},{kdk}], V [{vb},{hv},{vs},{dv}]");
    }
    if hk == 0 || hq % hk != 0 {
        bail!("q heads ({hq}) must be a multiple of kv heads ({hk})");
    }
    let past_k = floats::<T>(inputs, 4, "past_key")?;
    let past_v = floats::<T>(inputs, 5, "past_value")?;
    let nonpad = inputs.opt_tensor(6)?;
    if past_k.is_some() != past_v.is_some() {
        bail!("past_key and past_value must be given together");
    }
    if nonpad.is_some() && past_k.is_some() {
        bail!("nonpad_kv_seqlen cannot be combined with past_key/past_value");
    }
    let (kall, vall, past) = match (&past_k, &past_v) {
        (Some(pk), Some(pv)) => {
            let p = pk.shape().get(2).copied().unwrap_or(0);
            if pk.shape() != [b, hk, p, dk] || pv.shape() != [b, hk, p, dv] {
                bail!("past_key {:?} / past_value {:?} do not match K and V", pk.shape(), pv.shape());
            }
            let kc = concat_seq(pk.typed::<T>()?, p, &kv, skv, b * hk, dk);
            let vc = concat_seq(pv.typed::<T>()?, p, &vv, skv, b * hk, dv);
            (kc, vc, p)
        }
        _ => (kv, vv, 0),
    };
    let total = past + skv;
    let nonpad: Option<Vec<i64>> = match nonpad {
        None => None,
        Some(t) => {
            if t.shape() != [b] {
                bail!("nonpad_kv_seqlen must have shape [{b}], got {:?}", t.shape());
            }
            let v = t.to_i64_vec()?;
            if let Some(bad) = v.iter().find(|&&l| l < 0 || l as u64 > total as u64) {
                bail!("nonpad_kv_seqlen value {bad} is outside [0, {total}]");
            }
            Some(v)
        }
    };
    let m = inputs.opt_tensor(3)?.map(|t| mask::<T>(t, [b, hq, sq, total])).transpose()?;
    let scale = a.scale.map(|s| s as f64).unwrap_or(1.0 / (dk as f64).sqrt());
    let cfg = HeadCfg {
        sq,
        skv: total,
        dk,
        dv,
        sqrt_scale: T::from(scale.sqrt()).expect("float"),
        softcap: T::from(a.softcap).expect("float"),
        qk_mode: a.qk_matmul_output_mode,
        // Without `softmax_precision` the softmax runs in the input's precision.
        softmax_round: softmax_round::<T>(a.softmax_precision.or(Some(out_dtype))),
    };
    numel(&[b, hq, sq, total])?;
    let mut y = vec![T::zero(); numel(&[b, hq, sq, dv])?];
    let want_qk = n_out > 3;
    let mut qk = if want_qk { vec![T::zero(); b * hq * sq * total] } else { Vec::new() };
    let mut bias = vec![T::zero(); sq * total];
    let mut probs = vec![T::zero(); sq * total];
    let ninf = T::neg_infinity();
    for bi in 0..b {
        let offset: i64 = match &nonpad {
            Some(np) => np[bi] - sq as i64,
            None => past as i64,
        };
        for h in 0..hq {
            for i in 0..sq {
                let pos = i as i64 + offset;
                for j in 0..total {
                    let mut x = m.as_ref().map_or(T::zero(), |m| m.at(bi, h, i, j));
                    let jj = j as i64;
                    if a.is_causal && jj > pos {
                        x = ninf;
                    }
                    if (a.left_window >= 0 && pos - jj > a.left_window)
                        || (a.right_window >= 0 && jj - pos > a.right_window)
                    {
                        x = ninf;
                    }
                    if let Some(np) = &nonpad
                        && jj >= np[bi]
                    {
                        x = ninf;
                    }
                    bias[i * total + j] = x;
                }
            }
            let kh = h / (hq / hk);
            let qs = &qv[(bi * hq + h) * sq * dk..][..sq * dk];
            let ks = &kall[(bi * hk + kh) * total * dk..][..total * dk];
            let vs = &vall[(bi * hk + kh) * total * dv..][..total * dv];
            let ys = &mut y[(bi * hq + h) * sq * dv..][..sq * dv];
            let qko = if want_qk { Some(&mut qk[(bi * hq + h) * sq * total..][..sq * total]) } else { None };
            attention_head(cfg, qs, ks, vs, &bias, &mut probs, qko, ys);
        }
    }
    let y = if three_d {
        Tensor::from_vec(vec![b, sq, hq * dv], merge_heads(&y, b, hq, sq, dv))?
    } else {
        Tensor::from_vec(vec![b, hq, sq, dv], y)?
    };
    let mut outs = vec![downcast_to(y, out_dtype)?];
    if n_out > 1 {
        outs.push(downcast_to(Tensor::from_vec(vec![b, hk, total, dk], kall)?, k_t.dtype())?);
        outs.push(downcast_to(Tensor::from_vec(vec![b, hk, total, dv], vall)?, v_dtype)?);
    }
    if want_qk {
        outs.push(downcast_to(Tensor::from_vec(vec![b, hq, sq, total], qk)?, out_dtype)?);
    }
    Ok(outs)
}

/// Rounding to a softmax precision lower than the compute type `T`, if any.
fn softmax_round<T: Float + Elem>(p: Option<DType>) -> Option<fn(T) -> T> {
    fn via<T: Float, F: Float>(x: T) -> T {
        T::from(F::from(x).expect("float to float")).expect("float to float")
    }
    match (p, T::DTYPE) {
        (Some(DType::F16), _) => Some(|x| {
            let h = f16::from_f64(Elem::to_f64(x));
            T::from(h.to_f64()).expect("float")
        }),
        (Some(DType::BF16), _) => Some(|x| {
            let h = bf16::from_f64(Elem::to_f64(x));
            T::from(h.to_f64()).expect("float")
        }),
        (Some(DType::F32), DType::F64) => Some(via::<T, f32>),
        _ => None,
    }
}

/// Casts a compute-type result back to the op's dtype.
fn downcast_to(t: Tensor, dtype: DType) -> Result<Tensor, OpError> {
    // Not `downcast`, which only narrows f32: an f64 softmax precision computes in f64.
    if t.dtype() == dtype { Ok(t) } else { super::elementwise::cast(&t, dtype) }
}

fn rotary_embedding<T: Float + Elem>(
    inputs: &Inputs<'_>,
    interleaved: bool,
    rotary_dim: usize,
    num_heads: Option<usize>,
) -> Result<Tensor, OpError> {
    let x_t = inputs.tensor(0)?;
    let x = req::<T>(inputs, 0, "X")?;
    let (cos, sin) = (req::<T>(inputs, 1, "cos_cache")?, req::<T>(inputs, 2, "sin_cache")?);
    let xs = x.typed::<T>()?;
    // Index the data as [b, s, h, d] through strides.
    let (b, s, h, d, strides) = match *x.shape() {
        [b, h, s, d] => (b, s, h, d, [h * s * d, d, s * d]),
        [b, s, hd] => {
            let h = num_heads.ok_or_else(|| op_err!("3-D input needs the num_heads attribute"))?;
            if h == 0 || hd % h != 0 {
                bail!("hidden size {hd} is not a multiple of num_heads {h}");
            }
            (b, s, h, hd / h, [s * hd, hd, hd / h])
        }
        _ => bail!("X must be 3-D or 4-D, got shape {:?}", x.shape()),
    };
    let rot = if rotary_dim == 0 { d } else { rotary_dim };
    if rot > d || rot % 2 != 0 {
        bail!("rotary_embedding_dim {rot} must be even and at most the head size {d}");
    }
    let half = rot / 2;
    let pos: Option<Vec<i64>> = match inputs.opt_tensor(3)? {
        None => None,
        Some(p) => {
            if p.shape() != [b, s] {
                bail!("position_ids must have shape [{b}, {s}], got {:?}", p.shape());
            }
            Some(p.to_i64_vec()?)
        }
    };
    if cos.shape() != sin.shape() || cos.shape().last() != Some(&half) {
        bail!("cos_cache {:?} and sin_cache {:?} must match, with last dimension {half}", cos.shape(), sin.shape());
    }
    let max_pos = match &pos {
        Some(_) if cos.rank() == 2 => cos.shape()[0],
        None if cos.shape() == [b, s, half] => 0,
        _ => bail!(
            "cos_cache has shape {:?}, expected [max_pos, {half}] with position_ids or [{b}, {s}, {half}]",
            cos.shape()
        ),
    };
    let (cv, sv) = (cos.typed::<T>()?, sin.typed::<T>()?);
    let mut out = xs.to_vec();
    let mut buf = vec![T::zero(); d];
    for bi in 0..b {
        for si in 0..s {
            let row = match &pos {
                Some(p) => {
                    let r = p[bi * s + si];
                    usize::try_from(r)
                        .ok()
                        .filter(|&r| r < max_pos)
                        .ok_or_else(|| op_err!("position id {r} is outside [0, {max_pos})"))?
                }
                None => bi * s + si,
            };
            let (c, sn) = (&cv[row * half..][..half], &sv[row * half..][..half]);
            for hi in 0..h {
                let off = bi * strides[0] + si * strides[1] + hi * strides[2];
                buf.copy_from_slice(&out[off..off + d]);
                rotary(&mut buf, c, sn, rot, interleaved);
                out[off..off + d].copy_from_slice(&buf);
            }
        }
    }
    downcast_to(Tensor::from_vec(x.shape().to_vec(), out)?, x_t.dtype())
}

fn tensor_scatter(
    past: &Tensor,
    update: &Tensor,
    write: Option<&Tensor>,
    circular: bool,
    axis_attr: i64,
) -> Result<Tensor, OpError> {
    let (pd, ud) = (past.shape(), update.shape());
    if past.dtype() != update.dtype() {
        bail!("past_cache ({}) and update ({}) must have one dtype", past.dtype(), update.dtype());
    }
    if pd.len() != ud.len() || pd.len() < 2 {
        bail!("past_cache {pd:?} and update {ud:?} must have the same rank >= 2");
    }
    let ax = axis(axis_attr, pd.len())?;
    if ax == 0 {
        bail!("axis must not be the batch axis");
    }
    for i in 0..pd.len() {
        if (i != ax && pd[i] != ud[i]) || (i == ax && ud[i] > pd[i]) {
            bail!("update {ud:?} does not fit past_cache {pd:?} along axis {ax}");
        }
    }
    let b = pd[0];
    let idx: Vec<i64> = match write {
        None => vec![0; b],
        Some(w) => {
            if w.shape() != [b] {
                bail!("write_indices must have shape [{b}], got {:?}", w.shape());
            }
            w.to_i64_vec()?
        }
    };
    let (max_s, upd_s) = (pd[ax], ud[ax]);
    let inner: usize = pd[ax + 1..].iter().product();
    let prefix: usize = pd[1..ax].iter().product();
    let mut targets = Vec::with_capacity(upd_s * b);
    for (bi, &w) in idx.iter().enumerate() {
        for s in 0..upd_s {
            let t = if circular && max_s > 0 {
                (w.rem_euclid(max_s as i64) + (s % max_s) as i64) % max_s as i64
            } else {
                w.saturating_add(s as i64)
            };
            if t < 0 || t >= max_s as i64 {
                bail!("write index {w} + {s} for batch {bi} is outside the cache length {max_s}");
            }
            targets.push(t as usize);
        }
    }
    let mut out = past.clone();
    let data = out.data_mut();
    dispatch_elem!(data, o => {
        let u = update.typed::<T>()?;
        for bi in 0..b {
            for p in 0..prefix {
                let row = bi * prefix + p;
                for s in 0..upd_s {
                    let dst = (row * max_s + targets[bi * upd_s + s]) * inner;
                    let src = (row * upd_s + s) * inner;
                    o[dst..dst + inner].copy_from_slice(&u[src..src + inner]);
                }
            }
        }
    }, else bail!("TensorScatter does not support {}", past.dtype()));
    Ok(out)
}

fn swiglu<T: Float + Elem>(a: &Tensor, bt: &Tensor, alpha: f32) -> Result<Tensor, OpError> {
    if a.shape() != bt.shape() || a.dtype() != bt.dtype() {
        bail!(
            "A {:?} ({}) and B {:?} ({}) must have one shape and dtype",
            a.shape(),
            a.dtype(),
            bt.shape(),
            bt.dtype()
        );
    }
    if !a.dtype().is_float() {
        bail!("SwiGLU needs float inputs, got {}", a.dtype());
    }
    let (x, y) = (upcast(a)?, upcast(bt)?);
    let (xs, ys) = (x.typed::<T>()?, y.typed::<T>()?);
    let al = T::from(alpha).expect("float");
    let out: Vec<T> = xs.iter().zip(ys).map(|(&p, &q)| p / (T::one() + (-al * p).exp()) * q).collect();
    downcast_to(Tensor::from_vec(a.shape().to_vec(), out)?, a.dtype())
}

fn linear_attention(
    inputs: &Inputs<'_>,
    hq: usize,
    hk: usize,
    scale: Option<f32>,
    rule: UpdateRule,
) -> Result<Vec<Value>, OpError> {
    let q_t = inputs.tensor(0)?;
    let q = req::<f32>(inputs, 0, "query")?;
    let k = req::<f32>(inputs, 1, "key")?;
    let v = req::<f32>(inputs, 2, "value")?;
    let past = floats::<f32>(inputs, 3, "past_state")?;
    let decay = floats::<f32>(inputs, 4, "decay")?;
    let beta = floats::<f32>(inputs, 5, "beta")?;
    if rule.gated() != decay.is_some() {
        bail!("update rule {rule:?} {} the decay input", if rule.gated() { "requires" } else { "forbids" });
    }
    if rule.delta() != beta.is_some() {
        bail!("update rule {rule:?} {} the beta input", if rule.delta() { "requires" } else { "forbids" });
    }
    let [b, t, qh] = *q.shape() else { bail!("query must be 3-D, got {:?}", q.shape()) };
    let [_, _, kh] = *k.shape() else { bail!("key must be 3-D, got {:?}", k.shape()) };
    let [_, _, vh] = *v.shape() else { bail!("value must be 3-D, got {:?}", v.shape()) };
    if hq == 0 || hk == 0 || qh % hq != 0 || vh % hk != 0 {
        bail!("query/value hidden sizes {qh}/{vh} are not multiples of {hq}/{hk} heads");
    }
    let (dk, dv) = (qh / hq, vh / hk);
    if k.shape() != [b, t, hk * dk] || v.shape()[..2] != [b, t] {
        bail!("key {:?} / value {:?} do not match query {:?}", k.shape(), v.shape(), q.shape());
    }
    let group = hq / hk;
    let decay_w = match &decay {
        Some(d) if d.shape() == [b, t, hk] => 1,
        Some(d) if d.shape() == [b, t, hk * dk] => dk,
        Some(d) => bail!("decay must have shape [{b}, {t}, {hk}] or [{b}, {t}, {}], got {:?}", hk * dk, d.shape()),
        None => 0,
    };
    let beta_w = match &beta {
        Some(x) if x.shape() == [b, t, hk] => hk,
        Some(x) if x.shape() == [b, t, 1] => 1,
        Some(x) => bail!("beta must have shape [{b}, {t}, {hk}] or [{b}, {t}, 1], got {:?}", x.shape()),
        None => 0,
    };
    let state_dtype = inputs.opt_tensor(3)?.map_or(q_t.dtype(), |t| t.dtype());
    let mut state = match &past {
        Some(p) => {
            if p.shape() != [b, hk, dk, dv] {
                bail!("past_state must have shape [{b}, {hk}, {dk}, {dv}], got {:?}", p.shape());
            }
            p.typed::<f32>()?.to_vec()
        }
        None => vec![0f32; numel(&[b, hk, dk, dv])?],
    };
    let scale = scale.unwrap_or(1.0 / (dk as f32).sqrt());
    let (qs, ks, vs) = (q.typed::<f32>()?, k.typed::<f32>()?, v.typed::<f32>()?);
    let ds = decay.as_ref().map(|d| d.typed::<f32>()).transpose()?;
    let bs = beta.as_ref().map(|d| d.typed::<f32>()).transpose()?;
    let mut out = vec![0f32; numel(&[b, t, hq * dv])?];
    let mut vbuf = vec![0f32; dv];
    for bi in 0..b {
        for ti in 0..t {
            let row = bi * t + ti;
            for h in 0..hk {
                let st = &mut state[(bi * hk + h) * dk * dv..][..dk * dv];
                vbuf.copy_from_slice(&vs[row * vh + h * dv..][..dv]);
                let g = ds.map(|d| &d[row * hk * decay_w + h * decay_w..][..decay_w]);
                let be = bs.map(|x| x[row * beta_w + if beta_w == 1 { 0 } else { h }]);
                linear_attention_update(st, &ks[row * kh + h * dk..][..dk], &mut vbuf, g, be);
                for gq in 0..group {
                    let hqi = h * group + gq;
                    let o = &mut out[row * hq * dv + hqi * dv..][..dv];
                    linear_attention_read(st, &qs[row * qh + hqi * dk..][..dk], scale, o);
                }
            }
        }
    }
    let y = downcast_to(Tensor::from_vec(vec![b, t, hq * dv], out)?, q_t.dtype())?;
    let s = downcast_to(Tensor::from_vec(vec![b, hk, dk, dv], state)?, state_dtype)?;
    Ok(vec![Value::Tensor(y), Value::Tensor(s)])
}

fn causal_conv<T: Float + Elem>(inputs: &Inputs<'_>, silu: bool) -> Result<Vec<Tensor>, OpError> {
    let dtype = inputs.tensor(0)?.dtype();
    let x = req::<T>(inputs, 0, "input")?;
    let w = req::<T>(inputs, 1, "weight")?;
    let [b, c, l] = *x.shape() else { bail!("input must be 3-D [batch, channels, length], got {:?}", x.shape()) };
    let k = match *w.shape() {
        [wc, 1, k] if wc == c && k > 0 => k,
        _ => bail!("weight must have shape [{c}, 1, k], got {:?}", w.shape()),
    };
    let bias = floats::<T>(inputs, 2, "bias")?;
    if let Some(bt) = &bias
        && bt.shape() != [c]
    {
        bail!("bias must have shape [{c}], got {:?}", bt.shape());
    }
    let past = floats::<T>(inputs, 3, "past_state")?;
    if let Some(p) = &past
        && p.shape() != [b, c, k - 1]
    {
        bail!("past_state must have shape [{b}, {c}, {}], got {:?}", k - 1, p.shape());
    }
    let (xs, ws) = (x.typed::<T>()?, w.typed::<T>()?);
    let bv = bias.as_ref().map(|t| t.typed::<T>()).transpose()?;
    let pv = past.as_ref().map(|t| t.typed::<T>()).transpose()?;
    let mut out = vec![T::zero(); numel(&[b, c, l])?];
    let mut state = vec![T::zero(); b * c * (k - 1)];
    let mut padded = vec![T::zero(); l + k - 1];
    for bi in 0..b {
        for ci in 0..c {
            let r = bi * c + ci;
            match pv {
                Some(p) => padded[..k - 1].copy_from_slice(&p[r * (k - 1)..][..k - 1]),
                None => padded[..k - 1].fill(T::zero()),
            }
            padded[k - 1..].copy_from_slice(&xs[r * l..][..l]);
            let bias = bv.map_or(T::zero(), |v| v[ci]);
            causal_conv_channel(&padded, &ws[ci * k..][..k], bias, silu, &mut out[r * l..][..l]);
            state[r * (k - 1)..][..k - 1].copy_from_slice(&padded[l..]);
        }
    }
    Ok(vec![
        downcast_to(Tensor::from_vec(vec![b, c, l], out)?, dtype)?,
        downcast_to(Tensor::from_vec(vec![b, c, k - 1], state)?, dtype)?,
    ])
}

/// Runs a FlexAttention modifier graph on `x` (given to it as `dtype`), returning `T` values.
fn run_mod<T: Float + Elem>(
    cx: &EvalCx<'_>,
    g: &mote_ir::Graph,
    x: Vec<T>,
    shape: &[usize],
    dtype: DType,
) -> Result<Vec<T>, OpError> {
    let t = downcast_to(Tensor::from_vec(shape.to_vec(), x)?, dtype)?;
    let out = cx.run_subgraph(g, vec![Value::Tensor(t)])?;
    let [Value::Tensor(y)] = out.as_slice() else { bail!("modifier graph `{}` must return one tensor", g.name) };
    if y.shape() != shape {
        bail!("modifier graph `{}` changed the shape {shape:?} to {:?}", g.name, y.shape());
    }
    let y = mote_ir_cast(&upcast(y)?, T::DTYPE)?;
    Ok(y.typed::<T>()?.to_vec())
}

fn flex_attention<T: Float + Elem>(f: &FlexAttrs, inputs: &Inputs<'_>, cx: &EvalCx<'_>) -> Result<Tensor, OpError> {
    let (q_t, v_t) = (inputs.tensor(0)?, inputs.tensor(2)?);
    let (q, k, v) = (req::<T>(inputs, 0, "Q")?, req::<T>(inputs, 1, "K")?, req::<T>(inputs, 2, "V")?);
    let ([b, hq, l, e], [kb, hk, s, ke], [vb, vh, vs, ev]) = (
        <[usize; 4]>::try_from(q.shape()).map_err(|_| op_err!("Q must be 4-D, got {:?}", q.shape()))?,
        <[usize; 4]>::try_from(k.shape()).map_err(|_| op_err!("K must be 4-D, got {:?}", k.shape()))?,
        <[usize; 4]>::try_from(v.shape()).map_err(|_| op_err!("V must be 4-D, got {:?}", v.shape()))?,
    );
    if kb != b || vb != b || vh != hk || vs != s || ke != e || hk == 0 || hq % hk != 0 {
        bail!("inconsistent shapes: Q {:?}, K {:?}, V {:?}", q.shape(), k.shape(), v.shape());
    }
    let sd = f.softmax_precision.unwrap_or(if q_t.dtype() == DType::F64 { DType::F64 } else { DType::F32 });
    let scale = f.scale.map_or(1.0 / (e as f64).sqrt(), |x| x as f64) as f32;
    let ss = T::from(scale.sqrt()).expect("float");
    let (qv, kv, vv) = (q.typed::<T>()?, k.typed::<T>()?, v.typed::<T>()?);
    let shape = [b, hq, l, s];
    let mut scores = vec![T::zero(); numel(&shape)?];
    for bi in 0..b {
        for h in 0..hq {
            let kh = h / (hq / hk);
            for i in 0..l {
                let qi = &qv[((bi * hq + h) * l + i) * e..][..e];
                for j in 0..s {
                    let kj = &kv[((bi * hk + kh) * s + j) * e..][..e];
                    let mut acc = T::zero();
                    for (&x, &y) in qi.iter().zip(kj) {
                        acc = acc + (x * ss) * (y * ss);
                    }
                    scores[((bi * hq + h) * l + i) * s + j] = acc;
                }
            }
        }
    }
    // Half-precision inputs produce half-precision scores before the softmax dtype cast.
    let round = |x: Vec<T>, dt: DType| -> Result<Vec<T>, OpError> {
        if matches!(dt, DType::F16 | DType::BF16) {
            let t = downcast_to(Tensor::from_vec(shape.to_vec(), x)?, dt)?;
            Ok(mote_ir_cast(&upcast(&t)?, T::DTYPE)?.typed::<T>()?.to_vec())
        } else {
            Ok(x)
        }
    };
    scores = round(round(scores, q_t.dtype())?, sd)?;
    if let Some(g) = &f.score_mod {
        scores = run_mod(cx, g, scores, &shape, sd)?;
    }
    for row in scores.chunks_exact_mut(s.max(1)) {
        let max = row.iter().fold(T::neg_infinity(), |m, &x| m.max(x));
        let mut sum = T::zero();
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum = sum + *x;
        }
        for x in row.iter_mut() {
            *x = *x / sum;
        }
    }
    let mut probs = round(scores, sd)?;
    if let Some(g) = &f.prob_mod {
        probs = run_mod(cx, g, probs, &shape, sd)?;
    }
    let mut y = vec![T::zero(); numel(&[b, hq, l, ev])?];
    for bi in 0..b {
        for h in 0..hq {
            let kh = h / (hq / hk);
            for i in 0..l {
                let yi = &mut y[((bi * hq + h) * l + i) * ev..][..ev];
                for j in 0..s {
                    let p = probs[((bi * hq + h) * l + i) * s + j];
                    for (o, &x) in yi.iter_mut().zip(&vv[((bi * hk + kh) * s + j) * ev..][..ev]) {
                        *o = *o + p * x;
                    }
                }
            }
        }
    }
    downcast_to(Tensor::from_vec(vec![b, hq, l, ev], y)?, v_t.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_scatter_circular_wraps() {
        let past = Tensor::from_vec(vec![1, 3, 1], vec![0.0f32; 3]).unwrap();
        let upd = Tensor::from_vec(vec![1, 2, 1], vec![1.0f32, 2.0]).unwrap();
        let wi = Tensor::from_vec(vec![1], vec![2i64]).unwrap();
        let out = tensor_scatter(&past, &upd, Some(&wi), true, -2).unwrap();
        assert_eq!(out.typed::<f32>().unwrap(), &[2.0, 0.0, 1.0]);
        assert!(tensor_scatter(&past, &upd, Some(&wi), false, -2).is_err());
    }

    #[test]
    fn heads_split_and_merge_round_trip() {
        let x: Vec<i32> = (0..12).collect();
        let s = split_heads(&x, 1, 2, 3, 2);
        assert_eq!(&s[..4], &[0, 1, 6, 7]);
        assert_eq!(merge_heads(&s, 1, 3, 2, 2), x);
    }
}
