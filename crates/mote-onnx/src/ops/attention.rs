//! Attention-family ops: ONNX attributes -> [`AttentionOp`].

use mote_ir::DType;
use mote_ir::Op;
use mote_ir::ops::attention::{AttentionAttrs, AttentionOp, FlexAttrs, UpdateRule};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "Attention"),
    ("", "RotaryEmbedding"),
    ("", "TensorScatter"),
    ("", "SwiGLU"),
    ("", "LinearAttention"),
    ("", "CausalConvWithState"),
    ("ai.onnx.preview", "FlexAttention"),
];

fn softmax_precision(cx: &NodeCtx<'_>) -> Result<Option<DType>, NodeError> {
    match cx.int("softmax_precision", 0)? {
        0 => Ok(None),
        code => match DType::from_code(code) {
            Some(d @ (DType::F32 | DType::F16 | DType::F64 | DType::BF16)) => Ok(Some(d)),
            _ => Err(unsupported!("attribute `softmax_precision` = {code} is not supported")),
        },
    }
}

fn positive(cx: &NodeCtx<'_>, name: &str) -> Result<Option<usize>, NodeError> {
    match cx.int_opt(name)? {
        None => Ok(None),
        Some(v) if v > 0 => Ok(Some(v as usize)),
        Some(v) => Err(invalid!("attribute `{name}` must be positive, got {v}")),
    }
}

fn window(cx: &NodeCtx<'_>, name: &str) -> Result<i64, NodeError> {
    let v = cx.int(name, -1)?;
    if v < -1 {
        return Err(invalid!("attribute `{name}` must be -1 or non-negative, got {v}"));
    }
    Ok(v)
}

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if cx.domain == "ai.onnx.preview" && cx.op_type == "FlexAttention" {
        cx.expect_inputs(3, 3)?;
        let attrs = FlexAttrs {
            scale: cx.float_opt("scale")?,
            softmax_precision: softmax_precision(cx)?,
            score_mod: cx.graph("score_mod")?,
            prob_mod: cx.graph("prob_mod")?,
        };
        for g in attrs.score_mod.iter().chain(attrs.prob_mod.iter()) {
            if g.inputs.len() != 1 || g.outputs.len() != 1 {
                return Err(invalid!("modifier graph `{}` must have exactly one input and one output", g.name));
            }
        }
        return Ok(Some(Op::Attention(AttentionOp::FlexAttention(Box::new(attrs)))));
    }
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "Attention" => {
            cx.expect_inputs(3, 7)?;
            let mode = cx.int("qk_matmul_output_mode", 0)?;
            if !(0..=3).contains(&mode) {
                return Err(invalid!("attribute `qk_matmul_output_mode` must be 0..3, got {mode}"));
            }
            let softmax_precision = softmax_precision(cx)?;
            let softcap = cx.float("softcap", 0.0)?;
            if softcap < 0.0 {
                return Err(invalid!("attribute `softcap` must be non-negative, got {softcap}"));
            }
            AttentionOp::Attention(AttentionAttrs {
                is_causal: cx.int("is_causal", 0)? != 0,
                q_num_heads: positive(cx, "q_num_heads")?,
                kv_num_heads: positive(cx, "kv_num_heads")?,
                scale: cx.float_opt("scale")?,
                softcap,
                qk_matmul_output_mode: mode as u8,
                softmax_precision,
                left_window: window(cx, "left_window_size")?,
                right_window: window(cx, "right_window_size")?,
            })
        }
        "RotaryEmbedding" => {
            cx.expect_inputs(3, 4)?;
            let rotary_dim = cx.int("rotary_embedding_dim", 0)?;
            let rotary_dim = usize::try_from(rotary_dim)
                .map_err(|_| invalid!("attribute `rotary_embedding_dim` must be non-negative, got {rotary_dim}"))?;
            let interleaved = cx.int("interleaved", 0)? != 0;
            let num_heads = match cx.int("num_heads", 0)? {
                0 => None,
                n if n > 0 => Some(n as usize),
                n => return Err(invalid!("attribute `num_heads` must be positive, got {n}")),
            };
            AttentionOp::RotaryEmbedding { interleaved, rotary_dim, num_heads }
        }
        "TensorScatter" => {
            cx.expect_inputs(2, 3)?;
            let circular = match cx.string("mode", "linear")?.as_str() {
                "linear" => false,
                "circular" => true,
                other => return Err(invalid!("attribute `mode` must be linear or circular, got {other:?}")),
            };
            AttentionOp::TensorScatter { circular, axis: cx.int("axis", -2)? }
        }
        "SwiGLU" => {
            cx.expect_inputs(2, 2)?;
            AttentionOp::SwiGlu { alpha: cx.float("alpha", 1.0)? }
        }
        "LinearAttention" => {
            cx.expect_inputs(3, 6)?;
            // A performance hint for chunked prefill; results do not depend on it.
            cx.ignore(&["chunk_size"]);
            let q =
                positive(cx, "q_num_heads")?.ok_or_else(|| invalid!("required attribute `q_num_heads` is missing"))?;
            let kv = positive(cx, "kv_num_heads")?
                .ok_or_else(|| invalid!("required attribute `kv_num_heads` is missing"))?;
            if q % kv != 0 {
                return Err(invalid!("q_num_heads ({q}) must be a multiple of kv_num_heads ({kv})"));
            }
            let rule = match cx.string("update_rule", "gated_delta")?.as_str() {
                "linear" => UpdateRule::Linear,
                "gated" => UpdateRule::Gated,
                "delta" => UpdateRule::Delta,
                "gated_delta" => UpdateRule::GatedDelta,
                other => return Err(invalid!("attribute `update_rule` has an unknown value {other:?}")),
            };
            let scale = cx.float("scale", 0.0)?;
            AttentionOp::LinearAttention {
                q_num_heads: q,
                kv_num_heads: kv,
                scale: if scale == 0.0 { None } else { Some(scale) },
                rule,
            }
        }
        "CausalConvWithState" => {
            cx.expect_inputs(2, 4)?;
            let silu = match cx.string("activation", "none")?.as_str() {
                "none" => false,
                "silu" | "swish" => true,
                other => return Err(invalid!("attribute `activation` must be none, silu or swish, got {other:?}")),
            };
            AttentionOp::CausalConvWithState { silu }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Attention(op)))
}
