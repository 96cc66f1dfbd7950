//! Streaming sequence-model ops (state in, state out), each one runtime step: LinearAttention
//! and CausalConvWithState. f16/bf16 models reach these on f32 through [`super::widen`].

use mote_core::DType;
use mote_format::OpCode;
use mote_ir::Node;
use mote_ir::ops::attention::UpdateRule;
use mote_rt::ops::encode;

use super::{Lowerer, R, bail};

/// Every input of `n` that is given must be f32.
fn want_f32(l: &mut Lowerer<'_>, n: &Node, what: &str) -> R<()> {
    for &v in n.inputs.iter().flatten() {
        let d = l.dtype(v)?;
        if d != DType::F32 {
            bail!("{what} on {d} is not supported by the compiled path (f32, and f16/bf16 through f32)");
        }
    }
    Ok(())
}

/// Output `i` of `n`, or a temporary of `dims` when the graph does not use it.
fn output_or_temp(l: &mut Lowerer<'_>, n: &Node, i: usize, dims: Vec<usize>) -> R<usize> {
    let t = match n.outputs.get(i).copied().flatten() {
        Some(_) => l.output(n, i)?,
        None => l.p.arena(DType::F32, dims.clone(), format!("{}.out{i}", n.name)),
    };
    if l.p.tensors[t].dims != dims {
        bail!("output {i} has shape {:?}, expected {dims:?}", l.p.tensors[t].dims);
    }
    Ok(t)
}

fn opt_input(l: &mut Lowerer<'_>, n: &Node, i: usize) -> R<Option<usize>> {
    n.input(i).map(|_| l.input(n, i)).transpose()
}

pub fn linear_attention(
    l: &mut Lowerer<'_>,
    n: &Node,
    hq: usize,
    hk: usize,
    scale: Option<f32>,
    rule: UpdateRule,
) -> R<()> {
    want_f32(l, n, "LinearAttention")?;
    let (q, k, v) = (l.input(n, 0)?, l.input(n, 1)?, l.input(n, 2)?);
    let (past, decay, beta) = (opt_input(l, n, 3)?, opt_input(l, n, 4)?, opt_input(l, n, 5)?);
    if rule.gated() != decay.is_some() || rule.delta() != beta.is_some() {
        bail!("update rule {rule:?} does not match the decay/beta inputs given");
    }
    let dims = |t: usize| l.p.tensors[t].dims.clone();
    let ([b, t, qh], [kb, kt, kh], [vb, vt, vh]) = (
        <[usize; 3]>::try_from(dims(q)).map_err(|_| "query must be 3-D")?,
        <[usize; 3]>::try_from(dims(k)).map_err(|_| "key must be 3-D")?,
        <[usize; 3]>::try_from(dims(v)).map_err(|_| "value must be 3-D")?,
    );
    if hq == 0 || hk == 0 || !qh.is_multiple_of(hq) || !vh.is_multiple_of(hk) || !hq.is_multiple_of(hk) {
        bail!("hidden sizes {qh}/{vh} do not split into {hq} query / {hk} key-value heads");
    }
    let (dk, dv) = (qh / hq, vh / hk);
    if [kb, kt, kh] != [b, t, hk * dk] || [vb, vt] != [b, t] {
        bail!("key {:?} / value {:?} do not match query {:?}", dims(k), dims(v), dims(q));
    }
    let decay_mode = match decay.map(dims) {
        None => 0,
        Some(d) if d == [b, t, hk] => 1,
        Some(d) if d == [b, t, hk * dk] => 2,
        Some(d) => bail!("decay has shape {d:?}, expected [{b}, {t}, {hk}] or [{b}, {t}, {}]", hk * dk),
    };
    let beta_mode = match beta.map(dims) {
        None => 0,
        Some(d) if d == [b, t, 1] => 1,
        Some(d) if d == [b, t, hk] => 2,
        Some(d) => bail!("beta has shape {d:?}, expected [{b}, {t}, {hk}] or [{b}, {t}, 1]"),
    };
    if let Some(p) = past
        && dims(p) != [b, hk, dk, dv]
    {
        bail!("past_state has shape {:?}, expected [{b}, {hk}, {dk}, {dv}]", dims(p));
    }
    let y = output_or_temp(l, n, 0, vec![b, t, hq * dv])?;
    let s = output_or_temp(l, n, 1, vec![b, hk, dk, dv])?;
    let scale = scale.unwrap_or(1.0 / (dk as f32).sqrt());
    let attrs = encode::linear_attention([b, t, hq, hk, dk, dv], decay_mode, beta_mode, scale);
    let ins = vec![Some(q), Some(k), Some(v), past, decay, beta];
    l.p.step(OpCode::LinearAttention, ins, vec![y, s], attrs, &n.name);
    Ok(())
}

pub fn causal_conv(l: &mut Lowerer<'_>, n: &Node, silu: bool) -> R<()> {
    want_f32(l, n, "CausalConvWithState")?;
    let (x, w) = (l.input(n, 0)?, l.input(n, 1)?);
    let (bias, past) = (opt_input(l, n, 2)?, opt_input(l, n, 3)?);
    let [b, c, len] = <[usize; 3]>::try_from(l.p.tensors[x].dims.clone()).map_err(|_| "input must be 3-D")?;
    let k = match *l.p.tensors[w].dims.as_slice() {
        [wc, 1, k] if wc == c && k > 0 => k,
        ref d => bail!("weight has shape {d:?}, expected [{c}, 1, k]"),
    };
    if let Some(t) = bias
        && l.p.tensors[t].dims != [c]
    {
        bail!("bias must have shape [{c}]");
    }
    if let Some(t) = past
        && l.p.tensors[t].dims != [b, c, k - 1]
    {
        bail!("past_state must have shape [{b}, {c}, {}]", k - 1);
    }
    let y = output_or_temp(l, n, 0, vec![b, c, len])?;
    let s = output_or_temp(l, n, 1, vec![b, c, k - 1])?;
    let attrs = encode::causal_conv(b, c, len, k, silu);
    l.p.step(OpCode::CausalConvWithState, vec![Some(x), Some(w), bias, past], vec![y, s], attrs, &n.name);
    Ok(())
}
