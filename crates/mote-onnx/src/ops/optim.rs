//! Optimizer ops of `ai.onnx.preview.training`: ONNX attributes -> [`OptimOp`].

use mote_ir::Op;
use mote_ir::ops::optim::OptimOp;

use super::{NodeCtx, NodeError, invalid};

const DOMAIN: &str = "ai.onnx.preview.training";

pub const OPS: &[(&str, &str)] = &[(DOMAIN, "Adagrad"), (DOMAIN, "Adam"), (DOMAIN, "Momentum")];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if cx.domain != DOMAIN {
        return Ok(None);
    }
    let op = match cx.op_type {
        "Adagrad" => OptimOp::Adagrad {
            decay_factor: cx.float("decay_factor", 0.0)?,
            epsilon: cx.float("epsilon", 1e-6)?,
            norm_coefficient: cx.float("norm_coefficient", 0.0)?,
        },
        "Momentum" => {
            let req =
                |name: &str| cx.float_opt(name)?.ok_or_else(|| invalid!("required attribute `{name}` is missing"));
            let (alpha, beta, norm_coefficient) = (req("alpha")?, req("beta")?, req("norm_coefficient")?);
            let nesterov = match cx.string_opt("mode")?.as_deref() {
                Some("standard") => false,
                Some("nesterov") => true,
                Some(other) => {
                    return Err(invalid!("attribute `mode` must be \"standard\" or \"nesterov\", got {other:?}"));
                }
                None => return Err(invalid!("required attribute `mode` is missing")),
            };
            OptimOp::Momentum { alpha, beta, nesterov, norm_coefficient }
        }
        "Adam" => OptimOp::Adam {
            alpha: cx.float("alpha", 0.9)?,
            beta: cx.float("beta", 0.999)?,
            epsilon: cx.float("epsilon", 1e-6)?,
            norm_coefficient: cx.float("norm_coefficient", 0.0)?,
            norm_coefficient_post: cx.float("norm_coefficient_post", 0.0)?,
        },
        _ => return Ok(None),
    };
    let blocks = op.input_blocks();
    let tensors = cx.inputs.len().saturating_sub(2);
    if cx.inputs.len() < 2 + blocks || !tensors.is_multiple_of(blocks) {
        return Err(invalid!(
            "expects R, T and {blocks} blocks of equally many tensors, got {} inputs",
            cx.inputs.len()
        ));
    }
    let n = tensors / blocks;
    if cx.node.output.len() != (blocks - 1) * n {
        return Err(invalid!("expects {} outputs for {n} tensor(s), got {}", (blocks - 1) * n, cx.node.output.len()));
    }
    cx.expect_inputs(cx.inputs.len(), cx.inputs.len())?;
    Ok(Some(Op::Optim(op)))
}
