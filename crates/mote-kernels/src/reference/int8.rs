//! int8 kernels with TFLite's integer-only semantics (the oracle of the fast int8 kernels and
//! of the `Q8*` runtime steps): activations i8 asymmetric per tensor, channels-last (NHWC);
//! weights i8 symmetric per output channel; bias i32; requantization in fixed point
//! ([`super::fixed`]), the clamp `[lo, hi]` also applying a fused ReLU/ReLU6.

use super::fixed::{
    exp_on_negative_values, multiply_by_quantized_multiplier, reciprocal, rounding_divide_by_pot, srdhm,
};

/// Geometry of a 2-D NHWC convolution (1-D is `h = kh = 1`). Weights are `[m, kh, kw, c / groups]`
/// (OHWI; a depthwise convolution has `groups = c` and `m = c * multiplier`); output channel `o`
/// belongs to group `o / (m / groups)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Conv2d {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub m: usize,
    pub groups: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub oh: usize,
    pub ow: usize,
}

impl Conv2d {
    /// A fully connected layer over `rows` rows of `c` values to `m` outputs, as the 1x1
    /// convolution over `[1, 1, rows, c]` that runs it.
    pub fn fully_connected(rows: usize, c: usize, m: usize) -> Conv2d {
        let (kh, kw, sh, sw, dh, dw) = (1, 1, 1, 1, 1, 1);
        Conv2d {
            n: 1,
            h: 1,
            w: rows,
            c,
            m,
            groups: 1,
            kh,
            kw,
            sh,
            sw,
            dh,
            dw,
            pad_top: 0,
            pad_left: 0,
            oh: 1,
            ow: rows,
        }
    }

    /// Elements of the input, the weights and the output.
    pub fn lens(&self) -> (usize, usize, usize) {
        (
            self.n * self.h * self.w * self.c,
            self.m * self.kh * self.kw * (self.c / self.groups.max(1)),
            self.n * self.oh * self.ow * self.m,
        )
    }

    /// Whether every output channel reads exactly its own input channel (depthwise, multiplier 1).
    pub fn is_depthwise(&self) -> bool {
        self.groups == self.c && self.m == self.c
    }
}

/// The output stage: `y = clamp(zp + M(acc + bias[o]), lo, hi)` with the fixed-point
/// multiplier `M = mult[o] * 2^shift[o]` of output channel `o` (all three slices have `m` values).
#[derive(Clone, Copy, Debug)]
pub struct Requant<'a> {
    pub bias: &'a [i32],
    pub mult: &'a [i32],
    pub shift: &'a [i32],
    pub zp: i32,
    pub lo: i32,
    pub hi: i32,
}

impl Requant<'_> {
    /// Output channel `o`'s result for the accumulator `acc` (without bias).
    #[inline(always)]
    pub fn apply(&self, o: usize, acc: i32) -> i8 {
        let v = multiply_by_quantized_multiplier(acc.wrapping_add(self.bias[o]), self.mult[o], self.shift[o]);
        v.wrapping_add(self.zp).clamp(self.lo, self.hi) as i8
    }
}

/// NHWC convolution: `acc[o] = Σ w[o, ky, kx, ci] * (x[iy, ix, g * cg + ci] - x_zp)` over the
/// taps inside the image (a padded tap contributes 0), then [`Requant`].
pub fn conv2d(g: &Conv2d, x: &[i8], x_zp: i32, w: &[i8], out: &Requant<'_>, y: &mut [i8]) {
    let cg = g.c / g.groups;
    let mg = g.m / g.groups;
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for o in 0..g.m {
                    let grp = o / mg;
                    let mut acc = 0i32;
                    for ky in 0..g.kh {
                        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                        if iy < 0 || iy >= g.h as isize {
                            continue;
                        }
                        for kx in 0..g.kw {
                            let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                            if ix < 0 || ix >= g.w as isize {
                                continue;
                            }
                            let xi = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c + grp * cg;
                            let wi = ((o * g.kh + ky) * g.kw + kx) * cg;
                            for ci in 0..cg {
                                let xv = x[xi + ci] as i32 - x_zp;
                                acc = acc.wrapping_add(xv.wrapping_mul(w[wi + ci] as i32));
                            }
                        }
                    }
                    y[((b * g.oh + oy) * g.ow + ox) * g.m + o] = out.apply(o, acc);
                }
            }
        }
    }
}

/// Parameters of TFLite's int8 Add (`left_shift` 20): each input offset by its zero point,
/// scaled to a common scale `2 * max(s_a, s_b)` by its multiplier, summed, and rescaled to the
/// output. Multipliers `(m0, shift)` come from [`super::fixed::quantize_multiplier`]; the
/// shifts are `<= 0` (all three real multipliers are below one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    pub a_zp: i32,
    pub b_zp: i32,
    pub y_zp: i32,
    pub left_shift: u32,
    pub a_mult: (i32, i32),
    pub b_mult: (i32, i32),
    pub y_mult: (i32, i32),
    pub lo: i32,
    pub hi: i32,
}

impl AddParams {
    /// `MultiplyByQuantizedMultiplierSmallerThanOneExp`.
    #[inline(always)]
    fn scale(x: i32, (m0, shift): (i32, i32)) -> i32 {
        rounding_divide_by_pot(srdhm(x, m0), (-shift).clamp(0, 31) as u32)
    }

    /// One output element.
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        let sa = (a as i32 - self.a_zp).wrapping_mul(1 << self.left_shift);
        let sb = (b as i32 - self.b_zp).wrapping_mul(1 << self.left_shift);
        let sum = Self::scale(sa, self.a_mult).wrapping_add(Self::scale(sb, self.b_mult));
        Self::scale(sum, self.y_mult).wrapping_add(self.y_zp).clamp(self.lo, self.hi) as i8
    }
}

/// Element-wise int8 Add of equal-length `a` and `b` (a length-1 operand broadcasts).
pub fn add(p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) {
    for (i, o) in y.iter_mut().enumerate() {
        *o = p.apply(a[if a.len() == 1 { 0 } else { i }], b[if b.len() == 1 { 0 } else { i }]);
    }
}

/// Parameters of TFLite's int8 Mul: `y = clamp(y_zp + M((a - a_zp) (b - b_zp)), lo, hi)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MulParams {
    pub a_zp: i32,
    pub b_zp: i32,
    pub y_zp: i32,
    pub mult: (i32, i32),
    pub lo: i32,
    pub hi: i32,
}

impl MulParams {
    /// One output element.
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        let p = (a as i32 - self.a_zp) * (b as i32 - self.b_zp);
        multiply_by_quantized_multiplier(p, self.mult.0, self.mult.1).wrapping_add(self.y_zp).clamp(self.lo, self.hi)
            as i8
    }
}

/// Element-wise int8 Mul (a length-1 operand broadcasts).
pub fn mul(p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) {
    for (i, o) in y.iter_mut().enumerate() {
        *o = p.apply(a[if a.len() == 1 { 0 } else { i }], b[if b.len() == 1 { 0 } else { i }]);
    }
}

/// Geometry of an NHWC pooling window (`m` unused: output channels = `c`).
pub type Pool2d = Conv2d;

/// TFLite's int8 average pool (input and output share scale and zero point): the sum over the
/// taps inside the image divided by their count, rounded half away from zero, clamped.
pub fn avg_pool(g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    pool(g, x, y, |taps| {
        let (mut sum, mut count) = (0i32, 0i32);
        for v in taps {
            sum = sum.wrapping_add(v as i32);
            count += 1;
        }
        if count == 0 {
            return 0;
        }
        let avg = if sum > 0 { sum.wrapping_add(count / 2) / count } else { sum.wrapping_sub(count / 2) / count };
        avg.clamp(lo, hi) as i8
    });
}

/// int8 max pool (input and output share scale and zero point), clamped.
pub fn max_pool(g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    pool(g, x, y, |taps| (taps.fold(i8::MIN as i32, |m, v| m.max(v as i32))).clamp(lo, hi) as i8);
}

fn pool(g: &Pool2d, x: &[i8], y: &mut [i8], f: impl Fn(&mut dyn Iterator<Item = i8>) -> i8) {
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for ch in 0..g.c {
                    let mut taps = (0..g.kh).flat_map(|ky| (0..g.kw).map(move |kx| (ky, kx))).filter_map(|(ky, kx)| {
                        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                        let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                        ((0..g.h as isize).contains(&iy) && (0..g.w as isize).contains(&ix))
                            .then(|| x[((b * g.h + iy as usize) * g.w + ix as usize) * g.c + ch])
                    });
                    y[((b * g.oh + oy) * g.ow + ox) * g.c + ch] = f(&mut taps);
                }
            }
        }
    }
}

/// TFLite Micro's int8 Mean over H and W of an NHWC tensor (`reference_integer_ops::Mean`):
/// `acc = Σ (x - x_zp)`, requantized by `mult` (the real multiplier `s_x / s_y`), divided by
/// the element count rounding half away from zero, plus `y_zp`, saturated to i8. `y` is `[n, c]`.
pub fn mean_hw(n: usize, hw: usize, c: usize, x: &[i8], x_zp: i32, mult: (i32, i32), y_zp: i32, y: &mut [i8]) {
    let count = hw as i32;
    if count == 0 {
        return;
    }
    for b in 0..n {
        for ch in 0..c {
            let mut acc = 0i32;
            for p in 0..hw {
                acc = acc.wrapping_add(x[(b * hw + p) * c + ch] as i32 - x_zp);
            }
            let acc = multiply_by_quantized_multiplier(acc, mult.0, mult.1);
            let acc = if acc > 0 { acc.wrapping_add(count / 2) / count } else { acc.wrapping_sub(count / 2) / count };
            y[b * c + ch] = acc.wrapping_add(y_zp).clamp(-128, 127) as i8;
        }
    }
}

/// Parameters of TFLite's int8 softmax (output scale 1/256, zero point -128): the input
/// difference to the row maximum is scaled by `input_multiplier * 2^input_left_shift` into
/// `FixedPoint<i32, 5>`; differences below `diff_min` give 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxParams {
    pub input_multiplier: i32,
    pub input_left_shift: i32,
    pub diff_min: i32,
}

impl SoftmaxParams {
    /// TFLite's `PreprocessSoftmaxScaling` and `CalculateInputRadius` for `beta` and the input
    /// scale (5 integer bits); `None` when the multiplier cannot be represented.
    pub fn new(beta: f64, input_scale: f64) -> Option<SoftmaxParams> {
        const INT_BITS: i32 = 5;
        let real = (beta * input_scale * (1i64 << (31 - INT_BITS)) as f64).min((1i64 << 31) as f64 - 1.0);
        let (m, shift) = super::fixed::quantize_multiplier(real)?;
        if shift < 0 {
            return None;
        }
        let max_rescaled = ((1i64 << INT_BITS) - 1) as f64 * (1i64 << (31 - INT_BITS)) as f64 / (1i64 << shift) as f64;
        Some(SoftmaxParams {
            input_multiplier: m,
            input_left_shift: shift,
            diff_min: -(libm::floor(max_rescaled) as i32),
        })
    }
}

/// int8 softmax of each row of `depth` values (TFLite's `reference_ops::Softmax` for int8).
pub fn softmax(p: &SoftmaxParams, depth: usize, x: &[i8], y: &mut [i8]) {
    if depth == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(depth).zip(y.chunks_exact_mut(depth)) {
        let max = xr.iter().copied().max().unwrap_or(0) as i32;
        let scaled = |v: i8| -> Option<i32> {
            let diff = v as i32 - max;
            (diff >= p.diff_min).then(|| srdhm(diff.wrapping_mul(1 << p.input_left_shift), p.input_multiplier))
        };
        // Σ exp in FixedPoint<i32, 12>.
        let mut sum = 0i32;
        for &v in xr {
            if let Some(s) = scaled(v) {
                sum = sum.wrapping_add(rounding_divide_by_pot(exp_on_negative_values::<5>(s), 12));
            }
        }
        let (scale, bits_over_unit) = reciprocal(sum, 12);
        for (&v, o) in xr.iter().zip(yr.iter_mut()) {
            *o = match scaled(v) {
                Some(s) => {
                    let e = exp_on_negative_values::<5>(s);
                    let shift = (bits_over_unit + 31 - 8).clamp(0, 31) as u32;
                    let unsat = rounding_divide_by_pot(srdhm(scale, e), shift);
                    (unsat - 128).clamp(-128, 127) as i8
                }
                None => -128,
            };
        }
    }
}

/// Table lookup: `y = table[x + 128]` (an int8 activation evaluated once per input value).
pub fn lut(table: &[i8; 256], x: &[i8], y: &mut [i8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = table[(v as i32 + 128) as usize];
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::super::fixed::quantize_multiplier;
    use super::*;

    #[test]
    fn conv_matches_float_within_one_step() {
        // 1 image 4x5x3, 2 output channels, 3x3 kernel, pad 1: the int8 result is the rounded
        // real convolution.
        let g = Conv2d {
            n: 1,
            h: 4,
            w: 5,
            c: 3,
            m: 2,
            groups: 1,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            dh: 1,
            dw: 1,
            pad_top: 1,
            pad_left: 1,
            oh: 4,
            ow: 5,
        };
        let x: Vec<i8> = (0..60).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let w: Vec<i8> = (0..54).map(|i| ((i * 53) % 255 - 127) as i8).collect();
        let (sx, zx, sy, zy) = (0.02f64, 5, 0.9f64, -3);
        let sw = [0.01f64, 0.003];
        let bias = [100, -2000];
        let (m0, sh): (Vec<i32>, Vec<i32>) = sw.iter().map(|s| quantize_multiplier(sx * s / sy).unwrap()).unzip();
        let rq = Requant { bias: &bias, mult: &m0, shift: &sh, zp: zy, lo: -128, hi: 127 };
        let mut y = vec![0i8; 40];
        conv2d(&g, &x, zx, &w, &rq, &mut y);
        for oy in 0..4 {
            for ox in 0..5 {
                for o in 0..2 {
                    let mut acc = bias[o] as f64;
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = (oy as isize + ky as isize - 1, ox as isize + kx as isize - 1);
                            if !(0..4).contains(&iy) || !(0..5).contains(&ix) {
                                continue;
                            }
                            for ci in 0..3 {
                                let xv = x[((iy * 5 + ix) * 3) as usize + ci] as f64 - zx as f64;
                                acc += xv * w[((o * 3 + ky) * 3 + kx) * 3 + ci] as f64;
                            }
                        }
                    }
                    let want = (acc * sx * sw[o] / sy + zy as f64).round().clamp(-128.0, 127.0);
                    let got = y[(oy * 5 + ox) * 2 + o] as f64;
                    assert!((got - want).abs() <= 1.0, "({oy},{ox},{o}): {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn add_matches_float_within_one_step() {
        let (sa, sb, sy) = (0.05f64, 0.031f64, 0.07f64);
        let twice = 2.0 * sa.max(sb);
        let p = AddParams {
            a_zp: -3,
            b_zp: 10,
            y_zp: -1,
            left_shift: 20,
            a_mult: quantize_multiplier(sa / twice).unwrap(),
            b_mult: quantize_multiplier(sb / twice).unwrap(),
            y_mult: quantize_multiplier(twice / ((1 << 20) as f64 * sy)).unwrap(),
            lo: -128,
            hi: 127,
        };
        for a in (-128..=127).step_by(7) {
            for b in (-128..=127).step_by(5) {
                let want = ((a as f64 + 3.0) * sa + (b as f64 - 10.0) * sb) / sy - 1.0;
                let got = p.apply(a as i8, b as i8) as f64;
                assert!((got - want.round().clamp(-128.0, 127.0)).abs() <= 1.0, "{a} + {b}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn avg_pool_rounds_half_away_from_zero() {
        let g = Pool2d {
            n: 1,
            h: 1,
            w: 4,
            c: 1,
            kh: 1,
            kw: 2,
            sh: 1,
            sw: 2,
            dh: 1,
            dw: 1,
            oh: 1,
            ow: 2,
            ..Default::default()
        };
        let mut y = [0i8; 2];
        avg_pool(&g, &[1, 2, -1, -2], -128, 127, &mut y);
        assert_eq!(y, [2, -2]);
    }

    #[test]
    fn softmax_matches_float() {
        let s = 0.1f64;
        let p = SoftmaxParams::new(1.0, s).unwrap();
        let x: Vec<i8> = vec![-20, 5, 30, 30, 0, -128, 127, 64];
        let mut y = vec![0i8; 8];
        softmax(&p, 8, &x, &mut y);
        let e: Vec<f64> = x.iter().map(|&v| ((v as f64 - 127.0) * s).exp()).collect();
        let total: f64 = e.iter().sum();
        for (i, &v) in y.iter().enumerate() {
            let want = e[i] / total * 256.0 - 128.0;
            assert!((v as f64 - want.round().clamp(-128.0, 127.0)).abs() <= 1.0, "{i}: {v} vs {want}");
        }
        // All equal: 1/8 each = 32 steps above -128.
        let mut y = [0i8; 8];
        softmax(&p, 8, &[7; 8], &mut y);
        assert_eq!(y, [-96; 8]);
    }

    #[test]
    fn mean_is_the_rounded_average() {
        let (m0, sh) = quantize_multiplier(1.0).unwrap();
        let mut y = [0i8; 2];
        // Two channels over 3 positions: (1 + 2 + 4) / 3 = 2.33 -> 2, (-1 - 2 - 2) / 3 = -1.67 -> -2.
        mean_hw(1, 3, 2, &[1, -1, 2, -2, 4, -2], 0, (m0, sh), 0, &mut y);
        assert_eq!(y, [2, -2]);
    }
}
