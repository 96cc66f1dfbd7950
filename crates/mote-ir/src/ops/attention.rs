//! Attention and transformer building blocks: Attention, RotaryEmbedding, TensorScatter,
//! SwiGLU, LinearAttention, CausalConvWithState, and `ai.onnx.preview` FlexAttention.

use mote_core::DType;

use crate::graph::Graph;
use crate::infer::{InferCx, InferError};
use crate::infer_err;
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// Attributes of `Attention` (opset 23-25).
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionAttrs {
    /// Bottom-right aligned causal mask.
    pub is_causal: bool,
    /// Required for 3-D inputs (`[batch, seq, heads * head_size]`).
    pub q_num_heads: Option<usize>,
    pub kv_num_heads: Option<usize>,
    /// Scale of `Q K^T`; default `1 / sqrt(head_size)`.
    pub scale: Option<f32>,
    /// `softcap * tanh(x / softcap)` when positive.
    pub softcap: f32,
    /// What the 4th output holds: 0 raw QK, 1 after softcap, 2 plus bias, 3 softmax.
    pub qk_matmul_output_mode: u8,
    /// Dtype the softmax is computed in (default: the input's).
    pub softmax_precision: Option<DType>,
    /// Sliding window bounds around the absolute query position (`-1` = unbounded).
    pub left_window: i64,
    pub right_window: i64,
}

/// How `LinearAttention` updates its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateRule {
    Linear,
    Gated,
    Delta,
    GatedDelta,
}

impl UpdateRule {
    pub fn gated(self) -> bool {
        matches!(self, UpdateRule::Gated | UpdateRule::GatedDelta)
    }

    pub fn delta(self) -> bool {
        matches!(self, UpdateRule::Delta | UpdateRule::GatedDelta)
    }
}

/// Attention-family ops.
#[derive(Clone, Debug, PartialEq)]
pub enum AttentionOp {
    /// `Attention(Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?)`
    /// -> `(Y, present_key?, present_value?, qk_matmul_output?)`.
    Attention(AttentionAttrs),
    /// `RotaryEmbedding(X, cos_cache, sin_cache, position_ids?)`. `rotary_dim = 0` rotates the
    /// whole head; `num_heads` is required for 3-D input.
    RotaryEmbedding { interleaved: bool, rotary_dim: usize, num_heads: Option<usize> },
    /// `TensorScatter(past_cache, update, write_indices?)`: writes `update` into the cache
    /// along `axis` at each batch's write index (modulo the axis length when `circular`).
    TensorScatter { circular: bool, axis: i64 },
    /// `SwiGLU(A, B) = A * sigmoid(alpha * A) * B`.
    SwiGlu { alpha: f32 },
    /// `LinearAttention(q, k, v, past_state?, decay?, beta?) -> (output, present_state)`.
    LinearAttention { q_num_heads: usize, kv_num_heads: usize, scale: Option<f32>, rule: UpdateRule },
    /// `CausalConvWithState(input, weight, bias?, past_state?) -> (output, present_state)`:
    /// depthwise causal 1-D convolution, optionally followed by SiLU.
    CausalConvWithState { silu: bool },
    /// `FlexAttention(Q, K, V)` (4-D only): `softmax(score_mod(Q K^T * scale))`, then
    /// `prob_mod`, times V. The modifier graphs take and return one `[B, Hq, L, S]` tensor of the
    /// softmax dtype (`softmax_precision`, default f32, or f64 for f64 inputs).
    FlexAttention(Box<FlexAttrs>),
}

/// Attributes of `FlexAttention`.
#[derive(Clone, Debug, PartialEq)]
pub struct FlexAttrs {
    pub scale: Option<f32>,
    pub softmax_precision: Option<DType>,
    pub score_mod: Option<Graph>,
    pub prob_mod: Option<Graph>,
}

fn div(d: &Dim, by: usize) -> Dim {
    match d {
        Dim::Known(x) if by > 0 && x % by == 0 => Dim::Known(x / by),
        _ => Dim::Unknown,
    }
}

fn tensor(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueType {
    ValueType::Tensor(TensorType { dtype, shape })
}

impl AttentionAttrs {
    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let dtype = cx.dtype(0);
        let (q, k, v) = (cx.shape(0), cx.shape(1), cx.shape(2));
        let rank = cx.rank(0);
        for i in 0..3 {
            if let (Some(r), Some(ri)) = (rank, cx.rank(i))
                && r != ri
            {
                return Err(infer_err!("Q, K and V must have the same rank, got {r} and {ri}"));
            }
        }
        if let Some(r) = rank
            && r != 3
            && r != 4
        {
            return Err(infer_err!("Q must have rank 3 or 4, got {r}"));
        }
        let unknown4 = || Some(vec![Dim::Unknown; 4]);
        // 4-D views: [batch, heads, seq, head_size].
        let view = |s: Option<&[Dim]>, heads: Option<usize>| -> Option<Vec<Dim>> {
            let s = s?;
            match s.len() {
                4 => Some(s.to_vec()),
                3 => {
                    let h = heads?;
                    Some(vec![s[0].clone(), Dim::Known(h), s[1].clone(), div(&s[2], h)])
                }
                _ => None,
            }
        };
        let q4 = view(q, self.q_num_heads);
        let k4 = view(k, self.kv_num_heads);
        let v4 = view(v, self.kv_num_heads);
        let past = cx.shape(4).filter(|s| s.len() == 4).map(|s| s[2].clone());
        let total = match (&k4, cx.opt(4).is_some()) {
            (Some(k4), false) => k4[2].clone(),
            (Some(k4), true) => past.map(|p| p.add(&k4[2])).unwrap_or(Dim::Unknown),
            _ => Dim::Unknown,
        };
        let y = match (rank, &q4, &v4) {
            (Some(4), Some(q4), Some(v4)) => Some(vec![q4[0].clone(), q4[1].clone(), q4[2].clone(), v4[3].clone()]),
            (Some(3), Some(q4), Some(v4)) => Some(vec![q4[0].clone(), q4[2].clone(), q4[1].mul(&v4[3])]),
            (Some(r), _, _) => Some(vec![Dim::Unknown; r]),
            _ => None,
        };
        let present = |x4: &Option<Vec<Dim>>| match x4 {
            Some(x) => Some(vec![x[0].clone(), x[1].clone(), total.clone(), x[3].clone()]),
            None => unknown4(),
        };
        let qk = match &q4 {
            Some(q) => Some(vec![q[0].clone(), q[1].clone(), q[2].clone(), total.clone()]),
            None => unknown4(),
        };
        Ok(vec![
            tensor(dtype, y),
            tensor(cx.dtype(1), present(&k4)),
            tensor(cx.dtype(2), present(&v4)),
            tensor(dtype, qk),
        ])
    }
}

impl OpFamily for AttentionOp {
    fn name(&self) -> &'static str {
        match self {
            AttentionOp::Attention(_) => "Attention",
            AttentionOp::RotaryEmbedding { .. } => "RotaryEmbedding",
            AttentionOp::TensorScatter { .. } => "TensorScatter",
            AttentionOp::SwiGlu { .. } => "SwiGLU",
            AttentionOp::LinearAttention { .. } => "LinearAttention",
            AttentionOp::CausalConvWithState { .. } => "CausalConvWithState",
            AttentionOp::FlexAttention(_) => "FlexAttention",
        }
    }

    fn describe(&self) -> String {
        match self {
            AttentionOp::FlexAttention(f) => format!(
                "{{ scale: {:?}, softmax_precision: {:?}, score_mod: {:?}, prob_mod: {:?} }}",
                f.scale,
                f.softmax_precision,
                f.score_mod.as_ref().map(|g| g.name.as_str()),
                f.prob_mod.as_ref().map(|g| g.name.as_str())
            ),
            other => {
                let s = format!("{other:?}");
                match s.find('{') {
                    Some(i) => s[i..].trim_end_matches(')').to_string(),
                    None => s.find('(').map_or(String::new(), |i| s[i..].to_string()),
                }
            }
        }
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        match self {
            AttentionOp::FlexAttention(f) => f.score_mod.iter().chain(f.prob_mod.iter()).collect(),
            _ => Vec::new(),
        }
    }

    fn subgraphs_mut(&mut self) -> Vec<&mut Graph> {
        match self {
            AttentionOp::FlexAttention(f) => f.score_mod.iter_mut().chain(f.prob_mod.iter_mut()).collect(),
            _ => Vec::new(),
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match self {
            AttentionOp::Attention(a) => a.infer(cx),
            AttentionOp::RotaryEmbedding { .. } | AttentionOp::TensorScatter { .. } | AttentionOp::SwiGlu { .. } => {
                Ok(vec![cx.same_as(0)])
            }
            AttentionOp::LinearAttention { q_num_heads, kv_num_heads, .. } => {
                let (q, v) = (cx.shape(0), cx.shape(2));
                let dtype = cx.dtype(0);
                let out = match (q, v) {
                    (Some(q), Some(v)) if q.len() == 3 && v.len() == 3 => {
                        let dv = div(&v[2], *kv_num_heads);
                        Some(vec![q[0].clone(), q[1].clone(), dv.mul(&Dim::Known(*q_num_heads))])
                    }
                    _ => None,
                };
                let state = match (q, v) {
                    (Some(q), Some(v)) if q.len() == 3 && v.len() == 3 => Some(vec![
                        q[0].clone(),
                        Dim::Known(*kv_num_heads),
                        div(&q[2], *q_num_heads),
                        div(&v[2], *kv_num_heads),
                    ]),
                    _ => None,
                };
                let state_dtype = if cx.opt(3).is_some() { cx.dtype(3) } else { dtype };
                Ok(vec![tensor(dtype, out), tensor(state_dtype, state)])
            }
            AttentionOp::FlexAttention(_) => {
                let shape = match (cx.shape(0), cx.shape(2)) {
                    (Some(q), Some(v)) if q.len() == 4 && v.len() == 4 => {
                        Some(vec![q[0].clone(), q[1].clone(), q[2].clone(), v[3].clone()])
                    }
                    _ => None,
                };
                Ok(vec![tensor(cx.dtype(2), shape)])
            }
            AttentionOp::CausalConvWithState { .. } => {
                let dtype = cx.dtype(0);
                let state = match (cx.shape(0), cx.shape(1)) {
                    (Some(x), Some(w)) if x.len() == 3 && w.len() == 3 => {
                        let k1 = match &w[2] {
                            Dim::Known(k) if *k > 0 => Dim::Known(k - 1),
                            _ => Dim::Unknown,
                        };
                        Some(vec![x[0].clone(), x[1].clone(), k1])
                    }
                    _ => None,
                };
                Ok(vec![cx.same_as(0), tensor(dtype, state)])
            }
        }
    }

    fn macs(&self, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
        // Shapes may be inconsistent (inference only checks what it needs): index with `get`
        // and give up on overflow.
        let known = |t: Option<&ValueType>| t?.as_tensor()?.known_shape();
        let prod = |dims: &[usize]| dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        match self {
            AttentionOp::Attention(_) => {
                // QK^T and PV: batch * q_heads * q_seq * total * (head_size + v_head_size).
                let qk = known(outputs.get(3))?;
                let y = known(outputs.first())?;
                let q = cx.tensor(0).known_shape()?;
                let (dq, dv) = if q.len() == 4 {
                    (*q.get(3)?, *y.get(3)?)
                } else {
                    let h = (*qk.get(1)?).max(1);
                    (q.get(2)? / h, y.get(2)? / h)
                };
                prod(&qk)?.checked_mul((dq as u64).checked_add(dv as u64)?)
            }
            AttentionOp::LinearAttention { q_num_heads, kv_num_heads, .. } => {
                let q = cx.tensor(0).known_shape()?;
                let v = cx.tensor(2).known_shape()?;
                let dk = q.get(2)? / q_num_heads.max(&1);
                let dv = v.get(2)? / kv_num_heads.max(&1);
                // State update (and delta read) per kv head, readout per q head.
                let heads = (*kv_num_heads as u64).checked_mul(2)?.checked_add(*q_num_heads as u64)?;
                prod(&[*q.first()?, *q.get(1)?, dk, dv])?.checked_mul(heads)
            }
            AttentionOp::FlexAttention(_) => {
                let y = known(outputs.first())?;
                let k = cx.tensor(1).known_shape()?;
                let q = cx.tensor(0).known_shape()?;
                // [B, Hq, L, S] scores times (head_size + v_head_size).
                let scores = prod(&[*y.first()?, *y.get(1)?, *y.get(2)?, *k.get(2)?])?;
                scores.checked_mul((*q.get(3)? as u64).checked_add(*y.get(3)? as u64)?)
            }
            AttentionOp::CausalConvWithState { .. } => {
                let y = known(outputs.first())?;
                let w = cx.tensor(1).known_shape()?;
                prod(&y)?.checked_mul(*w.last()? as u64)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;

    fn f(shape: &[usize]) -> Option<Fact> {
        Some(Fact::of_type(ValueType::Tensor(TensorType::concrete(DType::F32, shape))))
    }

    #[test]
    fn attention_3d_gqa_with_past() {
        let a = AttentionAttrs {
            is_causal: false,
            q_num_heads: Some(4),
            kv_num_heads: Some(2),
            scale: None,
            softcap: 0.0,
            qk_matmul_output_mode: 0,
            softmax_precision: None,
            left_window: -1,
            right_window: -1,
        };
        let inputs = vec![f(&[2, 3, 32]), f(&[2, 5, 16]), f(&[2, 5, 12]), None, f(&[2, 2, 7, 8]), f(&[2, 2, 7, 6])];
        let cx = InferCx::new(&inputs, 4);
        let out = AttentionOp::Attention(a).infer(&cx).unwrap();
        let t = |s: &[usize]| ValueType::Tensor(TensorType::concrete(DType::F32, s));
        assert_eq!(out[0], t(&[2, 3, 24]));
        assert_eq!(out[1], t(&[2, 2, 12, 8]));
        assert_eq!(out[2], t(&[2, 2, 12, 6]));
        assert_eq!(out[3], t(&[2, 4, 3, 12]));
    }
}
