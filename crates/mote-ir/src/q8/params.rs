//! The integer parameters of an int8 unit, computed once with TFLite's formulas: the geometry
//! its kernel runs with, requantization multipliers, the i32 bias, clamp bounds and the weights
//! in the kernels' layout. `mote-compile` encodes them into `Q8*` steps; `mote-train`'s forward
//! runs the reference kernels with them, so both compute the same integers.

use mote_kernels::reference::fixed::{activation_range, quantize_multiplier};
use mote_kernels::reference::int8::{AddParams, Conv2d, MulParams};

use super::{QBias, QIn, QWeight, Unit};
use crate::ops::nn::{ConvAttrs, Window};

/// The unit's output clamp in its integer domain (the fused activation and the int8 range).
pub fn lo_hi(u: &Unit) -> (i32, i32) {
    activation_range(u.clamp.0, u.clamp.1, u.y.scale, u.y.zp, -128, 127)
}

/// Per output channel: the bias, the multiplier significands and shifts (TFLite's
/// `PopulateConvolutionQuantizationParams`: `s_x * s_w[o] / s_y` in f64; the fully-connected
/// per-tensor case multiplies the two scales in f32 first, as TFLite's
/// `GetQuantizedConvolutionMultipler` does).
pub fn requant(u: &Unit, w: &QWeight, m: usize, f32_product: bool) -> Result<(Vec<i32>, Vec<i32>, Vec<i32>), String> {
    let (sx, sy) = (u.inputs[0].scale, u.y.scale);
    let sw = |o: usize| w.scales[if w.scales.len() == 1 { 0 } else { o }];
    let (mut mult, mut shift) = (Vec::with_capacity(m), Vec::with_capacity(m));
    for o in 0..m {
        let prod = if f32_product { (sx * sw(o)) as f64 } else { sx as f64 * sw(o) as f64 };
        let (m0, s) = quantize_multiplier(prod / sy as f64)
            .ok_or_else(|| format!("requantization multiplier {} of channel {o} is out of range", prod / sy as f64))?;
        mult.push(m0);
        shift.push(s);
    }
    let bias = match &u.bias {
        None => vec![0; m],
        Some(QBias::Int { data, scales }) => {
            let v = data.to_i64_vec().map_err(|e| e.to_string())?;
            if v.len() != m {
                return Err(format!("bias has {} values for {m} output channels", v.len()));
            }
            (0..m)
                .map(|o| {
                    let bs = scales[if scales.len() == 1 { 0 } else { o }] as f64;
                    let want = sx as f64 * sw(o) as f64;
                    // TFLite's bias scale is s_x * s_w; another scale is rescaled.
                    if (bs - want).abs() <= want * 1e-4 {
                        v[o] as i32
                    } else {
                        (v[o] as f64 * bs / want).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
                    }
                })
                .collect()
        }
        Some(QBias::Float(t)) => {
            let v = t.to_f64_vec().map_err(|e| e.to_string())?;
            if v.len() != m {
                return Err(format!("bias has {} values for {m} output channels", v.len()));
            }
            (0..m)
                .map(|o| (v[o] / (sx as f64 * sw(o) as f64)).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
                .collect()
        }
    };
    Ok((bias, mult, shift))
}

fn i8s(t: &crate::Tensor) -> Result<Vec<i8>, String> {
    Ok(t.to_i64_vec().map_err(|e| e.to_string())?.into_iter().map(|v| v as i8).collect())
}

fn four(d: &[usize]) -> Result<[usize; 4], String> {
    <[usize; 4]>::try_from(d).map_err(|_| format!("expected a 4-D tensor, got {d:?}"))
}

/// A Conv unit's geometry for its NCHW input dims `x` and output dims `y`, and its weights as
/// OHWI (the kernels' layout).
pub fn conv(u: &Unit, a: &ConvAttrs, x: &[usize], y: &[usize]) -> Result<(Conv2d, Vec<i8>), String> {
    let w = u.weight.as_ref().ok_or("int8 Conv without weights")?;
    let wd = w.data.shape().to_vec();
    if wd.len() != 4 || (w.scales.len() > 1 && w.axis != 0) {
        return Err(format!(
            "int8 Conv: weights {wd:?} quantized along axis {} (want per output channel, axis 0)",
            w.axis
        ));
    }
    let [n, c, h, wi] = four(x)?;
    let [m, cg, kh, kw] = four(&wd)?;
    let padded = [h + u.pad[0] + u.pad[2], wi + u.pad[1] + u.pad[3]];
    let r = a.window.resolve(&padded, &[kh, kw]).map_err(|e| e.0)?;
    if r.pads_begin.iter().any(|&p| p < 0) || a.group == 0 || c != cg * a.group {
        return Err("int8 Conv: unsupported geometry (negative padding or channel mismatch)".into());
    }
    let g = Conv2d {
        n,
        h,
        w: wi,
        c,
        m,
        groups: a.group,
        kh,
        kw,
        sh: r.strides[0],
        sw: r.strides[1],
        dh: r.dilations[0],
        dw: r.dilations[1],
        pad_top: u.pad[0] + r.pads_begin[0] as usize,
        pad_left: u.pad[1] + r.pads_begin[1] as usize,
        oh: r.out[0],
        ow: r.out[1],
    };
    if y != [n, m, g.oh, g.ow] {
        return Err(format!("int8 Conv: output {y:?} differs from the geometry's {:?}", [n, m, g.oh, g.ow]));
    }
    // OIHW -> OHWI.
    let wv = i8s(&w.data)?;
    let mut ohwi = vec![0i8; wv.len()];
    for o in 0..m {
        for ci in 0..cg {
            for yk in 0..kh {
                for xk in 0..kw {
                    ohwi[((o * kh + yk) * kw + xk) * cg + ci] = wv[((o * cg + ci) * kh + yk) * kw + xk];
                }
            }
        }
    }
    Ok((g, ohwi))
}

/// A Gemm/MatMul unit with output dims `y` (`[rows, m]`) reading `x_len` input values: its
/// geometry (a 1x1 convolution over `rows` pixels of `k` channels) and weights as `[m, k]`.
pub fn dense(u: &Unit, trans_b: bool, x_len: usize, y: &[usize]) -> Result<(Conv2d, Vec<i8>), String> {
    let w = u.weight.as_ref().ok_or("int8 Gemm without weights")?;
    let wd = w.data.shape().to_vec();
    let [rows, m] = <[usize; 2]>::try_from(y).map_err(|_| "int8 Gemm: output is not 2-D".to_string())?;
    if wd.len() != 2 || (w.scales.len() > 1 && w.axis != usize::from(!trans_b)) {
        return Err(format!("int8 Gemm/MatMul: weights {wd:?} must be per output channel"));
    }
    let k = if trans_b { wd[1] } else { wd[0] };
    if (if trans_b { wd[0] } else { wd[1] }) != m {
        return Err(format!("int8 Gemm/MatMul: weights {wd:?} do not give {m} outputs"));
    }
    if x_len != rows * k {
        return Err(format!("int8 Gemm/MatMul: input has {x_len} values, want {rows} x {k}"));
    }
    let wv = i8s(&w.data)?;
    let w_mk: Vec<i8> = if trans_b { wv } else { (0..m * k).map(|i| wv[(i % k) * m + i / k]).collect() };
    let g = Conv2d::fully_connected(rows, k, m);
    Ok((g, w_mk))
}

/// A pooling unit's geometry for its NCHW input dims `x` and output dims `y`.
pub fn pool(win: &Window, x: &[usize], y: &[usize]) -> Result<Conv2d, String> {
    let [n, c, h, w] = four(x)?;
    let kernel = win.kernel_shape.clone().ok_or("pooling without kernel_shape")?;
    let r = win.resolve(&[h, w], &kernel).map_err(|e| e.0)?;
    if r.pads_begin.iter().any(|&p| p < 0) || r.kernel.len() != 2 || y != [n, c, r.out[0], r.out[1]] {
        return Err("int8 pooling: unsupported window".into());
    }
    let g = Conv2d {
        n,
        h,
        w,
        c,
        m: c,
        groups: c,
        kh: r.kernel[0],
        kw: r.kernel[1],
        sh: r.strides[0],
        sw: r.strides[1],
        dh: r.dilations[0],
        dw: r.dilations[1],
        pad_top: r.pads_begin[0] as usize,
        pad_left: r.pads_begin[1] as usize,
        oh: r.out[0],
        ow: r.out[1],
    };
    if g.dh != 1 || g.dw != 1 {
        return Err("int8 pooling: dilation is not supported".into());
    }
    Ok(g)
}

/// An Add unit's parameters (TFLite's, `left_shift` 20).
pub fn add(u: &Unit, (lo, hi): (i32, i32)) -> Result<AddParams, String> {
    let (a, b) = (u.inputs[0], u.inputs[1]);
    let twice = 2.0 * (a.scale.max(b.scale) as f64);
    let q = |m: f64| quantize_multiplier(m).ok_or_else(|| format!("int8 Add: multiplier {m} out of range"));
    Ok(AddParams {
        a_zp: a.zp,
        b_zp: b.zp,
        y_zp: u.y.zp,
        left_shift: 20,
        a_mult: q(a.scale as f64 / twice)?,
        b_mult: q(b.scale as f64 / twice)?,
        y_mult: q(twice / ((1 << 20) as f64 * u.y.scale as f64))?,
        lo,
        hi,
    })
}

/// A Mul unit's parameters.
pub fn mul(u: &Unit, (lo, hi): (i32, i32)) -> Result<MulParams, String> {
    let (a, b) = (u.inputs[0], u.inputs[1]);
    let m = a.scale as f64 * b.scale as f64 / u.y.scale as f64;
    let mult = quantize_multiplier(m).ok_or_else(|| format!("int8 Mul: multiplier {m} out of range"))?;
    Ok(MulParams { a_zp: a.zp, b_zp: b.zp, y_zp: u.y.zp, mult, lo, hi })
}

/// A Mean unit's multiplier (`s_x / s_y`).
pub fn mean(u: &Unit) -> Result<(i32, i32), String> {
    let m = u.inputs[0].scale as f64 / u.y.scale as f64;
    quantize_multiplier(m).ok_or_else(|| format!("int8 Mean: multiplier {m} out of range"))
}

/// A table unit's table: entry `q + 128` is `f` of the real value of `q` (`(q - zp) * scale` in
/// f32, for `q` in -128..=127, evaluated by the caller's interpreter) quantized as
/// QuantizeLinear does (half to even; NaN to the zero point) and clamped to `lo_hi`, so the
/// table equals the float-simulated graph.
pub fn lut_table(
    u: &Unit,
    (lo, hi): (i32, i32),
    f: impl FnOnce(Vec<f32>) -> Result<Vec<f64>, String>,
) -> Result<[i8; 256], String> {
    let x = u.inputs[0];
    let ys = f((-128..128).map(|q| (q - x.zp) as f32 * x.scale).collect())?;
    if ys.len() != 256 {
        return Err(format!("int8 table: {} values for 256 inputs", ys.len()));
    }
    let mut table = [0i8; 256];
    for (t, &v) in table.iter_mut().zip(&ys) {
        let q = mote_core::quant::round_half_even(v as f32 / u.y.scale) as f64 + u.y.zp as f64;
        *t = (if q.is_nan() { u.y.zp as f64 } else { q }).clamp(lo as f64, hi as f64) as i8;
    }
    Ok(table)
}

/// The table requantizing the int8 input `q` of a Concat to the output `y`
/// (`QuantizeLinear(DequantizeLinear(q))`, clamped to `lo_hi`); `None` when the input is copied
/// as it is (same scale and zero point, no clamp).
pub fn concat_table(q: &QIn, y: &QIn, (lo, hi): (i32, i32)) -> Option<[i8; 256]> {
    if q.scale == y.scale && q.zp == y.zp && lo <= -128 && hi >= 127 {
        return None;
    }
    let mut table = [0i8; 256];
    for (t, v) in table.iter_mut().zip(-128..128) {
        let real = (v - q.zp) as f32 * q.scale;
        let r = mote_core::quant::round_half_even(real / y.scale) as f64 + y.zp as f64;
        *t = r.clamp(lo as f64, hi as f64) as i8;
    }
    Some(table)
}
