//! Builtin operators -> IR nodes, with TFLite's exact semantics (padding arithmetic, fused
//! activations, weight layouts).

use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, RoundMode, Unary, Variadic};
use mote_ir::ops::nn::{AutoPad, ConvAttrs, NnOp, PoolAttrs, PoolKind, SoftmaxAttrs, SoftmaxKind, Window};
use mote_ir::ops::reduce::ReduceOp;
use mote_ir::ops::shape::{PadMode, ShapeOp};
use mote_ir::{Data, Tensor, ValueId};

use crate::builder::{Builder, Layout, TO_NCHW};
use crate::error::{ProblemKind, invalid, unsupported};
use crate::hybrid;
use crate::schema::{ActivationFunctionType, BuiltinOperator, FullyConnectedOptionsWeightsFormat, Operator, Padding};

/// Why one operator could not be converted.
pub type Problem = (ProblemKind, String);

/// The builtin operators this importer converts.
pub const SUPPORTED: &[BuiltinOperator] = &[
    BuiltinOperator::CONV_2D,
    BuiltinOperator::DEPTHWISE_CONV_2D,
    BuiltinOperator::FULLY_CONNECTED,
    BuiltinOperator::ADD,
    BuiltinOperator::SUB,
    BuiltinOperator::MUL,
    BuiltinOperator::DIV,
    BuiltinOperator::MINIMUM,
    BuiltinOperator::MAXIMUM,
    BuiltinOperator::AVERAGE_POOL_2D,
    BuiltinOperator::MAX_POOL_2D,
    BuiltinOperator::MEAN,
    BuiltinOperator::RESHAPE,
    BuiltinOperator::SQUEEZE,
    BuiltinOperator::STRIDED_SLICE,
    BuiltinOperator::TRANSPOSE,
    BuiltinOperator::SOFTMAX,
    BuiltinOperator::LOGISTIC,
    BuiltinOperator::TANH,
    BuiltinOperator::RELU,
    BuiltinOperator::RELU6,
    BuiltinOperator::RELU_N1_TO_1,
    BuiltinOperator::HARD_SWISH,
    BuiltinOperator::QUANTIZE,
    BuiltinOperator::DEQUANTIZE,
    BuiltinOperator::PAD,
    BuiltinOperator::PADV2,
    BuiltinOperator::CONCATENATION,
    BuiltinOperator::CAST,
];

/// The operator's inputs (`None` for TFLite's -1, an omitted optional input) and outputs,
/// already checked against the tensor count.
#[derive(Debug)]
pub struct OpIo {
    pub ins: Vec<Option<usize>>,
    pub outs: Vec<usize>,
}

impl OpIo {
    fn input(&self, i: usize) -> Result<usize, Problem> {
        self.ins.get(i).copied().flatten().ok_or_else(|| invalid!("input {i} is missing"))
    }

    fn opt_input(&self, i: usize) -> Option<usize> {
        self.ins.get(i).copied().flatten()
    }

    fn output(&self) -> Result<usize, Problem> {
        match self.outs.as_slice() {
            [o] => Ok(*o),
            _ => Err(invalid!("expected 1 output, got {}", self.outs.len())),
        }
    }
}

fn s(e: String) -> Problem {
    (ProblemKind::Invalid, e)
}

/// Converts one supported builtin operator.
pub fn convert(b: &mut Builder, code: BuiltinOperator, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    match code {
        BuiltinOperator::CONV_2D => conv(b, op, io, false),
        BuiltinOperator::DEPTHWISE_CONV_2D => conv(b, op, io, true),
        BuiltinOperator::FULLY_CONNECTED => fully_connected(b, op, io),
        BuiltinOperator::ADD => {
            let act = op.builtin_options_as_add_options().map(|o| o.fused_activation_function());
            binary(b, io, Binary::Add, act)
        }
        BuiltinOperator::SUB => {
            let act = op.builtin_options_as_sub_options().map(|o| o.fused_activation_function());
            binary(b, io, Binary::Sub, act)
        }
        BuiltinOperator::MUL => {
            let act = op.builtin_options_as_mul_options().map(|o| o.fused_activation_function());
            binary(b, io, Binary::Mul, act)
        }
        BuiltinOperator::DIV => {
            let act = op.builtin_options_as_div_options().map(|o| o.fused_activation_function());
            binary(b, io, Binary::Div, act)
        }
        BuiltinOperator::MINIMUM => extreme(b, io, Variadic::Min),
        BuiltinOperator::MAXIMUM => extreme(b, io, Variadic::Max),
        BuiltinOperator::AVERAGE_POOL_2D => pool(b, op, io, PoolKind::Average { count_include_pad: false }),
        BuiltinOperator::MAX_POOL_2D => pool(b, op, io, PoolKind::Max { col_major: false }),
        BuiltinOperator::MEAN => mean(b, op, io),
        BuiltinOperator::RESHAPE => reshape(b, io),
        BuiltinOperator::SQUEEZE => squeeze(b, op, io),
        BuiltinOperator::STRIDED_SLICE => strided_slice(b, op, io),
        BuiltinOperator::TRANSPOSE => transpose(b, io),
        BuiltinOperator::SOFTMAX => softmax(b, op, io),
        BuiltinOperator::LOGISTIC => unary(b, io, Some(Unary::Sigmoid), ActivationFunctionType::NONE),
        BuiltinOperator::TANH => unary(b, io, None, ActivationFunctionType::TANH),
        BuiltinOperator::RELU => unary(b, io, None, ActivationFunctionType::RELU),
        BuiltinOperator::RELU6 => unary(b, io, None, ActivationFunctionType::RELU6),
        BuiltinOperator::RELU_N1_TO_1 => unary(b, io, None, ActivationFunctionType::RELU_N1_TO_1),
        BuiltinOperator::HARD_SWISH => unary(b, io, Some(Unary::HardSwish), ActivationFunctionType::NONE),
        BuiltinOperator::QUANTIZE | BuiltinOperator::DEQUANTIZE => requantize(b, io),
        BuiltinOperator::PAD => pad(b, io, false),
        BuiltinOperator::PADV2 => pad(b, io, true),
        BuiltinOperator::CONCATENATION => concat(b, op, io),
        BuiltinOperator::CAST => cast(b, io),
        other => Err(unsupported!("{}", other.variant_name().unwrap_or("unknown builtin"))),
    }
}

/// Applies a fused activation to the float value `v`.
fn activation(b: &mut Builder, v: ValueId, f: ActivationFunctionType) -> Result<ValueId, Problem> {
    let clip = |b: &mut Builder, lo: f32, hi: f32| {
        let (lo, hi) = (b.const_f32("min", lo), b.const_f32("max", hi));
        b.node(ElementwiseOp::Clip, vec![Some(v), Some(lo), Some(hi)], "clip")
    };
    Ok(match f {
        ActivationFunctionType::NONE => v,
        ActivationFunctionType::RELU => b.node(ElementwiseOp::Unary(Unary::Relu), vec![Some(v)], "relu"),
        ActivationFunctionType::RELU6 => clip(b, 0.0, 6.0),
        ActivationFunctionType::RELU_N1_TO_1 => clip(b, -1.0, 1.0),
        ActivationFunctionType::TANH => b.node(ElementwiseOp::Unary(Unary::Tanh), vec![Some(v)], "tanh"),
        other => return Err(unsupported!("fused activation {}", other.variant_name().unwrap_or("unknown"))),
    })
}

/// TFLite SAME padding along one axis: `out = ceil(in / stride)`, the odd element at the end.
fn same_pads(input: usize, k: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let span = k.saturating_sub(1).saturating_mul(dilation).saturating_add(1);
    let total = out.saturating_sub(1).saturating_mul(stride).saturating_add(span).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// A positive option value.
fn positive(what: &str, v: i32) -> Result<usize, Problem> {
    usize::try_from(v)
        .ok()
        .filter(|&v| (1..=1 << 16).contains(&v))
        .ok_or_else(|| invalid!("{what} must be positive, got {v}"))
}

/// The 2-D window of a conv or pool over the NHWC input tensor `x`.
fn window(
    b: &Builder,
    x: usize,
    padding: Padding,
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<Window, Problem> {
    let info = b.info(x);
    let mut w = Window {
        kernel_shape: Some(kernel.to_vec()),
        strides: strides.to_vec(),
        dilations: dilations.to_vec(),
        ..Window::default()
    };
    match padding {
        Padding::VALID => w.auto_pad = AutoPad::Valid,
        Padding::SAME if info.dynamic[1] || info.dynamic[2] => w.auto_pad = AutoPad::SameUpper,
        Padding::SAME => {
            let (t, bo) = same_pads(info.shape[1], kernel[0], strides[0], dilations[0]);
            let (l, r) = same_pads(info.shape[2], kernel[1], strides[1], dilations[1]);
            w.pads = vec![t, l, bo, r];
        }
        other => return Err(invalid!("padding {} is not SAME or VALID", other.0)),
    }
    Ok(w)
}

fn rank_is(b: &Builder, t: usize, r: usize) -> Result<(), Problem> {
    let info = b.info(t);
    if info.rank() != r {
        return Err(invalid!("tensor `{}` has rank {}, expected {r}", info.name, info.rank()));
    }
    Ok(())
}

fn conv(b: &mut Builder, op: &Operator<'_>, io: &OpIo, depthwise: bool) -> Result<(), Problem> {
    let (x, w, out) = (io.input(0)?, io.input(1)?, io.output()?);
    rank_is(b, x, 4)?;
    rank_is(b, w, 4)?;
    rank_is(b, out, 4)?;
    let hybrid = hybrid::is_hybrid(b, x, w);
    if hybrid && depthwise {
        return Err(unsupported!("hybrid DEPTHWISE_CONV_2D (float input, int8 weights)"));
    }
    let (padding, sh, sw, dh, dw, act) = if depthwise {
        let o = op
            .builtin_options_as_depthwise_conv_2_doptions()
            .ok_or_else(|| invalid!("DepthwiseConv2DOptions are missing"))?;
        (
            o.padding(),
            o.stride_h(),
            o.stride_w(),
            o.dilation_h_factor(),
            o.dilation_w_factor(),
            o.fused_activation_function(),
        )
    } else {
        let o = op.builtin_options_as_conv_2_doptions().ok_or_else(|| invalid!("Conv2DOptions are missing"))?;
        (
            o.padding(),
            o.stride_h(),
            o.stride_w(),
            o.dilation_h_factor(),
            o.dilation_w_factor(),
            o.fused_activation_function(),
        )
    };
    let cin = b.info(x).shape[3];
    let ws = b.info(w).shape.clone();
    let (perm, group) = if depthwise {
        // [1, KH, KW, C * multiplier] -> [C * multiplier, 1, KH, KW]; the multiplier comes from
        // the shapes, as TFLite's kernels compute it.
        if ws[0] != 1 || cin == 0 || !ws[3].is_multiple_of(cin) {
            return Err(invalid!("depthwise weight shape {ws:?} does not fit {cin} input channels"));
        }
        ([3, 0, 1, 2], cin)
    } else {
        // [O, KH, KW, I] -> [O, I, KH, KW]; I < C is a grouped convolution.
        if ws[3] == 0 || !cin.is_multiple_of(ws[3]) || !ws[0].is_multiple_of((cin / ws[3]).max(1)) {
            return Err(invalid!("weight shape {ws:?} does not fit {cin} input channels"));
        }
        ([0, 3, 1, 2], cin / ws[3])
    };
    let strides = [positive("stride_h", sh)?, positive("stride_w", sw)?];
    let dilations = [positive("dilation_h_factor", dh)?, positive("dilation_w_factor", dw)?];
    if ws[1] == 0 || ws[2] == 0 {
        return Err(invalid!("empty kernel {ws:?}"));
    }
    let window = window(b, x, padding, [ws[1], ws[2]], strides, dilations)?;
    let xv = b.real(x, Layout::Nchw).map_err(s)?;
    let bias = match io.opt_input(2) {
        Some(t) => Some(b.real(t, Layout::Native).map_err(s)?),
        None => None,
    };
    let y = if hybrid {
        hybrid::conv(b, xv, w, &perm, ConvAttrs { window, group }, bias)?
    } else {
        let wv = b.weight(w, &perm).map_err(s)?;
        b.node(NnOp::Conv(ConvAttrs { window, group }), vec![Some(xv), Some(wv), bias], "conv")
    };
    let y = activation(b, y, act)?;
    b.put_real(out, Layout::Nchw, y).map_err(s)
}

fn pool(b: &mut Builder, op: &Operator<'_>, io: &OpIo, kind: PoolKind) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    rank_is(b, x, 4)?;
    rank_is(b, out, 4)?;
    let o = op.builtin_options_as_pool_2_doptions().ok_or_else(|| invalid!("Pool2DOptions are missing"))?;
    let kernel = [positive("filter_height", o.filter_height())?, positive("filter_width", o.filter_width())?];
    let strides = [positive("stride_h", o.stride_h())?, positive("stride_w", o.stride_w())?];
    let mut window = window(b, x, o.padding(), kernel, strides, [1, 1])?;
    window.dilations.clear();
    let xv = b.real(x, Layout::Nchw).map_err(s)?;
    let y = b.node(NnOp::Pool(PoolAttrs { kind, window }), vec![Some(xv)], "pool");
    let y = activation(b, y, o.fused_activation_function())?;
    b.put_real(out, Layout::Nchw, y).map_err(s)
}

fn fully_connected(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let (x, w, out) = (io.input(0)?, io.input(1)?, io.output()?);
    rank_is(b, w, 2)?;
    let o =
        op.builtin_options_as_fully_connected_options().ok_or_else(|| invalid!("FullyConnectedOptions are missing"))?;
    if o.weights_format() != FullyConnectedOptionsWeightsFormat::DEFAULT {
        return Err(unsupported!("weights_format {}", o.weights_format().variant_name().unwrap_or("unknown")));
    }
    let inner = b.info(w).shape[1];
    let xv = b.real(x, Layout::Native).map_err(s)?;
    // TFLite flattens every input dim but the last into rows; keep_num_dims only changes the
    // declared output shape, which the final Reshape restores.
    let rows = b.const_i64("rows", vec![-1, inner as i64]);
    let x2 = b.node(ShapeOp::Reshape { allowzero: false }, vec![Some(xv), Some(rows)], "flatten");
    let bias = match io.opt_input(2) {
        Some(t) => Some(b.real(t, Layout::Native).map_err(s)?),
        None => None,
    };
    let y = if hybrid::is_hybrid(b, x, w) {
        hybrid::fully_connected(b, x2, w, o.asymmetric_quantize_inputs(), bias)?
    } else {
        let wv = b.weight(w, &[0, 1]).map_err(s)?;
        let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
        b.node(gemm, vec![Some(x2), Some(wv), bias], "fc")
    };
    let mut y = activation(b, y, o.fused_activation_function())?;
    if b.info(out).rank() != 2 {
        let shape = target_shape(b, out)?;
        let shape = b.const_i64("shape", shape);
        y = b.node(ShapeOp::Reshape { allowzero: false }, vec![Some(y), Some(shape)], "unflatten");
    }
    b.put_real(out, Layout::Native, y).map_err(s)
}

/// The declared shape of `t` for a Reshape: its one dynamic dim (if any) as -1.
fn target_shape(b: &Builder, t: usize) -> Result<Vec<i64>, Problem> {
    let info = b.info(t);
    if info.dynamic.iter().filter(|&&d| d).count() > 1 {
        return Err(unsupported!("reshape to `{}` with more than one dynamic dim", info.name));
    }
    Ok(info.shape.iter().zip(&info.dynamic).map(|(&d, &dy)| if dy { -1 } else { d as i64 }).collect())
}

/// The layout to compute a shape-preserving op in: NCHW if the input already has it.
fn pick(b: &Builder, t: usize) -> Layout {
    if b.has(t, Layout::Nchw) && !b.has(t, Layout::Native) { Layout::Nchw } else { Layout::Native }
}

fn binary(b: &mut Builder, io: &OpIo, kind: Binary, act: Option<ActivationFunctionType>) -> Result<(), Problem> {
    two_inputs(b, io, ElementwiseOp::Binary(kind), act.unwrap_or(ActivationFunctionType::NONE))
}

/// MINIMUM / MAXIMUM: broadcasting, on real values (TFLite requires inputs and output to share
/// their quantization, so the QDQ round trip is exact).
fn extreme(b: &mut Builder, io: &OpIo, kind: Variadic) -> Result<(), Problem> {
    two_inputs(b, io, ElementwiseOp::Variadic(kind), ActivationFunctionType::NONE)
}

/// A broadcasting two-input element-wise op, NCHW when an input already is and all are 4-D.
fn two_inputs(b: &mut Builder, io: &OpIo, op: ElementwiseOp, act: ActivationFunctionType) -> Result<(), Problem> {
    let (x, y, out) = (io.input(0)?, io.input(1)?, io.output()?);
    let both4 = b.info(x).rank() == 4 && b.info(y).rank() == 4 && b.info(out).rank() == 4;
    let l =
        if both4 && (pick(b, x) == Layout::Nchw || pick(b, y) == Layout::Nchw) { Layout::Nchw } else { Layout::Native };
    let (xv, yv) = (b.real(x, l).map_err(s)?, b.real(y, l).map_err(s)?);
    let v = b.node(op, vec![Some(xv), Some(yv)], "binary");
    let v = activation(b, v, act)?;
    b.put_real(out, l, v).map_err(s)
}

/// CAST: converts the stored values (TFLite ignores quantization parameters here).
fn cast(b: &mut Builder, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let l = if b.info(out).rank() == 4 { pick(b, x) } else { Layout::Native };
    let v = b.stored(x, l).map_err(s)?;
    let to = b.info(out).dtype;
    let y = b.node(ElementwiseOp::Cast { to, saturate: true, round_mode: RoundMode::Up }, vec![Some(v)], "cast");
    b.put_stored(out, l, y).map_err(s)
}

/// A one-input op: `op` if given, then the activation `act`.
fn unary(b: &mut Builder, io: &OpIo, op: Option<Unary>, act: ActivationFunctionType) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let l = if b.info(out).rank() == 4 { pick(b, x) } else { Layout::Native };
    let mut v = b.real(x, l).map_err(s)?;
    if let Some(u) = op {
        v = b.node(ElementwiseOp::Unary(u), vec![Some(v)], "unary");
    }
    let v = activation(b, v, act)?;
    b.put_real(out, l, v).map_err(s)
}

/// QUANTIZE (float -> int, or int -> int requantization) and DEQUANTIZE (int -> float, or
/// float16 -> float32).
fn requantize(b: &mut Builder, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let l = if b.info(out).rank() == 4 { pick(b, x) } else { Layout::Native };
    let mut v = b.real(x, l).map_err(s)?;
    let (from, to) = (b.info(x).dtype, b.info(out).dtype);
    if b.info(x).quant.is_none() && from != DType::F32 {
        if from != DType::F16 {
            return Err(unsupported!("{from} input without quantization parameters"));
        }
        v = b.node(
            ElementwiseOp::Cast { to: DType::F32, saturate: true, round_mode: RoundMode::Up },
            vec![Some(v)],
            "cast",
        );
    }
    if b.info(out).quant.is_none() && to != DType::F32 {
        return Err(unsupported!("{to} output without quantization parameters"));
    }
    b.put_real(out, l, v).map_err(s)
}

/// Whether a view op can work on the stored integers: same dtype and quantization.
fn same_storage(b: &Builder, x: usize, out: usize) -> bool {
    let (a, o) = (b.info(x), b.info(out));
    a.dtype == o.dtype && a.quant == o.quant
}

/// A view (Reshape, Transpose, Pad) of `x` into `out`: on the stored integers when both share
/// their quantization, else through float.
fn view(
    b: &mut Builder,
    x: usize,
    out: usize,
    l: Layout,
    op: ShapeOp,
    extra: Vec<Option<ValueId>>,
) -> Result<(), Problem> {
    let stored = same_storage(b, x, out);
    let v = if stored { b.stored(x, l) } else { b.real(x, l) }.map_err(s)?;
    let mut inputs = vec![Some(v)];
    inputs.extend(extra);
    let y = b.node(op, inputs, "view");
    if stored { b.put_stored(out, l, y) } else { b.put_real(out, l, y) }.map_err(s)
}

fn reshape(b: &mut Builder, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let shape = target_shape(b, out)?;
    let shape = b.const_i64("shape", shape);
    view(b, x, out, Layout::Native, ShapeOp::Reshape { allowzero: false }, vec![Some(shape)])
}

/// SQUEEZE: the listed size-1 dims (`squeeze_dims`, negative from the end), or every size-1 dim,
/// removed; a Reshape to the declared output shape once that shape is checked to be the result.
fn squeeze(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let shape = b.info(x).shape.clone();
    let dims: Vec<i64> = op
        .builtin_options_as_squeeze_options()
        .and_then(|o| o.squeeze_dims())
        .map_or(Vec::new(), |v| v.iter().map(i64::from).collect());
    let mut drop = Vec::new();
    for &d in &dims {
        let a = axis_of(d, shape.len())?;
        if shape[a] != 1 {
            return Err(invalid!("squeeze dim {d} has size {}, not 1", shape[a]));
        }
        drop.push(a);
    }
    let want: Vec<usize> = (0..shape.len())
        .filter(|&a| if dims.is_empty() { shape[a] != 1 } else { !drop.contains(&a) })
        .map(|a| shape[a])
        .collect();
    if b.info(out).shape != want {
        return Err(invalid!(
            "output `{}` is declared {:?}, the squeeze gives {want:?}",
            b.info(out).name,
            b.info(out).shape
        ));
    }
    reshape(b, io)
}

/// Elements of a numpy-style slice `start:end:step` of a dim of `n` (negative bounds count from
/// the end, then clamp).
fn slice_len(n: usize, start: i64, end: i64, step: i64) -> usize {
    let n = n as i64;
    let wrap = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let len = if step > 0 {
        let (a, e) = (wrap(start).clamp(0, n), wrap(end).clamp(0, n));
        (e - a + step - 1) / step
    } else {
        let (a, e) = (wrap(start).clamp(-1, n - 1), wrap(end).clamp(-1, n - 1));
        (a - e + (-step) - 1) / -step
    };
    len.max(0) as usize
}

/// STRIDED_SLICE with constant begin/end/strides: an IR Slice (numpy bounds, as TFLite's), the
/// masks turned into open bounds, then a Reshape when `shrink_axis_mask` drops dims. Ellipsis
/// and new-axis masks are refused.
fn strided_slice(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let o = op.builtin_options_as_strided_slice_options();
    let mask = |f: fn(&crate::schema::StridedSliceOptions<'_>) -> i32| o.as_ref().map_or(0, f);
    let (begin_mask, end_mask, shrink) =
        (mask(|o| o.begin_mask()), mask(|o| o.end_mask()), mask(|o| o.shrink_axis_mask()));
    if mask(|o| o.ellipsis_mask()) != 0 || mask(|o| o.new_axis_mask()) != 0 {
        return Err(unsupported!("ellipsis_mask or new_axis_mask"));
    }
    // `offset` (vtable slot 14) is newer than this importer's schema: refused when written.
    if o.as_ref().is_some_and(|o| o._tab.vtable().get(14) != 0) {
        return Err(unsupported!("the `offset` option"));
    }
    let begin = b.info(io.input(1)?).const_ints().map_err(s)?;
    let end = b.info(io.input(2)?).const_ints().map_err(s)?;
    let strides = b.info(io.input(3)?).const_ints().map_err(s)?;
    let shape = b.info(x).shape.clone();
    let rank = shape.len();
    if begin.len() != end.len() || begin.len() != strides.len() || begin.len() > rank {
        return Err(invalid!(
            "begin, end and strides have {}, {} and {} values for an input of rank {rank}",
            begin.len(),
            end.len(),
            strides.len()
        ));
    }
    let (mut starts, mut ends, mut steps, mut kept) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for a in 0..rank {
        let bit = |m: i32| a < 32 && m & (1 << a) != 0;
        let n = shape[a] as i64;
        let (st, en, sp) = if a >= begin.len() {
            (0, i64::MAX, 1)
        } else if bit(shrink) {
            // One element at `begin` (counted from the end when negative); the dim goes.
            let i = if begin[a] < 0 { begin[a] + n } else { begin[a] };
            if !(0..n).contains(&i) {
                return Err(invalid!("shrink index {} is out of range for a dim of {n}", begin[a]));
            }
            (i, i + 1, 1)
        } else {
            let sp = strides[a];
            if sp == 0 {
                return Err(invalid!("stride 0 on axis {a}"));
            }
            let st = if bit(begin_mask) { if sp > 0 { 0 } else { i64::MAX } } else { begin[a] };
            let en = if bit(end_mask) { if sp > 0 { i64::MAX } else { i64::MIN } } else { end[a] };
            (st, en, sp)
        };
        if !(a < begin.len() && bit(shrink)) {
            kept.push(slice_len(shape[a], st, en, sp));
        }
        starts.push(st);
        ends.push(en);
        steps.push(sp);
    }
    if b.info(out).shape != kept {
        return Err(invalid!(
            "output `{}` is declared {:?}, the slice gives {kept:?}",
            b.info(out).name,
            b.info(out).shape
        ));
    }
    let stored = same_storage(b, x, out);
    let v = if stored { b.stored(x, Layout::Native) } else { b.real(x, Layout::Native) }.map_err(s)?;
    let axes: Vec<i64> = (0..rank as i64).collect();
    let ins = [starts, ends, axes, steps].map(|c| Some(b.const_i64("slice", c)));
    let mut y = b.node(ShapeOp::Slice, [Some(v)].into_iter().chain(ins).collect(), "strided_slice");
    if shrink != 0 {
        let target = b.const_i64("shape", kept.iter().map(|&d| d as i64).collect());
        y = b.node(ShapeOp::Reshape { allowzero: false }, vec![Some(y), Some(target)], "shrink");
    }
    if stored { b.put_stored(out, Layout::Native, y) } else { b.put_real(out, Layout::Native, y) }.map_err(s)
}

fn transpose(b: &mut Builder, io: &OpIo) -> Result<(), Problem> {
    let (x, p, out) = (io.input(0)?, io.input(1)?, io.output()?);
    let rank = b.info(x).rank();
    let perm = b.info(p).const_ints().map_err(s)?;
    let perm: Vec<usize> = perm.iter().map(|&a| usize::try_from(a).unwrap_or(usize::MAX)).collect();
    if perm.len() != rank || (0..rank).any(|a| !perm.contains(&a)) {
        return Err(invalid!("{perm:?} is not a permutation of {rank} axes"));
    }
    view(b, x, out, Layout::Native, ShapeOp::Transpose { perm: Some(perm) }, vec![])
}

/// A scalar constant of `dtype` holding `v` (a zero point or 0).
fn scalar(dtype: DType, v: i64) -> Option<Tensor> {
    let data = match dtype {
        DType::F32 => Data::F32(vec![v as f32]),
        DType::I8 => Data::I8(vec![i8::try_from(v).ok()?]),
        DType::U8 => Data::U8(vec![u8::try_from(v).ok()?]),
        DType::I16 => Data::I16(vec![i16::try_from(v).ok()?]),
        DType::I32 => Data::I32(vec![i32::try_from(v).ok()?]),
        DType::I64 => Data::I64(vec![v]),
        _ => return None,
    };
    Tensor::new(vec![], data).ok()
}

/// PAD, and PADV2 (`v2`) whose third input is the constant pad value.
fn pad(b: &mut Builder, io: &OpIo, v2: bool) -> Result<(), Problem> {
    let (x, p, out) = (io.input(0)?, io.input(1)?, io.output()?);
    let rank = b.info(x).rank();
    let pads = b.info(p).const_ints().map_err(s)?;
    if pads.len() != 2 * rank || pads.iter().any(|&v| !(0..=1 << 24).contains(&v)) {
        return Err(invalid!("paddings {pads:?} are not {rank} non-negative [before, after] pairs"));
    }
    let l = if rank == 4 { pick(b, x) } else { Layout::Native };
    let order: Vec<usize> = if l == Layout::Nchw { TO_NCHW.to_vec() } else { (0..rank).collect() };
    let mut ir_pads: Vec<i64> = order.iter().map(|&a| pads[2 * a]).collect();
    ir_pads.extend(order.iter().map(|&a| pads[2 * a + 1]));
    // PAD pads a quantized tensor with its zero point: exactly 0.0 in real terms.
    let stored = same_storage(b, x, out);
    let value = if v2 {
        pad_value(b, io.input(2)?, stored)?
    } else {
        let (dtype, zp) = if stored {
            (b.info(x).dtype, b.info(x).quant.as_ref().map_or(0, |q| q.zero_point[0]))
        } else {
            (DType::F32, 0)
        };
        scalar(dtype, zp).ok_or_else(|| unsupported!("padding a {dtype} tensor"))?
    };
    let pads = b.const_i64("pads", ir_pads);
    let value = b.constant("pad_value", value);
    view(b, x, out, l, ShapeOp::Pad { mode: PadMode::Constant }, vec![Some(pads), Some(value)])
}

/// PADV2's one constant value: stored as it is when the pad works on stored integers, else its
/// real (dequantized) value.
fn pad_value(b: &Builder, t: usize, stored: bool) -> Result<Tensor, Problem> {
    let info = b.info(t);
    let c = info.constant().map_err(s)?;
    if c.len() != 1 {
        return Err(invalid!("pad value `{}` has {} elements, expected 1", info.name, c.len()));
    }
    if stored {
        return Tensor::new(vec![], c.data().clone()).map_err(|e| invalid!("pad value `{}`: {e}", info.name));
    }
    let v = c.to_f32_vec().map_err(|e| invalid!("pad value `{}`: {e}", info.name))?[0];
    let real = match &info.quant {
        Some(q) => (v - q.zero_point[0] as f32) * q.scale[0],
        None => v,
    };
    Ok(Tensor::scalar(real))
}

fn softmax(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let (x, out) = (io.input(0)?, io.output()?);
    let beta = op.builtin_options_as_softmax_options().ok_or_else(|| invalid!("SoftmaxOptions are missing"))?.beta();
    if !beta.is_finite() {
        return Err(invalid!("beta {beta} is not finite"));
    }
    let mut v = b.real(x, Layout::Native).map_err(s)?;
    if beta != 1.0 {
        let c = b.const_f32("beta", beta);
        v = b.node(ElementwiseOp::Binary(Binary::Mul), vec![Some(v), Some(c)], "beta");
    }
    let attrs = SoftmaxAttrs { kind: SoftmaxKind::Softmax, axis: -1, coerce_2d: false };
    let y = b.node(NnOp::Softmax(attrs), vec![Some(v)], "softmax");
    b.put_real(out, Layout::Native, y).map_err(s)
}

/// Normalises a possibly negative axis.
fn axis_of(a: i64, rank: usize) -> Result<usize, Problem> {
    let r = rank as i64;
    if !(-r..r).contains(&a) {
        return Err(invalid!("axis {a} is out of range for rank {rank}"));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

fn mean(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let (x, a, out) = (io.input(0)?, io.input(1)?, io.output()?);
    let rank = b.info(x).rank();
    let keep = op.builtin_options_as_reducer_options().is_some_and(|o| o.keep_dims());
    let mut axes = Vec::new();
    for v in b.info(a).const_ints().map_err(s)? {
        let ax = axis_of(v, rank)?;
        if !axes.contains(&ax) {
            axes.push(ax);
        }
    }
    // NCHW when the input has it and the output keeps its dim order there too.
    let kept_native: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
    let kept_nchw: Vec<usize> = TO_NCHW.iter().copied().filter(|d| !axes.contains(d)).collect();
    let l = if rank == 4 && pick(b, x) == Layout::Nchw && (keep || kept_native == kept_nchw) {
        Layout::Nchw
    } else {
        Layout::Native
    };
    let ir_axes: Vec<i64> = match l {
        Layout::Nchw => axes.iter().map(|&d| TO_NCHW.iter().position(|&p| p == d).unwrap_or(d) as i64).collect(),
        Layout::Native => axes.iter().map(|&d| d as i64).collect(),
    };
    let xv = b.real(x, l).map_err(s)?;
    let axes = b.const_i64("axes", ir_axes);
    let r =
        ReduceOp::Reduce { kind: mote_ir::ops::reduce::Reduction::Mean, keepdims: keep, noop_with_empty_axes: false };
    let y = b.node(r, vec![Some(xv), Some(axes)], "mean");
    let out_l = if keep { l } else { Layout::Native };
    b.put_real(out, out_l, y).map_err(s)
}

fn concat(b: &mut Builder, op: &Operator<'_>, io: &OpIo) -> Result<(), Problem> {
    let out = io.output()?;
    let ins: Vec<usize> = (0..io.ins.len()).map(|i| io.input(i)).collect::<Result<_, _>>()?;
    if ins.is_empty() {
        return Err(invalid!("no inputs"));
    }
    let rank = b.info(out).rank();
    if let Some(&t) = ins.iter().find(|&&t| b.info(t).rank() != rank) {
        return Err(invalid!("input `{}` has rank {}, the output {rank}", b.info(t).name, b.info(t).rank()));
    }
    let (axis, act) = match op.builtin_options_as_concatenation_options() {
        Some(o) => (o.axis(), o.fused_activation_function()),
        None => (0, ActivationFunctionType::NONE),
    };
    let axis = axis_of(axis as i64, rank)?;
    let l = if rank == 4 && ins.iter().any(|&t| pick(b, t) == Layout::Nchw) { Layout::Nchw } else { Layout::Native };
    let ir_axis = match l {
        Layout::Nchw => TO_NCHW.iter().position(|&p| p == axis).unwrap_or(axis),
        Layout::Native => axis,
    };
    let vals: Vec<Option<ValueId>> =
        ins.iter().map(|&t| b.real(t, l).map(Some)).collect::<Result<_, _>>().map_err(s)?;
    let y = b.node(ShapeOp::Concat { axis: ir_axis as i64 }, vals, "concat");
    let y = activation(b, y, act)?;
    b.put_real(out, l, y).map_err(s)
}
