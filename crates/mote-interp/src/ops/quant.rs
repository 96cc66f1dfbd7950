//! Quantization ops.
//!
//! Quantize/dequantize run in f32 (f16/bf16/float8e8m0 scales are widened exactly; a
//! half-precision division is rounded back to half); they accept 2- to 32-bit integers and
//! float8/float4 as quantized types; integer ops subtract zero points into i32 and accumulate
//! exactly; requantization follows the ONNX reference (multiplier in the scale's dtype, product
//! in f64, round half to even).

use mote_ir::ops::nn::ConvAttrs;
use mote_ir::ops::quant::QuantOp;
use mote_ir::{DType, Data, Elem, Tensor, Value, bf16, dispatch, f16};
use mote_kernels::reference::quant::{
    ConvAxis, Granularity, QInt, QuantLayout, conv_i32, dequantize, dequantize_float, gemm_i32, quantize,
    quantize_float, requantize, round_half_even_f64,
};

use super::elementwise::{broadcast_shape, cast};
use super::{EvalCx, Inputs, axis, numel, one};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &QuantOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        QuantOp::Quantize { axis, block_size, output_dtype, precision, saturate } => one(quantize_linear(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            QuantizeAttrs {
                axis: *axis,
                block_size: *block_size,
                output_dtype: *output_dtype,
                precision: *precision,
                saturate: *saturate,
            },
        )?),
        QuantOp::Dequantize { axis, block_size, output_dtype } => one(dequantize_linear(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            *axis,
            *block_size,
            *output_dtype,
        )?),
        QuantOp::DynamicQuantize => dynamic_quantize(inputs.tensor(0)?),
        QuantOp::MatMulInteger => {
            let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
            let (acc, shape) = int_matmul(a, b, inputs.opt_tensor(2)?, inputs.opt_tensor(3)?)?;
            one(Tensor::from_vec(shape, acc)?)
        }
        QuantOp::QLinearMatMul => qlinear_matmul(inputs),
        QuantOp::ConvInteger(attrs) => {
            let (acc, shape) = int_conv(
                attrs,
                inputs.tensor(0)?,
                inputs.tensor(1)?,
                inputs.opt_tensor(2)?,
                inputs.opt_tensor(3)?,
                None,
            )?;
            one(Tensor::from_vec(shape, acc)?)
        }
        QuantOp::QLinearConv(attrs) => qlinear_conv(attrs, inputs),
    }
}

/// The values of an integer tensor of a quantized dtype as i32.
fn ints(t: &Tensor, what: &str) -> Result<Vec<i32>, OpError> {
    dispatch!(t.data(), [I8, U8, I16, U16, I32, I4, U4, I2, U2], v => Ok(v.iter().map(|&x| QInt::to_i32(x)).collect()),
        else Err(op_err!("{what} must be a 2- to 32-bit integer, got {}", t.dtype())))
}

/// Scale values as f32 (f16/bf16/float8e8m0 widen exactly).
fn scales(t: &Tensor, what: &str) -> Result<Vec<f32>, OpError> {
    let d = t.dtype();
    if !(matches!(d, DType::F32 | DType::F16 | DType::BF16 | DType::F8E8M0)) {
        bail!("{what} must be float32, float16, bfloat16 or float8e8m0, got {d}");
    }
    Ok(t.to_f32_vec()?)
}

/// Works out how `scale` (and the zero point of the same shape) map onto `x_shape`.
fn layout(x_shape: &[usize], scale: &Tensor, axis_attr: i64, block_size: usize) -> Result<QuantLayout, OpError> {
    let n = x_shape.iter().product::<usize>();
    let s = scale.shape();
    if s.is_empty() || (s.len() == 1 && s[0] == 1) || (block_size > 0 && scale.len() == 1) {
        return Ok(QuantLayout { outer: 1, axis_len: n, inner: 1, granularity: Granularity::PerTensor });
    }
    let ax = axis(axis_attr, x_shape.len())?;
    let outer = x_shape[..ax].iter().product();
    let inner = x_shape[ax + 1..].iter().product();
    let d = x_shape[ax];
    if block_size == 0 {
        if s.len() != 1 || s[0] != d {
            bail!("per-axis scale must have shape [{d}] (axis {ax} of {x_shape:?}), got {s:?}");
        }
        return Ok(QuantLayout { outer, axis_len: d, inner, granularity: Granularity::PerAxis });
    }
    let mut want = x_shape.to_vec();
    want[ax] = d.div_ceil(block_size);
    if s != want.as_slice() {
        bail!(
            "blocked scale must have shape {want:?} for input {x_shape:?}, axis {ax}, block size {block_size}; got {s:?}"
        );
    }
    Ok(QuantLayout { outer, axis_len: d, inner, granularity: Granularity::Blocked { block: block_size } })
}

/// The zero point, checked against the scale's shape.
fn zero_point<'a>(zp: Option<&'a Tensor>, scale: &Tensor) -> Result<Option<&'a Tensor>, OpError> {
    if let Some(z) = zp
        && z.shape() != scale.shape()
        && !(z.len() == 1 && scale.len() == 1)
    {
        bail!("zero point shape {:?} differs from the scale's {:?}", z.shape(), scale.shape());
    }
    Ok(zp)
}

/// Integer zero points (empty when absent: all zero).
fn zero_points(zp: Option<&Tensor>, scale: &Tensor) -> Result<Vec<i32>, OpError> {
    zero_point(zp, scale)?.map_or(Ok(Vec::new()), |z| ints(z, "zero point"))
}

/// float8/float4 zero points as f32 (empty when absent: all zero).
fn float_zero_points(zp: Option<&Tensor>, scale: &Tensor) -> Result<Vec<f32>, OpError> {
    zero_point(zp, scale)?.map_or(Ok(Vec::new()), |z| Ok(z.to_f32_vec()?))
}

/// Rounds an f32 to `dt` precision (f16/bf16), or leaves it (f32 and wider).
fn round_to(dt: DType) -> fn(f32) -> f32 {
    match dt {
        DType::F16 => |v| f16::from_f32(v).to_f32(),
        DType::BF16 => |v| bf16::from_f32(v).to_f32(),
        _ => |v| v,
    }
}

fn float_rank(d: DType) -> u8 {
    match d {
        // A power-of-two scale divides exactly: x's precision decides.
        DType::F8E8M0 => 0,
        DType::BF16 => 1,
        DType::F16 => 2,
        DType::F32 => 3,
        _ => 4,
    }
}

/// Attributes of `QuantizeLinear`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantizeAttrs {
    pub axis: i64,
    pub block_size: usize,
    pub output_dtype: Option<DType>,
    /// The dtype of the division (default: the wider of x's and the scale's).
    pub precision: Option<DType>,
    /// float8 outputs: clamp out-of-range values (else Inf/NaN).
    pub saturate: bool,
}

/// ONNX `QuantizeLinear`: `y = saturate(round(x / scale) + zero_point)` for integer outputs,
/// `y = float8(x / scale + zero_point)` (round to nearest even) for float8/float4 outputs.
pub fn quantize_linear(x: &Tensor, scale: &Tensor, zp: Option<&Tensor>, a: QuantizeAttrs) -> Result<Tensor, OpError> {
    if !matches!(x.dtype(), DType::F32 | DType::F16 | DType::BF16 | DType::I32) {
        bail!("x must be float32, float16, bfloat16 or int32, got {}", x.dtype());
    }
    let out_dtype = match (zp, a.output_dtype) {
        (Some(z), Some(o)) if z.dtype() != o => {
            bail!("zero point dtype {} differs from output_dtype {o}", z.dtype())
        }
        (Some(z), _) => z.dtype(),
        (None, o) => o.unwrap_or(DType::U8),
    };
    let xs = x.to_f32_vec()?;
    let ss = scales(scale, "y_scale")?;
    let l = layout(x.shape(), scale, a.axis, a.block_size)?;
    // The division's precision: `precision`, else the wider of x's and the scale's dtypes.
    let prec = a.precision.unwrap_or_else(|| {
        let xd = if x.dtype() == DType::I32 { DType::F64 } else { x.dtype() };
        if float_rank(xd) >= float_rank(scale.dtype()) { xd } else { scale.dtype() }
    });
    let r = round_to(prec);
    let wide = prec == DType::F64;
    let div = move |p: f32, q: f32| if wide { (p as f64 / q as f64) as f32 } else { r(p / q) };
    let n = xs.len();
    let z = Data::zeros(out_dtype, 0);
    let data = if out_dtype.is_low_precision_float() {
        let zs = float_zero_points(zp, scale)?;
        dispatch!(z, [F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F4E2M1], _v => {
            let mut out = vec![T::default(); n];
            quantize_float(&xs, &ss, &zs, l, div, a.saturate, &mut out);
            T::wrap(out)
        }, else bail!("quantizing to {out_dtype} is not supported"))
    } else {
        let zs = zero_points(zp, scale)?;
        dispatch!(z, [I8, U8, I16, U16, I32, I4, U4, I2, U2], _v => {
            let mut out = vec![T::default(); n];
            quantize(&xs, &ss, &zs, l, div, &mut out);
            T::wrap(out)
        }, else bail!("quantizing to {out_dtype} is not supported"))
    };
    Ok(Tensor::new(x.shape().to_vec(), data)?)
}

/// ONNX `DequantizeLinear`: `y = (x - zero_point) * scale`, computed in f32.
pub fn dequantize_linear(
    x: &Tensor,
    scale: &Tensor,
    zp: Option<&Tensor>,
    axis_attr: i64,
    block_size: usize,
    output_dtype: Option<DType>,
) -> Result<Tensor, OpError> {
    if let Some(z) = zp
        && z.dtype() != x.dtype()
    {
        bail!("zero point dtype {} differs from x's {}", z.dtype(), x.dtype());
    }
    let dt = match (output_dtype, scale.dtype()) {
        (Some(d), _) => d,
        (None, DType::F8E8M0) => bail!("output_dtype is required when x_scale is float8e8m0"),
        (None, d) => d,
    };
    let ss = scales(scale, "x_scale")?;
    let l = layout(x.shape(), scale, axis_attr, block_size)?;
    let mut out = vec![0f32; x.len()];
    if x.dtype().is_low_precision_float() {
        let zs = float_zero_points(zp, scale)?;
        dispatch!(x.data(), [F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F4E2M1], v => dequantize_float(v, &ss, &zs, l, &mut out),
            else bail!("x must not be {}", x.dtype()));
    } else {
        let zs = zero_points(zp, scale)?;
        dispatch!(x.data(), [I8, U8, I16, U16, I32, I4, U4, I2, U2], v => dequantize(v, &ss, &zs, l, &mut out),
            else bail!("x must be a 2- to 32-bit integer, float8 or float4, got {}", x.dtype()));
    }
    let y = Tensor::from_vec(x.shape().to_vec(), out)?;
    if dt == DType::F32 { Ok(y) } else { cast(&y, dt) }
}

/// ONNX `DynamicQuantizeLinear`: asymmetric u8 quantization over the range `[min(x, 0), max(x, 0)]`.
fn dynamic_quantize(x: &Tensor) -> Result<Vec<Value>, OpError> {
    let xs = x.typed::<f32>().map_err(|_| op_err!("x must be float32, got {}", x.dtype()))?;
    let (mut lo, mut hi) = (0f32, 0f32);
    for &v in xs {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let scale = (if hi == lo { 1.0 } else { hi - lo }) / 255.0;
    let zp = (0.0 - lo / scale).clamp(0.0, 255.0);
    let zp = round_half_even_f64(zp as f64) as i32;
    let l = QuantLayout { outer: 1, axis_len: xs.len(), inner: 1, granularity: Granularity::PerTensor };
    let mut y = vec![0u8; xs.len()];
    quantize(xs, &[scale], &[zp], l, |a, b| a / b, &mut y);
    Ok(vec![
        Value::Tensor(Tensor::from_vec(x.shape().to_vec(), y)?),
        Value::Tensor(Tensor::scalar(scale)),
        Value::Tensor(Tensor::scalar(zp as u8)),
    ])
}

/// `(A - a_zp) @ (B - b_zp)` in i32 with numpy matmul broadcasting. `a_zp` is a scalar or one per
/// row of A; `b_zp` a scalar or one per column of B.
fn int_matmul(
    a: &Tensor,
    b: &Tensor,
    azp: Option<&Tensor>,
    bzp: Option<&Tensor>,
) -> Result<(Vec<i32>, Vec<usize>), OpError> {
    if !matches!(a.dtype(), DType::I8 | DType::U8) || !matches!(b.dtype(), DType::I8 | DType::U8) {
        bail!("A and B must be int8 or uint8, got {} and {}", a.dtype(), b.dtype());
    }
    if a.rank() == 0 || b.rank() == 0 {
        bail!("A and B must have rank >= 1");
    }
    let mut ad = a.shape().to_vec();
    let mut bd = b.shape().to_vec();
    if ad.len() == 1 {
        ad.insert(0, 1);
    }
    if bd.len() == 1 {
        bd.push(1);
    }
    let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
    let (k2, n) = (bd[bd.len() - 2], bd[bd.len() - 1]);
    if k != k2 {
        bail!("A's columns ({k}) differ from B's rows ({k2})");
    }
    let mut av = ints(a, "A")?;
    let mut bv = ints(b, "B")?;
    subtract_zp(&mut av, azp, m, k, true, "a_zero_point", a.dtype())?;
    subtract_zp(&mut bv, bzp, k, n, false, "b_zero_point", b.dtype())?;
    let batch = broadcast_shape(&ad[..ad.len() - 2], &bd[..bd.len() - 2])?;
    let nb: usize = batch.iter().product();
    let mut out_shape = batch.clone();
    if a.rank() > 1 {
        out_shape.push(m);
    }
    if b.rank() > 1 {
        out_shape.push(n);
    }
    let mut out = vec![0i32; numel(&out_shape)?];
    let a_off = batch_offsets(&ad[..ad.len() - 2], &batch, m * k);
    let b_off = batch_offsets(&bd[..bd.len() - 2], &batch, k * n);
    for i in 0..nb {
        gemm_i32(&av[a_off[i]..][..m * k], &bv[b_off[i]..][..k * n], m, k, n, &mut out[i * m * n..][..m * n]);
    }
    Ok((out, out_shape))
}

/// Offset of each broadcast batch index into an operand with batch dims `dims`.
fn batch_offsets(dims: &[usize], batch: &[usize], mat: usize) -> Vec<usize> {
    let nb: usize = batch.iter().product();
    let r = batch.len();
    let mut offs = Vec::with_capacity(nb);
    let mut idx = vec![0usize; r];
    for _ in 0..nb {
        let mut off = 0;
        let mut stride = mat;
        for j in (0..dims.len()).rev() {
            let bi = idx[r - dims.len() + j];
            if dims[j] != 1 {
                off += bi * stride;
            }
            stride *= dims[j];
        }
        offs.push(off);
        mote_core::shape::next_index(&mut idx, batch);
    }
    offs
}

/// Subtracts a zero point that is a scalar or one value per row (`per_row`) / column of the
/// trailing `[rows, cols]` matrices of `v`.
fn subtract_zp(
    v: &mut [i32],
    zp: Option<&Tensor>,
    rows: usize,
    cols: usize,
    per_row: bool,
    what: &str,
    dtype: DType,
) -> Result<(), OpError> {
    let Some(z) = zp else { return Ok(()) };
    if z.dtype() != dtype {
        bail!("{what} dtype {} differs from its input's {dtype}", z.dtype());
    }
    let zs = ints(z, what)?;
    let want = if per_row { rows } else { cols };
    if zs.len() == 1 {
        v.iter_mut().for_each(|x| *x -= zs[0]);
    } else if zs.len() == want && z.rank() <= 1 {
        for (i, x) in v.iter_mut().enumerate() {
            let j = if per_row { (i / cols) % rows } else { i % cols };
            *x -= zs[j];
        }
    } else {
        bail!("{what} must be a scalar or have {want} values, got shape {:?}", z.shape());
    }
    Ok(())
}

/// `a_scale * b_scale / y_scale`, each operation rounded to the scales' dtype.
fn multiplier(a: f32, b: f32, y: f32, dt: DType) -> f64 {
    let r = round_to(dt);
    r(r(a * b) / y) as f64
}

fn scalar_scale(t: &Tensor, what: &str) -> Result<f32, OpError> {
    let v = scales(t, what)?;
    if v.len() != 1 {
        bail!("{what} must be a scalar, got shape {:?}", t.shape());
    }
    Ok(v[0])
}

fn scalar_zp(t: &Tensor, what: &str) -> Result<i32, OpError> {
    let v = ints(t, what)?;
    if v.len() != 1 {
        bail!("{what} must be a scalar, got shape {:?}", t.shape());
    }
    Ok(v[0])
}

fn requantize_all(
    acc: &[i32],
    mult: impl Fn(usize) -> f64,
    yzp: &Tensor,
    shape: Vec<usize>,
) -> Result<Tensor, OpError> {
    let zp = scalar_zp(yzp, "y_zero_point")?;
    let data = dispatch!(yzp.data(), [I8, U8], _v => {
        T::wrap(acc.iter().enumerate().map(|(i, &a)| requantize::<T>(a, mult(i), zp)).collect())
    }, else bail!("y_zero_point must be int8 or uint8, got {}", yzp.dtype()));
    Ok(Tensor::new(shape, data)?)
}

fn qlinear_matmul(inputs: &Inputs<'_>) -> Result<Vec<Value>, OpError> {
    let (a, b) = (inputs.tensor(0)?, inputs.tensor(3)?);
    let (acc, shape) = int_matmul(a, b, Some(inputs.tensor(2)?), Some(inputs.tensor(5)?))?;
    let (sa, sb, sy) = (inputs.tensor(1)?, inputs.tensor(4)?, inputs.tensor(6)?);
    let dt = sa.dtype();
    let av = scales(sa, "a_scale")?;
    let bv = scales(sb, "b_scale")?;
    let y = scalar_scale(sy, "y_scale")?;
    let n = if b.rank() > 1 { b.shape()[b.rank() - 1] } else { 1 };
    let m = if a.rank() > 1 { a.shape()[a.rank() - 2] } else { 1 };
    if !(av.len() == 1 || av.len() == m) || !(bv.len() == 1 || bv.len() == n) {
        bail!("a_scale must have 1 or {m} values and b_scale 1 or {n}");
    }
    let mult = |i: usize| {
        let row = (i / n) % m;
        let col = i % n;
        multiplier(av[if av.len() == 1 { 0 } else { row }], bv[if bv.len() == 1 { 0 } else { col }], y, dt)
    };
    one(requantize_all(&acc, mult, inputs.tensor(7)?, shape)?)
}

/// Integer convolution with zero points subtracted; returns the i32 accumulators and the shape.
fn int_conv(
    attrs: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    xzp: Option<&Tensor>,
    wzp: Option<&Tensor>,
    bias: Option<&Tensor>,
) -> Result<(Vec<i32>, Vec<usize>), OpError> {
    if !matches!(x.dtype(), DType::I8 | DType::U8) || !matches!(w.dtype(), DType::I8 | DType::U8) {
        bail!("x and w must be int8 or uint8, got {} and {}", x.dtype(), w.dtype());
    }
    let (xd, wd) = (x.shape(), w.shape());
    if xd.len() < 3 || xd.len() > 5 || wd.len() != xd.len() {
        bail!("x and w must have the same rank 3 to 5, got {xd:?} and {wd:?}");
    }
    let (nb, c_in, c_out) = (xd[0], xd[1], wd[0]);
    let g = attrs.group;
    if c_in % g != 0 || c_out % g != 0 || wd[1].checked_mul(g) != Some(c_in) {
        bail!("w has {} input channels per group but x has {c_in} channels in {g} group(s)", wd[1]);
    }
    let spatial = &xd[2..];
    let r = attrs.window.resolve(spatial, &wd[2..]).map_err(|e| OpError(e.0))?;
    if let Some(ks) = &attrs.window.kernel_shape
        && ks[..] != wd[2..]
    {
        bail!("kernel_shape {ks:?} differs from w's spatial dims {:?}", &wd[2..]);
    }
    let unit = ConvAxis { input: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0, output: 1 };
    let mut k3 = [unit; 3];
    let n = spatial.len();
    for i in 0..n {
        k3[3 - n + i] = ConvAxis {
            input: spatial[i],
            kernel: r.kernel[i],
            stride: r.strides[i],
            dilation: r.dilations[i],
            pad_begin: r.pads_begin[i],
            output: r.out[i],
        };
    }
    let mut xv = ints(x, "x")?;
    let mut wv = ints(w, "w")?;
    if let Some(z) = xzp {
        if z.dtype() != x.dtype() {
            bail!("x_zero_point dtype {} differs from x's {}", z.dtype(), x.dtype());
        }
        let zp = scalar_zp(z, "x_zero_point")?;
        xv.iter_mut().for_each(|v| *v -= zp);
    }
    if let Some(z) = wzp {
        if z.dtype() != w.dtype() {
            bail!("w_zero_point dtype {} differs from w's {}", z.dtype(), w.dtype());
        }
        let zs = ints(z, "w_zero_point")?;
        let per = wv.len() / c_out.max(1);
        if zs.len() == 1 {
            wv.iter_mut().for_each(|v| *v -= zs[0]);
        } else if zs.len() == c_out {
            for (i, v) in wv.iter_mut().enumerate() {
                *v -= zs[i / per];
            }
        } else {
            bail!("w_zero_point must be a scalar or have {c_out} values, got shape {:?}", z.shape());
        }
    }
    let bv = match bias {
        None => None,
        Some(b) => {
            if b.shape() != [c_out] {
                bail!("B must have shape [{c_out}], got {:?}", b.shape());
            }
            Some(b.typed::<i32>().map_err(|_| op_err!("B must be int32, got {}", b.dtype()))?)
        }
    };
    let mut shape = vec![nb, c_out];
    shape.extend(r.out.iter().copied());
    let mut out = vec![0i32; numel(&shape)?];
    let isz: usize = xd[1..].iter().product();
    let osz: usize = shape[1..].iter().product();
    for n in 0..nb {
        conv_i32(&xv[n * isz..][..isz], &wv, bv, c_in, c_out, g, k3, &mut out[n * osz..][..osz]);
    }
    Ok((out, shape))
}

fn qlinear_conv(attrs: &ConvAttrs, inputs: &Inputs<'_>) -> Result<Vec<Value>, OpError> {
    let (x, w) = (inputs.tensor(0)?, inputs.tensor(3)?);
    let (acc, shape) = int_conv(attrs, x, w, Some(inputs.tensor(2)?), Some(inputs.tensor(5)?), inputs.opt_tensor(8)?)?;
    let sx = inputs.tensor(1)?;
    let xs = scalar_scale(sx, "x_scale")?;
    let ws = scales(inputs.tensor(4)?, "w_scale")?;
    let ys = scalar_scale(inputs.tensor(6)?, "y_scale")?;
    let c_out = shape[1];
    if ws.len() != 1 && ws.len() != c_out {
        bail!("w_scale must be a scalar or have {c_out} values, got {}", ws.len());
    }
    let plane: usize = shape[2..].iter().product();
    let dt = sx.dtype();
    let mults: Vec<f64> = (0..c_out).map(|m| multiplier(xs, ws[if ws.len() == 1 { 0 } else { m }], ys, dt)).collect();
    let mult = |i: usize| mults[(i / plane.max(1)) % c_out];
    one(requantize_all(&acc, mult, inputs.tensor(7)?, shape)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    fn attrs(axis: i64) -> QuantizeAttrs {
        QuantizeAttrs { axis, block_size: 0, output_dtype: None, precision: None, saturate: true }
    }

    #[test]
    fn quantize_per_axis_and_round_trip() {
        let x = f(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let s = f(&[2], &[1.0, 2.0]);
        let z = Tensor::from_vec(vec![2], vec![0u8, 10]).unwrap();
        let q = quantize_linear(&x, &s, Some(&z), attrs(1)).unwrap();
        // Column 1 uses scale 2, zero point 10: 2/2+10 = 11, 4/2+10 = 12.
        assert_eq!(q.typed::<u8>().unwrap(), &[1, 11, 3, 12]);
        let d = dequantize_linear(&q, &s, Some(&z), 1, 0, None).unwrap();
        assert_eq!(d.typed::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        // A per-axis scale of the wrong length is an error, not a panic.
        assert!(quantize_linear(&x, &f(&[3], &[1.0; 3]), None, attrs(1)).is_err());
    }

    #[test]
    fn quantize_low_precision_outputs() {
        use mote_ir::{F8E4M3Fn, F8E8M0, I4};
        let x = f(&[2, 4], &[0.0, 1.0, 2.0, 1000.0, -0.5, 3.0, 20.0, -40.0]);
        // Blocked int4: blocks of 2 along axis 1, scales [2, 2].
        let s = f(&[2, 2], &[0.5, 4.0, 1.0, 2.0]);
        let a = QuantizeAttrs { block_size: 2, output_dtype: Some(DType::I4), ..attrs(1) };
        let q = quantize_linear(&x, &s, None, a).unwrap();
        assert_eq!(q.dtype(), DType::I4);
        assert_eq!(q.to_f64_vec().unwrap(), vec![0.0, 2.0, 0.0, 7.0, 0.0, 3.0, 7.0, -8.0]);
        let z = Tensor::from_vec(vec![2, 2], vec![I4::wrapping_from(1); 4]).unwrap();
        let d = dequantize_linear(&q, &s, Some(&z), 1, 2, None).unwrap();
        assert_eq!(d.typed::<f32>().unwrap(), &[-0.5, 0.5, -4.0, 24.0, -1.0, 2.0, 12.0, -18.0]);
        // float8: saturation on by default, off on request.
        let zf = Tensor::from_vec(vec![], vec![F8E4M3Fn::default()]).unwrap();
        let one = f(&[], &[1.0]);
        let q = quantize_linear(&x, &one, Some(&zf), attrs(1)).unwrap();
        assert_eq!(q.to_f32_vec().unwrap()[3], 448.0);
        let q = quantize_linear(&x, &one, Some(&zf), QuantizeAttrs { saturate: false, ..attrs(1) }).unwrap();
        assert!(q.to_f32_vec().unwrap()[3].is_nan());
        // A float8e8m0 scale (MX) dequantizes exactly but needs output_dtype.
        let e8 = Tensor::from_vec(vec![], vec![F8E8M0::from_bits(129)]).unwrap(); // 4.0
        let q = quantize_linear(&x, &one, Some(&zf), attrs(1)).unwrap();
        assert!(dequantize_linear(&q, &e8, None, 1, 0, None).is_err());
        let d = dequantize_linear(&q, &e8, None, 1, 0, Some(DType::F32)).unwrap();
        assert_eq!(d.typed::<f32>().unwrap()[..3], [0.0, 4.0, 8.0]);
        // E8M0 is a scale type, not a quantized one.
        assert!(dequantize_linear(&e8, &one, None, 1, 0, None).is_err());
        // Zero point type must match.
        let zi = Tensor::from_vec(vec![], vec![0i8]).unwrap();
        assert!(dequantize_linear(&q, &one, Some(&zi), 1, 0, None).is_err());
    }

    #[test]
    fn matmul_integer_with_per_column_zero_point() {
        let a = Tensor::from_vec(vec![1, 2], vec![3u8, 4]).unwrap();
        let b = Tensor::from_vec(vec![2, 2], vec![1u8, 2, 3, 4]).unwrap();
        let bz = Tensor::from_vec(vec![2], vec![1u8, 2]).unwrap();
        let (acc, shape) = int_matmul(&a, &b, None, Some(&bz)).unwrap();
        assert_eq!(shape, vec![1, 2]);
        // (b - bz) = [[0, 0], [2, 2]] -> [8, 8]
        assert_eq!(acc, vec![8, 8]);
    }

    #[test]
    fn dynamic_quantize_matches_reference_formula() {
        let x = f(&[3], &[0.0, 2.0, -0.5]);
        let out = dynamic_quantize(&x).unwrap();
        let scale = 2.5f32 / 255.0;
        let scale_out = out[1].as_tensor().unwrap().typed::<f32>().unwrap()[0];
        assert_eq!(scale_out, scale);
        // zp = round(0.5 / scale) = round(51.0) = 51
        assert_eq!(out[2].as_tensor().unwrap().typed::<u8>().unwrap(), &[51]);
        assert_eq!(out[0].as_tensor().unwrap().typed::<u8>().unwrap(), &[51, 255, 0]);
    }
}
