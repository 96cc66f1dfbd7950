//! Neural-network ops: ONNX attributes -> [`NnOp`]. Older opsets are upgraded: Dropout's
//! `ratio` attribute becomes an input, Softmax before opset 13 keeps its 2-D coercion.

use mote_ir::Op;
use mote_ir::Tensor;
use mote_ir::ops::nn::{
    AutoPad, ConvAttrs, ConvTransposeAttrs, DeformConvAttrs, Equation, GlobalPool, NnOp, PoolAttrs, PoolKind,
    SoftmaxAttrs, SoftmaxKind, Window,
};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "Conv"),
    ("", "ConvTranspose"),
    ("", "DeformConv"),
    ("", "Col2Im"),
    ("", "MaxPool"),
    ("", "AveragePool"),
    ("", "LpPool"),
    ("", "GlobalAveragePool"),
    ("", "GlobalMaxPool"),
    ("", "GlobalLpPool"),
    ("", "MaxUnpool"),
    ("", "BatchNormalization"),
    ("", "InstanceNormalization"),
    ("", "LayerNormalization"),
    ("", "GroupNormalization"),
    ("", "RMSNormalization"),
    ("", "LRN"),
    ("", "LpNormalization"),
    ("", "MeanVarianceNormalization"),
    ("", "Gemm"),
    ("", "MatMul"),
    ("", "Einsum"),
    ("", "Dropout"),
    ("", "Softmax"),
    ("", "LogSoftmax"),
    ("", "Hardmax"),
    ("", "Det"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "Conv" => {
            cx.expect_inputs(2, 3)?;
            NnOp::Conv(ConvAttrs { window: window(cx, false)?, group: group(cx, "group")? })
        }
        "ConvTranspose" => {
            cx.expect_inputs(2, 3)?;
            NnOp::ConvTranspose(ConvTransposeAttrs {
                window: window(cx, false)?,
                group: group(cx, "group")?,
                output_padding: bounded(cx, "output_padding")?.unwrap_or_default(),
                output_shape: bounded(cx, "output_shape")?,
            })
        }
        "DeformConv" => {
            cx.expect_inputs(3, 5)?;
            NnOp::DeformConv(DeformConvAttrs {
                window: window(cx, false)?,
                group: group(cx, "group")?,
                offset_group: group(cx, "offset_group")?,
            })
        }
        "Col2Im" => {
            cx.expect_inputs(3, 3)?;
            NnOp::Col2Im(window(cx, false)?)
        }
        "MaxPool" => {
            cx.expect_inputs(1, 1)?;
            let col_major = match cx.int("storage_order", 0)? {
                0 => false,
                1 => true,
                s => return Err(invalid!("attribute `storage_order` must be 0 or 1, got {s}")),
            };
            pool(cx, PoolKind::Max { col_major })?
        }
        "AveragePool" => {
            cx.expect_inputs(1, 1)?;
            pool(cx, PoolKind::Average { count_include_pad: cx.int("count_include_pad", 0)? != 0 })?
        }
        "LpPool" => {
            cx.expect_inputs(1, 1)?;
            pool(cx, PoolKind::Lp { p: lp_p(cx)? })?
        }
        "GlobalAveragePool" => global(cx, GlobalPool::Average)?,
        "GlobalMaxPool" => global(cx, GlobalPool::Max)?,
        "GlobalLpPool" => {
            let p = lp_p(cx)?;
            global(cx, GlobalPool::Lp { p })?
        }
        "MaxUnpool" => {
            cx.expect_inputs(2, 3)?;
            let w = window(cx, false)?;
            if w.kernel_shape.is_none() {
                return Err(invalid!("required attribute `kernel_shape` is missing"));
            }
            NnOp::MaxUnpool(w)
        }
        "BatchNormalization" => batch_norm(cx)?,
        "InstanceNormalization" => {
            cx.expect_inputs(3, 3)?;
            NnOp::InstanceNorm { epsilon: cx.float("epsilon", 1e-5)? }
        }
        "LayerNormalization" => {
            cx.expect_inputs(2, 3)?;
            stash_type(cx)?;
            NnOp::LayerNorm { axis: cx.int("axis", -1)?, epsilon: cx.float("epsilon", 1e-5)? }
        }
        "GroupNormalization" => {
            cx.expect_inputs(3, 3)?;
            stash_type(cx)?;
            let num_groups = cx.req_int("num_groups")?;
            let num_groups = usize::try_from(num_groups)
                .ok()
                .filter(|&g| g > 0)
                .ok_or_else(|| invalid!("attribute `num_groups` must be positive, got {num_groups}"))?;
            NnOp::GroupNorm { epsilon: cx.float("epsilon", 1e-5)?, num_groups, per_group_affine: cx.opset < 21 }
        }
        "RMSNormalization" => {
            cx.expect_inputs(2, 2)?;
            stash_type(cx)?;
            NnOp::RmsNorm { axis: cx.int("axis", -1)?, epsilon: cx.float("epsilon", 1e-5)? }
        }
        "LRN" => {
            cx.expect_inputs(1, 1)?;
            let size = cx.req_int("size")?;
            let size = usize::try_from(size)
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| invalid!("attribute `size` must be positive, got {size}"))?;
            NnOp::Lrn {
                alpha: cx.float("alpha", 1e-4)?,
                beta: cx.float("beta", 0.75)?,
                bias: cx.float("bias", 1.0)?,
                size,
            }
        }
        "LpNormalization" => {
            cx.expect_inputs(1, 1)?;
            let p = match cx.int("p", 2)? {
                1 => 1,
                2 => 2,
                p => return Err(invalid!("attribute `p` must be 1 or 2, got {p}")),
            };
            NnOp::LpNorm { axis: cx.int("axis", -1)?, p }
        }
        "MeanVarianceNormalization" => {
            cx.expect_inputs(1, 1)?;
            if cx.opset < 9 {
                // MVN-1 had `across_channels` and `normalize_variance`.
                if cx.int("across_channels", 0)? != 0 || cx.int("normalize_variance", 1)? != 1 {
                    return Err(unsupported!("MeanVarianceNormalization-1 options are not supported"));
                }
            }
            NnOp::MeanVarianceNorm { axes: cx.ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]) }
        }
        "Gemm" => {
            cx.expect_inputs(2, 3)?;
            // Gemm < 7 `broadcast` only allowed C to broadcast, which is what we always do.
            cx.ignore(&["broadcast"]);
            NnOp::Gemm {
                alpha: cx.float("alpha", 1.0)?,
                beta: cx.float("beta", 1.0)?,
                trans_a: cx.int("transA", 0)? != 0,
                trans_b: cx.int("transB", 0)? != 0,
            }
        }
        "MatMul" => {
            cx.expect_inputs(2, 2)?;
            NnOp::MatMul
        }
        "Einsum" => {
            cx.expect_inputs(1, usize::MAX)?;
            let eq = cx.string_opt("equation")?.ok_or_else(|| invalid!("required attribute `equation` is missing"))?;
            let eq = Equation::parse(&eq).map_err(|e| invalid!("{e}"))?;
            if eq.inputs.len() != cx.inputs.len() {
                return Err(invalid!(
                    "equation has {} operands but the node has {} inputs",
                    eq.inputs.len(),
                    cx.inputs.len()
                ));
            }
            NnOp::Einsum(eq)
        }
        "Dropout" => dropout(cx)?,
        "Softmax" => softmax(cx, SoftmaxKind::Softmax)?,
        "LogSoftmax" => softmax(cx, SoftmaxKind::LogSoftmax)?,
        "Hardmax" => softmax(cx, SoftmaxKind::Hardmax)?,
        "Det" => {
            cx.expect_inputs(1, 1)?;
            NnOp::Det
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Nn(op)))
}

fn auto_pad(cx: &NodeCtx<'_>) -> Result<AutoPad, NodeError> {
    Ok(match cx.string("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        other => return Err(invalid!("attribute `auto_pad` has unknown value {other:?}")),
    })
}

/// Reads the window attributes; `ceil_mode` only for pooling.
pub(crate) fn window(cx: &NodeCtx<'_>, pooling: bool) -> Result<Window, NodeError> {
    let w = Window {
        kernel_shape: cx.usizes("kernel_shape")?,
        strides: cx.usizes("strides")?.unwrap_or_default(),
        dilations: cx.usizes("dilations")?.unwrap_or_default(),
        pads: cx.usizes("pads")?.unwrap_or_default(),
        auto_pad: if cx.is("Col2Im") || cx.is("MaxUnpool") || cx.is("DeformConv") {
            AutoPad::NotSet
        } else {
            auto_pad(cx)?
        },
        ceil_mode: pooling && cx.int("ceil_mode", 0)? != 0,
        same_undilated: pooling,
    };
    let all = [&w.strides, &w.dilations, &w.pads].into_iter().chain(w.kernel_shape.as_ref());
    if all.flatten().any(|&v| v > MAX_WINDOW_VALUE) {
        return Err(unsupported!("window attributes above {MAX_WINDOW_VALUE} are not supported"));
    }
    if w.strides.contains(&0) || w.dilations.contains(&0) {
        return Err(invalid!("strides and dilations must be positive"));
    }
    if !w.pads.len().is_multiple_of(2) {
        return Err(invalid!("attribute `pads` must have an even length, got {}", w.pads.len()));
    }
    if let Some(k) = &w.kernel_shape {
        if k.contains(&0) {
            return Err(invalid!("attribute `kernel_shape` must be positive, got {k:?}"));
        }
        let r = k.len();
        for (name, v) in [("strides", &w.strides), ("dilations", &w.dilations)] {
            if !v.is_empty() && v.len() != r {
                return Err(invalid!("attribute `{name}` has {} values for a {r}-D kernel", v.len()));
            }
        }
        if !w.pads.is_empty() && w.pads.len() != 2 * r {
            return Err(invalid!("attribute `pads` has {} values for a {r}-D kernel", w.pads.len()));
        }
    }
    Ok(w)
}

/// Bound on kernel sizes, strides, dilations, pads and output shapes: keeps all window
/// arithmetic far from overflow.
const MAX_WINDOW_VALUE: usize = 1 << 24;

/// A non-negative ints attribute whose values are at most [`MAX_WINDOW_VALUE`].
fn bounded(cx: &NodeCtx<'_>, name: &str) -> Result<Option<Vec<usize>>, NodeError> {
    let v = cx.usizes(name)?;
    if v.as_ref().is_some_and(|v| v.iter().any(|&x| x > MAX_WINDOW_VALUE)) {
        return Err(unsupported!("attribute `{name}`: values above {MAX_WINDOW_VALUE} are not supported"));
    }
    Ok(v)
}

pub(crate) fn group(cx: &NodeCtx<'_>, name: &str) -> Result<usize, NodeError> {
    let g = cx.int(name, 1)?;
    usize::try_from(g).ok().filter(|&g| g > 0).ok_or_else(|| invalid!("attribute `{name}` must be positive, got {g}"))
}

fn pool(cx: &NodeCtx<'_>, kind: PoolKind) -> Result<NnOp, NodeError> {
    let window = window(cx, true)?;
    if window.kernel_shape.is_none() {
        return Err(invalid!("required attribute `kernel_shape` is missing"));
    }
    Ok(NnOp::Pool(PoolAttrs { kind, window }))
}

/// `p` of LpPool / GlobalLpPool: a float in opset 1, an int since opset 2.
fn lp_p(cx: &NodeCtx<'_>) -> Result<f32, NodeError> {
    let p = if cx.opset < 2 { cx.float("p", 2.0)? } else { cx.int("p", 2)? as f32 };
    if p.is_nan() || p <= 0.0 {
        return Err(invalid!("attribute `p` must be positive, got {p}"));
    }
    Ok(p)
}

fn global(cx: &NodeCtx<'_>, kind: GlobalPool) -> Result<NnOp, NodeError> {
    cx.expect_inputs(1, 1)?;
    Ok(NnOp::GlobalPool(kind))
}

/// Only `stash_type = 1` (compute in f32) is implemented.
fn stash_type(cx: &NodeCtx<'_>) -> Result<(), NodeError> {
    match cx.int("stash_type", 1)? {
        1 => Ok(()),
        s => Err(unsupported!("attribute `stash_type` = {s} is not supported (only 1)")),
    }
}

fn num_outputs(cx: &NodeCtx<'_>) -> usize {
    cx.node.output.iter().rposition(|o| !o.is_empty()).map_or(0, |i| i + 1)
}

fn batch_norm(cx: &NodeCtx<'_>) -> Result<NnOp, NodeError> {
    cx.expect_inputs(5, 5)?;
    cx.ignore(&["consumed_inputs"]);
    if cx.int("spatial", 1)? != 1 {
        return Err(unsupported!("BatchNormalization with `spatial` = 0 is not supported"));
    }
    let training = if cx.opset >= 14 {
        cx.int("training_mode", 0)? != 0
    } else {
        // Before opset 14, training mode is signalled by extra outputs (or `is_test` = 0).
        let is_test = cx.int("is_test", 1)? != 0;
        if num_outputs(cx) > 1 || !is_test {
            return Err(unsupported!("BatchNormalization training outputs before opset 14 are not supported"));
        }
        false
    };
    if training && num_outputs(cx) > 3 {
        return Err(invalid!("BatchNormalization has at most 3 outputs in training mode"));
    }
    Ok(NnOp::BatchNorm { epsilon: cx.float("epsilon", 1e-5)?, momentum: cx.float("momentum", 0.9)?, training })
}

fn dropout(cx: &mut NodeCtx<'_>) -> Result<NnOp, NodeError> {
    cx.ignore(&["consumed_inputs"]);
    if cx.opset < 12 {
        cx.expect_inputs(1, 1)?;
        if cx.opset < 7 && cx.int("is_test", 0)? == 0 {
            return Err(unsupported!("Dropout in training mode (is_test = 0) before opset 7 is not supported"));
        }
        // Before opset 12 Dropout is an inference-time identity; the ratio only matters for the
        // (unused) training mode.
        let ratio = cx.float("ratio", 0.5)?;
        cx.const_input(1, "ratio", Tensor::scalar(ratio));
        Ok(NnOp::Dropout { seed: None })
    } else {
        cx.expect_inputs(1, 3)?;
        Ok(NnOp::Dropout { seed: cx.int_opt("seed")? })
    }
}

fn softmax(cx: &NodeCtx<'_>, kind: SoftmaxKind) -> Result<NnOp, NodeError> {
    cx.expect_inputs(1, 1)?;
    let legacy = cx.opset < 13;
    let axis = cx.int("axis", if legacy { 1 } else { -1 })?;
    Ok(NnOp::Softmax(SoftmaxAttrs { kind, axis, coerce_2d: legacy }))
}
