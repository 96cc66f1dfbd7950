//! IR op -> ONNX `op_type`, attributes and the oldest opset that has them, for the ops a trained
//! or quantized model is made of. The IR's semantics are the newest opset's (attributes that
//! became inputs are inputs), so the node keeps the IR's inputs as they are; every op written
//! here has had that form since opset 19 at the latest.

use mote_ir::Op;
use mote_ir::ops::elementwise::{ElementwiseOp, Unary};
use mote_ir::ops::nn::{AutoPad, GlobalPool, NnOp, PoolKind, Window};
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::reduce::ReduceOp;
use mote_ir::ops::rnn::{Activation, Direction, RnnAttrs, RnnOp};
use mote_ir::ops::shape::{PadMode, ShapeOp};

use crate::proto::AttributeProto;
use crate::proto::attribute_proto::AttributeType;

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto { name: Some(name.to_string()), r#type: Some(ty as i32), ..AttributeProto::default() }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { i: Some(v), ..attr(name, AttributeType::Int) }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { f: Some(v), ..attr(name, AttributeType::Float) }
}

fn ints(name: &str, v: impl IntoIterator<Item = i64>) -> AttributeProto {
    AttributeProto { ints: v.into_iter().collect(), ..attr(name, AttributeType::Ints) }
}

fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto { s: Some(v.as_bytes().to_vec()), ..attr(name, AttributeType::String) }
}

fn floats(name: &str, v: Vec<f32>) -> AttributeProto {
    AttributeProto { floats: v, ..attr(name, AttributeType::Floats) }
}

fn strings(name: &str, v: impl IntoIterator<Item = &'static str>) -> AttributeProto {
    AttributeProto {
        strings: v.into_iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..attr(name, AttributeType::Strings)
    }
}

/// LSTM/GRU/RNN attributes; activation parameters in the order the importer reads them.
fn recurrent(op: &RnnOp) -> Vec<AttributeProto> {
    let a: &RnnAttrs = op.attrs();
    let dir = match a.direction {
        Direction::Forward => "forward",
        Direction::Reverse => "reverse",
        Direction::Bidirectional => "bidirectional",
    };
    let (mut names, mut alphas, mut betas) = (Vec::new(), Vec::new(), Vec::new());
    for act in &a.activations {
        let (name, al, be) = match *act {
            Activation::Relu => ("Relu", None, None),
            Activation::Tanh => ("Tanh", None, None),
            Activation::Sigmoid => ("Sigmoid", None, None),
            Activation::Softsign => ("Softsign", None, None),
            Activation::Softplus => ("Softplus", None, None),
            Activation::LeakyRelu { alpha } => ("LeakyRelu", Some(alpha), None),
            Activation::ThresholdedRelu { alpha } => ("ThresholdedRelu", Some(alpha), None),
            Activation::Elu { alpha } => ("Elu", Some(alpha), None),
            Activation::Affine { alpha, beta } => ("Affine", Some(alpha), Some(beta)),
            Activation::ScaledTanh { alpha, beta } => ("ScaledTanh", Some(alpha), Some(beta)),
            Activation::HardSigmoid { alpha, beta } => ("HardSigmoid", Some(alpha), Some(beta)),
        };
        names.push(name);
        alphas.extend(al);
        betas.extend(be);
    }
    let mut v = vec![int("hidden_size", a.hidden_size as i64), string("direction", dir), strings("activations", names)];
    if a.batch_first {
        v.push(int("layout", 1));
    }
    if !alphas.is_empty() {
        v.push(floats("activation_alpha", alphas));
    }
    if !betas.is_empty() {
        v.push(floats("activation_beta", betas));
    }
    if let Some(c) = a.clip {
        v.push(float("clip", c));
    }
    match op {
        RnnOp::Lstm { input_forget: true, .. } => v.push(int("input_forget", 1)),
        RnnOp::Gru { linear_before_reset: true, .. } => v.push(int("linear_before_reset", 1)),
        _ => {}
    }
    v
}

fn usizes(name: &str, v: &[usize]) -> AttributeProto {
    ints(name, v.iter().map(|&x| x as i64))
}

/// The attributes of a convolution or pooling window.
fn window(w: &Window, pool: bool) -> Vec<AttributeProto> {
    let mut a = Vec::new();
    if let Some(k) = &w.kernel_shape {
        a.push(usizes("kernel_shape", k));
    }
    if !w.strides.is_empty() {
        a.push(usizes("strides", &w.strides));
    }
    if !w.dilations.is_empty() {
        a.push(usizes("dilations", &w.dilations));
    }
    match w.auto_pad {
        AutoPad::NotSet => {
            if !w.pads.is_empty() {
                a.push(usizes("pads", &w.pads));
            }
        }
        AutoPad::Valid => a.push(string("auto_pad", "VALID")),
        AutoPad::SameUpper => a.push(string("auto_pad", "SAME_UPPER")),
        AutoPad::SameLower => a.push(string("auto_pad", "SAME_LOWER")),
    }
    if pool && w.ceil_mode {
        a.push(int("ceil_mode", 1));
    }
    a
}

fn unary(u: Unary) -> Vec<AttributeProto> {
    match u {
        Unary::LeakyRelu { alpha }
        | Unary::Elu { alpha }
        | Unary::Celu { alpha }
        | Unary::ThresholdedRelu { alpha } => {
            vec![float("alpha", alpha)]
        }
        Unary::Selu { alpha, gamma } => vec![float("alpha", alpha), float("gamma", gamma)],
        Unary::HardSigmoid { alpha, beta } => vec![float("alpha", alpha), float("beta", beta)],
        Unary::Shrink { bias, lambd } => vec![float("bias", bias), float("lambd", lambd)],
        Unary::Gelu { tanh } => vec![string("approximate", if tanh { "tanh" } else { "none" })],
        Unary::IsInf { detect_positive, detect_negative } => {
            vec![int("detect_positive", detect_positive.into()), int("detect_negative", detect_negative.into())]
        }
        _ => Vec::new(),
    }
}

/// The oldest opset every written op works in.
pub const BASE_OPSET: i64 = 19;

/// The opset `op` needs beyond [`BASE_OPSET`]: 20 for Gelu, 21 for blocked or typed
/// Quantize/DequantizeLinear.
pub fn opset_of(op: &Op) -> i64 {
    match op {
        Op::Elementwise(ElementwiseOp::Unary(Unary::Gelu { .. })) => 20,
        Op::Quant(
            QuantOp::Quantize { block_size, output_dtype, .. } | QuantOp::Dequantize { block_size, output_dtype, .. },
        ) if *block_size > 0 || output_dtype.is_some() => 21,
        _ => BASE_OPSET,
    }
}

/// `(op_type, attributes)` of `op`, or why it cannot be written.
pub fn node_of(op: &Op) -> Result<(&'static str, Vec<AttributeProto>), String> {
    let name = op.name();
    let unsupported = || Err(format!("the ONNX writer does not support {name} yet"));
    if matches!(op, Op::Elementwise(ElementwiseOp::Unary(Unary::Swish { .. })))
        || matches!(op, Op::Quant(QuantOp::Quantize { precision: Some(_), .. }))
    {
        return Err(format!("the ONNX writer does not support {name} (it needs an opset newer than 21)"));
    }
    let attrs = match op {
        Op::Elementwise(e) => match e {
            ElementwiseOp::Unary(u) => unary(*u),
            ElementwiseOp::Binary(_) | ElementwiseOp::Variadic(_) | ElementwiseOp::Where | ElementwiseOp::Clip => {
                if let ElementwiseOp::Binary(mote_ir::ops::elementwise::Binary::Mod { fmod }) = e {
                    vec![int("fmod", (*fmod).into())]
                } else if let ElementwiseOp::Binary(mote_ir::ops::elementwise::Binary::BitShift { left }) = e {
                    vec![string("direction", if *left { "LEFT" } else { "RIGHT" })]
                } else {
                    Vec::new()
                }
            }
            ElementwiseOp::Cast { to, saturate, .. } => {
                let mut a = vec![int("to", to.code() as i64)];
                if !saturate {
                    a.push(int("saturate", 0));
                }
                a
            }
            ElementwiseOp::CastLike { .. } => return unsupported(),
        },
        Op::Nn(n) => match n {
            NnOp::Conv(c) => {
                let mut a = window(&c.window, false);
                a.push(int("group", c.group as i64));
                a
            }
            NnOp::Pool(p) => {
                let mut a = window(&p.window, true);
                match p.kind {
                    PoolKind::Max { col_major } => {
                        if col_major {
                            a.push(int("storage_order", 1));
                        }
                    }
                    PoolKind::Average { count_include_pad } => {
                        a.push(int("count_include_pad", count_include_pad.into()))
                    }
                    PoolKind::Lp { p } => a.push(int("p", p as i64)),
                }
                a
            }
            NnOp::GlobalPool(GlobalPool::Lp { p }) => vec![int("p", *p as i64)],
            NnOp::GlobalPool(_) | NnOp::MatMul => Vec::new(),
            NnOp::BatchNorm { epsilon, momentum, training } => {
                let mut a = vec![float("epsilon", *epsilon), float("momentum", *momentum)];
                if *training {
                    a.push(int("training_mode", 1));
                }
                a
            }
            NnOp::LayerNorm { axis, epsilon } => vec![int("axis", *axis), float("epsilon", *epsilon)],
            NnOp::Gemm { alpha, beta, trans_a, trans_b } => vec![
                float("alpha", *alpha),
                float("beta", *beta),
                int("transA", (*trans_a).into()),
                int("transB", (*trans_b).into()),
            ],
            NnOp::Dropout { seed } => seed.map(|s| vec![int("seed", s)]).unwrap_or_default(),
            NnOp::Softmax(s) if !s.coerce_2d => vec![int("axis", s.axis)],
            _ => return unsupported(),
        },
        Op::Shape(s) => match s {
            ShapeOp::Identity | ShapeOp::Squeeze | ShapeOp::Unsqueeze | ShapeOp::Slice | ShapeOp::Expand => Vec::new(),
            ShapeOp::Reshape { allowzero } => {
                if *allowzero {
                    vec![int("allowzero", 1)]
                } else {
                    Vec::new()
                }
            }
            ShapeOp::Flatten { axis } | ShapeOp::Concat { axis } | ShapeOp::Gather { axis } => vec![int("axis", *axis)],
            ShapeOp::Transpose { perm } => perm.as_ref().map(|p| vec![usizes("perm", p)]).unwrap_or_default(),
            ShapeOp::Pad { mode } => {
                let m = match mode {
                    PadMode::Constant => "constant",
                    PadMode::Reflect => "reflect",
                    PadMode::Edge => "edge",
                    PadMode::Wrap => "wrap",
                };
                vec![string("mode", m)]
            }
            _ => return unsupported(),
        },
        Op::Reduce(ReduceOp::Reduce { keepdims, noop_with_empty_axes, .. }) => {
            let mut a = vec![int("keepdims", (*keepdims).into())];
            if *noop_with_empty_axes {
                a.push(int("noop_with_empty_axes", 1));
            }
            a
        }
        Op::Reduce(ReduceOp::Arg { axis, keepdims, select_last_index, .. }) => vec![
            int("axis", *axis),
            int("keepdims", (*keepdims).into()),
            int("select_last_index", (*select_last_index).into()),
        ],
        Op::Quant(q) => match q {
            QuantOp::Quantize { axis, block_size, output_dtype, saturate, .. } => {
                let mut a = vec![int("axis", *axis)];
                if *block_size > 0 {
                    a.push(int("block_size", *block_size as i64));
                }
                if let Some(d) = output_dtype {
                    a.push(int("output_dtype", d.code() as i64));
                }
                if !saturate {
                    a.push(int("saturate", 0));
                }
                a
            }
            QuantOp::Dequantize { axis, block_size, output_dtype } => {
                let mut a = vec![int("axis", *axis)];
                if *block_size > 0 {
                    a.push(int("block_size", *block_size as i64));
                }
                if let Some(d) = output_dtype {
                    a.push(int("output_dtype", d.code() as i64));
                }
                a
            }
            QuantOp::DynamicQuantize | QuantOp::QLinearMatMul | QuantOp::MatMulInteger => Vec::new(),
            QuantOp::QLinearConv(c) | QuantOp::ConvInteger(c) => {
                let mut a = window(&c.window, false);
                a.push(int("group", c.group as i64));
                a
            }
        },
        Op::Rnn(r) => recurrent(r),
        _ => return unsupported(),
    };
    Ok((name, attrs))
}
