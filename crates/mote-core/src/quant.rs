//! Affine quantization parameters: `real = scale * (q - zero_point)`.

/// Scale and zero point, for a whole tensor or per slice along one axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QuantParams<'a> {
    PerTensor {
        scale: f32,
        zero_point: i32,
    },
    /// One scale and zero point per index of `axis`.
    PerAxis {
        axis: usize,
        scales: &'a [f32],
        zero_points: &'a [i32],
    },
}

impl QuantParams<'_> {
    /// Scale and zero point that apply at index `i` along the quantized axis (ignored per tensor).
    pub fn at(&self, i: usize) -> (f32, i32) {
        match *self {
            QuantParams::PerTensor { scale, zero_point } => (scale, zero_point),
            QuantParams::PerAxis { scales, zero_points, .. } => (scales[i], zero_points.get(i).copied().unwrap_or(0)),
        }
    }
}

/// Rounds half to even, as ONNX `QuantizeLinear` and numpy's `rint` do.
pub fn round_half_even(x: f32) -> f32 {
    let r = libm_round(x);
    if (x - libm_trunc(x)).abs() == 0.5 { 2.0 * libm_round(x / 2.0) } else { r }
}

/// Quantizes one value: `clamp(round_half_even(x / scale) + zero_point, lo, hi)`.
pub fn quantize(x: f32, scale: f32, zero_point: i32, lo: i32, hi: i32) -> i32 {
    let q = round_half_even(x / scale) + zero_point as f32;
    if q.is_nan() {
        return zero_point.clamp(lo, hi);
    }
    (q.clamp(lo as f32, hi as f32)) as i32
}

/// Dequantizes one value: `(q - zero_point) * scale`.
pub fn dequantize(q: i32, scale: f32, zero_point: i32) -> f32 {
    (q - zero_point) as f32 * scale
}

fn libm_trunc(x: f32) -> f32 {
    if x.abs() >= 8_388_608.0 { x } else { (x as i32) as f32 }
}

fn libm_round(x: f32) -> f32 {
    // Round half away from zero without std.
    let t = libm_trunc(x);
    if (x - t).abs() >= 0.5 { t + if x > 0.0 { 1.0 } else { -1.0 } } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_to_even() {
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(-0.5), 0.0);
        assert_eq!(round_half_even(-1.5), -2.0);
        assert_eq!(round_half_even(1.4), 1.0);
        assert_eq!(round_half_even(-2.6), -3.0);
        assert_eq!(round_half_even(1e9), 1e9);
    }

    #[test]
    fn quantize_saturates() {
        assert_eq!(quantize(1000.0, 0.1, 0, -128, 127), 127);
        assert_eq!(quantize(-1000.0, 0.1, 0, -128, 127), -128);
        assert_eq!(quantize(0.25, 0.5, 3, 0, 255), 3); // 0.5 rounds to 0
        assert_eq!(dequantize(5, 0.5, 3), 1.0);
    }

    #[test]
    fn per_axis_lookup() {
        let p = QuantParams::PerAxis { axis: 0, scales: &[0.5, 0.25], zero_points: &[1, 2] };
        assert_eq!(p.at(1), (0.25, 2));
    }
}
