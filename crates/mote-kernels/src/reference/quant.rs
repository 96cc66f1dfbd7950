//! Quantization kernels: quantize / dequantize (per tensor, per axis, blocked; to and from
//! 2- to 32-bit integers and float8/float4), requantize, and exact integer GEMM and convolution
//! (i32 accumulation).

use mote_core::lowp::{I2, I4, MiniFloat, U2, U4};
use mote_core::quant::round_half_even;

/// A quantized integer element type.
pub trait QInt: Copy + Default {
    const MIN: i32;
    const MAX: i32;
    fn to_i32(self) -> i32;
    /// Converts a value already clamped to `[MIN, MAX]`.
    fn from_i32(v: i32) -> Self;
}

macro_rules! impl_qint {
    ($($t:ty),*) => {$(
        impl QInt for $t {
            const MIN: i32 = <$t>::MIN as i32;
            const MAX: i32 = <$t>::MAX as i32;
            #[inline]
            fn to_i32(self) -> i32 {
                self as i32
            }
            #[inline]
            fn from_i32(v: i32) -> Self {
                v as $t
            }
        }
    )*};
}
impl_qint!(i8, u8, i16, u16, i32);

macro_rules! impl_qint_small {
    ($($t:ty),*) => {$(
        impl QInt for $t {
            const MIN: i32 = <$t>::MIN.get() as i32;
            const MAX: i32 = <$t>::MAX.get() as i32;
            #[inline]
            fn to_i32(self) -> i32 {
                self.get() as i32
            }
            #[inline]
            fn from_i32(v: i32) -> Self {
                <$t>::wrapping_from(v as i64)
            }
        }
    )*};
}
impl_qint_small!(I4, U4, I2, U2);

/// Where the scale and zero point of each element come from. The tensor is viewed as
/// `[outer, axis_len, inner]` around the quantization axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantLayout {
    pub outer: usize,
    pub axis_len: usize,
    pub inner: usize,
    pub granularity: Granularity,
}

/// Quantization granularity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One scale.
    PerTensor,
    /// One scale per index of the axis (`axis_len` scales).
    PerAxis,
    /// Scales of shape `[outer, ceil(axis_len / block), inner]`.
    Blocked { block: usize },
}

impl QuantLayout {
    /// Calls `f(scale_index, element_range)` for each run of elements sharing a scale.
    pub fn for_runs(&self, mut f: impl FnMut(usize, core::ops::Range<usize>)) {
        let QuantLayout { outer, axis_len, inner, granularity } = *self;
        match granularity {
            Granularity::PerTensor => f(0, 0..outer * axis_len * inner),
            Granularity::PerAxis => {
                for o in 0..outer {
                    for a in 0..axis_len {
                        let start = (o * axis_len + a) * inner;
                        f(a, start..start + inner);
                    }
                }
            }
            Granularity::Blocked { block } => {
                let nb = axis_len.div_ceil(block.max(1));
                for o in 0..outer {
                    for a in 0..axis_len {
                        let start = (o * axis_len + a) * inner;
                        let srow = (o * nb + a / block.max(1)) * inner;
                        for i in 0..inner {
                            f(srow + i, start + i..start + i + 1);
                        }
                    }
                }
            }
        }
    }
}

/// Rounds half to even, adds the zero point and saturates to `Q`'s range.
#[inline]
pub fn saturate<Q: QInt>(v: f32, zero_point: i32) -> Q {
    if v.is_nan() {
        return Q::from_i32(zero_point.clamp(Q::MIN, Q::MAX));
    }
    let r = round_half_even_int(v) as f64 + zero_point as f64;
    Q::from_i32(r.clamp(Q::MIN as f64, Q::MAX as f64) as i32)
}

/// `round_half_even(v)` up to the sign of a zero result, cheap: below 2^22 in magnitude, adding
/// and subtracting 1.5 * 2^23 rounds to an integer with the FPU's ties-to-even (the sum lies in
/// (2^23, 2^24), where the spacing is 1, and 1.5 * 2^23 is even).
#[inline(always)]
pub fn round_half_even_int(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    if v.abs() < 4_194_304.0 { (v + MAGIC) - MAGIC } else { round_half_even(v) }
}

/// `out = saturate(round(div(x, scale)) + zero_point)`. `div` performs the division in the
/// requested precision; `zero_points` is empty (all zero) or has one entry per scale.
pub fn quantize<Q: QInt>(
    x: &[f32],
    scales: &[f32],
    zero_points: &[i32],
    layout: QuantLayout,
    div: impl Fn(f32, f32) -> f32,
    out: &mut [Q],
) {
    layout.for_runs(|s, range| {
        let (scale, zp) = (scales[s], zero_points.get(s).copied().unwrap_or(0));
        for i in range {
            out[i] = saturate(div(x[i], scale), zp);
        }
    });
}

/// `out = (x - zero_point) * scale`, in f32.
pub fn dequantize<Q: QInt>(x: &[Q], scales: &[f32], zero_points: &[i32], layout: QuantLayout, out: &mut [f32]) {
    layout.for_runs(|s, range| {
        let (scale, zp) = (scales[s], zero_points.get(s).copied().unwrap_or(0));
        for i in range {
            out[i] = (x[i].to_i32() as i64 - zp as i64) as f32 * scale;
        }
    });
}

/// Quantizes to a float8/float4 type: `out = F(div(x, scale) + zero_point)`, rounding to
/// nearest even; out-of-range values saturate to the largest finite value when `saturate`, else
/// become Inf/NaN. A zero `zero_point` is not added (so `-0` keeps its sign).
pub fn quantize_float<F: MiniFloat>(
    x: &[f32],
    scales: &[f32],
    zero_points: &[f32],
    layout: QuantLayout,
    div: impl Fn(f32, f32) -> f32,
    saturate: bool,
    out: &mut [F],
) {
    layout.for_runs(|s, range| {
        let (scale, zp) = (scales[s], zero_points.get(s).copied().unwrap_or(0.0));
        for i in range {
            let v = div(x[i], scale);
            let v = if zp == 0.0 { v } else { v + zp };
            out[i] = F::from_f32_with(v, saturate);
        }
    });
}

/// `out = (x - zero_point) * scale` for float8/float4 `x`, in f32.
pub fn dequantize_float<F: MiniFloat>(
    x: &[F],
    scales: &[f32],
    zero_points: &[f32],
    layout: QuantLayout,
    out: &mut [f32],
) {
    layout.for_runs(|s, range| {
        let (scale, zp) = (scales[s], zero_points.get(s).copied().unwrap_or(0.0));
        for i in range {
            out[i] = (x[i].to_f32() - zp) * scale;
        }
    });
}

/// Requantizes an i32 accumulator: `saturate(round(acc * multiplier + zero_point))`, in f64
/// (the product is exact for any i32 and f32 multiplier). The zero point is added before
/// rounding, as the ONNX reference does for `QLinearConv` and `QLinearMatMul`.
#[inline]
pub fn requantize<Q: QInt>(acc: i32, multiplier: f64, zero_point: i32) -> Q {
    let v = acc as f64 * multiplier + zero_point as f64;
    if v.is_nan() {
        return Q::from_i32(zero_point.clamp(Q::MIN, Q::MAX));
    }
    let r = round_half_even_f64(v);
    Q::from_i32(r.clamp(Q::MIN as f64, Q::MAX as f64) as i32)
}

/// Round half to even in f64.
pub fn round_half_even_f64(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 4_503_599_627_370_496.0 {
        return x; // already an integer (or NaN / inf)
    }
    let t = (x as i64) as f64;
    let frac = x - t;
    if frac.abs() == 0.5 {
        let up = t + if x > 0.0 { 1.0 } else { -1.0 };
        if (t as i64) % 2 == 0 { t } else { up }
    } else if frac.abs() > 0.5 {
        t + if x > 0.0 { 1.0 } else { -1.0 }
    } else {
        t
    }
}

/// `out[m, n] = sum_k a[m, k] * b[k, n]` in i32 (wrapping, like the hardware it models).
/// Inputs have their zero points already subtracted.
pub fn gemm_i32(a: &[i32], b: &[i32], m: usize, k: usize, n: usize, out: &mut [i32]) {
    for i in 0..m {
        let orow = &mut out[i * n..(i + 1) * n];
        orow.fill(0);
        for kk in 0..k {
            let av = a[i * k + kk];
            if av == 0 {
                continue;
            }
            let brow = &b[kk * n..(kk + 1) * n];
            for (o, &bv) in orow.iter_mut().zip(brow) {
                *o = o.wrapping_add(av.wrapping_mul(bv));
            }
        }
    }
}

/// One spatial axis of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvAxis {
    pub input: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    /// Negative when a SAME window is smaller than its stride.
    pub pad_begin: isize,
    pub output: usize,
}

/// Integer convolution of one image with 3 spatial axes (lower ranks use unit axes).
/// `x` is `[c_in, d, h, w]` and `w` is `[c_out, c_in / group, kd, kh, kw]`, zero points already
/// subtracted (padding contributes 0); `out` is `[c_out, od, oh, ow]`, initialised to `bias`.
pub fn conv_i32(
    x: &[i32],
    w: &[i32],
    bias: Option<&[i32]>,
    c_in: usize,
    c_out: usize,
    group: usize,
    axes: [ConvAxis; 3],
    out: &mut [i32],
) {
    let [ad, ah, aw] = axes;
    let cig = c_in / group;
    let cog = c_out / group;
    let ksize = ad.kernel * ah.kernel * aw.kernel;
    let isize = ad.input * ah.input * aw.input;
    let osize = ad.output * ah.output * aw.output;
    let tap = |o: usize, k: usize, a: &ConvAxis| -> Option<usize> {
        let p = (o * a.stride + k * a.dilation) as isize - a.pad_begin;
        if p < 0 || p as usize >= a.input { None } else { Some(p as usize) }
    };
    for m in 0..c_out {
        let g = m / cog;
        let b0 = bias.map_or(0, |b| b[m]);
        let oplane = &mut out[m * osize..(m + 1) * osize];
        for od in 0..ad.output {
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let mut acc = b0;
                    for ci in 0..cig {
                        let xc = &x[(g * cig + ci) * isize..][..isize];
                        let wc = &w[(m * cig + ci) * ksize..][..ksize];
                        for kd in 0..ad.kernel {
                            let Some(id) = tap(od, kd, &ad) else { continue };
                            for kh in 0..ah.kernel {
                                let Some(ih) = tap(oh, kh, &ah) else { continue };
                                for kw in 0..aw.kernel {
                                    let Some(iw) = tap(ow, kw, &aw) else { continue };
                                    let xv = xc[(id * ah.input + ih) * aw.input + iw];
                                    let wv = wc[(kd * ah.kernel + kh) * aw.kernel + kw];
                                    acc = acc.wrapping_add(xv.wrapping_mul(wv));
                                }
                            }
                        }
                    }
                    oplane[(od * ah.output + oh) * aw.output + ow] = acc;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_rounding_is_round_half_even() {
        use super::{round_half_even, round_half_even_int};
        let mut x = 1.0e-3f32;
        let special = [
            0.5f32,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.5,
            4_194_303.5,
            -4_194_303.5,
            4_194_304.5,
            8_388_607.5,
            -8_388_607.5,
            1e9,
            -1e9,
        ];
        for v in special.into_iter().chain(core::iter::from_fn(|| {
            x *= 1.001;
            (x < 3e7).then_some(x)
        })) {
            for v in [v, -v, v + 0.5, -(v + 0.5)] {
                assert_eq!(round_half_even_int(v), round_half_even(v) + 0.0, "{v}");
            }
        }
    }

    use super::*;

    #[test]
    fn quantize_rounds_half_even_and_saturates() {
        let l = QuantLayout { outer: 1, axis_len: 4, inner: 1, granularity: Granularity::PerTensor };
        let mut out = [0u8; 4];
        quantize(&[0.5, 1.5, 1000.0, -3.0], &[1.0], &[10], l, |x, s| x / s, &mut out);
        assert_eq!(out, [10, 12, 255, 7]);
        let mut out = [0i8; 4];
        quantize(&[2.5, -2.5, -1000.0, 0.0], &[1.0], &[], l, |x, s| x / s, &mut out);
        assert_eq!(out, [2, -2, -128, 0]);
    }

    #[test]
    fn sub_byte_integer_ranges() {
        let l = QuantLayout { outer: 1, axis_len: 5, inner: 1, granularity: Granularity::PerTensor };
        let x = [0.0, 2.5, 4.8, 8.6, -30.0];
        let mut i4 = [I4::default(); 5];
        quantize(&x, &[2.0], &[1], l, |a, b| a / b, &mut i4);
        // x / 2 = [0, 1.25, 2.4, 4.3, -15] -> rounded + 1 -> [1, 2, 3, 5, -14 -> -8].
        assert_eq!(i4.map(|v| v.get()), [1, 2, 3, 5, -8]);
        let mut u2 = [U2::default(); 5];
        quantize(&x, &[2.0], &[], l, |a, b| a / b, &mut u2);
        assert_eq!(u2.map(|v| v.get()), [0, 1, 2, 3, 0]);
        let mut i2 = [I2::default(); 5];
        quantize(&x, &[2.0], &[], l, |a, b| a / b, &mut i2);
        assert_eq!(i2.map(|v| v.get()), [0, 1, 1, 1, -2]);
        let mut y = [0f32; 5];
        dequantize(&[U4::MAX, U4::MIN, U4::MAX, U4::MIN, U4::MAX], &[0.5], &[8], l, &mut y);
        assert_eq!(y, [3.5, -4.0, 3.5, -4.0, 3.5]);
    }

    #[test]
    fn float8_quantize_saturates_unless_told_not_to() {
        use mote_core::lowp::{F4E2M1, F8E4M3Fn, F8E5M2};
        let l = QuantLayout { outer: 1, axis_len: 5, inner: 1, granularity: Granularity::PerTensor };
        let x = [0.0, 1.0, 2.0, 1e6, 200.0];
        let mut y = [F8E4M3Fn::default(); 5];
        quantize_float(&x, &[2.0], &[], l, |a, b| a / b, true, &mut y);
        assert_eq!(y.map(|v| v.to_f32()), [0.0, 0.5, 1.0, 448.0, 96.0]);
        quantize_float(&x, &[2.0], &[], l, |a, b| a / b, false, &mut y);
        assert!(y[3].is_nan());
        let mut e5 = [F8E5M2::default(); 5];
        quantize_float(&x, &[2.0], &[], l, |a, b| a / b, false, &mut e5);
        assert_eq!(e5[3].to_f32(), f32::INFINITY);
        // A float zero point is added before rounding: 1 / 2 + 1 = 1.5.
        let mut f4 = [F4E2M1::default(); 5];
        quantize_float(&x, &[2.0], &[1.0], l, |a, b| a / b, true, &mut f4);
        assert_eq!(f4.map(|v| v.to_f32()), [1.0, 1.5, 2.0, 6.0, 6.0]);
        let mut back = [0f32; 5];
        dequantize_float(&f4, &[2.0], &[1.0], l, &mut back);
        assert_eq!(back, [0.0, 1.0, 2.0, 10.0, 10.0]);
    }

    #[test]
    fn per_axis_and_blocked_layouts() {
        // x [2, 3], axis 1 per-axis scales.
        let l = QuantLayout { outer: 2, axis_len: 3, inner: 1, granularity: Granularity::PerAxis };
        let mut out = [0f32; 6];
        dequantize(&[1u8, 2, 3, 4, 5, 6], &[1.0, 10.0, 100.0], &[0, 1, 2], l, &mut out);
        assert_eq!(out, [1.0, 10.0, 100.0, 4.0, 40.0, 400.0]);
        // x [1, 5] blocked along axis 1 with block 2: 3 scales.
        let l = QuantLayout { outer: 1, axis_len: 5, inner: 1, granularity: Granularity::Blocked { block: 2 } };
        let mut out = [0f32; 5];
        dequantize(&[1i8, 1, 1, 1, 1], &[1.0, 2.0, 3.0], &[], l, &mut out);
        assert_eq!(out, [1.0, 1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn requantize_and_rounding() {
        assert_eq!(round_half_even_f64(2.5), 2.0);
        assert_eq!(round_half_even_f64(-3.5), -4.0);
        assert_eq!(round_half_even_f64(-2.4), -2.0);
        assert_eq!(requantize::<u8>(7, 0.5, 1), 4); // 3.5 + 1 = 4.5 -> 4
        assert_eq!(requantize::<u8>(7, 0.5, 0), 4); // 3.5 -> 4
        assert_eq!(requantize::<i8>(-1000, 1.0, 0), -128);
    }

    #[test]
    fn integer_gemm_and_conv() {
        let mut out = [0i32; 4];
        gemm_i32(&[1, 2, 3, 4], &[5, 6, 7, 8], 2, 2, 2, &mut out);
        assert_eq!(out, [19, 22, 43, 50]);
        // 1-channel 3x3 image, 2x2 kernel of ones, pad 0: sums of 2x2 windows.
        let unit = ConvAxis { input: 1, kernel: 1, stride: 1, dilation: 1, pad_begin: 0, output: 1 };
        let ax = ConvAxis { input: 3, kernel: 2, stride: 1, dilation: 1, pad_begin: 0, output: 2 };
        let x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut y = [0i32; 4];
        conv_i32(&x, &[1, 1, 1, 1], Some(&[100]), 1, 1, 1, [unit, ax, ax], &mut y);
        assert_eq!(y, [112, 116, 124, 128]);
        // With padding 1 and stride 2: corners.
        let ax = ConvAxis { input: 3, kernel: 2, stride: 2, dilation: 1, pad_begin: 1, output: 2 };
        conv_i32(&x, &[1, 1, 1, 1], None, 1, 1, 1, [unit, ax, ax], &mut y);
        assert_eq!(y, [1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9]);
    }
}
