//! Dynamic-range ("hybrid") CONV_2D and FULLY_CONNECTED: float activations, int8 weights with
//! zero point 0, as TFLite's reference kernels compute them. Each batch row of the input is
//! quantized at run time, the product runs in integers, and the i32 accumulator is scaled by
//! `row_scale * weight_scale[c]` before the float bias and the fused activation. The row
//! quantization is
//!
//! - **symmetric** (CONV_2D with one weight scale, FULLY_CONNECTED by default): `scale = max |x|
//!   / 127`, `q = clamp(round(x * (127 / max |x|)), -127, 127)`, zero point 0;
//! - **asymmetric** (CONV_2D with per-channel weight scales, FULLY_CONNECTED with
//!   `asymmetric_quantize_inputs`): `rmin = min(x, 0)`, `rmax = max(x, 0)`, `scale = (rmax -
//!   rmin) / 255`, `zp = round(-128 - rmin / scale)`, `q = clamp(round(zp + x * (1 / scale)),
//!   -128, 127)`.
//!
//! Rounding is half away from zero; an all-zero row gives zeros. TFLite computes the asymmetric
//! scale and zero point in f64; here they are f32 (the zero point cancels in `q - zp`, the scale
//! differs by at most an ulp). LiteRT's optimized kernels differ from its reference ones: its
//! builtin CONV_2D quantizes asymmetrically even with one weight scale, and XNNPACK quantizes
//! each pixel apart (docs/TFLITE.md, "Hybrid models").
//!
//! The product runs as a float Conv/Gemm of the integer-valued `q - zp` (padding contributes 0,
//! as TFLite's input offset does) with the int8 weights as f32: each product is exact, and so is
//! every sum below 2^24, far above real accumulators. So the result is TFLite's up to the final
//! float scaling; the compiled model keeps f32 weights.

use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};
use mote_ir::ops::nn::{ConvAttrs, NnOp};
use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Data, Tensor, ValueId};

use crate::builder::{Builder, permute};
use crate::error::{invalid, unsupported};
use crate::ops::Problem;

/// Whether `x` (the activation) is float and `w` (the weight) quantized.
pub fn is_hybrid(b: &Builder, x: usize, w: usize) -> bool {
    b.info(x).quant.is_none() && b.info(x).dtype == DType::F32 && b.info(w).quant.is_some()
}

/// The int8 weight `w` permuted to the IR's layout, as f32 integers, and its scales.
fn weight(b: &mut Builder, w: usize, perm: &[usize], what: &str) -> Result<(ValueId, Vec<f32>), Problem> {
    let info = b.info(w);
    let q = info.quant.as_ref().ok_or_else(|| invalid!("weight `{}` is not quantized", info.name))?;
    if info.dtype != DType::I8 {
        return Err(unsupported!("hybrid {what} with {} weights (only int8)", info.dtype));
    }
    if q.zero_point.iter().any(|&z| z != 0) {
        return Err(invalid!("hybrid weight `{}` has a non-zero zero point", info.name));
    }
    if !q.per_tensor() && (q.axis != 0 || q.scale.len() != info.shape[0]) {
        return Err(invalid!("hybrid weight `{}`: per-channel scales must run along its output dim", info.name));
    }
    let scales = q.scale.clone();
    let data = info.constant().map_err(|e| invalid!("{e}"))?;
    let t = permute(data, perm).ok_or_else(|| invalid!("weight `{}` cannot be permuted", info.name))?;
    let Data::I8(v) = t.data() else { return Err(invalid!("weight `{}` is not int8 data", info.name)) };
    let f = Tensor::new(t.shape().to_vec(), Data::F32(v.iter().map(|&x| f32::from(x)).collect()))
        .map_err(|e| invalid!("{e}"))?;
    Ok((b.constant("weight_q", f), scales))
}

fn un(b: &mut Builder, u: Unary, x: ValueId, base: &str) -> ValueId {
    b.node(ElementwiseOp::Unary(u), vec![Some(x)], base)
}

fn bin(b: &mut Builder, k: Binary, x: ValueId, y: ValueId, base: &str) -> ValueId {
    b.node(ElementwiseOp::Binary(k), vec![Some(x), Some(y)], base)
}

fn var(b: &mut Builder, k: Variadic, x: ValueId, y: ValueId, base: &str) -> ValueId {
    b.node(ElementwiseOp::Variadic(k), vec![Some(x), Some(y)], base)
}

fn reduce(b: &mut Builder, kind: Reduction, x: ValueId, axes: &[i64], base: &str) -> ValueId {
    let axes = b.const_i64("rows", axes.to_vec());
    let r = ReduceOp::Reduce { kind, keepdims: true, noop_with_empty_axes: false };
    b.node(r, vec![Some(x), Some(axes)], base)
}

/// Round half away from zero, exactly for `|v| < 2^22`: `sign(v) * floor(|v| + 0.5)`.
fn round_away(b: &mut Builder, v: ValueId) -> ValueId {
    let half = b.const_f32("half", 0.5);
    let a = un(b, Unary::Abs, v, "abs");
    let a = bin(b, Binary::Add, a, half, "plus_half");
    let a = un(b, Unary::Floor, a, "floor");
    let sign = un(b, Unary::Sign, v, "sign");
    bin(b, Binary::Mul, sign, a, "rounded")
}

/// `x` quantized per row (reduced over `axes`, kept as size-1 dims), see the module doc:
/// `q - zp` as integer-valued f32, and each row's scale.
fn quantize_rows(b: &mut Builder, x: ValueId, axes: &[i64], asymmetric: bool) -> (ValueId, ValueId) {
    let tiny = b.const_f32("tiny", f32::MIN_POSITIVE);
    // TFLite multiplies by an inverse: `1 / scale` (asymmetric) or `127 / range` (symmetric);
    // the divisor is floored at the smallest normal float so an all-zero row stays zero.
    let (scale, inv, zp, qmin, qmax) = if asymmetric {
        let zero = b.const_f32("zero", 0.0);
        let lo = reduce(b, Reduction::Min, x, axes, "row_min");
        let lo = var(b, Variadic::Min, lo, zero, "rmin");
        let hi = reduce(b, Reduction::Max, x, axes, "row_max");
        let hi = var(b, Variadic::Max, hi, zero, "rmax");
        let range = bin(b, Binary::Sub, hi, lo, "range");
        let k = b.const_f32("k255", 255.0);
        let scale = bin(b, Binary::Div, range, k, "in_scale");
        let nz = var(b, Variadic::Max, scale, tiny, "in_scale_nz");
        let one = b.const_f32("one", 1.0);
        let inv = bin(b, Binary::Div, one, nz, "inv_scale");
        let m = bin(b, Binary::Div, lo, nz, "rmin_steps");
        let qmin = b.const_f32("qmin", -128.0);
        let zp = bin(b, Binary::Sub, qmin, m, "zero_point_real");
        (scale, inv, Some(round_away(b, zp)), -128.0, 127.0)
    } else {
        let abs = un(b, Unary::Abs, x, "absx");
        let range = reduce(b, Reduction::Max, abs, axes, "range");
        let k = b.const_f32("k127", 127.0);
        let scale = bin(b, Binary::Div, range, k, "in_scale");
        let nz = var(b, Variadic::Max, range, tiny, "range_nz");
        let inv = bin(b, Binary::Div, k, nz, "inv_scale");
        (scale, inv, None, -127.0, 127.0)
    };
    let mut v = bin(b, Binary::Mul, x, inv, "scaled");
    if let Some(zp) = zp {
        v = bin(b, Binary::Add, zp, v, "shifted");
    }
    let r = round_away(b, v);
    let (lo, hi) = (b.const_f32("qlo", qmin), b.const_f32("qhi", qmax));
    let q = b.node(ElementwiseOp::Clip, vec![Some(r), Some(lo), Some(hi)], "quantized");
    let d = match zp {
        Some(zp) => bin(b, Binary::Sub, q, zp, "centered"),
        None => q,
    };
    (d, scale)
}

/// The accumulator `acc` back to real values: times `row_scale * w_scale` (`w_scale` shaped
/// `scale_shape` when per channel), plus the bias.
fn rescale(
    b: &mut Builder,
    acc: ValueId,
    row_scale: ValueId,
    w_scale: Vec<f32>,
    scale_shape: Vec<usize>,
    bias: Option<ValueId>,
) -> Result<ValueId, Problem> {
    let ws = if w_scale.len() == 1 {
        b.const_f32("w_scale", w_scale[0])
    } else {
        let t = Tensor::new(scale_shape, Data::F32(w_scale)).map_err(|e| invalid!("{e}"))?;
        b.constant("w_scale", t)
    };
    let s = bin(b, Binary::Mul, row_scale, ws, "acc_scale");
    let y = bin(b, Binary::Mul, acc, s, "dequantized");
    Ok(match bias {
        Some(bv) => bin(b, Binary::Add, y, bv, "bias"),
        None => y,
    })
}

/// Hybrid CONV_2D: `x` is the NCHW float input, `bias` a `[C]` float bias (or none). Rows are
/// quantized asymmetrically when the weight has per-channel scales.
pub fn conv(
    b: &mut Builder,
    x: ValueId,
    w: usize,
    perm: &[usize],
    attrs: ConvAttrs,
    bias: Option<ValueId>,
) -> Result<ValueId, Problem> {
    let (wv, ws) = weight(b, w, perm, "CONV_2D")?;
    let channels = ws.len();
    let (d, row_scale) = quantize_rows(b, x, &[1, 2, 3], channels > 1);
    let acc = b.node(NnOp::Conv(attrs), vec![Some(d), Some(wv)], "conv_int");
    let bias = match bias {
        Some(bv) => {
            let shape = b.const_i64("bias_shape", vec![1, -1, 1, 1]);
            Some(b.node(ShapeOp::Reshape { allowzero: false }, vec![Some(bv), Some(shape)], "bias_nchw"))
        }
        None => None,
    };
    rescale(b, acc, row_scale, ws, vec![1, channels, 1, 1], bias)
}

/// Hybrid FULLY_CONNECTED: `x` is the `[rows, in]` float input, `w` the `[out, in]` weight;
/// rows are quantized asymmetrically when `asymmetric` (the op's `asymmetric_quantize_inputs`).
pub fn fully_connected(
    b: &mut Builder,
    x: ValueId,
    w: usize,
    asymmetric: bool,
    bias: Option<ValueId>,
) -> Result<ValueId, Problem> {
    let (wv, ws) = weight(b, w, &[0, 1], "FULLY_CONNECTED")?;
    let channels = ws.len();
    let (d, row_scale) = quantize_rows(b, x, &[1], asymmetric);
    let gemm = NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: true };
    let acc = b.node(gemm, vec![Some(d), Some(wv)], "matmul_int");
    rescale(b, acc, row_scale, ws, vec![1, channels], bias)
}
